//! Settings of one SFU instance: where it listens, what it advertises, and its limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How an [`Sfu`](crate::Sfu) is started. `SfuConfig::new(bind)` gives the defaults below.
#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// The one UDP socket every peer's media goes through. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// The address peers are told to send to (our only ICE candidate). Needed when `bind` is a
    /// wildcard or sits behind a 1:1 NAT; otherwise the bound address is advertised.
    pub public_ip: Option<IpAddr>,
    /// Kernel receive and send buffers of the socket, in bytes. Every participant's media
    /// arrives on this one socket, so the default (~200 KiB, under 200 full-size packets) would
    /// overflow whenever the loop is busy for a few milliseconds (a join, a descheduling).
    /// Linux caps it at `net.core.rmem_max`/`wmem_max`.
    pub socket_buffer_bytes: usize,
    /// Participants per room; the remote counter needs 2 to 4.
    pub room_participants_max: usize,
    /// Rooms per SFU instance; beyond it joins are refused rather than degrading every room.
    pub rooms_max: usize,
    /// Largest chat message accepted from a participant, in bytes.
    pub chat_message_bytes_max: usize,
    /// Sustained chat messages per second per participant…
    pub chat_messages_per_s: f64,
    /// …and how many may come in a burst before `rate_limited`.
    pub chat_burst: u32,
    /// Signalling calls (offers, answers, candidates) per second per participant, sustained…
    pub signalling_per_s: f64,
    /// …and in a burst (a browser trickles a dozen candidates at once) before `rate_limited`.
    pub signalling_burst: u32,
    /// A participant whose connection is not up for this long (never connected after joining,
    /// or failed and not restarted) is removed, so its frozen tracks leave the others' screens.
    pub connection_lost_after: Duration,
    /// How long the SFU waits for the answer to its own offer before rolling it back.
    pub answer_timeout: Duration,
    /// The most a publisher may send per video track, in bits per second, told to it every second
    /// as a REMB (browsers treat it as a ceiling beside their own congestion control). It keeps
    /// a misconfigured or high-resolution camera from sending more than the room is sized for;
    /// `None` leaves publishers to their own limits.
    pub video_bitrate_max_bps: Option<u32>,
    /// Shortest gap between two keyframe requests (PLI) sent to one publisher's track.
    pub keyframe_request_gap: Duration,
}

impl SfuConfig {
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            public_ip: None,
            socket_buffer_bytes: 4 * 1024 * 1024,
            room_participants_max: 8,
            rooms_max: 200,
            chat_message_bytes_max: 4096,
            chat_messages_per_s: 5.0,
            chat_burst: 10,
            signalling_per_s: 10.0,
            signalling_burst: 40,
            connection_lost_after: Duration::from_secs(30),
            answer_timeout: Duration::from_secs(10),
            video_bitrate_max_bps: Some(1_500_000),
            keyframe_request_gap: Duration::from_millis(300),
        }
    }
}
