//! The remote counter's pages: residents take a number (`/counter`) and watch their place in
//! line (`/counter/tickets/{id}`, refreshed every 15 seconds without JavaScript while they
//! wait); the department's specialists work the queue from `/staff/counter` (call next, recall,
//! no answer, finish, remove). Every form posts and redirects, so a reload never repeats it.

use super::EmptyForm;
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
use madoguchi_usecases::counter::rooms;
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
        .route("/counter/tickets/{id}/answer", post(answer))
        .route("/counter/device-check", get(device_check))
        .route("/counter/rooms/{id}", get(call_page))
        .route("/counter/rooms/{id}/grant", post(fresh_grant))
        .route("/staff/counter", get(console))
        .route("/staff/counter/queues/{id}/call-next", post(call_next))
        .route("/staff/counter/tickets/{id}/follow-up", post(follow_up))
        .route("/staff/counter/tickets/{id}/record", post(record))
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
    /// The consultation's room, once answered.
    room: Option<String>,
    /// What reaches each participant of the room, as their browsers last reported it.
    quality: Vec<QualityView>,
    /// The specialist's record so far (the console only).
    result: Option<&'static str>,
    notes: Option<String>,
}

#[derive(Serialize)]
struct QualityView {
    role: &'static str,
    /// Loss in percent with one decimal, e.g. `0.4`.
    loss: String,
    freezes: u64,
    /// Seconds from joining to the first picture, with one decimal.
    join_seconds: Option<String>,
    round_trip_ms: Option<u64>,
}

/// What reaches each participant of `room`: the reports the room's media node keeps in the
/// database, with this node's own fresher ones over them when the room signals through it.
async fn quality_views(
    state: &AppState,
    tenant: madoguchi_domain::TenantId,
    room: Option<madoguchi_domain::RoomId>,
) -> AppResult<Vec<QualityView>> {
    let Some(room) = room else {
        return Ok(Vec::new());
    };
    let mut reports: std::collections::BTreeMap<String, crate::media::ParticipantQuality> = state
        .storage
        .room_quality(tenant, room)
        .await?
        .into_iter()
        .map(|p| (p.participant.clone(), p))
        .collect();
    for fresh in state.media.quality(room) {
        reports.insert(fresh.participant.clone(), fresh);
    }
    Ok(reports
        .into_values()
        .map(|p| {
            let per_mille = p.quality.loss_per_mille();
            QualityView {
                role: p.role.as_str(),
                loss: format!("{}.{}", per_mille / 10, per_mille % 10),
                freezes: p.quality.freezes,
                join_seconds: p
                    .quality
                    .join_ms
                    .map(|ms| format!("{}.{}", ms / 1000, (ms % 1000) / 100)),
                round_trip_ms: p.quality.round_trip_ms,
            }
        })
        .collect())
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
        room: t.room.map(|r| r.to_string()),
        quality: Vec::new(),
        result: None,
        notes: None,
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
    recorded: Option<String>,
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
    let number = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(madoguchi_counter::TicketNumber::parse)
            .map(|n| n.to_string())
    };
    let notice = ConsoleNotice {
        called: number(&query.called),
        recorded: number(&query.recorded),
        empty: query.empty.is_some(),
        ..ConsoleNotice::default()
    };
    render_console(&state, &ctx, &session, &staff, notice).await
}

/// What the console says on top, and a record form sent back with its problem.
#[derive(Default)]
struct ConsoleNotice {
    called: Option<String>,
    recorded: Option<String>,
    empty: bool,
    alert: Option<String>,
    /// The record form as sent, for the ticket it was sent for.
    draft: Option<RecordDraft>,
}

#[derive(Serialize)]
struct RecordDraft {
    ticket: String,
    result: String,
    notes: String,
    errors: std::collections::BTreeMap<String, String>,
}

async fn render_console(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    notice: ConsoleNotice,
) -> AppResult<Html<String>> {
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
        let mut active = Vec::new();
        for t in open
            .iter()
            .filter(|t| !matches!(t.status, TicketStatus::Waiting { .. }))
        {
            active.push(TicketView {
                quality: quality_views(state, ctx.tenant.id, t.room).await?,
                result: t.record.as_ref().map(|r| r.result.as_str()),
                notes: t.record.as_ref().and_then(|r| r.notes.clone()),
                ..ticket_view(t, ctx.lang)
            });
        }
        rows.push(ConsoleQueue {
            queue: queue_view(queue, ctx.lang),
            waiting,
            active,
        });
    }
    let base = staff_base(ctx, staff, session).await?;
    let results: Vec<&str> = madoguchi_counter::ConsultationResult::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    state.templates.page(
        "counter/console.html",
        &base,
        context! {
            queues => rows,
            called => notice.called,
            recorded => notice.recorded,
            empty => notice.empty,
            alert => notice.alert,
            draft => notice.draft,
            results,
        },
    )
}

