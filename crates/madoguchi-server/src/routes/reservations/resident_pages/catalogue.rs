//! The bookable services, a month of availability and one day's times (GET /reservations/…).

use super::MONTHS_AHEAD_DAYS_MAX;
use super::bookable_service;
use super::month_of;
use super::month_param;
use super::next_month;
use super::parse_month;
use super::previous_month;
use super::public_base;
use crate::http::Ctx;
use crate::http::auth::MaybeSignedIn;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use madoguchi_booking::{ServiceRules, WindowError};
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_storage::{ServiceKind, Slot, now_utc};
use madoguchi_usecases::reservations::slot_is_closed;
use minijinja::context;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use tower_sessions::Session;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/reservations", get(services_page))
        .route("/reservations/{code}", get(month_page))
        .route("/reservations/{code}/{date}", get(day_page))
}

// ---------------------------------------------------------------------------------------------
// GET /reservations

#[derive(Serialize)]
struct ServiceLink {
    name: String,
    code: String,
}

#[derive(Serialize)]
struct ServiceGroup {
    kind: &'static str,
    services: Vec<ServiceLink>,
}

async fn services_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
) -> AppResult<Html<String>> {
    let services = state.storage.list_services(ctx.tenant.id).await?;
    let groups: Vec<ServiceGroup> = ServiceKind::ALL
        .into_iter()
        .map(|kind| ServiceGroup {
            kind: kind.as_str(),
            services: services
                .iter()
                .filter(|s| s.active && s.kind == kind)
                .map(|s| ServiceLink {
                    name: service_name(s, ctx.lang).to_owned(),
                    code: s.code.as_str().to_owned(),
                })
                .collect(),
        })
        .filter(|g| !g.services.is_empty())
        .collect();
    let base = public_base(&ctx, auth, &session).await?;
    state
        .templates
        .page("booking/services.html", &base, context! { groups })
}

// ---------------------------------------------------------------------------------------------
// GET /reservations/{code}?month=YYYY-MM

#[derive(Deserialize)]
struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

#[derive(Serialize)]
struct DayCell {
    day: u8,
    /// `YYYY-MM-DD`, for the link to the day.
    date: String,
    /// The full date, for the link's accessible name.
    label: String,
    /// open, few, full, closed, not_yet or ended.
    status: &'static str,
    mark: &'static str,
    seats_left: i64,
    /// Whether the day links to its times.
    bookable: bool,
    today: bool,
}

#[derive(Serialize)]
struct MonthLink {
    /// `YYYY-MM`
    month: String,
    label: String,
}

#[derive(Serialize)]
struct WeekdayHeader {
    short: &'static str,
    long: &'static str,
}

/// Seats decide open, few (a fifth or less left, as the API says) or full.
pub(super) fn seat_status(capacity: i64, taken: i64) -> (&'static str, i64) {
    let left = capacity - taken;
    if left <= 0 {
        ("full", 0)
    } else if left * 5 <= capacity {
        ("few", left)
    } else {
        ("open", left)
    }
}

fn mark_of(status: &str) -> &'static str {
    match status {
        "open" => "○",
        "few" => "△",
        "full" => "×",
        _ => "－",
    }
}

