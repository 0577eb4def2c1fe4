//! The headless WebRTC participant used by the SFU's tests, the server's signalling tests and
//! `madoguchi bench counter`: a `webrtc` 0.21 peer connection on loopback that joins a room
//! through a [`Signalling`] seam, publishes synthetic VP8/Opus RTP, answers the SFU's offers
//! as a browser would (polite on glare), and counts what it receives per SSRC.
//!
//! - `signalling`: the [`Signalling`] trait (one participant's join, offers, answers,
//!   candidates, leave) and [`InProcess`], its implementation over an `SfuHandle`; the server's
//!   tests implement it over their WebSocket.
//! - `peer`: [`TestPeer`] and what it observed ([`Observed`], [`StreamCount`]).
//! - `link`: [`LossyLink`], a UDP relay that drops media, for weak-link tests.
//! - `tap`: the interceptor that lets keyframe requests and bitrate ceilings reach the peer.
//! - `error`: [`PeerError`].
//!
//! Not for production: it is a test and benchmark client (it panics nowhere, but it trusts
//! the SFU it talks to).

mod error;
mod link;
mod peer;
mod signalling;
mod tap;

pub use error::{PeerError, Result};
pub use link::LossyLink;
pub use peer::{
    Codecs, Observed, PeerOptions, Prepared, Publish, SendTrack, StreamCount, TestPeer, WAIT, lock,
    prepare, prepare_with, wait_for, wait_for_mesh, wait_for_within,
};
pub use signalling::{InProcess, Signalling, SignallingError};
/// The `webrtc` crate the peers are built on, for callers that inspect a peer's connection.
pub use webrtc;
