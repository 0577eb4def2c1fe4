//! Checks on a participant's SDP before it touches the participant's connection: it must parse,
//! stay within a size limit, and publish no more than the participant's grant allows.

use rtc::peer_connection::sdp::{RTCSdpType, RTCSessionDescription};

use crate::error::SfuError;
use crate::grant::Grant;

/// Browsers' offers for a few tracks are 3–10 KiB; anything far larger is refused unparsed.
pub(crate) const SDP_BYTES_MAX: usize = 64 * 1024;

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
    if video_sending > usize::from(grant.video_tracks_max) {
        return Err(SfuError::NotAllowed("publishing this many video tracks"));
    }
    Ok(())
}
