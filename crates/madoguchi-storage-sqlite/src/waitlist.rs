//! The waiting list on SQLite. Joining runs under `BEGIN IMMEDIATE` so "the slot is full" and
//! the insert are one decision.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ReservationId, ServiceId, SlotId, TenantId};
use madoguchi_storage::{
    NewWaitlistEntry, Refusal, ReservationNotice, StorageError, StorageResult, WaitlistEntry,
    WaitlistPlace, WaitlistStatus, WaitlistStore, outbox_events, to_unix_micros,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

fn entry_from_row(row: &SqliteRow) -> StorageResult<WaitlistEntry> {
    let details: String = get_string(row, "details")?;
    Ok(WaitlistEntry {
        id: get_uuid(row, "id")?,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        slot_id: SlotId(get_uuid(row, "slot_id")?),
        service_id: ServiceId(get_uuid(row, "service_id")?),
        account_id: AccountId(get_uuid(row, "account_id")?),
        status: WaitlistStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("waitlist status"))?,
        reservation_id: get_opt_uuid(row, "reservation_id")?.map(ReservationId),
        details: serde_json::from_str(&details).map_err(|_| corrupt("waitlist details"))?,
        created_at: get_instant(row, "created_at")?,
        settled_at: get_opt_instant(row, "settled_at")?,
    })
}

/// The place in line of a waiting entry: 1 + those waiting for the same slot before it.
const POSITION: &str = "(SELECT count(*) FROM waitlist_entries o
    WHERE o.slot_id = w.slot_id AND o.status = 'waiting'
      AND (o.created_at < w.created_at OR (o.created_at = w.created_at AND o.id <= w.id)))";

#[async_trait]
impl WaitlistStore for SqliteStorage {
    async fn join_waitlist(
        &self,
        tenant: TenantId,
        new: &NewWaitlistEntry,
        now: OffsetDateTime,
    ) -> StorageResult<WaitlistPlace> {
        let tenant_text = uuid_text(tenant.0);
        let mut tx = self.begin_immediate().await?;
        let slot = sqlx::query(
            "SELECT service_id, taken >= capacity AS full FROM slots WHERE tenant_id = ? AND id = ?",
        )
        .bind(&tenant_text)
        .bind(uuid_text(new.slot_id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let full: bool = slot.try_get("full").map_err(map_err)?;
        if !full {
            return Err(StorageError::Refused(Refusal::SeatsLeft));
        }
        let booked: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM reservations WHERE tenant_id = ? AND slot_id = ? AND account_id = ?
               AND status IN ('held', 'confirmed')",
        )
        .bind(&tenant_text)
        .bind(uuid_text(new.slot_id.0))
        .bind(uuid_text(new.account_id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if booked.is_some() {
            return Err(StorageError::Refused(Refusal::AlreadyBooked));
        }
        let id = uuid::Uuid::new_v4();
        let details =
            serde_json::to_string(&new.details).map_err(|e| StorageError::Other(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO waitlist_entries (id, tenant_id, slot_id, service_id, account_id, status, details, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, 'waiting', ?6, ?7
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?2 AND id = ?5)",
        )
        .bind(uuid_text(id))
        .bind(&tenant_text)
        .bind(uuid_text(new.slot_id.0))
        .bind(get_string(&slot, "service_id")?)
        .bind(uuid_text(new.account_id.0))
        .bind(details)
        .bind(to_unix_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| match map_err(e) {
            // The id is fresh: the one unique key a new entry can break is one per resident.
            StorageError::Duplicate { .. } => StorageError::Duplicate {
                constraint: "waitlist_one_per_resident".into(),
            },
            other => other,
        })?;
        if inserted.rows_affected() == 0 {
            return Err(StorageError::Constraint {
                constraint: "waitlist_account".into(),
            });
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT w.*, {POSITION} AS position FROM waitlist_entries w WHERE w.id = ?"
        )))
        .bind(uuid_text(id))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let place = WaitlistPlace {
            entry: entry_from_row(&row)?,
            position: row.try_get("position").map_err(map_err)?,
        };
        tx.commit().await.map_err(map_err)?;
        Ok(place)
    }

    async fn waiting_for_slot(
        &self,
        tenant: TenantId,
        slot: SlotId,
    ) -> StorageResult<Vec<WaitlistEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM waitlist_entries WHERE tenant_id = ? AND slot_id = ? AND status = 'waiting'
             ORDER BY created_at, id",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(slot.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn waitlist_of_account(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Vec<WaitlistPlace>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT w.*, {POSITION} AS position FROM waitlist_entries w
             JOIN slots s ON s.id = w.slot_id
             WHERE w.tenant_id = ? AND w.account_id = ? AND w.status = 'waiting'
             ORDER BY s.starts_at"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(WaitlistPlace {
                    entry: entry_from_row(row)?,
                    position: row.try_get("position").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn waitlist_entry(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
    ) -> StorageResult<WaitlistEntry> {
        let row = sqlx::query("SELECT * FROM waitlist_entries WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        entry_from_row(&row)
    }

    async fn settle_waitlist_entry_with_notices(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        status: WaitlistStatus,
        reservation: Option<ReservationId>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<bool> {
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query(
            "UPDATE waitlist_entries SET status = ?, reservation_id = ?, settled_at = ?
             WHERE tenant_id = ? AND id = ? AND status = 'waiting'",
        )
        .bind(status.as_str())
        .bind(reservation.map(|r| uuid_text(r.0)))
        .bind(to_unix_micros(now))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let settled = done.rows_affected() == 1;
        if let (true, Some(reservation)) = (settled, reservation) {
            let events = outbox_events(tenant, reservation, notices);
            crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(settled)
    }

    async fn slots_to_promote(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<(TenantId, SlotId)>> {
        let rows = sqlx::query(
            "SELECT s.tenant_id, s.id FROM slots s
             WHERE s.taken < s.capacity AND s.starts_at > ?
               AND EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.slot_id = s.id AND w.status = 'waiting')
             ORDER BY s.starts_at LIMIT ?",
        )
        .bind(to_unix_micros(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok((
                    TenantId(get_uuid(row, "tenant_id")?),
                    SlotId(get_uuid(row, "id")?),
                ))
            })
            .collect()
    }
}
