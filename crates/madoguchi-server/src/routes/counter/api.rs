//! `/api/v1/counter`: queues, tickets and calls.
//!
//! A resident takes a ticket for themselves; a branch's staff take one at their kiosk for a
//! walk-in (naming the office); HQ specialists call the queues of their department. A ticket
//! of another resident is 404 (its existence is not told); another department's queue is 403
//! for staff.

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAccount, ApiAdmin, ApiCounterDeskStaff, ApiJson, ApiResident, Ctx};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use madoguchi_counter::{Outcome, TicketStatus, WaitEstimate};
use madoguchi_domain::{DepartmentId, ErrorCode, Lang, OfficeId, QueueId, RoomId, TicketId};
use madoguchi_storage::{CounterQueue, Ticket, TicketIssue};
use madoguchi_usecases::Actor;
use madoguchi_usecases::counter::queues::{self, QueueInput};
use madoguchi_usecases::counter::rooms;
use madoguchi_usecases::counter::serving::{self, FollowUp};
use madoguchi_usecases::counter::tickets::{self, Standing, TakenAt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/counter/queues", get(list_queues).post(create_queue))
        .route("/counter/queues/{id}/tickets", post(take_ticket))
        .route(
            "/counter/appointments/{reservation}/check-in",
            post(check_in),
        )
        .route("/counter/queues/{id}/call-next", post(call_next))
        .route("/counter/queues/{id}/duty", put(duty))
        .route("/counter/queues/{id}/accepting", put(accepting))
        .route("/counter/tickets/{id}", get(ticket))
        .route("/counter/tickets/{id}/leave", post(leave))
        .route("/counter/tickets/{id}/follow-up", post(follow_up))
        .route("/counter/tickets/{id}/record", put(record))
        .route("/counter/tickets/{id}/answer", post(answer))
        .route("/counter/rooms/{id}", get(room))
        .route("/counter/rooms/{id}/grants", post(grant))
}

