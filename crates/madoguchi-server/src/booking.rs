//! The booking flows as the pages and the API call them: each takes the request's state and
//! context and hands over to the use case in `madoguchi_usecases::reservations`, where the rules
//! live. These wrappers go away as the routes call the use cases directly.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_booking::{Applicant, BookingPolicy, ServiceRules};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, IdempotencyKey, SlotId, TenantId};
use madoguchi_storage::{
    Attendance, RemoteJoin, Reservation, ReserveOutcome, Service, ServiceKind, Slot, Suspension,
};
use madoguchi_usecases::Actor as Who;
use madoguchi_usecases::reservations as uc;
use time::OffsetDateTime;

pub use uc::{
    AttendanceOutcome, Bookable, BookingRequest, By as Actor, REASON_MAX_CHARS, limit_for,
    request_fingerprint,
};

/// The rules stored with a service; a service whose rules no longer parse is not bookable.
pub fn rules_of(service: &Service) -> AppResult<ServiceRules> {
    Ok(uc::rules_of(service)?)
}

/// The city's booking policy, defaults when it never set one.
pub async fn policy_of(state: &AppState, tenant: TenantId) -> AppResult<BookingPolicy> {
    Ok(uc::policy_of(&*state.storage, tenant).await?)
}

/// Validates an `Idempotency-Key` ([`IdempotencyKey`]).
pub fn parse_idempotency_key(raw: &str) -> AppResult<String> {
    IdempotencyKey::parse(raw)
        .map(String::from)
        .map_err(AppError::new)
}

pub async fn bookable(state: &AppState, ctx: &Ctx, slot_id: SlotId) -> AppResult<Bookable> {
    let scope = state.scope(ctx.tenant.id, Who::Anonymous);
    Ok(uc::bookable(&state.reservations(), &scope, slot_id).await?)
}

pub fn admit(
    target: &Bookable,
    applicant: &Applicant,
    answers: &serde_json::Value,
    now: OffsetDateTime,
) -> AppResult<()> {
    Ok(uc::admit(target, applicant, answers, now)?)
}

pub async fn ensure_not_suspended(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    now: OffsetDateTime,
) -> AppResult<()> {
    let scope = state.scope(ctx.tenant.id, Who::Resident(account));
    Ok(uc::ensure_not_suspended(&state.reservations(), &scope, account, now).await?)
}

pub fn remote_join_for(
    kind: ServiceKind,
    join: Option<RemoteJoin>,
) -> AppResult<Option<RemoteJoin>> {
    Ok(uc::remote_join_for(kind, join)?)
}

pub async fn book(
    state: &AppState,
    ctx: &Ctx,
    request: BookingRequest,
) -> AppResult<(ReserveOutcome, Slot)> {
    let actor = match (request.booked_by, request.account_id) {
        (Some(staff), _) => Who::Staff(staff),
        (None, Some(resident)) => Who::Resident(resident),
        (None, None) => Who::Anonymous,
    };
    let scope = state.scope(ctx.tenant.id, actor);
    Ok(uc::book(&state.reservations(), &scope, request).await?)
}

pub async fn staff_may_handle(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    reservation: &Reservation,
) -> AppResult<bool> {
    let scope = state.scope(ctx.tenant.id, Who::Anonymous);
    Ok(uc::staff_may_handle(&state.reservations(), &scope, access, reservation).await?)
}

pub async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    by: Actor<'_>,
) -> AppResult<Reservation> {
    let scope = state.scope(ctx.tenant.id, Who::Anonymous);
    Ok(uc::cancel(&state.reservations(), &scope, reservation, by).await?)
}

pub async fn change(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    to: SlotId,
    by: Actor<'_>,
) -> AppResult<Reservation> {
    let scope = state.scope(ctx.tenant.id, Who::Anonymous);
    Ok(uc::change(&state.reservations(), &scope, reservation, to, by).await?)
}

pub async fn confirm_hold(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
) -> AppResult<Reservation> {
    let actor = reservation.account_id.map_or(Who::Anonymous, Who::Resident);
    let scope = state.scope(ctx.tenant.id, actor);
    Ok(uc::confirm_hold(&state.reservations(), &scope, reservation).await?)
}

pub async fn mark_attendance(
    state: &AppState,
    ctx: &Ctx,
    staff: AccountId,
    reservation: &Reservation,
    attendance: Attendance,
) -> AppResult<AttendanceOutcome> {
    let scope = state.scope(ctx.tenant.id, Who::Staff(staff));
    Ok(uc::mark_attendance(
        &state.reservations(),
        &scope,
        staff,
        reservation,
        attendance,
    )
    .await?)
}

pub async fn lift_suspension(
    state: &AppState,
    ctx: &Ctx,
    staff: AccountId,
    access: &StaffAccess,
    id: uuid::Uuid,
    reason: &str,
) -> AppResult<Suspension> {
    let scope = state.scope(ctx.tenant.id, Who::Staff(staff));
    Ok(uc::lift_suspension(&state.reservations(), &scope, staff, access, id, reason).await?)
}
