//! Chat over the `chat` data channel: what a participant may send, and what the others receive.
//!
//! A client sends plain UTF-8 text on its `chat` channel; every other participant of the room
//! receives `{"from":"<participant id>","text":"…"}` on theirs. The sender never gets its own
//! message back. Too large, not text, or too fast: refused with a specific error, to the sender only.
//! There is no backlog: a participant whose channel is not open yet misses the message on it
//! (the `ParticipantEvent::Chat` given to its signalling still carries it).

use std::time::Instant;

use serde::Serialize;

use crate::error::SfuError;
use crate::ids::ParticipantId;

/// The label of the data channel clients open for chat.
pub const CHAT_CHANNEL_LABEL: &str = "chat";

/// A token bucket: `per_s` messages per second sustained, `burst` at once.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    tokens: f64,
    burst: f64,
    per_s: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    pub(crate) fn new(now: Instant, per_s: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            tokens: burst,
            burst,
            per_s,
            refilled_at: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed_s = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed_s * self.per_s).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    from: &'a str,
    text: &'a str,
}

/// Check one incoming message and return its text. The size limit applies before decoding so a
/// flood of large messages costs as little as possible.
pub(crate) fn accept_message(data: &[u8], bytes_max: usize) -> Result<String, SfuError> {
    if data.len() > bytes_max {
        return Err(SfuError::MessageTooLarge(data.len()));
    }
    let text = std::str::from_utf8(data).map_err(|_| SfuError::MessageInvalid)?;
    if text.trim().is_empty() {
        return Err(SfuError::MessageInvalid);
    }
    Ok(text.to_owned())
}

/// What the other participants receive on their chat channel.
pub(crate) fn envelope(from: &ParticipantId, text: &str) -> String {
    // Serialising two strings cannot fail; fall back to an empty object rather than panic.
    serde_json::to_string(&Envelope {
        from: from.as_str(),
        text,
    })
    .unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_allowed_then_messages_are_refused_until_tokens_refill() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(start, 2.0, 3);
        assert!((0..3).all(|_| limiter.try_take(start)));
        assert!(!limiter.try_take(start));
        assert!(limiter.try_take(start + Duration::from_millis(600)));
        assert!(!limiter.try_take(start + Duration::from_millis(600)));
    }

    #[test]
    fn oversized_or_binary_or_blank_messages_are_refused() {
        assert_eq!(
            accept_message(&[b'a'; 11], 10),
            Err(SfuError::MessageTooLarge(11))
        );
        assert_eq!(
            accept_message(&[0xff, 0xfe], 10),
            Err(SfuError::MessageInvalid)
        );
        assert_eq!(accept_message(b"  ", 10), Err(SfuError::MessageInvalid));
        assert_eq!(
            accept_message("こんにちは".as_bytes(), 64).as_deref(),
            Ok("こんにちは")
        );
    }

    #[test]
    fn the_envelope_names_the_sender_and_escapes_the_text() {
        let from = ParticipantId::new("p1").unwrap();
        assert_eq!(
            envelope(&from, "say \"hi\""),
            r#"{"from":"p1","text":"say \"hi\""}"#
        );
    }
}
