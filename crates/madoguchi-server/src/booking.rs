//! The booking flow shared by the API and (next) the pages: the service's rules decide whether
//! a resident may book now; the database decides whether a seat is left.

use crate::accounts;
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_booking::{Applicant, Ineligible, ServiceRules, WindowError};
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use madoguchi_domain::{AccountId, ErrorCode, SlotId};
use madoguchi_notify::ReservationEvent;
use madoguchi_storage::{
    ActorKind, LimitCheck, NewReservation, Reservation, ReserveOutcome, Service, Slot, now_utc,
};

/// The rules stored with a service; a service whose rules no longer parse is not bookable.
pub fn rules_of(service: &Service) -> AppResult<ServiceRules> {
    serde_json::from_value(service.rules.clone())
        .map_err(|_| AppError::new(ErrorCode::InvalidServiceRules))
}

/// A request to book one seat.
pub struct BookingRequest {
    pub slot_id: SlotId,
    pub account_id: AccountId,
    pub idempotency_key: Option<String>,
    /// Keep the seat as a hold (answers or payment still to come) instead of confirming.
    pub hold: bool,
    pub applicant: Applicant,
    pub answers: serde_json::Value,
}

/// Validates an `Idempotency-Key`: 1–100 visible ASCII characters.
pub fn parse_idempotency_key(raw: &str) -> AppResult<String> {
    let ok = (1..=100).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(AppError::new(ErrorCode::InvalidIdempotencyKey))
    }
}

/// Books a seat after checking the window, eligibility and required answers; the personal limit
/// and the capacity are decided by the database in the same transaction as the insert.
pub async fn book(
    state: &AppState,
    ctx: &Ctx,
    request: BookingRequest,
) -> AppResult<(ReserveOutcome, Slot)> {
    let slot = state.storage.slot(ctx.tenant.id, request.slot_id).await?;
    let service = state
        .storage
        .service(ctx.tenant.id, slot.service_id)
        .await?;
    if !service.active {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    let rules = rules_of(&service)?;
    let now = now_utc();
    // Checked for retries too: a retry that straddles the closing instant is told "closed", and
    // the booking its first attempt made is in the resident's list.
    rules.window.check(now, slot.starts_at).map_err(|e| {
        AppError::new(match e {
            WindowError::NotYetOpen { .. } => ErrorCode::BookingNotOpen,
            WindowError::Closed { .. } => ErrorCode::BookingClosed,
        })
    })?;
    let slot_date = slot.starts_at.to_offset(JST).date();
    rules
        .eligibility
        .check(&request.applicant, slot_date)
        .map_err(|e| {
            AppError::new(match e {
                Ineligible::Age { .. } => ErrorCode::IneligibleAge,
                Ineligible::BirthDateMissing => ErrorCode::BirthDateRequired,
                Ineligible::Sex => ErrorCode::IneligibleSex,
                Ineligible::NotResident => ErrorCode::IneligibleNonResident,
            })
        })?;
    for question in rules.questions.iter().filter(|q| q.required) {
        let answered = request
            .answers
            .get(&question.id)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        if !answered {
            return Err(AppError::field(
                &format!("answers.{}", question.id),
                ErrorCode::ValidationFailed,
            ));
        }
    }
    let limit = rules.limit.map(|limit| {
        let (first, last) = limit.period_for(slot_date);
        LimitCheck {
            max: i64::from(limit.max),
            from: start_of_tokyo_day(first),
            until: start_of_tokyo_day(last.next_day().unwrap_or(last)),
        }
    });
    let new = NewReservation {
        slot_id: slot.id,
        account_id: Some(request.account_id),
        idempotency_key: request.idempotency_key,
        hold_until: request
            .hold
            .then(|| now + time::Duration::minutes(i64::from(rules.hold_minutes))),
        details: serde_json::json!({ "answers": request.answers }),
        limit,
    };
    let outcome = state.storage.reserve(ctx.tenant.id, &new, now).await?;
    if let ReserveOutcome::Created(reservation) = &outcome
        && reservation.status == madoguchi_storage::ReservationStatus::Confirmed
    {
        crate::notify::reservation_event(state, ctx, reservation, ReservationEvent::Confirmed)
            .await?;
    }
    Ok((outcome, slot))
}

/// Who cancels, and why (staff must say).
pub struct Canceller<'a> {
    pub account: AccountId,
    pub by_staff: bool,
    pub reason: Option<&'a str>,
}

/// Cancels a reservation: residents only before the service's deadline, staff at any time with
/// a reason. Gives the seat back, records the cancellation and tells the resident.
pub async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    by: Canceller<'_>,
) -> AppResult<Reservation> {
    let now = now_utc();
    let reason = by.reason.map(str::trim).filter(|r| !r.is_empty());
    if by.by_staff {
        if reason.is_none() {
            return Err(AppError::field("reason", ErrorCode::ValidationFailed));
        }
    } else {
        let slot = state
            .storage
            .slot(ctx.tenant.id, reservation.slot_id)
            .await?;
        let service = state
            .storage
            .service(ctx.tenant.id, reservation.service_id)
            .await?;
        if !rules_of(&service)?
            .cancellation
            .resident_may_cancel(now, slot.starts_at)
        {
            return Err(AppError::new(ErrorCode::CancellationDeadlinePassed));
        }
    }
    let cancelled = state
        .storage
        .cancel_reservation(ctx.tenant.id, reservation.id, reason, now)
        .await?;
    let actor = if by.by_staff {
        ActorKind::Staff
    } else {
        ActorKind::Resident
    };
    let details = serde_json::json!({"by_staff": by.by_staff});
    accounts::audit(
        state,
        ctx,
        actor,
        Some(by.account),
        "reservation.cancelled",
        Some(cancelled.id.to_string()),
        details,
    )
    .await?;
    let event = ReservationEvent::Cancelled {
        by_staff: by.by_staff,
        reason: reason.map(str::to_owned),
    };
    crate::notify::reservation_event(state, ctx, &cancelled, event).await?;
    Ok(cancelled)
}

/// Confirms a hold before it expires, and tells the resident.
pub async fn confirm_hold(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
) -> AppResult<Reservation> {
    let confirmed = state
        .storage
        .confirm_hold(ctx.tenant.id, reservation.id, now_utc())
        .await?;
    crate::notify::reservation_event(state, ctx, &confirmed, ReservationEvent::Confirmed).await?;
    Ok(confirmed)
}
