//! A resident's booked remote consultation at the counter: the page their reservation (and its
//! mail) links to, saying from when they may join, with the device check and, once the join
//! window opens, the check-in that puts them in the department's queue (then the ticket page
//! takes over: their place, the call, the room). And the staff's wall view of the day's booked
//! consultations, for a screen in the department.

use super::EmptyForm;
use crate::http::Ctx;
use crate::http::auth::ResidentSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::{form_errors, page_base};
use crate::view::present::{clock, slot_when};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::{AccountKind, ErrorCode, Lang, ReservationId};
use madoguchi_usecases::Actor;
use madoguchi_usecases::counter::appointments::{self, Appointment};
use minijinja::context;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/counter/appointments/{id}",
            get(appointment_page).post(check_in),
        )
        .route("/staff/counter/wall", get(wall))
}

fn reservation_id(raw: &str) -> AppResult<ReservationId> {
    uuid::Uuid::parse_str(raw)
        .map(ReservationId)
        .map_err(|_| AppError::new(ErrorCode::NotFound))
}

/// Renders the page with `alert` (a refused check-in) and `status`.
async fn render(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    booked: &Appointment,
    alert: Option<String>,
    status: axum::http::StatusCode,
) -> AppResult<Response> {
    let now = state.clock.now();
    let refusal = booked.refusal(now);
    let base = page_base(ctx, Some(AccountKind::Resident), Some(session), false).await?;
    let (service, state_name) = (
        match ctx.lang {
            Lang::Ja => booked.service.name_ja.clone(),
            Lang::En => booked.service.name_en.clone(),
        },
        match refusal {
            None => "open",
            Some(ErrorCode::JoinNotOpenYet) => "early",
            Some(ErrorCode::JoinClosed) => "closed",
            Some(_) => "not_joinable",
        },
    );
    let id = booked.reservation.id.to_string();
    let page = state.templates.page(
        "counter/appointment.html",
        &base,
        context! {
            id,
            service,
            reference => booked.reservation.reference.to_string(),
            when => slot_when(&booked.slot, ctx.lang),
            opens_at => clock(booked.window.opens_at),
            state => state_name,
            device_check => format!("/counter/device-check?next=/counter/appointments/{}", booked.reservation.id),
            alert,
        },
    )?;
    Ok((status, page).into_response())
}

/// The appointment's page: when the resident may join, the device check, and the check-in.
async fn appointment_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let booked = appointments::appointment(&*state.storage, &scope, reservation_id(&id)?).await?;
    render(
        &state,
        &ctx,
        &session,
        &booked,
        None,
        axum::http::StatusCode::OK,
    )
    .await
}

/// Checks in and goes to the ticket (the same one when already checked in); a refusal is shown
/// on the page.
async fn check_in(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    let reservation = reservation_id(&id)?;
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    match appointments::check_in(&*state.storage, &scope, reservation).await {
        Ok(issued) => {
            Ok(Redirect::to(&format!("/counter/tickets/{}", issued.ticket().id)).into_response())
        }
        Err(error) => {
            let (status, _, alert) = form_errors(error.into(), ctx.lang)?;
            let booked = appointments::appointment(&*state.storage, &scope, reservation).await?;
            render(&state, &ctx, &session, &booked, Some(alert), status).await
        }
    }
}

/// How often the wall view reloads itself (by script; see `web/static/kiosk.js`).
const WALL_RELOAD_S: u32 = 30;

#[derive(serde::Serialize)]
struct WallRowView {
    time: String,
    reference: String,
    service: String,
    /// booked, waiting, called, in_call, done, no_show, cancelled or missed.
    state: &'static str,
    number: Option<String>,
    room: Option<String>,
}

#[derive(serde::Serialize)]
struct WallQueueView {
    name: String,
    rows: Vec<WallRowView>,
}

/// Where a booked consultation stands at `now`.
fn wall_state(row: &appointments::WallRow, now: time::OffsetDateTime) -> &'static str {
    use madoguchi_counter::TicketStatus as T;
    use madoguchi_storage::ReservationStatus as R;
    match (
        row.reservation.status,
        row.ticket.as_ref().map(|t| t.status),
    ) {
        (R::Cancelled | R::Expired, _) => "cancelled",
        (R::Attended, _) => "done",
        (R::NoShow, _) => "no_show",
        (_, Some(T::Waiting { .. })) => "waiting",
        (_, Some(T::Called { .. })) => "called",
        (_, Some(T::InCall)) => "in_call",
        (_, Some(T::Finished { .. })) => "done",
        (R::Held | R::Confirmed, None) => {
            let window = madoguchi_counter::join_window(
                row.slot.starts_at,
                row.slot.ends_at,
                madoguchi_counter::ParticipantRole::Resident,
            );
            if now >= window.closes_at {
                "missed"
            } else {
                "booked"
            }
        }
    }
}

/// The wall view: today's booked consultations of the departments the staff member serves,
/// by time, with where each stands (no names: the screen may face the room).
async fn wall(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: crate::http::auth::StaffSession,
) -> AppResult<Response> {
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let now = scope.now();
    let queues = appointments::today(&*state.storage, &scope, &staff.access)
        .await?
        .into_iter()
        .map(|q| WallQueueView {
            name: match ctx.lang {
                Lang::Ja => q.queue.name_ja.clone(),
                Lang::En => q.queue.name_en.clone(),
            },
            rows: q
                .rows
                .iter()
                .map(|row| WallRowView {
                    time: crate::view::present::time_range(&row.slot, ctx.lang),
                    reference: row.reservation.reference.to_string(),
                    service: match ctx.lang {
                        Lang::Ja => row.service_name_ja.clone(),
                        Lang::En => row.service_name_en.clone(),
                    },
                    state: wall_state(row, now),
                    number: row.ticket.as_ref().map(|t| t.number.to_string()),
                    room: row
                        .ticket
                        .as_ref()
                        .and_then(|t| t.room)
                        .map(|r| r.to_string()),
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let base = crate::view::page::staff_base(&ctx, &staff, &session).await?;
    let page = state.templates.page(
        "counter/wall.html",
        &base,
        context! { queues, reload_s => WALL_RELOAD_S, updated => clock(now) },
    )?;
    Ok(page.into_response())
}
