//! Records and the storage capability for services, slots and reservations.
//!
//! Architecture invariant: capacity and personal limits are enforced inside `reserve`, in one
//! transaction, by the database (a conditional update of the slot's `taken` counter and a
//! `CHECK (taken <= capacity)`); no caller checks capacity first.

use crate::{NewAuditEntry, ReservationNotice, StorageResult};
use async_trait::async_trait;
use madoguchi_booking::ServiceRules;
pub use madoguchi_booking::{Attendance, RemoteJoin, ReservationStatus, ServiceKind};
use madoguchi_domain::{
    AccountId, DepartmentId, OfficeId, OrgCode, ReservationId, ReservationRef, ServiceId, SlotId,
    TenantId,
};
use serde::Serialize;
use time::{Date, OffsetDateTime};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    pub id: ServiceId,
    pub tenant_id: TenantId,
    pub code: OrgCode,
    pub kind: ServiceKind,
    pub name_ja: String,
    pub name_en: String,
    pub department_id: Option<DepartmentId>,
    /// Window, cancellation, limit, eligibility and questions; stored as JSON, decoded by the
    /// backend on every read, so callers never parse them.
    pub rules: ServiceRules,
    pub active: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewService {
    pub code: OrgCode,
    pub kind: ServiceKind,
    pub name_ja: String,
    pub name_en: String,
    pub department_id: Option<DepartmentId>,
    /// Already validated by the caller (`ServiceRules::validate`).
    pub rules: ServiceRules,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub id: SlotId,
    pub tenant_id: TenantId,
    pub service_id: ServiceId,
    pub office_id: OfficeId,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
    /// Seats in use: held and confirmed reservations, and those whose attendance was marked.
    pub taken: i64,
}

#[derive(Clone, Copy, Debug)]
pub struct NewSlot {
    pub office_id: OfficeId,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
}

/// One Tokyo calendar day of a service: how many slots, seats and seats taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DayAvailability {
    pub date: Date,
    pub slots: i64,
    pub capacity: i64,
    pub taken: i64,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct Reservation {
    pub id: ReservationId,
    /// The number residents and callers see and read aloud (予約番号), unique in the city and
    /// drawn when the reservation is booked. The id stays internal (URLs only).
    pub reference: ReservationRef,
    pub tenant_id: TenantId,
    pub slot_id: SlotId,
    pub service_id: ServiceId,
    /// `None` for a proxy booking of a caller without an account.
    pub account_id: Option<AccountId>,
    pub status: ReservationStatus,
    pub idempotency_key: Option<String>,
    pub hold_expires_at: Option<OffsetDateTime>,
    /// Answers to the service's questions, proxy caller details, where a remote consultation is
    /// joined from. Personal data: `Debug` leaves it out.
    pub details: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub cancelled_at: Option<OffsetDateTime>,
    pub cancel_reason: Option<String>,
    /// The staff member who booked on the caller's behalf; `None` when the resident booked.
    pub booked_by: Option<AccountId>,
    /// When staff marked the reservation attended or no-show.
    pub attendance_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("slot_id", &self.slot_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A per-resident limit checked inside the booking transaction: at most `max` seat-holding
/// reservations of the service by the account with slots starting in `[from, until)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitCheck {
    pub max: i64,
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewReservation {
    pub slot_id: SlotId,
    pub account_id: Option<AccountId>,
    /// A retried request with the same key returns the first reservation instead of booking twice.
    pub idempotency_key: Option<String>,
    /// `Some`: a hold until then; `None`: confirmed at once.
    pub hold_until: Option<OffsetDateTime>,
    pub details: serde_json::Value,
    pub limit: Option<LimitCheck>,
    /// The staff member booking on the caller's behalf.
    pub booked_by: Option<AccountId>,
    /// For a remote consultation: where the resident joins; the appointment is created in the
    /// same transaction as the reservation.
    pub remote_join: Option<RemoteJoin>,
    /// The SHA-256 (hex) of what the request asked for, stored with the reservation. A request
    /// with the same idempotency key and another fingerprint is refused
    /// (`Refusal::IdempotencyKeyReused`) instead of replayed.
    pub fingerprint: Option<String>,
    /// Written in the booking's transaction when a reservation is created; a replay writes none.
    pub notices: Vec<ReservationNotice>,
    /// The reservation number to try first; `None` (always, outside tests) draws one at
    /// random. Either way a number the city already has is replaced by a fresh draw.
    pub reference: Option<ReservationRef>,
}

/// The appointment a remote consultation's reservation creates; the remote counter opens the
/// call for it. Its state follows the reservation's (cancelled with it, moved with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RemoteAppointment {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub reservation_id: ReservationId,
    pub join: RemoteJoin,
    pub created_at: OffsetDateTime,
}

/// Which reservations a day sheet lists.
#[derive(Clone, Copy, Debug)]
pub struct DaySheetFilter {
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
    pub office: Option<OfficeId>,
    pub department: Option<DepartmentId>,
}

/// One line of the staff day sheet (予約一覧): the reservation with its slot, service and the
/// resident's account name. Personal data: `Debug` leaves it out.
#[derive(Clone, Serialize)]
pub struct DaySheetRow {
    pub reservation: Reservation,
    pub slot: Slot,
    pub service_code: String,
    pub service_name_ja: String,
    pub service_name_en: String,
    pub account_name: Option<String>,
    pub account_email: Option<String>,
}

impl std::fmt::Debug for DaySheetRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaySheetRow")
            .field("reservation", &self.reservation)
            .field("slot", &self.slot.id)
            .finish_non_exhaustive()
    }
}

