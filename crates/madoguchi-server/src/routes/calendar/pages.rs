//! The administrator's calendar pages: the holidays of a year (computed or imported), the
//! year-end closure, each office's closing days, and the import of a Cabinet Office holiday
//! file in two steps (upload and check the differences, then confirm).
//!
//! The checked list travels from the preview to the confirmation in a hidden field and is
//! checked again there, so any node can confirm a preview another node showed, and nothing is
//! kept in memory between the two requests.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::calendar as cal;
use crate::view::page::{form_errors, staff_base};
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_calendar::{CsvError, HolidayDifference};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{ErrorCode, Lang, OfficeId};
use madoguchi_usecases::calendar::{self as uc, RuleInput};
use madoguchi_usecases::{Actor, Scope};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(overview))
        .route("/admin/calendar/year-end", post(set_year_end))
        .route("/admin/calendar/holidays/remove", post(remove_year))
        .route(
            "/admin/calendar/import",
            get(import_form).post(import_preview),
        )
        .route("/admin/calendar/import/confirm", post(import_confirm))
        .route("/admin/calendar/offices/{id}", get(office_page))
        .route("/admin/calendar/offices/{id}/rules", post(add_rule))
        .route(
            "/admin/calendar/offices/{id}/rules/{rule}/remove",
            post(remove_rule),
        )
        .route(
            "/admin/calendar/offices/{id}/open-days",
            post(set_open_days),
        )
}

/// The earliest and latest year the overview shows; outside them a year is a typing mistake.
const YEARS_SHOWN: std::ops::RangeInclusive<i32> = 1948..=2200;

fn text(lang: Lang, key: &str) -> String {
    crate::i18n::text(lang, key)
}

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct OverviewQuery {
    year: Option<i32>,
    /// How many holidays an import just stored, for the notice after the redirect.
    imported: Option<u64>,
}

#[derive(Serialize)]
struct HolidayView {
    date_iso: String,
    date: String,
    name: String,
    source_label: String,
}

#[derive(Serialize)]
struct OfficeRow {
    id: String,
    name: String,
    open_on_weekends_and_holidays: bool,
    rules: Vec<String>,
}

#[derive(Deserialize, Serialize, Default)]
struct YearEndForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    last: String,
}

