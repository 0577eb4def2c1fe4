//! The administrator's side of LINE: the city's channel settings, parsed and saved.

use super::DEFAULT_API_BASE_URL;
use crate::{Scope, UseCaseResult, audit};
use madoguchi_storage::{AuditStore, LineChannel, LineStore, NewLineChannel};
use secrecy::{ExposeSecret, SecretString};

/// The channel form as typed. Secrets left blank keep the stored ones.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct ChannelForm {
    #[serde(default)]
    pub channel_id: String,
    #[serde(default, skip_serializing)]
    pub channel_secret: String,
    #[serde(default, skip_serializing)]
    pub channel_access_token: String,
    #[serde(default)]
    pub basic_id: String,
    #[serde(default)]
    pub api_base_url: String,
    #[serde(default)]
    pub enabled: Option<String>,
}

impl ChannelForm {
    /// The form filled from a stored channel (secrets are never sent back to the browser).
    pub fn from_channel(channel: Option<&LineChannel>) -> Self {
        match channel {
            Some(c) => Self {
                channel_id: c.channel_id.clone(),
                channel_secret: String::new(),
                channel_access_token: String::new(),
                basic_id: c.basic_id.clone().unwrap_or_default(),
                api_base_url: c.api_base_url.clone(),
                enabled: c.enabled.then(|| "on".to_owned()),
            },
            None => Self {
                api_base_url: DEFAULT_API_BASE_URL.to_owned(),
                ..Self::default()
            },
        }
    }
}

/// A form problem: the field and the catalogue key of its message. The messages are specific
/// to this form (which part of a LINE credential is wrong), so they are catalogue texts rather
/// than `ErrorCode`s.
pub type FieldProblem = (&'static str, &'static str);

