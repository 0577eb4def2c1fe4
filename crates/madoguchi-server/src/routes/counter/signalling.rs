//! The remote counter's signalling: one WebSocket per participant at
//! `/api/v1/counter/rooms/{id}/signal`, between the browser (or a kiosk, or a test's headless
//! peer) and this node's SFU. The protocol is JSON text frames, documented in
//! `docs/signalling.md`; in short:
//!
//! - the first message is `join` with a join grant (a JWT from `POST …/rooms/{id}/grants`) and
//!   the client's first offer; anything else, a bad grant, or nothing within ten seconds closes
//!   the socket with an `error`;
//! - then `offer`, `answer`, `candidate` relay to the SFU as its contract says
//!   (`madoguchi_sfu`'s crate docs), `track` says what a track shows, and `admit`, `end`,
//!   `transfer`, `add_department`, `invite_interpreter` change the room as the role allows,
//!   and `stats` reports what reaches the participant (staff see it per room);
//! - the server sends `joined`, `offer`, `answer`, `ok`, `connected`, `connection_failed`,
//!   `chat`, `participants`, `track`, `room`, `error`, `closed`.
//!
//! A message that does not parse, an SDP or candidate the SFU refuses, or a flood gets an
//! `error` with a stable code; the room and the other participants are not affected. Clients
//! may give any message an `id`; the direct reply (`answer`, `ok`, `error`) names it as
//! `reply_to`.

use super::room_view;
use crate::media::{Entered, Notice, Quality, TrackLabel};
use crate::state::AppState;
use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use madoguchi_counter::{Action, GrantClaims, ParticipantRole, may};
use madoguchi_domain::{AccountId, DepartmentId, ErrorCode, Lang, RoomId};
use madoguchi_sfu::{IceCandidate, ParticipantEvent, SfuError, SfuHandle};
use madoguchi_usecases::counter::rooms::{self, ChangeRequest};
use madoguchi_usecases::{Actor, Scope, UseCaseError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// The client must join this soon after opening the socket.
const JOIN_WITHIN: Duration = Duration::from_secs(10);
/// Largest message accepted: an offer with audio, three videos and a data channel is ~10 KB.
const MESSAGE_BYTES_MAX: usize = 64 * 1024;
/// Messages per second a participant may send, sustained, and in a burst. The SFU limits
/// offers and candidates itself; this keeps control messages and garbage from flooding.
const MESSAGES_PER_S: f64 = 20.0;
const MESSAGES_BURST: f64 = 60.0;
/// After this many refused messages in a row the socket is closed.
const REFUSALS_BEFORE_CLOSE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/counter/rooms/{id}/signal", get(signal))
}

/// Upgrades to the signalling WebSocket of room `id`. The grant in the first message is the
/// credential, and names the city; no cookie or bearer token is read, so a cross-site page
/// gains nothing, and a media node on another host needs nothing else. Messages are in the
/// language of `?lang=` or the browser's.
pub async fn signal(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (lang, _) = crate::http::context::request_lang(uri.query(), &headers);
    upgrade
        .max_message_size(MESSAGE_BYTES_MAX)
        .max_frame_size(MESSAGE_BYTES_MAX)
        .on_upgrade(move |socket| session(state, lang, RoomId(id), socket))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Join {
        grant: String,
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    Answer {
        request_id: u64,
        sdp: String,
    },
    Candidate {
        candidate: WireCandidate,
    },
    Track {
        track_id: String,
        label: TrackLabel,
    },
    Admit,
    End,
    Transfer {
        department_id: Uuid,
    },
    AddDepartment {
        department_id: Uuid,
    },
    InviteInterpreter {
        account_id: Uuid,
        language: String,
    },
    /// The participant's `getStats()` summary.
    Stats {
        #[serde(flatten)]
        quality: Quality,
    },
    Leave,
}

/// A candidate as the browser's `RTCIceCandidate.toJSON()` gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    candidate: String,
    sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex")]
    sdp_m_line_index: Option<u16>,
    username_fragment: Option<String>,
}

/// A message read off the socket: its `id` when it had one, and what it says.
struct Incoming {
    id: Option<u64>,
    message: Result<ClientMessage, String>,
}

fn parse(text: &str) -> Incoming {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return Incoming {
                id: None,
                message: Err(format!("not JSON: {e}")),
            };
        }
    };
    let id = value.get("id").and_then(Value::as_u64);
    let message = serde_json::from_value(value).map_err(|e| e.to_string());
    Incoming { id, message }
}

