//! Staff pages for reservations: the day sheet (予約一覧) with attendance marking and its CSV
//! export, booking for a phone caller or a walk-in (代理予約) with a printable confirmation,
//! changing or cancelling a reservation for a resident, and the no-show suspensions with their
//! lifting.
//!
//! The pages work without JavaScript (links, plain forms, redirects). They do no booking logic
//! of their own: the shared flows of [`crate::booking`] do the work, as for the API, and the day
//! sheet's rows come from [`day_sheet_rows`] and [`day_sheet_line`], so the API, the page and the
//! CSV show the same thing. Who may do what is
//! [`StaffAccess::may_handle_reservations`] alone.

use crate::booking::{self, Actor, Bookable, BookingRequest, parse_idempotency_key, rules_of};
use crate::day_sheet::{DaySheetLine, day_sheet_line, day_sheet_rows};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_booking::{Applicant, CallerError, ProxyCaller, ServiceRules, Sex, WindowError};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::{format_tokyo_minutes, start_of_tokyo_day};
use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, Email, ErrorCode, Lang, OfficeId, ReservationId,
    ServiceId, SlotId,
};
use madoguchi_storage::{
    ActorKind, Attendance, DaySheetRow, Department, Office, RemoteJoin, Reservation,
    ReservationStatus, Service, ServiceKind, Slot, StorageError, now_utc,
};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Month, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/day-sheet", get(day_sheet))
        .route("/staff/day-sheet.csv", get(day_sheet_csv))
        .route(
            "/staff/reservations/{id}",
            get(reservation_page).post(reservation_submit),
        )
        .route("/staff/reservations/{id}/attendance", post(attendance))
        .route("/staff/reservations/{id}/confirmation", get(confirmation))
        .route("/staff/proxy-booking", get(proxy_page).post(proxy_submit))
        .route("/staff/suspensions", get(suspensions))
        .route("/staff/suspensions/{id}/lift", post(lift))
}

/// How many days of sessions the proxy form lists at a time.
const PROXY_DAYS_LISTED: i64 = 31;