#[derive(Deserialize)]
struct RecordForm {
    #[serde(default)]
    result: String,
    #[serde(default)]
    notes: String,
    /// `1`: end the consultation after saving.
    #[serde(default)]
    finish: String,
}

/// Saves the specialist's record of a consultation (and ends it when asked); a problem shows
/// the console again with what was typed.
async fn record(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<RecordForm>,
) -> AppResult<Response> {
    let ticket = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let saved = serving::record(
        &*state.storage,
        &scope,
        &staff.access,
        ticket,
        &form.result,
        &form.notes,
        form.finish == "1",
    )
    .await;
    match saved {
        Ok(recorded) => Ok(
            Redirect::to(&format!("/staff/counter?recorded={}", recorded.number)).into_response(),
        ),
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let notice = ConsoleNotice {
                alert: Some(alert),
                draft: Some(RecordDraft {
                    ticket: ticket.to_string(),
                    result: form.result,
                    notes: form.notes,
                    errors,
                }),
                ..ConsoleNotice::default()
            };
            let page = render_console(&state, &ctx, &session, &staff, notice).await?;
            Ok((status, page).into_response())
        }
    }
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

async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: ResidentSession,
    Path(id): Path<String>,
    PageForm(_form): PageForm<EmptyForm>,
) -> AppResult<Response> {
    let id = TicketId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let answered = rooms::answer(&*state.storage, &scope, None, id).await?;
    Ok(Redirect::to(&format!("/counter/rooms/{}", answered.room.id)).into_response())
}

/// Who opens a call page: a resident, or staff with their rights.
fn caller(
    resident: Result<ResidentSession, PageAuthRejection>,
    staff: Result<StaffSession, PageAuthRejection>,
) -> Result<
    (
        Actor,
        Option<madoguchi_domain::account::StaffAccess>,
        AccountKind,
    ),
    PageAuthRejection,
> {
    match (staff, resident) {
        (Ok(staff), _) => Ok((
            Actor::Staff(staff.account.id),
            Some(staff.access),
            AccountKind::Staff,
        )),
        (Err(_), Ok(resident)) => Ok((
            Actor::Resident(resident.account.id),
            None,
            AccountKind::Resident,
        )),
        (Err(_), Err(rejection)) => Err(rejection),
    }
}

#[derive(Deserialize)]
struct RoleQuery {
    #[serde(default)]
    role: Option<String>,
    /// `1`: a branch kiosk; the page returns to the kiosk's start when the call ends.
    #[serde(default)]
    kiosk: Option<String>,
}

/// The role asked for, or the first the caller may take: a resident is the resident; staff
/// run the room if they can, else help as a guest, beside the resident, at the kiosk, or
/// interpret.
async fn grant_for(
    state: &AppState,
    scope: &madoguchi_usecases::Scope,
    access: Option<&madoguchi_domain::account::StaffAccess>,
    room: madoguchi_domain::RoomId,
    asked: Option<&str>,
) -> AppResult<rooms::IssuedGrant> {
    use madoguchi_counter::ParticipantRole as R;
    let candidates: Vec<R> = match asked {
        Some(raw) => vec![
            R::parse(raw).ok_or_else(|| AppError::field("role", ErrorCode::ValidationFailed))?,
        ],
        None if access.is_none() => vec![R::Resident],
        None => vec![
            R::Specialist,
            R::GuestSpecialist,
            R::BranchStaff,
            R::Resident,
            R::Interpreter,
        ],
    };
    Ok(rooms::grant_first(
        &*state.storage,
        scope,
        access,
        room,
        &candidates,
        super::grant_issuer(state),
    )
    .await?)
}

#[derive(Serialize)]
struct Choice {
    id: String,
    name: String,
}

