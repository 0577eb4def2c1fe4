//! The waiting list on PostgreSQL. Joining locks the slot row (`FOR UPDATE`) so "the slot is
//! full" and the insert are one decision against concurrent cancellations.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ReservationId, ServiceId, SlotId, TenantId};
use madoguchi_storage::{
    NewWaitlistEntry, Refusal, ReservationNotice, StorageError, StorageResult, WaitlistEntry,
    WaitlistPlace, WaitlistStatus, WaitlistStore, outbox_events,
};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn entry_from_row(row: &PgRow) -> StorageResult<WaitlistEntry> {
    Ok(WaitlistEntry {
        id: get(row, "id")?,
        tenant_id: TenantId(get(row, "tenant_id")?),
        slot_id: SlotId(get(row, "slot_id")?),
        service_id: ServiceId(get(row, "service_id")?),
        account_id: AccountId(get(row, "account_id")?),
        status: WaitlistStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("waitlist status"))?,
        reservation_id: get::<Option<Uuid>>(row, "reservation_id")?.map(ReservationId),
        details: get(row, "details")?,
        created_at: get(row, "created_at")?,
        settled_at: get(row, "settled_at")?,
    })
}

fn place_from_row(row: &PgRow) -> StorageResult<WaitlistPlace> {
    Ok(WaitlistPlace {
        entry: entry_from_row(row)?,
        position: get(row, "position")?,
    })
}

/// The place in line of a waiting entry: 1 + those waiting for the same slot before it.
const POSITION: &str = "(SELECT count(*) FROM waitlist_entries o
    WHERE o.slot_id = w.slot_id AND o.status = 'waiting'
      AND (o.created_at, o.id) <= (w.created_at, w.id))";

#[async_trait]
impl WaitlistStore for PgStorage {
    async fn join_waitlist(
        &self,
        tenant: TenantId,
        new: &NewWaitlistEntry,
        now: OffsetDateTime,
    ) -> StorageResult<WaitlistPlace> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let slot = sqlx::query(
            "SELECT service_id, taken >= capacity AS full FROM slots
             WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        if !get::<bool>(&slot, "full")? {
            return Err(StorageError::Refused(Refusal::SeatsLeft));
        }
        let booked: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM reservations WHERE tenant_id = $1 AND slot_id = $2 AND account_id = $3
               AND status IN ('held', 'confirmed')",
        )
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .bind(new.account_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if booked.is_some() {
            return Err(StorageError::Refused(Refusal::AlreadyBooked));
        }
        let id = Uuid::new_v4();
        let inserted = sqlx::query(
            "INSERT INTO waitlist_entries (id, tenant_id, slot_id, service_id, account_id, status, details, created_at)
             SELECT $1, $2, $3, $4, $5, 'waiting', $6, $7
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $5)",
        )
        .bind(id)
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .bind(get::<Uuid>(&slot, "service_id")?)
        .bind(new.account_id.0)
        .bind(&new.details)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 0 {
            return Err(StorageError::Constraint {
                constraint: "waitlist_account".into(),
            });
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT w.*, {POSITION} AS position FROM waitlist_entries w WHERE w.id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let place = place_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(place)
    }

    async fn waiting_for_slot(
        &self,
        tenant: TenantId,
        slot: SlotId,
    ) -> StorageResult<Vec<WaitlistEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM waitlist_entries WHERE tenant_id = $1 AND slot_id = $2 AND status = 'waiting'
             ORDER BY created_at, id",
        )
        .bind(tenant.0)
        .bind(slot.0)
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
             WHERE w.tenant_id = $1 AND w.account_id = $2 AND w.status = 'waiting'
             ORDER BY s.starts_at"
        )))
        .bind(tenant.0)
        .bind(account.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(place_from_row).collect()
    }

    async fn waitlist_entry(&self, tenant: TenantId, id: Uuid) -> StorageResult<WaitlistEntry> {
        let row = sqlx::query("SELECT * FROM waitlist_entries WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        entry_from_row(&row)
    }

    async fn settle_waitlist_entry_with_notices(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: WaitlistStatus,
        reservation: Option<ReservationId>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE waitlist_entries SET status = $1, reservation_id = $2, settled_at = $3
             WHERE tenant_id = $4 AND id = $5 AND status = 'waiting'",
        )
        .bind(status.as_str())
        .bind(reservation.map(|r| r.0))
        .bind(now)
        .bind(tenant.0)
        .bind(id)
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
             WHERE s.taken < s.capacity AND s.starts_at > $1
               AND EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.slot_id = s.id AND w.status = 'waiting')
             ORDER BY s.starts_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| Ok((TenantId(get(row, "tenant_id")?), SlotId(get(row, "id")?))))
            .collect()
    }
}
