//! The booking flows shared by the API and the pages: booking (by residents, or by staff for a
//! caller), changing, cancelling, and marking attendance. The service's rules decide whether a
//! booking may be made now; the database decides whether a seat is left.

use crate::accounts;
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_booking::{
    AnswerError, Applicant, BookingPolicy, Ineligible, ProxyCaller, ServiceRules, WindowError,
};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use madoguchi_domain::{AccountId, ErrorCode, SlotId, TenantId};
use madoguchi_storage::{
    ActorKind, Attendance, LimitCheck, NewReservation, NewSuspension, RemoteJoin, Reservation,
    ReservationNotice, ReservationNoticeEvent, ReservationStatus, ReserveOutcome, Service,
    ServiceKind, Slot, Suspension, now_utc,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The rules stored with a service; a service whose rules no longer parse is not bookable.
pub fn rules_of(service: &Service) -> AppResult<ServiceRules> {
    serde_json::from_value(service.rules.clone())
        .map_err(|_| AppError::new(ErrorCode::InvalidServiceRules))
}

/// The city's booking policy, defaults when it never set one.
pub async fn policy_of(state: &AppState, tenant: TenantId) -> AppResult<BookingPolicy> {
    match state.storage.booking_policy(tenant).await? {
        None => Ok(BookingPolicy::default()),
        Some(json) => serde_json::from_value(json).map_err(AppError::internal),
    }
}

/// A request to book one seat.
pub struct BookingRequest {
    pub slot_id: SlotId,
    /// The resident the seat is for; `None` for a caller without an account.
    pub account_id: Option<AccountId>,
    /// The staff member booking on the caller's behalf (phone, counter).
    pub booked_by: Option<AccountId>,
    pub idempotency_key: Option<String>,
    /// Keep the seat as a hold (answers or payment still to come) instead of confirming.
    pub hold: bool,
    pub applicant: Applicant,
    pub answers: serde_json::Value,
    /// Where a remote consultation is joined from; home when not said.
    pub remote_join: Option<RemoteJoin>,
    /// The caller's details, for a staff booking.
    pub caller: Option<ProxyCaller>,
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

/// A slot with its service and rules, loaded once per flow.
pub struct Bookable {
    pub slot: Slot,
    pub service: Service,
    pub rules: ServiceRules,
}

/// Loads a slot of an active service with its rules.
pub async fn bookable(state: &AppState, ctx: &Ctx, slot_id: SlotId) -> AppResult<Bookable> {
    let slot = state.storage.slot(ctx.tenant.id, slot_id).await?;
    // From the node's cache: the seat itself is decided by the database in `reserve`.
    let service = (*state.service(ctx.tenant.id, slot.service_id).await?).clone();
    if !service.active {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    let rules = rules_of(&service)?;
    Ok(Bookable {
        slot,
        service,
        rules,
    })
}

/// Whether `applicant` may take a seat of `target` now: the booking window, the calendar,
/// eligibility and the required answers. Capacity and the personal limit are the database's.
pub fn admit(
    target: &Bookable,
    applicant: &Applicant,
    answers: &serde_json::Value,
    now: OffsetDateTime,
) -> AppResult<()> {
    let Bookable { slot, rules, .. } = target;
    // Checked for retries too: a retry that straddles the closing instant is told "closed", and
    // the booking its first attempt made is in the resident's list.
    rules.window.check(now, slot.starts_at).map_err(|e| {
        AppError::new(match e {
            WindowError::NotYetOpen { .. } => ErrorCode::BookingNotOpen,
            WindowError::Closed { .. } => ErrorCode::BookingClosed,
        })
    })?;
    let slot_date = slot.starts_at.to_offset(JST).date();
    rules.eligibility.check(applicant, slot_date).map_err(|e| {
        AppError::new(match e {
            Ineligible::Age { .. } => ErrorCode::IneligibleAge,
            Ineligible::BirthDateMissing => ErrorCode::BirthDateRequired,
            Ineligible::Sex => ErrorCode::IneligibleSex,
            Ineligible::NotResident => ErrorCode::IneligibleNonResident,
        })
    })?;
    rules.check_answers(answers).map_err(|e| match e {
        AnswerError::NotAnObject => AppError::field("answers", ErrorCode::ValidationFailed),
        AnswerError::UnknownQuestion(id) => {
            AppError::field(&format!("answers.{id}"), ErrorCode::UnknownQuestion)
        }
        AnswerError::WrongKind(id) => {
            AppError::field(&format!("answers.{id}"), ErrorCode::ValidationFailed)
        }
        AnswerError::TooLong(id) => {
            AppError::field(&format!("answers.{id}"), ErrorCode::TextTooLong)
        }
    })?;
    for question in rules.questions.iter().filter(|q| q.required) {
        let answered = answers
            .get(&question.id)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        if !answered {
            return Err(AppError::field(
                &format!("answers.{}", question.id),
                ErrorCode::ValidationFailed,
            ));
        }
    }
    Ok(())
}

/// Refuses online booking by a resident whose booking is suspended (no-shows). Staff booking
/// for them by phone is not affected: the suspension is of online booking.
pub async fn ensure_not_suspended(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    now: OffsetDateTime,
) -> AppResult<()> {
    match state
        .storage
        .suspension_in_force(ctx.tenant.id, account, now)
        .await?
    {
        Some(_) => Err(AppError::new(ErrorCode::BookingSuspended)),
        None => Ok(()),
    }
}

/// Where a booking of a service of `kind` is joined from: a remote consultation from home
/// unless a kiosk was chosen; any other service takes no join location.
pub fn remote_join_for(
    kind: ServiceKind,
    join: Option<RemoteJoin>,
) -> AppResult<Option<RemoteJoin>> {
    match (kind, join) {
        (ServiceKind::RemoteConsultation, join) => Ok(Some(join.unwrap_or(RemoteJoin::Home))),
        (_, None) => Ok(None),
        (_, Some(_)) => Err(AppError::field("join", ErrorCode::ValidationFailed)),
    }
}

/// The personal-limit check for a booking in `slot`, if the service has a limit.
pub fn limit_for(rules: &ServiceRules, slot: &Slot) -> Option<LimitCheck> {
    let slot_date = slot.starts_at.to_offset(JST).date();
    rules.limit.map(|limit| {
        let (first, last) = limit.period_for(slot_date);
        LimitCheck {
            max: i64::from(limit.max),
            from: start_of_tokyo_day(first),
            until: start_of_tokyo_day(last.next_day().unwrap_or(last)),
        }
    })
}

/// The fingerprint of what a booking request asks for: the SHA-256 (hex) of a canonical JSON
/// encoding (keys sorted) of the slot, the answers, the join location, the hold flag, the
/// caller's details and who books for whom. A request that reuses an idempotency key with
/// another fingerprint is refused instead of replayed.
pub fn request_fingerprint(request: &BookingRequest) -> String {
    let asked = serde_json::json!({
        "slot": request.slot_id.0,
        "account": request.account_id.map(|a| a.0),
        "booked_by": request.booked_by.map(|a| a.0),
        "answers": request.answers,
        "join": request.remote_join,
        "hold": request.hold,
        "caller": request.caller.as_ref().map(ProxyCaller::to_json),
    });
    let mut canonical = String::new();
    write_canonical(&asked, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys in sorted order at every level, whatever order they arrived in.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Books a seat after checking the window, eligibility and required answers; the personal limit
/// and the capacity are decided by the database in the same transaction as the insert, and so
/// is the confirmation (with its reminder) for a resident with an account.
pub async fn book(
    state: &AppState,
    ctx: &Ctx,
    request: BookingRequest,
) -> AppResult<(ReserveOutcome, Slot)> {
    let target = bookable(state, ctx, request.slot_id).await?;
    let now = now_utc();
    admit(&target, &request.applicant, &request.answers, now)?;
    crate::calendar::ensure_open(state, ctx, &target.slot).await?;
    if let (Some(account), None) = (request.account_id, request.booked_by) {
        ensure_not_suspended(state, ctx, account, now).await?;
    }
    let remote_join = remote_join_for(target.service.kind, request.remote_join)?;
    let fingerprint = request_fingerprint(&request);
    // A hold is told when it is confirmed; a caller without an account is not told at all.
    let notices = match (request.account_id, request.hold) {
        (Some(_), false) => crate::notify::notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &target.slot,
            now,
        ),
        _ => Vec::new(),
    };
    let mut details = serde_json::json!({ "answers": request.answers });
    if let Some(caller) = &request.caller {
        details["caller"] = caller.to_json();
    }
    let new = NewReservation {
        slot_id: target.slot.id,
        account_id: request.account_id,
        idempotency_key: request.idempotency_key,
        hold_until: request
            .hold
            .then(|| now + time::Duration::minutes(i64::from(target.rules.hold_minutes))),
        details,
        limit: limit_for(&target.rules, &target.slot),
        booked_by: request.booked_by,
        remote_join,
        fingerprint: Some(fingerprint),
        notices,
    };
    let outcome = state.storage.reserve(ctx.tenant.id, &new, now).await?;
    if let ReserveOutcome::Created(reservation) = &outcome {
        state.jobs.wake();
        if let Some(staff) = request.booked_by {
            let details = serde_json::json!({"account_matched": reservation.account_id.is_some()});
            accounts::audit(
                state,
                ctx,
                ActorKind::Staff,
                Some(staff),
                "reservation.proxy_booked",
                Some(reservation.id.to_string()),
                details,
            )
            .await?;
        }
    }
    Ok((outcome, target.slot))
}

/// Whether a staff member handles `reservation` (its slot's office, its service's department).
pub async fn staff_may_handle(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    reservation: &Reservation,
) -> AppResult<bool> {
    if access.is_admin() {
        return Ok(true);
    }
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let service = state
        .storage
        .service(ctx.tenant.id, reservation.service_id)
        .await?;
    Ok(access.may_handle_reservations(slot.office_id, service.department_id))
}

/// The longest reason staff give for a cancellation, a change or lifting a suspension: it is
/// shown to the resident and kept on the reservation, so a few sentences, not a document.
pub const REASON_MAX_CHARS: usize = 500;

/// Who acts on a reservation, and why (staff must say).
pub struct Actor<'a> {
    pub account: AccountId,
    pub by_staff: bool,
    /// What a staff actor may handle; `None` for residents (and refused for staff).
    pub access: Option<&'a StaffAccess>,
    pub reason: Option<&'a str>,
}

impl Actor<'_> {
    /// The trimmed reason, at most [`REASON_MAX_CHARS`] characters; staff must give one.
    fn reason(&self) -> AppResult<Option<&str>> {
        let reason = match self.reason {
            None => None,
            Some(raw) => madoguchi_domain::text::bounded_text(raw, REASON_MAX_CHARS)
                .map_err(|code| AppError::field("reason", code))?,
        };
        if self.by_staff && reason.is_none() {
            return Err(AppError::field("reason", ErrorCode::ValidationFailed));
        }
        Ok(reason)
    }

    fn kind(&self) -> ActorKind {
        if self.by_staff {
            ActorKind::Staff
        } else {
            ActorKind::Resident
        }
    }
}

/// Cancels a reservation: residents only before the service's deadline, staff at any time with
/// a reason. Gives the seat back, records the cancellation, tells the resident, and offers the
/// seat to the waiting list.
pub async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    by: Actor<'_>,
) -> AppResult<Reservation> {
    let now = now_utc();
    let reason = by.reason()?;
    if !by.by_staff {
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
    let event = ReservationNoticeEvent::Cancelled {
        by_staff: by.by_staff,
    };
    let notices = told(reservation, vec![ReservationNotice::once(event, now)]);
    let cancelled = state
        .storage
        .cancel_reservation_with_notices(ctx.tenant.id, reservation.id, reason, now, &notices)
        .await?;
    state.jobs.wake();
    let details = serde_json::json!({"by_staff": by.by_staff});
    accounts::audit(
        state,
        ctx,
        by.kind(),
        Some(by.account),
        "reservation.cancelled",
        Some(cancelled.id.to_string()),
        details,
    )
    .await?;
    crate::waitlist::promote(state, ctx, cancelled.slot_id).await?;
    Ok(cancelled)
}

/// Moves a reservation to another slot of its service: residents before the cancellation
/// deadline of the current slot and within the booking window of the new one; staff at any
/// time with a reason. The freed seat goes to the waiting list.
pub async fn change(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    to: SlotId,
    by: Actor<'_>,
) -> AppResult<Reservation> {
    let now = now_utc();
    by.reason()?;
    if !reservation.status.holds_a_seat() {
        return Err(AppError::new(ErrorCode::ReservationNotActive));
    }
    let target = bookable(state, ctx, to).await?;
    if target.service.id != reservation.service_id {
        return Err(AppError::new(ErrorCode::ChangeToOtherService));
    }
    if by.by_staff {
        // Both ends of the move: staff may neither take a reservation out of an office they do
        // not handle nor put a resident's name on another office's day sheet. Checked here so
        // the API and the pages cannot differ.
        let access = by.access.ok_or(AppError::new(ErrorCode::Forbidden))?;
        let handles_target =
            access.may_handle_reservations(target.slot.office_id, target.service.department_id);
        if !handles_target || !staff_may_handle(state, ctx, access, reservation).await? {
            return Err(AppError::new(ErrorCode::Forbidden));
        }
    }
    crate::calendar::ensure_open(state, ctx, &target.slot).await?;
    if !by.by_staff {
        // A change is a new online booking of the new time: a suspension refuses it as it
        // refuses booking. Staff changing on the resident's behalf are not affected.
        ensure_not_suspended(state, ctx, by.account, now).await?;
        let current = state
            .storage
            .slot(ctx.tenant.id, reservation.slot_id)
            .await?;
        if !target
            .rules
            .cancellation
            .resident_may_cancel(now, current.starts_at)
        {
            return Err(AppError::new(ErrorCode::ChangeDeadlinePassed));
        }
        target
            .rules
            .window
            .check(now, target.slot.starts_at)
            .map_err(|e| {
                AppError::new(match e {
                    WindowError::NotYetOpen { .. } => ErrorCode::BookingNotOpen,
                    WindowError::Closed { .. } => ErrorCode::BookingClosed,
                })
            })?;
    }
    let from = reservation.slot_id;
    let notices = told(
        reservation,
        crate::notify::notices(
            ReservationNoticeEvent::Changed,
            reservation.status,
            &target.slot,
            now,
        ),
    );
    let moved = state
        .storage
        .move_reservation_with_notices(ctx.tenant.id, reservation.id, to, &notices)
        .await?;
    if moved.slot_id != from {
        state.jobs.wake();
        let details = serde_json::json!({"by_staff": by.by_staff, "from_slot": from.to_string()});
        accounts::audit(
            state,
            ctx,
            by.kind(),
            Some(by.account),
            "reservation.changed",
            Some(moved.id.to_string()),
            details,
        )
        .await?;
        crate::waitlist::promote(state, ctx, from).await?;
    }
    Ok(moved)
}

/// Confirms a hold before it expires, and tells the resident (in the same transaction).
pub async fn confirm_hold(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
) -> AppResult<Reservation> {
    let now = now_utc();
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let notices = told(
        reservation,
        crate::notify::notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &slot,
            now,
        ),
    );
    let confirmed = state
        .storage
        .confirm_hold_with_notices(ctx.tenant.id, reservation.id, now, &notices)
        .await?;
    state.jobs.wake();
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

/// What marking attendance did: the reservation, and a suspension the no-show policy imposed.
pub struct AttendanceOutcome {
    pub reservation: Reservation,
    pub suspension: Option<Suspension>,
}

/// Staff mark a confirmed reservation attended or no-show (or correct an earlier mark). A
/// no-show counts towards the city's policy and may suspend the resident's online booking.
pub async fn mark_attendance(
    state: &AppState,
    ctx: &Ctx,
    staff: AccountId,
    reservation: &Reservation,
    attendance: Attendance,
) -> AppResult<AttendanceOutcome> {
    let now = now_utc();
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    // Attendance is recorded on the day, not ahead of it.
    if slot.starts_at.to_offset(JST).date() > now.to_offset(JST).date() {
        return Err(AppError::field("attendance", ErrorCode::ValidationFailed));
    }
    let marked = state
        .storage
        .mark_attendance(ctx.tenant.id, reservation.id, attendance, now)
        .await?;
    let details = serde_json::json!({"attendance": attendance});
    accounts::audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(staff),
        "reservation.attendance",
        Some(marked.id.to_string()),
        details,
    )
    .await?;
    let mut suspension = None;
    if let (Attendance::NoShow, Some(account)) = (attendance, marked.account_id) {
        let policy = policy_of(state, ctx.tenant.id).await?.no_show;
        let no_shows = state
            .storage
            .no_shows_since(ctx.tenant.id, account, policy.counted_since(now))
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
            let imposed = state.storage.suspend(ctx.tenant.id, &new, now).await?;
            if imposed.created_at == now {
                let details = serde_json::json!({"no_shows": no_shows, "until": imposed.ends_at});
                accounts::audit(
                    state,
                    ctx,
                    ActorKind::System,
                    None,
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
pub async fn lift_suspension(
    state: &AppState,
    ctx: &Ctx,
    staff: AccountId,
    access: &StaffAccess,
    id: uuid::Uuid,
    reason: &str,
) -> AppResult<Suspension> {
    let suspension = state.storage.suspension(ctx.tenant.id, id).await?;
    if !access.may_lift_suspension(suspension.office_id) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let reason = madoguchi_domain::text::bounded_text(reason, REASON_MAX_CHARS)
        .ok()
        .flatten()
        .ok_or_else(|| AppError::field("reason", ErrorCode::ValidationFailed))?;
    let lifted = state
        .storage
        .lift_suspension(ctx.tenant.id, id, staff, reason, now_utc())
        .await?;
    accounts::audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(staff),
        "booking.suspension_lifted",
        Some(lifted.account_id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(lifted)
}
