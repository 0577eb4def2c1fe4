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
    AccountId, AuditId, DepartmentId, OfficeId, OrgCode, ReservationId, ReservationRef, ServiceId,
    SlotId, TenantId,
};
use madoguchi_storage::{
    Attendance, BookingStore, DayAvailability, DaySheetFilter, DaySheetRow, LimitCheck,
    NewAuditEntry, NewReservation, NewService, NewSlot, Refusal, RemoteAppointment, RemoteJoin,
    Reservation, ReservationNotice, ReservationStatus, ReserveOutcome, Service, ServiceKind, Slot,
    StorageError, StorageResult, now_utc, outbox_events,
};
use sqlx::postgres::PgRow;
use sqlx::{Executor, PgConnection, Postgres, Transaction};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The unique constraint on `(tenant_id, idempotency_key)`: hitting it means a twin request
/// with the same key committed first.
const IDEMPOTENCY_CONSTRAINT: &str = "reservations_idempotency";

/// The unique index on `(tenant_id, reference)`: hitting it means the number drawn for a new
/// reservation is the city's already, and the booking draws again.
const REFERENCE_CONSTRAINT: &str = "reservations_reference";

/// How many numbers a booking draws before giving up. With 40 bits per number, even a city
/// with ten million reservations meets a taken one once in a hundred thousand bookings.
const REFERENCE_DRAWS_MAX: u32 = 8;

fn service_from_row(row: &PgRow) -> StorageResult<Service> {
    let id = ServiceId(get(row, "id")?);
    let rules: serde_json::Value = get(row, "rules")?;
    Ok(Service {
        id,
        tenant_id: TenantId(get(row, "tenant_id")?),
        code: OrgCode::parse(&get::<String>(row, "code")?).map_err(|_| corrupt("service code"))?,
        kind: ServiceKind::parse(&get::<String>(row, "kind")?)
            .ok_or_else(|| corrupt("service kind"))?,
        name_ja: get(row, "name_ja")?,
        name_en: get(row, "name_en")?,
        department_id: get::<Option<Uuid>>(row, "department_id")?.map(DepartmentId),
        rules: serde_json::from_value(rules).map_err(|_| StorageError::UnreadableRules(id))?,
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
        reference: ReservationRef::parse(&get::<String>(row, "reference")?)
            .ok_or_else(|| corrupt("reservation reference"))?,
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
        booked_by: get::<Option<Uuid>>(row, "booked_by")?.map(AccountId),
        attendance_at: get(row, "attendance_at")?,
    })
}

/// The replay of the reservation booked earlier with `key`, if any. In READ COMMITTED every
/// statement sees what was committed before it started, so calling this again after waiting
/// for a lock sees a twin request that committed meanwhile.
async fn replay_by_key<'e, E>(
    executor: E,
    tenant: TenantId,
    new: &NewReservation,
    key: &str,
) -> StorageResult<Option<ReserveOutcome>>
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
        .map(|row| replayed(row, new))
        .transpose()
}

