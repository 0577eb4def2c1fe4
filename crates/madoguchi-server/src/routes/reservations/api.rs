//! `/api/v1` for services, availability and reservations.

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAdmin, ApiCaller, ApiJson, ApiResident, Ctx};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_booking::{Applicant, ServiceRules, Sex};
use madoguchi_domain::org::parse_org_name;
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{
    AccountKind, DepartmentId, ErrorCode, IdempotencyKey, OfficeId, OrgCode, ReservationId,
    ServiceId, SlotId,
};
use madoguchi_storage::{NewService, NewSlot, Reservation, ReserveOutcome, Service, ServiceKind};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, BookingRequest};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list_services).post(create_service))
        .route("/services/{id}/slots", get(day_slots).post(add_slots))
        .route("/services/{id}/slots/generate", post(generate_slots))
        .route("/services/{id}/availability", get(availability))
        .route("/reservations", get(find_reservations).post(reserve))
        .route("/reservations/{id}", get(reservation).delete(cancel))
        .route("/reservations/{id}/confirm", post(confirm))
        .route("/me/reservations", get(my_reservations))
}

#[derive(Serialize, ToSchema)]
pub struct ServiceResponse {
    pub id: Uuid,
    pub code: String,
    /// consultation, remote_consultation, checkup or lecture.
    pub kind: String,
    pub name_ja: String,
    pub name_en: String,
    pub department_id: Option<Uuid>,
    /// The rules as stored, in their normalised form (defaults filled in).
    #[schema(value_type = Object)]
    pub rules: ServiceRules,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    pub code: String,
    pub kind: String,
    pub name_ja: String,
    pub name_en: String,
    #[serde(default)]
    pub department_id: Option<Uuid>,
    /// Booking window, cancellation deadline, personal limit, eligibility, hold length, questions.
    /// A question is `{"id", "label_ja", "label_en", "required", "kind"}`, its kind one of
    /// `{"type": "text", "max_chars": 200}` (the default), `{"type": "yes_no"}`,
    /// `{"type": "choice", "options": [{"id", "label_ja", "label_en"}, ...]}` (2 to 20 options),
    /// `{"type": "number", "min": 0, "max": 5}` or `{"type": "date", "min": "2026-04-01",
    /// "max": "2026-12-31"}` (bounds optional and inclusive).
    #[schema(value_type = Object)]
    pub rules: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    pub office_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub capacity: u16,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotsRequest {
    pub slots: Vec<SlotInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    pub office_id: Uuid,
    /// First Tokyo date, `YYYY-MM-DD`.
    pub from: String,
    /// Last Tokyo date (inclusive), at most 400 days after `from`.
    pub to: String,
    /// Weekly openings, e.g. `{"weekday": "tuesday", "start": "09:00", "end": "12:00",
    /// "slot_minutes": 30, "buffer_minutes": 10, "capacity": 1}`.
    #[schema(value_type = Vec<Object>)]
    pub patterns: Vec<madoguchi_booking::WeeklyPattern>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotsAdded {
    pub added: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SlotResponse {
    pub id: Uuid,
    pub office_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
    pub seats_left: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// A Tokyo date, `YYYY-MM-DD`.
    pub date: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// A month, `YYYY-MM` (Tokyo calendar).
    pub month: String,
}

#[derive(Serialize, ToSchema)]
pub struct DayResponse {
    /// `YYYY-MM-DD` (Tokyo).
    pub date: String,
    /// open, few (a fifth or less of the seats left), full, or closed (no slots).
    pub status: &'static str,
    pub seats_left: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    /// `YYYY-MM-DD`
    #[serde(default)]
    pub birth_date: Option<String>,
    /// female or male
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default = "yes")]
    pub resident: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    pub slot_id: Uuid,
    /// Keep the seat as a hold (confirm later) instead of confirming at once.
    #[serde(default)]
    pub hold: bool,
    #[serde(default)]
    pub applicant: Option<ApplicantInput>,
    /// Answers to the service's questions, by question id, each typed as its question's kind
    /// asks (see `AnswerValue`). Every wrong answer is named in `fields` as `answers.<id>`.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, AnswerValue>>)]
    pub answers: Option<serde_json::Value>,
    /// Remote consultations: where the resident joins, `{"from": "home"}` (the default) or
    /// `{"from": "kiosk", "office_id": "..."}`. Refused for other services.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub join: Option<madoguchi_storage::RemoteJoin>,
    /// A service with a fee: how it is settled. `{"settle": "online"}` (the default: the
    /// seat is held for the service's `hold_minutes` until the payment succeeds),
    /// `{"settle": "counter"}` where the service allows paying on the day, or
    /// `{"settle": "exempt", "exemption": "<code>"}` (an age exemption needs
    /// `applicant.birth_date`). Ignored for a free service.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payment: Option<madoguchi_booking::FeeChoice>,
}

/// One answer to a service's question: `true` or `false` for a yes/no question, an option's
/// `id` for a choice, a whole number for a number, `YYYY-MM-DD` for a date, text for free
/// text; `null` or absent when not answered. A wrong one is refused (422) at `answers.<id>` with
/// `answer_required`, `answer_not_yes_no`, `answer_unknown_option`, `answer_not_integer`,
/// `answer_not_date`, `answer_out_of_range`, `answer_not_text`, `text_too_long` or
/// `unknown_question`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    YesNo(bool),
    Number(i64),
    /// An option id, a date `YYYY-MM-DD` or text.
    Text(String),
}

