//! The LINE webhook and reply side of the city's official account: checking `X-Line-Signature`,
//! reading webhook events into [`LineEvent`], and answering a message through the reply
//! endpoint (`POST {base_url}/v2/bot/message/reply`).
//!
//! Wire types stay in this module, as in [`crate::line`]. Nothing here logs or puts into an
//! error a user id, a reply token, a message text or a secret; [`LineEvent`] redacts itself in
//! `Debug`.

use crate::NotifyError;
use crate::line::{LineConfig, TEXT_MAX_UTF16, truncate_utf16};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

/// The reply endpoint, relative to the base URL.
pub const REPLY_PATH: &str = "/v2/bot/message/reply";
/// The header that carries the signature of a webhook request.
pub const SIGNATURE_HEADER: &str = "x-line-signature";
/// A reply token is good for about a minute; a reply that takes longer is pointless.
const REPLY_TIMEOUT_S: u64 = 10;

/// `X-Line-Signature` of `body`: the base64 HMAC-SHA256 of the raw body, keyed with the
/// channel secret.
pub fn signature(channel_secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this never fails; the fallback keeps it total.
    match Hmac::<Sha256>::new_from_slice(channel_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Whether `header` is the signature of `body` under `channel_secret`, compared in constant
/// time. An empty secret never verifies.
pub fn verify_signature(channel_secret: &str, body: &[u8], header: &str) -> bool {
    if channel_secret.is_empty() {
        return false;
    }
    let Ok(claimed) = STANDARD.decode(header.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(channel_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&claimed).is_ok()
}

/// One webhook event, in our terms. Events the server has no use for are `Other`.
#[derive(Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A user wrote a text message to the official account in a one-to-one chat.
    Text {
        user_id: String,
        reply_token: Option<String>,
        text: String,
    },
    /// A user added the official account as a friend (or unblocked it).
    Follow {
        user_id: String,
        reply_token: Option<String>,
    },
    /// A user blocked the official account.
    Unfollow {
        user_id: String,
    },
    Other,
}

impl LineEvent {
    /// A stable name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            LineEvent::Text { .. } => "text",
            LineEvent::Follow { .. } => "follow",
            LineEvent::Unfollow { .. } => "unfollow",
            LineEvent::Other => "other",
        }
    }
}

impl std::fmt::Debug for LineEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user id, the reply token and the text are personal data.
        f.write_str(self.kind())
    }
}

/// Why a webhook body could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is not LINE's JSON")]
    Malformed,
}

#[derive(Deserialize)]
struct WebhookBody {
    #[serde(default)]
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default, rename = "replyToken")]
    reply_token: Option<String>,
    #[serde(default)]
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, rename = "userId")]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// Reads the events of a webhook body (`{"destination": ..., "events": [...]}`). An event this
/// module does not understand becomes [`LineEvent::Other`] rather than failing the batch; only
/// a body that is not the webhook's JSON at all is an error. LINE's "Verify" request has no
/// events.
pub fn parse_events(body: &[u8]) -> Result<Vec<LineEvent>, WebhookError> {
    let body: WebhookBody = serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
    Ok(body.events.into_iter().map(event_of).collect())
}

fn event_of(value: serde_json::Value) -> LineEvent {
    let Ok(raw) = serde_json::from_value::<RawEvent>(value) else {
        return LineEvent::Other;
    };
    // Only one-to-one chats: a code sent in a group would be read by everyone in it.
    let user_id = match raw.source {
        Some(RawSource {
            kind,
            user_id: Some(user_id),
        }) if kind == "user" && !user_id.is_empty() => user_id,
        _ => return LineEvent::Other,
    };
    let reply_token = raw.reply_token.filter(|t| !t.is_empty());
    match raw.kind.as_str() {
        "message" => match raw.message {
            Some(RawMessage {
                kind,
                text: Some(text),
            }) if kind == "text" => LineEvent::Text {
                user_id,
                reply_token,
                text,
            },
            _ => LineEvent::Other,
        },
        "follow" => LineEvent::Follow {
            user_id,
            reply_token,
        },
        "unfollow" => LineEvent::Unfollow { user_id },
        _ => LineEvent::Other,
    }
}

/// Answers messages through the reply endpoint of one tenant's official account. Replies are
/// free of charge, unlike pushes, and need the reply token of the event.
pub struct LineReplier {
    client: reqwest::Client,
    reply_url: String,
    token: SecretString,
}

