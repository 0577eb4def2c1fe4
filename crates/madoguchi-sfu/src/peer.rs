//! How the SFU's side of one participant's connection is built: codecs, interceptors, ICE-lite.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_RTX, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::error::{Error, Result};

/// Build the connection for one participant.
///
/// ICE-lite: the SFU has one public address and never probes; the client (full ICE) finds it
/// and the SFU learns the client's address from its checks. The SFU answers `a=setup:passive`
/// so the client starts DTLS (rtc's default answer role, `active`, deadlocks with lite ICE).
/// mDNS is off: a lite agent never needs the client's (possibly `.local`) candidates, and a
/// query would leave through our socket to a multicast group whose answer never comes back.
pub(crate) fn build_peer_connection(
    now: Instant,
    ufrag: String,
    pwd: String,
) -> Result<RTCPeerConnection> {
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_ice_credentials(ufrag, pwd)
        .build();

    let mut media_engine = MediaEngine::default();
    register_forwardable_codecs(&mut media_engine)?;
    // NACK responder/generator, RTCP reports and TWCC feedback run per leg; the keyframe tap
    // sits app-most so it sees what the chain would otherwise swallow.
    let registry = register_default_interceptors(Registry::new(), &mut media_engine)?
        .with(Slot::Custom(14_000), KeyframeRequestTap::default());

    RTCPeerConnectionBuilder::new()
        .with_media_engine(media_engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .build(now)
}

/// Only Opus and VP8 (with RTX): the SFU cannot transcode, so every leg of a room must land on
/// the same codec, and offering more would let browsers pick VP9/AV1/H264 per leg.
fn register_forwardable_codecs(media_engine: &mut MediaEngine) -> Result<()> {
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    let feedback = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![
                    feedback("goog-remb", ""),
                    feedback("ccm", "fir"),
                    feedback("nack", ""),
                    feedback("nack", "pli"),
                ],
            },
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )?;
    // Browsers drop RTX for a primary codec that has none paired with it.
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RTX.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: "apt=96".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 97,
        },
        RtpCodecKind::Video,
    )?;
    Ok(())
}

/// Whether an RTCP packet asks for a keyframe.
pub(crate) fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// Lets subscribers' keyframe requests (PLI, FIR) reach the SFU, which relays them to the
/// publisher. The interceptor chain ends inbound RTCP at its terminus unless a packet is marked
/// for the application; everything else (reports, NACK, TWCC) is left to the chain.
#[derive(Default)]
struct KeyframeRequestTap {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<()> {
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets.iter().any(|p| is_keyframe_request(p.as_ref()))
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    // Every interceptor must hand back what it is given, or the write path loses packets.
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<()> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }

    fn close(&mut self) -> Result<()> {
        self.reads.clear();
        self.writes.clear();
        Ok(())
    }
}

impl Interceptor for KeyframeRequestTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
