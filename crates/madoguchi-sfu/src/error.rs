//! The SFU's one error type, with stable codes the signalling layer passes to clients.

use thiserror::Error;

/// Everything a call into the SFU (or a peer's traffic) can be refused with. Each variant has
/// a stable [`code`](SfuError::code) for clients and `/metrics`; the message is for logs and
/// never holds SDP text or personal data.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SfuError {
    #[error("invalid {0} id")]
    InvalidId(&'static str),
    #[error("the session description was refused: {0}")]
    SdpInvalid(String),
    #[error("the ICE candidate was refused: {0}")]
    CandidateInvalid(String),
    #[error("the room is full ({0} participants)")]
    RoomFull(usize),
    #[error("the SFU holds its maximum number of rooms ({0})")]
    TooManyRooms(usize),
    #[error("the participant is already in the room")]
    AlreadyInRoom,
    #[error("the participant is not in the room")]
    NotInRoom,
    #[error("the room does not exist")]
    NoSuchRoom,
    #[error("too many messages; slow down")]
    RateLimited,
    #[error("the chat message is too large ({0} bytes)")]
    MessageTooLarge(usize),
    #[error("the chat message is not UTF-8 text")]
    MessageInvalid,
    #[error("the participant's grant does not allow this: {0}")]
    NotAllowed(&'static str),
    /// The participant offered while the SFU's own offer was awaiting its answer: the SFU is
    /// the impolite side, so the client rolls back, answers the SFU's offer, then offers again.
    #[error("an offer from the SFU is in flight; answer it first")]
    Glare,
    /// An answer that matches no offer in flight (stale, or its request id is wrong).
    #[error("no offer with this request id is in flight")]
    NoOfferInFlight,
    #[error("the SFU has stopped")]
    Stopped,
    #[error("internal SFU error: {0}")]
    Internal(String),
}

impl SfuError {
    /// A stable, machine-readable code; clients translate it, dashboards count it.
    pub fn code(&self) -> &'static str {
        match self {
            SfuError::InvalidId(_) => "id_invalid",
            SfuError::SdpInvalid(_) => "sdp_invalid",
            SfuError::CandidateInvalid(_) => "candidate_invalid",
            SfuError::RoomFull(_) => "room_full",
            SfuError::TooManyRooms(_) => "too_many_rooms",
            SfuError::AlreadyInRoom => "already_in_room",
            SfuError::NotInRoom => "not_in_room",
            SfuError::NoSuchRoom => "no_such_room",
            SfuError::RateLimited => "rate_limited",
            SfuError::MessageTooLarge(_) => "message_too_large",
            SfuError::MessageInvalid => "message_invalid",
            SfuError::NotAllowed(_) => "not_allowed",
            SfuError::Glare => "glare",
            SfuError::NoOfferInFlight => "no_offer_in_flight",
            SfuError::Stopped => "sfu_stopped",
            SfuError::Internal(_) => "internal",
        }
    }
}