/// The reservation booked earlier with the request's idempotency key, as a replay; refused
/// when that booking was asked with another fingerprint (the key reused for another request).
fn replayed(row: &PgRow, new: &NewReservation) -> StorageResult<ReserveOutcome> {
    let stored: Option<String> = get(row, "request_fingerprint")?;
    if let (Some(stored), Some(asked)) = (stored, &new.fingerprint)
        && &stored != asked
    {
        return Err(StorageError::Refused(Refusal::IdempotencyKeyReused));
    }
    reservation_from_row(row).map(ReserveOutcome::Replayed)
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

/// Takes a seat and inserts the reservation in one statement. The slot's row lock is taken by
/// the conditional `UPDATE` and held only until this statement's transaction ends, so bookings
/// of one slot queue for one statement and a commit each instead of a round trip per step.
///
/// - `prior`: a reservation already made with the request's idempotency key takes no seat.
/// - `held`: the resident's bookings that count towards the personal limit (`$10` the limit,
///   NULL when none applies). The caller has locked the account row before this statement, so
///   its snapshot holds every booking of this resident that committed before.
/// - `seat`: the seat, only if one is left, the limit is not reached and the accounts are this
///   tenant's (checked in the statement that writes, so a refused booking takes no seat). A
///   slot that the statement's snapshot already sees full is skipped without waiting for its
///   lock; one being booked is re-read once the booking before it commits (READ COMMITTED).
/// - `created`: the reservation, for the seat just taken, with its number (`$21`). A number
///   the city already has fails the statement on `reservations_reference`, which gives the
///   seat back; `reserve` then draws again.
/// - `notices`: its outbox rows (`$15`…`$20`, see `jobs::OutboxArrays`), written only with it.
/// - `audited`: its audit entry (`$22`…`$27`, all null when the caller audits nothing), also
///   written only with it, so a booking and its entry are one statement.
///
/// The row says what happened: the reservation created, or the one `prior` found, and what the
/// snapshot saw of the slot, the limit and the accounts when neither.
const TAKE_SEAT: &str = "
WITH prior AS (
    SELECT * FROM reservations WHERE tenant_id = $2 AND idempotency_key = $6
), held AS (
    SELECT count(*) AS n FROM reservations r JOIN slots s ON s.id = r.slot_id
    WHERE $11::bigint IS NOT NULL
      AND r.tenant_id = $2 AND r.account_id = $4
      AND r.service_id = (SELECT service_id FROM slots WHERE tenant_id = $2 AND id = $3)
      AND r.status IN ('held', 'confirmed', 'attended', 'no_show')
      AND s.starts_at >= $12 AND s.starts_at < $13
), seat AS (
    UPDATE slots SET taken = taken + 1
    WHERE tenant_id = $2 AND id = $3 AND taken < capacity
      AND NOT EXISTS (SELECT 1 FROM prior)
      AND ($11::bigint IS NULL OR (SELECT n FROM held) < $11)
      AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $4))
      AND ($10::uuid IS NULL OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $10))
    RETURNING id, service_id
), created AS (
    INSERT INTO reservations (id, tenant_id, slot_id, service_id, account_id, status,
                              idempotency_key, hold_expires_at, details, created_at, booked_by,
                              request_fingerprint, reference)
    SELECT $1, $2, seat.id, seat.service_id, $4, $5, $6, $7, $8, $9, $10, $14, $21 FROM seat
    RETURNING *
), notices AS (
    INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at,
                      dedupe_key)
    SELECT n.id, $2, n.kind, n.payload, 'queued', n.run_at, n.max_attempts, $9, n.dedupe_key
    FROM unnest($15::uuid[], $16::text[], $17::jsonb[], $18::timestamptz[], $19::bigint[],
                $20::text[]) AS n (id, kind, payload, run_at, max_attempts, dedupe_key)
    WHERE EXISTS (SELECT 1 FROM created)
    ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
), audited AS (
    INSERT INTO audit_log (id, tenant_id, at, actor_kind, actor_id, action, target, details)
    SELECT $22, $2, $23, $24, $25, $26, created.id::text, $27 FROM created
    WHERE $22::uuid IS NOT NULL
)
SELECT r.*, seen.*
FROM (SELECT EXISTS (SELECT 1 FROM created) AS seat_taken,
             (SELECT taken < capacity FROM slots WHERE tenant_id = $2 AND id = $3) AS seen_open,
             ($11::bigint IS NULL OR (SELECT n FROM held) < $11) AS within_limit,
             ($4::uuid IS NULL
              OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $4))
             AND ($10::uuid IS NULL
              OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $10)) AS accounts_ok
     ) AS seen
LEFT JOIN (SELECT * FROM created UNION ALL SELECT * FROM prior) AS r ON true";

/// The personal limit to check for `new`: only a resident's booking has one.
fn limit_of(new: &NewReservation) -> Option<LimitCheck> {
    new.limit.filter(|_| new.account_id.is_some())
}