async fn month_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
    Path(code): Path<String>,
    Query(query): Query<MonthQuery>,
) -> AppResult<Html<String>> {
    let service = bookable_service(&state, &ctx, &code).await?;
    let rules = &service.rules;
    let now = now_utc();
    let today = tokyo_today(now);
    let this_month = month_of(today);
    let first = match query.month.as_deref().filter(|m| !m.is_empty()) {
        None => this_month,
        Some(raw) => {
            parse_month(raw).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?
        }
    };
    let next =
        next_month(first).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?;
    let days = state
        .storage
        .availability_by_day(
            ctx.tenant.id,
            service.id,
            start_of_tokyo_day(first),
            start_of_tokyo_day(next),
        )
        .await?;
    let lang = ctx.lang;
    let mut weeks: Vec<Vec<Option<DayCell>>> = Vec::new();
    let mut week: Vec<Option<DayCell>> = (0..weekday_index(first)).map(|_| None).collect();
    let mut date = first;
    while date < next {
        let day = days.iter().find(|d| d.date == date);
        let (status, seats_left) = match day {
            None => ("closed", 0),
            Some(_) if date < today => ("ended", 0),
            // The window opens at a set time on a set day before the slot's date, the same for
            // every slot of the day.
            Some(_) if now < rules.window.opens_at(start_of_tokyo_day(date)) => ("not_yet", 0),
            // Closed for the whole day once even a slot at the day's last instant is closed;
            // the day page decides slot by slot.
            Some(_)
                if now
                    >= rules
                        .window
                        .closes_at(start_of_tokyo_day(date.next_day().unwrap_or(date))) =>
            {
                ("ended", 0)
            }
            Some(d) => seat_status(d.capacity, d.taken),
        };
        let bookable = matches!(status, "open" | "few");
        week.push(Some(DayCell {
            day: date.day(),
            date: date.to_string(),
            label: date_label(date, lang),
            status,
            mark: mark_of(status),
            seats_left,
            bookable,
            today: date == today,
        }));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        date = match date.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    if !week.is_empty() {
        week.resize_with(7, || None);
        weeks.push(week);
    }
    let previous = previous_month(first)
        .filter(|p| *p >= this_month)
        .map(|p| MonthLink {
            month: month_param(p),
            label: month_label(p, lang),
        });
    let following = Some(next)
        .filter(|n| (*n - today).whole_days() <= MONTHS_AHEAD_DAYS_MAX)
        .map(|n| MonthLink {
            month: month_param(n),
            label: month_label(n, lang),
        });
    let (short, long) = match lang {
        Lang::Ja => (WEEKDAYS_JA, WEEKDAYS_JA_LONG),
        Lang::En => (WEEKDAYS_EN, WEEKDAYS_EN_LONG),
    };
    let weekdays: Vec<WeekdayHeader> = short
        .into_iter()
        .zip(long)
        .map(|(short, long)| WeekdayHeader { short, long })
        .collect();
    let base = public_base(&ctx, auth, &session).await?;
    state.templates.page(
        "booking/month.html",
        &base,
        context! {
            service_name => service_name(&service, lang),
            code => service.code.as_str(),
            month_label => month_label(first, lang),
            weekdays,
            weeks,
            previous,
            following,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// GET /reservations/{code}/{date}

#[derive(Serialize)]
struct SlotRow {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    /// bookable, waitlist (full, with a waiting list), full, not_yet, ended or closed (the
    /// calendar closes the day).
    state: &'static str,
    opens_at: Option<String>,
}

/// Whether a slot can be booked now, by the service's window and the seats left.
pub(super) fn slot_state(
    rules: &ServiceRules,
    slot: &Slot,
    now: OffsetDateTime,
    lang: Lang,
) -> (&'static str, Option<String>) {
    match rules.window.check(now, slot.starts_at) {
        Err(WindowError::NotYetOpen { opens_at }) => {
            ("not_yet", Some(instant_label(opens_at, lang)))
        }
        Err(WindowError::Closed { .. }) => ("ended", None),
        Ok(()) if slot.taken >= slot.capacity && rules.waitlist.is_some() => ("waitlist", None),
        Ok(()) if slot.taken >= slot.capacity => ("full", None),
        Ok(()) => ("bookable", None),
    }
}

async fn day_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
    Path((code, date)): Path<(String, String)>,
) -> AppResult<Html<String>> {
    let date = parse_day(&date).ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    render_day(&state, &ctx, auth, &session, &code, date).await
}

pub(super) async fn render_day(
    state: &AppState,
    ctx: &Ctx,
    auth: Option<crate::http::SessionAuth>,
    session: &Session,
    code: &str,
    date: Date,
) -> AppResult<Html<String>> {
    let service = bookable_service(state, ctx, code).await?;
    let rules = &service.rules;
    let lang = ctx.lang;
    let from = start_of_tokyo_day(date);
    let slots = state
        .storage
        .slots(
            ctx.tenant.id,
            service.id,
            from,
            from + time::Duration::days(1),
        )
        .await?;
    let offices = state.offices(ctx.tenant.id).await?;
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let now = now_utc();
    let rows: Vec<SlotRow> = slots
        .iter()
        .map(|slot| {
            // A day the city closed after the slot was made: shown, not offered.
            let (state, opens_at) = if slot_is_closed(&calendar, slot) {
                ("closed", None)
            } else {
                slot_state(rules, slot, now, lang)
            };
            SlotRow {
                id: slot.id.to_string(),
                time: time_range(slot, lang),
                office: office_name(&offices, slot.office_id, lang),
                seats_left: (slot.capacity - slot.taken).max(0),
                state,
                opens_at,
            }
        })
        .collect();
    let base = public_base(ctx, auth, session).await?;
    state.templates.page(
        "booking/day.html",
        &base,
        context! {
            service_name => service_name(&service, lang),
            code => service.code.as_str(),
            month => month_param(month_of(date)),
            date_label => date_label(date, lang),
            slots => rows,
        },
    )
}
