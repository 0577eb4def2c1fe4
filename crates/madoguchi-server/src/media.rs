//! This node's part of the remote counter's media: the SFU it drives (started by the binary,
//! or by a test) and who is connected to which room through this node's signalling, so a
//! change in a room (someone joined, a track is the screen, the room was transferred) reaches
//! every participant's socket.
//!
//! Every participant of a room signals through the node the room is placed on, so this
//! in-memory view is the whole room's.

use madoguchi_counter::ParticipantRole;
use madoguchi_domain::{MediaNodeId, RoomId, TenantId};
use madoguchi_sfu::SfuHandle;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use tokio::sync::{broadcast, oneshot};

/// Notices a room's sockets relay to their clients; a lagging socket misses old ones only.
const NOTICES_BUFFERED: usize = 64;

/// What a track of a participant shows; the SFU sees only "video".
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackLabel {
    Camera,
    Screen,
    /// The second (document) camera, or a photo of a page.
    Document,
    Microphone,
}

/// Something every participant of a room is told.
#[derive(Clone, Debug)]
pub enum Notice {
    /// Who is in the room now, as `(participant, role)`.
    Participants(Vec<(String, ParticipantRole)>),
    /// A participant said what one of its tracks is.
    Track {
        participant: String,
        track_id: String,
        label: TrackLabel,
    },
    /// The room changed (admitted, transferred, a guest added, ended): its new view.
    Room(serde_json::Value),
    /// The room was moved to another media node (this one was thought lost): reconnect there.
    Moved,
}

struct Present {
    role: ParticipantRole,
    connection: u64,
    replaced: Option<oneshot::Sender<()>>,
    labels: BTreeMap<String, TrackLabel>,
    quality: Option<(Quality, time::OffsetDateTime)>,
}

pub use madoguchi_counter::Quality;
pub use madoguchi_storage::ParticipantQuality;

struct RoomPresence {
    tenant: TenantId,
    /// The room's `updated_at` when this node last looked, to tell a change made elsewhere.
    seen_update: Option<time::OffsetDateTime>,
    notices: broadcast::Sender<Notice>,
    participants: BTreeMap<String, Present>,
}

impl RoomPresence {
    fn roster(&self) -> Vec<(String, ParticipantRole)> {
        self.participants
            .iter()
            .map(|(id, p)| (id.clone(), p.role))
            .collect()
    }
}

/// A participant's connection as this node registered it.
pub struct Entered {
    pub connection: u64,
    /// Fires when the same participant connects again (another tab, a reconnect): this
    /// connection then closes.
    pub replaced: oneshot::Receiver<()>,
    pub notices: broadcast::Receiver<Notice>,
    /// Track labels the others already gave, as `(participant, track_id, label)`.
    pub labels: Vec<(String, String, TrackLabel)>,
}

/// The node's SFU and rooms.
#[derive(Default)]
pub struct Media {
    sfu: OnceLock<SfuHandle>,
    /// This process's registration as a media node, once registered.
    node: OnceLock<MediaNodeId>,
    rooms: Mutex<HashMap<RoomId, RoomPresence>>,
    next_connection: AtomicU64,
}

impl Media {
    /// Attaches the SFU this node forwards media through; a second call keeps the first.
    pub fn attach(&self, sfu: SfuHandle) -> bool {
        self.sfu.set(sfu).is_ok()
    }

    pub fn sfu(&self) -> Option<&SfuHandle> {
        self.sfu.get()
    }

    /// Records this process's media-node registration; a second call keeps the first.
    pub fn set_node(&self, node: MediaNodeId) -> bool {
        self.node.set(node).is_ok()
    }

    /// This process's media node, when it registered as one: the signalling then serves only
    /// rooms placed on it.
    pub fn node(&self) -> Option<MediaNodeId> {
        self.node.get().copied()
    }

    /// The rooms with participants connected through this node, with their city and the
    /// `updated_at` this node last saw.
    pub fn present_rooms(&self) -> Vec<(TenantId, RoomId, Option<time::OffsetDateTime>)> {
        self.rooms()
            .iter()
            .map(|(id, p)| (p.tenant, *id, p.seen_update))
            .collect()
    }

