//! Services, slots and reservations on PostgreSQL, for several nodes booking the same slots.
//!
//! Nothing here takes a table lock or an application-level lock. A booking runs in one READ
//! COMMITTED transaction that locks only the rows it decides on: the resident's account row
//! (when a personal limit applies), then the slot row, through a conditional
//! `UPDATE slots SET taken = taken + 1 ... AND taken < capacity`. Every transaction that locks
//! both takes them in that order (account, then slot; reservation, then slot), so bookings,
//! cancellations and expiry cannot deadlock each other. `CHECK (taken <= capacity)` stays the
//! last guard should a bug ever skip the condition.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{
    AccountId, DepartmentId, OfficeId, OrgCode, ReservationId, ServiceId, SlotId, TenantId,
};
use madoguchi_storage::{
    BookingStore, DayAvailability, NewReservation, NewService, NewSlot, Refusal, Reservation,
    ReservationStatus, ReserveOutcome, Service, ServiceKind, Slot, StorageError, StorageResult,
    now_utc,
};
use sqlx::postgres::PgRow;
use sqlx::{Executor, Postgres, Transaction};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The unique constraint on `(tenant_id, idempotency_key)`: hitting it means a twin request
/// with the same key committed first.
const IDEMPOTENCY_CONSTRAINT: &str = "reservations_idempotency";

fn service_from_row(row: &PgRow) -> StorageResult<Service> {
    Ok(Service {
        id: ServiceId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        code: OrgCode::parse(&get::<String>(row, "code")?).map_err(|_| corrupt("service code"))?,
        kind: ServiceKind::parse(&get::<String>(row, "kind")?)
            .ok_or_else(|| corrupt("service kind"))?,
        name_ja: get(row, "name_ja")?,
        name_en: get(row, "name_en")?,
        department_id: get::<Option<Uuid>>(row, "department_id")?.map(DepartmentId),
        rules: get(row, "rules")?,
        active: get(row, "active")?,
        created_at: get(row, "created_at")?,
    })
}

fn slot_from_row(row: &PgRow) -> StorageResult<Slot> {
    Ok(Slot {
        id: SlotId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        service_id: ServiceId(get(row, "service_id")?),
        office_id: OfficeId(get(row, "office_id")?),
        starts_at: get(row, "starts_at")?,
        ends_at: get(row, "ends_at")?,
        capacity: get::<i32>(row, "capacity")?.into(),
        taken: get::<i32>(row, "taken")?.into(),
    })
}

fn reservation_from_row(row: &PgRow) -> StorageResult<Reservation> {
    Ok(Reservation {
        id: ReservationId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        slot_id: SlotId(get(row, "slot_id")?),
        service_id: ServiceId(get(row, "service_id")?),
        account_id: get::<Option<Uuid>>(row, "account_id")?.map(AccountId),
        status: ReservationStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("reservation status"))?,
        idempotency_key: get(row, "idempotency_key")?,
        hold_expires_at: get(row, "hold_expires_at")?,
        details: get(row, "details")?,
        created_at: get(row, "created_at")?,
        cancelled_at: get(row, "cancelled_at")?,
        cancel_reason: get(row, "cancel_reason")?,
    })
}

/// The reservation booked earlier with `key`, if any. In READ COMMITTED every statement sees
/// what was committed before it started, so calling this again after waiting for a lock sees
/// a twin request that committed meanwhile.
async fn reservation_by_key<'e, E>(
    executor: E,
    tenant: TenantId,
    key: &str,
) -> StorageResult<Option<Reservation>>
where
    E: Executor<'e, Database = Postgres>,
{
    sqlx::query("SELECT * FROM reservations WHERE tenant_id = $1 AND idempotency_key = $2")
        .bind(tenant.0)
        .bind(key)
        .fetch_optional(executor)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(reservation_from_row)
        .transpose()
}

/// The first reservation made with the request's idempotency key, if it has one and it exists.
async fn replay_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    new: &NewReservation,
) -> StorageResult<Option<ReserveOutcome>> {
    let Some(key) = &new.idempotency_key else {
        return Ok(None);
    };
    Ok(reservation_by_key(&mut **tx, tenant, key)
        .await?
        .map(ReserveOutcome::Replayed))
}

/// Tells a reservation that is missing (or another tenant's) from one a conditional update
/// did not match: `NotFound` for the first, `refusal` for the second.
async fn missing_or(
    storage: &PgStorage,
    tenant: TenantId,
    id: ReservationId,
    refusal: Refusal,
) -> StorageError {
    match storage.reservation(tenant, id).await {
        Ok(_) => StorageError::Refused(refusal),
        Err(e) => e,
    }
}

