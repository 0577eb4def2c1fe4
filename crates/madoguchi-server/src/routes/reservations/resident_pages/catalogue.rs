//! The bookable services, a month of availability and one day's times (GET /reservations/…).

use super::bookable_service;
use super::public_base;
use crate::http::Ctx;
use crate::http::auth::MaybeSignedIn;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::month_calendar::{
    Asked, Links, Viewer, month_asked, month_calendar, month_of, month_param,
};
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

async fn month_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
    Path(code): Path<String>,
    Query(query): Query<MonthQuery>,
) -> AppResult<Html<String>> {
    let service = bookable_service(&state, &ctx, &code).await?;
    let now = now_utc();
    let first = month_asked(query.month.as_deref(), tokyo_today(now))?;
    let code = service.code.as_str();
    let asked = Asked {
        first,
        selected: None,
        viewer: Viewer::Resident,
        links: Links::Service {
            code: code.to_owned(),
        },
    };
    let cal = month_calendar(&state, &ctx, &service, asked, now).await?;
    let base = public_base(&ctx, auth, &session).await?;
    state.templates.page(
        "booking/month.html",
        &base,
        context! {
            service_name => service_name(&service, ctx.lang),
            code,
            cal,
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