/// Runs [`TAKE_SEAT`] on `conn` (a transaction's, or a pooled connection where the statement
/// is its own transaction) and turns its row into the outcome. With a personal limit, the
/// caller must hold the account's lock (see `reserve`).
async fn take_seat(
    conn: &mut PgConnection,
    tenant: TenantId,
    new: &NewReservation,
    reference: ReservationRef,
    now: OffsetDateTime,
    audit: Option<&NewAuditEntry>,
) -> StorageResult<ReserveOutcome> {
    let status = if new.hold_until.is_some() {
        ReservationStatus::Held
    } else {
        ReservationStatus::Confirmed
    };
    let limit = limit_of(new);
    let id = ReservationId::new();
    let notices = crate::jobs::OutboxArrays::of(&outbox_events(tenant, id, &new.notices));
    let row = sqlx::query(TAKE_SEAT)
        .bind(id.0)
        .bind(tenant.0)
        .bind(new.slot_id.0)
        .bind(new.account_id.map(|a| a.0))
        .bind(status.as_str())
        .bind(&new.idempotency_key)
        .bind(new.hold_until)
        .bind(&new.details)
        .bind(now)
        .bind(new.booked_by.map(|a| a.0))
        .bind(limit.map(|l| l.max))
        .bind(limit.map(|l| l.from))
        .bind(limit.map(|l| l.until))
        .bind(&new.fingerprint)
        .bind(notices.ids)
        .bind(notices.kinds)
        .bind(notices.payloads)
        .bind(notices.run_ats)
        .bind(notices.max_attempts)
        .bind(notices.dedupe_keys)
        .bind(reference.compact())
        .bind(audit.map(|_| AuditId::new().0))
        .bind(audit.map(|a| a.at))
        .bind(audit.map(|a| a.actor_kind.as_str()))
        .bind(audit.and_then(|a| a.actor_id.map(|id| id.0)))
        .bind(audit.map(|a| a.action.as_str()))
        .bind(audit.map(|a| &a.details))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    if get::<bool>(&row, "seat_taken")? {
        return reservation_from_row(&row).map(ReserveOutcome::Created);
    }
    if get::<Option<Uuid>>(&row, "id")?.is_some() {
        return replayed(&row, new);
    }
    match get::<Option<bool>>(&row, "seen_open")? {
        None => Err(StorageError::NotFound),
        Some(_) if !get::<bool>(&row, "within_limit")? => {
            Err(StorageError::Refused(Refusal::PersonalLimit))
        }
        Some(false) => Err(StorageError::Refused(Refusal::SlotFull)),
        Some(true) if !get::<bool>(&row, "accounts_ok")? => Err(StorageError::Constraint {
            constraint: "reservations_account".into(),
        }),
        // Open when the statement began, full when its turn for the lock came. The last seat
        // may have gone to a twin request with the same key: that is a replay, not a full
        // slot. A new statement sees what committed meanwhile.
        Some(true) => match &new.idempotency_key {
            Some(key) => match replay_by_key(&mut *conn, tenant, new, key).await? {
                Some(first) => Ok(first),
                None => Err(StorageError::Refused(Refusal::SlotFull)),
            },
            None => Err(StorageError::Refused(Refusal::SlotFull)),
        },
    }
}