/// An error frame: a stable code, the message in the participant's language.
fn error_frame(reply_to: Option<u64>, code: &str, message: &str, fatal: bool) -> Value {
    json!({"type": "error", "reply_to": reply_to, "code": code, "message": message, "fatal": fatal})
}

fn use_case_error_frame(reply_to: Option<u64>, error: &UseCaseError, lang: Lang) -> Value {
    if error.code == ErrorCode::Internal {
        tracing::error!(
            detail = error.internal.as_deref().unwrap_or(""),
            "signalling failed"
        );
    }
    let mut frame = error_frame(
        reply_to,
        error.code.as_str(),
        error.code.message(lang),
        false,
    );
    if let Some(field) = error.fields.first() {
        frame["field"] = json!(field.field);
    }
    frame
}

/// The participant-facing message of an SFU refusal.
fn sfu_error_frame(reply_to: Option<u64>, error: &SfuError, lang: Lang) -> Value {
    let shown = match error {
        SfuError::RateLimited => ErrorCode::RateLimited,
        SfuError::RoomFull(_)
        | SfuError::TooManyRooms(_)
        | SfuError::Stopped
        | SfuError::Internal(_) => ErrorCode::MediaUnavailable,
        _ => ErrorCode::SignallingInvalid,
    };
    if matches!(error, SfuError::Internal(_)) {
        tracing::error!(%error, "the SFU failed");
    }
    error_frame(reply_to, error.code(), shown.message(lang), false)
}

fn event_frame(event: ParticipantEvent) -> Option<Value> {
    Some(match event {
        ParticipantEvent::Offer {
            request_id,
            sdp,
            tracks,
        } => json!({
            "type": "offer",
            "request_id": request_id,
            "sdp": sdp,
            "tracks": tracks.iter().map(|t| json!({
                "mid": t.mid,
                "publisher": t.publisher.as_str(),
                "kind": match t.kind { madoguchi_sfu::MediaKind::Audio => "audio", madoguchi_sfu::MediaKind::Video => "video" },
                "track_id": t.publisher_track_id,
            })).collect::<Vec<_>>(),
        }),
        ParticipantEvent::Connected => json!({"type": "connected"}),
        ParticipantEvent::ConnectionFailed => json!({"type": "connection_failed"}),
        ParticipantEvent::Chat { from, text } => {
            json!({"type": "chat", "from": from.as_str(), "text": text})
        }
        ParticipantEvent::Refused(error) => {
            json!({"type": "error", "reply_to": null, "code": error.code(), "message": error.to_string(), "fatal": false})
        }
        ParticipantEvent::Closed(reason) => json!({
            "type": "closed",
            "reason": match reason {
                madoguchi_sfu::CloseReason::RoomClosed => "room_ended",
                madoguchi_sfu::CloseReason::ConnectionLost => "connection_lost",
                _ => "closed",
            },
        }),
        _ => return None,
    })
}

fn notice_frame(notice: Notice) -> Value {
    match notice {
        Notice::Participants(list) => json!({
            "type": "participants",
            "participants": list.iter().map(|(id, role)| json!({"participant": id, "role": role.as_str()})).collect::<Vec<_>>(),
        }),
        Notice::Track {
            participant,
            track_id,
            label,
        } => {
            json!({"type": "track", "participant": participant, "track_id": track_id, "label": label})
        }
        Notice::Room(view) => json!({"type": "room", "room": view}),
        Notice::Moved => json!({"type": "closed", "reason": "moved"}),
    }
}

/// What the SFU lets a role send: a camera and microphone for all, a second video for a
/// screen or a document camera where the role may share one.
fn sfu_grant(role: ParticipantRole) -> madoguchi_sfu::Grant {
    let extra =
        u8::from(may(role, Action::ShareScreen)) + u8::from(may(role, Action::ShareDocument));
    madoguchi_sfu::Grant {
        publish_audio: may(role, Action::Publish),
        video_tracks_max: u8::from(may(role, Action::Publish)) + extra,
        chat: may(role, Action::Chat),
    }
}

type Sink = SplitSink<WebSocket, Message>;

async fn send(sink: &mut Sink, frame: &Value) -> bool {
    sink.send(Message::Text(Utf8Bytes::from(frame.to_string())))
        .await
        .is_ok()
}

