//! Checks on a participant's SDP before it touches the participant's connection: it must parse,
//! stay within a size limit, and publish no more than the participant's grant allows.

use rtc::peer_connection::sdp::{RTCSdpType, RTCSessionDescription};

use crate::error::SfuError;
use crate::grant::Grant;

/// Browsers' offers for a few tracks are 3–10 KiB; anything far larger is refused unparsed.
pub(crate) const SDP_BYTES_MAX: usize = 64 * 1024;
/// Media sections in one offer. Each costs the SFU a transceiver; a full room of 8 with 4
/// tracks each needs 32 (the client's own and those forwarded to it).
pub(crate) const MEDIA_SECTIONS_MAX: usize = 64;
/// Audio tracks one participant may send: a microphone, and a second one (e.g. an interpreter's
/// device at the same desk). More is a misbehaving client, not a use case.
pub(crate) const AUDIO_TRACKS_MAX: usize = 2;

/// Parse an SDP of the given type, refusing it with `sdp_invalid` if it does not parse.
pub(crate) fn parse(sdp_type: RTCSdpType, sdp: String) -> Result<RTCSessionDescription, SfuError> {
    if sdp.len() > SDP_BYTES_MAX {
        return Err(SfuError::SdpInvalid(format!(
            "larger than {SDP_BYTES_MAX} bytes"
        )));
    }
    let parsed = match sdp_type {
        RTCSdpType::Answer => RTCSessionDescription::answer(sdp),
        _ => RTCSessionDescription::offer(sdp),
    };
    let description = parsed.map_err(|e| SfuError::SdpInvalid(e.to_string()))?;
    let media = description
        .unmarshal()
        .map_err(|e| SfuError::SdpInvalid(e.to_string()))?
        .media_descriptions;
    if media.is_empty() {
        return Err(SfuError::SdpInvalid("no media sections".to_owned()));
    }
    if media.len() > MEDIA_SECTIONS_MAX {
        return Err(SfuError::SdpInvalid(format!(
            "more than {MEDIA_SECTIONS_MAX} media sections"
        )));
    }
    // Simulcast layers carry no `a=ssrc` and would need layer selection per subscriber; until
    // the SFU does that, refusing them is better than forwarding nothing (a black tile).
    if media.iter().any(|m| m.attribute("simulcast").is_some()) {
        return Err(SfuError::SdpInvalid(
            "simulcast is not supported yet".to_owned(),
        ));
    }
    Ok(description)
}

/// Refuse an offer that sends media the grant does not allow. Sections the client only
/// receives on (the tracks the SFU forwards to it) and rejected sections (port 0) don't count.
pub(crate) fn check_grant(offer: &RTCSessionDescription, grant: &Grant) -> Result<(), SfuError> {
    let parsed = offer
        .unmarshal()
        .map_err(|e| SfuError::SdpInvalid(e.to_string()))?;
    let mut audio_sending = 0usize;
    let mut video_sending = 0usize;
    for media in &parsed.media_descriptions {
        if media.media_name.port.value == 0 {
            continue;
        }
        let receives_only =
            media.attribute("recvonly").is_some() || media.attribute("inactive").is_some();
        if receives_only {
            continue;
        }
        match media.media_name.media.as_str() {
            "audio" => audio_sending += 1,
            "video" => video_sending += 1,
            _ => {}
        }
    }
    if audio_sending > 0 && !grant.publish_audio {
        return Err(SfuError::NotAllowed("publishing audio"));
    }
    if audio_sending > AUDIO_TRACKS_MAX {
        return Err(SfuError::NotAllowed("publishing this many audio tracks"));
    }
    if video_sending > usize::from(grant.video_tracks_max) {
        return Err(SfuError::NotAllowed("publishing this many video tracks"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal offer: one section per (kind, direction), as a browser would write them.
    fn offer(sections: &[(&str, &str)], extra: &str) -> String {
        let mut sdp =
            String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE");
        for mid in 0..sections.len() {
            sdp.push_str(&format!(" {mid}"));
        }
        sdp.push_str("\r\n");
        for (mid, (kind, direction)) in sections.iter().enumerate() {
            let pt = if *kind == "audio" { 111 } else { 96 };
            sdp.push_str(&format!(
                "m={kind} 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 0.0.0.0\r\na=mid:{mid}\r\na={direction}\r\n{extra}"
            ));
        }
        sdp
    }

    #[test]
    fn sending_more_than_the_grant_allows_is_not_allowed() {
        let grant = Grant {
            publish_audio: false,
            video_tracks_max: 1,
            chat: true,
        };
        let two_cameras = parse(
            RTCSdpType::Offer,
            offer(&[("video", "sendonly"), ("video", "sendrecv")], ""),
        )
        .unwrap();
        assert_eq!(
            check_grant(&two_cameras, &grant),
            Err(SfuError::NotAllowed("publishing this many video tracks"))
        );
        let three_microphones =
            parse(RTCSdpType::Offer, offer(&[("audio", "sendonly"); 3], "")).unwrap();
        assert_eq!(
            check_grant(&three_microphones, &Grant::FULL),
            Err(SfuError::NotAllowed("publishing this many audio tracks"))
        );
        let microphone = parse(RTCSdpType::Offer, offer(&[("audio", "sendonly")], "")).unwrap();
        assert_eq!(
            check_grant(&microphone, &grant),
            Err(SfuError::NotAllowed("publishing audio"))
        );
    }

    #[test]
    fn receiving_sections_do_not_count_against_the_grant() {
        let forwarded_to_me = parse(
            RTCSdpType::Offer,
            offer(
                &[
                    ("video", "sendonly"),
                    ("video", "recvonly"),
                    ("audio", "inactive"),
                ],
                "",
            ),
        )
        .unwrap();
        let grant = Grant {
            publish_audio: false,
            video_tracks_max: 1,
            chat: false,
        };
        assert_eq!(check_grant(&forwarded_to_me, &grant), Ok(()));
    }

    #[test]
    fn simulcast_crowded_and_oversized_offers_are_refused() {
        let simulcast = offer(&[("video", "sendonly")], "a=simulcast:send q;h;f\r\n");
        assert!(matches!(
            parse(RTCSdpType::Offer, simulcast),
            Err(SfuError::SdpInvalid(reason)) if reason.contains("simulcast")
        ));
        let crowded = offer(&[("video", "recvonly"); MEDIA_SECTIONS_MAX + 1], "");
        assert!(matches!(
            parse(RTCSdpType::Offer, crowded),
            Err(SfuError::SdpInvalid(reason)) if reason.contains("media sections")
        ));
        let huge = offer(
            &[("video", "sendonly")],
            &"a=x\r\n".repeat(SDP_BYTES_MAX / 4),
        );
        assert!(matches!(
            parse(RTCSdpType::Offer, huge),
            Err(SfuError::SdpInvalid(_))
        ));
    }
}