/// What `reserve` did.
#[derive(Clone, Debug, PartialEq)]
pub enum ReserveOutcome {
    Created(Reservation),
    /// The idempotency key was used before: this is that reservation, nothing new was booked.
    Replayed(Reservation),
}

impl ReserveOutcome {
    pub fn reservation(&self) -> &Reservation {
        match self {
            ReserveOutcome::Created(r) | ReserveOutcome::Replayed(r) => r,
        }
    }
}

/// Why the database refused a booking change; each maps to its own error code upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the slot is full")]
    SlotFull,
    #[error("the personal limit for this service is reached")]
    PersonalLimit,
    #[error("the hold has expired or is not a hold")]
    StaleHold,
    #[error("the reservation no longer holds a seat")]
    NotActive,
    #[error("the slot still has seats: book instead of waiting")]
    SeatsLeft,
    #[error("the resident already holds a seat in this slot")]
    AlreadyBooked,
    #[error("a reservation can only move to another slot of its service")]
    OtherService,
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
}

#[async_trait]
pub trait BookingStore: Send + Sync {
    async fn create_service(&self, tenant: TenantId, new: &NewService) -> StorageResult<Service>;
    async fn service(&self, tenant: TenantId, id: ServiceId) -> StorageResult<Service>;
    /// The tenant's services by code. A service whose stored rules no longer decode is left
    /// out (and its id logged); reading it alone answers `StorageError::UnreadableRules`.
    async fn list_services(&self, tenant: TenantId) -> StorageResult<Vec<Service>>;

