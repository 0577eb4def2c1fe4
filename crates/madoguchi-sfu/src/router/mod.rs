//! The SFU's state and everything it does, without I/O: rooms, participants' connections,
//! forwarding, keyframe requests and chat. The event loop (`engine`) feeds it
//! datagrams, commands and the clock, and sends what it leaves in its outbox. Signalling and
//! the forwarding graph are here; what happens to each packet is in `media`.

mod media;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use rtc::ice::candidate::CandidateConfig;
use rtc::ice::rand::{generate_pwd, generate_ufrag};
use rtc::peer_connection::sdp::RTCSdpType;
use rtc::peer_connection::transport::{CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::sansio::Protocol;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tracing::{info, warn};

use crate::chat::RateLimiter;
use crate::config::SfuConfig;
use crate::demux::{Demuxer, SessionKey};
use crate::error::SfuError;
use crate::event::{CloseReason, ParticipantEvent, SfuStats};
use crate::forward::LegTranslation;
use crate::grant::Grant;
use crate::ids::{ParticipantId, RoomId};
use crate::offer_check;
use crate::peer::build_peer_connection;
use crate::session::{PublishedTrack, Session, SessionInit};
use media::SequenceCounter;

/// An ICE candidate as browsers send it (`RTCIceCandidateInit` JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_mline_index: Option<u16>,
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// How often publishers are reminded of the video bitrate ceiling (REMB); browsers expect a
/// REMB about once a second and otherwise fall back to their own estimate alone.
const BITRATE_CAP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A candidate line is under 200 bytes; a longer one is refused unparsed.
const CANDIDATE_BYTES_MAX: usize = 1024;

/// One published track of a room, keyed by its publisher and the publisher's mid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TrackKey {
    publisher: SessionKey,
    mid: String,
}

/// One subscriber's copy of a publication.
struct Leg {
    sender: RTCRtpSenderId,
    cache: Option<CachedLeg>,
    /// A new subscriber sees nothing until a keyframe: ask the publisher for one when the leg
    /// first carries a packet.
    keyframe_wanted: bool,
}

/// The leg's translation as of the two negotiations it depends on.
struct CachedLeg {
    subscriber_epoch: u64,
    publisher_epoch: u64,
    sending: bool,
    translation: LegTranslation,
}

struct Publication {
    track: PublishedTrack,
    publisher_epoch: u64,
    legs: HashMap<SessionKey, Leg>,
    last_keyframe_request: Option<Instant>,
    sequence: SequenceCounter,
}

#[derive(Default)]
struct Room {
    members: Vec<(ParticipantId, SessionKey)>,
    publications: HashMap<TrackKey, Publication>,
    by_ssrc: HashMap<u32, TrackKey>,
}

pub(crate) struct Router {
    config: SfuConfig,
    /// The socket's own address, as rtc expects it on every datagram.
    local_addr: SocketAddr,
    local_candidate: RTCIceCandidateInit,
    next_session: SessionKey,
    sessions: HashMap<SessionKey, Session>,
    rooms: HashMap<RoomId, Room>,
    demux: Demuxer,
    pub(crate) outbox: Vec<(SocketAddr, BytesMut)>,
    stats: SfuStats,
    bitrate_caps_sent_at: Option<Instant>,
}

impl Router {
    pub(crate) fn new(
        config: SfuConfig,
        local_addr: SocketAddr,
        advertised: SocketAddr,
    ) -> Result<Self, SfuError> {
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: advertised.ip().to_string(),
                port: advertised.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(|e| SfuError::Internal(format!("host candidate: {e}")))?;
        let local_candidate = RTCIceCandidate::from(&candidate)
            .to_json()
            .map_err(|e| SfuError::Internal(format!("host candidate: {e}")))?;
        Ok(Self {
            config,
            local_addr,
            local_candidate,
            next_session: 1,
            sessions: HashMap::new(),
            rooms: HashMap::new(),
            demux: Demuxer::default(),
            outbox: Vec::new(),
            stats: SfuStats::default(),
            bitrate_caps_sent_at: None,
        })
    }

    /// The participant's session, if it may signal now: a participant flooding the SFU with
    /// calls is refused (`rate_limited`) before any parsing.
    fn signalling_session(
        &mut self,
        now: Instant,
        room: &RoomId,
        participant: &ParticipantId,
    ) -> Result<SessionKey, SfuError> {
        let key = self.session_key(room, participant)?;
        let session = self.sessions.get_mut(&key).ok_or(SfuError::NotInRoom)?;
        if !session.signalling_limiter.try_take(now) {
            return Err(SfuError::RateLimited);
        }
        Ok(key)
    }

