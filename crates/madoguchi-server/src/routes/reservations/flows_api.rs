//! `/api/v1` for what happens to reservations after booking and around it: changing a
//! reservation, the waiting list, booking by staff for a caller, the staff day sheet,
//! attendance, no-show suspensions and the city's booking policy.

use super::api::{
    AnswerValue, ApplicantInput, ReservationResponse, applicant_of, own_reservation, parse_date,
    reservation_response,
};
use crate::day_sheet::{DaySheetLine, day_sheet_line, day_sheet_rows};
use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAccount, ApiAdmin, ApiCaller, ApiJson, ApiResident, ApiStaff, Ctx};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use madoguchi_booking::{Applicant, BookingPolicy, ProxyCaller};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{AccountKind, DepartmentId, Email, ErrorCode, OfficeId, SlotId};
use madoguchi_storage::{
    Attendance, RemoteJoin, ReserveOutcome, Suspension, WaitlistPlace, now_utc,
};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, BookingRequest, By};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reservations/{id}/change", post(change))
        .route("/reservations/{id}/attendance", post(attendance))
        .route("/slots/{id}/waitlist", post(join_waitlist))
        .route("/me/waitlist", get(my_waitlist))
        .route("/waitlist/{id}", axum::routing::delete(withdraw))
        .route("/proxy-reservations", post(proxy_reserve))
        .route("/day-sheet", get(day_sheet))
        .route("/suspensions", get(suspensions))
        .route("/suspensions/{id}/lift", post(lift))
        .route("/booking-policy", put(set_policy).get(policy))
}

fn staff_of(caller: &ApiCaller) -> AppResult<&StaffAccess> {
    caller.require_reservation_staff()
}