#[derive(Serialize, ToSchema)]
pub struct ReservationResponse {
    pub id: Uuid,
    /// The reservation number people see and read aloud (予約番号): eight characters without
    /// look-alikes, shown as two groups of four.
    #[schema(value_type = String, example = "K7QX-3MPA")]
    pub reference: madoguchi_domain::ReservationRef,
    pub slot_id: Uuid,
    pub service_id: Uuid,
    /// held, confirmed, cancelled, expired, attended or no_show.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub hold_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When staff marked attendance (attended or no_show).
    #[serde(with = "time::serde::rfc3339::option")]
    pub attendance_at: Option<OffsetDateTime>,
    /// Booked by staff for a caller.
    pub booked_by_staff: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why (staff cancellations must say).
    pub reason: Option<String>,
}

fn service_response(s: Service) -> ServiceResponse {
    ServiceResponse {
        id: s.id.0,
        code: s.code.as_str().to_owned(),
        kind: s.kind.as_str().to_owned(),
        name_ja: s.name_ja,
        name_en: s.name_en,
        department_id: s.department_id.map(|d| d.0),
        rules: s.rules,
    }
}

pub(crate) fn reservation_response(r: &Reservation) -> ReservationResponse {
    ReservationResponse {
        id: r.id.0,
        reference: r.reference,
        slot_id: r.slot_id.0,
        service_id: r.service_id.0,
        status: r.status.as_str(),
        hold_expires_at: r.hold_expires_at,
        created_at: r.created_at,
        attendance_at: r.attendance_at,
        booked_by_staff: r.booked_by.is_some(),
    }
}

/// `YYYY-MM-DD` within the supported years (1900–2200): a year such as -9999 has no Tokyo
/// midnight to compute, so it is refused here rather than met by arithmetic later.
pub(crate) fn parse_date(field: &str, raw: &str) -> AppResult<Date> {
    let date = Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::field(field, ErrorCode::ValidationFailed))?;
    madoguchi_domain::tokyo::supported_date(date).map_err(|code| AppError::field(field, code))
}

/// Bookable services (public information).
#[utoipa::path(get, path = "/api/v1/services", tag = "reservations", responses((status = 200, body = [ServiceResponse])))]
pub async fn list_services(
    State(state): State<AppState>,
    ctx: Ctx,
) -> AppResult<Json<Vec<ServiceResponse>>> {
    let services = state.storage.list_services(ctx.tenant.id).await?;
    Ok(Json(
        services
            .into_iter()
            .filter(|s| s.active)
            .map(service_response)
            .collect(),
    ))
}