/// The body of `reserve` when a personal limit applies or a remote appointment is made with
/// the reservation: the account's lock, then [`take_seat`], then the appointment. The caller
/// commits, or rolls back on an error.
async fn reserve_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    new: &NewReservation,
    reference: ReservationRef,
    now: OffsetDateTime,
    audit: Option<&NewAuditEntry>,
) -> StorageResult<ReserveOutcome> {
    if let (Some(_), Some(account)) = (limit_of(new), new.account_id) {
        // Serialises the bookings of one resident, so two simultaneous requests cannot
        // both count the same "one left": the next statement's snapshot is taken after this
        // lock is granted, so it sees every booking (and twin request) committed before.
        // NO KEY UPDATE rather than UPDATE: it conflicts with itself but not with the KEY
        // SHARE lock that the foreign key of a reservation insert takes on the account row;
        // FOR UPDATE would let a limited booking (holding the account, waiting for the slot)
        // deadlock with an unlimited booking of the same resident (holding the slot,
        // inserting a row that references the account). Another tenant's account locks
        // nothing here and is refused by `take_seat`.
        sqlx::query("SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE")
            .bind(tenant.0)
            .bind(account.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    let outcome = take_seat(tx, tenant, new, reference, now, audit).await?;
    if let (ReserveOutcome::Created(reservation), Some(join)) = (&outcome, new.remote_join) {
        insert_remote_appointment(tx, tenant, reservation.id, join, now).await?;
    }
    Ok(outcome)
}

/// Creates the remote-consultation appointment of a reservation being booked; a kiosk must be
/// one of the tenant's offices.
async fn insert_remote_appointment(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    reservation: ReservationId,
    join: RemoteJoin,
    now: OffsetDateTime,
) -> StorageResult<()> {
    let (from, kiosk) = match join {
        RemoteJoin::Home => ("home", None),
        RemoteJoin::Kiosk { office_id } => ("kiosk", Some(office_id.0)),
    };
    let inserted = sqlx::query(
        "INSERT INTO remote_appointments (id, tenant_id, reservation_id, join_from, kiosk_office_id, created_at)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE $5::uuid IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = $2 AND id = $5)",
    )
    .bind(Uuid::new_v4())
    .bind(tenant.0)
    .bind(reservation.0)
    .bind(from)
    .bind(kiosk)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    if inserted.rows_affected() == 0 {
        return Err(StorageError::Constraint {
            constraint: "remote_appointments_office".into(),
        });
    }
    Ok(())
}

impl PgStorage {
    /// One attempt of `reserve`, with one drawn reservation number.
    async fn reserve_once(
        &self,
        tenant: TenantId,
        new: &NewReservation,
        reference: ReservationRef,
        now: OffsetDateTime,
        audit: Option<&NewAuditEntry>,
    ) -> StorageResult<ReserveOutcome> {
        if limit_of(new).is_none() && new.remote_join.is_none() {
            // Nothing to lock before the slot and nothing to write after the reservation: the
            // booking is one statement, its own transaction, one round trip. A slot already
            // full is refused by it without waiting for the slot's lock.
            let mut conn = self.pool.acquire().await.map_err(map_err)?;
            return match take_seat(&mut conn, tenant, new, reference, now, audit).await {
                // A twin request with the same key committed after our statement began and
                // before our insert; the statement's failure gave our seat back.
                Err(StorageError::Duplicate { constraint })
                    if constraint == IDEMPOTENCY_CONSTRAINT =>
                {
                    let key = new.idempotency_key.as_deref().unwrap_or_default();
                    replay_by_key(&mut *conn, tenant, new, key)
                        .await?
                        .ok_or(StorageError::Duplicate { constraint })
                }
                other => other,
            };
        }
        // A personal limit or an appointment needs a transaction. First, without locks: a slot
        // that is already full is refused (or its booking replayed) without beginning one or
        // locking the resident. When a session opens in a rush, most requests arrive after it
        // filled. The transaction below still decides every booking that is attempted.
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
                    && let Some(first) = replay_by_key(&self.pool, tenant, new, key).await?
                {
                    return Ok(first);
                }
                return Err(StorageError::Refused(Refusal::SlotFull));
            }
            Some(false) => {}
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        match reserve_in(&mut tx, tenant, new, reference, now, audit).await {
            Ok(outcome) => {
                tx.commit().await.map_err(map_err)?;
                Ok(outcome)
            }
            // A twin request with the same key inserted and committed between our checks and
            // our insert. Our seat is given back by the rollback; theirs is the answer.
            Err(StorageError::Duplicate { constraint }) if constraint == IDEMPOTENCY_CONSTRAINT => {
                tx.rollback().await.map_err(map_err)?;
                let key = new.idempotency_key.as_deref().unwrap_or_default();
                replay_by_key(&self.pool, tenant, new, key)
                    .await?
                    .ok_or(StorageError::Duplicate { constraint })
            }
            Err(e) => Err(e),
        }
    }
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
        .bind(sqlx::types::Json(&new.rules))
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
        madoguchi_storage::skip_unreadable_rules(rows.iter().map(service_from_row))
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

    async fn reserve_audited(
        &self,
        tenant: TenantId,
        new: &NewReservation,
        now: OffsetDateTime,
        audit: Option<&NewAuditEntry>,
    ) -> StorageResult<ReserveOutcome> {
        let mut draws = 1;
        let mut reference = new.reference.unwrap_or_else(ReservationRef::random);
        loop {
            match self.reserve_once(tenant, new, reference, now, audit).await {
                // The number drawn was taken: the failed statement (and its transaction) took
                // nothing, so the booking is tried again whole with a new number.
                Err(StorageError::Duplicate { constraint })
                    if constraint == REFERENCE_CONSTRAINT && draws < REFERENCE_DRAWS_MAX =>
                {
                    draws += 1;
                    reference = ReservationRef::random();
                }
                other => return other,
            }
        }
    }

    async fn confirm_hold_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(
            "UPDATE reservations SET status = 'confirmed', hold_expires_at = NULL
             WHERE tenant_id = $1 AND id = $2 AND status = 'held' AND hold_expires_at > $3
             RETURNING *",
        )
        .bind(tenant.0)
        .bind(id.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            drop(tx);
            return Err(missing_or(self, tenant, id, Refusal::StaleHold).await);
        };
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        tx.commit().await.map_err(map_err)?;
        reservation_from_row(&row)
    }

    async fn cancel_reservation_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        reason: Option<&str>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
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
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
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

    async fn reservation_by_reference(
        &self,
        tenant: TenantId,
        reference: ReservationRef,
    ) -> StorageResult<Reservation> {
        let row = sqlx::query("SELECT * FROM reservations WHERE tenant_id = $1 AND reference = $2")
            .bind(tenant.0)
            .bind(reference.compact())
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

    async fn move_reservation_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        to: SlotId,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Locks the reservation first, then the slots: the order every other writer uses.
        let row =
            sqlx::query("SELECT * FROM reservations WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StorageError::NotFound)?;
        let current = reservation_from_row(&row)?;
        if !current.status.holds_a_seat() {
            return Err(StorageError::Refused(Refusal::NotActive));
        }
        if current.slot_id == to {
            return Ok(current);
        }
        let service: Uuid =
            sqlx::query_scalar("SELECT service_id FROM slots WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(to.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StorageError::NotFound)?;
        if service != current.service_id.0 {
            return Err(StorageError::Refused(Refusal::OtherService));
        }
        // Two slot rows: lock them in id order, so two moves in opposite directions cannot
        // deadlock. The seat in the new slot is taken conditionally; the old one given back.
        let take = |slot: Uuid| {
            sqlx::query("UPDATE slots SET taken = taken + 1 WHERE id = $1 AND taken < capacity")
                .bind(slot)
        };
        let give_back =
            |slot: Uuid| sqlx::query("UPDATE slots SET taken = taken - 1 WHERE id = $1").bind(slot);
        let taken = if to.0 < current.slot_id.0 {
            let taken = take(to.0).execute(&mut *tx).await.map_err(map_err)?;
            give_back(current.slot_id.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            taken
        } else {
            give_back(current.slot_id.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            take(to.0).execute(&mut *tx).await.map_err(map_err)?
        };
        if taken.rows_affected() == 0 {
            return Err(StorageError::Refused(Refusal::SlotFull));
        }
        let row = sqlx::query("UPDATE reservations SET slot_id = $1 WHERE id = $2 RETURNING *")
            .bind(to.0)
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let moved = reservation_from_row(&row)?;
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now_utc()).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(moved)
    }

    async fn mark_attendance_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        attendance: Attendance,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(
            "UPDATE reservations SET status = $1, attendance_at = $2
             WHERE tenant_id = $3 AND id = $4 AND status IN ('confirmed', 'attended', 'no_show')
             RETURNING *",
        )
        .bind(attendance.status().as_str())
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            drop(tx);
            return Err(missing_or(self, tenant, id, Refusal::NotActive).await);
        };
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        tx.commit().await.map_err(map_err)?;
        reservation_from_row(&row)
    }

    async fn no_shows_since(
        &self,
        tenant: TenantId,
        account: AccountId,
        since: OffsetDateTime,
    ) -> StorageResult<i64> {
        sqlx::query_scalar(
            "SELECT count(*) FROM reservations r JOIN slots s ON s.id = r.slot_id
             WHERE r.tenant_id = $1 AND r.account_id = $2 AND r.status = 'no_show'
               AND s.starts_at >= $3",
        )
        .bind(tenant.0)
        .bind(account.0)
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn day_sheet(
        &self,
        tenant: TenantId,
        filter: &DaySheetFilter,
    ) -> StorageResult<Vec<DaySheetRow>> {
        let rows = sqlx::query(
            "SELECT r.*, s.office_id AS s_office_id, s.starts_at AS s_starts_at, s.ends_at AS s_ends_at,
                    s.capacity AS s_capacity, s.taken AS s_taken,
                    v.code AS v_code, v.name_ja AS v_name_ja, v.name_en AS v_name_en,
                    a.display_name AS a_name, a.email AS a_email
             FROM reservations r
             JOIN slots s ON s.id = r.slot_id
             JOIN services v ON v.id = r.service_id
             LEFT JOIN accounts a ON a.id = r.account_id
             WHERE r.tenant_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3
               AND ($4::uuid IS NULL OR s.office_id = $4)
               AND ($5::uuid IS NULL OR v.department_id = $5)
               AND r.status <> 'expired'
             ORDER BY s.starts_at, v.code, r.created_at",
        )
        .bind(tenant.0)
        .bind(filter.from)
        .bind(filter.until)
        .bind(filter.office.map(|o| o.0))
        .bind(filter.department.map(|d| d.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let reservation = reservation_from_row(row)?;
                Ok(DaySheetRow {
                    slot: Slot {
                        id: reservation.slot_id,
                        tenant_id: reservation.tenant_id,
                        service_id: reservation.service_id,
                        office_id: OfficeId(get(row, "s_office_id")?),
                        starts_at: get(row, "s_starts_at")?,
                        ends_at: get(row, "s_ends_at")?,
                        capacity: get::<i32>(row, "s_capacity")?.into(),
                        taken: get::<i32>(row, "s_taken")?.into(),
                    },
                    service_code: get(row, "v_code")?,
                    service_name_ja: get(row, "v_name_ja")?,
                    service_name_en: get(row, "v_name_en")?,
                    account_name: get(row, "a_name")?,
                    account_email: get(row, "a_email")?,
                    reservation,
                })
            })
            .collect()
    }

    async fn remote_appointment(
        &self,
        tenant: TenantId,
        reservation: ReservationId,
    ) -> StorageResult<Option<RemoteAppointment>> {
        let row = sqlx::query(
            "SELECT * FROM remote_appointments WHERE tenant_id = $1 AND reservation_id = $2",
        )
        .bind(tenant.0)
        .bind(reservation.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            let join = match get::<String>(&row, "join_from")?.as_str() {
                "home" => RemoteJoin::Home,
                "kiosk" => RemoteJoin::Kiosk {
                    office_id: OfficeId(
                        get::<Option<Uuid>>(&row, "kiosk_office_id")?
                            .ok_or_else(|| corrupt("kiosk office"))?,
                    ),
                },
                _ => return Err(corrupt("join location")),
            };
            Ok(RemoteAppointment {
                id: get(&row, "id")?,
                tenant_id: tenant,
                reservation_id: reservation,
                join,
                created_at: get(&row, "created_at")?,
            })
        })
        .transpose()
    }
}
