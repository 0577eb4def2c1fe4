//! The day sheet (予約一覧) with its CSV export, and marking attendance.

use super::AnswerView;
use super::CSV_HEADER;
use super::Scope;
use super::SelectOption;
use super::answer_views;
use super::handled_reservation;
use super::optional_uuid;
use super::require_handler;
use super::rules_by_service;
use super::scope_of;
use super::shown_on_page;
use super::text;
use crate::day_sheet::{DaySheetLine, day_sheet_line, day_sheet_rows, next_booked_day};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_booking::ServiceRules;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{DepartmentId, ErrorCode, Lang, OfficeId, ReservationId, ServiceId};
use madoguchi_storage::{Attendance, DaySheetRow, Office, ReservationStatus};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations as uc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/day-sheet", get(day_sheet))
        .route("/staff/day-sheet.csv", get(day_sheet_csv))
        .route("/staff/reservations/find", get(find_reservation))
        .route("/staff/reservations/{id}/attendance", post(attendance))
}

// ---------------------------------------------------------------------------------------------
// GET /staff/day-sheet and /staff/day-sheet.csv

#[derive(Deserialize, Default)]
struct SheetQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    department: String,
    /// Set by the redirect after marking attendance.
    #[serde(default)]
    marked: String,
    #[serde(default)]
    suspended: String,
}

/// Which day and which part of it a sheet shows.
#[derive(Clone, Copy)]
struct SheetFilter {
    date: Date,
    office: Option<OfficeId>,
    department: Option<DepartmentId>,
}

impl SheetFilter {
    /// Reads the filter; an office or department the staff member does not handle is refused.
    fn parse(
        date: &str,
        office: &str,
        department: &str,
        default_date: Date,
        scope: &Scope,
    ) -> AppResult<Self> {
        let date = match date.trim() {
            "" => default_date,
            raw => parse_day(raw)
                .ok_or_else(|| AppError::field("date", ErrorCode::ValidationFailed))?,
        };
        let office = optional_uuid("office", office)?.map(OfficeId);
        if let Some(id) = office
            && !scope.offices.iter().any(|o| o.id == id)
        {
            return Err(AppError::new(ErrorCode::Forbidden));
        }
        let department = optional_uuid("department", department)?.map(DepartmentId);
        if let Some(id) = department
            && !scope.departments.iter().any(|d| d.id == id)
        {
            return Err(AppError::new(ErrorCode::Forbidden));
        }
        Ok(Self {
            date,
            office,
            department,
        })
    }

    /// The query string of this filter on `date`.
    fn query_on(&self, date: Date) -> String {
        let mut query = format!("date={date}");
        if let Some(office) = self.office {
            query.push_str(&format!("&office={office}"));
        }
        if let Some(department) = self.department {
            query.push_str(&format!("&department={department}"));
        }
        query
    }
}

/// One reservation of the sheet: the stored row and what the sheet shows of it.
struct SheetEntry {
    row: DaySheetRow,
    line: DaySheetLine,
}

/// The day's rows the staff member may see, by starting time (then booking order).
async fn sheet_entries(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    filter: &SheetFilter,
) -> AppResult<Vec<SheetEntry>> {
    let mut rows = day_sheet_rows(
        state,
        ctx,
        access,
        filter.date,
        filter.office,
        filter.department,
    )
    .await?;
    rows.sort_by_key(|r| (r.slot.starts_at, r.reservation.created_at));
    Ok(rows
        .into_iter()
        .map(|row| {
            let line = day_sheet_line(&row);
            SheetEntry { row, line }
        })
        .collect())
}

#[derive(Serialize)]
struct SheetRowView {
    id: String,
    /// The reservation number (予約番号), e.g. `K7QX-3MPA`.
    reference: String,
    time: String,
    service: String,
    office: String,
    name: String,
    kana: String,
    phone: String,
    email: String,
    /// held, confirmed, cancelled, expired, attended or no_show.
    status: &'static str,
    answers: Vec<AnswerView>,
    booked_by_staff: bool,
    /// The attendance marks that may be recorded now: `attended`, `no_show`.
    marks: Vec<&'static str>,
    /// A reservation ahead of its day: attendance is recorded from the day on.
    mark_later: bool,
    /// Whether the row offers 変更・キャンセル; a cancelled or expired one shows its state.
    changeable: bool,
    error: Option<String>,
}