/// A token bucket over the participant's messages.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Self {
        Self {
            tokens: MESSAGES_BURST,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * MESSAGES_PER_S;
        self.tokens = (self.tokens + refill).min(MESSAGES_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One joined participant's connection.
struct Joined {
    claims: GrantClaims,
    actor: Actor,
    sfu: SfuHandle,
    sfu_room: madoguchi_sfu::RoomId,
    participant: madoguchi_sfu::ParticipantId,
}

async fn session(state: AppState, lang: Lang, room: RoomId, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let first = match tokio::time::timeout(JOIN_WITHIN, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => parse(text.as_str()),
        Ok(Some(Ok(_))) => Incoming {
            id: None,
            message: Err("the first message must be a `join` text frame".to_owned()),
        },
        Ok(None | Some(Err(_))) => return,
        Err(_) => Incoming {
            id: None,
            message: Err("no `join` within ten seconds".to_owned()),
        },
    };
    let reply_to = first.id;
    let (grant, offer) = match first.message {
        Ok(ClientMessage::Join { grant, sdp }) => (grant, sdp),
        Ok(_) | Err(_) => {
            let frame = error_frame(
                reply_to,
                ErrorCode::SignallingInvalid.as_str(),
                ErrorCode::SignallingInvalid.message(lang),
                true,
            );
            let _ = send(&mut sink, &frame).await;
            let _ = sink.close().await;
            return;
        }
    };
    let (joined, stored, entered, answer, mut events) =
        match join(&state, room, &grant, offer).await {
            Ok(ok) => ok,
            Err(frame) => {
                let mut frame = match frame {
                    JoinError::UseCase(e) => use_case_error_frame(reply_to, &e, lang),
                    JoinError::Sfu(e) => sfu_error_frame(reply_to, &e, lang),
                };
                frame["fatal"] = json!(true);
                let _ = send(&mut sink, &frame).await;
                let _ = sink.close().await;
                return;
            }
        };
    let scope = state.scope(joined.claims.tenant, joined.actor);
    let view = room_view(&stored);
    let _ = rooms::record_presence(&*state.storage, &scope, &joined.claims, true).await;
    let hello = json!({
        "type": "joined",
        "reply_to": reply_to,
        "participant": joined.claims.identity,
        "role": joined.claims.role.as_str(),
        "sdp": answer,
        "room": view,
        "labels": entered.labels.iter().map(|(p, t, l)| json!({"participant": p, "track_id": t, "label": l})).collect::<Vec<_>>(),
    });
    let Entered {
        connection,
        mut replaced,
        mut notices,
        ..
    } = entered;
    let mut replaced_by_another = false;
    let mut removed_by_sfu = false;
    if send(&mut sink, &hello).await {
        let mut bucket = Bucket::new();
        let mut refusals = 0u32;
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Binary(_))) => {
                            let frame = error_frame(None, ErrorCode::SignallingInvalid.as_str(), ErrorCode::SignallingInvalid.message(lang), false);
                            if !send(&mut sink, &frame).await { break; }
                            continue;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    };
                    if !bucket.take() {
                        refusals += 1;
                        if refusals >= REFUSALS_BEFORE_CLOSE {
                            let frame = error_frame(None, ErrorCode::RateLimited.as_str(), ErrorCode::RateLimited.message(lang), true);
                            let _ = send(&mut sink, &frame).await;
                            break;
                        }
                        let frame = error_frame(None, ErrorCode::RateLimited.as_str(), ErrorCode::RateLimited.message(lang), false);
                        if !send(&mut sink, &frame).await { break; }
                        continue;
                    }
                    refusals = 0;
                    let incoming = parse(text.as_str());
                    match handle(&state, &scope, &joined, lang, room, incoming).await {
                        Step::Reply(frame) => { if !send(&mut sink, &frame).await { break; } }
                        Step::Quiet => {}
                        Step::Leave => break,
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else { removed_by_sfu = true; break; };
                    let closed = matches!(event, ParticipantEvent::Closed(_));
                    if let Some(frame) = event_frame(event)
                        && !send(&mut sink, &frame).await { break; }
                    if closed { removed_by_sfu = true; break; }
                }
                notice = notices.recv() => {
                    match notice {
                        Ok(Notice::Moved) => {
                            // Everyone reconnects (a fresh grant names the room's new node).
                            let _ = send(&mut sink, &notice_frame(Notice::Moved)).await;
                            break;
                        }
                        Ok(notice) => { if !send(&mut sink, &notice_frame(notice)).await { break; } }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => {}
                    }
                }
                _ = &mut replaced => {
                    replaced_by_another = true;
                    let _ = send(&mut sink, &json!({"type": "closed", "reason": "replaced"})).await;
                    break;
                }
            }
        }
    }
    // A replaced connection's participant is already the new connection's in the SFU.
    if !replaced_by_another && !removed_by_sfu {
        let _ = joined
            .sfu
            .leave(joined.sfu_room.clone(), joined.participant.clone())
            .await;
    }
    state.media.leave(room, &joined.claims.identity, connection);
    let _ = rooms::record_presence(&*state.storage, &scope, &joined.claims, false).await;
    let _ = sink.close().await;
}