/// The body of `reserve`: idempotency key, personal limit, capacity, insert. The caller commits,
/// or rolls back on an error.
async fn reserve_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    new: &NewReservation,
    now: OffsetDateTime,
) -> StorageResult<ReserveOutcome> {
    if let Some(replayed) = replay_in(tx, tenant, new).await? {
        return Ok(replayed);
    }
    let slot = sqlx::query("SELECT * FROM slots WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
        .and_then(|row| slot_from_row(&row))?;

    if let (Some(limit), Some(account)) = (new.limit, new.account_id) {
        // Serialises the bookings of one resident, so two simultaneous requests cannot
        // both count the same "one left". NO KEY UPDATE rather than UPDATE: it conflicts
        // with itself but not with the KEY SHARE lock that the foreign key of a reservation
        // insert takes on the account row; FOR UPDATE would let a limited booking (holding
        // the account, waiting for the slot) deadlock with an unlimited booking of the same
        // resident (holding the slot, inserting a row that references the account).
        // Another tenant's account locks nothing here and is refused by the insert.
        sqlx::query("SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE")
            .bind(tenant.0)
            .bind(account.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?;
        // A twin request of this resident may have committed while we waited for the lock.
        if let Some(replayed) = replay_in(tx, tenant, new).await? {
            return Ok(replayed);
        }
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reservations r JOIN slots s ON s.id = r.slot_id
             WHERE r.tenant_id = $1 AND r.account_id = $2 AND r.service_id = $3
               AND r.status IN ('held', 'confirmed')
               AND s.starts_at >= $4 AND s.starts_at < $5",
        )
        .bind(tenant.0)
        .bind(account.0)
        .bind(slot.service_id.0)
        .bind(limit.from)
        .bind(limit.until)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        if held >= limit.max {
            return Err(StorageError::Refused(Refusal::PersonalLimit));
        }
    }

    // Takes the slot's row lock: simultaneous bookings of one slot queue here, and each
    // re-reads `taken` once the one before it commits or rolls back.
    let taken =
        sqlx::query("UPDATE slots SET taken = taken + 1 WHERE id = $1 AND taken < capacity")
            .bind(slot.id.0)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    if taken.rows_affected() == 0 {
        // The last seat may have gone to a twin request with the same key: that is a
        // replay, not a full slot.
        if let Some(replayed) = replay_in(tx, tenant, new).await? {
            return Ok(replayed);
        }
        return Err(StorageError::Refused(Refusal::SlotFull));
    }

    let status = if new.hold_until.is_some() {
        ReservationStatus::Held
    } else {
        ReservationStatus::Confirmed
    };
    // The account must be this tenant's: checked in the statement that writes the row.
    let inserted = sqlx::query(
        "INSERT INTO reservations (id, tenant_id, slot_id, service_id, account_id, status,
                                   idempotency_key, hold_expires_at, details, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
         WHERE $5::uuid IS NULL
            OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $5)
         RETURNING *",
    )
    .bind(ReservationId::new().0)
    .bind(tenant.0)
    .bind(slot.id.0)
    .bind(slot.service_id.0)
    .bind(new.account_id.map(|a| a.0))
    .bind(status.as_str())
    .bind(&new.idempotency_key)
    .bind(new.hold_until)
    .bind(&new.details)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?
    .ok_or_else(|| StorageError::Constraint {
        constraint: "reservations_account".into(),
    })?;
    reservation_from_row(&inserted).map(ReserveOutcome::Created)
}

