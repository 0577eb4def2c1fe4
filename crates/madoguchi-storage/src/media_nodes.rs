//! The remote counter's media nodes (SFU processes) and where each room's call is placed.
//!
//! Media nodes belong to the installation, not to a city: one node forwards the calls of every
//! city it is given. A node registers when it starts, reports its load every
//! [`madoguchi_counter::NODE_REPORT_EVERY`], and is retired when it stops; a node that stops
//! reporting is lost. Placement is decided by `madoguchi_counter::place` inside the backend's
//! transaction with the room's row locked (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`),
//! so two web nodes granting joins to one room at once send both participants to one node;
//! a move off a lost node is audited in the same transaction.

use crate::{NewAuditEntry, Room, StorageError, StorageResult};
use async_trait::async_trait;
use madoguchi_counter::Placement;
use madoguchi_domain::{ErrorCode, MediaNodeId, RoomId, TenantId};
use time::{Duration, OffsetDateTime};

/// A media node as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaNode {
    pub id: MediaNodeId,
    /// Where browsers reach the node's signalling: its base URL (`https://media1.example.jp`),
    /// the WebSocket path is appended.
    pub signal_url: String,
    pub capacity: u32,
    pub load: u32,
    pub started_at: OffsetDateTime,
    pub seen_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

impl MediaNode {
    /// The node as `madoguchi_counter::place` weighs it.
    pub fn as_load(&self) -> madoguchi_counter::NodeLoad {
        madoguchi_counter::NodeLoad {
            id: self.id,
            capacity: self.capacity,
            load: self.load,
            seen_at: self.seen_at,
            retired: self.retired_at.is_some(),
        }
    }
}

/// A node that starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMediaNode {
    pub id: MediaNodeId,
    pub signal_url: String,
    pub capacity: u32,
}

/// One participant's latest report of what reaches them (their browser's `getStats()`), kept
/// by the room's media node so every node's console shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantQuality {
    pub participant: String,
    pub role: madoguchi_counter::ParticipantRole,
    pub quality: madoguchi_counter::Quality,
    pub reported_at: OffsetDateTime,
}

/// Where a room's call goes, as placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPlacement {
    pub node: MediaNode,
    /// The node the room was moved off (lost or stopped), when it moved just now.
    pub moved_from: Option<MediaNodeId>,
}

/// Where `room` goes among `nodes` at `at` (by `madoguchi_counter::place`), as `(to, from)`
/// with `from` set when it moves off a lost or stopped node; `CounterRule(media_unavailable)`
/// when no live node has room. Backends call it with the room's row locked.
pub fn decide_placement(
    room: &Room,
    nodes: &[MediaNode],
    at: OffsetDateTime,
    lost_after: Duration,
) -> StorageResult<(MediaNodeId, Option<MediaNodeId>)> {
    let loads: Vec<_> = nodes.iter().map(MediaNode::as_load).collect();
    match madoguchi_counter::place(&loads, room.media_node, at, lost_after) {
        Placement::Stay(node) => Ok((node, None)),
        Placement::Move { to, from } => Ok((to, from)),
        Placement::NoNode => Err(StorageError::CounterRule(ErrorCode::MediaUnavailable)),
    }
}

/// The audit entry of a room's move from node `from` to `to`, its target the room.
pub fn moved_entry(
    moved: &NewAuditEntry,
    room: RoomId,
    from: MediaNodeId,
    to: MediaNodeId,
) -> NewAuditEntry {
    NewAuditEntry {
        target: Some(room.to_string()),
        details: serde_json::json!({"from": from, "to": to}),
        ..moved.clone()
    }
}

/// Registered nodes silent for this long are forgotten at the next registration (their ended
/// rooms keep no node).
pub const MEDIA_NODE_FORGOTTEN_AFTER: Duration = Duration::days(7);

#[async_trait]
pub trait MediaNodeStore: Send + Sync {
    /// Registers a starting node (or registers it again after it was forgotten) as live and
    /// empty, and forgets nodes silent for [`MEDIA_NODE_FORGOTTEN_AFTER`].
    async fn register_media_node(
        &self,
        node: &NewMediaNode,
        at: OffsetDateTime,
    ) -> StorageResult<()>;

    /// The node's report: `load` participants now. `false` when the node is not registered
    /// (forgotten, or retired by an operator): it should register again.
    async fn report_media_node(
        &self,
        id: MediaNodeId,
        load: u32,
        at: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// The node stopped on purpose: its rooms move at their next placement.
    async fn retire_media_node(&self, id: MediaNodeId, at: OffsetDateTime) -> StorageResult<()>;

    /// Every registered node, for placement's callers and the operators' view.
    async fn media_nodes(&self) -> StorageResult<Vec<MediaNode>>;

    /// Places `tenant`'s `room` (see the module docs): it stays on its live node, or goes to
    /// the least full live one. `NotFound` for no such room; `CounterRule(media_unavailable)`
    /// when no live node has room. `moved` is audited (target: the room) when the room leaves
    /// a lost or stopped node.
    async fn place_room(
        &self,
        tenant: TenantId,
        room: RoomId,
        at: OffsetDateTime,
        lost_after: Duration,
        moved: &NewAuditEntry,
    ) -> StorageResult<RoomPlacement>;

    /// Keeps the latest reports of `room`'s participants (replacing earlier ones).
    async fn save_room_quality(
        &self,
        tenant: TenantId,
        room: RoomId,
        reports: &[ParticipantQuality],
    ) -> StorageResult<()>;

    /// The latest reports of `room`'s participants, by participant.
    async fn room_quality(
        &self,
        tenant: TenantId,
        room: RoomId,
    ) -> StorageResult<Vec<ParticipantQuality>>;

    /// Open rooms (not ended) placed on a node that is lost or stopped at `at`, oldest first,
    /// at most `limit`: the ones a sweep moves before anyone asks.
    async fn rooms_on_lost_nodes(
        &self,
        at: OffsetDateTime,
        lost_after: Duration,
        limit: u32,
    ) -> StorageResult<Vec<(TenantId, RoomId)>>;
}
