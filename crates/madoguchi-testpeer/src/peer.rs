//! One headless participant: [`TestPeer`], a `webrtc` 0.21 peer connection on 127.0.0.1 that
//! joins through a [`Signalling`], publishes synthetic VP8/Opus RTP, answers the SFU's offers,
//! and records what it observes in [`Observed`].

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use madoguchi_sfu::{
    CHAT_CHANNEL_LABEL, CloseReason, ForwardedTrack, IceCandidate, ParticipantEvent, ParticipantId,
    SfuError,
};
use rtc::interceptor::Slot;
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
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceErrorEvent,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    register_default_interceptors,
};

use crate::error::{PeerError, Result};
use crate::signalling::Signalling;
use crate::tap::KeyframeRequestTap;

/// Long enough for a loaded CI machine; conditions are polled, so a pass is fast.
pub const WAIT: Duration = Duration::from_secs(20);

/// A lock whose holder panicked still guards plain counters: use them rather than propagate
/// the panic into every later reader.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Poll `condition` until it holds or [`WAIT`] passes.
pub async fn wait_for(what: &str, condition: impl FnMut() -> bool) -> Result<()> {
    wait_for_within(what, WAIT, condition).await
}

/// Poll `condition` until it holds or `within` passes.
pub async fn wait_for_within(
    what: &str,
    within: Duration,
    mut condition: impl FnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + within;
    while !condition() {
        if Instant::now() > deadline {
            return Err(PeerError::Timeout(what.to_owned()));
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
    pub payload_types: BTreeSet<u8>,
    /// Every header extension seen on the stream: (id, payload).
    pub extensions: BTreeSet<(u8, Vec<u8>)>,
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
        // Extend the 16-bit counter: a jump back by more than half the range is a wrap.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publish {
    Audio,
    Video,
}

/// Which payload types a test peer's browser would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codecs {
    /// Chrome's and webrtc-rs's: VP8 96, Opus 111.
    Default,
    /// Firefox's: VP8 120, Opus 109. The SFU must translate between the two.
    FirefoxLike,
}

/// How a test peer is made: what it publishes and how it reaches the SFU.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    pub publish: Vec<Publish>,
    pub codecs: Codecs,
    /// STUN/TURN servers, as `RTCConfiguration.iceServers`.
    pub ice_servers: Vec<RTCIceServer>,
    /// `iceTransportPolicy: "relay"`: only relay (TURN) candidates are used.
    pub relay_only: bool,
    /// Text replaced in every SDP the SFU sends (e.g. its port by a relay's), so the peer
    /// sends its media elsewhere than the SFU's own address.
    pub candidate_rewrite: Option<(String, String)>,
    /// Trickle the peer's local candidates over signalling, as browsers do (the SFU is
    /// ICE-lite and learns addresses from the checks, so the tests need not).
    pub trickle: bool,
    /// How long [`TestPeer::join`] waits for the connection and the chat channel.
    pub connect_within: Duration,
}

impl PeerOptions {
    /// Default codecs, host candidates on 127.0.0.1 only.
    pub fn new(publish: &[Publish]) -> Self {
        Self {
            publish: publish.to_vec(),
            codecs: Codecs::Default,
            ice_servers: Vec::new(),
            relay_only: false,
            candidate_rewrite: None,
            trickle: false,
            connect_within: WAIT,
        }
    }
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
    candidates: mpsc::UnboundedSender<RTCPeerConnectionIceEvent>,
    observed: Arc<Observed>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        lock(&self.observed.local_candidates).push(event.candidate.typ.to_string());
        let _ = self.candidates.send(event);
    }

    async fn on_ice_candidate_error(&self, event: RTCPeerConnectionIceErrorEvent) {
        lock(&self.observed.candidate_errors).push((event.error_code, event.error_text));
    }
}