/// The CSV's header row. Japanese, as the offices' spreadsheets expect.
const CSV_HEADER: [&str; 13] = [
    "日付",
    "開始",
    "終了",
    "会場",
    "サービス",
    "氏名",
    "フリガナ",
    "電話番号",
    "メールアドレス",
    "状態",
    "回答",
    "職員による予約",
    "予約番号",
];

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// Every page here is for staff who handle reservations (not finance).
fn require_handler(staff: &StaffSession) -> AppResult<()> {
    if staff.access.handles_reservations() {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

fn text(lang: Lang, key: &str) -> String {
    crate::i18n::text(lang, key)
}

/// A refusal the page shows itself (with the form again); anything else goes to the error page.
fn shown_on_page(error: &AppError) -> bool {
    error.status.is_client_error()
        && !matches!(error.code, ErrorCode::NotFound | ErrorCode::Forbidden)
}

fn optional_uuid(field: &str, raw: &str) -> AppResult<Option<Uuid>> {
    match raw.trim() {
        "" => Ok(None),
        raw => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| AppError::field(field, ErrorCode::ValidationFailed)),
    }
}

/// The offices and departments whose reservations a staff member handles: what the filters
/// offer. An office is offered when some service there is theirs, a department when its
/// services are theirs at some office.
struct Scope {
    offices: Vec<Office>,
    departments: Vec<Department>,
}

async fn scope_of(state: &AppState, ctx: &Ctx, access: &StaffAccess) -> AppResult<Scope> {
    let all_offices = state.offices(ctx.tenant.id).await?;
    let all_departments = state.storage.list_departments(ctx.tenant.id).await?;
    let offices = all_offices
        .iter()
        .filter(|o| {
            access.may_handle_reservations(o.id, None)
                || all_departments
                    .iter()
                    .any(|d| access.may_handle_reservations(o.id, Some(d.id)))
        })
        .cloned()
        .collect();
    let departments = all_departments
        .into_iter()
        .filter(|d| {
            all_offices
                .iter()
                .any(|o| access.may_handle_reservations(o.id, Some(d.id)))
        })
        .collect();
    Ok(Scope {
        offices,
        departments,
    })
}

/// A reservation the staff member handles; another office's is forbidden.
async fn handled_reservation(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    id: Uuid,
) -> AppResult<Reservation> {
    let reservation = state
        .storage
        .reservation(ctx.tenant.id, ReservationId(id))
        .await?;
    if booking::staff_may_handle(state, ctx, &staff.access, &reservation).await? {
        Ok(reservation)
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// A slot of an active service that the staff member handles.
async fn handled_slot(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    id: SlotId,
) -> AppResult<Bookable> {
    let target = booking::bookable(state, ctx, id).await?;
    if staff
        .access
        .may_handle_reservations(target.slot.office_id, target.service.department_id)
    {
        Ok(target)
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// Rules of the services whose rules parse, by id.
fn rules_by_service(services: &[Service]) -> BTreeMap<ServiceId, ServiceRules> {
    services
        .iter()
        .filter_map(|s| rules_of(s).ok().map(|r| (s.id, r)))
        .collect()
}

#[derive(Serialize)]
struct AnswerView {
    label: String,
    answer: String,
}

/// The answers in the order of the service's questions, labelled in `lang`. Answers to a
/// question the service no longer asks are still shown, under their key.
fn answer_views(
    answers: &serde_json::Value,
    rules: Option<&ServiceRules>,
    lang: Lang,
) -> Vec<AnswerView> {
    let Some(map) = answers.as_object() else {
        return Vec::new();
    };
    let value_text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let questions = rules.map(|r| r.questions.as_slice()).unwrap_or_default();
    let mut views: Vec<AnswerView> = questions
        .iter()
        .filter_map(|q| {
            let answer = value_text(map.get(&q.id)?);
            (!answer.is_empty()).then(|| AnswerView {
                label: match lang {
                    Lang::Ja => q.label_ja.clone(),
                    Lang::En => q.label_en.clone(),
                },
                answer,
            })
        })
        .collect();
    for (key, value) in map {
        if !questions.iter().any(|q| &q.id == key) {
            let answer = value_text(value);
            if !answer.is_empty() {
                views.push(AnswerView {
                    label: key.clone(),
                    answer,
                });
            }
        }
    }
    views
}

#[derive(Serialize)]
struct SelectOption {
    value: String,
    label: String,
    selected: bool,
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
fn marks_for(status: ReservationStatus) -> Vec<&'static str> {
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
    let today = tokyo_today(now_utc());
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
            csv_href => format!("/staff/day-sheet.csv?{}", filter.query_on(filter.date)),
            office_value => filter.office.map(|o| o.to_string()).unwrap_or_default(),
            department_value => filter.department.map(|d| d.to_string()).unwrap_or_default(),
            rows,
            counts,
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
    let filter = SheetFilter::parse(
        &query.date,
        &query.office,
        &query.department,
        tokyo_today(now_utc()),
        &scope,
    )?;
    let mut notice = SheetNotice::default();
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

/// A spreadsheet cell from text a resident or clerk typed: a leading `=`, `+`, `-` or `@` would
/// make Excel read it as a formula, so such text gets a leading apostrophe.
fn csv_cell(value: &str) -> String {
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
            line.reservation_id.to_string(),
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
        tokyo_today(now_utc()),
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
    crate::accounts::audit(
        &state,
        &ctx,
        ActorKind::Staff,
        Some(staff.account.id),
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
    match booking::mark_attendance(&state, &ctx, staff.account.id, &reservation, mark).await {
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
            };
            let html = render_sheet(&state, &ctx, &session, &staff, &scope, filter, notice).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// GET and POST /staff/proxy-booking

#[derive(Deserialize, Default)]
struct ProxyQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    /// First day of the listed days.
    #[serde(default)]
    from: String,
    #[serde(default)]
    slot: String,
}

/// Whether a slot can be booked now, by the service's window and the seats left.
fn slot_state(rules: &ServiceRules, slot: &Slot, now: OffsetDateTime) -> &'static str {
    match rules.window.check(now, slot.starts_at) {
        Err(WindowError::NotYetOpen { .. }) => "not_yet",
        Err(WindowError::Closed { .. }) => "ended",
        Ok(()) if slot.taken >= slot.capacity => "full",
        Ok(()) => "bookable",
    }
}

/// Active services with readable rules that the staff member handles at some office.
fn proxy_services(
    services: Vec<Service>,
    access: &StaffAccess,
    scope: &Scope,
) -> Vec<(Service, ServiceRules)> {
    services
        .into_iter()
        .filter(|s| s.active)
        .filter(|s| {
            scope
                .offices
                .iter()
                .any(|o| access.may_handle_reservations(o.id, s.department_id))
        })
        .filter_map(|s| rules_of(&s).ok().map(|r| (s, r)))
        .collect()
}

/// The service's slots in `[from, until)` at offices the staff member handles.
async fn handled_slots(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    service: &Service,
    from: Date,
    until: Date,
) -> AppResult<Vec<Slot>> {
    let slots = state
        .storage
        .slots(
            ctx.tenant.id,
            service.id,
            start_of_tokyo_day(from),
            start_of_tokyo_day(until),
        )
        .await?;
    Ok(slots
        .into_iter()
        .filter(|s| access.may_handle_reservations(s.office_id, service.department_id))
        .collect())
}

#[derive(Serialize)]
struct ServiceChoice {
    id: String,
    name: String,
    kind: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct DayChoice {
    date: String,
    label: String,
    slots: usize,
    seats_left: i64,
    selected: bool,
}

#[derive(Serialize)]
struct SlotChoice {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    /// bookable, full, not_yet or ended.
    state: &'static str,
}

async fn proxy_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<ProxyQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    if let Some(slot) = optional_uuid("slot", &query.slot)? {
        let target = handled_slot(&state, &ctx, &staff, SlotId(slot)).await?;
        let page = ProxyFormPage {
            values: &CallerValues::default(),
            errors: &BTreeMap::new(),
            alert: None,
            idempotency_key: &new_idempotency_key(),
        };
        return render_proxy_form(&state, &ctx, &session, &staff, &target, page).await;
    }
    let lang = ctx.lang;
    let scope = scope_of(&state, &ctx, &staff.access).await?;
    let services = proxy_services(
        state.storage.list_services(ctx.tenant.id).await?,
        &staff.access,
        &scope,
    );
    let chosen = optional_uuid("service", &query.service)?.map(ServiceId);
    let service_choices: Vec<ServiceChoice> = services
        .iter()
        .map(|(s, _)| ServiceChoice {
            id: s.id.to_string(),
            name: service_name(s, lang).to_owned(),
            kind: s.kind.as_str(),
            selected: chosen == Some(s.id),
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    let Some(chosen) = chosen else {
        return state.templates.page(
            "staff/proxy_choose.html",
            &base,
            context! { section => "proxy", services => service_choices },
        );
    };
    let (service, rules) = services
        .iter()
        .find(|(s, _)| s.id == chosen)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let today = tokyo_today(now_utc());
    let from = match query.from.trim() {
        "" => today,
        raw => parse_day(raw)
            .ok_or_else(|| AppError::field("from", ErrorCode::ValidationFailed))?
            .max(today),
    };
    let until = from + time::Duration::days(PROXY_DAYS_LISTED);
    let date = match query.date.trim() {
        "" => None,
        raw => Some(
            parse_day(raw).ok_or_else(|| AppError::field("date", ErrorCode::ValidationFailed))?,
        ),
    };
    let listed = handled_slots(&state, &ctx, &staff.access, service, from, until).await?;
    let mut days: Vec<DayChoice> = Vec::new();
    for slot in &listed {
        let day = tokyo_date(slot.starts_at);
        let seats = (slot.capacity - slot.taken).max(0);
        match days.last_mut() {
            Some(last) if last.date == day.to_string() => {
                last.slots += 1;
                last.seats_left += seats;
            }
            _ => days.push(DayChoice {
                date: day.to_string(),
                label: date_label(day, lang),
                slots: 1,
                seats_left: seats,
                selected: date == Some(day),
            }),
        }
    }
    let offices = state.offices(ctx.tenant.id).await?;
    let now = now_utc();
    let slots: Option<Vec<SlotChoice>> = match date {
        None => None,
        Some(day) => Some(
            handled_slots(
                &state,
                &ctx,
                &staff.access,
                service,
                day,
                day.next_day().unwrap_or(day),
            )
            .await?
            .iter()
            .map(|slot| SlotChoice {
                id: slot.id.to_string(),
                time: time_range(slot, lang),
                office: office_name(&offices, slot.office_id, lang),
                seats_left: (slot.capacity - slot.taken).max(0),
                state: slot_state(rules, slot, now),
            })
            .collect(),
        ),
    };
    let service_id = service.id.to_string();
    let day_href = |d: Date| format!("/staff/proxy-booking?service={service_id}&date={d}");
    let later = format!("/staff/proxy-booking?service={service_id}&from={until}");
    let earlier = (from > today).then(|| {
        let back = (from - time::Duration::days(PROXY_DAYS_LISTED)).max(today);
        format!("/staff/proxy-booking?service={service_id}&from={back}")
    });
    let previous_day = date
        .and_then(|d| d.previous_day())
        .filter(|d| *d >= today)
        .map(day_href);
    let next_day = date.and_then(|d| d.next_day()).map(day_href);
    state.templates.page(
        "staff/proxy_choose.html",
        &base,
        context! {
            section => "proxy",
            services => service_choices,
            service_id,
            service_name => service_name(service, lang),
            from_label => date_label(from, lang),
            until_label => date_label(until.previous_day().unwrap_or(until), lang),
            days,
            later,
            earlier,
            date => date.map(|d| d.to_string()),
            date_label => date.map(|d| date_label(d, lang)),
            previous_day,
            next_day,
            slots,
        },
    )
}

/// What the clerk typed, kept for showing the form again.
#[derive(Default, Serialize)]
struct CallerValues {
    name_kanji: String,
    name_kana: String,
    birth_year: String,
    birth_month: String,
    birth_day: String,
    phone: String,
    email: String,
    sex: String,
    /// `yes` or `no`.
    resident: String,
    /// `home` or an office id (its kiosk).
    join: String,
    /// By form field name (`q_<question id>`).
    answers: BTreeMap<String, String>,
}

fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// The form's fields, read from the pairs so that the service's own questions can be picked out;
/// also the page's idempotency key.
fn read_caller(pairs: &[(String, String)], rules: &ServiceRules) -> (CallerValues, String) {
    let get = |name: &str| form_value(pairs, name);
    let answers = rules
        .questions
        .iter()
        .map(|q| {
            let name = question_field(&q.id);
            let value = get(&name);
            (name, value)
        })
        .collect();
    let values = CallerValues {
        name_kanji: get("name_kanji"),
        name_kana: get("name_kana"),
        birth_year: get("birth_year"),
        birth_month: get("birth_month"),
        birth_day: get("birth_day"),
        phone: get("phone"),
        email: get("email"),
        sex: get("sex"),
        resident: get("resident"),
        join: get("join"),
        answers,
    };
    (values, get("idempotency_key"))
}

/// What the form yields once every field is acceptable.
struct CheckedCaller {
    caller: ProxyCaller,
    email: Option<Email>,
    applicant: Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
}

fn caller_error_text(error: CallerError, lang: Lang) -> String {
    text(
        lang,
        match error {
            CallerError::Name => "staff_res_error_name",
            CallerError::Kana => "staff_res_error_kana",
            CallerError::Phone => "staff_res_error_phone",
            CallerError::BirthDate => "booking_birth_date_invalid",
        },
    )
}

/// Checks the form's fields, every problem at once, and builds the caller, applicant and
/// answers. The caller's own rules are [`ProxyCaller::new`]'s alone, as for the API.
fn check_caller(
    values: &CallerValues,
    target: &Bookable,
    offices: &[Office],
    today: Date,
    lang: Lang,
) -> Result<CheckedCaller, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let required = text(lang, "staff_res_error_required");
    let choose = text(lang, "staff_res_error_choose");
    for (field, value) in [
        ("name_kanji", &values.name_kanji),
        ("name_kana", &values.name_kana),
        ("phone", &values.phone),
    ] {
        if value.is_empty() {
            errors.insert(field.to_owned(), required.clone());
        }
    }
    let birth_date = (|| {
        let year: i32 = values.birth_year.parse().ok()?;
        let month: u8 = values.birth_month.parse().ok()?;
        let day: u8 = values.birth_day.parse().ok()?;
        Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
    })()
    .filter(|d| madoguchi_domain::tokyo::is_supported_date(*d));
    if birth_date.is_none() {
        errors.insert(
            "birth_date".to_owned(),
            text(lang, "booking_birth_date_invalid"),
        );
    }
    // `ProxyCaller::new` names the first field it refuses. To name every bad field at once, a
    // refused field is replaced by a valid stand-in and the caller checked again; the stand-ins
    // never reach a booking, since any error stops here.
    let stand_in = |field: &str, value: &str| -> String {
        match (errors.contains_key(field), field) {
            (false, _) => value.to_owned(),
            (true, "name_kanji") => "山田".to_owned(),
            (true, "name_kana") => "ヤマダ".to_owned(),
            (true, _) => "0300000000".to_owned(),
        }
    };
    let mut kanji = stand_in("name_kanji", &values.name_kanji);
    let mut kana = stand_in("name_kana", &values.name_kana);
    let mut phone = stand_in("phone", &values.phone);
    let mut birth = birth_date.unwrap_or(time::macros::date!(1950 - 01 - 01));
    let mut caller = None;
    for _ in 0..4 {
        match ProxyCaller::new(&kanji, &kana, birth, &phone, today) {
            Ok(checked) => {
                caller = Some(checked);
                break;
            }
            Err(error) => {
                errors
                    .entry(error.field().to_owned())
                    .or_insert_with(|| caller_error_text(error, lang));
                match error {
                    CallerError::Name => kanji = "山田".to_owned(),
                    CallerError::Kana => kana = "ヤマダ".to_owned(),
                    CallerError::Phone => phone = "0300000000".to_owned(),
                    CallerError::BirthDate => birth = time::macros::date!(1950 - 01 - 01),
                }
            }
        }
    }
    let email = match values.email.as_str() {
        "" => None,
        raw => match Email::parse(raw) {
            Ok(email) => Some(email),
            Err(code) => {
                errors.insert("email".to_owned(), code.message(lang).to_owned());
                None
            }
        },
    };
    let eligibility = &target.rules.eligibility;
    let sex = match (eligibility.sex.is_some(), values.sex.as_str()) {
        (false, _) => None,
        (true, "female") => Some(Sex::Female),
        (true, "male") => Some(Sex::Male),
        (true, _) => {
            errors.insert("sex".to_owned(), choose.clone());
            None
        }
    };
    // Residency is asked only where it matters; elsewhere the caller counts as a resident, as in
    // the API's default.
    let resident = match (eligibility.residents_only, values.resident.as_str()) {
        (false, _) | (true, "yes") => true,
        (true, "no") => false,
        (true, _) => {
            errors.insert("resident".to_owned(), choose.clone());
            true
        }
    };
    let mut answers = serde_json::Map::new();
    for question in &target.rules.questions {
        let name = question_field(&question.id);
        let answer = values.answers.get(&name).map(String::as_str).unwrap_or("");
        if answer.chars().count() > ANSWER_CHARS_MAX {
            errors.insert(name, text(lang, "booking_answer_too_long"));
        } else if answer.is_empty() {
            if question.required {
                errors.insert(name, text(lang, "booking_answer_required"));
            }
        } else {
            answers.insert(question.id.clone(), answer.into());
        }
    }
    let join = match (target.service.kind, values.join.as_str()) {
        (ServiceKind::RemoteConsultation, "" | "home") => Some(RemoteJoin::Home),
        (ServiceKind::RemoteConsultation, raw) => {
            match Uuid::parse_str(raw)
                .ok()
                .map(OfficeId)
                .filter(|id| offices.iter().any(|o| o.id == *id))
            {
                Some(office_id) => Some(RemoteJoin::Kiosk { office_id }),
                None => {
                    errors.insert("join".to_owned(), choose.clone());
                    None
                }
            }
        }
        _ => None,
    };
    match caller {
        Some(caller) if errors.is_empty() => Ok(CheckedCaller {
            applicant: Applicant {
                birth_date: Some(caller.birth_date),
                sex,
                resident,
            },
            caller,
            email,
            answers: serde_json::Value::Object(answers),
            join,
        }),
        _ => Err(errors),
    }
}

/// A refusal from the booking flow as field messages and an alert; server errors and a slot or
/// service that vanished go to the error page instead.
fn refusal(
    error: AppError,
    lang: Lang,
) -> AppResult<(StatusCode, BTreeMap<String, String>, String)> {
    if !shown_on_page(&error) {
        return Err(error);
    }
    let message = error.code.message(lang).to_owned();
    let mut fields = BTreeMap::new();
    match error.code {
        ErrorCode::IneligibleAge | ErrorCode::BirthDateRequired => {
            fields.insert("birth_date".to_owned(), message.clone());
        }
        ErrorCode::IneligibleSex => {
            fields.insert("sex".to_owned(), message.clone());
        }
        ErrorCode::IneligibleNonResident => {
            fields.insert("resident".to_owned(), message.clone());
        }
        _ => {}
    }
    for field in &error.fields {
        if let Some(id) = field.field.strip_prefix("answers.") {
            fields.insert(question_field(id), text(lang, "booking_answer_required"));
        } else if field.field == "join" {
            fields.insert("join".to_owned(), text(lang, "staff_res_error_choose"));
        }
    }
    let alert = if error.fields.is_empty() {
        message
    } else {
        ErrorCode::ValidationFailed.message(lang).to_owned()
    };
    Ok((error.status, fields, alert))
}

/// The stored key is the form's key scoped to the staff member, so a key sent by anyone else
/// can never return another booking.
fn scoped_key(staff: AccountId, raw: &str) -> Option<String> {
    let shaped = (16..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return None;
    }
    parse_idempotency_key(&format!("proxy:{staff}:{raw}")).ok()
}

/// What the form page shows besides the slot.
struct ProxyFormPage<'a> {
    values: &'a CallerValues,
    errors: &'a BTreeMap<String, String>,
    alert: Option<String>,
    idempotency_key: &'a str,
}

async fn render_proxy_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    target: &Bookable,
    page: ProxyFormPage<'_>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let Bookable {
        slot,
        service,
        rules,
    } = target;
    let offices = state.offices(ctx.tenant.id).await?;
    let questions: Vec<QuestionField> = rules
        .questions
        .iter()
        .map(|q| QuestionField {
            name: question_field(&q.id),
            label: match lang {
                Lang::Ja => q.label_ja.clone(),
                Lang::En => q.label_en.clone(),
            },
            required: q.required,
        })
        .collect();
    let ask_sex = rules.eligibility.sex.is_some();
    let ask_resident = rules.eligibility.residents_only;
    let remote = service.kind == ServiceKind::RemoteConsultation;
    // The summary at the top lists each field's problem in form order, linked to the field.
    let mut order: Vec<(String, String, String)> = [
        ("name_kanji", "f-name_kanji", "staff_res_name_kanji"),
        ("name_kana", "f-name_kana", "staff_res_name_kana"),
        ("birth_date", "f-birth_year", "staff_res_birth_date"),
        ("phone", "f-phone", "staff_res_phone"),
        ("email", "f-email", "staff_res_email"),
        ("sex", "f-sex-female", "booking_sex"),
        ("resident", "f-resident-yes", "staff_res_resident"),
        ("join", "f-join", "staff_res_join"),
    ]
    .into_iter()
    .map(|(field, target, label)| (field.to_owned(), target.to_owned(), text(lang, label)))
    .collect();
    order.extend(
        questions
            .iter()
            .map(|q| (q.name.clone(), format!("f-{}", q.name), q.label.clone())),
    );
    let error_links: Vec<ErrorLink> = order
        .into_iter()
        .filter_map(|(field, target, label)| {
            page.errors.get(&field).map(|message| ErrorLink {
                target,
                label,
                message: message.clone(),
            })
        })
        .collect();
    let today = tokyo_today(now_utc());
    let years: Vec<Choice> = (BIRTH_YEAR_MIN..=today.year())
        .rev()
        .map(|y| Choice {
            value: y.to_string(),
            label: birth_year_label(y, lang),
        })
        .collect();
    let numbers = |range: std::ops::RangeInclusive<u8>| -> Vec<Choice> {
        range
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect()
    };
    let join_options: Vec<Choice> = offices
        .iter()
        .map(|o| Choice {
            value: o.id.to_string(),
            label: text(lang, "staff_res_join_kiosk").replace("{office}", o.name(lang)),
        })
        .collect();
    let date = tokyo_date(slot.starts_at);
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/proxy_form.html",
        &base,
        context! {
            section => "proxy",
            slot_id => slot.id.to_string(),
            service_id => service.id.to_string(),
            date => date.to_string(),
            service_name => service_name(service, lang),
            when => format!("{} {}", date_label(date, lang), time_range(slot, lang)),
            office => office_name(&offices, slot.office_id, lang),
            seats_left => (slot.capacity - slot.taken).max(0),
            slot_state => slot_state(rules, slot, now_utc()),
            eligibility => eligibility_lines(rules, lang),
            ask_sex,
            ask_resident,
            remote,
            join_options,
            years,
            months => numbers(1..=12),
            days => numbers(1..=31),
            questions,
            values => page.values,
            errors => page.errors,
            error_links,
            alert => page.alert,
            idempotency_key => page.idempotency_key,
        },
    )
}

async fn proxy_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let slot_id = optional_uuid("slot", &form_value(&pairs, "slot"))?
        .ok_or_else(|| AppError::field("slot", ErrorCode::ValidationFailed))?;
    let target = handled_slot(&state, &ctx, &staff, SlotId(slot_id)).await?;
    let (values, raw_key) = read_caller(&pairs, &target.rules);
    // Keep the page's key when showing the form again: nothing was stored under it.
    let key = if scoped_key(staff.account.id, &raw_key).is_some() {
        raw_key
    } else {
        new_idempotency_key()
    };
    let offices = state.offices(ctx.tenant.id).await?;
    let (status, errors, alert) =
        match check_caller(&values, &target, &offices, tokyo_today(now_utc()), lang) {
            Err(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                ErrorCode::ValidationFailed.message(lang).to_owned(),
            ),
            Ok(checked) => {
                // A caller with an online account gets the booking as theirs (their limits apply,
                // they get the mails), as in the API.
                let account = match &checked.email {
                    None => None,
                    Some(email) => match state
                        .storage
                        .account_by_email(ctx.tenant.id, AccountKind::Resident, email)
                        .await
                    {
                        Ok(account) => Some(account.id),
                        Err(StorageError::NotFound) => None,
                        Err(other) => return Err(other.into()),
                    },
                };
                let request = BookingRequest {
                    slot_id: target.slot.id,
                    account_id: account,
                    booked_by: Some(staff.account.id),
                    idempotency_key: scoped_key(staff.account.id, &key),
                    hold: false,
                    applicant: checked.applicant,
                    answers: checked.answers,
                    remote_join: checked.join,
                    caller: Some(checked.caller),
                };
                match booking::book(&state, &ctx, request).await {
                    Ok((outcome, _)) => {
                        let id = outcome.reservation().id;
                        return Ok(Redirect::to(&format!("/staff/reservations/{id}?booked=1"))
                            .into_response());
                    }
                    Err(error) => refusal(error, lang)?,
                }
            }
        };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let target = handled_slot(&state, &ctx, &staff, target.slot.id).await?;
    let page = ProxyFormPage {
        values: &values,
        errors: &errors,
        alert: Some(alert),
        idempotency_key: &key,
    };
    let html = render_proxy_form(&state, &ctx, &session, &staff, &target, page).await?;
    Ok((status, html).into_response())
}

// ---------------------------------------------------------------------------------------------
// The reservation: GET and POST /staff/reservations/{id}, GET …/confirmation

#[derive(Serialize)]
struct ReservationView {
    id: String,
    service: String,
    when: String,
    date: String,
    office: String,
    status: &'static str,
    name: String,
    kana: String,
    birth_date: String,
    phone: String,
    email: String,
    /// The reservation belongs to a resident's online account.
    account: bool,
    answers: Vec<AnswerView>,
    booked_by_staff: bool,
    booked_at: String,
    cancel_reason: Option<String>,
    active: bool,
}

/// The reservation as staff see it: the same lines as the day sheet's.
async fn reservation_view(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
) -> AppResult<(ReservationView, Slot, Service)> {
    let lang = ctx.lang;
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let service = state
        .storage
        .service(ctx.tenant.id, reservation.service_id)
        .await?;
    let account = match reservation.account_id {
        None => None,
        Some(id) => match state.storage.account(ctx.tenant.id, id).await {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
    };
    let row = DaySheetRow {
        reservation: reservation.clone(),
        slot,
        service_code: service.code.as_str().to_owned(),
        service_name_ja: service.name_ja.clone(),
        service_name_en: service.name_en.clone(),
        account_name: account.as_ref().map(|a| a.display_name.as_str().to_owned()),
        account_email: account.as_ref().map(|a| a.email.as_str().to_owned()),
    };
    let line = day_sheet_line(&row);
    let birth_date = reservation
        .details
        .get("caller")
        .and_then(|c| c.get("birth_date"))
        .and_then(|b| b.as_str())
        .and_then(parse_birth_date)
        .map(|d| date_label(d, lang))
        .unwrap_or_default();
    let offices = state.offices(ctx.tenant.id).await?;
    let date = tokyo_date(slot.starts_at);
    let view = ReservationView {
        id: reservation.id.to_string(),
        service: service_name(&service, lang).to_owned(),
        when: format!("{} {}", date_label(date, lang), time_range(&slot, lang)),
        date: date.to_string(),
        office: office_name(&offices, slot.office_id, lang),
        status: line.status,
        name: line.name.unwrap_or_default(),
        kana: line.name_kana.unwrap_or_default(),
        birth_date,
        phone: line.phone.unwrap_or_default(),
        email: line.email.unwrap_or_default(),
        account: reservation.account_id.is_some(),
        answers: answer_views(&line.answers, rules_of(&service).ok().as_ref(), lang),
        booked_by_staff: line.booked_by_staff,
        booked_at: format_tokyo_minutes(reservation.created_at),
        cancel_reason: reservation.cancel_reason.clone(),
        active: reservation.status.holds_a_seat(),
    };
    Ok((view, slot, service))
}

/// A date of birth as stored (`YYYY-MM-DD`), any year.
fn parse_birth_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    /// The day whose slots the change form lists.
    #[serde(default)]
    date: String,
    #[serde(default)]
    booked: String,
    #[serde(default)]
    changed: String,
    #[serde(default)]
    cancelled: String,
}

/// What the detail page shows besides the reservation.
#[derive(Default)]
struct DetailPage {
    notice: Option<String>,
    booked: bool,
    alert: Option<String>,
    /// By form: `cancel_reason`, `change_reason`, `change_slot`.
    errors: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    date: Option<Date>,
}

#[derive(Serialize)]
struct ChangeSlot {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    full: bool,
    checked: bool,
}

async fn render_detail(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    reservation: &Reservation,
    page: DetailPage,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let (view, slot, service) = reservation_view(state, ctx, reservation).await?;
    let offices = state.offices(ctx.tenant.id).await?;
    // The change form: other slots of the same service on the chosen day, at offices the staff
    // member handles, not yet over.
    let date = page.date.unwrap_or_else(|| tokyo_date(slot.starts_at));
    let now = now_utc();
    let chosen = page.values.get("slot").cloned().unwrap_or_default();
    let candidates: Vec<ChangeSlot> = if view.active {
        handled_slots(
            state,
            ctx,
            &staff.access,
            &service,
            date,
            date.next_day().unwrap_or(date),
        )
        .await?
        .iter()
        .filter(|s| s.id != slot.id && s.ends_at > now)
        .map(|s| ChangeSlot {
            id: s.id.to_string(),
            time: time_range(s, lang),
            office: office_name(&offices, s.office_id, lang),
            seats_left: (s.capacity - s.taken).max(0),
            full: s.taken >= s.capacity,
            checked: chosen == s.id.to_string(),
        })
        .collect()
    } else {
        Vec::new()
    };
    let id = reservation.id;
    let day_link = |d: Date| {
        context! {
            href => format!("/staff/reservations/{id}?date={d}#change"),
            label => date_label(d, lang),
        }
    };
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/reservation.html",
        &base,
        context! {
            section => "sheet",
            r => view,
            notice => page.notice,
            booked => page.booked,
            alert => page.alert,
            errors => page.errors,
            values => page.values,
            change_date => date.to_string(),
            change_date_label => date_label(date, lang),
            change_previous => date.previous_day().map(day_link),
            change_next => date.next_day().map(day_link),
            candidates,
            sheet_href => format!("/staff/day-sheet?date={}", tokyo_date(slot.starts_at)),
        },
    )
}

async fn reservation_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    Query(query): Query<DetailQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let date = match query.date.trim() {
        "" => None,
        raw => Some(
            parse_day(raw).ok_or_else(|| AppError::field("date", ErrorCode::ValidationFailed))?,
        ),
    };
    let notice = if !query.changed.is_empty() {
        Some(text(lang, "staff_res_changed"))
    } else if !query.cancelled.is_empty() {
        Some(text(lang, "staff_res_cancelled"))
    } else {
        None
    };
    let page = DetailPage {
        notice,
        booked: !query.booked.is_empty() && reservation.status.holds_a_seat(),
        date,
        ..DetailPage::default()
    };
    render_detail(&state, &ctx, &session, &staff, &reservation, page).await
}