    fn session_key(
        &self,
        room: &RoomId,
        participant: &ParticipantId,
    ) -> Result<SessionKey, SfuError> {
        self.rooms
            .get(room)
            .and_then(|r| r.members.iter().find(|(p, _)| p == participant))
            .map(|(_, key)| *key)
            .ok_or(SfuError::NotInRoom)
    }

    // ----- signalling -----------------------------------------------------------------------

    pub(crate) fn join(
        &mut self,
        now: Instant,
        room_id: RoomId,
        participant: ParticipantId,
        grant: Grant,
        offer_sdp: String,
    ) -> Result<(String, UnboundedReceiver<ParticipantEvent>), SfuError> {
        match self.rooms.get(&room_id) {
            Some(room) if room.members.iter().any(|(p, _)| *p == participant) => {
                return Err(SfuError::AlreadyInRoom);
            }
            Some(room) if room.members.len() >= self.config.room_participants_max => {
                return Err(SfuError::RoomFull(self.config.room_participants_max));
            }
            None if self.rooms.len() >= self.config.rooms_max => {
                return Err(SfuError::TooManyRooms(self.config.rooms_max));
            }
            _ => {}
        }
        let offer = offer_check::parse(RTCSdpType::Offer, offer_sdp)?;
        offer_check::check_grant(&offer, &grant)?;

        let key = self.next_session;
        self.next_session += 1;
        let ufrag = generate_ufrag();
        let pc = build_peer_connection(now, ufrag.clone(), generate_pwd())
            .map_err(|e| SfuError::Internal(format!("peer connection: {e}")))?;
        let (events, receiver) = unbounded_channel();
        let mut session = Session::new(
            SessionInit {
                joined_at: now,
                room: room_id.clone(),
                participant: participant.clone(),
                grant,
                events,
                local_candidate: self.local_candidate.clone(),
                answer_timeout: self.config.answer_timeout,
                chat_limiter: RateLimiter::new(
                    now,
                    self.config.chat_messages_per_s,
                    self.config.chat_burst,
                ),
                signalling_limiter: RateLimiter::new(
                    now,
                    self.config.signalling_per_s,
                    self.config.signalling_burst,
                ),
            },
            pc,
        );
        let answer = match session.apply_offer(now, offer) {
            Ok(answer) => answer,
            Err(e) => {
                session.close();
                return Err(e);
            }
        };
        self.demux.register_ufrag(ufrag, key);
        self.sessions.insert(key, session);
        self.rooms
            .entry(room_id.clone())
            .or_default()
            .members
            .push((participant.clone(), key));
        info!(room = %room_id, %participant, "joined");
        self.reconcile(&room_id, now);
        self.flush_room(&room_id);
        Ok((answer, receiver))
    }

    /// A client offer after the first: new or stopped tracks, or an ICE restart.
    pub(crate) fn offer(
        &mut self,
        now: Instant,
        room_id: &RoomId,
        participant: &ParticipantId,
        offer_sdp: String,
    ) -> Result<String, SfuError> {
        let key = self.signalling_session(now, room_id, participant)?;
        let offer = offer_check::parse(RTCSdpType::Offer, offer_sdp)?;
        let session = self.sessions.get_mut(&key).ok_or(SfuError::NotInRoom)?;
        offer_check::check_grant(&offer, &session.grant)?;
        let answer = session.apply_offer(now, offer);
        if answer.is_ok() {
            self.reconcile(room_id, now);
        }
        self.flush_room(room_id);
        answer
    }

    pub(crate) fn answer(
        &mut self,
        now: Instant,
        room_id: &RoomId,
        participant: &ParticipantId,
        request_id: u64,
        answer_sdp: String,
    ) -> Result<(), SfuError> {
        let key = self.signalling_session(now, room_id, participant)?;
        let answer = offer_check::parse(RTCSdpType::Answer, answer_sdp)?;
        let session = self.sessions.get_mut(&key).ok_or(SfuError::NotInRoom)?;
        let applied = session.apply_answer(now, request_id, answer);
        self.flush_room(room_id);
        applied
    }