/// Define a service and its rules (administrators).
#[utoipa::path(post, path = "/api/v1/services", tag = "reservations", security(("bearer" = [])), request_body = ServiceRequest,
    responses((status = 201, body = ServiceResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_service(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<ServiceRequest>,
) -> AppResult<(StatusCode, Json<ServiceResponse>)> {
    let mut errors = Vec::new();
    let field = |name: &str, code| crate::http::FieldError {
        field: name.to_owned(),
        code,
    };
    let code = OrgCode::parse(&body.code)
        .map_err(|c| errors.push(field("code", c)))
        .ok();
    let kind = ServiceKind::parse(&body.kind);
    if kind.is_none() {
        errors.push(field("kind", ErrorCode::ValidationFailed));
    }
    let name_ja = parse_org_name(&body.name_ja)
        .map_err(|c| errors.push(field("name_ja", c)))
        .ok();
    let name_en = parse_org_name(&body.name_en)
        .map_err(|c| errors.push(field("name_en", c)))
        .ok();
    // Parsed here, at the edge: storage holds only `ServiceRules` that validate.
    let rules: Option<ServiceRules> = serde_json::from_value(body.rules)
        .ok()
        .filter(|r: &ServiceRules| r.validate().is_ok());
    if rules.is_none() {
        errors.push(field("rules", ErrorCode::InvalidServiceRules));
    }
    // A fee is assessed under one of the city's revenue categories: refused now, not at the
    // first booking.
    if let Some(fee) = rules.as_ref().and_then(|r| r.fee.as_ref()) {
        let known = state.storage.revenue_categories(ctx.tenant.id).await?;
        if !known.iter().any(|c| c.code == fee.revenue_category) {
            errors.push(field("rules", ErrorCode::InvalidRevenueCategory));
        }
    }
    let (Some(code), Some(kind), Some(name_ja), Some(name_en), Some(rules)) =
        (code, kind, name_ja, name_en, rules)
    else {
        return Err(AppError::fields(errors));
    };
    let new = NewService {
        code,
        kind,
        name_ja,
        name_en,
        department_id: body.department_id.map(DepartmentId),
        rules,
    };
    let service = state
        .storage
        .create_service(ctx.tenant.id, &new)
        .await
        .map_err(|e| match e {
            madoguchi_storage::StorageError::Constraint { .. } => {
                AppError::field("department_id", ErrorCode::ValidationFailed)
            }
            other => other.into(),
        })?;
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(caller.account.id),
        ),
        "service.created",
        Some(service.id.to_string()),
        serde_json::json!({"code": service.code.as_str()}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(service_response(service))))
}

/// Add slots to a service (administrators). A slot at an existing start is left unchanged.
#[utoipa::path(post, path = "/api/v1/services/{id}/slots", tag = "reservations", security(("bearer" = [])), request_body = SlotsRequest,
    params(("id" = Uuid, Path)), responses((status = 200, body = SlotsAdded), (status = 422, body = ErrorBody)))]
pub async fn add_slots(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<SlotsRequest>,
) -> AppResult<Json<SlotsAdded>> {
    if body.slots.is_empty()
        || body.slots.len() > 5000
        || body.slots.iter().any(|s| s.ends_at <= s.starts_at)
    {
        return Err(AppError::field("slots", ErrorCode::ValidationFailed));
    }
    let mut offices_seen = std::collections::BTreeSet::new();
    for (i, s) in body.slots.iter().enumerate() {
        if !madoguchi_booking::capacity_is_valid(s.capacity) {
            let field = format!("slots.{i}.capacity");
            return Err(AppError::field(&field, ErrorCode::ValidationFailed));
        }
        let in_range = [s.starts_at, s.ends_at]
            .iter()
            .all(|t| madoguchi_domain::tokyo::is_supported_date(t.date()));
        if !in_range {
            let field = format!("slots.{i}.starts_at");
            return Err(AppError::field(&field, ErrorCode::DateOutOfRange));
        }
        // An office of another city (or none) would make the insert skip the slot silently.
        if offices_seen.insert(s.office_id) {
            match state
                .storage
                .office(ctx.tenant.id, OfficeId(s.office_id))
                .await
            {
                Ok(_) => {}
                Err(madoguchi_storage::StorageError::NotFound) => {
                    let field = format!("slots.{i}.office_id");
                    return Err(AppError::field(&field, ErrorCode::ValidationFailed));
                }
                Err(other) => return Err(other.into()),
            }
        }
    }
    let slots: Vec<NewSlot> = body
        .slots
        .iter()
        .map(|s| NewSlot {
            office_id: OfficeId(s.office_id),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            capacity: i64::from(s.capacity),
        })
        .collect();
    let added = state
        .storage
        .add_slots(ctx.tenant.id, ServiceId(id), &slots)
        .await?;
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(caller.account.id),
        ),
        "service.slots_added",
        Some(id.to_string()),
        serde_json::json!({"added": added}),
    )
    .await?;
    Ok(Json(SlotsAdded { added }))
}

