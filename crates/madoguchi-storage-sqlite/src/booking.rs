//! Services, slots and reservations on SQLite. `reserve`, `cancel_reservation`,
//! `confirm_hold` and `expire_holds` run under `BEGIN IMMEDIATE`: the write lock is taken
//! before anything is read, so two bookings of the last seat are strictly one after the other.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{
    AccountId, DepartmentId, OfficeId, OrgCode, ReservationId, ReservationRef, ServiceId, SlotId,
    TenantId,
};
use madoguchi_storage::{
    Attendance, BookingStore, DayAvailability, DaySheetFilter, DaySheetRow, NewAuditEntry,
    NewReservation, NewService, NewSlot, Refusal, RemoteAppointment, RemoteJoin, Reservation,
    ReservationNotice, ReservationStatus, ReserveOutcome, Service, ServiceKind, Slot, StorageError,
    StorageResult, now_utc, outbox_events, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use time::OffsetDateTime;

fn service_from_row(row: &SqliteRow) -> StorageResult<Service> {
    let id = ServiceId(get_uuid(row, "id")?);
    let rules: String = get_string(row, "rules")?;
    Ok(Service {
        id,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        code: OrgCode::parse(&get_string(row, "code")?).map_err(|_| corrupt("service code"))?,
        kind: ServiceKind::parse(&get_string(row, "kind")?)
            .ok_or_else(|| corrupt("service kind"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        department_id: get_opt_uuid(row, "department_id")?.map(DepartmentId),
        rules: serde_json::from_str(&rules).map_err(|_| StorageError::UnreadableRules(id))?,
        active: row.try_get::<i64, _>("active").map_err(map_err)? != 0,
        created_at: get_instant(row, "created_at")?,
    })
}

fn slot_from_row(row: &SqliteRow) -> StorageResult<Slot> {
    Ok(Slot {
        id: SlotId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        service_id: ServiceId(get_uuid(row, "service_id")?),
        office_id: OfficeId(get_uuid(row, "office_id")?),
        starts_at: get_instant(row, "starts_at")?,
        ends_at: get_instant(row, "ends_at")?,
        capacity: row.try_get("capacity").map_err(map_err)?,
        taken: row.try_get("taken").map_err(map_err)?,
    })
}

fn reservation_from_row(row: &SqliteRow) -> StorageResult<Reservation> {
    let details: String = get_string(row, "details")?;
    Ok(Reservation {
        id: ReservationId(get_uuid(row, "id")?),
        reference: ReservationRef::parse(&get_string(row, "reference")?)
            .ok_or_else(|| corrupt("reservation reference"))?,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        slot_id: SlotId(get_uuid(row, "slot_id")?),
        service_id: ServiceId(get_uuid(row, "service_id")?),
        account_id: get_opt_uuid(row, "account_id")?.map(AccountId),
        status: ReservationStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("reservation status"))?,
        idempotency_key: row.try_get("idempotency_key").map_err(map_err)?,
        hold_expires_at: get_opt_instant(row, "hold_expires_at")?,
        details: serde_json::from_str(&details).map_err(|_| corrupt("reservation details"))?,
        created_at: get_instant(row, "created_at")?,
        cancelled_at: get_opt_instant(row, "cancelled_at")?,
        cancel_reason: row.try_get("cancel_reason").map_err(map_err)?,
        booked_by: get_opt_uuid(row, "booked_by")?.map(AccountId),
        attendance_at: get_opt_instant(row, "attendance_at")?,
    })
}

/// The reservation booked earlier with the request's idempotency key, as a replay; refused
/// when that booking was asked with another fingerprint (the key reused for another request).
fn replayed(row: &SqliteRow, new: &NewReservation) -> StorageResult<ReserveOutcome> {
    let stored: Option<String> = row.try_get("request_fingerprint").map_err(map_err)?;
    if let (Some(stored), Some(asked)) = (stored, &new.fingerprint)
        && &stored != asked
    {
        return Err(StorageError::Refused(Refusal::IdempotencyKeyReused));
    }
    reservation_from_row(row).map(ReserveOutcome::Replayed)
}

async fn reservation_in(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    id: ReservationId,
) -> StorageResult<Reservation> {
    let row = sqlx::query("SELECT * FROM reservations WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
    reservation_from_row(&row)
}

/// A reservation number no reservation of the city has. The caller holds the write lock
/// (`BEGIN IMMEDIATE`), so no other booking can take it before the insert.
async fn unused_reference(
    tx: &mut Transaction<'static, Sqlite>,
    tenant_text: &str,
    first: Option<ReservationRef>,
) -> StorageResult<ReservationRef> {
    let mut candidate = first;
    loop {
        let reference = candidate.take().unwrap_or_else(ReservationRef::random);
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM reservations WHERE tenant_id = ? AND reference = ?")
                .bind(tenant_text)
                .bind(reference.compact())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_err)?;
        if taken.is_none() {
            return Ok(reference);
        }
    }
}

/// Creates the remote-consultation appointment of a reservation being booked; a kiosk must be
/// one of the tenant's offices.
async fn insert_remote_appointment(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    reservation: ReservationId,
    join: RemoteJoin,
    now: OffsetDateTime,
) -> StorageResult<()> {
    let (from, kiosk) = match join {
        RemoteJoin::Home => ("home", None),
        RemoteJoin::Kiosk { office_id } => ("kiosk", Some(uuid_text(office_id.0))),
    };
    let inserted = sqlx::query(
        "INSERT INTO remote_appointments (id, tenant_id, reservation_id, join_from, kiosk_office_id, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6
         WHERE ?5 IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = ?2 AND id = ?5)",
    )
    .bind(uuid_text(uuid::Uuid::new_v4()))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(reservation.0))
    .bind(from)
    .bind(kiosk)
    .bind(to_unix_micros(now))
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

/// Ends a seat-holding reservation with `status` and returns its seat to the slot.
async fn release(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    id: ReservationId,
    status: ReservationStatus,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> StorageResult<()> {
    let slot: Option<String> = sqlx::query_scalar(
        "UPDATE reservations SET status = ?1, cancelled_at = ?2, cancel_reason = ?3
         WHERE tenant_id = ?4 AND id = ?5 AND status IN ('held', 'confirmed')
         RETURNING slot_id",
    )
    .bind(status.as_str())
    .bind(to_unix_micros(now))
    .bind(reason)
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(id.0))
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    let slot = slot.ok_or(StorageError::Refused(Refusal::NotActive))?;
    sqlx::query("UPDATE slots SET taken = taken - 1 WHERE id = ?")
        .bind(slot)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl BookingStore for SqliteStorage {
    async fn create_service(&self, tenant: TenantId, new: &NewService) -> StorageResult<Service> {
        let id = ServiceId::new();
        let now = now_utc();
        let rules =
            serde_json::to_string(&new.rules).map_err(|e| StorageError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO services (id, tenant_id, code, kind, name_ja, name_en, department_id, rules, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
             WHERE ?7 IS NULL OR EXISTS (SELECT 1 FROM departments WHERE tenant_id = ?2 AND id = ?7)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.department_id.map(|d| uuid_text(d.0)))
        .bind(rules)
        .bind(to_unix_micros(now))
        .execute(&self.pool)
        .await
        .map_err(|e| match map_err(e) {
            // SQLite names no constraint, and `map_err` derives names for the older tables
            // only. The id is fresh, so the code is the one unique key a new service can break.
            StorageError::Duplicate { .. } => StorageError::Duplicate {
                constraint: "services_code".into(),
            },
            other => other,
        })
        .and_then(|done| {
            if done.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StorageError::Constraint { constraint: "services_department".into() })
            }
        })?;
        self.service(tenant, id).await
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> StorageResult<Service> {
        let row = sqlx::query("SELECT * FROM services WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        service_from_row(&row)
    }

    async fn list_services(&self, tenant: TenantId) -> StorageResult<Vec<Service>> {
        let rows = sqlx::query("SELECT * FROM services WHERE tenant_id = ? ORDER BY code")
            .bind(uuid_text(tenant.0))
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
        let mut tx = self.begin_immediate().await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM services WHERE tenant_id = ? AND id = ?")
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(service.0))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if owned.is_none() {
            return Err(StorageError::NotFound);
        }
        let mut added = 0;
        for slot in slots {
            let done = sqlx::query(
                "INSERT INTO slots (id, tenant_id, service_id, office_id, starts_at, ends_at, capacity)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                 WHERE EXISTS (SELECT 1 FROM offices WHERE tenant_id = ?2 AND id = ?4)
                 ON CONFLICT (service_id, office_id, starts_at) DO NOTHING",
            )
            .bind(uuid_text(SlotId::new().0))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(service.0))
            .bind(uuid_text(slot.office_id.0))
            .bind(to_unix_micros(slot.starts_at))
            .bind(to_unix_micros(slot.ends_at))
            .bind(slot.capacity)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            added += done.rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(added)
    }

    async fn slot(&self, tenant: TenantId, id: SlotId) -> StorageResult<Slot> {
        let row = sqlx::query("SELECT * FROM slots WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
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
        let rows = sqlx::query(
            "SELECT * FROM slots WHERE tenant_id = ? AND service_id = ? AND starts_at >= ? AND starts_at < ?
             ORDER BY starts_at, office_id",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(service.0))
        .bind(to_unix_micros(from))
        .bind(to_unix_micros(until))
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
        // Days are Tokyo days: shift the instant by +9 h (Japan has no daylight saving) before
        // taking the date. Counters on the slots make this a scan of one month of slots, however
        // many reservations there are.
        let rows = sqlx::query(
            "SELECT date((starts_at / 1000000) + 32400, 'unixepoch') AS day,
                    count(*) AS slots, sum(capacity) AS capacity, sum(taken) AS taken
             FROM slots WHERE tenant_id = ? AND service_id = ? AND starts_at >= ? AND starts_at < ?
             GROUP BY day ORDER BY day",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(service.0))
        .bind(to_unix_micros(from))
        .bind(to_unix_micros(until))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        rows.iter()
            .map(|row| {
                let day: String = get_string(row, "day")?;
                Ok(DayAvailability {
                    date: time::Date::parse(&day, format)
                        .map_err(|_| corrupt("availability day"))?,
                    slots: row.try_get("slots").map_err(map_err)?,
                    capacity: row.try_get("capacity").map_err(map_err)?,
                    taken: row.try_get("taken").map_err(map_err)?,
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
        let tenant_text = uuid_text(tenant.0);
        // Fast path without the write lock: a slot that is already full is refused (or its
        // booking replayed), without queueing for BEGIN IMMEDIATE. The transaction below still
        // decides every booking that is attempted.
        let full: Option<bool> = sqlx::query_scalar(
            "SELECT taken >= capacity FROM slots WHERE tenant_id = ? AND id = ?",
        )
        .bind(&tenant_text)
        .bind(uuid_text(new.slot_id.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match full {
            None => return Err(StorageError::NotFound),
            Some(true) => {
                // Full is visible only once the last seat's reservation is, so a twin request
                // of the booking that filled it finds that booking here.
                if let Some(key) = &new.idempotency_key {
                    let existing = sqlx::query(
                        "SELECT * FROM reservations WHERE tenant_id = ? AND idempotency_key = ?",
                    )
                    .bind(&tenant_text)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                    if let Some(row) = existing {
                        return replayed(&row, new);
                    }
                }
                return Err(StorageError::Refused(Refusal::SlotFull));
            }
            Some(false) => {}
        }
        let mut tx = self.begin_immediate().await?;
        if let Some(key) = &new.idempotency_key {
            let existing = sqlx::query(
                "SELECT * FROM reservations WHERE tenant_id = ? AND idempotency_key = ?",
            )
            .bind(&tenant_text)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if let Some(row) = existing {
                return replayed(&row, new);
            }
        }
        let slot = sqlx::query("SELECT * FROM slots WHERE tenant_id = ? AND id = ?")
            .bind(&tenant_text)
            .bind(uuid_text(new.slot_id.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)
            .and_then(|row| slot_from_row(&row))?;
        if let (Some(limit), Some(account)) = (new.limit, new.account_id) {
            let held: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM reservations r JOIN slots s ON s.id = r.slot_id
                 WHERE r.tenant_id = ? AND r.account_id = ? AND r.service_id = ?
                   AND r.status IN ('held', 'confirmed', 'attended', 'no_show')
                   AND s.starts_at >= ? AND s.starts_at < ?",
            )
            .bind(&tenant_text)
            .bind(uuid_text(account.0))
            .bind(uuid_text(slot.service_id.0))
            .bind(to_unix_micros(limit.from))
            .bind(to_unix_micros(limit.until))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            if held >= limit.max {
                return Err(StorageError::Refused(Refusal::PersonalLimit));
            }
        }
        let taken =
            sqlx::query("UPDATE slots SET taken = taken + 1 WHERE id = ? AND taken < capacity")
                .bind(uuid_text(slot.id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if taken.rows_affected() == 0 {
            return Err(StorageError::Refused(Refusal::SlotFull));
        }
        let id = ReservationId::new();
        let reference = unused_reference(&mut tx, &tenant_text, new.reference).await?;
        let status = if new.hold_until.is_some() {
            ReservationStatus::Held
        } else {
            ReservationStatus::Confirmed
        };
        let details =
            serde_json::to_string(&new.details).map_err(|e| StorageError::Other(e.to_string()))?;
        // The account must be this tenant's: checked in the statement that writes the row.
        let inserted = sqlx::query(
            "INSERT INTO reservations (id, tenant_id, slot_id, service_id, account_id, status, idempotency_key,
                                       hold_expires_at, details, created_at, booked_by, request_fingerprint,
                                       reference)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
             WHERE (?5 IS NULL OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?2 AND id = ?5))
               AND (?11 IS NULL OR EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?2 AND id = ?11))",
        )
        .bind(uuid_text(id.0))
        .bind(&tenant_text)
        .bind(uuid_text(slot.id.0))
        .bind(uuid_text(slot.service_id.0))
        .bind(new.account_id.map(|a| uuid_text(a.0)))
        .bind(status.as_str())
        .bind(&new.idempotency_key)
        .bind(new.hold_until.map(to_unix_micros))
        .bind(details)
        .bind(to_unix_micros(now))
        .bind(new.booked_by.map(|a| uuid_text(a.0)))
        .bind(&new.fingerprint)
        .bind(reference.compact())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 0 {
            return Err(StorageError::Constraint {
                constraint: "reservations_account".into(),
            });
        }
        if let Some(join) = new.remote_join {
            insert_remote_appointment(&mut tx, tenant, id, join, now).await?;
        }
        let events = outbox_events(tenant, id, &new.notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        if let Some(entry) = audit {
            let entry = NewAuditEntry {
                target: Some(id.to_string()),
                ..entry.clone()
            };
            crate::audit::insert_audit(&mut *tx, tenant, &entry).await?;
        }
        let reservation = reservation_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(ReserveOutcome::Created(reservation))
    }

    async fn confirm_hold_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation> {
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query(
            "UPDATE reservations SET status = 'confirmed', hold_expires_at = NULL
             WHERE tenant_id = ? AND id = ? AND status = 'held' AND hold_expires_at > ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .bind(to_unix_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            // Tell a missing reservation apart from one that is no longer a live hold.
            reservation_in(&mut tx, tenant, id).await?;
            return Err(StorageError::Refused(Refusal::StaleHold));
        }
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        let reservation = reservation_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(reservation)
    }

    async fn cancel_reservation_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        reason: Option<&str>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation> {
        let mut tx = self.begin_immediate().await?;
        reservation_in(&mut tx, tenant, id).await?;
        release(
            &mut tx,
            tenant,
            id,
            ReservationStatus::Cancelled,
            reason,
            now,
        )
        .await?;
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        let reservation = reservation_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(reservation)
    }

    async fn expire_holds(&self, now: OffsetDateTime) -> StorageResult<u64> {
        let mut tx = self.begin_immediate().await?;
        let expired = sqlx::query(
            "SELECT tenant_id, id FROM reservations WHERE status = 'held' AND hold_expires_at <= ?",
        )
        .bind(to_unix_micros(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for row in &expired {
            let tenant = TenantId(get_uuid(row, "tenant_id")?);
            let id = ReservationId(get_uuid(row, "id")?);
            release(&mut tx, tenant, id, ReservationStatus::Expired, None, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(expired.len() as u64)
    }

    async fn reservation(&self, tenant: TenantId, id: ReservationId) -> StorageResult<Reservation> {
        let row = sqlx::query("SELECT * FROM reservations WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
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
        let row = sqlx::query("SELECT * FROM reservations WHERE tenant_id = ? AND reference = ?")
            .bind(uuid_text(tenant.0))
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
             WHERE r.tenant_id = ? AND r.account_id = ? ORDER BY s.starts_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
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
        let mut tx = self.begin_immediate().await?;
        let current = reservation_in(&mut tx, tenant, id).await?;
        if !current.status.holds_a_seat() {
            return Err(StorageError::Refused(Refusal::NotActive));
        }
        if current.slot_id == to {
            return Ok(current);
        }
        let target: Option<String> =
            sqlx::query_scalar("SELECT service_id FROM slots WHERE tenant_id = ? AND id = ?")
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(to.0))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        match target {
            None => return Err(StorageError::NotFound),
            Some(service) if service != uuid_text(current.service_id.0) => {
                return Err(StorageError::Refused(Refusal::OtherService));
            }
            Some(_) => {}
        }
        let taken =
            sqlx::query("UPDATE slots SET taken = taken + 1 WHERE id = ? AND taken < capacity")
                .bind(uuid_text(to.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if taken.rows_affected() == 0 {
            return Err(StorageError::Refused(Refusal::SlotFull));
        }
        sqlx::query("UPDATE slots SET taken = taken - 1 WHERE id = ?")
            .bind(uuid_text(current.slot_id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("UPDATE reservations SET slot_id = ? WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(to.0))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now_utc()).await?;
        let moved = reservation_in(&mut tx, tenant, id).await?;
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
        let mut tx = self.begin_immediate().await?;
        reservation_in(&mut tx, tenant, id).await?;
        let done = sqlx::query(
            "UPDATE reservations SET status = ?, attendance_at = ?
             WHERE tenant_id = ? AND id = ? AND status IN ('confirmed', 'attended', 'no_show')",
        )
        .bind(attendance.status().as_str())
        .bind(to_unix_micros(now))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::Refused(Refusal::NotActive));
        }
        let events = outbox_events(tenant, id, notices);
        crate::jobs::write_outbox(&mut tx, tenant, &events, now).await?;
        let marked = reservation_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(marked)
    }

    async fn no_shows_since(
        &self,
        tenant: TenantId,
        account: AccountId,
        since: OffsetDateTime,
    ) -> StorageResult<i64> {
        sqlx::query_scalar(
            "SELECT count(*) FROM reservations r JOIN slots s ON s.id = r.slot_id
             WHERE r.tenant_id = ? AND r.account_id = ? AND r.status = 'no_show' AND s.starts_at >= ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
        .bind(to_unix_micros(since))
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
             WHERE r.tenant_id = ?1 AND s.starts_at >= ?2 AND s.starts_at < ?3
               AND (?4 IS NULL OR s.office_id = ?4)
               AND (?5 IS NULL OR v.department_id = ?5)
               AND r.status NOT IN ('expired')
             ORDER BY s.starts_at, v.code, r.created_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(to_unix_micros(filter.from))
        .bind(to_unix_micros(filter.until))
        .bind(filter.office.map(|o| uuid_text(o.0)))
        .bind(filter.department.map(|d| uuid_text(d.0)))
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
                        office_id: OfficeId(get_uuid(row, "s_office_id")?),
                        starts_at: get_instant(row, "s_starts_at")?,
                        ends_at: get_instant(row, "s_ends_at")?,
                        capacity: row.try_get("s_capacity").map_err(map_err)?,
                        taken: row.try_get("s_taken").map_err(map_err)?,
                    },
                    service_code: get_string(row, "v_code")?,
                    service_name_ja: get_string(row, "v_name_ja")?,
                    service_name_en: get_string(row, "v_name_en")?,
                    account_name: row.try_get("a_name").map_err(map_err)?,
                    account_email: row.try_get("a_email").map_err(map_err)?,
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
            "SELECT * FROM remote_appointments WHERE tenant_id = ? AND reservation_id = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(reservation.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            let join = match get_string(&row, "join_from")?.as_str() {
                "home" => RemoteJoin::Home,
                "kiosk" => RemoteJoin::Kiosk {
                    office_id: OfficeId(
                        get_opt_uuid(&row, "kiosk_office_id")?
                            .ok_or_else(|| corrupt("kiosk office"))?,
                    ),
                },
                _ => return Err(corrupt("join location")),
            };
            Ok(RemoteAppointment {
                id: get_uuid(&row, "id")?,
                tenant_id: tenant,
                reservation_id: reservation,
                join,
                created_at: get_instant(&row, "created_at")?,
            })
        })
        .transpose()
    }
}
