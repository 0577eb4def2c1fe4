//! Madoguchi's selective-forwarding unit (SFU): the media server behind the "remote counter".
//!
//! Every participant of a room sends its audio, video and screen-share tracks once, to us; we
//! forward each RTP packet to every other participant of the same room, relay keyframe requests
//! back to the publisher, and relay chat messages over a WebRTC data channel. All peers share one
//! UDP socket. The crate knows rooms, participants, tracks and grants; it knows nothing of
//! residents, tenants or HTTP: the server drives it through [`SfuHandle`] from its signalling.
//!
//! Built on `rtc`, the sans-I/O core of webrtc-rs 0.21: each participant has one
//! `RTCPeerConnection` (ICE-lite, DTLS passive) that the router feeds from the shared socket.
//!
//! # Signalling contract (what the server's WebSocket layer does)
//!
//! 1. The client creates its `chat` data channel ([`CHAT_CHANNEL_LABEL`]) and its sendonly
//!    transceivers (microphone, camera, later screen share), makes the first offer, and the
//!    server calls [`SfuHandle::join`] with the participant's [`Grant`]. The answer goes back to
//!    the client **before** any event of the returned receiver is relayed: the first event is
//!    often the SFU's offer of the other participants' tracks.
//! 2. Events are relayed in order. On [`ParticipantEvent::Offer`] the client applies the offer,
//!    answers, and the server calls [`SfuHandle::answer`] with the same `request_id`. The
//!    offer's `tracks` say which `mid` carries whose track (audio or video, and the publisher's
//!    own track id, which the publisher maps to "camera" or "screen" over signalling).
//! 3. Later client offers (a track added or stopped, `restartIce()`) go to
//!    [`SfuHandle::offer`]. The SFU is the impolite peer: while its own offer awaits an answer it
//!    refuses with `glare`; the client (polite) rolls back, answers the SFU's offer, and offers
//!    again.
//! 4. [`SfuHandle::leave`] when the client leaves or its WebSocket closes;
//!    [`SfuHandle::close_room`] when the appointment ends. A participant whose connection stays
//!    down (`SfuConfig::connection_lost_after`) is removed by the SFU itself and told
//!    [`ParticipantEvent::Closed`].
//!
//! Bitrate: each leg is its own RTP session (NACK, reports, TWCC feedback to the publisher end
//! at the SFU), so a weak subscriber loses packets on its leg only and never slows a publisher
//! for the others; publishers adapt to their own uplink and are told a ceiling (REMB,
//! `SfuConfig::video_bitrate_max_bps`). Adapting *down* for one weak subscriber needs simulcast
//! (refused for now, see `offer_check`).
//!
//! Every refusal is an [`SfuError`] with a stable [`code`](SfuError::code); refusals of what a
//! participant sends over media (a chat flood) arrive as [`ParticipantEvent::Refused`]. The
//! event receiver is unbounded (chat is rate-limited, everything else is rare): drain it.
//!
//! Code map:
//! - `handle`: [`Sfu::start`] and [`SfuHandle`], the public API;
//! - `engine`: the event loop (thread, socket, timers, command queue);
//! - `router`: rooms and the forwarding graph; `router::media`: forwarding, keyframe requests
//!   and chat relay, packet by packet — no I/O in either;
//! - `session`: one participant's connection and the SFU's side of its negotiation;
//! - `demux`: which participant a datagram belongs to;
//! - `forward`: rewriting a packet for one subscriber's leg;
//! - `peer`: how a connection is built (codecs, interceptors);
//! - `offer_check`, `chat`: what participants may send.

mod chat;
mod config;
mod demux;
mod engine;
mod error;
mod event;
mod forward;
mod grant;
mod handle;
mod ids;
mod offer_check;
mod peer;
mod router;
mod session;

pub use chat::CHAT_CHANNEL_LABEL;
pub use config::SfuConfig;
pub use error::SfuError;
pub use event::{CloseReason, ForwardedTrack, MediaKind, ParticipantEvent, SfuStats};
pub use grant::Grant;
pub use handle::{Joined, Sfu, SfuHandle};
pub use ids::{ID_LEN_MAX, ParticipantId, RoomId};
pub use router::IceCandidate;