/// The call: the caller's grant in the page, the script joins with it.
async fn call_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: Result<ResidentSession, PageAuthRejection>,
    staff: Result<StaffSession, PageAuthRejection>,
    Path(id): Path<String>,
    Query(query): Query<RoleQuery>,
) -> Result<Response, PageAuthRejection> {
    let room = madoguchi_domain::RoomId(path_id(&id)?);
    let (actor, access, kind) = caller(resident, staff)?;
    let scope = state.scope(ctx.tenant.id, actor);
    let issued = grant_for(&state, &scope, access.as_ref(), room, query.role.as_deref()).await?;
    let stored = state
        .storage
        .room(ctx.tenant.id, room)
        .await
        .map_err(AppError::from)?;
    let role = issued.claims.role;
    let runs_room = madoguchi_counter::may(role, madoguchi_counter::Action::End);
    let departments = state
        .storage
        .list_departments(ctx.tenant.id)
        .await
        .map_err(AppError::from)?;
    let name_of = |ja: &str, en: &str| match ctx.lang {
        Lang::Ja => ja.to_owned(),
        Lang::En => en.to_owned(),
    };
    let department = departments
        .iter()
        .find(|d| d.id == stored.department)
        .map(|d| name_of(&d.name_ja, &d.name_en));
    let (choices, staff_choices) = if runs_room {
        let others = departments
            .iter()
            .filter(|d| d.id != stored.department)
            .map(|d| Choice {
                id: d.id.to_string(),
                name: name_of(&d.name_ja, &d.name_en),
            })
            .collect();
        let staff = state
            .storage
            .list_accounts(ctx.tenant.id, AccountKind::Staff)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .filter(|a| !a.disabled)
            .map(|a| Choice {
                id: a.id.to_string(),
                name: a.display_name.as_str().to_owned(),
            })
            .collect();
        (others, staff)
    } else {
        (Vec::new(), Vec::new())
    };
    let base = page_base(&ctx, Some(kind), Some(&session), false).await?;
    let page = state.templates.page(
        "counter/call.html",
        &base,
        context! {
            room => room.to_string(),
            role => role.as_str(),
            participant => issued.claims.identity,
            grant => issued.token,
            signal_url => super::signal_url(&issued.node, room),
            ice_servers => serde_json::json!(super::ice_servers(&state, &issued.claims.identity, scope.now())).to_string(),
            department,
            may_end => runs_room,
            may_share_screen => madoguchi_counter::may(role, madoguchi_counter::Action::ShareScreen),
            may_share_document => madoguchi_counter::may(role, madoguchi_counter::Action::ShareDocument),
            departments => choices,
            staff => staff_choices,
            kiosk => query.kiosk.as_deref() == Some("1") && access.is_some(),
        },
    )?;
    // This page alone may use the camera, the microphone and screen capture, and its script
    // may reach the signalling of the media nodes besides this site.
    let csp = crate::http::headers::CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'",
        &std::iter::once("connect-src 'self'".to_owned())
            .chain(super::media_origins(&state).await)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let csp = axum::http::HeaderValue::from_str(&csp)
        .map_err(|e| AppError::internal(format!("call page policy: {e}")))?;
    Ok((
        [
            (
                axum::http::HeaderName::from_static("permissions-policy"),
                axum::http::HeaderValue::from_static(
                    "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
                ),
            ),
            (axum::http::header::CONTENT_SECURITY_POLICY, csp),
        ],
        page,
    )
        .into_response())
}

#[derive(Deserialize)]
struct GrantForm {
    #[serde(default)]
    role: String,
}

/// A fresh grant for the call page's script, when it reconnects after the page's grant expired.
async fn fresh_grant(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: Result<ResidentSession, PageAuthRejection>,
    staff: Result<StaffSession, PageAuthRejection>,
    Path(id): Path<String>,
    PageForm(form): PageForm<GrantForm>,
) -> Result<Response, PageAuthRejection> {
    let room = madoguchi_domain::RoomId(path_id(&id)?);
    let (actor, access, _) = caller(resident, staff)?;
    let scope = state.scope(ctx.tenant.id, actor);
    let issued = grant_for(&state, &scope, access.as_ref(), room, Some(&form.role)).await?;
    Ok(axum::Json(serde_json::json!({
        "token": issued.token,
        "ice_servers": super::ice_servers(&state, &issued.claims.identity, scope.now()),
        "signal_url": super::signal_url(&issued.node, room),
    }))
    .into_response())
}

#[derive(Deserialize)]
struct DeviceCheckQuery {
    #[serde(default)]
    next: Option<String>,
}

/// The camera, microphone and speaker check before a call; open to anyone (it sends nothing).
/// `next` (a path on this site) is where "continue" leads, e.g. the call itself.
async fn device_check(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: Result<ResidentSession, PageAuthRejection>,
    Query(query): Query<DeviceCheckQuery>,
) -> AppResult<Response> {
    let next = query
        .next
        .as_deref()
        .and_then(madoguchi_domain::ReturnPath::parse)
        .map(madoguchi_domain::ReturnPath::into_string);
    let base = page_base(
        &ctx,
        resident.is_ok().then_some(AccountKind::Resident),
        Some(&session),
        false,
    )
    .await?;
    let page = state
        .templates
        .page("counter/device_check.html", &base, context! { next })?;
    Ok((
        [(
            axum::http::HeaderName::from_static("permissions-policy"),
            "camera=(self), microphone=(self), geolocation=()",
        )],
        page,
    )
        .into_response())
}
