//! Rewriting a publisher's RTP packet for one subscriber's leg.
//!
//! Each leg negotiates its own payload types and header-extension ids, so a packet is forwarded
//! with the subscriber's payload type for the same codec, its extensions renumbered by URI
//! (those the subscriber did not negotiate dropped, and transport-cc, which only means something
//! on the publisher's transport), and `sdes:mid` set to the subscriber's mid.
//! The SSRC, sequence numbers and timestamps pass unchanged: without simulcast, one publisher
//! stream maps to one stream per subscriber, and a subscriber's PLI names the publisher's SSRC.

use bytes::Bytes;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters,
};
use rtc::sdp::extmap::{SDES_MID_URI, TRANSPORT_CC_URI};

/// How packets of one publication are rewritten for one leg, computed once per negotiation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LegTranslation {
    /// (publisher's payload type, subscriber's payload type) for every codec both negotiated.
    payload_types: Vec<(u8, u8)>,
    /// (publisher's extension id, subscriber's extension id, carries `sdes:mid`).
    extensions: Vec<(u8, u8, bool)>,
    /// The subscriber's mid for this leg, written into `sdes:mid`.
    mid: Bytes,
}

fn same_codec(a: &RTCRtpCodec, b: &RTCRtpCodec) -> bool {
    a.mime_type.eq_ignore_ascii_case(&b.mime_type) && a.sdp_fmtp_line == b.sdp_fmtp_line
}

impl LegTranslation {
    pub(crate) fn new(
        publisher_codecs: &[RTCRtpCodecParameters],
        publisher_extensions: &[RTCRtpHeaderExtensionParameters],
        subscriber_codecs: &[RTCRtpCodecParameters],
        subscriber_extensions: &[RTCRtpHeaderExtensionParameters],
        subscriber_mid: &str,
    ) -> Self {
        let payload_types = publisher_codecs
            .iter()
            .filter_map(|inbound| {
                // The same codec with the same parameters first; then the same codec at all
                // (fmtp spelling differs between browsers for identical Opus settings).
                let outbound = subscriber_codecs
                    .iter()
                    .find(|c| same_codec(&c.rtp_codec, &inbound.rtp_codec))
                    .or_else(|| {
                        subscriber_codecs.iter().find(|c| {
                            c.rtp_codec
                                .mime_type
                                .eq_ignore_ascii_case(&inbound.rtp_codec.mime_type)
                        })
                    })?;
                Some((inbound.payload_type, outbound.payload_type))
            })
            .collect();
        let extensions = publisher_extensions
            .iter()
            // Transport-wide sequence numbers count the publisher's transport: on another
            // transport they mean nothing, and the subscriber's feedback about them would too.
            .filter(|inbound| inbound.uri != TRANSPORT_CC_URI)
            .filter_map(|inbound| {
                let outbound = subscriber_extensions
                    .iter()
                    .find(|e| e.uri == inbound.uri)?;
                let inbound_id = u8::try_from(inbound.id).ok()?;
                let outbound_id = u8::try_from(outbound.id).ok()?;
                Some((inbound_id, outbound_id, outbound.uri == SDES_MID_URI))
            })
            .collect();
        Self {
            payload_types,
            extensions,
            mid: Bytes::copy_from_slice(subscriber_mid.as_bytes()),
        }
    }

    /// The packet as this leg must carry it, or `None` if the leg negotiated no codec for its
    /// payload type (then it cannot be forwarded on this leg at all).
    pub(crate) fn translate(&self, packet: &rtp::Packet) -> Option<rtp::Packet> {
        let inbound_pt = packet.header.payload_type;
        let outbound_pt = self
            .payload_types
            .iter()
            .find(|(inbound, _)| *inbound == inbound_pt)?
            .1;
        let mut out = packet.clone();
        out.header.payload_type = outbound_pt;
        if out.header.extension {
            let ids = out.header.get_extension_ids();
            let mut renumbered: Vec<(u8, Bytes)> = Vec::with_capacity(ids.len());
            for id in &ids {
                let Some(&(_, outbound_id, is_mid)) =
                    self.extensions.iter().find(|(inbound, _, _)| inbound == id)
                else {
                    continue;
                };
                let payload = if is_mid {
                    self.mid.clone()
                } else {
                    match out.header.get_extension(*id) {
                        Some(payload) => payload,
                        None => continue,
                    }
                };
                renumbered.push((outbound_id, payload));
            }
            // Through the header's own API, so its padding and profile stay consistent; all
            // removed first, because one extension's new id may be another's old one.
            for id in ids {
                let _ = out.header.del_extension(id);
            }
            for (id, payload) in renumbered {
                let _ = out.header.set_extension(id, payload);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::sdp::extmap::TRANSPORT_CC_URI;

    fn codec(mime: &str, fmtp: &str, payload_type: u8) -> RTCRtpCodecParameters {
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: mime.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: fmtp.to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type,
        }
    }

    fn extension(uri: &str, id: u16) -> RTCRtpHeaderExtensionParameters {
        RTCRtpHeaderExtensionParameters {
            uri: uri.to_owned(),
            id,
            encrypted: false,
        }
    }

    fn packet_with(payload_type: u8, extensions: &[(u8, &'static [u8])]) -> rtp::Packet {
        let mut packet = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type,
                ssrc: 7,
                ..Default::default()
            },
            payload: Bytes::from_static(b"frame"),
        };
        for (id, payload) in extensions {
            packet
                .header
                .set_extension(*id, Bytes::from_static(payload))
                .unwrap();
        }
        packet
    }

    #[test]
    fn payload_type_and_extension_ids_are_rewritten_mid_replaced_and_transport_cc_dropped() {
        const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
        let leg = LegTranslation::new(
            &[codec("video/VP8", "", 120)],
            &[
                extension(TRANSPORT_CC_URI, 1),
                extension(SDES_MID_URI, 2),
                extension("urn:x", 3),
                extension(AUDIO_LEVEL_URI, 5),
            ],
            &[codec("video/VP8", "", 96)],
            &[
                extension(SDES_MID_URI, 1),
                extension(AUDIO_LEVEL_URI, 3),
                extension(TRANSPORT_CC_URI, 4),
            ],
            "7",
        );
        let out = leg
            .translate(&packet_with(
                120,
                &[(1, b"\x00\x01"), (2, b"0"), (3, b"zz"), (5, b"\x2a")],
            ))
            .unwrap();
        assert_eq!(out.header.payload_type, 96);
        assert_eq!(out.header.get_extension(3).as_deref(), Some(&b"\x2a"[..]));
        assert_eq!(out.header.get_extension(1).as_deref(), Some(&b"7"[..]));
        assert_eq!(
            out.header.get_extension(4),
            None,
            "transport-cc is per transport"
        );
        assert_eq!(
            out.header.get_extension_ids().len(),
            2,
            "urn:x was not negotiated by the subscriber"
        );
        assert_eq!(out.payload, Bytes::from_static(b"frame"));
    }

    #[test]
    fn a_payload_type_the_subscriber_did_not_negotiate_is_not_forwarded() {
        let leg = LegTranslation::new(
            &[codec("video/VP8", "", 96)],
            &[],
            &[codec("video/VP9", "", 98)],
            &[],
            "1",
        );
        assert!(leg.translate(&packet_with(96, &[])).is_none());
    }
}