impl std::fmt::Debug for LineReplier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReplier")
            .field("reply_url", &self.reply_url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ReplyRequest<'a> {
    #[serde(rename = "replyToken")]
    reply_token: &'a str,
    messages: [TextMessage<'a>; 1],
}

#[derive(Serialize)]
struct TextMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

impl LineReplier {
    pub fn new(config: LineConfig) -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(
                config.timeout_s.clamp(1, REPLY_TIMEOUT_S),
            ))
            // The token must never follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Permanent(format!("LINE client: {e}")))?;
        Ok(Self {
            client,
            reply_url: format!("{}{REPLY_PATH}", config.base_url.trim_end_matches('/')),
            token: config.channel_access_token,
        })
    }

    /// Sends one text message as the reply to the event of `reply_token`.
    pub async fn reply(&self, reply_token: &str, text: &str) -> Result<(), NotifyError> {
        let text = truncate_utf16(text, TEXT_MAX_UTF16);
        let body = ReplyRequest {
            reply_token,
            messages: [TextMessage {
                kind: "text",
                text: &text,
            }],
        };
        let response = self
            .client
            .post(&self.reply_url)
            .bearer_auth(self.token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| NotifyError::Transient(format!("LINE reply: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("LINE reply: HTTP {}", status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(NotifyError::Transient(message))
        } else {
            Err(NotifyError::Permanent(message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a5b3c1d9e7f0a2b4c6d8e0f1a3b5c7d9";

    #[test]
    fn the_signature_is_base64_hmac_sha256_of_the_raw_body() {
        // Computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64
        let body = r#"{"destination":"Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","events":[]}"#;
        assert_eq!(
            signature(SECRET, body.as_bytes()),
            "YvRK5flxVZ7FN1zvJLGCjoHxd+QLs+QBHRBNbSg1B7A="
        );
        let japanese =
            r#"{"events":[{"type":"message","message":{"type":"text","text":"こんにちは"}}]}"#;
        assert_eq!(
            signature(SECRET, japanese.as_bytes()),
            "qMxz4wd+5vFaHZBx8exEwAM1NeFL/HfZnAfIjYSNXaY="
        );
    }

    #[test]
    fn only_the_exact_signature_of_the_exact_body_verifies() {
        let body = br#"{"events":[]}"#;
        let good = signature(SECRET, body);
        assert!(verify_signature(SECRET, body, &good));
        assert!(!verify_signature(SECRET, br#"{"events": []}"#, &good));
        assert!(!verify_signature("another-secret", body, &good));
        assert!(!verify_signature(SECRET, body, "not base64!"));
        assert!(!verify_signature(SECRET, body, ""));
        assert!(!verify_signature("", body, &signature("", body)));
    }

    #[test]
    fn events_are_read_into_our_terms() {
        let body = br#"{"destination":"Ubot","events":[
            {"type":"message","replyToken":"rt1","source":{"type":"user","userId":"U1"},
             "message":{"type":"text","id":"1","text":"ABCD-2345"},"webhookEventId":"e1",
             "deliveryContext":{"isRedelivery":false},"timestamp":1,"mode":"active"},
            {"type":"message","replyToken":"rt2","source":{"type":"group","groupId":"G","userId":"U2"},
             "message":{"type":"text","id":"2","text":"ABCD-2345"}},
            {"type":"message","replyToken":"rt3","source":{"type":"user","userId":"U3"},
             "message":{"type":"sticker","id":"3","packageId":"1","stickerId":"1"}},
            {"type":"follow","replyToken":"rt4","source":{"type":"user","userId":"U4"}},
            {"type":"unfollow","source":{"type":"user","userId":"U5"}},
            {"type":"beacon","source":{"type":"user","userId":"U6"}},
            {"no":"type"}
        ]}"#;
        let events = parse_events(body).unwrap();
        assert_eq!(
            events,
            vec![
                LineEvent::Text {
                    user_id: "U1".into(),
                    reply_token: Some("rt1".into()),
                    text: "ABCD-2345".into()
                },
                LineEvent::Other,
                LineEvent::Other,
                LineEvent::Follow {
                    user_id: "U4".into(),
                    reply_token: Some("rt4".into())
                },
                LineEvent::Unfollow {
                    user_id: "U5".into()
                },
                LineEvent::Other,
                LineEvent::Other,
            ]
        );
    }

    #[test]
    fn the_verify_request_has_no_events_and_garbage_is_an_error() {
        assert_eq!(
            parse_events(br#"{"destination":"U","events":[]}"#).unwrap(),
            vec![]
        );
        assert_eq!(parse_events(b"not json"), Err(WebhookError::Malformed));
    }

    #[test]
    fn debug_of_an_event_hides_the_user_and_the_text() {
        let event = LineEvent::Text {
            user_id: "U1234secret".into(),
            reply_token: Some("token".into()),
            text: "ABCD-2345".into(),
        };
        let debug = format!("{event:?}");
        assert!(
            !debug.contains("U1234") && !debug.contains("ABCD"),
            "{debug}"
        );
    }
}
