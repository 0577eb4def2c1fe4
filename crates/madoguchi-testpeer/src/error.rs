//! The one error type of the test peer: what failed while it joined, negotiated or sent.

use madoguchi_sfu::SfuError;

use crate::signalling::SignallingError;

/// Why a test peer could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The WebRTC stack (`webrtc`/`rtc` 0.21) refused or failed.
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    /// A socket of the peer's own (a relay, a probe) failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A signalling call failed (the SFU refused, or the transport broke).
    #[error("signalling: {0}")]
    Signalling(#[from] SignallingError),
    /// An id or argument the SFU's types refuse.
    #[error("{0}")]
    Sfu(#[from] SfuError),
    /// A condition did not hold in time (connected, chat open, packets received).
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The peer's own state is not what the call needs (no such track, no sender).
    #[error("{0}")]
    Unexpected(String),
}

/// The test peer's results.
pub type Result<T, E = PeerError> = std::result::Result<T, E>;
