//! A resident's booked remote consultation at the counter: the page their reservation (and its
//! mail) links to, saying from when they may join, with the device check and, once the join
//! window opens, the check-in that puts them in the department's queue (then the ticket page
//! takes over: their place, the call, the room).

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
    Router::new().route(
        "/counter/appointments/{id}",
        get(appointment_page).post(check_in),
    )
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