/// Everything a test peer observed, shared with its background tasks.
#[derive(Default)]
pub struct Observed {
    pub state: Mutex<Option<RTCPeerConnectionState>>,
    pub received: Mutex<HashMap<u32, StreamCount>>,
    /// When the first forwarded RTP packet arrived (join-to-first-media in the benchmark).
    pub first_media_at: Mutex<Option<Instant>>,
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
    pub closed: Mutex<Option<CloseReason>>,
    /// The types (`host`, `relay`, …) of the local candidates gathered, in order.
    pub local_candidates: Mutex<Vec<String>>,
    /// ICE candidate errors (STUN/TURN error code and text), e.g. a refused TURN allocation.
    pub candidate_errors: Mutex<Vec<(u16, String)>>,
}

/// A participant in a room, connected, with its background tasks.
pub struct TestPeer {
    pub id: ParticipantId,
    pub pc: Arc<dyn PeerConnection>,
    pub chat: Arc<dyn DataChannel>,
    pub sends: Vec<Arc<SendTrack>>,
    pub observed: Arc<Observed>,
    signalling: Arc<dyn Signalling>,
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

async fn build_pc(handler: Handler, options: &PeerOptions) -> Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    match options.codecs {
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
    let mut configuration =
        RTCConfigurationBuilder::new().with_ice_servers(options.ice_servers.clone());
    if options.relay_only {
        configuration = configuration.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    let pc = PeerConnectionBuilder::new()
        .with_configuration(configuration.build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// A send track before negotiation: the track, its SSRC, what it carries, its transceiver.
type PendingSend = (
    Arc<TrackLocalStaticRTP>,
    u32,
    Publish,
    Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
);

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
        .ok_or_else(|| PeerError::Unexpected("transceiver without sender".to_owned()))?;
    let parameters = sender.get_parameters().await?;
    let (codec, _) = codec_for(kind);
    let payload_type = parameters
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type))
        .map(|c| c.payload_type)
        .ok_or_else(|| {
            PeerError::Unexpected(format!(
                "no negotiated payload type for {}",
                codec.mime_type
            ))
        })?;
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

/// The offer a peer would send: its `chat` channel and one sendonly transceiver per track,
/// before any signalling (tests hand the offer to the SFU themselves to misbehave).
pub struct Prepared {
    pub id: ParticipantId,
    pub pc: Arc<dyn PeerConnection>,
    pub chat: Arc<dyn DataChannel>,
    pub offer_sdp: String,
    pub observed: Arc<Observed>,
    sends: Vec<PendingSend>,
    states: mpsc::UnboundedReceiver<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
    candidates: mpsc::UnboundedReceiver<RTCPeerConnectionIceEvent>,
}

pub async fn prepare(id: &str, publish: &[Publish]) -> Result<Prepared> {
    prepare_with(id, &PeerOptions::new(publish)).await
}

pub async fn prepare_with(id: &str, options: &PeerOptions) -> Result<Prepared> {
    let participant = ParticipantId::new(id)?;
    let (state_tx, states) = mpsc::unbounded_channel();
    let (track_tx, tracks) = mpsc::unbounded_channel();
    let (candidate_tx, candidates) = mpsc::unbounded_channel();
    let observed = Arc::new(Observed::default());
    let pc = build_pc(
        Handler {
            state: state_tx,
            tracks: track_tx,
            candidates: candidate_tx,
            observed: Arc::clone(&observed),
        },
        options,
    )
    .await?;
    let chat = pc.create_data_channel(CHAT_CHANNEL_LABEL, None).await?;
    let mut sends = Vec::new();
    for (index, kind) in options.publish.iter().enumerate() {
        sends.push(add_send_transceiver(&pc, id, index, *kind).await?);
    }
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer.clone()).await?;
    Ok(Prepared {
        id: participant,
        pc,
        chat,
        offer_sdp: offer.sdp,
        observed,
        sends,
        states,
        tracks,
        candidates,
    })
}

impl TestPeer {
    /// Join through `signalling` as `id`, and wait until connected with the chat channel open
    /// (for `options.connect_within`).
    pub async fn join(
        signalling: Arc<dyn Signalling>,
        id: &str,
        options: &PeerOptions,
    ) -> Result<TestPeer> {
        let peer = Self::join_unconnected(signalling, id, options).await?;
        peer.wait_connected(options.connect_within).await?;
        Ok(peer)
    }