/// A department's queue.
#[derive(Serialize, ToSchema)]
pub struct QueueResponse {
    pub id: Uuid,
    pub department_id: Uuid,
    /// The letter its numbers start with (`A` of `A-012`).
    pub prefix: String,
    /// The name in the language of the request.
    pub name: String,
    pub name_ja: String,
    pub name_en: String,
    /// Whether it takes tickets now.
    pub accepting: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQueueRequest {
    pub department_id: Uuid,
    /// One capital letter (full-width and lower case are read as it).
    #[schema(example = "A")]
    pub prefix: String,
    #[schema(example = "市民課 リモート窓口")]
    pub name_ja: String,
    #[schema(example = "Citizens' Division remote counter")]
    pub name_en: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TakeTicketRequest {
    /// Staff only: the office whose kiosk takes the ticket for a walk-in.
    pub office_id: Option<Uuid>,
}

/// A numbered ticket and where it stands.
#[derive(Serialize, ToSchema)]
pub struct TicketResponse {
    pub id: Uuid,
    pub queue_id: Uuid,
    /// 受付番号, e.g. `A-012`.
    pub number: String,
    /// kiosk, web, appointment or transfer.
    pub source: &'static str,
    /// waiting, called, in_call or finished.
    pub status: &'static str,
    /// done, no_show, cancelled or transferred, once finished.
    pub outcome: Option<&'static str>,
    /// How many times it has been called this turn (0–2).
    pub calls: u8,
    /// Place in line from 1, while waiting.
    pub position: Option<usize>,
    /// Expected wait in minutes (a multiple of 5) while waiting and someone is on duty.
    pub estimated_wait_minutes: Option<i64>,
    /// Specialists on duty at the queue.
    pub on_duty: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub called_at: Option<OffsetDateTime>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// recall, no_answer, finish or remove.
    #[schema(example = "recall")]
    pub action: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyRequest {
    pub on: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptingRequest {
    pub accepting: bool,
}

fn queue_response(q: &CounterQueue, lang: Lang) -> QueueResponse {
    QueueResponse {
        id: q.id.0,
        department_id: q.department.0,
        prefix: String::from(q.prefix),
        name: match lang {
            Lang::Ja => q.name_ja.clone(),
            Lang::En => q.name_en.clone(),
        },
        name_ja: q.name_ja.clone(),
        name_en: q.name_en.clone(),
        accepting: q.accepting,
    }
}

fn status_parts(status: TicketStatus) -> (&'static str, Option<&'static str>, u8) {
    match status {
        TicketStatus::Waiting { .. } => ("waiting", None, 0),
        TicketStatus::Called { calls, .. } => ("called", None, calls),
        TicketStatus::InCall => ("in_call", None, 0),
        TicketStatus::Finished { outcome } => ("finished", Some(Outcome::as_str(outcome)), 0),
    }
}

fn ticket_response(t: &Ticket, standing: Option<&Standing>) -> TicketResponse {
    let (status, outcome, calls) = status_parts(t.status);
    TicketResponse {
        id: t.id.0,
        queue_id: t.queue.0,
        number: t.number.to_string(),
        source: t.source.as_str(),
        status,
        outcome,
        calls,
        position: standing.and_then(|s| s.position),
        estimated_wait_minutes: standing.and_then(|s| match s.estimate {
            Some(WaitEstimate::Minutes(m)) => Some(m),
            Some(WaitEstimate::NoOneOnDuty) | None => None,
        }),
        on_duty: standing.map_or(0, |s| s.on_duty),
        issued_at: t.issued_at,
        called_at: t.called_at,
    }
}

fn actor_of(caller: &crate::http::ApiCaller) -> Actor {
    match caller.account.kind {
        madoguchi_domain::AccountKind::Resident => Actor::Resident(caller.account.id),
        madoguchi_domain::AccountKind::Staff => Actor::Staff(caller.account.id),
    }
}

/// The city's queues, by letter.
#[utoipa::path(get, path = "/api/v1/counter/queues", tag = "counter", security(("bearer" = [])),
    responses((status = 200, body = [QueueResponse])))]
pub async fn list_queues(
    State(state): State<AppState>,
    ctx: Ctx,
    _caller: ApiAccount,
) -> AppResult<Json<Vec<QueueResponse>>> {
    let found = queues::list(&*state.storage, ctx.tenant.id).await?;
    Ok(Json(
        found.iter().map(|q| queue_response(q, ctx.lang)).collect(),
    ))
}

/// Create a department's queue (administrators).
#[utoipa::path(post, path = "/api/v1/counter/queues", tag = "counter", security(("bearer" = [])),
    request_body = CreateQueueRequest,
    responses((status = 201, body = QueueResponse),
        (status = 409, body = ErrorBody, description = "queue_prefix_taken, queue_exists"),
        (status = 422, body = ErrorBody, description = "a field is missing or not valid (`prefix`, `name_ja`, `name_en`, `department`)")))]
pub async fn create_queue(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<CreateQueueRequest>,
) -> AppResult<impl IntoResponse> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let input = QueueInput {
        department: Some(DepartmentId(body.department_id)),
        prefix: body.prefix,
        name_ja: body.name_ja,
        name_en: body.name_en,
    };
    let queue = queues::create(&*state.storage, &scope, &input).await?;
    Ok((StatusCode::CREATED, Json(queue_response(&queue, ctx.lang))))
}

/// Take a ticket: a resident for themselves (201; their open ticket of the queue again, 200),
/// or a branch's staff at their kiosk for a walk-in (`office_id`).
#[utoipa::path(post, path = "/api/v1/counter/queues/{id}/tickets", tag = "counter", security(("bearer" = [])),
    request_body = TakeTicketRequest, params(("id" = Uuid, Path)),
    responses((status = 201, body = TicketResponse), (status = 200, body = TicketResponse, description = "the resident's open ticket of this queue"),
        (status = 409, body = ErrorBody, description = "queue_closed, queue_full_today"),
        (status = 422, body = ErrorBody, description = "`office_id` missing for staff, or given by a resident")))]
