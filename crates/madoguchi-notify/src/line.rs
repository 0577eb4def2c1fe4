//! The LINE channel: the Messaging API push endpoint of the city's LINE official account
//! (`POST {base_url}/v2/bot/message/push`, bearer channel access token, one text message).
//!
//! Each tenant has its own official account, so its own channel access token and its own user
//! ids: build one `LineNotifier` per tenant. Every push carries `X-Line-Retry-Key` (the
//! notification's delivery id), so when a job is retried after a timeout LINE accepts the push
//! at most once and answers the repeat with 409, which counts as delivered.
//!
//! Wire types stay in this module. Errors carry the HTTP status and LINE's error message only,
//! never the user id, the text or the token.

use crate::{Notification, Notifier, NotifyError, Recipient};
use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The production endpoint of the Messaging API.
pub const DEFAULT_BASE_URL: &str = "https://api.line.me";
/// The push endpoint, relative to the base URL.
pub const PUSH_PATH: &str = "/v2/bot/message/push";
/// The longest text message LINE accepts, counted in UTF-16 code units (an emoji counts 2).
pub const TEXT_MAX_UTF16: usize = 5000;
/// LINE's error message is cut to this many characters in our errors.
const ERROR_DETAIL_MAX_CHARS: usize = 200;

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_timeout_s() -> u64 {
    15
}

/// The settings of one tenant's LINE official account.
#[derive(Clone, Debug, Deserialize)]
pub struct LineConfig {
    /// The long-lived (or v2.1) channel access token of the Messaging API channel.
    pub channel_access_token: SecretString,
    /// `https://api.line.me` unless a test points it at a fake.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
}

impl LineConfig {
    pub fn new(channel_access_token: SecretString) -> Self {
        Self {
            channel_access_token,
            base_url: default_base_url(),
            timeout_s: default_timeout_s(),
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// Pushes notifications to residents who follow the city's LINE official account.
pub struct LineNotifier {
    client: reqwest::Client,
    push_url: String,
    token: SecretString,
}

impl std::fmt::Debug for LineNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineNotifier")
            .field("push_url", &self.push_url)
            .finish_non_exhaustive()
    }
}

impl LineNotifier {
    pub fn new(config: LineConfig) -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            // The token must never follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Permanent(format!("LINE client: {e}")))?;
        Ok(Self {
            client,
            push_url: format!("{}{PUSH_PATH}", config.base_url.trim_end_matches('/')),
            token: config.channel_access_token,
        })
    }
}

/// The body of a push request.
#[derive(Serialize)]
struct PushRequest<'a> {
    to: &'a str,
    messages: [TextMessage<'a>; 1],
}

#[derive(Serialize)]
struct TextMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// LINE's error body: `{"message": "...", "details": [...]}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// The text of the LINE message: the subject as its first line, then the text, cut to
/// [`TEXT_MAX_UTF16`].
pub fn line_text(notification: &Notification) -> String {
    let full = format!(
        "{}\n\n{}",
        notification.subject.trim(),
        notification.text.trim_end()
    );
    truncate_utf16(&full, TEXT_MAX_UTF16)
}

/// Cuts `text` to at most `max_units` UTF-16 code units without splitting a character. A cut
/// text ends at a line break where one is near, followed by `…` on its own line.
pub fn truncate_utf16(text: &str, max_units: usize) -> String {
    if text.encode_utf16().count() <= max_units {
        return text.to_owned();
    }
    const MARK: &str = "\n…";
    let budget = max_units.saturating_sub(MARK.encode_utf16().count());
    let mut used = 0;
    let mut end = 0;
    for (index, c) in text.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = index + c.len_utf8();
    }
    let mut cut = &text[..end];
    // Prefer ending on a whole line, unless that would throw away most of the text.
    if let Some(newline) = cut.rfind('\n')
        && newline >= cut.len() / 2
    {
        cut = &cut[..newline];
    }
    format!("{}{MARK}", cut.trim_end())
}