#[derive(Serialize, Default)]
struct Counts {
    /// Every reservation that took a seat (not cancelled or expired).
    booked: usize,
    attended: usize,
    no_show: usize,
    cancelled: usize,
}

/// The marks staff may record for a reservation in `status` on a day that has come.
pub(super) fn marks_for(status: ReservationStatus) -> Vec<&'static str> {
    match status {
        ReservationStatus::Confirmed => vec!["attended", "no_show"],
        ReservationStatus::Attended => vec!["no_show"],
        ReservationStatus::NoShow => vec!["attended"],
        _ => Vec::new(),
    }
}

/// What the sheet says on top, besides the rows.
#[derive(Default)]
struct SheetNotice {
    notice: Vec<String>,
    alert: Option<String>,
    /// The row a refusal was about, and the refusal.
    error_row: Option<(ReservationId, String)>,
    /// A reservation number that found nothing, shown again in the search box.
    not_found: Option<String>,
    /// The sheet was asked for without a date and today has nothing: it shows the next
    /// working day with bookings instead, and says so.
    opened_ahead: bool,
}

/// Today in Tokyo by the node's clock (a test's `ManualClock` moves it).
fn today(state: &AppState) -> Date {
    tokyo_today(state.clock.now())
}

async fn render_sheet(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    scope: &Scope,
    filter: SheetFilter,
    notice: SheetNotice,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let entries = sheet_entries(state, ctx, &staff.access, &filter).await?;
    let services = state.storage.list_services(ctx.tenant.id).await?;
    let rules = rules_by_service(&services);
    let offices = state.offices(ctx.tenant.id).await?;
    let today = today(state);
    let mut counts = Counts::default();
    let rows: Vec<SheetRowView> = entries
        .iter()
        .map(|SheetEntry { row, line }| {
            let status = row.reservation.status;
            match status {
                ReservationStatus::Cancelled => counts.cancelled += 1,
                ReservationStatus::Expired => {}
                ReservationStatus::Attended => {
                    counts.booked += 1;
                    counts.attended += 1;
                }
                ReservationStatus::NoShow => {
                    counts.booked += 1;
                    counts.no_show += 1;
                }
                ReservationStatus::Held | ReservationStatus::Confirmed => counts.booked += 1,
            }
            let day_has_come = tokyo_date(row.slot.starts_at) <= today;
            SheetRowView {
                id: row.reservation.id.to_string(),
                reference: row.reservation.reference.to_string(),
                time: time_range(&row.slot, lang),
                service: match lang {
                    Lang::Ja => line.service_name_ja.clone(),
                    Lang::En => line.service_name_en.clone(),
                },
                office: office_name(&offices, row.slot.office_id, lang),
                name: line.name.clone().unwrap_or_default(),
                kana: line.name_kana.clone().unwrap_or_default(),
                phone: line.phone.clone().unwrap_or_default(),
                email: line.email.clone().unwrap_or_default(),
                status: line.status,
                answers: answer_views(&line.answers, rules.get(&row.reservation.service_id), lang),
                booked_by_staff: line.booked_by_staff,
                marks: if day_has_come {
                    marks_for(status)
                } else {
                    Vec::new()
                },
                mark_later: !day_has_come && status == ReservationStatus::Confirmed,
                changeable: !matches!(
                    status,
                    ReservationStatus::Cancelled | ReservationStatus::Expired
                ),
                error: notice
                    .error_row
                    .as_ref()
                    .filter(|(id, _)| *id == row.reservation.id)
                    .map(|(_, message)| message.clone()),
            }
        })
        .collect();
    let option = |value: String, label: String, selected: bool| SelectOption {
        value,
        label,
        selected,
    };
    let office_options: Vec<SelectOption> = scope
        .offices
        .iter()
        .map(|o| {
            option(
                o.id.to_string(),
                o.name(lang).to_owned(),
                filter.office == Some(o.id),
            )
        })
        .collect();
    let department_options: Vec<SelectOption> = scope
        .departments
        .iter()
        .map(|d| {
            option(
                d.id.to_string(),
                d.name(lang).to_owned(),
                filter.department == Some(d.id),
            )
        })
        .collect();
    let office_label = filter
        .office
        .map(|id| office_name(&offices, id, lang))
        .unwrap_or_else(|| text(lang, "staff_res_all_offices"));
    let department_label = filter
        .department
        .and_then(|id| scope.departments.iter().find(|d| d.id == id))
        .map(|d| d.name(lang).to_owned())
        .unwrap_or_else(|| text(lang, "staff_res_all_departments"));
    let day_link = |date: Option<Date>| {
        date.map(|d| {
            context! {
                href => format!("/staff/day-sheet?{}", filter.query_on(d)),
                label => date_label(d, lang),
            }
        })
    };
    let today_href =
        (filter.date != today).then(|| format!("/staff/day-sheet?{}", filter.query_on(today)));
    // From any day (today included) one click to the next day that has work.
    let next_booked = match filter.date.next_day() {
        Some(after) => {
            next_booked_day(
                state,
                ctx,
                &staff.access,
                after,
                filter.office,
                filter.department,
            )
            .await?
        }
        None => None,
    };
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/day_sheet.html",
        &base,
        context! {
            section => "sheet",
            date => filter.date.to_string(),
            date_label => date_label(filter.date, lang),
            office_label,
            department_label,
            offices => office_options,
            departments => department_options,
            previous => day_link(filter.date.previous_day()),
            next => day_link(filter.date.next_day()),
            today_href,
            today_label => date_label(today, lang),
            next_booked => day_link(next_booked),
            opened_ahead => notice.opened_ahead,
            csv_href => format!("/staff/day-sheet.csv?{}", filter.query_on(filter.date)),
            office_value => filter.office.map(|o| o.to_string()).unwrap_or_default(),
            department_value => filter.department.map(|d| d.to_string()).unwrap_or_default(),
            rows,
            counts,
            find_value => notice.not_found.clone().unwrap_or_default(),
            find_error => notice.not_found.is_some(),
            notice => notice.notice,
            alert => notice.alert,
        },
    )
}