    /// Notes that the participants of `room` know it as of `updated_at`.
    pub fn saw(&self, room: RoomId, updated_at: time::OffsetDateTime) {
        if let Some(presence) = self.rooms().get_mut(&room) {
            presence.seen_update = Some(updated_at);
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, RoomPresence>> {
        // A panic while holding the lock leaves plain maps behind, still usable.
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `participant`'s connection to `room`, replacing an earlier one of theirs, and
    /// tells the room who is in it.
    pub fn enter(
        &self,
        tenant: TenantId,
        room: RoomId,
        participant: &str,
        role: ParticipantRole,
    ) -> Entered {
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let (replace, replaced) = oneshot::channel();
        let mut rooms = self.rooms();
        let presence = rooms.entry(room).or_insert_with(|| RoomPresence {
            tenant,
            seen_update: None,
            notices: broadcast::channel(NOTICES_BUFFERED).0,
            participants: BTreeMap::new(),
        });
        if let Some(earlier) = presence.participants.get_mut(participant)
            && let Some(tell) = earlier.replaced.take()
        {
            let _ = tell.send(());
        }
        let labels = presence
            .participants
            .iter()
            .filter(|(id, _)| id.as_str() != participant)
            .flat_map(|(id, p)| {
                p.labels
                    .iter()
                    .map(|(track, label)| (id.clone(), track.clone(), *label))
            })
            .collect();
        presence.participants.insert(
            participant.to_owned(),
            Present {
                role,
                connection,
                replaced: Some(replace),
                labels: BTreeMap::new(),
                quality: None,
            },
        );
        let notices = presence.notices.subscribe();
        let _ = presence
            .notices
            .send(Notice::Participants(presence.roster()));
        Entered {
            connection,
            replaced,
            notices,
            labels,
        }
    }

    /// Records what one of a participant's tracks is, and tells the room. At most
    /// `TRACK_LABELS_MAX` labels are kept per participant.
    pub fn label(&self, room: RoomId, participant: &str, track_id: &str, label: TrackLabel) {
        const TRACK_LABELS_MAX: usize = 8;
        let mut rooms = self.rooms();
        let Some(presence) = rooms.get_mut(&room) else {
            return;
        };
        let Some(present) = presence.participants.get_mut(participant) else {
            return;
        };
        if present.labels.len() >= TRACK_LABELS_MAX && !present.labels.contains_key(track_id) {
            return;
        }
        present.labels.insert(track_id.to_owned(), label);
        let _ = presence.notices.send(Notice::Track {
            participant: participant.to_owned(),
            track_id: track_id.to_owned(),
            label,
        });
    }

    /// Removes `participant`'s `connection` (a replaced one is already gone) and tells the room.
    pub fn leave(&self, room: RoomId, participant: &str, connection: u64) {
        let mut rooms = self.rooms();
        let Some(presence) = rooms.get_mut(&room) else {
            return;
        };
        if presence
            .participants
            .get(participant)
            .is_some_and(|p| p.connection == connection)
        {
            presence.participants.remove(participant);
            let _ = presence
                .notices
                .send(Notice::Participants(presence.roster()));
        }
        if presence.participants.is_empty() {
            rooms.remove(&room);
        }
    }

    /// Keeps `participant`'s latest quality report; the first that carries a join time is
    /// counted in the join-time histogram.
    pub fn report(
        &self,
        room: RoomId,
        participant: &str,
        quality: Quality,
        at: time::OffsetDateTime,
    ) {
        let mut rooms = self.rooms();
        let Some(present) = rooms
            .get_mut(&room)
            .and_then(|r| r.participants.get_mut(participant))
        else {
            return;
        };
        let first_join_time = present.quality.and_then(|(q, _)| q.join_ms).is_none();
        if let (true, Some(join_ms)) = (first_join_time, quality.join_ms) {
            metrics::histogram!("madoguchi_counter_join_seconds").record(join_ms as f64 / 1000.0);
        }
        present.quality = Some((quality, at));
    }

    /// The latest reports of the participants of `room` connected through this node.
    pub fn quality(&self, room: RoomId) -> Vec<ParticipantQuality> {
        self.rooms()
            .get(&room)
            .map(|r| {
                r.participants
                    .iter()
                    .filter_map(|(id, p)| {
                        p.quality.map(|(quality, reported_at)| ParticipantQuality {
                            participant: id.clone(),
                            role: p.role,
                            quality,
                            reported_at,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tells everyone connected to `room` through this node.
    pub fn publish(&self, room: RoomId, notice: Notice) {
        if let Some(presence) = self.rooms().get(&room) {
            let _ = presence.notices.send(notice);
        }
    }

    /// Rooms and participants connected through this node, for `/metrics`.
    pub fn connected(&self) -> (usize, usize) {
        let rooms = self.rooms();
        let participants = rooms.values().map(|r| r.participants.len()).sum();
        (rooms.len(), participants)
    }

    /// Sets the media gauges and counters `/metrics` shows: rooms and participants signalling
    /// through this node, and the SFU's rooms, streams, bytes and loss.
    pub async fn record_metrics(&self) {
        let (rooms, participants) = self.connected();
        metrics::gauge!("madoguchi_counter_signalling_rooms").set(rooms as f64);
        metrics::gauge!("madoguchi_counter_signalling_participants").set(participants as f64);
        let Some(sfu) = self.sfu() else {
            return;
        };
        let Ok(stats) = sfu.stats().await else {
            return;
        };
        metrics::gauge!("madoguchi_sfu_rooms").set(stats.rooms as f64);
        metrics::gauge!("madoguchi_sfu_participants").set(stats.participants as f64);
        metrics::gauge!("madoguchi_sfu_forwarded_streams").set(stats.forwarded_streams as f64);
        metrics::counter!("madoguchi_sfu_rtp_packets_received_total")
            .absolute(stats.rtp_packets_received);
        metrics::counter!("madoguchi_sfu_rtp_bytes_received_total")
            .absolute(stats.rtp_bytes_received);
        metrics::counter!("madoguchi_sfu_rtp_packets_forwarded_total")
            .absolute(stats.rtp_packets_forwarded);
        metrics::counter!("madoguchi_sfu_rtp_bytes_forwarded_total")
            .absolute(stats.rtp_bytes_forwarded);
        metrics::counter!("madoguchi_sfu_rtp_packets_lost_total").absolute(stats.rtp_packets_lost);
        metrics::counter!("madoguchi_sfu_connections_lost_total").absolute(stats.connections_lost);
        metrics::counter!("madoguchi_sfu_chat_messages_refused_total")
            .absolute(stats.chat_messages_refused);
    }
}
