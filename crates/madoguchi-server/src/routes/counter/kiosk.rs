//! Kiosk mode: a branch's tablet, signed in as the branch's staff account, with no resident
//! login and large touch targets. A walk-in picks a consultation topic (a department's queue),
//! gets a number, waits (the page refreshes itself), answers when called and is in the call
//! as the resident; when the call ends the tablet returns to the start by itself. The start
//! page also reloads itself (`web/static/kiosk.js`), so a tablet left alone recovers after a
//! network loss.

use super::EmptyForm;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::staff_base;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_counter::{TicketStatus, WaitEstimate};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang, OfficeId, QueueId, Role, TicketId};
use madoguchi_usecases::Actor;
use madoguchi_usecases::counter::rooms;
use madoguchi_usecases::counter::tickets::{self, TakenAt};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// The start page reloads itself this often: it clears a half-finished choice and brings a
/// tablet back after a network loss.
const START_REFRESH_S: u32 = 60;
/// The waiting page follows the queue this often.
const TICKET_REFRESH_S: u32 = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(start))
        .route("/kiosk/tickets", post(take))
        .route("/kiosk/tickets/{id}", get(ticket))
        .route("/kiosk/tickets/{id}/answer", post(answer))
}

/// The office whose kiosk this is: the branch staff account's own branch. Staff who run no
/// kiosk (headquarters, finance) are refused.
fn kiosk_office(access: &StaffAccess) -> AppResult<OfficeId> {
    access
        .assignments
        .iter()
        .find(|a| a.role == Role::BranchStaff)
        .and_then(|a| a.office_id)
        .ok_or_else(|| AppError::new(ErrorCode::Forbidden))
}

fn path_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorCode::NotFound))
}

#[derive(Serialize)]
struct Topic {
    id: String,
    name: String,
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    kiosk_office(&staff.access)?;
    let topics: Vec<Topic> = state
        .storage
        .list_queues(ctx.tenant.id)
        .await?
        .into_iter()
        .filter(|q| q.accepting)
        .map(|q| Topic {
            id: q.id.to_string(),
            name: match ctx.lang {
                Lang::Ja => q.name_ja,
                Lang::En => q.name_en,
            },
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "counter/kiosk.html",
        &base,
        context! { topics, refresh_s => START_REFRESH_S },
    )
}

#[derive(Deserialize)]
struct TakeForm {
    #[serde(default)]
    queue_id: String,
}

async fn take(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    PageForm(form): PageForm<TakeForm>,
) -> AppResult<Response> {
    let office = kiosk_office(&staff.access)?;
    let queue = Uuid::parse_str(&form.queue_id)
        .map(QueueId)
        .map_err(|_| AppError::field("queue_id", ErrorCode::ValidationFailed))?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let issued = tickets::take(
        &*state.storage,
        &scope,
        queue,
        TakenAt::Kiosk {
            office,
            access: &staff.access,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/kiosk/tickets/{}", issued.ticket().id)).into_response())
}

async fn ticket(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let office = kiosk_office(&staff.access)?;
    let id = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let standing = tickets::standing(&*state.storage, &scope, id).await?;
    // Only this kiosk's own walk-ins.
    if standing.ticket.office != Some(office) {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    if let (TicketStatus::InCall, Some(room)) = (standing.ticket.status, standing.ticket.room) {
        return Ok(
            Redirect::to(&format!("/counter/rooms/{room}?role=resident&kiosk=1")).into_response(),
        );
    }
    let queue = state
        .storage
        .queue(ctx.tenant.id, standing.ticket.queue)
        .await?;
    let (state_name, outcome) = match standing.ticket.status {
        TicketStatus::Waiting { .. } => ("waiting", None),
        TicketStatus::Called { .. } => ("called", None),
        TicketStatus::InCall => ("in_call", None),
        TicketStatus::Finished { outcome } => ("finished", Some(outcome.as_str())),
    };
    let wait = match standing.estimate {
        Some(WaitEstimate::Minutes(m)) => Some(m),
        Some(WaitEstimate::NoOneOnDuty) | None => None,
    };
    let base = staff_base(&ctx, &staff, &session).await?;
    let page = state.templates.page(
        "counter/kiosk_ticket.html",
        &base,
        context! {
            ticket => context! {
                id => standing.ticket.id.to_string(),
                number => standing.ticket.number.to_string(),
                state => state_name,
                outcome,
            },
            queue_name => match ctx.lang { Lang::Ja => queue.name_ja, Lang::En => queue.name_en },
            position => standing.position,
            wait,
            refresh_s => TICKET_REFRESH_S,
        },
    )?;
    Ok(page.into_response())
}

async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    kiosk_office(&staff.access)?;
    let id = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let answered = rooms::answer(&*state.storage, &scope, Some(&staff.access), id).await?;
    Ok(Redirect::to(&format!(
        "/counter/rooms/{}?role=resident&kiosk=1",
        answered.room.id
    ))
    .into_response())
}