/// Generate slots from weekly openings on the days the municipal calendar keeps open
/// (holidays, the year-end closure and the office's closing days, as the city set them, are
/// skipped). Existing slots stay as they are.
#[utoipa::path(post, path = "/api/v1/services/{id}/slots/generate", tag = "reservations", security(("bearer" = [])),
    request_body = GenerateRequest, params(("id" = Uuid, Path)), responses((status = 200, body = SlotsAdded), (status = 422, body = ErrorBody)))]
pub async fn generate_slots(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<GenerateRequest>,
) -> AppResult<Json<SlotsAdded>> {
    let from = parse_date("from", &body.from)?;
    let to = parse_date("to", &body.to)?;
    let valid_patterns = !body.patterns.is_empty()
        && body.patterns.iter().all(|p| {
            p.start < p.end
                && p.slot_minutes > 0
                && madoguchi_booking::capacity_is_valid(p.capacity)
        });
    if to < from || (to - from).whole_days() > 400 || !valid_patterns {
        return Err(AppError::field(
            if valid_patterns { "to" } else { "patterns" },
            ErrorCode::ValidationFailed,
        ));
    }
    let office = OfficeId(body.office_id);
    state
        .storage
        .office(ctx.tenant.id, office)
        .await
        .map_err(|_| AppError::field("office_id", ErrorCode::ValidationFailed))?;
    // The city's own calendar: imported holidays, its year-end closure, the office's closing days.
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let specs = madoguchi_booking::slots_for_range(&body.patterns, from, to, |date| {
        calendar.is_open(office, date).unwrap_or(false)
    });
    let slots: Vec<NewSlot> = specs
        .into_iter()
        .map(|s| NewSlot {
            office_id: office,
            starts_at: s.start,
            ends_at: s.end,
            capacity: i64::from(s.capacity),
        })
        .collect();
    let added = if slots.is_empty() {
        0
    } else {
        state
            .storage
            .add_slots(ctx.tenant.id, ServiceId(id), &slots)
            .await?
    };
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(caller.account.id),
        ),
        "service.slots_generated",
        Some(id.to_string()),
        serde_json::json!({"added": added, "from": body.from, "to": body.to}),
    )
    .await?;
    Ok(Json(SlotsAdded { added }))
}

/// Slots of one Tokyo day with the seats left.
#[utoipa::path(get, path = "/api/v1/services/{id}/slots", tag = "reservations", params(("id" = Uuid, Path), DayQuery),
    responses((status = 200, body = [SlotResponse])))]
pub async fn day_slots(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Query(query): Query<DayQuery>,
) -> AppResult<Json<Vec<SlotResponse>>> {
    let date = parse_date("date", &query.date)?;
    let from = start_of_tokyo_day(date);
    let slots = state
        .storage
        .slots(
            ctx.tenant.id,
            ServiceId(id),
            from,
            from + time::Duration::days(1),
        )
        .await?;
    Ok(Json(
        slots
            .into_iter()
            .map(|s| SlotResponse {
                id: s.id.0,
                office_id: s.office_id.0,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                capacity: s.capacity,
                seats_left: s.capacity - s.taken,
            })
            .collect(),
    ))
}

/// A month of days: open, few left, full or closed.
#[utoipa::path(get, path = "/api/v1/services/{id}/availability", tag = "reservations", params(("id" = Uuid, Path), MonthQuery),
    responses((status = 200, body = [DayResponse])))]