async fn day_sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SheetQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let scope = scope_of(&state, &ctx, &staff.access).await?;
    let today = today(&state);
    let mut filter =
        SheetFilter::parse(&query.date, &query.office, &query.department, today, &scope)?;
    let mut notice = SheetNotice::default();
    // Without a date the sheet opens on the first working day from today on that has bookings.
    if query.date.trim().is_empty()
        && let Some(day) = next_booked_day(
            &state,
            &ctx,
            &staff.access,
            today,
            filter.office,
            filter.department,
        )
        .await?
        && day != today
    {
        filter.date = day;
        notice.opened_ahead = true;
    }
    match query.marked.as_str() {
        "attended" => notice.notice.push(text(lang, "staff_res_marked_attended")),
        "no_show" => notice.notice.push(text(lang, "staff_res_marked_no_show")),
        _ => {}
    }
    if !query.suspended.is_empty() {
        notice.notice.push(text(lang, "staff_res_marked_suspended"));
    }
    render_sheet(&state, &ctx, &session, &staff, &scope, filter, notice).await
}

#[derive(Deserialize, Default)]
struct FindQuery {
    #[serde(default)]
    reference: String,
}

/// GET /staff/reservations/find?reference=…: the reservation with the number a caller reads
/// out, typed as it comes (any case, with or without the hyphen, full-width). Found: its page.
/// Not found (or another office's): today's sheet says so, with the number kept in the box.
async fn find_reservation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<FindQuery>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let found = uc::find_by_reference(
        &state.reservations(),
        &scope,
        &staff.access,
        &query.reference,
    )
    .await?;
    if let Some(reservation) = found {
        return Ok(
            Redirect::to(&format!("/staff/reservations/{}", reservation.id)).into_response(),
        );
    }
    let sheet_scope = scope_of(&state, &ctx, &staff.access).await?;
    let filter = SheetFilter::parse("", "", "", today(&state), &sheet_scope)?;
    let notice = SheetNotice {
        alert: Some(text(lang, "staff_res_find_none")),
        not_found: Some(query.reference.chars().take(40).collect()),
        ..SheetNotice::default()
    };
    let html = render_sheet(&state, &ctx, &session, &staff, &sheet_scope, filter, notice).await?;
    Ok((axum::http::StatusCode::NOT_FOUND, html).into_response())
}