#[async_trait]
impl Notifier for LineNotifier {
    async fn notify(
        &self,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        let Some(to) = recipient
            .line_user_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            return Err(NotifyError::Permanent(
                "LINE: the recipient has no LINE user id".into(),
            ));
        };
        let text = line_text(notification);
        let body = PushRequest {
            to,
            messages: [TextMessage {
                kind: "text",
                text: &text,
            }],
        };
        let mut request = self
            .client
            .post(&self.push_url)
            .bearer_auth(self.token.expose_secret())
            .json(&body);
        if let Some(delivery_id) = notification.delivery_id {
            request = request.header("X-Line-Retry-Key", delivery_id.hyphenated().to_string());
        }
        let response = request.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_builder() {
                NotifyError::Permanent(format!("LINE push: {e}"))
            } else {
                NotifyError::Transient(format!("LINE push: {e}"))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(
                channel = "line",
                tenant_id = ?notification.tenant_id,
                delivery_id = ?notification.delivery_id,
                "LINE push accepted"
            );
            return Ok(());
        }
        if status == StatusCode::CONFLICT && notification.delivery_id.is_some() {
            // The retry key was accepted before: an earlier attempt delivered the message.
            tracing::info!(
                channel = "line",
                tenant_id = ?notification.tenant_id,
                delivery_id = ?notification.delivery_id,
                "LINE push had already been accepted"
            );
            return Ok(());
        }
        let detail = response
            .json::<ErrorBody>()
            .await
            .map(|body| {
                body.message
                    .chars()
                    .take(ERROR_DETAIL_MAX_CHARS)
                    .collect::<String>()
            })
            .unwrap_or_default();
        Err(classify(status, &detail))
    }
}

/// 429 (rate limit or monthly quota) and 5xx may pass; other 4xx (bad user id, bad token, a
/// user who blocked the account) will not.
fn classify(status: StatusCode, detail: &str) -> NotifyError {
    let message = if detail.is_empty() {
        format!("LINE push: HTTP {}", status.as_u16())
    } else {
        format!("LINE push: HTTP {}: {detail}", status.as_u16())
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        NotifyError::Transient(message)
    } else if status.is_client_error() {
        NotifyError::Permanent(message)
    } else {
        NotifyError::Transient(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_permanent_and_transient() {
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, ""),
            NotifyError::Permanent(_)
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, "Authentication failed"),
            NotifyError::Permanent(_)
        ));
        assert!(classify(StatusCode::TOO_MANY_REQUESTS, "").is_transient());
        assert!(classify(StatusCode::INTERNAL_SERVER_ERROR, "").is_transient());
        assert!(classify(StatusCode::SERVICE_UNAVAILABLE, "").is_transient());
    }

    #[test]
    fn a_short_text_is_left_alone() {
        assert_eq!(truncate_utf16("ご予約", 5000), "ご予約");
    }

    #[test]
    fn a_long_text_is_cut_on_a_line_within_the_limit() {
        let line = format!("{}\n", "予".repeat(99));
        let text = line.repeat(60); // 6000 units
        let cut = truncate_utf16(&text, TEXT_MAX_UTF16);
        assert!(cut.encode_utf16().count() <= TEXT_MAX_UTF16);
        assert!(cut.ends_with("予\n…"), "ends on a whole line");
        assert!(cut.encode_utf16().count() > 4800, "keeps most of the text");
    }

    #[test]
    fn surrogate_pairs_count_twice_and_are_never_split() {
        let text = "🍎".repeat(3000); // 6000 units, no line breaks
        let cut = truncate_utf16(&text, TEXT_MAX_UTF16);
        assert!(cut.encode_utf16().count() <= TEXT_MAX_UTF16);
        assert!(cut.ends_with("🍎\n…"));
        assert_eq!(cut.chars().filter(|c| *c == '🍎').count(), 2499);
    }

    #[test]
    fn the_line_text_starts_with_the_subject() {
        let n = Notification {
            tenant_id: None,
            subject: "[まどぐち市] ご予約を受け付けました：がん検診".into(),
            text: "本文\n".into(),
            ics: None,
            delivery_id: None,
        };
        assert_eq!(
            line_text(&n),
            "[まどぐち市] ご予約を受け付けました：がん検診\n\n本文"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let notifier =
            LineNotifier::new(LineConfig::new(SecretString::from("very-secret-token"))).unwrap();
        assert!(!format!("{notifier:?}").contains("very-secret"));
        let config = LineConfig::new(SecretString::from("very-secret-token"));
        assert!(!format!("{config:?}").contains("very-secret"));
    }
}