    pub(crate) fn candidate(
        &mut self,
        now: Instant,
        room_id: &RoomId,
        participant: &ParticipantId,
        candidate: IceCandidate,
    ) -> Result<(), SfuError> {
        let key = self.signalling_session(now, room_id, participant)?;
        if candidate.candidate.len() > CANDIDATE_BYTES_MAX {
            return Err(SfuError::CandidateInvalid(format!(
                "longer than {CANDIDATE_BYTES_MAX} bytes"
            )));
        }
        let session = self.sessions.get_mut(&key).ok_or(SfuError::NotInRoom)?;
        session.add_remote_candidate(RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            username_fragment: candidate.username_fragment,
            ..Default::default()
        })
    }

    pub(crate) fn leave(
        &mut self,
        now: Instant,
        room_id: &RoomId,
        participant: &ParticipantId,
    ) -> Result<(), SfuError> {
        let key = self.session_key(room_id, participant)?;
        self.remove_participant(now, room_id, key);
        info!(room = %room_id, %participant, "left");
        Ok(())
    }

    /// Take a participant out of its room; the others are offered the removal of its tracks.
    fn remove_participant(&mut self, now: Instant, room_id: &RoomId, key: SessionKey) {
        self.remove_session(key);
        if let Some(room) = self.rooms.get_mut(room_id) {
            room.members.retain(|(_, k)| *k != key);
            if room.members.is_empty() {
                self.rooms.remove(room_id);
            }
        }
        self.reconcile(room_id, now);
        self.flush_room(room_id);
    }

    /// Remove participants whose connection stayed down too long (see `connection_lost_after`).
    fn remove_lost_connections(&mut self, now: Instant) {
        let lost: Vec<(SessionKey, RoomId)> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.down_since.is_some_and(|since| {
                    now.saturating_duration_since(since) >= self.config.connection_lost_after
                })
            })
            .map(|(key, s)| (*key, s.room.clone()))
            .collect();
        for (key, room_id) in lost {
            if let Some(session) = self.sessions.get(&key) {
                warn!(room = %room_id, participant = %session.participant, "connection lost; participant removed");
                session.notify(ParticipantEvent::Closed(CloseReason::ConnectionLost));
            }
            self.stats.connections_lost += 1;
            self.remove_participant(now, &room_id, key);
        }
    }

    /// Close a room: every participant is told (`Closed`) and disconnected.
    pub(crate) fn close_room(&mut self, room_id: &RoomId) -> Result<usize, SfuError> {
        let room = self.rooms.remove(room_id).ok_or(SfuError::NoSuchRoom)?;
        for (_, key) in &room.members {
            if let Some(session) = self.sessions.get(key) {
                session.notify(ParticipantEvent::Closed(CloseReason::RoomClosed));
            }
            self.remove_session(*key);
        }
        info!(room = %room_id, participants = room.members.len(), "room closed");
        Ok(room.members.len())
    }

    /// Close a connection (its goodbye, DTLS close_notify, still goes out) and forget it.
    fn remove_session(&mut self, key: SessionKey) {
        if let Some(mut session) = self.sessions.remove(&key) {
            session.close();
            while let Some(datagram) = session.pc.poll_write() {
                self.outbox
                    .push((datagram.transport.peer_addr, datagram.message));
            }
        }
        self.demux.forget(key);
    }

    /// Make the room's forwarding match what its participants publish now: a leg from every
    /// published track to every other participant, none for tracks or participants gone. Run
    /// after anything that can change that (join, leave, a participant's offer).
    fn reconcile(&mut self, room_id: &RoomId, now: Instant) {
        let Router {
            rooms, sessions, ..
        } = self;
        let Some(room) = rooms.get_mut(room_id) else {
            return;
        };
        let members: Vec<SessionKey> = room.members.iter().map(|(_, k)| *k).collect();
        let mut published: HashMap<TrackKey, (PublishedTrack, u64)> = HashMap::new();
        for key in &members {
            if let Some(session) = sessions.get_mut(key) {
                let epoch = session.epoch;
                for track in session.published_tracks() {
                    let track_key = TrackKey {
                        publisher: *key,
                        mid: track.mid.clone(),
                    };
                    published.insert(track_key, (track, epoch));
                }
            }
        }

        // Gone: unpublished tracks, tracks whose SSRC changed, departed publishers.
        room.publications.retain(|track_key, publication| {
            let keep = published
                .get(track_key)
                .is_some_and(|(track, _)| track.ssrc == publication.track.ssrc);
            if !keep {
                for (subscriber, leg) in publication.legs.drain() {
                    if let Some(session) = sessions.get_mut(&subscriber) {
                        session.remove_forward(leg.sender);
                    }
                }
            }
            keep
        });
        for publication in room.publications.values_mut() {
            publication
                .legs
                .retain(|subscriber, _| members.contains(subscriber));
        }

        for (track_key, (track, epoch)) in published {
            let Some(publisher) = sessions
                .get(&track_key.publisher)
                .map(|s| s.participant.clone())
            else {
                continue;
            };
            let publication = room
                .publications
                .entry(track_key.clone())
                .or_insert_with(|| Publication {
                    track: track.clone(),
                    publisher_epoch: epoch,
                    legs: HashMap::new(),
                    last_keyframe_request: None,
                    sequence: SequenceCounter::default(),
                });
            publication.track = track;
            publication.publisher_epoch = epoch;
            if let Some(previous) = room
                .by_ssrc
                .insert(publication.track.ssrc, track_key.clone())
                && previous != track_key
            {
                warn!(room = %room_id, ssrc = publication.track.ssrc, "two tracks claim one SSRC; the newer wins");
            }
            for subscriber in &members {
                if *subscriber == track_key.publisher || publication.legs.contains_key(subscriber) {
                    continue;
                }
                let Some(session) = sessions.get_mut(subscriber) else {
                    continue;
                };
                match session.add_forward(&publisher, &publication.track) {
                    Ok(sender) => {
                        publication.legs.insert(
                            *subscriber,
                            Leg {
                                sender,
                                cache: None,
                                keyframe_wanted: true,
                            },
                        );
                    }
                    Err(e) => warn!(room = %room_id, error = %e, "could not forward a track"),
                }
            }
        }
        let publications = &room.publications;
        room.by_ssrc
            .retain(|_, track_key| publications.contains_key(track_key));

        // Adding or removing legs made those connections want to renegotiate: offer now.
        for key in &members {
            if let Some(session) = sessions.get_mut(key) {
                session.pump(now);
            }
        }
    }

    // ----- time and output ------------------------------------------------------------------

    /// Run every connection's due timers (retransmissions, RTCP reports, answer timeouts).
    pub(crate) fn handle_timeouts(&mut self, now: Instant) {
        let due: Vec<SessionKey> = self
            .sessions
            .iter_mut()
            .filter_map(|(key, session)| {
                session
                    .next_deadline()
                    .is_some_and(|d| d <= now)
                    .then_some(*key)
            })
            .collect();
        for key in due {
            if let Some(session) = self.sessions.get_mut(&key) {
                session.handle_timeout(now);
            }
            self.process_reads(now, key);
        }
        self.remove_lost_connections(now);
        let caps_due = self
            .bitrate_caps_sent_at
            .is_none_or(|at| now.saturating_duration_since(at) >= BITRATE_CAP_INTERVAL);
        if caps_due && let Some(bitrate_bps) = self.config.video_bitrate_max_bps {
            self.bitrate_caps_sent_at = Some(now);
            self.send_bitrate_caps(now, bitrate_bps);
        }
        self.flush_all();
    }

    fn flush_room(&mut self, room_id: &RoomId) {
        let Some(room) = self.rooms.get(room_id) else {
            return;
        };
        for (_, key) in &room.members {
            if let Some(session) = self.sessions.get_mut(key) {
                while let Some(datagram) = session.pc.poll_write() {
                    self.outbox
                        .push((datagram.transport.peer_addr, datagram.message));
                }
            }
        }
    }

    fn flush_all(&mut self) {
        for session in self.sessions.values_mut() {
            while let Some(datagram) = session.pc.poll_write() {
                self.outbox
                    .push((datagram.transport.peer_addr, datagram.message));
            }
        }
    }

    pub(crate) fn stats(&self) -> SfuStats {
        let mut stats = self.stats.clone();
        stats.rooms = self.rooms.len();
        stats.participants = self.sessions.len();
        stats.forwarded_streams = self
            .rooms
            .values()
            .flat_map(|r| r.publications.values())
            .map(|p| p.legs.len())
            .sum();
        stats
    }

    /// Close every connection (shutdown).
    pub(crate) fn close_all(&mut self) {
        let rooms: Vec<RoomId> = self.rooms.keys().cloned().collect();
        for room in rooms {
            let _ = self.close_room(&room);
        }
    }
}
