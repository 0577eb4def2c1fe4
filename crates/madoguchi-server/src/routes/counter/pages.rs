//! The remote counter's pages: residents take a number (`/counter`) and watch their place in
//! line (`/counter/tickets/{id}`, refreshed every 15 seconds without JavaScript while they
//! wait); the department's specialists work the queue from `/staff/counter` (call next, recall,
//! no answer, finish, remove). Every form posts and redirects, so a reload never repeats it.

use crate::http::Ctx;
use crate::http::auth::{PageAuthRejection, ResidentSession, StaffSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::{form_errors, page_base, staff_base};
use crate::view::present::{clock, instant_label};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_counter::{TicketStatus, WaitEstimate};
use madoguchi_domain::{AccountKind, ErrorCode, Lang, QueueId, TicketId};
use madoguchi_storage::{CounterQueue, Ticket};
use madoguchi_usecases::Actor;
use madoguchi_usecases::counter::queues;
use madoguchi_usecases::counter::serving::{self, FollowUp};
use madoguchi_usecases::counter::tickets::{self, TakenAt};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// How often the ticket page reloads itself while the resident waits or is being called.
const TICKET_REFRESH_S: u32 = 15;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/counter", get(queues_page))
        .route("/counter/queues/{id}/tickets", post(take))
        .route("/counter/tickets/{id}", get(ticket_page))
        .route("/counter/tickets/{id}/leave", post(leave))
        .route("/staff/counter", get(console))
        .route("/staff/counter/queues/{id}/call-next", post(call_next))
        .route("/staff/counter/tickets/{id}/follow-up", post(follow_up))
}

/// An id in a path; anything that is no id is simply not found.
fn path_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorCode::NotFound))
}

#[derive(Serialize)]
struct QueueView {
    id: String,
    prefix: String,
    name: String,
    accepting: bool,
}

fn queue_view(q: &CounterQueue, lang: Lang) -> QueueView {
    QueueView {
        id: q.id.to_string(),
        prefix: String::from(q.prefix),
        name: match lang {
            Lang::Ja => q.name_ja.clone(),
            Lang::En => q.name_en.clone(),
        },
        accepting: q.accepting,
    }
}

#[derive(Serialize)]
struct TicketView {
    id: String,
    number: String,
    /// waiting, called, in_call or finished.
    state: &'static str,
    outcome: Option<&'static str>,
    calls: u8,
    source: &'static str,
    issued: String,
    issued_clock: String,
}

fn ticket_view(t: &Ticket, lang: Lang) -> TicketView {
    let (state, outcome, calls) = match t.status {
        TicketStatus::Waiting { .. } => ("waiting", None, 0),
        TicketStatus::Called { calls, .. } => ("called", None, calls),
        TicketStatus::InCall => ("in_call", None, 0),
        TicketStatus::Finished { outcome } => ("finished", Some(outcome.as_str()), 0),
    };
    TicketView {
        id: t.id.to_string(),
        number: t.number.to_string(),
        state,
        outcome,
        calls,
        source: t.source.as_str(),
        issued: instant_label(t.issued_at, lang),
        issued_clock: clock(t.issued_at),
    }
}

async fn queues_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: Result<ResidentSession, PageAuthRejection>,
) -> AppResult<Html<String>> {
    let signed_in = resident.is_ok();
    let base = page_base(
        &ctx,
        signed_in.then_some(AccountKind::Resident),
        Some(&session),
        false,
    )
    .await?;
    let found = queues::list(&*state.storage, ctx.tenant.id).await?;
    let views: Vec<QueueView> = found.iter().map(|q| queue_view(q, ctx.lang)).collect();
    state.templates.page(
        "counter/queues.html",
        &base,
        context! { queues => views, signed_in },
    )
}

async fn take(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    let queue = QueueId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    match tickets::take(&*state.storage, &scope, queue, TakenAt::Web).await {
        Ok(issue) => {
            Ok(Redirect::to(&format!("/counter/tickets/{}", issue.ticket().id)).into_response())
        }
        Err(error) => {
            let (status, _, alert) = form_errors(error.into(), ctx.lang)?;
            let base = page_base(&ctx, Some(AccountKind::Resident), Some(&session), false).await?;
            let found = queues::list(&*state.storage, ctx.tenant.id).await?;
            let views: Vec<QueueView> = found.iter().map(|q| queue_view(q, ctx.lang)).collect();
            let page = state.templates.page(
                "counter/queues.html",
                &base,
                context! { queues => views, signed_in => true, alert },
            )?;
            Ok((status, page).into_response())
        }
    }
}