enum JoinError {
    UseCase(UseCaseError),
    Sfu(SfuError),
}

impl From<UseCaseError> for JoinError {
    fn from(e: UseCaseError) -> Self {
        JoinError::UseCase(e)
    }
}

/// Checks the grant and the room, registers the connection and joins the SFU. Returns the
/// room as read, for the `joined` frame.
async fn join(
    state: &AppState,
    room: RoomId,
    grant: &str,
    offer: String,
) -> Result<
    (
        Joined,
        madoguchi_storage::Room,
        Entered,
        String,
        tokio::sync::mpsc::UnboundedReceiver<ParticipantEvent>,
    ),
    JoinError,
> {
    let claims = rooms::verify_grant(&state.grant_keys, grant, room, state.clock.now())?;
    let tenant = claims.tenant;
    let stored = state
        .storage
        .room(tenant, room)
        .await
        .map_err(UseCaseError::from)?;
    if stored.state == madoguchi_counter::RoomState::Ended {
        return Err(UseCaseError::new(ErrorCode::RoomEnded).into());
    }
    // A room placed on another node (this one was thought lost, or the grant is older than a
    // move): the client asks for a fresh grant, which names the room's node.
    if let Some(me) = state.media.node()
        && stored.media_node != Some(me)
    {
        return Err(UseCaseError::new(ErrorCode::MediaUnavailable).into());
    }
    let account: AccountId = rooms::account_of(&claims.identity)
        .ok_or_else(|| UseCaseError::new(ErrorCode::GrantInvalid))?;
    // The resident's side is the resident's account, or the branch kiosk's staff account.
    let kiosk = match stored.ticket {
        Some(ticket) if claims.role == ParticipantRole::Resident => {
            let ticket = state
                .storage
                .ticket(tenant, ticket)
                .await
                .map_err(UseCaseError::from)?;
            ticket.resident != Some(account)
        }
        _ => false,
    };
    let actor = rooms::actor_of(&claims, kiosk)
        .ok_or_else(|| UseCaseError::new(ErrorCode::GrantInvalid))?;
    let sfu = state
        .media
        .sfu()
        .cloned()
        .ok_or_else(|| UseCaseError::new(ErrorCode::MediaUnavailable))?;
    let sfu_room = madoguchi_sfu::RoomId::new(room.to_string()).map_err(JoinError::Sfu)?;
    let participant =
        madoguchi_sfu::ParticipantId::new(&claims.identity).map_err(JoinError::Sfu)?;
    let entered = state
        .media
        .enter(tenant, room, &claims.identity, claims.role);
    let grant = sfu_grant(claims.role);
    let mut attempt = sfu
        .join(sfu_room.clone(), participant.clone(), grant, offer.clone())
        .await;
    if matches!(attempt, Err(SfuError::AlreadyInRoom)) {
        // The participant's earlier connection (replaced just now) is still in the SFU.
        let _ = sfu.leave(sfu_room.clone(), participant.clone()).await;
        attempt = sfu
            .join(sfu_room.clone(), participant.clone(), grant, offer)
            .await;
    }
    let joined_sfu = match attempt {
        Ok(joined) => joined,
        Err(e) => {
            state
                .media
                .leave(room, &claims.identity, entered.connection);
            return Err(JoinError::Sfu(e));
        }
    };
    Ok((
        Joined {
            claims,
            actor,
            sfu,
            sfu_room,
            participant,
        },
        stored,
        entered,
        joined_sfu.answer_sdp,
        joined_sfu.events,
    ))
}

