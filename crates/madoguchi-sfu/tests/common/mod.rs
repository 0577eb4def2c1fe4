//! Headless WebRTC participants for the SFU's tests: `webrtc` 0.21 peer connections on
//! 127.0.0.1 that signal in-process through an [`SfuHandle`], publish synthetic VP8/Opus RTP,
//! and count what they receive per SSRC.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use madoguchi_sfu::{
    ForwardedTrack, Grant, ParticipantEvent, ParticipantId, RoomId, Sfu, SfuConfig, SfuError,
    SfuHandle,
};
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCPeerConnectionState, RTCSessionDescription, Registry,
    register_default_interceptors,
};

/// Long enough for a loaded CI machine; conditions are polled, so a pass is fast.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,rtc_dtls::config=error")
            }),
        )
        .with_test_writer()
        .try_init();
}

pub fn start_sfu() -> SfuHandle {
    start_sfu_with(|_| {})
}

pub fn start_sfu_with(configure: impl FnOnce(&mut SfuConfig)) -> SfuHandle {
    init_tracing();
    let mut config = SfuConfig::new("127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    Sfu::start(config).expect("the SFU starts")
}

pub fn room(name: &str) -> RoomId {
    RoomId::new(name).unwrap()
}

/// Poll `condition` until it holds or [`WAIT`] passes.
pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        if Instant::now() > deadline {
            return Err(anyhow!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Packets received on one SSRC, and the gaps in their sequence numbers.
#[derive(Clone, Debug, Default)]
pub struct StreamCount {
    pub received: u64,
    /// Every payload type seen on the stream (the receiver's, after the SFU's translation).
    pub payload_types: std::collections::BTreeSet<u8>,
    /// Every header extension seen on the stream: (id, payload).
    pub extensions: std::collections::BTreeSet<(u8, Vec<u8>)>,
    first: Option<u64>,
    highest: u64,
}

impl StreamCount {
    fn record(&mut self, header: &rtp::header::Header) {
        let sequence_number = header.sequence_number;
        self.received += 1;
        self.payload_types.insert(header.payload_type);
        for extension in &header.extensions {
            self.extensions
                .insert((extension.id, extension.payload.to_vec()));
        }
        let seq = u64::from(sequence_number);
        // Extend the 16-bit counter; the writers start low, so a test never wraps more than once.
        let extended = if self.first.is_some() && seq + 0x8000 < (self.highest & 0xffff) {
            (self.highest & !0xffff) + 0x1_0000 + seq
        } else {
            (self.highest & !0xffff) + seq
        };
        if self.first.is_none() {
            self.first = Some(extended);
            self.highest = extended;
        } else if extended > self.highest {
            self.highest = extended;
        }
    }

    /// Packets missing between the first and the highest received.
    pub fn lost(&self) -> u64 {
        match self.first {
            Some(first) => (self.highest - first + 1).saturating_sub(self.received),
            None => 0,
        }
    }
}

/// What a test peer publishes.
#[derive(Clone, Copy, Debug)]
pub enum Publish {
    Audio,
    Video,
}

/// One synthetic outgoing stream.
pub struct SendTrack {
    pub track: Arc<TrackLocalStaticRTP>,
    pub ssrc: u32,
    pub kind: Publish,
    payload_type: u8,
    /// The `sdes:mid` extension the sender stamps on every packet (its id, its mid), as
    /// browsers do.
    mid_extension: Option<(u8, Bytes)>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    /// Cleared when the track is stopped (e.g. the screen share ends).
    running: AtomicBool,
}

struct Handler {
    state: mpsc::UnboundedSender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// Everything a test peer observed, shared with its background tasks.
#[derive(Default)]
pub struct Observed {
    pub state: Mutex<Option<RTCPeerConnectionState>>,
    pub received: Mutex<HashMap<u32, StreamCount>>,
    pub chat: Mutex<Vec<String>>,
    pub chat_open: AtomicBool,
    pub refusals: Mutex<Vec<SfuError>>,
    pub offers_answered: Mutex<u64>,
    pub tracks: Mutex<Vec<ForwardedTrack>>,
    pub answer_errors: Mutex<Vec<String>>,
    /// Keyframe requests (PLI/FIR) that reached this peer, by the SSRC they name.
    pub keyframe_requests: Mutex<HashMap<u32, u64>>,
    /// Bitrate ceilings (REMB, bits per second) the SFU sent this peer.
    pub bitrate_caps: Mutex<Vec<f32>>,
    pub remote_tracks: Mutex<Vec<Arc<dyn TrackRemote>>>,
    pub closed: Mutex<Option<madoguchi_sfu::CloseReason>>,
}

pub struct TestPeer {
    pub id: ParticipantId,
    pub room: RoomId,
    pub pc: Arc<dyn PeerConnection>,
    pub chat: Arc<dyn DataChannel>,
    pub sends: Vec<Arc<SendTrack>>,
    pub observed: Arc<Observed>,
    sfu: SfuHandle,
    /// Held while this peer negotiates, so its own offers never cross the SFU's.
    negotiating: Arc<tokio::sync::Mutex<()>>,
    writers_running: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

fn codec_for(kind: Publish) -> (RTCRtpCodec, RtpCodecKind) {
    match kind {
        Publish::Audio => (
            RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            RtpCodecKind::Audio,
        ),
        Publish::Video => (
            RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            },
            RtpCodecKind::Video,
        ),
    }
}

/// Which payload types a test peer's browser would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codecs {
    /// Chrome's and webrtc-rs's: VP8 96, Opus 111.
    Default,
    /// Firefox's: VP8 120, Opus 109. The SFU must translate between the two.
    FirefoxLike,
}

async fn build_pc(handler: Handler, codecs: Codecs) -> Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    match codecs {
        Codecs::Default => media.register_default_codecs()?,
        Codecs::FirefoxLike => {
            // Registered before the default interceptors' extensions, so they get other ids
            // than a default peer's: the SFU must renumber them per leg.
            for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                media.register_header_extension(
                    rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                        uri: rtc::sdp::extmap::TRANSPORT_CC_URI.to_owned(),
                    },
                    kind,
                    None,
                )?;
            }
            for (kind, payload_type) in [(Publish::Audio, 109), (Publish::Video, 120)] {
                let (codec, codec_kind) = codec_for(kind);
                media.register_codec(
                    rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters {
                        rtp_codec: codec,
                        payload_type,
                    },
                    codec_kind,
                )?;
            }
        }
    }
    let registry = register_default_interceptors(Registry::new(), &mut media)?
        .with(Slot::Custom(14_000), KeyframeRequestTap::default());
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// A send track's transceiver, added sendonly, as browsers publish.
async fn add_send_transceiver(
    pc: &Arc<dyn PeerConnection>,
    id: &str,
    index: usize,
    kind: Publish,
) -> Result<PendingSend> {
    let (codec, codec_kind) = codec_for(kind);
    let ssrc = rand::random::<u32>();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        format!("{id}-stream"),
        format!("{id}-track-{index}"),
        format!("{id}-track-{index}"),
        codec_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec,
            ..Default::default()
        }],
    )));
    let transceiver = pc
        .add_transceiver_from_track(
            Arc::clone(&track) as Arc<dyn TrackLocal>,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: vec![],
            }),
        )
        .await?;
    Ok((track, ssrc, kind, transceiver))
}