pub async fn availability(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Query(query): Query<MonthQuery>,
) -> AppResult<Json<Vec<DayResponse>>> {
    let first = parse_date("month", &format!("{}-01", query.month))?;
    let next = first
        .replace_day(1)
        .ok()
        .and_then(|d| {
            let (y, m) = if d.month() == time::Month::December {
                (d.year() + 1, time::Month::January)
            } else {
                (d.year(), d.month().next())
            };
            Date::from_calendar_date(y, m, 1).ok()
        })
        .ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?;
    let days = state
        .storage
        .availability_by_day(
            ctx.tenant.id,
            ServiceId(id),
            start_of_tokyo_day(first),
            start_of_tokyo_day(next),
        )
        .await?;
    let mut out = Vec::new();
    let mut date = first;
    while date < next {
        let day = days.iter().find(|d| d.date == date);
        let (status, seats_left) = match day {
            None => ("closed", 0),
            Some(d) => {
                let left = d.capacity - d.taken;
                let status = if left <= 0 {
                    "full"
                } else if left * 5 <= d.capacity {
                    "few"
                } else {
                    "open"
                };
                (status, left.max(0))
            }
        };
        out.push(DayResponse {
            date: date.to_string(),
            status,
            seats_left,
        });
        date = match date.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(Json(out))
}

pub(crate) fn applicant_of(input: Option<&ApplicantInput>) -> AppResult<Applicant> {
    let Some(input) = input else {
        return Ok(Applicant {
            birth_date: None,
            sex: None,
            resident: true,
        });
    };
    let birth_date = input
        .birth_date
        .as_deref()
        .map(|d| parse_date("applicant.birth_date", d))
        .transpose()?;
    let sex = input
        .sex
        .as_deref()
        .map(|raw| {
            Sex::parse(raw)
                .ok_or_else(|| AppError::field("applicant.sex", ErrorCode::ValidationFailed))
        })
        .transpose()?;
    Ok(Applicant {
        birth_date,
        sex,
        resident: input.resident,
    })
}

/// Book a seat (residents). Send an `Idempotency-Key` header so a retried request never books
/// twice: the retry answers 200 with the first reservation.
#[utoipa::path(post, path = "/api/v1/reservations", tag = "reservations", security(("bearer" = [])), request_body = ReserveRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-100 visible ASCII characters")),
    responses((status = 201, body = ReservationResponse), (status = 200, body = ReservationResponse, description = "replayed"),
        (status = 404, body = ErrorBody, description = "no such slot"),
        (status = 409, body = ErrorBody, description = "slot_full, booking_not_open, booking_closed, booking_day_closed, personal_limit_reached"),
        (status = 422, body = ErrorBody, description = "eligibility, or the answers: every wrong one at `answers.<id>` (see AnswerValue)")))]
pub async fn reserve(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiResident,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReserveRequest>,
) -> AppResult<(StatusCode, Json<ReservationResponse>)> {
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| ErrorCode::InvalidIdempotencyKey)
                .and_then(IdempotencyKey::parse)
                .map_err(AppError::new)
        })
        .transpose()?;
    let request = BookingRequest {
        slot_id: SlotId(body.slot_id),
        account_id: Some(caller.account.id),
        booked_by: None,
        // Keys are the client's own: scoped to the account, another resident's "retry-1" can
        // never return this resident's booking.
        idempotency_key: idempotency_key.map(|key| format!("api:{}:{key}", caller.account.id)),
        hold: body.hold,
        applicant: applicant_of(body.applicant.as_ref())?,
        answers: body.answers.unwrap_or_else(|| serde_json::json!({})),
        remote_join: body.join,
        caller: None,
        fee: body.payment,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Resident(caller.account.id));
    let outcome = uc::book(&state.reservations(), &scope, request)
        .await?
        .outcome;
    Ok(match outcome {
        ReserveOutcome::Created(r) => (StatusCode::CREATED, Json(reservation_response(&r))),
        ReserveOutcome::Replayed(r) => (StatusCode::OK, Json(reservation_response(&r))),
    })
}