async fn render_overview(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    year: i32,
    extra: minijinja::Value,
    form: Option<YearEndForm>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let covered = calendar.covers(year);
    let holidays = calendar.holidays_in_year(year).unwrap_or_default();
    let imported_year = holidays
        .iter()
        .any(|h| cal::holiday_source(h) == "imported");
    let holidays: Vec<HolidayView> = holidays
        .into_iter()
        .map(|h| HolidayView {
            date_iso: h.date().to_string(),
            date: cal::format_date(h.date(), lang),
            name: cal::holiday_name(h, lang).to_owned(),
            source_label: text(lang, &format!("calendar_source_{}", cal::holiday_source(h))),
        })
        .collect();
    let closure = calendar.year_end_closure().copied();
    let values = form.unwrap_or_else(|| match closure {
        Some(c) => YearEndForm {
            mode: "closure".into(),
            first: c.first().to_string(),
            last: c.last().to_string(),
        },
        None => YearEndForm {
            mode: "none".into(),
            ..YearEndForm::default()
        },
    });
    let stored = state.storage.office_calendars(ctx.tenant.id).await?;
    let offices: Vec<OfficeRow> = state
        .offices(ctx.tenant.id)
        .await?
        .iter()
        .map(|office| {
            let own = stored.iter().find(|c| c.office_id == office.id);
            OfficeRow {
                id: office.id.to_string(),
                name: office.name(lang).to_owned(),
                open_on_weekends_and_holidays: own.is_some_and(|c| c.open_on_weekends_and_holidays),
                rules: own
                    .map(|c| {
                        c.rules
                            .iter()
                            .map(|r| cal::describe_rule(&r.rule, lang))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "admin/calendar.html",
        &base,
        context! {
            year => year.to_string(),
            previous_year => (year - 1).to_string(),
            next_year => (year + 1).to_string(),
            covered,
            imported_year,
            holidays,
            closure_text => cal::describe_year_end_closure(closure.as_ref(), lang),
            values,
            offices,
            ..extra
        },
    )
}

/// This year in Tokyo, by the node's clock.
fn this_year(state: &AppState) -> i32 {
    state.clock.now().to_offset(JST).year()
}

/// The scope of an administrator's change.
fn admin_scope(state: &AppState, ctx: &Ctx, staff: &StaffSession) -> Scope {
    state.scope(ctx.tenant.id, Actor::Staff(staff.account.id))
}

async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<OverviewQuery>,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let year = query.year.unwrap_or_else(|| this_year(&state));
    if !YEARS_SHOWN.contains(&year) {
        return Err(AppError::field("year", ErrorCode::ValidationFailed));
    }
    let notice = query
        .imported
        .map(|n| text(ctx.lang, "calendar_imported_notice").replace("{n}", &n.to_string()));
    render_overview(
        &state,
        &ctx,
        &session,
        &staff,
        year,
        context! { notice },
        None,
    )
    .await
}

async fn set_year_end(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<YearEndForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let result = async {
        let closure = match form.mode.as_str() {
            "none" => None,
            "closure" => Some(uc::parse_year_end_closure(&form.first, &form.last)?),
            _ => return Err(AppError::field("mode", ErrorCode::ValidationFailed)),
        };
        let scope = admin_scope(&state, &ctx, &staff);
        Ok(uc::set_year_end_closure(&*state.storage, &state.catalogue, &scope, closure).await?)
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/admin/calendar#year-end").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error, ctx.lang)?;
            let page = render_overview(
                &state,
                &ctx,
                &session,
                &staff,
                this_year(&state),
                context! { errors, alert },
                Some(form),
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct YearForm {
    year: i32,
}

async fn remove_year(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    PageForm(form): PageForm<YearForm>,
) -> AppResult<Redirect> {
    staff.require_admin()?;
    if !YEARS_SHOWN.contains(&form.year) {
        return Err(AppError::field("year", ErrorCode::ValidationFailed));
    }
    let scope = admin_scope(&state, &ctx, &staff);
    uc::remove_imported_year(&*state.storage, &state.catalogue, &scope, form.year).await?;
    Ok(Redirect::to(&format!("/admin/calendar?year={}", form.year)))
}

// ---------------------------------------------------------------------------------------------
// Import: upload and preview, then confirm
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct DifferenceView {
    date_iso: String,
    date: String,
    label: String,
    computed_name: String,
    listed_name: String,
}

#[derive(Serialize)]
struct PreviewView {
    years: String,
    count: String,
    differences: Vec<DifferenceView>,
    payload: String,
}

fn difference_view(difference: &HolidayDifference, lang: Lang) -> DifferenceView {
    let (computed, listed) = cal::difference_names(difference);
    DifferenceView {
        date_iso: difference.date().to_string(),
        date: cal::format_date(difference.date(), lang),
        label: text(
            lang,
            &format!("calendar_difference_{}", cal::difference_kind(difference)),
        ),
        computed_name: computed.unwrap_or_default().to_owned(),
        listed_name: listed.unwrap_or_default().to_owned(),
    }
}

async fn import_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let base = staff_base(&ctx, &staff, &session).await?;
    state
        .templates
        .page("admin/calendar_import.html", &base, context! {})
}

/// The uploaded file's bytes (the `file` field), or the CSV problem "empty" when none came.
async fn uploaded_file(multipart: Multipart) -> AppResult<Vec<u8>> {
    Ok(crate::http::upload::file_field(multipart, "file")
        .await?
        .bytes)
}

async fn render_file_error(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    error: &CsvError,
) -> AppResult<Response> {
    let base = staff_base(ctx, staff, session).await?;
    let page = state.templates.page(
        "admin/calendar_import.html",
        &base,
        context! { file_error => cal::csv_error_message(error, ctx.lang) },
    )?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn import_preview(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    multipart: Multipart,
) -> AppResult<Response> {
    staff.require_admin()?;
    let bytes = uploaded_file(multipart).await?;
    let preview = match uc::preview_holiday_file(&bytes) {
        Ok(preview) => preview,
        Err(error) => return render_file_error(&state, &ctx, &session, &staff, &error).await,
    };
    let years: Vec<String> = preview.years.iter().map(i32::to_string).collect();
    let view = PreviewView {
        years: years.join(match ctx.lang {
            Lang::Ja => "年・",
            Lang::En => ", ",
        }),
        count: preview.holidays.len().to_string(),
        differences: preview
            .differences
            .iter()
            .map(|d| difference_view(d, ctx.lang))
            .collect(),
        payload: uc::encode_holidays(&preview.holidays),
    };
    let base = staff_base(&ctx, &staff, &session).await?;
    Ok(state
        .templates
        .page(
            "admin/calendar_import.html",
            &base,
            context! { preview => view },
        )?
        .into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    holidays: String,
}

async fn import_confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<ConfirmForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let holidays = match uc::decode_holidays(&form.holidays) {
        Ok(holidays) => holidays,
        Err(error) => return render_file_error(&state, &ctx, &session, &staff, &error).await,
    };
    let scope = admin_scope(&state, &ctx, &staff);
    let import = uc::import_holidays(&*state.storage, &state.catalogue, &scope, &holidays).await?;
    let year = import
        .years
        .first()
        .copied()
        .unwrap_or_else(|| this_year(&state));
    Ok(Redirect::to(&format!(
        "/admin/calendar?year={year}&imported={}",
        import.stored
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// One office's closing days
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct RuleView {
    id: String,
    text: String,
}

#[derive(Serialize)]
struct OptionView {
    value: &'static str,
    label: String,
}

#[derive(Deserialize, Serialize, Default)]
struct RuleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    last: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    on_holiday: String,
    #[serde(default)]
    week: String,
}

async fn render_office(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    office: OfficeId,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let record = state.storage.office(ctx.tenant.id, office).await?;
    let calendar = state.storage.office_calendar(ctx.tenant.id, office).await?;
    let rules: Vec<RuleView> = calendar
        .rules
        .iter()
        .map(|r| RuleView {
            id: r.id.to_string(),
            text: cal::describe_rule(&r.rule, lang),
        })
        .collect();
    let options = |pairs: Vec<(&'static str, String)>| -> Vec<OptionView> {
        pairs
            .into_iter()
            .map(|(value, label)| OptionView { value, label })
            .collect()
    };
    let weekdays = options(cal::weekday_options(lang));
    let weeks = options(cal::week_options(lang));
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "admin/calendar_office.html",
        &base,
        context! {
            office => context! { id => record.id.to_string(), name => record.name(lang) },
            open_on_weekends_and_holidays => calendar.open_on_weekends_and_holidays,
            rules,
            weekdays,
            weeks,
            ..extra
        },
    )
}

async fn office_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    render_office(
        &state,
        &ctx,
        &session,
        &staff,
        OfficeId(id),
        context! { values => context! {} },
    )
    .await
}

impl RuleForm {
    /// The form's fields as the use case reads them.
    fn input(&self) -> RuleInput<'_> {
        RuleInput {
            kind: &self.kind,
            date: &self.date,
            last: &self.last,
            note: &self.note,
            weekday: &self.weekday,
            on_holiday: &self.on_holiday,
            week: &self.week,
        }
    }
}

async fn add_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<RuleForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let office = OfficeId(id);
    let result = async {
        let rule = uc::parse_rule(&form.input())?;
        let scope = admin_scope(&state, &ctx, &staff);
        uc::add_closing_rule(&*state.storage, &state.catalogue, &scope, office, rule).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/calendar/offices/{id}#rules")).into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let page = render_office(
                &state,
                &ctx,
                &session,
                &staff,
                office,
                context! { values => form, errors, alert },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

async fn remove_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path((id, rule)): Path<(Uuid, Uuid)>,
) -> AppResult<Redirect> {
    staff.require_admin()?;
    let scope = admin_scope(&state, &ctx, &staff);
    uc::remove_closing_rule(
        &*state.storage,
        &state.catalogue,
        &scope,
        OfficeId(id),
        rule,
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/calendar/offices/{id}#rules")))
}

#[derive(Deserialize)]
struct OpenDaysForm {
    /// A checkbox: present when ticked.
    #[serde(default)]
    open: Option<String>,
}

async fn set_open_days(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<OpenDaysForm>,
) -> AppResult<Redirect> {
    staff.require_admin()?;
    let scope = admin_scope(&state, &ctx, &staff);
    uc::set_open_on_weekends_and_holidays(
        &*state.storage,
        &state.catalogue,
        &scope,
        OfficeId(id),
        form.open.is_some(),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/calendar/offices/{id}")))
}