/// A send track once negotiated: the payload type the answer gave its codec.
async fn negotiated_send(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    kind: Publish,
    transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
) -> Result<SendTrack> {
    let sender = transceiver
        .sender()
        .await?
        .ok_or_else(|| anyhow!("transceiver without sender"))?;
    let parameters = sender.get_parameters().await?;
    let (codec, _) = codec_for(kind);
    let payload_type = parameters
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type))
        .map(|c| c.payload_type)
        .ok_or_else(|| anyhow!("no negotiated payload type for {}", codec.mime_type))?;
    let mid_id = parameters
        .rtp_parameters
        .header_extensions
        .iter()
        .find(|e| e.uri == rtc::sdp::extmap::SDES_MID_URI)
        .and_then(|e| u8::try_from(e.id).ok());
    let mid = transceiver.mid().await?;
    let mid_extension = mid_id
        .zip(mid)
        .map(|(id, mid)| (id, Bytes::from(mid.into_bytes())));
    Ok(SendTrack {
        track,
        ssrc,
        kind,
        payload_type,
        mid_extension,
        sender,
        running: AtomicBool::new(true),
    })
}

/// The offer a peer would send: its `chat` channel and one sendonly transceiver per track.
/// A send track before negotiation: the track, its SSRC, what it carries, its transceiver.
type PendingSend = (
    Arc<TrackLocalStaticRTP>,
    u32,
    Publish,
    Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
);

