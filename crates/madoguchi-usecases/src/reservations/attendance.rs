//! Attendance at the counter and the no-show policy: staff mark a reservation attended or
//! no-show on or after its day; enough no-shows suspend the resident's online booking, and staff
//! of the office that imposed a suspension (or an administrator) may lift it early.

use super::admission::policy_of;
use super::manage::REASON_MAX_CHARS;
use super::{Deps, ReservationStores};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, ErrorCode};
use madoguchi_storage::{
    Attendance, AuditStore, BookingStore, NewSuspension, Reservation, Suspension, SuspensionStore,
};

/// What marking attendance did: the reservation, and a suspension the no-show policy imposed.
pub struct AttendanceOutcome {
    pub reservation: Reservation,
    pub suspension: Option<Suspension>,
}

/// Staff mark a confirmed reservation attended or no-show (or correct an earlier mark). A
/// no-show counts towards the city's policy and may suspend the resident's online booking.
pub async fn mark_attendance<S: BookingStore + SuspensionStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    staff: AccountId,
    reservation: &Reservation,
    attendance: Attendance,
) -> UseCaseResult<AttendanceOutcome> {
    let now = scope.now();
    let slot = store.slot(scope.tenant, reservation.slot_id).await?;
    // Attendance is recorded on the day, not ahead of it.
    if !madoguchi_booking::admission::attendance_may_be_marked(slot.starts_at, now) {
        return Err(UseCaseError::field(
            "attendance",
            ErrorCode::ValidationFailed,
        ));
    }
    let marked = store
        .mark_attendance(scope.tenant, reservation.id, attendance, now)
        .await?;
    let details = serde_json::json!({"attendance": attendance});
    audit::record(
        store,
        &scope.acting_as(Actor::Staff(staff)),
        "reservation.attendance",
        Some(marked.id.to_string()),
        details,
    )
    .await?;
    let mut suspension = None;
    if let (Attendance::NoShow, Some(account)) = (attendance, marked.account_id) {
        let policy = policy_of(store, scope.tenant).await?.no_show;
        let no_shows = store
            .no_shows_since(scope.tenant, account, policy.counted_since(now))
            .await?;
        if let Some(decision) = policy.decide(no_shows, now) {
            let new = NewSuspension {
                account_id: account,
                // The office whose no-show this was: its staff may lift the suspension.
                office_id: Some(slot.office_id),
                starts_at: decision.from,
                ends_at: decision.until,
                no_shows,
            };
            let imposed = store.suspend(scope.tenant, &new, now).await?;
            if imposed.created_at == now {
                let details = serde_json::json!({"no_shows": no_shows, "until": imposed.ends_at});
                audit::record(
                    store,
                    &scope.acting_as(Actor::System),
                    "booking.suspended",
                    Some(account.to_string()),
                    details,
                )
                .await?;
            }
            suspension = Some(imposed);
        }
    }
    Ok(AttendanceOutcome {
        reservation: marked,
        suspension,
    })
}

/// Staff lift a suspension early, with a reason: administrators, or staff of the office whose
/// no-show imposed it ([`StaffAccess::may_lift_suspension`]); another office's staff are
/// refused (403), though they may see it in the city-wide list.
pub async fn lift_suspension<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    staff: AccountId,
    access: &StaffAccess,
    id: uuid::Uuid,
    reason: &str,
) -> UseCaseResult<Suspension> {
    let suspension = r.store.suspension(scope.tenant, id).await?;
    if !access.may_lift_suspension(suspension.office_id) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let reason = madoguchi_domain::text::bounded_text(reason, REASON_MAX_CHARS)
        .ok()
        .flatten()
        .ok_or_else(|| UseCaseError::field("reason", ErrorCode::ValidationFailed))?;
    let lifted = r
        .store
        .lift_suspension(scope.tenant, id, staff, reason, scope.now())
        .await?;
    audit::record(
        r.store,
        &scope.acting_as(Actor::Staff(staff)),
        "booking.suspension_lifted",
        Some(lifted.account_id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(lifted)
}
