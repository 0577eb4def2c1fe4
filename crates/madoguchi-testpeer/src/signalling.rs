//! The seam between a test peer and whatever carries its signalling: [`Signalling`], and
//! [`InProcess`], its implementation straight over an [`SfuHandle`].
//!
//! The peer never names `SfuHandle`, so the same peer runs against the SFU in process (the
//! SFU's own tests, the benchmark) and through the server's WebSocket (the server's tests,
//! which implement [`Signalling`] over their connection).

use async_trait::async_trait;
use madoguchi_sfu::{
    Grant, IceCandidate, ParticipantEvent, ParticipantId, RoomId, SfuError, SfuHandle,
};
use tokio::sync::mpsc::UnboundedReceiver;

/// One participant's signalling. The room and the participant are bound when the object is
/// made (as a WebSocket is opened for one participant of one room), so no call names them.
#[async_trait]
pub trait Signalling: Send + Sync + 'static {
    /// Join with the first offer; returns the SFU's answer and the participant's events, in
    /// order. The caller applies the answer before it handles any event (the first event is
    /// often the SFU's offer of the others' tracks).
    async fn join(
        &self,
        offer_sdp: String,
    ) -> Result<(String, UnboundedReceiver<ParticipantEvent>), SignallingError>;

    /// A later offer of the participant (a track added or stopped, an ICE restart); returns
    /// the answer. `SfuError::Glare` while an offer of the SFU's awaits its answer.
    async fn offer(&self, offer_sdp: String) -> Result<String, SignallingError>;

    /// The answer to the SFU's [`ParticipantEvent::Offer`] `request_id`.
    async fn answer(&self, request_id: u64, answer_sdp: String) -> Result<(), SignallingError>;

    /// A trickled local candidate.
    async fn candidate(&self, candidate: IceCandidate) -> Result<(), SignallingError>;

    /// Leave the room.
    async fn leave(&self) -> Result<(), SignallingError>;
}

/// Why a signalling call failed. The SFU's own refusals stay [`SfuError`]s, so a caller can
/// tell `glare` (roll back and answer first) from a real failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignallingError {
    /// The SFU refused the call.
    #[error("the SFU refused: {0}")]
    Sfu(#[from] SfuError),
    /// The signalling server refused with a code that is no [`SfuError`] (e.g. an expired
    /// grant), or an SFU code whose detail did not survive the wire.
    #[error("the signalling server refused: {code}: {message}")]
    Server { code: String, message: String },
    /// The transport failed: the connection closed, a reply never came, a message was garbled.
    #[error("signalling transport: {0}")]
    Transport(String),
}

impl SignallingError {
    /// An error received over the wire as a code and a message, mapped back to the
    /// [`SfuError`] it stands for when that error carries no detail (so `glare` is
    /// `SfuError::Glare` again), and to [`SignallingError::Server`] otherwise.
    pub fn from_wire(code: &str, message: &str) -> Self {
        let sfu = match code {
            "glare" => Some(SfuError::Glare),
            "no_offer_in_flight" => Some(SfuError::NoOfferInFlight),
            "not_in_room" => Some(SfuError::NotInRoom),
            "already_in_room" => Some(SfuError::AlreadyInRoom),
            "no_such_room" => Some(SfuError::NoSuchRoom),
            "rate_limited" => Some(SfuError::RateLimited),
            "message_invalid" => Some(SfuError::MessageInvalid),
            "sfu_stopped" => Some(SfuError::Stopped),
            _ => None,
        };
        match sfu {
            Some(error) => SignallingError::Sfu(error),
            None => SignallingError::Server {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// The stable code: the SFU's, the server's, or `transport`.
    pub fn code(&self) -> &str {
        match self {
            SignallingError::Sfu(error) => error.code(),
            SignallingError::Server { code, .. } => code,
            SignallingError::Transport(_) => "transport",
        }
    }

    /// The SFU's offer was in flight: the polite peer rolls back, answers it, offers again.
    pub fn is_glare(&self) -> bool {
        matches!(self, SignallingError::Sfu(SfuError::Glare))
    }
}

/// Signalling straight into an SFU in the same process, as the server's WebSocket layer does
/// for one participant.
#[derive(Clone, Debug)]
pub struct InProcess {
    sfu: SfuHandle,
    room: RoomId,
    participant: ParticipantId,
    grant: Grant,
}

impl InProcess {
    pub fn new(sfu: SfuHandle, room: RoomId, participant: ParticipantId, grant: Grant) -> Self {
        Self {
            sfu,
            room,
            participant,
            grant,
        }
    }

    pub fn participant(&self) -> &ParticipantId {
        &self.participant
    }

    pub fn room(&self) -> &RoomId {
        &self.room
    }
}

#[async_trait]
impl Signalling for InProcess {
    async fn join(
        &self,
        offer_sdp: String,
    ) -> Result<(String, UnboundedReceiver<ParticipantEvent>), SignallingError> {
        let joined = self
            .sfu
            .join(
                self.room.clone(),
                self.participant.clone(),
                self.grant,
                offer_sdp,
            )
            .await?;
        Ok((joined.answer_sdp, joined.events))
    }

    async fn offer(&self, offer_sdp: String) -> Result<String, SignallingError> {
        Ok(self
            .sfu
            .offer(self.room.clone(), self.participant.clone(), offer_sdp)
            .await?)
    }

    async fn answer(&self, request_id: u64, answer_sdp: String) -> Result<(), SignallingError> {
        Ok(self
            .sfu
            .answer(
                self.room.clone(),
                self.participant.clone(),
                request_id,
                answer_sdp,
            )
            .await?)
    }

    async fn candidate(&self, candidate: IceCandidate) -> Result<(), SignallingError> {
        Ok(self
            .sfu
            .candidate(self.room.clone(), self.participant.clone(), candidate)
            .await?)
    }

    async fn leave(&self) -> Result<(), SignallingError> {
        Ok(self
            .sfu
            .leave(self.room.clone(), self.participant.clone())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glare_code_from_the_wire_is_the_sfus_glare_again() {
        assert!(SignallingError::from_wire("glare", "answer first").is_glare());
        assert_eq!(
            SignallingError::from_wire("grant_expired", "too late"),
            SignallingError::Server {
                code: "grant_expired".to_owned(),
                message: "too late".to_owned()
            }
        );
        assert_eq!(
            SignallingError::from_wire("room_full", "4").code(),
            "room_full"
        );
    }
}