pub async fn take_ticket(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<TakeTicketRequest>,
) -> AppResult<impl IntoResponse> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let issued = match (&caller.access, body.office_id) {
        (None, None) => tickets::take(&*state.storage, &scope, QueueId(id), TakenAt::Web).await?,
        (Some(access), Some(office)) => {
            tickets::take(
                &*state.storage,
                &scope,
                QueueId(id),
                TakenAt::Kiosk {
                    office: OfficeId(office),
                    access,
                },
            )
            .await?
        }
        (Some(_), None) => return Err(AppError::field("office_id", ErrorCode::Required)),
        (None, Some(_)) => return Err(AppError::field("office_id", ErrorCode::ValidationFailed)),
    };
    issued_response(&state, &scope, issued).await
}

/// A ticket just issued (201) or the caller's open one again (200), with its place in line.
async fn issued_response(
    state: &AppState,
    scope: &madoguchi_usecases::Scope,
    issued: TicketIssue,
) -> AppResult<(StatusCode, Json<TicketResponse>)> {
    let status = match issued {
        TicketIssue::Issued(_) => StatusCode::CREATED,
        TicketIssue::Existing(_) => StatusCode::OK,
    };
    let standing = tickets::standing(&*state.storage, scope, issued.ticket().id).await?;
    Ok((
        status,
        Json(ticket_response(&standing.ticket, Some(&standing))),
    ))
}

/// Check in for a booked remote consultation (the resident who booked it, from ten minutes
/// before its time until half an hour after its end): a ticket in the department's queue,
/// served at the booked time before walk-ins (201; the same ticket again, 200).
#[utoipa::path(post, path = "/api/v1/counter/appointments/{reservation}/check-in", tag = "counter", security(("bearer" = [])),
    params(("reservation" = Uuid, Path)),
    responses((status = 201, body = TicketResponse), (status = 200, body = TicketResponse, description = "already checked in: the same ticket"),
        (status = 403, body = ErrorBody, description = "staff cannot check in for a resident"),
        (status = 404, body = ErrorBody, description = "no such reservation of the caller"),
        (status = 409, body = ErrorBody, description = "not_joinable, join_not_open_yet, join_closed, queue_closed")))]
pub async fn check_in(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(reservation): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let issued = madoguchi_usecases::counter::appointments::check_in(
        &*state.storage,
        &scope,
        madoguchi_domain::ReservationId(reservation),
    )
    .await?;
    issued_response(&state, &scope, issued).await
}

/// A ticket and its place in line (its holder, or staff).
#[utoipa::path(get, path = "/api/v1/counter/tickets/{id}", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TicketResponse)))]
pub async fn ticket(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<Json<TicketResponse>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let standing = tickets::standing(&*state.storage, &scope, TicketId(id)).await?;
    Ok(Json(ticket_response(&standing.ticket, Some(&standing))))
}

/// Leave the queue (the resident, until the call starts).
#[utoipa::path(post, path = "/api/v1/counter/tickets/{id}/leave", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketResponse),
        (status = 409, body = ErrorBody, description = "ticket_state_conflict: the call has started or the ticket ended")))]
pub async fn leave(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiResident,
    Path(id): Path<Uuid>,
) -> AppResult<Json<TicketResponse>> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(caller.account.id));
    let left = tickets::leave(&*state.storage, &scope, TicketId(id)).await?;
    Ok(Json(ticket_response(&left, None)))
}

/// Call the next resident of a queue of one's department (puts the caller on duty). 204 when
/// no one waits.
#[utoipa::path(post, path = "/api/v1/counter/queues/{id}/call-next", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketResponse), (status = 204, description = "no one waits")))]
pub async fn call_next(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterDeskStaff,
    Path(id): Path<Uuid>,
) -> AppResult<axum::response::Response> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    Ok(
        match serving::call_next(&*state.storage, &scope, access, QueueId(id)).await? {
            Some(called) => Json(ticket_response(&called, None)).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

/// What follows a call: `recall` (once), `no_answer` (the first time to the back of the
/// queue, the second a no-show), `finish` (after the consultation), `remove` (staff take the
/// ticket out).
#[utoipa::path(post, path = "/api/v1/counter/tickets/{id}/follow-up", tag = "counter", security(("bearer" = [])),
    request_body = FollowUpRequest, params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketResponse),
        (status = 409, body = ErrorBody, description = "ticket_state_conflict"),
        (status = 422, body = ErrorBody, description = "`action` is not one of the four")))]