#[derive(Deserialize)]
struct DetailForm {
    /// `cancel` or `change`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    /// The new slot, for a change.
    #[serde(default)]
    slot: String,
    /// The day the change form listed.
    #[serde(default)]
    date: String,
}

async fn reservation_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<DetailForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let actor = Actor {
        account: staff.account.id,
        by_staff: true,
        access: Some(&staff.access),
        reason: Some(form.reason.as_str()),
    };
    let action = match form.action.as_str() {
        "cancel" => "cancel",
        "change" => "change",
        _ => return Err(AppError::field("action", ErrorCode::ValidationFailed)),
    };
    let outcome = if action == "cancel" {
        booking::cancel(&state, &ctx, &reservation, actor)
            .await
            .map(|_| "cancelled")
    } else {
        match optional_uuid("slot", &form.slot).ok().flatten() {
            None => {
                // Say both at once when the reason is missing too (the flow would say it next).
                let mut fields = vec![FieldError {
                    field: "slot".to_owned(),
                    code: ErrorCode::ValidationFailed,
                }];
                if form.reason.trim().is_empty() {
                    fields.push(FieldError {
                        field: "reason".to_owned(),
                        code: ErrorCode::ValidationFailed,
                    });
                }
                Err(AppError::fields(fields))
            }
            Some(slot) => {
                let target = handled_slot(&state, &ctx, &staff, SlotId(slot)).await?;
                booking::change(&state, &ctx, &reservation, target.slot.id, actor)
                    .await
                    .map(|_| "changed")
            }
        }
    };
    match outcome {
        Ok(done) => Ok(
            Redirect::to(&format!("/staff/reservations/{}?{done}=1", reservation.id))
                .into_response(),
        ),
        Err(error) if shown_on_page(&error) => {
            let errors: BTreeMap<String, String> = error
                .fields
                .iter()
                .map(|f| {
                    let message = match f.field.as_str() {
                        "reason" => text(lang, "staff_res_error_reason"),
                        "slot" => text(lang, "staff_res_error_slot"),
                        _ => f.code.message(lang).to_owned(),
                    };
                    (format!("{action}_{}", f.field), message)
                })
                .collect();
            let alert = if errors.is_empty() {
                error.code.message(lang).to_owned()
            } else {
                ErrorCode::ValidationFailed.message(lang).to_owned()
            };
            let values = BTreeMap::from([
                (format!("{action}_reason"), form.reason.clone()),
                ("slot".to_owned(), form.slot.trim().to_owned()),
            ]);
            // Show the reservation as it is now (another clerk may have acted on it).
            let current = handled_reservation(&state, &ctx, &staff, id).await?;
            let page = DetailPage {
                alert: Some(alert),
                errors,
                values,
                date: parse_day(&form.date),
                ..DetailPage::default()
            };
            let html = render_detail(&state, &ctx, &session, &staff, &current, page).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

/// The confirmation to print and hand to the caller (予約確認票).
async fn confirmation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let (view, _, _) = reservation_view(&state, &ctx, &reservation).await?;
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "staff/confirmation.html",
        &base,
        context! { section => "proxy", r => view },
    )
}