pub struct Prepared {
    pub id: ParticipantId,
    pub pc: Arc<dyn PeerConnection>,
    pub chat: Arc<dyn DataChannel>,
    pub offer_sdp: String,
    sends: Vec<PendingSend>,
    states: mpsc::UnboundedReceiver<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

pub async fn prepare(id: &str, publish: &[Publish]) -> Result<Prepared> {
    prepare_with(id, publish, Codecs::Default).await
}

pub async fn prepare_with(id: &str, publish: &[Publish], codecs: Codecs) -> Result<Prepared> {
    let (state_tx, states) = mpsc::unbounded_channel();
    let (track_tx, tracks) = mpsc::unbounded_channel();
    let pc = build_pc(
        Handler {
            state: state_tx,
            tracks: track_tx,
        },
        codecs,
    )
    .await?;
    let chat = pc
        .create_data_channel(madoguchi_sfu::CHAT_CHANNEL_LABEL, None)
        .await?;
    let mut sends = Vec::new();
    for (index, kind) in publish.iter().enumerate() {
        sends.push(add_send_transceiver(&pc, id, index, *kind).await?);
    }
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer.clone()).await?;
    Ok(Prepared {
        id: ParticipantId::new(id)?,
        pc,
        chat,
        offer_sdp: offer.sdp,
        sends,
        states,
        tracks,
    })
}

impl TestPeer {
    /// Join `room` publishing `publish`, and wait until connected with the chat channel open.
    pub async fn join(
        sfu: &SfuHandle,
        room: &RoomId,
        id: &str,
        publish: &[Publish],
    ) -> Result<TestPeer> {
        let prepared = prepare(id, publish).await?;
        let joined = sfu
            .join(
                room.clone(),
                prepared.id.clone(),
                Grant::FULL,
                prepared.offer_sdp.clone(),
            )
            .await
            .with_context(|| format!("{id} joins"))?;
        Self::finish_join(sfu, room, prepared, joined, None).await
    }

    /// Join as a browser with other payload types would.
    pub async fn join_with(
        sfu: &SfuHandle,
        room: &RoomId,
        id: &str,
        publish: &[Publish],
        codecs: Codecs,
    ) -> Result<TestPeer> {
        let prepared = prepare_with(id, publish, codecs).await?;
        let joined = sfu
            .join(
                room.clone(),
                prepared.id.clone(),
                Grant::FULL,
                prepared.offer_sdp.clone(),
            )
            .await
            .with_context(|| format!("{id} joins"))?;
        Self::finish_join(sfu, room, prepared, joined, None).await
    }

    /// Join through `link`: the peer is told the link's address instead of the SFU's.
    pub async fn join_via(
        sfu: &SfuHandle,
        room: &RoomId,
        id: &str,
        publish: &[Publish],
        link: &LossyLink,
    ) -> Result<TestPeer> {
        let prepared = prepare(id, publish).await?;
        let joined = sfu
            .join(
                room.clone(),
                prepared.id.clone(),
                Grant::FULL,
                prepared.offer_sdp.clone(),
            )
            .await
            .with_context(|| format!("{id} joins"))?;
        let rewrite = (
            format!(" {} typ host", sfu.advertised_addr().port()),
            format!(" {} typ host", link.addr.port()),
        );
        Self::finish_join(sfu, room, prepared, joined, Some(rewrite)).await
    }