    /// Adds slots; a slot at the same service, office and start is left as it is. Returns how
    /// many were added.
    async fn add_slots(
        &self,
        tenant: TenantId,
        service: ServiceId,
        slots: &[NewSlot],
    ) -> StorageResult<u64>;
    async fn slot(&self, tenant: TenantId, id: SlotId) -> StorageResult<Slot>;
    /// Slots of a service starting in `[from, until)`, in start order.
    async fn slots(
        &self,
        tenant: TenantId,
        service: ServiceId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StorageResult<Vec<Slot>>;
    /// Per Tokyo day, for a month view: slots, seats and seats taken, in date order.
    async fn availability_by_day(
        &self,
        tenant: TenantId,
        service: ServiceId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StorageResult<Vec<DayAvailability>>;

    /// Books a seat, atomically: the idempotency key, the personal limit and the capacity are
    /// all decided in one transaction, and a created reservation's `notices` are written in it.
    /// The reservation's number is drawn in that transaction too, again until it is unused in
    /// the city.
    /// Refusals come back as `StorageError::Refused`.
    async fn reserve(
        &self,
        tenant: TenantId,
        new: &NewReservation,
        now: OffsetDateTime,
    ) -> StorageResult<ReserveOutcome> {
        self.reserve_audited(tenant, new, now, None).await
    }
    /// [`reserve`](Self::reserve), and when a reservation is created, `audit` appended in the
    /// same transaction with the new reservation as its target: the booking and its audit
    /// entry stand or fall together. A replay or a refusal writes no entry.
    async fn reserve_audited(
        &self,
        tenant: TenantId,
        new: &NewReservation,
        now: OffsetDateTime,
        audit: Option<&NewAuditEntry>,
    ) -> StorageResult<ReserveOutcome>;
    /// Turns a hold that has not expired into a confirmed reservation.
    async fn confirm_hold(
        &self,
        tenant: TenantId,
        id: ReservationId,
        now: OffsetDateTime,
    ) -> StorageResult<Reservation> {
        self.confirm_hold_with_notices(tenant, id, now, &[]).await
    }
    /// [`BookingStore::confirm_hold`], writing `notices` in the same transaction.
    async fn confirm_hold_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation>;
    /// Cancels a seat-holding reservation and gives the seat back, atomically.
    async fn cancel_reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> StorageResult<Reservation> {
        self.cancel_reservation_with_notices(tenant, id, reason, now, &[])
            .await
    }
    /// [`BookingStore::cancel_reservation`], writing `notices` in the same transaction.
    async fn cancel_reservation_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        reason: Option<&str>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation>;
    /// Expires every hold whose time ran out (all tenants) and gives the seats back.
    async fn expire_holds(&self, now: OffsetDateTime) -> StorageResult<u64>;
    async fn reservation(&self, tenant: TenantId, id: ReservationId) -> StorageResult<Reservation>;
    /// The city's reservation with this number (予約番号), whatever its status; `NotFound`
    /// when there is none.
    async fn reservation_by_reference(
        &self,
        tenant: TenantId,
        reference: ReservationRef,
    ) -> StorageResult<Reservation>;
    async fn reservations_of_account(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Vec<Reservation>>;

    /// Moves a seat-holding reservation to another slot of the same service, atomically: a
    /// seat is taken in the new slot (refused when full) and given back in the old one.
    async fn move_reservation(
        &self,
        tenant: TenantId,
        id: ReservationId,
        to: SlotId,
    ) -> StorageResult<Reservation> {
        self.move_reservation_with_notices(tenant, id, to, &[])
            .await
    }
    /// [`BookingStore::move_reservation`], writing `notices` in the same transaction when the
    /// reservation moved (none when it already was in `to`).
    async fn move_reservation_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        to: SlotId,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation>;
    /// Records attendance of a confirmed reservation (or corrects an earlier mark). The seat
    /// stays counted.
    async fn mark_attendance(
        &self,
        tenant: TenantId,
        id: ReservationId,
        attendance: Attendance,
        now: OffsetDateTime,
    ) -> StorageResult<Reservation> {
        self.mark_attendance_with_notices(tenant, id, attendance, now, &[])
            .await
    }
    /// [`BookingStore::mark_attendance`], writing `notices` in the same transaction.
    async fn mark_attendance_with_notices(
        &self,
        tenant: TenantId,
        id: ReservationId,
        attendance: Attendance,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<Reservation>;
    /// How many no-shows the account has on slots starting at or after `since`.
    async fn no_shows_since(
        &self,
        tenant: TenantId,
        account: AccountId,
        since: OffsetDateTime,
    ) -> StorageResult<i64>;
    /// Reservations of slots in the filter's range, in start order, for the staff day sheet.
    async fn day_sheet(
        &self,
        tenant: TenantId,
        filter: &DaySheetFilter,
    ) -> StorageResult<Vec<DaySheetRow>>;
    async fn remote_appointment(
        &self,
        tenant: TenantId,
        reservation: ReservationId,
    ) -> StorageResult<Option<RemoteAppointment>>;
}

/// What both backends' `list_services` do with decoded rows: a service whose stored rules no
/// longer decode is left out, so the rest of the catalogue stays usable, and logged by id only
/// (rules hold no personal data, but the id is all an operator needs). Other errors stop.
pub fn skip_unreadable_rules(
    rows: impl Iterator<Item = crate::StorageResult<Service>>,
) -> crate::StorageResult<Vec<Service>> {
    let mut services = Vec::new();
    for row in rows {
        match row {
            Ok(service) => services.push(service),
            Err(crate::StorageError::UnreadableRules(id)) => {
                tracing::warn!(service_id = %id, "service left out: its stored rules no longer decode");
            }
            Err(other) => return Err(other),
        }
    }
    Ok(services)
}