/// The last four characters of a secret behind dots, so an administrator can tell which one is
/// stored without it being shown.
pub fn mask(secret: &SecretString) -> String {
    let chars: Vec<char> = secret.expose_secret().chars().collect();
    if chars.len() < 16 {
        return "••••••••".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("••••••••{tail}")
}

fn visible_ascii(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The API base URL: https, or plain http to the loopback interface only (a local fake of
/// the API for tests and demos), without query or fragment.
pub fn parse_api_base_url(raw: &str) -> Option<String> {
    let url = raw.trim().trim_end_matches('/');
    if url.is_empty() {
        return Some(DEFAULT_API_BASE_URL.to_owned());
    }
    if !visible_ascii(url, 200) || url.contains(['?', '#', '@', '\\']) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
    match scheme {
        "https" if host_ok => Some(url.to_owned()),
        "http" if loopback => Some(url.to_owned()),
        _ => None,
    }
}

/// Parses the form against the stored channel, reporting every problem at once.
pub fn parse_channel(
    form: &ChannelForm,
    stored: Option<&LineChannel>,
) -> Result<NewLineChannel, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let channel_id = form.channel_id.trim();
    if !(1..=20).contains(&channel_id.len()) || !channel_id.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(("channel_id", "line_admin_error_channel_id"));
    }
    let secret = form.channel_secret.trim();
    let channel_secret = if secret.is_empty() {
        stored.map(|c| c.channel_secret.clone())
    } else if visible_ascii(secret, 128) && secret.len() >= 16 {
        Some(SecretString::from(secret.to_owned()))
    } else {
        None
    };
    if channel_secret.is_none() {
        problems.push(("channel_secret", "line_admin_error_secret"));
    }
    let token = form.channel_access_token.trim();
    let channel_access_token = if token.is_empty() {
        stored.map(|c| c.channel_access_token.clone())
    } else if visible_ascii(token, 2048) && token.len() >= 16 {
        Some(SecretString::from(token.to_owned()))
    } else {
        None
    };
    if channel_access_token.is_none() {
        problems.push(("channel_access_token", "line_admin_error_token"));
    }
    let basic_id = form.basic_id.trim().to_ascii_lowercase();
    let basic_id = if basic_id.is_empty() {
        Some(None)
    } else {
        let bare = basic_id.trim_start_matches('@');
        let ok = (1..=20).contains(&bare.len())
            && bare
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        ok.then(|| Some(format!("@{bare}")))
    };
    if basic_id.is_none() {
        problems.push(("basic_id", "line_admin_error_basic_id"));
    }
    let api_base_url = parse_api_base_url(&form.api_base_url);
    if api_base_url.is_none() {
        problems.push(("api_base_url", "line_admin_error_api_base_url"));
    }
    match (channel_secret, channel_access_token, basic_id, api_base_url) {
        (Some(channel_secret), Some(channel_access_token), Some(basic_id), Some(api_base_url))
            if problems.is_empty() =>
        {
            Ok(NewLineChannel {
                channel_id: channel_id.to_owned(),
                channel_secret,
                channel_access_token,
                basic_id,
                api_base_url,
                enabled: form.enabled.is_some(),
            })
        }
        _ => Err(problems),
    }
}

/// Saves the channel and audits which parts changed (never their values). Only
/// administrators reach this; the caller checks the role.
pub async fn save_channel<S: LineStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    stored: Option<&LineChannel>,
    new: &NewLineChannel,
) -> UseCaseResult<LineChannel> {
    let saved = store
        .put_line_channel(scope.tenant, new, scope.now())
        .await?;
    let changed = |old: Option<&SecretString>, new: &SecretString| {
        old.is_none_or(|old| old.expose_secret() != new.expose_secret())
    };
    let details = serde_json::json!({
        "enabled": new.enabled,
        "channel_id_changed": stored.is_none_or(|s| s.channel_id != new.channel_id),
        "channel_secret_changed": changed(stored.map(|s| &s.channel_secret), &new.channel_secret),
        "access_token_changed": changed(stored.map(|s| &s.channel_access_token), &new.channel_access_token),
        "production_api": new.api_base_url == DEFAULT_API_BASE_URL,
    });
    let target = Some(scope.tenant.to_string());
    audit::record(store, scope, "line.channel_saved", target, details).await?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_domain::TenantId;
    use time::OffsetDateTime;

    #[test]
    fn the_api_base_url_is_https_or_loopback_http() {
        assert_eq!(
            parse_api_base_url("").as_deref(),
            Some("https://api.line.me")
        );
        assert_eq!(
            parse_api_base_url("https://api.line.me/").as_deref(),
            Some("https://api.line.me")
        );
        assert_eq!(
            parse_api_base_url("http://127.0.0.1:4567").as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(parse_api_base_url("http://api.line.me"), None);
        assert_eq!(parse_api_base_url("http://10.0.0.1"), None);
        assert_eq!(parse_api_base_url("ftp://api.line.me"), None);
        assert_eq!(parse_api_base_url("https://api.line.me?x=1"), None);
        assert_eq!(parse_api_base_url("https://user@evil.example"), None);
    }

    #[test]
    fn secrets_are_masked_to_their_last_four_characters() {
        let secret = SecretString::from("0123456789abcdef0123456789abcdef".to_owned());
        assert_eq!(mask(&secret), "••••••••cdef");
        assert_eq!(mask(&SecretString::from("short".to_owned())), "••••••••");
    }

    #[test]
    fn a_blank_secret_keeps_the_stored_one_and_a_missing_one_is_an_error() {
        let form = ChannelForm {
            channel_id: "1657000000".into(),
            api_base_url: String::new(),
            ..ChannelForm::default()
        };
        let problems = parse_channel(&form, None).unwrap_err();
        assert!(problems.contains(&("channel_secret", "line_admin_error_secret")));
        assert!(problems.contains(&("channel_access_token", "line_admin_error_token")));
        let stored = LineChannel {
            tenant_id: TenantId::new(),
            channel_id: "1657000000".into(),
            channel_secret: SecretString::from("s".repeat(32)),
            channel_access_token: SecretString::from("t".repeat(64)),
            basic_id: None,
            api_base_url: DEFAULT_API_BASE_URL.into(),
            enabled: true,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let form = ChannelForm {
            basic_id: "123ABCDE".into(),
            enabled: Some("on".into()),
            ..form
        };
        let new = parse_channel(&form, Some(&stored)).unwrap();
        assert_eq!(new.channel_secret.expose_secret(), "s".repeat(32));
        assert_eq!(new.basic_id.as_deref(), Some("@123abcde"));
        assert!(new.enabled);
    }
}
