//! Madoguchi's selective-forwarding unit (SFU): the media server behind the "remote counter".
//!
//! Every participant of a room sends its audio, video and screen-share tracks once, to us; we
//! forward each RTP packet to every other participant of the same room, relay keyframe requests
//! back to the publisher, and relay chat messages over a WebRTC data channel. All peers share one
//! UDP socket. The crate knows rooms, participants, tracks and grants; it knows nothing of
//! residents, tenants or HTTP: the server drives it from its signalling.

mod config;
mod error;
mod event;
mod grant;
mod ids;

pub use config::SfuConfig;
pub use error::SfuError;
pub use event::{ForwardedTrack, MediaKind, ParticipantEvent, SfuStats};
pub use grant::Grant;
pub use ids::{ID_LEN_MAX, ParticipantId, RoomId};
