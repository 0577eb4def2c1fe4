//! This process as a media node of the remote counter: it registers in the database with its
//! capacity and the URL browsers reach its signalling at, reports its load every
//! [`madoguchi_counter::NODE_REPORT_EVERY`], and retires when it stops, so rooms are placed on
//! live nodes only (`madoguchi_counter::place`).
//!
//! Each report also looks after the rooms signalling through this node: a room ended or changed
//! elsewhere (the specialist's console on a web node) is told to its participants, a room moved
//! to another node (this one was thought lost) sends its participants there, and what reaches
//! each participant is kept in the database for the consoles of every node. And it
//! moves the rooms of lost nodes to live ones before their participants come back asking.
//!
//! `madoguchi serve` does this for its own SFU (the embedded default); `madoguchi media` is a
//! process that does only this and the signalling.

use crate::media::Notice;
use crate::routes::counter::room_view;
use crate::state::AppState;
use madoguchi_domain::MediaNodeId;
use madoguchi_sfu::SfuHandle;
use madoguchi_storage::{NewMediaNode, StorageResult};
use madoguchi_usecases::counter::rooms;
use tokio::sync::watch;

/// Rooms of lost nodes moved per report.
const MOVES_PER_REPORT: u32 = 50;

/// Attaches `sfu` to this process, registers it as the media node reachable at `signal_url`
/// (the base URL, e.g. `https://media1.example.jp`) taking `capacity` participants, and keeps
/// reporting until `shutdown` turns true (or its sender is dropped); then retires it.
pub async fn start_media_node(
    state: &AppState,
    sfu: SfuHandle,
    signal_url: String,
    capacity: u32,
    shutdown: watch::Receiver<bool>,
) -> StorageResult<tokio::task::JoinHandle<()>> {
    let node = NewMediaNode {
        id: MediaNodeId::new(),
        signal_url,
        capacity,
    };
    state.media.attach(sfu);
    state.media.set_node(node.id);
    state
        .storage
        .register_media_node(&node, state.clock.now())
        .await?;
    tracing::info!(node = %node.id, url = %node.signal_url, capacity, "registered as a media node");
    let state = state.clone();
    Ok(tokio::spawn(report_until_stopped(state, node, shutdown)))
}

async fn report_until_stopped(
    state: AppState,
    node: NewMediaNode,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = std::time::Duration::from_secs(
        u64::try_from(madoguchi_counter::NODE_REPORT_EVERY.whole_seconds()).unwrap_or(2),
    );
    // Quality reports newer than the previous pass are written; browsers report every 10 s,
    // so most passes write nothing.
    let mut since = time::OffsetDateTime::UNIX_EPOCH;
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
            _ = tokio::time::sleep(every) => {}
        }
        report(&state, &node).await;
        let pass = state.clock.now();
        look_after_rooms(&state, node.id, since).await;
        since = pass;
        match rooms::move_off_lost_nodes(
            &*state.storage,
            state.clock.clone(),
            state.config.counter.placement,
            MOVES_PER_REPORT,
        )
        .await
        {
            Ok(0) => {}
            Ok(moved) => tracing::info!(moved, "rooms of lost media nodes moved"),
            Err(error) => {
                tracing::warn!(code = %error.code, "could not move rooms off lost media nodes")
            }
        }
    }
    if let Err(error) = state
        .storage
        .retire_media_node(node.id, state.clock.now())
        .await
    {
        tracing::warn!(%error, "could not retire the media node");
    }
}

async fn report(state: &AppState, node: &NewMediaNode) {
    let (_, participants) = state.media.connected();
    let load = u32::try_from(participants).unwrap_or(u32::MAX);
    let now = state.clock.now();
    match state.storage.report_media_node(node.id, load, now).await {
        Ok(true) => {}
        // Forgotten (or retired by an operator) while we were away: register again.
        Ok(false) => {
            if let Err(error) = state.storage.register_media_node(node, now).await {
                tracing::warn!(%error, "could not register the media node again");
            }
        }
        Err(error) => tracing::warn!(%error, "could not report the media node's load"),
    }
}

/// Tells the rooms signalling through this node what changed elsewhere, and keeps their
/// participants' quality reports made `since` the previous pass.
async fn look_after_rooms(state: &AppState, me: MediaNodeId, since: time::OffsetDateTime) {
    for (tenant, id, seen) in state.media.present_rooms() {
        let room = match state.storage.room(tenant, id).await {
            Ok(room) => room,
            Err(error) => {
                tracing::warn!(%error, "could not read a room signalling through this node");
                continue;
            }
        };
        if room.state == madoguchi_counter::RoomState::Ended {
            state.media.publish(id, Notice::Room(room_view(&room)));
            if let (Some(sfu), Ok(sfu_room)) = (
                state.media.sfu(),
                madoguchi_sfu::RoomId::new(id.to_string()),
            ) {
                let _ = sfu.close_room(sfu_room).await;
            }
        } else if room.media_node.is_some_and(|node| node != me) {
            state.media.publish(id, Notice::Moved);
        } else if seen.is_some_and(|seen| seen != room.updated_at) {
            state.media.publish(id, Notice::Room(room_view(&room)));
        }
        // What reaches each participant, for the consoles on every node.
        let mut reports = state.media.quality(id);
        reports.retain(|r| r.reported_at >= since);
        if !reports.is_empty()
            && let Err(error) = state.storage.save_room_quality(tenant, id, &reports).await
        {
            tracing::warn!(%error, "could not keep a room's quality reports");
        }
        state.media.saw(id, room.updated_at);
    }
}
