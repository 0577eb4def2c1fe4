//! One participant's connection to the SFU, and the SFU's side of its negotiation.
//!
//! The client always makes the first offer (its tracks and the `chat` data channel); after that
//! the SFU offers whenever the tracks it forwards change. The SFU is the impolite side of
//! "perfect negotiation": a client offer that collides with the SFU's own is refused (`glare`),
//! and an offer of the SFU's left unanswered is rolled back after `answer_timeout`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rtc::data_channel::RTCDataChannelId;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::sdp::{RTCSdpType, RTCSessionDescription};
use rtc::peer_connection::state::{RTCPeerConnectionState, RTCSignalingState};
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{
    RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
};
use rtc::sansio::Protocol;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, warn};

use crate::chat::{CHAT_CHANNEL_LABEL, RateLimiter};
use crate::error::SfuError;
use crate::event::{ForwardedTrack, MediaKind, ParticipantEvent};
use crate::grant::Grant;
use crate::ids::{ParticipantId, RoomId};

/// A track a participant publishes, as the SFU forwards it.
#[derive(Clone, Debug)]
pub(crate) struct PublishedTrack {
    pub(crate) mid: String,
    pub(crate) receiver: RTCRtpReceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) ssrc: u32,
    pub(crate) publisher_track_id: String,
    pub(crate) codecs: Vec<RTCRtpCodecParameters>,
    pub(crate) extensions: Vec<RTCRtpHeaderExtensionParameters>,
}

/// What a forwarding sender on this connection carries (its mid is known once offered).
#[derive(Clone, Debug)]
struct ForwardInfo {
    publisher: ParticipantId,
    kind: MediaKind,
    publisher_track_id: String,
}

pub(crate) struct Session {
    pub(crate) room: RoomId,
    pub(crate) participant: ParticipantId,
    pub(crate) grant: Grant,
    pub(crate) pc: RTCPeerConnection,
    events: UnboundedSender<ParticipantEvent>,
    local_candidate: RTCIceCandidateInit,
    local_candidate_added: bool,
    answered_first_offer: bool,
    renegotiation_pending: bool,
    offer_in_flight: Option<(u64, Instant)>,
    last_request_id: u64,
    signaling_state: RTCSignalingState,
    answer_timeout: Duration,
    pub(crate) connected: bool,
    /// Since when the connection has not been up (from the join until it first connects).
    pub(crate) down_since: Option<Instant>,
    pub(crate) chat_channel: Option<RTCDataChannelId>,
    pub(crate) chat_limiter: RateLimiter,
    pub(crate) signalling_limiter: RateLimiter,
    /// When the participant was last told a chat message of theirs was refused.
    pub(crate) refusal_noticed_at: Option<Instant>,
    /// Bumped whenever a description is applied, so cached per-leg translations are redone.
    pub(crate) epoch: u64,
    forwards: HashMap<RTCRtpSenderId, ForwardInfo>,
}

/// Everything a new session is made of, besides its connection.
pub(crate) struct SessionInit {
    pub(crate) joined_at: Instant,
    pub(crate) room: RoomId,
    pub(crate) participant: ParticipantId,
    pub(crate) grant: Grant,
    pub(crate) events: UnboundedSender<ParticipantEvent>,
    pub(crate) local_candidate: RTCIceCandidateInit,
    pub(crate) answer_timeout: Duration,
    pub(crate) chat_limiter: RateLimiter,
    pub(crate) signalling_limiter: RateLimiter,
}

/// Whether a codec carries media itself, rather than repairing another's (RTX, RED, FEC).
fn is_media_codec(mime_type: &str) -> bool {
    let subtype = mime_type.rsplit('/').next().unwrap_or(mime_type);
    !["rtx", "red", "ulpfec", "flexfec", "flexfec-03"]
        .iter()
        .any(|repair| subtype.eq_ignore_ascii_case(repair))
}

fn sdp_refused(e: impl std::fmt::Display) -> SfuError {
    SfuError::SdpInvalid(e.to_string())
}

impl Session {
    pub(crate) fn new(init: SessionInit, pc: RTCPeerConnection) -> Self {
        Self {
            room: init.room,
            participant: init.participant,
            grant: init.grant,
            pc,
            events: init.events,
            local_candidate: init.local_candidate,
            local_candidate_added: false,
            answered_first_offer: false,
            renegotiation_pending: false,
            offer_in_flight: None,
            last_request_id: 0,
            signaling_state: RTCSignalingState::Stable,
            answer_timeout: init.answer_timeout,
            connected: false,
            down_since: Some(init.joined_at),
            chat_limiter: init.chat_limiter,
            signalling_limiter: init.signalling_limiter,
            chat_channel: None,
            refusal_noticed_at: None,
            epoch: 0,
            forwards: HashMap::new(),
        }
    }