pub async fn follow_up(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterDeskStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<FollowUpRequest>,
) -> AppResult<Json<TicketResponse>> {
    let what = match body.action.as_str() {
        "recall" => FollowUp::Recall,
        "no_answer" => FollowUp::NoAnswer,
        "finish" => FollowUp::Finish,
        "remove" => FollowUp::Remove,
        _ => return Err(AppError::field("action", ErrorCode::ValidationFailed)),
    };
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let moved = serving::follow_up(&*state.storage, &scope, access, TicketId(id), what).await?;
    Ok(Json(ticket_response(&moved, None)))
}

/// The specialist's record of a consultation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// resolved, follow_up, referred or other.
    #[schema(example = "resolved")]
    pub result: String,
    /// Free text, at most 2,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// End the consultation after saving (when it is still in the call).
    #[serde(default)]
    pub finish: bool,
}

/// A consultation's record as saved.
#[derive(Serialize, ToSchema)]
pub struct RecordResponse {
    pub ticket: TicketResponse,
    pub result: String,
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// Record a consultation (in the call, or served): its result and notes, replacing an earlier
/// record; with `finish`, end it. The audit entry carries the result, never the notes.
#[utoipa::path(put, path = "/api/v1/counter/tickets/{id}/record", tag = "counter", security(("bearer" = [])),
    request_body = RecordRequest, params(("id" = Uuid, Path)),
    responses((status = 200, body = RecordResponse),
        (status = 409, body = ErrorBody, description = "ticket_state_conflict: not in the call nor served"),
        (status = 422, body = ErrorBody, description = "`result` unknown, `notes` too long or with control characters")))]
pub async fn record(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterDeskStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RecordRequest>,
) -> AppResult<Json<RecordResponse>> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let saved = serving::record(
        &*state.storage,
        &scope,
        access,
        TicketId(id),
        &body.result,
        body.notes.as_deref().unwrap_or(""),
        body.finish,
    )
    .await?;
    let record = saved
        .record
        .clone()
        .ok_or_else(|| AppError::internal("a recorded ticket without its record"))?;
    Ok(Json(RecordResponse {
        ticket: ticket_response(&saved, None),
        result: record.result.as_str().to_owned(),
        notes: record.notes,
        recorded_at: record.at,
    }))
}

/// Go on or off duty at a queue of one's department.
#[utoipa::path(put, path = "/api/v1/counter/queues/{id}/duty", tag = "counter", security(("bearer" = [])),
    request_body = DutyRequest, params(("id" = Uuid, Path)),
    responses((status = 204, description = "done")))]
pub async fn duty(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterDeskStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<DutyRequest>,
) -> AppResult<StatusCode> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    serving::set_duty(&*state.storage, &scope, access, QueueId(id), body.on).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open or close a queue of one's department for new tickets.
#[utoipa::path(put, path = "/api/v1/counter/queues/{id}/accepting", tag = "counter", security(("bearer" = [])),
    request_body = AcceptingRequest, params(("id" = Uuid, Path)),
    responses((status = 200, body = QueueResponse)))]
pub async fn accepting(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterDeskStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<AcceptingRequest>,
) -> AppResult<Json<QueueResponse>> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let queue =
        queues::set_accepting(&*state.storage, &scope, access, QueueId(id), body.accepting).await?;
    Ok(Json(queue_response(&queue, ctx.lang)))
}

/// A consultation room (`state`: lobby, live or ended; `guests`: departments and interpreters
/// brought in).
#[derive(Serialize, ToSchema)]
pub struct RoomResponse {
    pub id: Uuid,
    pub state: String,
    pub department_id: Uuid,
    pub ticket_id: Option<Uuid>,
    #[schema(value_type = Vec<Object>)]
    pub guests: Vec<serde_json::Value>,
}