pub(crate) async fn own_reservation(
    state: &AppState,
    ctx: &Ctx,
    caller: &ApiCaller,
    id: Uuid,
) -> AppResult<Reservation> {
    let reservation = state
        .storage
        .reservation(ctx.tenant.id, ReservationId(id))
        .await?;
    let mine = reservation.account_id == Some(caller.account.id);
    let staff = match &caller.access {
        Some(access) => {
            let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
            uc::staff_may_handle(&state.reservations(), &scope, access, &reservation).await?
        }
        None => false,
    };
    if mine || staff {
        Ok(reservation)
    } else {
        Err(AppError::new(ErrorCode::NotFound))
    }
}

/// One reservation (its resident, or an administrator).
#[utoipa::path(get, path = "/api/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ReservationResponse), (status = 404, body = ErrorBody)))]
pub async fn reservation(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<Json<ReservationResponse>> {
    caller.require(ApiScope::AccountRead)?;
    Ok(Json(reservation_response(
        &own_reservation(&state, &ctx, &caller, id).await?,
    )))
}

/// Confirm a hold before it expires.
#[utoipa::path(post, path = "/api/v1/reservations/{id}/confirm", tag = "reservations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ReservationResponse), (status = 409, body = ErrorBody, description = "hold_expired")))]
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<Json<ReservationResponse>> {
    caller.require(ApiScope::AccountRead)?;
    let reservation = own_reservation(&state, &ctx, &caller, id).await?;
    let actor = reservation
        .account_id
        .map_or(Actor::Anonymous, Actor::Resident);
    let scope = state.scope(ctx.tenant.id, actor);
    let confirmed = uc::confirm_hold(&state.reservations(), &scope, &reservation).await?;
    Ok(Json(reservation_response(&confirmed)))
}

/// Cancel: residents before the service's deadline; administrators at any time, with a reason.
#[utoipa::path(delete, path = "/api/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])), params(("id" = Uuid, Path), CancelQuery),
    responses((status = 200, body = ReservationResponse), (status = 409, body = ErrorBody, description = "cancellation_deadline_passed, reservation_not_active")))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
    Query(query): Query<CancelQuery>,
) -> AppResult<Json<ReservationResponse>> {
    caller.require(ApiScope::AccountRead)?;
    let reservation = own_reservation(&state, &ctx, &caller, id).await?;
    let by_staff = caller.account.kind == AccountKind::Staff;
    let canceller = uc::By {
        account: caller.account.id,
        by_staff,
        access: caller.access.as_ref(),
        reason: query.reason.as_deref(),
    };
    let scope = state.scope(ctx.tenant.id, canceller.actor());
    let cancelled = uc::cancel(&state.reservations(), &scope, &reservation, canceller).await?;
    Ok(Json(reservation_response(&cancelled)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// A reservation number as a caller reads it out: any case, with or without the hyphen or
    /// spaces, full-width characters allowed (`k7qx3mpa`, `Ｋ７ＱＸ－３ＭＰＡ`).
    pub reference: String,
}

/// Staff look a reservation up by its number (予約番号). The answer is a list: empty when no
/// reservation the caller handles has that number, or the text is no number at all.
#[utoipa::path(get, path = "/api/v1/reservations", tag = "reservations", security(("bearer" = [])), params(FindQuery),
    responses((status = 200, body = [ReservationResponse]), (status = 403, body = ErrorBody)))]
pub async fn find_reservations(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Query(query): Query<FindQuery>,
) -> AppResult<Json<Vec<ReservationResponse>>> {
    let access = caller.require_reservation_staff()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let found =
        uc::find_by_reference(&state.reservations(), &scope, access, &query.reference).await?;
    Ok(Json(found.iter().map(reservation_response).collect()))
}

/// The caller's reservations, in slot order.
#[utoipa::path(get, path = "/api/v1/me/reservations", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = [ReservationResponse])))]
pub async fn my_reservations(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<Vec<ReservationResponse>>> {
    caller.require(ApiScope::AccountRead)?;
    let list = state
        .storage
        .reservations_of_account(ctx.tenant.id, caller.account.id)
        .await?;
    Ok(Json(list.iter().map(reservation_response).collect()))
}