/// A spreadsheet cell from text a resident or clerk typed: a leading `=`, `+`, `-` or `@` would
/// make Excel read it as a formula, so such text gets a leading apostrophe.
pub(super) fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The sheet as CSV for Excel in Japan: UTF-8 with a byte-order mark (without it Excel reads
/// Shift_JIS), CRLF line ends, fields quoted where needed, the header in Japanese.
fn sheet_csv(
    entries: &[SheetEntry],
    rules: &BTreeMap<ServiceId, ServiceRules>,
    offices: &[Office],
) -> AppResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    writer
        .write_record(CSV_HEADER)
        .map_err(AppError::internal)?;
    for SheetEntry { row, line } in entries {
        let answers: Vec<String> = answer_views(
            &line.answers,
            rules.get(&row.reservation.service_id),
            Lang::Ja,
        )
        .into_iter()
        .map(|a| format!("{}：{}", a.label, a.answer))
        .collect();
        let record = [
            tokyo_date(row.slot.starts_at).to_string(),
            clock(row.slot.starts_at),
            clock(row.slot.ends_at),
            csv_cell(&office_name(offices, row.slot.office_id, Lang::Ja)),
            csv_cell(&line.service_name_ja),
            csv_cell(line.name.as_deref().unwrap_or_default()),
            csv_cell(line.name_kana.as_deref().unwrap_or_default()),
            csv_cell(line.phone.as_deref().unwrap_or_default()),
            csv_cell(line.email.as_deref().unwrap_or_default()),
            text(Lang::Ja, &format!("staff_res_state_{}", line.status)),
            csv_cell(&answers.join("／")),
            if line.booked_by_staff { "はい" } else { "" }.to_owned(),
            line.reference.to_string(),
        ];
        writer.write_record(&record).map_err(AppError::internal)?;
    }
    writer.into_inner().map_err(AppError::internal)
}

async fn day_sheet_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Query(query): Query<SheetQuery>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let scope = scope_of(&state, &ctx, &staff.access).await?;
    let filter = SheetFilter::parse(
        &query.date,
        &query.office,
        &query.department,
        today(&state),
        &scope,
    )?;
    let entries = sheet_entries(&state, &ctx, &staff.access, &filter).await?;
    let services = state.storage.list_services(ctx.tenant.id).await?;
    let offices = state.offices(ctx.tenant.id).await?;
    let body = sheet_csv(&entries, &rules_by_service(&services), &offices)?;
    // Personal data leaves the system: who took which day's list, and how many lines.
    let details = serde_json::json!({
        "date": filter.date.to_string(),
        "office_id": filter.office.map(|o| o.to_string()),
        "department_id": filter.department.map(|d| d.to_string()),
        "rows": entries.len(),
    });
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(staff.account.id),
        ),
        "day_sheet.exported",
        None,
        details,
    )
    .await?;
    let disposition = format!("attachment; filename=\"yoyaku-{}.csv\"", filter.date);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// POST /staff/reservations/{id}/attendance

#[derive(Deserialize)]
struct AttendanceForm {
    #[serde(default)]
    attendance: String,
    /// The sheet to go back to.
    #[serde(default)]
    date: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    department: String,
}

async fn attendance(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<AttendanceForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let mark = match form.attendance.as_str() {
        "attended" => Attendance::Attended,
        "no_show" => Attendance::NoShow,
        _ => return Err(AppError::field("attendance", ErrorCode::ValidationFailed)),
    };
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let scope = scope_of(&state, &ctx, &staff.access).await?;
    let filter = SheetFilter::parse(
        &form.date,
        &form.office,
        &form.department,
        tokyo_date(slot.starts_at),
        &scope,
    )?;
    let actor = Actor::Staff(staff.account.id);
    let marked = uc::mark_attendance(
        &*state.storage,
        &state.scope(ctx.tenant.id, actor),
        staff.account.id,
        &reservation,
        mark,
    )
    .await
    .map_err(AppError::from);
    match marked {
        Ok(outcome) => {
            let mut to = format!(
                "/staff/day-sheet?{}&marked={}",
                filter.query_on(filter.date),
                form.attendance
            );
            if outcome.suspension.is_some() {
                to.push_str("&suspended=1");
            }
            to.push_str(&format!("#r-{}", reservation.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) if shown_on_page(&error) => {
            // The flow names the `attendance` field for a mark ahead of the day.
            let message = if error.fields.iter().any(|f| f.field == "attendance") {
                text(lang, "staff_res_mark_too_early")
            } else {
                error.code.message(lang).to_owned()
            };
            let notice = SheetNotice {
                notice: Vec::new(),
                alert: Some(message.clone()),
                error_row: Some((reservation.id, message)),
                not_found: None,
                opened_ahead: false,
            };
            let html = render_sheet(&state, &ctx, &session, &staff, &scope, filter, notice).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}
