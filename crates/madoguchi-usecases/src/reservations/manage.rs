//! Changing what was booked: cancelling, moving to another time, confirming a hold. Residents
//! act within the service's deadlines; staff act at any time but must give a reason and may only
//! touch reservations of the offices and departments they handle. Each change writes its notice
//! in its own transaction and hands a freed seat to the waiting list.

use super::admission::{bookable, ensure_not_suspended, ensure_open};
use super::notices::notices;
use super::{Deps, ReservationStores, fees, waitlist};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_booking::WindowError;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, ErrorCode, ReservationRef, SlotId};
use madoguchi_storage::{
    Reservation, ReservationNotice, ReservationNoticeEvent, ReservationStatus,
};

/// Whether a staff member handles `reservation` (its slot's office, its service's department).
pub async fn staff_may_handle<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    access: &StaffAccess,
    reservation: &Reservation,
) -> UseCaseResult<bool> {
    if access.is_admin() {
        return Ok(true);
    }
    let slot = r.store.slot(scope.tenant, reservation.slot_id).await?;
    let service = r
        .store
        .service(scope.tenant, reservation.service_id)
        .await?;
    Ok(access.may_handle_reservations(slot.office_id, service.department_id))
}

/// The reservation a staff member looks up by its number (予約番号), as a caller reads it out
/// (any case, with or without the hyphen, full-width). `None` when the text is no number, or no
/// reservation the staff member handles has it: another office's reservation is not disclosed.
pub async fn find_by_reference<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    access: &StaffAccess,
    raw: &str,
) -> UseCaseResult<Option<Reservation>> {
    let Some(reference) = ReservationRef::parse(raw) else {
        return Ok(None);
    };
    let reservation = match r
        .store
        .reservation_by_reference(scope.tenant, reference)
        .await
    {
        Ok(reservation) => reservation,
        Err(madoguchi_storage::StorageError::NotFound) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    if staff_may_handle(r, scope, access, &reservation).await? {
        Ok(Some(reservation))
    } else {
        Ok(None)
    }
}

pub use madoguchi_booking::REASON_MAX_CHARS;

/// Who acts on a reservation, and why (staff must say).
pub struct By<'a> {
    pub account: AccountId,
    pub by_staff: bool,
    /// What a staff actor may handle; `None` for residents (and refused for staff).
    pub access: Option<&'a StaffAccess>,
    pub reason: Option<&'a str>,
}

impl By<'_> {
    /// The trimmed reason, at most [`REASON_MAX_CHARS`] characters; staff must give one.
    fn reason(&self) -> UseCaseResult<Option<&str>> {
        madoguchi_booking::admission::reason_given(self.reason, self.by_staff)
            .map_err(|code| UseCaseError::field("reason", code))
    }

    /// How the audit log records who acted.
    pub fn actor(&self) -> Actor {
        if self.by_staff {
            Actor::Staff(self.account)
        } else {
            Actor::Resident(self.account)
        }
    }
}

/// Cancels a reservation: residents only before the service's deadline, staff at any time with
/// a reason. Gives the seat back, records the cancellation, tells the resident, and offers the
/// seat to the waiting list.
pub async fn cancel<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
    by: By<'_>,
) -> UseCaseResult<Reservation> {
    let now = scope.now();
    let reason = by.reason()?;
    if !by.by_staff {
        let slot = r.store.slot(scope.tenant, reservation.slot_id).await?;
        let service = r
            .store
            .service(scope.tenant, reservation.service_id)
            .await?;
        if !service
            .rules
            .cancellation
            .resident_may_cancel(now, slot.starts_at)
        {
            return Err(UseCaseError::new(ErrorCode::CancellationDeadlinePassed));
        }
    }
    let event = ReservationNoticeEvent::Cancelled {
        by_staff: by.by_staff,
    };
    let notices = told(reservation, vec![ReservationNotice::once(event, now)]);
    let cancelled = r
        .store
        .cancel_reservation_with_notices(scope.tenant, reservation.id, reason, now, &notices)
        .await?;
    r.jobs.wake();
    let details = serde_json::json!({"by_staff": by.by_staff});
    audit::record(
        r.store,
        &scope.acting_as(by.actor()),
        "reservation.cancelled",
        Some(cancelled.id.to_string()),
        details,
    )
    .await?;
    // An unpaid fee is cancelled with the seat; what was paid stays paid until staff refund
    // it. Done again by the sweep should this fail or a payment still be under way.
    if let Err(error) = fees::release_fee(r, scope, &cancelled).await {
        tracing::warn!(reservation = %cancelled.id, code = %error.code, "fee not released yet");
    }
    waitlist::promote(r, scope, cancelled.slot_id).await?;
    Ok(cancelled)
}