fn resident_of(caller: &ApiCaller) -> AppResult<()> {
    caller.require_resident()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// Another slot of the same service.
    pub slot_id: Uuid,
    /// Why (staff changes must say).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Move a reservation to another slot of its service: residents before the cancellation
/// deadline, within the new slot's booking window; staff at any time with a reason.
#[utoipa::path(post, path = "/api/v1/reservations/{id}/change", tag = "reservations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ChangeRequest,
    responses((status = 200, body = ReservationResponse),
        (status = 409, body = ErrorBody, description = "slot_full, change_deadline_passed, change_to_other_service, reservation_not_active, booking_not_open, booking_closed")))]
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ChangeRequest>,
) -> AppResult<Json<ReservationResponse>> {
    let reservation = own_reservation(&state, &ctx, &caller, id).await?;
    let by = By {
        account: caller.account.id,
        by_staff: caller.account.kind == AccountKind::Staff,
        access: caller.access.as_ref(),
        reason: body.reason.as_deref(),
    };
    let scope = state.scope(ctx.tenant.id, by.actor());
    let moved = uc::change(
        &state.reservations(),
        &scope,
        &reservation,
        SlotId(body.slot_id),
        by,
    )
    .await?;
    Ok(Json(reservation_response(&moved)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceRequest {
    #[schema(value_type = String, example = "no_show")]
    pub attendance: Attendance,
}

#[derive(Serialize, ToSchema)]
pub struct AttendanceResponse {
    pub reservation: ReservationResponse,
    /// Set when this no-show suspended the resident's online booking.
    pub suspension: Option<SuspensionResponse>,
}

/// Mark a reservation attended or no-show (staff of its office or department, on or after the
/// day). A no-show counts towards the city's no-show policy.
#[utoipa::path(post, path = "/api/v1/reservations/{id}/attendance", tag = "reservations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AttendanceRequest,
    responses((status = 200, body = AttendanceResponse), (status = 409, body = ErrorBody, description = "reservation_not_active"),
        (status = 422, body = ErrorBody, description = "before the day")))]
pub async fn attendance(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<AttendanceRequest>,
) -> AppResult<Json<AttendanceResponse>> {
    let reservation = own_reservation(&state, &ctx, &caller, id).await?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let outcome = uc::mark_attendance(
        &*state.storage,
        &scope,
        caller.account.id,
        &reservation,
        body.attendance,
    )
    .await?;
    Ok(Json(AttendanceResponse {
        reservation: reservation_response(&outcome.reservation),
        suspension: outcome.suspension.as_ref().map(suspension_response),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitlistRequest {
    #[serde(default)]
    pub applicant: Option<ApplicantInput>,
    /// Answers by question id, typed as the API's `AnswerValue`.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, AnswerValue>>)]
    pub answers: Option<serde_json::Value>,
    /// Remote consultations: where the resident will join once booked (home by default).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub join: Option<RemoteJoin>,
}

#[derive(Serialize, ToSchema)]
pub struct WaitlistResponse {
    pub id: Uuid,
    pub slot_id: Uuid,
    pub service_id: Uuid,
    /// 1 = next in line.
    pub position: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn waitlist_response(place: &WaitlistPlace) -> WaitlistResponse {
    WaitlistResponse {
        id: place.entry.id,
        slot_id: place.entry.slot_id.0,
        service_id: place.entry.service_id.0,
        position: place.position,
        created_at: place.entry.created_at,
    }
}

/// Join the waiting list of a full slot (residents). When a seat comes free the first in line
/// is booked, or offered the seat with a deadline, as the service says, and told by mail.
#[utoipa::path(post, path = "/api/v1/slots/{id}/waitlist", tag = "reservations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = WaitlistRequest,
    responses((status = 201, body = WaitlistResponse),
        (status = 409, body = ErrorBody, description = "waitlist_seats_left, waitlist_unavailable, already_waiting, already_booked, booking_suspended")))]
pub async fn join_waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiResident,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<WaitlistRequest>,
) -> AppResult<(StatusCode, Json<WaitlistResponse>)> {
    let applicant = applicant_of(body.applicant.as_ref())?;
    let answers = body.answers.unwrap_or_else(|| serde_json::json!({}));
    let scope = state.scope(ctx.tenant.id, Actor::Resident(caller.account.id));
    let place = uc::waitlist::join(
        &state.reservations(),
        &scope,
        caller.account.id,
        SlotId(id),
        &applicant,
        answers,
        body.join,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(waitlist_response(&place))))
}

/// The caller's waiting entries with their places in line.
#[utoipa::path(get, path = "/api/v1/me/waitlist", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = [WaitlistResponse])))]
pub async fn my_waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<Vec<WaitlistResponse>>> {
    resident_of(&caller)?;
    let places = state
        .storage
        .waitlist_of_account(ctx.tenant.id, caller.account.id)
        .await?;
    Ok(Json(places.iter().map(waitlist_response).collect()))
}

/// Leave a waiting list.
#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    resident_of(&caller)?;
    let scope = state.scope(ctx.tenant.id, Actor::Resident(caller.account.id));
    uc::waitlist::withdraw(&state.reservations(), &scope, caller.account.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerInput {
    pub name_kanji: String,
    /// Katakana or hiragana.
    pub name_kana: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    pub phone: String,
    /// The caller's email, when they have an account: the booking is then theirs (their
    /// limits apply, they get the mails and see it online).
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyReserveRequest {
    pub slot_id: Uuid,
    pub caller: CallerInput,
    /// Sex and residency for eligibility; the date of birth comes from `caller`.
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default = "yes")]
    pub resident: bool,
    /// Answers by question id, typed as the API's `AnswerValue`.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, AnswerValue>>)]
    pub answers: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub join: Option<RemoteJoin>,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct ProxyReservationResponse {
    pub reservation: ReservationResponse,
    /// Whether the caller's account was found by email (the booking is then theirs).
    pub account_matched: bool,
}

/// Book for a phone caller or a walk-in (staff of the slot's office or the service's
/// department), on the same seats and rules as online booking. A suspension of online booking
/// does not apply.
#[utoipa::path(post, path = "/api/v1/proxy-reservations", tag = "reservations", security(("bearer" = [])),
    request_body = ProxyReserveRequest,
    responses((status = 201, body = ProxyReservationResponse), (status = 404, body = ErrorBody, description = "no such slot"),
        (status = 409, body = ErrorBody, description = "slot_full, personal_limit_reached, booking_closed, ..."),
        (status = 422, body = ErrorBody, description = "caller fields, eligibility")))]
pub async fn proxy_reserve(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiStaff,
    ApiJson(body): ApiJson<ProxyReserveRequest>,
) -> AppResult<(StatusCode, Json<ProxyReservationResponse>)> {
    let access = staff_of(&caller)?;
    let slot = state
        .storage
        .slot(ctx.tenant.id, SlotId(body.slot_id))
        .await?;
    let service = state
        .storage
        .service(ctx.tenant.id, slot.service_id)
        .await?;
    if !access.may_handle_reservations(slot.office_id, service.department_id) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let input = &body.caller;
    let birth_date = parse_date("caller.birth_date", &input.birth_date)?;
    let today = now_utc().to_offset(JST).date();
    let proxy = ProxyCaller::new(
        &input.name_kanji,
        &input.name_kana,
        birth_date,
        &input.phone,
        today,
    )
    .map_err(|e| {
        AppError::field(
            &format!("caller.{}", e.field()),
            ErrorCode::ValidationFailed,
        )
    })?;
    let account = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(raw) => {
            let email = Email::parse(raw).map_err(|c| AppError::field("caller.email", c))?;
            match state
                .storage
                .account_by_email(ctx.tenant.id, AccountKind::Resident, &email)
                .await
            {
                Ok(account) => Some(account.id),
                Err(madoguchi_storage::StorageError::NotFound) => None,
                Err(other) => return Err(other.into()),
            }
        }
    };
    let applicant = Applicant {
        birth_date: Some(proxy.birth_date),
        ..applicant_of(Some(&ApplicantInput {
            birth_date: None,
            sex: body.sex.clone(),
            resident: body.resident,
        }))?
    };
    let request = BookingRequest {
        slot_id: slot.id,
        account_id: account,
        booked_by: Some(caller.account.id),
        idempotency_key: None,
        hold: false,
        applicant,
        answers: body
            .answers
            .clone()
            .unwrap_or_else(|| serde_json::json!({})),
        remote_join: body.join,
        caller: Some(proxy),
        // A fee is taken at the counter (the office's own decision, not the resident's).
        fee: None,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let outcome = uc::book(&state.reservations(), &scope, request)
        .await?
        .outcome;
    let reservation = match outcome {
        ReserveOutcome::Created(r) | ReserveOutcome::Replayed(r) => r,
    };
    Ok((
        StatusCode::CREATED,
        Json(ProxyReservationResponse {
            reservation: reservation_response(&reservation),
            account_matched: account.is_some(),
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaySheetQuery {
    /// A Tokyo date, `YYYY-MM-DD`.
    pub date: String,
    pub office_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
}

/// The day sheet (予約一覧): one Tokyo day's reservations, for the staff who handle them.
#[utoipa::path(get, path = "/api/v1/day-sheet", tag = "reservations", security(("bearer" = [])), params(DaySheetQuery),
    responses((status = 200, body = [DaySheetLine]), (status = 403, body = ErrorBody)))]
pub async fn day_sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Query(query): Query<DaySheetQuery>,
) -> AppResult<Json<Vec<DaySheetLine>>> {
    let access = staff_of(&caller)?;
    let date = parse_date("date", &query.date)?;
    let rows = day_sheet_rows(
        &state,
        &ctx,
        access,
        date,
        query.office_id.map(OfficeId),
        query.department_id.map(DepartmentId),
    )
    .await?;
    Ok(Json(rows.iter().map(day_sheet_line).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct SuspensionResponse {
    pub id: Uuid,
    pub account_id: Uuid,
    /// The office whose no-show imposed it: its staff (or an administrator) may lift it.
    pub office_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub no_shows: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub lifted_at: Option<OffsetDateTime>,
}

fn suspension_response(s: &Suspension) -> SuspensionResponse {
    SuspensionResponse {
        id: s.id,
        account_id: s.account_id.0,
        office_id: s.office_id.map(|o| o.0),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        no_shows: s.no_shows,
        lifted_at: s.lifted_at,
    }
}

/// Residents whose online booking is suspended now (staff).
#[utoipa::path(get, path = "/api/v1/suspensions", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = [SuspensionResponse])))]
pub async fn suspensions(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<Vec<SuspensionResponse>>> {
    staff_of(&caller)?;
    let list = state
        .storage
        .suspensions_in_force(ctx.tenant.id, now_utc())
        .await?;
    Ok(Json(list.iter().map(suspension_response).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    pub reason: String,
}

/// Lift a suspension early, with a reason: staff of the office whose no-show imposed it, or an
/// administrator (403 for another office's staff).
#[utoipa::path(post, path = "/api/v1/suspensions/{id}/lift", tag = "reservations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = LiftRequest,
    responses((status = 200, body = SuspensionResponse), (status = 404, body = ErrorBody)))]
pub async fn lift(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<LiftRequest>,
) -> AppResult<Json<SuspensionResponse>> {
    let access = staff_of(&caller)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let lifted = uc::lift_suspension(
        &state.reservations(),
        &scope,
        caller.account.id,
        access,
        id,
        &body.reason,
    )
    .await?;
    Ok(Json(suspension_response(&lifted)))
}

/// The city's booking policy (no-show suspension), defaults when never set.
#[utoipa::path(get, path = "/api/v1/booking-policy", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn policy(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<BookingPolicy>> {
    staff_of(&caller)?;
    Ok(Json(uc::policy_of(&*state.storage, ctx.tenant.id).await?))
}

/// Set the city's booking policy (administrators), e.g.
/// `{"no_show": {"count": 3, "within_days": 365, "suspend_days": 90}}`.
#[utoipa::path(put, path = "/api/v1/booking-policy", tag = "reservations", security(("bearer" = [])),
    request_body = Object, responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
pub async fn set_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> AppResult<Json<BookingPolicy>> {
    let policy: BookingPolicy = serde_json::from_value(body)
        .ok()
        .filter(|p: &BookingPolicy| p.no_show.is_valid())
        .ok_or_else(|| AppError::field("no_show", ErrorCode::ValidationFailed))?;
    let json = serde_json::to_value(policy).map_err(AppError::internal)?;
    state
        .storage
        .set_booking_policy(ctx.tenant.id, &json, now_utc())
        .await?;
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(caller.account.id),
        ),
        "booking.policy_changed",
        None,
        json,
    )
    .await?;
    Ok(Json(policy))
}