    pub async fn finish_join(
        sfu: &SfuHandle,
        room: &RoomId,
        prepared: Prepared,
        joined: madoguchi_sfu::Joined,
        candidate_rewrite: Option<(String, String)>,
    ) -> Result<TestPeer> {
        let rewrite = move |sdp: String| match &candidate_rewrite {
            Some((from, to)) => sdp.replace(from.as_str(), to),
            None => sdp,
        };
        let Prepared {
            id,
            pc,
            chat,
            sends: prepared_sends,
            mut states,
            mut tracks,
            ..
        } = prepared;
        pc.set_remote_description(RTCSessionDescription::answer(rewrite(joined.answer_sdp))?)
            .await?;
        let mut sends = Vec::new();
        for (track, ssrc, kind, transceiver) in prepared_sends {
            sends.push(Arc::new(
                negotiated_send(track, ssrc, kind, transceiver).await?,
            ));
        }

        let observed = Arc::new(Observed::default());
        let negotiating = Arc::new(tokio::sync::Mutex::new(()));
        let mut tasks = Vec::new();

        for send in &sends {
            let send = Arc::clone(send);
            let observed = Arc::clone(&observed);
            tasks.push(tokio::spawn(async move {
                while let Some(event) = send.track.poll().await {
                    if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                        for packet in packets {
                            let any = packet.as_any();
                            if let Some(remb) =
                                any.downcast_ref::<ReceiverEstimatedMaximumBitrate>()
                            {
                                observed.bitrate_caps.lock().unwrap().push(remb.bitrate);
                                continue;
                            }
                            let ssrc =
                                if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                                    pli.media_ssrc
                                } else if any.is::<FullIntraRequest>() {
                                    send.ssrc
                                } else {
                                    continue;
                                };
                            *observed
                                .keyframe_requests
                                .lock()
                                .unwrap()
                                .entry(ssrc)
                                .or_default() += 1;
                        }
                    }
                }
            }));
        }

        let state_observed = Arc::clone(&observed);
        tasks.push(tokio::spawn(async move {
            while let Some(state) = states.recv().await {
                *state_observed.state.lock().unwrap() = Some(state);
            }
        }));

        let track_observed = Arc::clone(&observed);
        tasks.push(tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                track_observed
                    .remote_tracks
                    .lock()
                    .unwrap()
                    .push(Arc::clone(&track));
                let observed = Arc::clone(&track_observed);
                // Each track polled on its own task: the driver drops RTP if a queue fills.
                tokio::spawn(async move {
                    while let Some(event) = track.poll().await {
                        match event {
                            TrackRemoteEvent::OnRtpPacket(packet) => {
                                observed
                                    .received
                                    .lock()
                                    .unwrap()
                                    .entry(packet.header.ssrc)
                                    .or_default()
                                    .record(&packet.header);
                            }
                            TrackRemoteEvent::OnEnded => break,
                            _ => {}
                        }
                    }
                });
            }
        }));

        let chat_observed = Arc::clone(&observed);
        let chat_channel = Arc::clone(&chat);
        tasks.push(tokio::spawn(async move {
            while let Some(event) = chat_channel.poll().await {
                match event {
                    DataChannelEvent::OnOpen => {
                        chat_observed.chat_open.store(true, Ordering::SeqCst)
                    }
                    DataChannelEvent::OnMessage(message) => {
                        let text = String::from_utf8_lossy(&message.data).into_owned();
                        chat_observed.chat.lock().unwrap().push(text);
                    }
                    DataChannelEvent::OnClose => break,
                    _ => {}
                }
            }
        }));

        // Signalling: answer the SFU's offers, as a browser would.
        let mut events = joined.events;
        let signalling_pc = Arc::clone(&pc);
        let signalling_sfu = sfu.clone();
        let signalling_observed = Arc::clone(&observed);
        let signalling_lock = Arc::clone(&negotiating);
        let (signalling_room, signalling_id) = (room.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    ParticipantEvent::Offer {
                        request_id,
                        sdp,
                        tracks,
                    } => {
                        let _guard = signalling_lock.lock().await;
                        let answered: Result<()> = async {
                            signalling_pc
                                .set_remote_description(RTCSessionDescription::offer(rewrite(sdp))?)
                                .await?;
                            let answer = signalling_pc.create_answer(None).await?;
                            signalling_pc.set_local_description(answer.clone()).await?;
                            signalling_sfu
                                .answer(
                                    signalling_room.clone(),
                                    signalling_id.clone(),
                                    request_id,
                                    answer.sdp,
                                )
                                .await?;
                            Ok(())
                        }
                        .await;
                        match answered {
                            Ok(()) => {
                                *signalling_observed.tracks.lock().unwrap() = tracks;
                                *signalling_observed.offers_answered.lock().unwrap() += 1;
                            }
                            Err(e) => signalling_observed
                                .answer_errors
                                .lock()
                                .unwrap()
                                .push(e.to_string()),
                        }
                    }
                    ParticipantEvent::Closed(reason) => {
                        *signalling_observed.closed.lock().unwrap() = Some(reason);
                    }
                    ParticipantEvent::Refused(error) => {
                        signalling_observed.refusals.lock().unwrap().push(error)
                    }
                    _ => {}
                }
            }
        }));

        let peer = TestPeer {
            id,
            room: room.clone(),
            pc,
            chat,
            sends,
            observed,
            sfu: sfu.clone(),
            negotiating,
            writers_running: Arc::new(AtomicBool::new(true)),
            tasks,
        };
        let observed = Arc::clone(&peer.observed);
        wait_for(&format!("{} to connect", peer.id), || {
            *observed.state.lock().unwrap() == Some(RTCPeerConnectionState::Connected)
        })
        .await?;
        wait_for(&format!("{}'s chat channel to open", peer.id), || {
            observed.chat_open.load(Ordering::SeqCst)
        })
        .await?;
        Ok(peer)
    }

    /// Start writing every send track: one 300-byte packet per 10 ms each (240 kbps).
    pub fn start_writers(&mut self) {
        self.start_writers_at(Duration::from_millis(10), 300);
    }

    /// Start writing every send track: one packet of `payload_bytes` per `interval`, sequence
    /// numbers from 1.
    pub fn start_writers_at(&mut self, interval: Duration, payload_bytes: usize) {
        for send in self.sends.clone() {
            self.spawn_writer(send, interval, payload_bytes);
        }
    }

    fn spawn_writer(&mut self, send: Arc<SendTrack>, interval: Duration, payload_bytes: usize) {
        let running = Arc::clone(&self.writers_running);
        self.tasks.push(tokio::spawn(async move {
            let mut sequence_number: u16 = 1;
            let mut timestamp: u32 = 0;
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while running.load(Ordering::SeqCst) && send.running.load(Ordering::SeqCst) {
                ticker.tick().await;
                let packet = rtp::Packet {
                    header: rtp::header::Header {
                        version: 2,
                        marker: true,
                        payload_type: send.payload_type,
                        sequence_number,
                        timestamp,
                        ssrc: send.ssrc,
                        ..Default::default()
                    },
                    // A VP8 payload descriptor (start of partition) and a fake frame.
                    payload: Bytes::from(vec![0x10u8; payload_bytes]),
                };
                let mut packet = packet;
                if let Some((id, mid)) = &send.mid_extension {
                    let _ = packet.header.set_extension(*id, mid.clone());
                }
                if send.track.write_rtp(packet).await.is_err() {
                    continue;
                }
                sequence_number = sequence_number.wrapping_add(1);
                timestamp = timestamp.wrapping_add(90 * interval.as_millis() as u32);
            }
        }));
    }

    /// Offer the peer's current state to the SFU and apply the answer. A `glare` refusal (the
    /// SFU's own offer was in flight) is handled as the polite side does: roll back, let the
    /// SFU's offer be answered, try again.
    async fn renegotiate(&self, restart_ice: bool) -> Result<()> {
        for _ in 0..40 {
            let guard = self.negotiating.lock().await;
            if restart_ice {
                self.pc.restart_ice().await?;
            }
            let offer = self.pc.create_offer(None).await?;
            self.pc.set_local_description(offer.clone()).await?;
            match self
                .sfu
                .offer(self.room.clone(), self.id.clone(), offer.sdp)
                .await
            {
                Ok(answer) => {
                    self.pc
                        .set_remote_description(RTCSessionDescription::answer(answer)?)
                        .await?;
                    return Ok(());
                }
                Err(SfuError::Glare) => {
                    let mut rollback = RTCSessionDescription::default();
                    rollback.sdp_type = webrtc::peer_connection::RTCSdpType::Rollback;
                    self.pc.set_local_description(rollback).await?;
                    drop(guard);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(anyhow!("{}: the SFU kept answering glare", self.id))
    }

    /// Start publishing one more track (a screen share, a document camera) and write to it.
    pub async fn add_track(&mut self, kind: Publish) -> Result<u32> {
        let index = self.sends.len() + 100;
        let (track, ssrc, kind, transceiver) =
            add_send_transceiver(&self.pc, self.id.as_str(), index, kind).await?;
        self.renegotiate(false).await?;
        let send = Arc::new(negotiated_send(track, ssrc, kind, transceiver).await?);
        self.sends.push(Arc::clone(&send));
        self.spawn_writer(send, Duration::from_millis(10), 300);
        Ok(ssrc)
    }

    /// Stop publishing a track, as `pc.removeTrack(sender)` then renegotiation.
    pub async fn remove_track(&mut self, ssrc: u32) -> Result<()> {
        let index = self
            .sends
            .iter()
            .position(|s| s.ssrc == ssrc)
            .ok_or_else(|| anyhow!("no send track {ssrc}"))?;
        let send = self.sends.remove(index);
        send.running.store(false, Ordering::SeqCst);
        self.pc.remove_track(&send.sender).await?;
        self.renegotiate(false).await
    }

    pub fn stop_writers(&self) {
        self.writers_running.store(false, Ordering::SeqCst);
    }

    pub fn received_from(&self, ssrc: u32) -> StreamCount {
        self.observed
            .received
            .lock()
            .unwrap()
            .get(&ssrc)
            .cloned()
            .unwrap_or_default()
    }

    pub fn chat_messages(&self) -> Vec<String> {
        self.observed.chat.lock().unwrap().clone()
    }

    pub fn refusals(&self) -> Vec<SfuError> {
        self.observed.refusals.lock().unwrap().clone()
    }

    pub fn forwarded_tracks(&self) -> Vec<ForwardedTrack> {
        self.observed.tracks.lock().unwrap().clone()
    }

    pub fn keyframe_requests_for(&self, ssrc: u32) -> u64 {
        self.observed
            .keyframe_requests
            .lock()
            .unwrap()
            .get(&ssrc)
            .copied()
            .unwrap_or(0)
    }

    /// Ask, as a subscriber's decoder would, for a keyframe of the stream `ssrc`.
    pub async fn request_keyframe(&self, ssrc: u32) -> Result<()> {
        let tracks = self.observed.remote_tracks.lock().unwrap().clone();
        let mut found = None;
        for track in tracks {
            if track.ssrcs().await.contains(&ssrc) {
                found = Some(track);
                break;
            }
        }
        let track = found.ok_or_else(|| anyhow!("{} has no track for {ssrc}", self.id))?;
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            })])
            .await?;
        Ok(())
    }

    /// The id this peer negotiated for a header extension on what it receives.
    pub async fn received_extension_id(&self, uri: &str) -> Result<u8> {
        for transceiver in self.pc.get_transceivers().await {
            let Some(receiver) = transceiver.receiver().await? else {
                continue;
            };
            let parameters = receiver.get_parameters().await?;
            if let Some(extension) = parameters
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == uri)
            {
                return Ok(u8::try_from(extension.id)?);
            }
        }
        Err(anyhow!("{} negotiated no {uri}", self.id))
    }

    pub fn state(&self) -> Option<RTCPeerConnectionState> {
        *self.observed.state.lock().unwrap()
    }

    pub async fn send_chat(&self, text: &str) -> Result<()> {
        self.chat.send_text(text).await?;
        Ok(())
    }

    /// Client-initiated ICE restart, as `pc.restartIce()` then the usual offer.
    pub async fn restart_ice(&self) -> Result<()> {
        self.renegotiate(true).await
    }

    /// Disappear without leaving, as a crashed browser or a pulled cable does.
    pub async fn vanish(self) -> Result<()> {
        self.stop_writers();
        self.pc.close().await?;
        for task in &self.tasks {
            task.abort();
        }
        Ok(())
    }

    pub async fn leave(self) -> Result<()> {
        self.stop_writers();
        self.sfu.leave(self.room.clone(), self.id.clone()).await?;
        self.pc.close().await?;
        for task in &self.tasks {
            task.abort();
        }
        Ok(())
    }
}