/// Moves a reservation to another slot of its service: residents before the cancellation
/// deadline of the current slot and within the booking window of the new one; staff at any
/// time with a reason. The freed seat goes to the waiting list.
pub async fn change<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
    to: SlotId,
    by: By<'_>,
) -> UseCaseResult<Reservation> {
    let now = scope.now();
    by.reason()?;
    if !reservation.status.holds_a_seat() {
        return Err(UseCaseError::new(ErrorCode::ReservationNotActive));
    }
    let target = bookable(r, scope, to).await?;
    if target.service.id != reservation.service_id {
        return Err(UseCaseError::new(ErrorCode::ChangeToOtherService));
    }
    if by.by_staff {
        // Both ends of the move: staff may neither take a reservation out of an office they do
        // not handle nor put a resident's name on another office's day sheet. Checked here so
        // the API and the pages cannot differ.
        let access = by.access.ok_or(UseCaseError::new(ErrorCode::Forbidden))?;
        let handles_target =
            access.may_handle_reservations(target.slot.office_id, target.service.department_id);
        if !handles_target || !staff_may_handle(r, scope, access, reservation).await? {
            return Err(UseCaseError::new(ErrorCode::Forbidden));
        }
    }
    ensure_open(r, scope, &target.slot).await?;
    if !by.by_staff {
        // A change is a new online booking of the new time: a suspension refuses it as it
        // refuses booking. Staff changing on the resident's behalf are not affected.
        ensure_not_suspended(r, scope, by.account, now).await?;
        let current = r.store.slot(scope.tenant, reservation.slot_id).await?;
        if !target
            .service
            .rules
            .cancellation
            .resident_may_cancel(now, current.starts_at)
        {
            return Err(UseCaseError::new(ErrorCode::ChangeDeadlinePassed));
        }
        target
            .service
            .rules
            .window
            .check(now, target.slot.starts_at)
            .map_err(|e| {
                UseCaseError::new(match e {
                    WindowError::NotYetOpen { .. } => ErrorCode::BookingNotOpen,
                    WindowError::Closed { .. } => ErrorCode::BookingClosed,
                })
            })?;
    }
    let from = reservation.slot_id;
    let notices = told(
        reservation,
        notices(
            ReservationNoticeEvent::Changed,
            reservation.status,
            &target.slot,
            now,
        ),
    );
    let moved = r
        .store
        .move_reservation_with_notices(scope.tenant, reservation.id, to, &notices)
        .await?;
    if moved.slot_id != from {
        r.jobs.wake();
        let details = serde_json::json!({"by_staff": by.by_staff, "from_slot": from.to_string()});
        audit::record(
            r.store,
            &scope.acting_as(by.actor()),
            "reservation.changed",
            Some(moved.id.to_string()),
            details,
        )
        .await?;
        waitlist::promote(r, scope, from).await?;
    }
    Ok(moved)
}

/// Confirms a hold before it expires, and tells the resident (in the same transaction). A
/// hold kept for a fee paid online is confirmed by its payment, never by asking
/// (`payment_required` until it is paid).
pub async fn confirm_hold<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
) -> UseCaseResult<Reservation> {
    fees::ensure_paid(r, scope, reservation).await?;
    confirm_hold_paid(r, scope, reservation).await
}

/// [`confirm_hold`] once whatever fee it had is settled.
pub(crate) async fn confirm_hold_paid<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
) -> UseCaseResult<Reservation> {
    let now = scope.now();
    let slot = r.store.slot(scope.tenant, reservation.slot_id).await?;
    let notices = told(
        reservation,
        notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &slot,
            now,
        ),
    );
    let confirmed = r
        .store
        .confirm_hold_with_notices(scope.tenant, reservation.id, now, &notices)
        .await?;
    r.jobs.wake();
    let details = serde_json::json!({"slot": confirmed.slot_id.to_string()});
    let target = Some(confirmed.id.to_string());
    audit::record(
        r.store,
        scope,
        "reservation.hold_confirmed",
        target,
        details,
    )
    .await?;
    Ok(confirmed)
}

/// The notices to write about `reservation`: none for a proxy booking of a caller without an
/// account, who has no channel to be told on.
fn told(reservation: &Reservation, notices: Vec<ReservationNotice>) -> Vec<ReservationNotice> {
    if reservation.account_id.is_some() {
        notices
    } else {
        Vec::new()
    }
}
