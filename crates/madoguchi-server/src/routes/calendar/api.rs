//! `/api/v1/calendar`: the city's calendar settings for administrators, as JSON. The same use
//! cases as the pages (`madoguchi_usecases::calendar`): a holiday file is sent as the raw CSV
//! body (Shift_JIS or UTF-8), previewed against the computed holidays, then imported.

use crate::http::error::{AppError, AppResult, ErrorBody, FieldErrorBody};
use crate::http::{ApiAdmin, ApiCaller, ApiJson, Ctx};
use crate::state::AppState;
use crate::view::calendar as text;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_calendar::{ClosingRule, CsvError, HolidayDifference, OfficeClosingDays};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{ErrorCode, Lang, OfficeId};
use madoguchi_storage::{HolidayImport, OfficeCalendar};
use madoguchi_usecases::{Actor, calendar as uc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(overview))
        .route("/calendar/holidays/preview", post(preview))
        .route("/calendar/holidays/import", post(import))
        .route("/calendar/holidays/{year}", delete(remove_year))
        .route("/calendar/year-end-closure", put(set_year_end_closure))
        .route("/calendar/offices/{id}", get(office).put(replace_office))
        .route("/calendar/offices/{id}/rules", post(add_rule))
        .route(
            "/calendar/offices/{id}/rules/{rule_id}",
            delete(remove_rule),
        )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year whose holidays are listed; this year (Tokyo) when absent.
    pub year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct HolidayResponse {
    /// `YYYY-MM-DD`
    pub date: String,
    pub name_ja: String,
    pub name_en: String,
    /// computed (the Public Holiday Act) or imported (the city's list).
    pub source: &'static str,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearEndClosureBody {
    /// First closed day, `MM-DD`, e.g. `12-29`.
    pub first: String,
    /// Last closed day, `MM-DD`, e.g. `01-03`; may be in the next year.
    pub last: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearEndClosureRequest {
    /// The closure, or `null` for a city without one.
    pub closure: Option<YearEndClosureBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ClosingRuleResponse {
    pub id: Uuid,
    /// `{"kind": "weekly", "weekday": "monday", "on_holiday": "stay_closed"}`,
    /// `{"kind": "monthly_weekday", "week": "third", "weekday": "thursday"}`,
    /// `{"kind": "date", "date": "2026-04-01", "note": "設備点検"}` or
    /// `{"kind": "period", "first": "2026-07-01", "last": "2026-09-30", "note": null}`.
    #[schema(value_type = Object)]
    pub rule: ClosingRule,
    /// The rule in words, in the language of the request.
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficeCalendarResponse {
    pub office_id: Uuid,
    pub open_on_weekends_and_holidays: bool,
    pub rules: Vec<ClosingRuleResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarResponse {
    pub year: i32,
    /// Whether the holidays of `year` are known (computed for 1980–2099, or imported).
    pub covered: bool,
    pub holidays: Vec<HolidayResponse>,
    pub year_end_closure: Option<YearEndClosureBody>,
    /// Offices with closing days of their own; the others keep the municipal days off.
    pub offices: Vec<OfficeCalendarResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct DifferenceResponse {
    /// `YYYY-MM-DD`
    pub date: String,
    /// extra (only in the list: a day off is added), missing (a computed holiday the list
    /// lacks: it becomes a working day) or name_mismatch.
    pub difference: &'static str,
    pub computed_name: Option<String>,
    pub listed_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HolidayFileResponse {
    /// The years the file covers; each is replaced completely by an import.
    pub years: Vec<i32>,
    /// Holidays in the file.
    pub holidays: usize,
    /// Differences from the computed holidays, by date.
    pub differences: Vec<DifferenceResponse>,
    /// Rows stored (import only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<u64>,
    /// Imported rows of those years replaced (import only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
}

/// A holiday file that could not be read: the error body with the line of the problem.
#[derive(Serialize, ToSchema)]
pub struct HolidayFileErrorBody {
    pub error: HolidayFileError,
}

#[derive(Serialize, ToSchema)]
pub struct HolidayFileError {
    /// Always `invalid_holiday_file`.
    pub code: ErrorCode,
    /// What is wrong, with its line, in the requested language.
    pub message: String,
    /// The line of the file (the header is line 1), when the problem has one.
    pub line: Option<usize>,
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosingRuleRequest {
    /// One closing rule, as in `ClosingRuleResponse.rule`.
    #[schema(value_type = Object)]
    pub rule: ClosingRule,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeCalendarRequest {
    #[serde(default)]
    pub open_on_weekends_and_holidays: bool,
    /// Every closing rule of the office; replaces the ones it has.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<ClosingRule>,
}

#[derive(Serialize, ToSchema)]
pub struct RemovedResponse {
    pub removed: u64,
}

fn office_response(calendar: &OfficeCalendar, lang: Lang) -> OfficeCalendarResponse {
    OfficeCalendarResponse {
        office_id: calendar.office_id.0,
        open_on_weekends_and_holidays: calendar.open_on_weekends_and_holidays,
        rules: calendar
            .rules
            .iter()
            .map(|stored| ClosingRuleResponse {
                id: stored.id,
                description: text::describe_rule(&stored.rule, lang),
                rule: stored.rule.clone(),
            })
            .collect(),
    }
}

fn difference_response(difference: &HolidayDifference) -> DifferenceResponse {
    let (computed, listed) = text::difference_names(difference);
    DifferenceResponse {
        date: difference.date().to_string(),
        difference: text::difference_kind(difference),
        computed_name: computed.map(str::to_owned),
        listed_name: listed.map(str::to_owned),
    }
}

fn file_error(error: &CsvError, lang: Lang) -> Response {
    let message = text::csv_error_message(error, lang);
    let body = HolidayFileErrorBody {
        error: HolidayFileError {
            code: ErrorCode::InvalidHolidayFile,
            line: error.line(),
            fields: vec![FieldErrorBody {
                field: "file".into(),
                code: ErrorCode::InvalidHolidayFile,
                message: message.clone(),
            }],
            message,
        },
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// The calendar of a year: holidays with their source, the year-end closure, offices' closing
/// days (administrators).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar", security(("bearer" = [])), params(YearQuery),
    responses((status = 200, body = CalendarResponse), (status = 403, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Query(query): Query<YearQuery>,
) -> AppResult<Json<CalendarResponse>> {
    caller.require_admin(ApiScope::OrgRead)?;
    let year = query
        .year
        .unwrap_or_else(|| state.clock.now().to_offset(JST).year());
    if !(1948..=madoguchi_domain::tokyo::LATEST_YEAR).contains(&year) {
        return Err(AppError::field("year", ErrorCode::DateOutOfRange));
    }
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let holidays = calendar
        .holidays_in_year(year)
        .unwrap_or_default()
        .into_iter()
        .map(|h| HolidayResponse {
            date: h.date().to_string(),
            name_ja: h.name_ja().to_owned(),
            name_en: h.name_en().to_owned(),
            source: text::holiday_source(h),
        })
        .collect();
    let offices = state
        .storage
        .office_calendars(ctx.tenant.id)
        .await?
        .iter()
        .map(|c| office_response(c, ctx.lang))
        .collect();
    Ok(Json(CalendarResponse {
        year,
        covered: calendar.covers(year),
        holidays,
        year_end_closure: calendar.year_end_closure().map(|c| YearEndClosureBody {
            first: c.first().to_string(),
            last: c.last().to_string(),
        }),
        offices,
    }))
}

/// Check a Cabinet Office holiday file without storing it: the years it covers and its
/// differences from the computed holidays. The body is the file itself.
#[utoipa::path(post, path = "/api/v1/calendar/holidays/preview", tag = "calendar", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "`国民の祝日・休日月日,国民の祝日・休日名称`, then `YYYY/M/D,名称` rows; Shift_JIS or UTF-8"),
    responses((status = 200, body = HolidayFileResponse), (status = 422, body = HolidayFileErrorBody)))]
pub async fn preview(ctx: Ctx, _admin: ApiAdmin, body: Bytes) -> AppResult<Response> {
    let preview = match uc::preview_holiday_file(&body) {
        Ok(preview) => preview,
        Err(error) => return Ok(file_error(&error, ctx.lang)),
    };
    Ok(Json(HolidayFileResponse {
        holidays: preview.holidays.len(),
        differences: preview
            .differences
            .iter()
            .map(difference_response)
            .collect(),
        years: preview.years,
        stored: None,
        removed: None,
    })
    .into_response())
}

/// Import a Cabinet Office holiday file: it replaces the city's holidays of every year it
/// covers (a year not in the file keeps what it had). A file with any problem stores nothing.
#[utoipa::path(post, path = "/api/v1/calendar/holidays/import", tag = "calendar", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "the same file as for the preview"),
    responses((status = 200, body = HolidayFileResponse), (status = 422, body = HolidayFileErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    body: Bytes,
) -> AppResult<Response> {
    let preview = match uc::preview_holiday_file(&body) {
        Ok(preview) => preview,
        Err(error) => return Ok(file_error(&error, ctx.lang)),
    };
    let HolidayImport {
        years,
        removed,
        stored,
    } = uc::import_holidays(
        &*state.storage,
        &state.catalogue,
        &state.scope(ctx.tenant.id, Actor::Staff(caller.account.id)),
        &preview.holidays,
    )
    .await?;
    Ok(Json(HolidayFileResponse {
        years,
        holidays: preview.holidays.len(),
        differences: preview
            .differences
            .iter()
            .map(difference_response)
            .collect(),
        stored: Some(stored),
        removed: Some(removed),
    })
    .into_response())
}

/// Forget the imported holidays of a year: it follows the computed holidays again.
#[utoipa::path(delete, path = "/api/v1/calendar/holidays/{year}", tag = "calendar", security(("bearer" = [])),
    params(("year" = i32, Path)), responses((status = 200, body = RemovedResponse)))]
pub async fn remove_year(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(year): Path<i32>,
) -> AppResult<Json<RemovedResponse>> {
    caller.require_admin(ApiScope::OrgWrite)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let removed = uc::remove_imported_year(&*state.storage, &state.catalogue, &scope, year).await?;
    Ok(Json(RemovedResponse { removed }))
}

/// Set the city's year-end closure, or `{"closure": null}` for none.
#[utoipa::path(put, path = "/api/v1/calendar/year-end-closure", tag = "calendar", security(("bearer" = [])),
    request_body = YearEndClosureRequest,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn set_year_end_closure(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<YearEndClosureRequest>,
) -> AppResult<StatusCode> {
    let closure = body
        .closure
        .map(|c| uc::parse_year_end_closure(&c.first, &c.last))
        .transpose()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    uc::set_year_end_closure(&*state.storage, &state.catalogue, &scope, closure).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One office's calendar (an office without one keeps the municipal days off).
#[utoipa::path(get, path = "/api/v1/calendar/offices/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OfficeCalendarResponse), (status = 404, body = ErrorBody)))]
pub async fn office(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OfficeCalendarResponse>> {
    caller.require_admin(ApiScope::OrgRead)?;
    let calendar = state
        .storage
        .office_calendar(ctx.tenant.id, OfficeId(id))
        .await?;
    Ok(Json(office_response(&calendar, ctx.lang)))
}

/// Replace one office's calendar: its weekend-and-holiday opening and all its closing rules.
#[utoipa::path(put, path = "/api/v1/calendar/offices/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = OfficeCalendarRequest,
    responses((status = 200, body = OfficeCalendarResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn replace_office(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<OfficeCalendarRequest>,
) -> AppResult<Json<OfficeCalendarResponse>> {
    let rules = body
        .rules
        .into_iter()
        .map(uc::checked_rule)
        .collect::<Result<Vec<_>, _>>()?;
    let days = OfficeClosingDays {
        open_on_weekends_and_holidays: body.open_on_weekends_and_holidays,
        rules,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let calendar = uc::replace_office_calendar(
        &*state.storage,
        &state.catalogue,
        &scope,
        OfficeId(id),
        &days,
    )
    .await?;
    Ok(Json(office_response(&calendar, ctx.lang)))
}

/// Add one closing rule to an office. Adding a rule the office already has changes nothing.
#[utoipa::path(post, path = "/api/v1/calendar/offices/{id}/rules", tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ClosingRuleRequest,
    responses((status = 200, body = OfficeCalendarResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ClosingRuleRequest>,
) -> AppResult<Json<OfficeCalendarResponse>> {
    let rule = uc::checked_rule(body.rule)?;
    let office = OfficeId(id);
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    uc::add_closing_rule(&*state.storage, &state.catalogue, &scope, office, rule).await?;
    let calendar = state.storage.office_calendar(ctx.tenant.id, office).await?;
    Ok(Json(office_response(&calendar, ctx.lang)))
}

/// Remove one closing rule of an office.
#[utoipa::path(delete, path = "/api/v1/calendar/offices/{id}/rules/{rule_id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("rule_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path((id, rule_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    caller.require_admin(ApiScope::OrgWrite)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    uc::remove_closing_rule(
        &*state.storage,
        &state.catalogue,
        &scope,
        OfficeId(id),
        rule_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