/// Wait until every peer receives at least `packets` from every send track of every other peer.
pub async fn wait_for_mesh(peers: &[TestPeer], packets: u64) -> Result<()> {
    for receiver in peers {
        for sender in peers {
            if sender.id == receiver.id {
                continue;
            }
            for send in &sender.sends {
                let what = format!(
                    "{} to receive {packets} packets of {}'s {:?} ({})",
                    receiver.id, sender.id, send.kind, send.ssrc
                );
                wait_for(&what, || {
                    receiver.received_from(send.ssrc).received >= packets
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// The ICE username fragment of a peer's current local description.
pub async fn local_ufrag(peer: &TestPeer) -> Option<String> {
    let description = peer.pc.local_description().await?;
    description
        .sdp
        .lines()
        .find_map(|line| line.strip_prefix("a=ice-ufrag:"))
        .map(str::to_owned)
}

/// A UDP relay between one peer and the SFU that drops a share of the media each way: a weak
/// link. The SFU sees the relay's address as the peer's.
pub struct LossyLink {
    pub addr: std::net::SocketAddr,
    pub dropped: Arc<std::sync::atomic::AtomicU64>,
    task: JoinHandle<()>,
}

impl LossyLink {
    pub async fn start(
        sfu: std::net::SocketAddr,
        downlink_loss_percent: u32,
        uplink_loss_percent: u32,
    ) -> Result<LossyLink> {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let mut peer: Option<std::net::SocketAddr> = None;
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                // Only media is dropped (RFC 7983: first byte 128–191 is RTP/RTCP): the
                // handshakes get through, so the test is about forwarding, not about how
                // long DTLS takes to retransmit its way through a lossy link.
                let is_media = matches!(buf.first(), Some(128..=191));
                let (to, loss_percent) = if from == sfu {
                    let Some(peer) = peer else { continue };
                    (peer, downlink_loss_percent)
                } else {
                    peer = Some(from);
                    (sfu, uplink_loss_percent)
                };
                if is_media && rand::random::<u32>() % 100 < loss_percent {
                    counter.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let _ = socket.send_to(&buf[..len], to).await;
            }
        });
        Ok(LossyLink {
            addr,
            dropped,
            task,
        })
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Lets keyframe requests (PLI, FIR) and bitrate ceilings (REMB) reach the test publisher's
/// send tracks, so a test can see the SFU's; the default interceptor chain would swallow them.
#[derive(Default)]
struct KeyframeRequestTap {
    reads: std::collections::VecDeque<TaggedPacket>,
    writes: std::collections::VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets.iter().any(|p| {
                let any = p.as_any();
                any.is::<PictureLossIndication>()
                    || any.is::<FullIntraRequest>()
                    || any.is::<ReceiverEstimatedMaximumBitrate>()
            })
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for KeyframeRequestTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