enum Step {
    Reply(Value),
    Quiet,
    Leave,
}

fn ok_or_quiet(reply_to: Option<u64>) -> Step {
    match reply_to {
        Some(id) => Step::Reply(json!({"type": "ok", "reply_to": id})),
        None => Step::Quiet,
    }
}

/// Whether a client's track id is one we relay: what browsers use (a UUID, or `{…}`-wrapped
/// in older ones), bounded.
fn track_id_ok(id: &str) -> bool {
    (1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

async fn handle(
    state: &AppState,
    scope: &Scope,
    joined: &Joined,
    lang: Lang,
    room: RoomId,
    incoming: Incoming,
) -> Step {
    let reply_to = incoming.id;
    let message = match incoming.message {
        Ok(message) => message,
        Err(_) => {
            return Step::Reply(error_frame(
                reply_to,
                ErrorCode::SignallingInvalid.as_str(),
                ErrorCode::SignallingInvalid.message(lang),
                false,
            ));
        }
    };
    let sfu = &joined.sfu;
    let sfu_result = |result: Result<Step, SfuError>| match result {
        Ok(step) => step,
        Err(e) => Step::Reply(sfu_error_frame(reply_to, &e, lang)),
    };
    let request = match message {
        ClientMessage::Join { .. } => {
            return Step::Reply(error_frame(
                reply_to,
                ErrorCode::SignallingInvalid.as_str(),
                ErrorCode::SignallingInvalid.message(lang),
                false,
            ));
        }
        ClientMessage::Offer { sdp } => {
            return sfu_result(
                sfu.offer(joined.sfu_room.clone(), joined.participant.clone(), sdp)
                    .await
                    .map(|answer| {
                        Step::Reply(json!({"type": "answer", "reply_to": reply_to, "sdp": answer}))
                    }),
            );
        }
        ClientMessage::Answer { request_id, sdp } => {
            return sfu_result(
                sfu.answer(
                    joined.sfu_room.clone(),
                    joined.participant.clone(),
                    request_id,
                    sdp,
                )
                .await
                .map(|()| ok_or_quiet(reply_to)),
            );
        }
        ClientMessage::Candidate { candidate } => {
            let candidate = IceCandidate {
                candidate: candidate.candidate,
                sdp_mid: candidate.sdp_mid,
                sdp_mline_index: candidate.sdp_m_line_index,
                username_fragment: candidate.username_fragment,
            };
            return sfu_result(
                sfu.candidate(
                    joined.sfu_room.clone(),
                    joined.participant.clone(),
                    candidate,
                )
                .await
                .map(|()| ok_or_quiet(reply_to)),
            );
        }
        ClientMessage::Track { track_id, label } => {
            if !track_id_ok(&track_id) {
                return Step::Reply(use_case_error_frame(
                    reply_to,
                    &UseCaseError::field("track_id", ErrorCode::ValidationFailed),
                    lang,
                ));
            }
            state
                .media
                .label(room, &joined.claims.identity, &track_id, label);
            return ok_or_quiet(reply_to);
        }
        ClientMessage::Stats { quality } => {
            state
                .media
                .report(room, &joined.claims.identity, quality, state.clock.now());
            return ok_or_quiet(reply_to);
        }
        ClientMessage::Leave => return Step::Leave,
        ClientMessage::Admit => ChangeRequest::Admit,
        ClientMessage::End => ChangeRequest::End,
        ClientMessage::Transfer { department_id } => {
            ChangeRequest::Transfer(DepartmentId(department_id))
        }
        ClientMessage::AddDepartment { department_id } => {
            ChangeRequest::AddDepartment(DepartmentId(department_id))
        }
        ClientMessage::InviteInterpreter {
            account_id,
            language,
        } => ChangeRequest::InviteInterpreter {
            account: AccountId(account_id),
            language,
        },
    };
    let ended = matches!(request, ChangeRequest::End);
    match rooms::change(&*state.storage, scope, &joined.claims, request).await {
        Ok(changed) => {
            state.media.publish(room, Notice::Room(room_view(&changed)));
            state.media.saw(room, changed.updated_at);
            if ended {
                // Everyone's SFU connection closes; their sockets say `closed`.
                let _ = sfu.close_room(joined.sfu_room.clone()).await;
            }
            ok_or_quiet(reply_to)
        }
        Err(e) => Step::Reply(use_case_error_frame(reply_to, &e, lang)),
    }
}