    /// Tell the participant something; a participant whose receiver is gone just misses it.
    pub(crate) fn notify(&self, event: ParticipantEvent) {
        let _ = self.events.send(event);
    }

    /// Apply the client's offer (first one, renegotiation, or ICE restart) and return the answer.
    pub(crate) fn apply_offer(
        &mut self,
        now: Instant,
        offer: RTCSessionDescription,
    ) -> Result<String, SfuError> {
        if self.offer_in_flight.is_some() || self.signaling_state != RTCSignalingState::Stable {
            return Err(SfuError::Glare);
        }
        if let Err(e) = self.pc.set_remote_description(now, offer) {
            // rtc may have moved to have-remote-offer before refusing the content: roll back,
            // or every later offer of this participant would be refused too.
            self.roll_back_remote_offer(now);
            return Err(sdp_refused(e));
        }
        self.epoch += 1;
        if !self.local_candidate_added {
            // Our one host candidate (the shared socket's public address), in every answer.
            if let Err(e) = self.pc.add_local_candidate(self.local_candidate.clone()) {
                self.roll_back_remote_offer(now);
                return Err(SfuError::Internal(format!("local candidate: {e}")));
            }
            self.local_candidate_added = true;
        }
        let answer = match self.pc.create_answer(None) {
            Ok(answer) => answer,
            Err(e) => {
                self.roll_back_remote_offer(now);
                return Err(sdp_refused(e));
            }
        };
        if let Err(e) = self.pc.set_local_description(now, answer) {
            self.roll_back_remote_offer(now);
            return Err(sdp_refused(e));
        }
        let answer = self
            .pc
            .local_description()
            .ok_or_else(|| SfuError::Internal("no local description after answering".to_owned()))?;
        self.answered_first_offer = true;
        self.pump(now);
        Ok(answer.sdp)
    }

    /// Back to stable after an offer we could not answer, so the session stays usable.
    fn roll_back_remote_offer(&mut self, now: Instant) {
        self.pump(now);
        if self.signaling_state == RTCSignalingState::Stable {
            return;
        }
        let mut rollback = RTCSessionDescription::default();
        rollback.sdp_type = RTCSdpType::Rollback;
        if let Err(e) = self.pc.set_remote_description(now, rollback) {
            debug!(participant = %self.participant, error = %e, "rollback of a refused offer failed");
        }
        self.pump(now);
    }

    /// Apply the client's answer to the SFU's offer `request_id`.
    pub(crate) fn apply_answer(
        &mut self,
        now: Instant,
        request_id: u64,
        answer: RTCSessionDescription,
    ) -> Result<(), SfuError> {
        match self.offer_in_flight {
            Some((in_flight, _)) if in_flight == request_id => {}
            _ => return Err(SfuError::NoOfferInFlight),
        }
        let applied = self.pc.set_remote_description(now, answer);
        self.offer_in_flight = None;
        self.epoch += 1;
        if let Err(e) = applied {
            // Withdraw our offer. Back in stable, rtc re-checks what is un-negotiated and asks
            // for negotiation again (OnNegotiationNeeded), so what it carried is offered again.
            self.roll_back_local_offer(now);
            self.pump(now);
            return Err(sdp_refused(e));
        }
        self.pump(now);
        Ok(())
    }

    fn roll_back_local_offer(&mut self, now: Instant) {
        if let Some(mut offer) = self.pc.local_description() {
            offer.sdp_type = RTCSdpType::Rollback;
            if let Err(e) = self.pc.set_local_description(now, offer) {
                warn!(participant = %self.participant, error = %e, "rollback of the SFU's offer failed");
            }
        }
    }

    pub(crate) fn add_remote_candidate(
        &mut self,
        candidate: RTCIceCandidateInit,
    ) -> Result<(), SfuError> {
        self.pc
            .add_remote_candidate(candidate)
            .map_err(|e| SfuError::CandidateInvalid(e.to_string()))
    }

