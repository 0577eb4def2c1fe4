//! What the SFU tells the signalling layer: per-participant events and instance statistics.

use crate::error::SfuError;
use crate::ids::ParticipantId;

/// Audio or video; enough for a client to decide where to attach a forwarded track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

/// One track the SFU forwards to a participant: which m-line (`mid`) of the participant's
/// connection carries whose track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedTrack {
    pub mid: String,
    pub publisher: ParticipantId,
    pub kind: MediaKind,
    /// The track id the publisher's browser gave it (its msid), so the publisher can say over
    /// signalling which of its tracks is the camera and which the screen.
    pub publisher_track_id: String,
}

/// Something one participant must be told. Delivered in order on the receiver returned by
/// [`SfuHandle::join`](crate::SfuHandle::join).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParticipantEvent {
    /// The SFU renegotiates (forwarded tracks changed): answer with
    /// [`SfuHandle::answer`](crate::SfuHandle::answer), echoing `request_id`.
    Offer {
        request_id: u64,
        sdp: String,
        /// Every track forwarded to this participant once this offer is applied.
        tracks: Vec<ForwardedTrack>,
    },
    /// ICE and DTLS are up: media flows.
    Connected,
    /// The transport failed (e.g. network change). The client may restart ICE with a new offer.
    ConnectionFailed,
    /// A chat message from another participant, as also delivered on the data channel.
    Chat { from: ParticipantId, text: String },
    /// Something this participant sent was refused (chat flood, oversized message); the room
    /// and the other participants are unaffected.
    Refused(SfuError),
    /// The participant was removed; no more events follow.
    Closed(CloseReason),
}

/// Why a participant was removed by the SFU rather than by [`SfuHandle::leave`](crate::SfuHandle::leave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// [`SfuHandle::close_room`](crate::SfuHandle::close_room) closed its room.
    RoomClosed,
    /// Its connection was not up for longer than `SfuConfig::connection_lost_after` (it never
    /// connected, or it failed and was not restarted): its tracks stop being offered to others.
    ConnectionLost,
}

/// Counters of one SFU instance, for `/metrics` and the benchmark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SfuStats {
    pub rooms: usize,
    pub participants: usize,
    /// Published tracks times their subscribers: how many streams the SFU is sending.
    pub forwarded_streams: usize,
    pub rtp_packets_received: u64,
    /// RTP payload bytes (headers and SRTP overhead not counted), as for `rtp_bytes_forwarded`.
    pub rtp_bytes_received: u64,
    pub rtp_packets_forwarded: u64,
    pub rtp_bytes_forwarded: u64,
    /// Gaps in publishers' sequence numbers as they reached the SFU (loss on the uplinks).
    pub rtp_packets_lost: u64,
    /// Datagrams that matched no participant, or that a participant's connection refused.
    pub datagrams_dropped: u64,
    /// Participants removed because their connection stayed down.
    pub connections_lost: u64,
    pub keyframe_requests_sent: u64,
    pub chat_messages_relayed: u64,
    pub chat_messages_refused: u64,
}