// ---------------------------------------------------------------------------------------------
// GET /staff/suspensions, POST /staff/suspensions/{id}/lift

#[derive(Serialize)]
struct SuspensionView {
    id: String,
    name: String,
    email: String,
    since: String,
    until: String,
    no_shows: i64,
    /// Whether this staff member may lift it (the imposing office, or an administrator).
    may_lift: bool,
    reason: String,
    error: Option<String>,
}

/// What the list says on top, and the row a refusal was about.
#[derive(Default)]
struct SuspensionsPage {
    notice: Option<String>,
    alert: Option<String>,
    row: Option<(Uuid, String, Option<String>)>,
}

async fn render_suspensions(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    page: SuspensionsPage,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let list = state
        .storage
        .suspensions_in_force(ctx.tenant.id, now_utc())
        .await?;
    let mut rows = Vec::with_capacity(list.len());
    for suspension in list {
        let account = match state
            .storage
            .account(ctx.tenant.id, suspension.account_id)
            .await
        {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        let (reason, error) = match &page.row {
            Some((id, reason, error)) if *id == suspension.id => (reason.clone(), error.clone()),
            _ => (String::new(), None),
        };
        rows.push(SuspensionView {
            id: suspension.id.to_string(),
            name: account
                .as_ref()
                .map(|a| a.display_name.as_str().to_owned())
                .unwrap_or_else(|| text(lang, "staff_res_unknown_account")),
            email: account
                .as_ref()
                .map(|a| a.email.as_str().to_owned())
                .unwrap_or_default(),
            since: date_label(tokyo_date(suspension.starts_at), lang),
            until: format!(
                "{} {}",
                date_label(tokyo_date(suspension.ends_at), lang),
                clock(suspension.ends_at)
            ),
            no_shows: suspension.no_shows,
            may_lift: staff.access.may_lift_suspension(suspension.office_id),
            reason,
            error,
        });
    }
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/suspensions.html",
        &base,
        context! {
            section => "suspensions",
            rows,
            notice => page.notice,
            alert => page.alert,
        },
    )
}