    /// Act on the connection's events; called after everything that can produce them.
    pub(crate) fn pump(&mut self, now: Instant) {
        while let Some(event) = self.pc.poll_event() {
            match event {
                // rtc raises this only from stable, and raises it again whenever it returns to
                // stable with something still un-negotiated. One queued while our offer went
                // out is therefore stale (that offer carries the change) and is dropped, or the
                // client would get a second, empty offer right after answering the first.
                RTCPeerConnectionEvent::OnNegotiationNeededEvent
                    if self.offer_in_flight.is_none() =>
                {
                    self.renegotiation_pending = true;
                    self.drive_renegotiation(now);
                }
                RTCPeerConnectionEvent::OnSignalingStateChangeEvent(state) => {
                    self.signaling_state = state;
                    if state == RTCSignalingState::Stable {
                        self.drive_renegotiation(now);
                    }
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    debug!(room = %self.room, participant = %self.participant, ?state, "connection state");
                    let was_connected = self.connected;
                    self.connected = state == RTCPeerConnectionState::Connected;
                    if self.connected {
                        self.down_since = None;
                    } else if self.down_since.is_none() {
                        self.down_since = Some(now);
                    }
                    if self.connected && !was_connected {
                        self.notify(ParticipantEvent::Connected);
                    } else if state == RTCPeerConnectionState::Failed {
                        self.notify(ParticipantEvent::ConnectionFailed);
                    }
                }
                RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(id)) => {
                    let is_chat = self
                        .pc
                        .data_channel(id)
                        .is_some_and(|channel| channel.label() == CHAT_CHANNEL_LABEL);
                    if is_chat {
                        self.chat_channel = Some(id);
                    }
                }
                RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnClose(id))
                    if self.chat_channel == Some(id) =>
                {
                    self.chat_channel = None;
                }
                _ => {}
            }
        }
    }

    /// Offer the forwarded tracks' changes, when that is safe: only after the client's first
    /// offer was answered (its codecs and extension ids are then known), with none of ours in
    /// flight, from a stable state.
    fn drive_renegotiation(&mut self, now: Instant) {
        if !self.answered_first_offer
            || !self.renegotiation_pending
            || self.offer_in_flight.is_some()
            || self.signaling_state != RTCSignalingState::Stable
        {
            return;
        }
        self.renegotiation_pending = false;
        let offer = match self.pc.create_offer(None) {
            Ok(offer) => offer,
            Err(e) => {
                warn!(participant = %self.participant, error = %e, "could not create an offer");
                return;
            }
        };
        if let Err(e) = self.pc.set_local_description(now, offer) {
            warn!(participant = %self.participant, error = %e, "could not apply our offer");
            return;
        }
        let Some(offer) = self.pc.local_description() else {
            return;
        };
        self.last_request_id += 1;
        self.offer_in_flight = Some((self.last_request_id, now + self.answer_timeout));
        self.epoch += 1;
        let tracks = self.forwarded_tracks();
        self.notify(ParticipantEvent::Offer {
            request_id: self.last_request_id,
            sdp: offer.sdp,
            tracks,
        });
    }

    /// The tracks this connection forwards to the participant, by mid.
    fn forwarded_tracks(&mut self) -> Vec<ForwardedTrack> {
        let forwards: Vec<(RTCRtpSenderId, ForwardInfo)> =
            self.forwards.iter().map(|(s, i)| (*s, i.clone())).collect();
        let mut tracks: Vec<ForwardedTrack> = forwards
            .into_iter()
            .filter_map(|(sender, info)| {
                let mid = self.pc.rtp_transceiver(sender.into())?.mid().clone()?;
                Some(ForwardedTrack {
                    mid,
                    publisher: info.publisher,
                    kind: info.kind,
                    publisher_track_id: info.publisher_track_id,
                })
            })
            .collect();
        tracks.sort_by(|a, b| a.mid.cmp(&b.mid));
        tracks
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Err(e) = self.pc.handle_timeout(now) {
            debug!(participant = %self.participant, error = %e, "timeout handling failed");
        }
        if let Some((request_id, deadline)) = self.offer_in_flight
            && deadline <= now
        {
            warn!(room = %self.room, participant = %self.participant, request_id, "no answer to our offer; rolling it back");
            self.offer_in_flight = None;
            // Back in stable, rtc asks for negotiation again: the offer is made anew.
            self.roll_back_local_offer(now);
        }
        self.pump(now);
    }

    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        let connection = self.pc.poll_timeout();
        let answer = self.offer_in_flight.map(|(_, deadline)| deadline);
        match (connection, answer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Start forwarding another participant's track to this one (takes effect once offered).
    pub(crate) fn add_forward(
        &mut self,
        publisher: &ParticipantId,
        track: &PublishedTrack,
    ) -> Result<RTCRtpSenderId, SfuError> {
        // Media codecs only: retransmission (RTX) and FEC are per leg, negotiated by each
        // subscriber on its own (a Firefox leg has no RTX, and an RTX `apt=` names the
        // publisher's payload type), so carrying the publisher's would make the transceiver
        // refuse the track ("unsupported codec").
        let codings = track
            .codecs
            .iter()
            .filter(|codec| is_media_codec(&codec.rtp_codec.mime_type))
            .map(|codec| RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(track.ssrc),
                    ..Default::default()
                },
                active: true,
                codec: codec.rtp_codec.clone(),
                ..Default::default()
            })
            .collect();
        let kind = match track.kind {
            MediaKind::Audio => RtpCodecKind::Audio,
            MediaKind::Video => RtpCodecKind::Video,
        };
        // The msid the subscriber sees: stream = publisher (its tracks group together), track =
        // publisher and mid, unique on this connection.
        let forwarded = MediaStreamTrack::new(
            publisher.to_string(),
            format!("{publisher}-{}", track.mid),
            format!("{publisher}-{}", track.mid),
            kind,
            codings,
        );
        // A dedicated sendonly transceiver: `add_track` could reuse one of the client's own.
        let transceiver = self
            .pc
            .add_transceiver_from_track(
                forwarded,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: Vec::new(),
                    send_encodings: Vec::new(),
                }),
            )
            .map_err(|e| SfuError::Internal(format!("add forwarding transceiver: {e}")))?;
        let sender = RTCRtpSenderId::from(transceiver);
        self.forwards.insert(
            sender,
            ForwardInfo {
                publisher: publisher.clone(),
                kind: track.kind,
                publisher_track_id: track.publisher_track_id.clone(),
            },
        );
        Ok(sender)
    }

    pub(crate) fn remove_forward(&mut self, sender: RTCRtpSenderId) {
        self.forwards.remove(&sender);
        if let Err(e) = self.pc.remove_track(sender) {
            debug!(participant = %self.participant, error = %e, "removing a forwarding sender failed");
        }
    }

    /// The tracks this participant sends, as negotiated: receivers of its connection that are
    /// receiving (the SFU's own sendonly transceivers and stopped tracks drop out), with the
    /// SSRC its offer announced (`a=ssrc`). A track without one cannot be forwarded yet (the
    /// subscriber's sender must know its SSRC), so it is skipped until a later offer names it.
    pub(crate) fn published_tracks(&mut self) -> Vec<PublishedTrack> {
        let remote = self
            .pc
            .remote_description()
            .and_then(|d| d.unmarshal().ok());
        let receivers: Vec<RTCRtpReceiverId> = self.pc.get_receivers().collect();
        let mut tracks = Vec::new();
        for receiver in receivers {
            let Some(mid) = self
                .pc
                .rtp_transceiver(receiver.into())
                .and_then(|t| t.mid().clone())
            else {
                continue;
            };
            let Some((kind, publisher_track_id, parameters)) =
                self.pc.rtp_receiver(receiver).map(|mut r| {
                    let kind = r.track().kind();
                    let track_id = r.track().track_id().to_string();
                    (kind, track_id, r.get_parameters().rtp_parameters.clone())
                })
            else {
                continue;
            };
            let kind = match kind {
                RtpCodecKind::Audio => MediaKind::Audio,
                RtpCodecKind::Video => MediaKind::Video,
                _ => continue,
            };
            let ssrc = remote.as_ref().and_then(|remote| {
                let media = remote
                    .media_descriptions
                    .iter()
                    .find(|m| m.attribute("mid").flatten() == Some(mid.as_str()))?;
                media
                    .attribute("ssrc")
                    .flatten()?
                    .split_whitespace()
                    .next()?
                    .parse::<u32>()
                    .ok()
            });
            let Some(ssrc) = ssrc else {
                debug!(participant = %self.participant, %mid, "published track without a=ssrc is not forwarded");
                continue;
            };
            tracks.push(PublishedTrack {
                mid,
                receiver,
                kind,
                ssrc,
                publisher_track_id,
                codecs: parameters.codecs,
                extensions: parameters.header_extensions,
            });
        }
        tracks
    }

    /// The negotiated send side of one forwarding leg: codecs, extensions, mid, and whether the
    /// transceiver currently sends (it does not before the client's answer).
    pub(crate) fn leg_parameters(
        &mut self,
        sender: RTCRtpSenderId,
    ) -> Option<(
        Vec<RTCRtpCodecParameters>,
        Vec<RTCRtpHeaderExtensionParameters>,
        String,
        bool,
    )> {
        let (mid, sending) = {
            let transceiver = self.pc.rtp_transceiver(sender.into())?;
            (
                transceiver.mid().clone()?,
                transceiver.current_direction().has_send(),
            )
        };
        let mut rtp_sender = self.pc.rtp_sender(sender)?;
        let parameters = &rtp_sender.get_parameters().rtp_parameters;
        Some((
            parameters.codecs.clone(),
            parameters.header_extensions.clone(),
            mid,
            sending,
        ))
    }

    pub(crate) fn close(&mut self) {
        if let Err(e) = self.pc.close() {
            debug!(participant = %self.participant, error = %e, "closing the connection failed");
        }
    }
}