#[async_trait]
impl BookingStore for PgStorage {
    async fn create_service(&self, tenant: TenantId, new: &NewService) -> StorageResult<Service> {
        // The foreign key only proves the department exists; the EXISTS proves it is this
        // tenant's.
        let row = sqlx::query(
            "INSERT INTO services (id, tenant_id, code, kind, name_ja, name_en, department_id,
                                   rules, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
             WHERE $7::uuid IS NULL
                OR EXISTS (SELECT 1 FROM departments WHERE tenant_id = $2 AND id = $7)
             RETURNING *",
        )
        .bind(ServiceId::new().0)
        .bind(tenant.0)
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.department_id.map(|d| d.0))
        .bind(&new.rules)
        .bind(now_utc())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StorageError::Constraint {
            constraint: "services_department".into(),
        })?;
        service_from_row(&row)
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> StorageResult<Service> {
        let row = sqlx::query("SELECT * FROM services WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        service_from_row(&row)
    }

    async fn list_services(&self, tenant: TenantId) -> StorageResult<Vec<Service>> {
        // Codes sort bytewise ("C"), as on SQLite, whatever the database's collation.
        let rows =
            sqlx::query("SELECT * FROM services WHERE tenant_id = $1 ORDER BY code COLLATE \"C\"")
                .bind(tenant.0)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter().map(service_from_row).collect()
    }

    async fn add_slots(
        &self,
        tenant: TenantId,
        service: ServiceId,
        slots: &[NewSlot],
    ) -> StorageResult<u64> {
        let owned: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM services WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(service.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        if owned.is_none() {
            return Err(StorageError::NotFound);
        }
        if slots.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = slots.iter().map(|_| SlotId::new().0).collect();
        let offices: Vec<Uuid> = slots.iter().map(|s| s.office_id.0).collect();
        let starts: Vec<OffsetDateTime> = slots.iter().map(|s| s.starts_at).collect();
        let ends: Vec<OffsetDateTime> = slots.iter().map(|s| s.ends_at).collect();
        let capacities: Vec<i64> = slots.iter().map(|s| s.capacity).collect();
        // One statement for the whole batch (a month of slots is hundreds of rows). The service
        // and every office are checked to be this tenant's in it; a slot at another tenant's
        // office is skipped, and so is one that already exists (including twins in the batch).
        let added = sqlx::query(
            "INSERT INTO slots (id, tenant_id, service_id, office_id, starts_at, ends_at, capacity)
             SELECT n.id, $1, $2, n.office_id, n.starts_at, n.ends_at, n.capacity
             FROM unnest($3::uuid[], $4::uuid[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
                  WITH ORDINALITY AS n (id, office_id, starts_at, ends_at, capacity, position)
             WHERE EXISTS (SELECT 1 FROM services WHERE tenant_id = $1 AND id = $2)
               AND EXISTS (SELECT 1 FROM offices WHERE tenant_id = $1 AND id = n.office_id)
             ORDER BY n.position
             ON CONFLICT (service_id, office_id, starts_at) DO NOTHING",
        )
        .bind(tenant.0)
        .bind(service.0)
        .bind(ids)
        .bind(offices)
        .bind(starts)
        .bind(ends)
        .bind(capacities)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(added.rows_affected())
    }

    async fn slot(&self, tenant: TenantId, id: SlotId) -> StorageResult<Slot> {
        let row = sqlx::query("SELECT * FROM slots WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        slot_from_row(&row)
    }

    async fn slots(
        &self,
        tenant: TenantId,
        service: ServiceId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StorageResult<Vec<Slot>> {
        // `uuid` compares bytewise, which is the order of the hyphenated text SQLite compares.
        let rows = sqlx::query(
            "SELECT * FROM slots
             WHERE tenant_id = $1 AND service_id = $2 AND starts_at >= $3 AND starts_at < $4
             ORDER BY starts_at, office_id",
        )
        .bind(tenant.0)
        .bind(service.0)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(slot_from_row).collect()
    }

    async fn availability_by_day(
        &self,
        tenant: TenantId,
        service: ServiceId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StorageResult<Vec<DayAvailability>> {
        // Days are Tokyo days whatever the session's TimeZone. Counters on the slots make this
        // a scan of one month of slots, however many reservations there are.
        let rows = sqlx::query(
            "SELECT (starts_at AT TIME ZONE 'Asia/Tokyo')::date AS day,
                    count(*) AS slots, sum(capacity) AS capacity, sum(taken) AS taken
             FROM slots
             WHERE tenant_id = $1 AND service_id = $2 AND starts_at >= $3 AND starts_at < $4
             GROUP BY day ORDER BY day",
        )
        .bind(tenant.0)
        .bind(service.0)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(DayAvailability {
                    date: get(row, "day")?,
                    slots: get(row, "slots")?,
                    capacity: get(row, "capacity")?,
                    taken: get(row, "taken")?,
                })
            })
            .collect()
    }

    async fn reserve(
        &self,
        tenant: TenantId,
        new: &NewReservation,
        now: OffsetDateTime,
    ) -> StorageResult<ReserveOutcome> {
        // Fast path without locks: a slot that is already full is refused (or its booking
        // replayed), without queueing behind the slot's row lock. When a session opens in a rush,
        // most requests arrive after it filled; they no longer wait for every commit before
        // theirs. The transaction below still decides every booking that is attempted.
        let full: Option<bool> = sqlx::query_scalar(
            "SELECT taken >= capacity FROM slots WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match full {
            None => return Err(StorageError::NotFound),
            Some(true) => {
                // Full is visible only once the last seat's reservation is, so a twin request
                // of the booking that filled it finds that booking here.
                if let Some(key) = &new.idempotency_key
                    && let Some(first) = reservation_by_key(&self.pool, tenant, key).await?
                {
                    return Ok(ReserveOutcome::Replayed(first));
                }
                return Err(StorageError::Refused(Refusal::SlotFull));
            }
            Some(false) => {}
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        match reserve_in(&mut tx, tenant, new, now).await {
            Ok(outcome) => {
                tx.commit().await.map_err(map_err)?;
                Ok(outcome)
            }
            // A twin request with the same key inserted and committed between our checks and
            // our insert. Our seat is given back by the rollback; theirs is the answer.
            Err(StorageError::Duplicate { constraint }) if constraint == IDEMPOTENCY_CONSTRAINT => {
                tx.rollback().await.map_err(map_err)?;
                let key = new.idempotency_key.as_deref().unwrap_or_default();
                let first = reservation_by_key(&self.pool, tenant, key)
                    .await?
                    .ok_or(StorageError::Duplicate { constraint })?;
                Ok(ReserveOutcome::Replayed(first))
            }
            Err(e) => Err(e),
        }
    }

    async fn confirm_hold(
        &self,
        tenant: TenantId,
        id: ReservationId,
        now: OffsetDateTime,
    ) -> StorageResult<Reservation> {
        let row = sqlx::query(
            "UPDATE reservations SET status = 'confirmed', hold_expires_at = NULL
             WHERE tenant_id = $1 AND id = $2 AND status = 'held' AND hold_expires_at > $3
             RETURNING *",
        )
        .bind(tenant.0)
        .bind(id.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => reservation_from_row(&row),
            None => Err(missing_or(self, tenant, id, Refusal::StaleHold).await),
        }
    }

    async fn cancel_reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> StorageResult<Reservation> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Locks the reservation, then its slot: the same order as `expire_holds`.
        let row = sqlx::query(
            "UPDATE reservations SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2
             WHERE tenant_id = $3 AND id = $4 AND status IN ('held', 'confirmed')
             RETURNING *",
        )
        .bind(now)
        .bind(reason)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            drop(tx);
            return Err(missing_or(self, tenant, id, Refusal::NotActive).await);
        };
        let reservation = reservation_from_row(&row)?;
        sqlx::query("UPDATE slots SET taken = taken - 1 WHERE id = $1")
            .bind(reservation.slot_id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(reservation)
    }

    async fn expire_holds(&self, now: OffsetDateTime) -> StorageResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // SKIP LOCKED: another node expiring (or a resident confirming or cancelling) a hold
        // keeps it; it is neither waited for nor expired twice.
        let slots: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE reservations SET status = 'expired', cancelled_at = $1, cancel_reason = NULL
             WHERE id IN (SELECT id FROM reservations
                          WHERE status = 'held' AND hold_expires_at <= $1
                          FOR UPDATE SKIP LOCKED)
               AND status = 'held'
             RETURNING slot_id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut seats_by_slot: BTreeMap<Uuid, i64> = BTreeMap::new();
        for slot in &slots {
            *seats_by_slot.entry(*slot).or_default() += 1;
        }
        // In slot order, so two nodes giving seats back to the same slots cannot deadlock.
        for (slot, seats) in seats_by_slot {
            sqlx::query("UPDATE slots SET taken = taken - $1 WHERE id = $2")
                .bind(seats)
                .bind(slot)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(slots.len() as u64)
    }

    async fn reservation(&self, tenant: TenantId, id: ReservationId) -> StorageResult<Reservation> {
        let row = sqlx::query("SELECT * FROM reservations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        reservation_from_row(&row)
    }

    async fn reservations_of_account(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Vec<Reservation>> {
        let rows = sqlx::query(
            "SELECT r.* FROM reservations r JOIN slots s ON s.id = r.slot_id
             WHERE r.tenant_id = $1 AND r.account_id = $2 ORDER BY s.starts_at",
        )
        .bind(tenant.0)
        .bind(account.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(reservation_from_row).collect()
    }
}