#[derive(Deserialize, Default)]
struct SuspensionsQuery {
    #[serde(default)]
    lifted: String,
}

async fn suspensions(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SuspensionsQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let page = SuspensionsPage {
        notice: (!query.lifted.is_empty()).then(|| text(ctx.lang, "staff_res_lifted")),
        ..SuspensionsPage::default()
    };
    render_suspensions(&state, &ctx, &session, &staff, page).await
}

#[derive(Deserialize)]
struct LiftForm {
    #[serde(default)]
    reason: String,
}

async fn lift(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<LiftForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    match booking::lift_suspension(
        &state,
        &ctx,
        staff.account.id,
        &staff.access,
        id,
        &form.reason,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/staff/suspensions?lifted=1").into_response()),
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::Forbidden => {
            let page = if error.fields.iter().any(|f| f.field == "reason") {
                SuspensionsPage {
                    alert: Some(ErrorCode::ValidationFailed.message(lang).to_owned()),
                    row: Some((id, form.reason, Some(text(lang, "staff_res_error_reason")))),
                    ..SuspensionsPage::default()
                }
            } else {
                // Lifted meanwhile by a colleague, or run out: the list shows it is gone.
                SuspensionsPage {
                    alert: Some(text(lang, "staff_res_lift_gone")),
                    ..SuspensionsPage::default()
                }
            };
            let html = render_suspensions(&state, &ctx, &session, &staff, page).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised_for_excel() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("0312345678"), "0312345678");
        assert_eq!(csv_cell("山田 太郎"), "山田 太郎");
    }

    #[test]
    fn marks_offered_depend_on_the_status() {
        assert_eq!(
            marks_for(ReservationStatus::Confirmed),
            vec!["attended", "no_show"]
        );
        assert_eq!(marks_for(ReservationStatus::Attended), vec!["no_show"]);
        assert!(marks_for(ReservationStatus::Cancelled).is_empty());
    }

    #[test]
    fn the_page_key_is_scoped_to_the_staff_member() {
        let a = AccountId::new();
        let b = AccountId::new();
        let key = new_idempotency_key();
        assert_ne!(scoped_key(a, &key), scoped_key(b, &key));
        assert_eq!(scoped_key(a, "short"), None);
    }
}