fn room_response(room: &madoguchi_storage::Room) -> RoomResponse {
    let view = super::room_view(room);
    RoomResponse {
        id: room.id.0,
        state: room.state.as_str().to_owned(),
        department_id: room.department.0,
        ticket_id: room.ticket.map(|t| t.0),
        guests: view["guests"].as_array().cloned().unwrap_or_default(),
    }
}

/// The called ticket answered, and its room.
#[derive(Serialize, ToSchema)]
pub struct AnsweredResponse {
    pub ticket: TicketResponse,
    pub room: RoomResponse,
}

/// Answer a call: the resident (or the kiosk beside a walk-in) goes into the consultation's
/// room. Answering again returns the same room.
#[utoipa::path(post, path = "/api/v1/counter/tickets/{id}/answer", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AnsweredResponse),
        (status = 404, body = ErrorBody, description = "no such ticket, or not the caller's"),
        (status = 409, body = ErrorBody, description = "ticket_state_conflict: the ticket is not being called")))]
pub async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<Json<AnsweredResponse>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let answered = rooms::answer(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        TicketId(id),
    )
    .await?;
    Ok(Json(AnsweredResponse {
        ticket: ticket_response(&answered.ticket, None),
        room: room_response(&answered.room),
    }))
}

/// A room the caller takes part in.
#[utoipa::path(get, path = "/api/v1/counter/rooms/{id}", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RoomResponse),
        (status = 404, body = ErrorBody, description = "no such room, or the caller has no part in it")))]
pub async fn room(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<Json<RoomResponse>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let room = rooms::view(&*state.storage, &scope, caller.access.as_ref(), RoomId(id)).await?;
    Ok(Json(room_response(&room)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// resident, specialist, guest_specialist, branch_staff or interpreter.
    #[schema(example = "specialist")]
    pub role: String,
}

/// A join grant: present `token` as the first signalling message's `grant` within
/// `expires_at`; ask again to reconnect later.
#[derive(Serialize, ToSchema)]
pub struct GrantResponse {
    pub token: String,
    pub role: String,
    /// Who joins, as the other participants see it.
    pub participant: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The room's signalling WebSocket on the media node its call is placed on (every
    /// participant of a room is sent to the same node); connect here.
    pub signal_url: String,
    /// The same WebSocket's path, as every node serves it.
    pub signal_path: String,
    pub ice_servers: Vec<super::IceServer>,
}

/// Get a join grant for a room in a role the caller may take (the resident of the ticket or
/// the kiosk beside them; a specialist of the room's department; a guest department's
/// specialist; the branch's staff; an invited interpreter). Valid ten minutes.
#[utoipa::path(post, path = "/api/v1/counter/rooms/{id}/grants", tag = "counter", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = GrantRequest,
    responses((status = 201, body = GrantResponse),
        (status = 403, body = ErrorBody, description = "the caller may not take this role"),
        (status = 404, body = ErrorBody, description = "no such room, or the caller has no part in it"),
        (status = 409, body = ErrorBody, description = "room_ended"),
        (status = 422, body = ErrorBody, description = "`role` is not one of the roles"),
        (status = 503, body = ErrorBody, description = "media_unavailable: no media node is up")))]
pub async fn grant(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<GrantRequest>,
) -> AppResult<impl IntoResponse> {
    let role = madoguchi_counter::ParticipantRole::parse(&body.role)
        .ok_or_else(|| AppError::field("role", ErrorCode::ValidationFailed))?;
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let issued = rooms::grant(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        RoomId(id),
        role,
        super::grant_issuer(&state),
    )
    .await?;
    let ice_servers = super::ice_servers(&state, &issued.claims.identity, scope.now());
    let expires_at = OffsetDateTime::from_unix_timestamp(issued.claims.exp)
        .map_err(|e| AppError::internal(format!("grant expiry: {e}")))?;
    Ok((
        StatusCode::CREATED,
        Json(GrantResponse {
            token: issued.token,
            role: issued.claims.role.as_str().to_owned(),
            participant: issued.claims.identity,
            expires_at,
            signal_url: super::signal_url(&issued.node, RoomId(id)),
            signal_path: super::signal_path(RoomId(id)),
            ice_servers,
        }),
    ))
}