    /// Join through `signalling` as `id` without waiting for the connection: for a peer
    /// that is expected never to connect, or whose connection time is measured by the caller.
    pub async fn join_unconnected(
        signalling: Arc<dyn Signalling>,
        id: &str,
        options: &PeerOptions,
    ) -> Result<TestPeer> {
        let prepared = prepare_with(id, options).await?;
        let (answer_sdp, events) = signalling.join(prepared.offer_sdp.clone()).await?;
        Self::finish_join(signalling, prepared, answer_sdp, events, options).await
    }

    /// Apply the SFU's answer and start the peer's tasks (media, chat, signalling).
    pub async fn finish_join(
        signalling: Arc<dyn Signalling>,
        prepared: Prepared,
        answer_sdp: String,
        mut events: mpsc::UnboundedReceiver<ParticipantEvent>,
        options: &PeerOptions,
    ) -> Result<TestPeer> {
        let candidate_rewrite = options.candidate_rewrite.clone();
        let rewrite = move |sdp: String| match &candidate_rewrite {
            Some((from, to)) => sdp.replace(from.as_str(), to),
            None => sdp,
        };
        let Prepared {
            id,
            pc,
            chat,
            observed,
            sends: prepared_sends,
            mut states,
            mut tracks,
            mut candidates,
            ..
        } = prepared;
        pc.set_remote_description(RTCSessionDescription::answer(rewrite(answer_sdp))?)
            .await?;
        let mut sends = Vec::new();
        for (track, ssrc, kind, transceiver) in prepared_sends {
            sends.push(Arc::new(
                negotiated_send(track, ssrc, kind, transceiver).await?,
            ));
        }

        let negotiating = Arc::new(tokio::sync::Mutex::new(()));
        let mut tasks = Vec::new();

        for send in &sends {
            tasks.push(tokio::spawn(watch_send_rtcp(
                Arc::clone(send),
                Arc::clone(&observed),
            )));
        }

        let state_observed = Arc::clone(&observed);
        tasks.push(tokio::spawn(async move {
            while let Some(state) = states.recv().await {
                *lock(&state_observed.state) = Some(state);
            }
        }));

        let track_observed = Arc::clone(&observed);
        tasks.push(tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                lock(&track_observed.remote_tracks).push(Arc::clone(&track));
                // Each track polled on its own task: the driver drops RTP if a queue fills.
                tokio::spawn(count_received(track, Arc::clone(&track_observed)));
            }
        }));

        let trickle_signalling = Arc::clone(&signalling);
        let trickle = options.trickle;
        tasks.push(tokio::spawn(async move {
            while let Some(event) = candidates.recv().await {
                if !trickle {
                    continue;
                }
                if let Ok(init) = event.candidate.to_json() {
                    let _ = trickle_signalling
                        .candidate(IceCandidate {
                            candidate: init.candidate,
                            sdp_mid: init.sdp_mid,
                            sdp_mline_index: init.sdp_mline_index,
                            username_fragment: init.username_fragment,
                        })
                        .await;
                }
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
                        lock(&chat_observed.chat).push(text);
                    }
                    DataChannelEvent::OnClose => break,
                    _ => {}
                }
            }
        }));

        // Signalling: answer the SFU's offers, as a browser would.
        let signalling_pc = Arc::clone(&pc);
        let answering = Arc::clone(&signalling);
        let signalling_observed = Arc::clone(&observed);
        let signalling_lock = Arc::clone(&negotiating);
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
                            answering.answer(request_id, answer.sdp).await?;
                            Ok(())
                        }
                        .await;
                        match answered {
                            Ok(()) => {
                                *lock(&signalling_observed.tracks) = tracks;
                                *lock(&signalling_observed.offers_answered) += 1;
                            }
                            Err(e) => lock(&signalling_observed.answer_errors).push(e.to_string()),
                        }
                    }
                    ParticipantEvent::Closed(reason) => {
                        *lock(&signalling_observed.closed) = Some(reason);
                    }
                    ParticipantEvent::Refused(error) => {
                        lock(&signalling_observed.refusals).push(error)
                    }
                    _ => {}
                }
            }
        }));

        Ok(TestPeer {
            id,
            pc,
            chat,
            sends,
            observed,
            signalling,
            negotiating,
            writers_running: Arc::new(AtomicBool::new(true)),
            tasks,
        })
    }

    /// Wait until the connection is up and the chat channel open.
    pub async fn wait_connected(&self, within: Duration) -> Result<()> {
        let observed = Arc::clone(&self.observed);
        wait_for_within(&format!("{} to connect", self.id), within, || {
            *lock(&observed.state) == Some(RTCPeerConnectionState::Connected)
        })
        .await?;
        wait_for_within(
            &format!("{}'s chat channel to open", self.id),
            within,
            || observed.chat_open.load(Ordering::SeqCst),
        )
        .await
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
            let step = u32::try_from(interval.as_millis())
                .unwrap_or(u32::MAX)
                .saturating_mul(90);
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // One payload shared by every packet: a VP8 payload descriptor (start of
            // partition) and a fake frame; `Bytes` clones without copying.
            let payload = Bytes::from(vec![0x10u8; payload_bytes]);
            while running.load(Ordering::SeqCst) && send.running.load(Ordering::SeqCst) {
                ticker.tick().await;
                let mut packet = rtp::Packet {
                    header: rtp::header::Header {
                        version: 2,
                        marker: true,
                        payload_type: send.payload_type,
                        sequence_number,
                        timestamp,
                        ssrc: send.ssrc,
                        ..Default::default()
                    },
                    payload: payload.clone(),
                };
                if let Some((id, mid)) = &send.mid_extension {
                    let _ = packet.header.set_extension(*id, mid.clone());
                }
                if send.track.write_rtp(packet).await.is_err() {
                    continue;
                }
                sequence_number = sequence_number.wrapping_add(1);
                timestamp = timestamp.wrapping_add(step);
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
            match self.signalling.offer(offer.sdp).await {
                Ok(answer) => {
                    self.pc
                        .set_remote_description(RTCSessionDescription::answer(answer)?)
                        .await?;
                    return Ok(());
                }
                Err(e) if e.is_glare() => {
                    let mut rollback = RTCSessionDescription::default();
                    rollback.sdp_type = webrtc::peer_connection::RTCSdpType::Rollback;
                    self.pc.set_local_description(rollback).await?;
                    drop(guard);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(PeerError::Unexpected(format!(
            "{}: the SFU kept answering glare",
            self.id
        )))
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
            .ok_or_else(|| PeerError::Unexpected(format!("no send track {ssrc}")))?;
        let send = self.sends.remove(index);
        send.running.store(false, Ordering::SeqCst);
        self.pc.remove_track(&send.sender).await?;
        self.renegotiate(false).await
    }

    pub fn stop_writers(&self) {
        self.writers_running.store(false, Ordering::SeqCst);
    }

    pub fn received_from(&self, ssrc: u32) -> StreamCount {
        lock(&self.observed.received)
            .get(&ssrc)
            .cloned()
            .unwrap_or_default()
    }

    /// Packets received and lost over every stream this peer receives.
    pub fn received_totals(&self) -> (u64, u64) {
        lock(&self.observed.received)
            .values()
            .fold((0, 0), |(received, lost), count| {
                (received + count.received, lost + count.lost())
            })
    }

    pub fn first_media_at(&self) -> Option<Instant> {
        *lock(&self.observed.first_media_at)
    }

    pub fn chat_messages(&self) -> Vec<String> {
        lock(&self.observed.chat).clone()
    }

    pub fn refusals(&self) -> Vec<SfuError> {
        lock(&self.observed.refusals).clone()
    }

    pub fn forwarded_tracks(&self) -> Vec<ForwardedTrack> {
        lock(&self.observed.tracks).clone()
    }

    pub fn keyframe_requests_for(&self, ssrc: u32) -> u64 {
        lock(&self.observed.keyframe_requests)
            .get(&ssrc)
            .copied()
            .unwrap_or(0)
    }

    /// Ask, as a subscriber's decoder would, for a keyframe of the stream `ssrc`.
    pub async fn request_keyframe(&self, ssrc: u32) -> Result<()> {
        let tracks = lock(&self.observed.remote_tracks).clone();
        let mut found = None;
        for track in tracks {
            if track.ssrcs().await.contains(&ssrc) {
                found = Some(track);
                break;
            }
        }
        let track = found
            .ok_or_else(|| PeerError::Unexpected(format!("{} has no track for {ssrc}", self.id)))?;
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
                return u8::try_from(extension.id)
                    .map_err(|_| PeerError::Unexpected(format!("extension id {}", extension.id)));
            }
        }
        Err(PeerError::Unexpected(format!(
            "{} negotiated no {uri}",
            self.id
        )))
    }

    /// The type (`host`, `srflx`, `prflx`, `relay`) of the local candidate of the selected
    /// candidate pair, from the connection's statistics; `None` before one is selected.
    pub async fn selected_local_candidate_type(&self) -> Option<String> {
        use webrtc::peer_connection::{RTCStatsReportEntry, StatsSelector};
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let pair_id = report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::Transport(transport)
                if !transport.selected_candidate_pair_id.is_empty() =>
            {
                Some(transport.selected_candidate_pair_id.clone())
            }
            _ => None,
        })?;
        let local_id = match report.get(&pair_id)? {
            RTCStatsReportEntry::IceCandidatePair(pair) => pair.local_candidate_id.clone(),
            _ => return None,
        };
        // The pair names the agent's candidate id; the report keys local candidates as
        // `RTCLocalIceCandidate_<id>` (rtc 0.21's stats accumulator).
        let entry = report
            .get(&format!("RTCLocalIceCandidate_{local_id}"))
            .or_else(|| report.get(&local_id))?;
        match entry {
            RTCStatsReportEntry::LocalCandidate(candidate) => {
                Some(candidate.candidate_type.to_string())
            }
            _ => None,
        }
    }

    /// The types of the local candidates gathered so far.
    pub fn local_candidate_types(&self) -> Vec<String> {
        lock(&self.observed.local_candidates).clone()
    }

    pub fn state(&self) -> Option<RTCPeerConnectionState> {
        *lock(&self.observed.state)
    }

    pub async fn send_chat(&self, text: &str) -> Result<()> {
        self.chat.send_text(text).await?;
        Ok(())
    }

    /// Client-initiated ICE restart, as `pc.restartIce()` then the usual offer.
    pub async fn restart_ice(&self) -> Result<()> {
        self.renegotiate(true).await
    }

    /// The ICE username fragment of the peer's current local description.
    pub async fn local_ufrag(&self) -> Option<String> {
        let description = self.pc.local_description().await?;
        description
            .sdp
            .lines()
            .find_map(|line| line.strip_prefix("a=ice-ufrag:"))
            .map(str::to_owned)
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

    /// Leave through signalling, then close the connection and stop every task, even when
    /// the signalling call failed (the first error is returned).
    pub async fn leave(self) -> Result<()> {
        self.stop_writers();
        let left = self.signalling.leave().await;
        let closed = self.pc.close().await;
        for task in &self.tasks {
            task.abort();
        }
        left?;
        closed?;
        Ok(())
    }
}

/// Records the keyframe requests and bitrate ceilings that reach one send track.
async fn watch_send_rtcp(send: Arc<SendTrack>, observed: Arc<Observed>) {
    while let Some(event) = send.track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        for packet in packets {
            let any = packet.as_any();
            if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                lock(&observed.bitrate_caps).push(remb.bitrate);
                continue;
            }
            let ssrc = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                pli.media_ssrc
            } else if any.is::<FullIntraRequest>() {
                send.ssrc
            } else {
                continue;
            };
            *lock(&observed.keyframe_requests).entry(ssrc).or_default() += 1;
        }
    }
}

/// Counts the RTP packets of one received track, per SSRC.
async fn count_received(track: Arc<dyn TrackRemote>, observed: Arc<Observed>) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                lock(&observed.received)
                    .entry(packet.header.ssrc)
                    .or_default()
                    .record(&packet.header);
                let mut first = lock(&observed.first_media_at);
                if first.is_none() {
                    *first = Some(Instant::now());
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
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