/// Forms whose only field is the CSRF token (checked by `PageForm`).
#[derive(Deserialize)]
struct EmptyForm {}

#[derive(Deserialize)]
struct TicketQuery {
    /// `1`: do not reload (the resident stopped it; WCAG 2.2.1 lets them).
    #[serde(default)]
    norefresh: Option<String>,
}

async fn ticket_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
    Query(query): Query<TicketQuery>,
) -> AppResult<Html<String>> {
    let id = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let standing = tickets::standing(&*state.storage, &scope, id).await?;
    let queue = state
        .storage
        .queue(ctx.tenant.id, standing.ticket.queue)
        .await?;
    let view = ticket_view(&standing.ticket, ctx.lang);
    let live = matches!(view.state, "waiting" | "called");
    let stopped = query.norefresh.as_deref() == Some("1");
    let wait = match standing.estimate {
        Some(WaitEstimate::Minutes(m)) => Some(m),
        Some(WaitEstimate::NoOneOnDuty) | None => None,
    };
    let no_one_on_duty = matches!(standing.estimate, Some(WaitEstimate::NoOneOnDuty));
    let base = page_base(&ctx, Some(AccountKind::Resident), Some(&session), false).await?;
    state.templates.page(
        "counter/ticket.html",
        &base,
        context! {
            ticket => view,
            queue => queue_view(&queue, ctx.lang),
            position => standing.position,
            wait,
            no_one_on_duty,
            refresh_s => (live && !stopped).then_some(TICKET_REFRESH_S),
            refresh_stopped => live && stopped,
        },
    )
}

async fn leave(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: ResidentSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    let id = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    tickets::leave(&*state.storage, &scope, id).await?;
    Ok(Redirect::to(&format!("/counter/tickets/{id}")).into_response())
}

#[derive(Serialize)]
struct ConsoleQueue {
    queue: QueueView,
    waiting: Vec<TicketView>,
    active: Vec<TicketView>,
}

/// What the last "call next" did, shown at the top of the console.
#[derive(Deserialize)]
struct ConsoleQuery {
    #[serde(default)]
    called: Option<String>,
    #[serde(default)]
    empty: Option<String>,
}

async fn console(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<ConsoleQuery>,
) -> AppResult<Html<String>> {
    // Only a real ticket number is echoed back.
    let called = query
        .called
        .as_deref()
        .and_then(madoguchi_counter::TicketNumber::parse)
        .map(|n| n.to_string());
    let served: Vec<CounterQueue> = queues::list(&*state.storage, ctx.tenant.id)
        .await?
        .into_iter()
        .filter(|q| staff.access.may_serve_queue(q.department))
        .collect();
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let mut rows = Vec::new();
    for queue in &served {
        let open = state.storage.open_tickets(ctx.tenant.id, queue.id).await?;
        let entries: Vec<_> = open
            .iter()
            .filter(|t| matches!(t.status, TicketStatus::Waiting { .. }))
            .map(Ticket::queue_entry)
            .collect();
        let order = madoguchi_counter::serving_order(&entries, scope.now());
        let waiting = order
            .entries()
            .iter()
            .filter_map(|e| open.iter().find(|t| t.id == e.ticket))
            .map(|t| ticket_view(t, ctx.lang))
            .collect();
        let active = open
            .iter()
            .filter(|t| !matches!(t.status, TicketStatus::Waiting { .. }))
            .map(|t| ticket_view(t, ctx.lang))
            .collect();
        rows.push(ConsoleQueue {
            queue: queue_view(queue, ctx.lang),
            waiting,
            active,
        });
    }
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "counter/console.html",
        &base,
        context! { queues => rows, called, empty => query.empty.is_some() },
    )
}

async fn call_next(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    let queue = QueueId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let called = serving::call_next(&*state.storage, &scope, &staff.access, queue).await?;
    let to = match called {
        Some(ticket) => format!("/staff/counter?called={}", ticket.number),
        None => "/staff/counter?empty=1".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize)]
struct FollowUpForm {
    #[serde(default)]
    action: String,
}

async fn follow_up(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<FollowUpForm>,
) -> AppResult<Response> {
    let ticket = TicketId(path_id(&id)?);
    let what = match form.action.as_str() {
        "recall" => FollowUp::Recall,
        "no_answer" => FollowUp::NoAnswer,
        "finish" => FollowUp::Finish,
        "remove" => FollowUp::Remove,
        _ => return Err(AppError::field("action", ErrorCode::ValidationFailed)),
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    serving::follow_up(&*state.storage, &scope, &staff.access, ticket, what).await?;
    Ok(Redirect::to("/staff/counter").into_response())
}
