//! The remote counter (リモート窓口): the queues' API for residents (taking a ticket, their
//! place in line), branch kiosks and HQ specialists (call next and what follows), and the
//! pages for residents and specialists, as ARCHITECTURE.md describes; rooms (answering a call,
//! join grants) and the WebSocket signalling through this node's SFU.

pub mod api;
pub mod appointments;
pub mod kiosk;
pub mod pages;
pub mod signalling;

use crate::state::AppState;
use axum::Router;
use madoguchi_storage::{Room, RoomGuest};

/// Forms whose only field is the CSRF token (checked by `PageForm`).
#[derive(serde::Deserialize)]
pub(crate) struct EmptyForm {}

/// A TURN or STUN server for the browser's `RTCPeerConnection` (`iceServers`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

/// The TURN relays a participant is handed with a credential for `identity`, when the city runs
/// coturn (for the API's grants and the call page alike).
pub(crate) fn ice_servers(
    state: &AppState,
    identity: &str,
    now: time::OffsetDateTime,
) -> Vec<IceServer> {
    use secrecy::ExposeSecret;
    match &state.config.counter.turn {
        Some(turn) => {
            let credential = madoguchi_auth::turn::turn_credential(
                turn.secret.expose_secret().as_bytes(),
                identity,
                now,
                madoguchi_auth::turn::TURN_CREDENTIAL_LIFETIME,
            );
            vec![IceServer {
                urls: turn.urls.clone(),
                username: Some(credential.username),
                credential: Some(credential.password),
            }]
        }
        None => Vec::new(),
    }
}

/// What grants are signed with and how rooms are placed on media nodes, from the settings.
pub(crate) fn grant_issuer(
    state: &AppState,
) -> madoguchi_usecases::counter::rooms::GrantIssuer<'_> {
    madoguchi_usecases::counter::rooms::GrantIssuer {
        keys: &state.grant_keys,
        placement: state.config.counter.placement,
    }
}

/// The node's base URL as a WebSocket one (`https://m1` → `wss://m1`).
fn ws_base(node: &madoguchi_storage::MediaNode) -> String {
    let base = node.signal_url.trim_end_matches('/');
    match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => base.to_owned(),
    }
}

/// The signalling WebSocket of `room` on the media node its call was placed on.
pub(crate) fn signal_url(
    node: &madoguchi_storage::MediaNode,
    room: madoguchi_domain::RoomId,
) -> String {
    format!("{}{}", ws_base(node), signal_path(room))
}

/// The signalling WebSocket's path on any node.
pub(crate) fn signal_path(room: madoguchi_domain::RoomId) -> String {
    format!("/api/v1/counter/rooms/{room}/signal")
}

/// The origins of the live media nodes, for the call page's `connect-src`: its script may open
/// the signalling on whichever node the room is (or will be) placed on.
pub(crate) async fn media_origins(state: &AppState) -> Vec<String> {
    let now = state.clock.now();
    let lost_after = state.config.counter.placement.lost_after;
    let Ok(nodes) = state.storage.media_nodes().await else {
        return Vec::new();
    };
    let mut origins: Vec<String> = nodes
        .iter()
        .filter(|n| n.as_load().is_live(now, lost_after))
        .filter_map(|n| {
            let base = ws_base(n);
            let scheme_end = base.find("://")? + 3;
            let host_end = base[scheme_end..]
                .find('/')
                .map_or(base.len(), |i| scheme_end + i);
            let origin = &base[..host_end];
            // Only what an origin is made of: nothing that could end the directive.
            origin
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:/[]".contains(c))
                .then(|| origin.to_owned())
        })
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

/// A room as its participants see it, in the API and over the signalling.
pub(crate) fn room_view(room: &Room) -> serde_json::Value {
    serde_json::json!({
        "id": room.id,
        "state": room.state.as_str(),
        "department_id": room.department,
        "ticket_id": room.ticket,
        "guests": room.guests.iter().map(|g| match g {
            RoomGuest::Department { department, .. } => {
                serde_json::json!({"kind": "department", "department_id": department})
            }
            RoomGuest::Interpreter { account, language, .. } => {
                serde_json::json!({"kind": "interpreter", "account_id": account, "language": language})
            }
        }).collect::<Vec<_>>(),
    })
}

pub fn router() -> Router<AppState> {
    pages::router()
        .merge(kiosk::router())
        .merge(appointments::router())
}

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    api::router().merge(signalling::router())
}
