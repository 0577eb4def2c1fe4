//! The city's LINE official account in the server: linking a resident's account with the
//! "send a code" pattern, the webhook that receives the code, the administrator's channel
//! settings, and the LINE side of reservation notices.
//!
//! Linking: the account page issues a short one-time code (30 minutes, single use, stored as
//! the SHA-256 of tenant and code); the resident adds the official account as a friend and
//! sends the code; the webhook, after checking `X-Line-Signature` with the channel secret,
//! spends the code, stores the link and replies through the Messaging API. An `unfollow`
//! (the resident blocked the account) removes the link.
//!
//! Notices: `notify.reservation` jobs for the LINE channel are built per tenant from its stored
//! channel when they run, and re-read the resident's current link, so a resident who unlinked
//! after booking is not pushed to.
//!
//! Nothing here logs a LINE user id, a code, a message text or a secret; audit entries hold
//! account ids only.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_domain::{AccountId, ErrorCode, Lang, TenantId};
use madoguchi_jobs::JobError;
use madoguchi_notify::line_webhook::{LineEvent, LineReplier, parse_events, verify_signature};
use madoguchi_notify::{Channel, FanOut, LineConfig, LineNotifier, NotifyError, NotifyReservation};
use madoguchi_storage::{
    ActorKind, LineChannel, NewAuditEntry, NewLineChannel, NewLineLinkCode, Storage, StorageError,
    Tenant, now_utc,
};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a link code works.
pub const LINK_CODE_TTL_MIN: i64 = 30;
/// Characters of a link code: no 0/O or 1/I/L look-alikes, so it can be read off a screen and
/// typed on a phone. 31 symbols, 8 characters: almost 40 bits.
const CODE_ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_CHARS: usize = 8;
/// Codes a LINE user may try per window, so guessing codes through the official account is
/// hopeless.
const CODE_TRIES_MAX: i64 = 10;
const CODE_TRIES_WINDOW_S: i64 = 15 * 60;

/// The production Messaging API.
pub const DEFAULT_API_BASE_URL: &str = madoguchi_notify::line::DEFAULT_BASE_URL;

// ---------------------------------------------------------------------------------------------
// Link codes.

/// A fresh code, shown as two groups of four: `K7QM-3XTP`.
pub fn new_link_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..CODE_CHARS)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// The code a resident typed, in its canonical form, or `None` when the text is no code.
/// Full-width letters and digits (a Japanese keyboard), lower case, spaces and hyphens of any
/// width are accepted.
pub fn normalize_code(text: &str) -> Option<String> {
    let mut code = String::with_capacity(CODE_CHARS);
    for c in text.trim().chars() {
        let c = match c {
            // Full-width ASCII (！ to ～) to ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            other => other,
        };
        match c {
            ' ' | '\u{3000}' | '-' | '‐' | '－' | '―' | 'ー' | '−' => continue,
            c if c.is_ascii_alphanumeric() => code.push(c.to_ascii_uppercase()),
            _ => return None,
        }
        if code.len() > CODE_CHARS {
            return None;
        }
    }
    let valid = code.len() == CODE_CHARS && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// What the database keeps of a code: SHA-256 of the tenant and the canonical code.
pub fn code_hash(tenant: TenantId, canonical: &str) -> Vec<u8> {
    Sha256::digest(format!("line-link:{tenant}:{canonical}").as_bytes()).to_vec()
}

// ---------------------------------------------------------------------------------------------
// The resident's side.

/// The tenant's channel if LINE is switched on.
async fn enabled_channel(state: &AppState, tenant: TenantId) -> AppResult<Option<LineChannel>> {
    Ok(state
        .storage
        .line_channel(tenant)
        .await?
        .filter(|c| c.enabled))
}

/// The LINE section of the account page.
#[derive(Debug, serde::Serialize)]
pub struct AccountLineView {
    /// The city takes LINE notices at all.
    pub available: bool,
    pub linked: bool,
    pub linked_at: Option<String>,
    /// A message left by the last action (`unlinked`).
    pub flash: Option<String>,
}

const FLASH_KEY: &str = "line_flash";

/// The LINE section of a resident's account page; reads (and clears) the message of the last
/// action.
pub async fn account_view(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    session: &tower_sessions::Session,
) -> AppResult<AccountLineView> {
    let flash: Option<String> = session
        .remove(FLASH_KEY)
        .await
        .map_err(AppError::internal)?;
    let available = enabled_channel(state, ctx.tenant.id).await?.is_some();
    let link = state.storage.line_link(ctx.tenant.id, account).await?;
    Ok(AccountLineView {
        available,
        linked: link.is_some(),
        linked_at: link.map(|l| madoguchi_domain::tokyo::format_tokyo_minutes(l.linked_at)),
        flash,
    })
}

/// Remembers a message for the next account page.
pub async fn set_flash(session: &tower_sessions::Session, message: &str) -> AppResult<()> {
    session
        .insert(FLASH_KEY, message)
        .await
        .map_err(AppError::internal)
}

/// A code just issued, with what the resident needs to send it.
#[derive(Debug, serde::Serialize)]
pub struct IssuedCode {
    pub code: String,
    /// Tokyo time, `2026-11-21 09:35`.
    pub expires_at: String,
    /// Opens the official account's add-friend page, when its basic id is known.
    pub add_friend_url: Option<String>,
    /// Opens a chat with the official account with the code already typed in.
    pub send_url: Option<String>,
}

/// Issues a link code for `account`; earlier codes of the account stop working. 404 when the
/// city has no LINE.
pub async fn issue_link_code(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
) -> AppResult<IssuedCode> {
    let channel = enabled_channel(state, ctx.tenant.id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let now = now_utc();
    let expires_at = now + time::Duration::minutes(LINK_CODE_TTL_MIN);
    // 40 bits make a clash with another live code of the city unlikely; a clash is retried.
    let mut attempt = 0;
    let code = loop {
        attempt += 1;
        let code = new_link_code();
        let canonical = normalize_code(&code).ok_or_else(|| AppError::internal("bad code"))?;
        let new = NewLineLinkCode {
            account_id: account,
            code_hash: code_hash(ctx.tenant.id, &canonical),
            expires_at,
        };
        match state
            .storage
            .create_line_link_code(ctx.tenant.id, &new, now)
            .await
        {
            Ok(()) => break code,
            Err(StorageError::Duplicate { .. }) if attempt < 3 => continue,
            Err(other) => return Err(other.into()),
        }
    };
    crate::accounts::audit(
        state,
        ctx,
        ActorKind::Resident,
        Some(account),
        "resident.line_code_issued",
        Some(account.to_string()),
        serde_json::json!({}),
    )
    .await?;
    let basic_id = channel.basic_id.as_deref();
    Ok(IssuedCode {
        expires_at: madoguchi_domain::tokyo::format_tokyo_minutes(expires_at),
        add_friend_url: basic_id.map(|id| format!("https://line.me/R/ti/p/{id}")),
        send_url: basic_id.map(|id| format!("https://line.me/R/oaMessage/{id}/?{code}")),
        code,
    })
}

/// Removes the resident's link; audited when there was one.
pub async fn unlink(state: &AppState, ctx: &Ctx, account: AccountId) -> AppResult<bool> {
    let removed = state
        .storage
        .delete_line_link(ctx.tenant.id, account)
        .await?;
    if removed {
        crate::accounts::audit(
            state,
            ctx,
            ActorKind::Resident,
            Some(account),
            "resident.line_unlinked",
            Some(account.to_string()),
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(removed)
}

// ---------------------------------------------------------------------------------------------
// The administrator's side.

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

/// A form problem: the field and the catalogue key of its message.
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

/// Saves the channel and audits which parts changed (never their values).
pub async fn save_channel(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    stored: Option<&LineChannel>,
    new: &NewLineChannel,
) -> AppResult<LineChannel> {
    let saved = state
        .storage
        .put_line_channel(ctx.tenant.id, new, now_utc())
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
    crate::accounts::audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "line.channel_saved",
        Some(ctx.tenant.id.to_string()),
        details,
    )
    .await?;
    Ok(saved)
}

// ---------------------------------------------------------------------------------------------
// The webhook.

/// What the webhook did with a request it accepted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WebhookOutcome {
    pub linked: usize,
    pub unlinked: usize,
}

/// Handles one webhook request for `tenant`: 404 without a channel, 401 unless the signature
/// is the channel's (nothing is stored then), 400 for a body that is not LINE's. Events are
/// ignored while the channel is switched off.
pub async fn handle_webhook(
    state: &AppState,
    tenant: &Tenant,
    signature: Option<&str>,
    body: &[u8],
) -> AppResult<WebhookOutcome> {
    let channel = state
        .storage
        .line_channel(tenant.id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let signed = signature
        .is_some_and(|s| verify_signature(channel.channel_secret.expose_secret(), body, s));
    if !signed {
        tracing::warn!(tenant_id = %tenant.id, "LINE webhook with a missing or wrong signature");
        return Err(AppError::new(ErrorCode::Unauthenticated));
    }
    let events = parse_events(body).map_err(|_| AppError::new(ErrorCode::MalformedJson))?;
    let mut outcome = WebhookOutcome::default();
    if !channel.enabled {
        tracing::info!(tenant_id = %tenant.id, events = events.len(), "LINE is off; webhook events ignored");
        return Ok(outcome);
    }
    for event in events {
        let kind = event.kind();
        let result = match event {
            LineEvent::Text {
                user_id,
                reply_token,
                text,
            } => match normalize_code(&text) {
                Some(code) => {
                    let linked = redeem(
                        state,
                        tenant,
                        &channel,
                        &user_id,
                        reply_token.as_deref(),
                        &code,
                    )
                    .await;
                    linked.map(|linked| outcome.linked += usize::from(linked))
                }
                // Ordinary chat is the official account's business, not ours.
                None => Ok(()),
            },
            LineEvent::Unfollow { user_id } => unfollowed(state, tenant, &user_id)
                .await
                .map(|removed| outcome.unlinked += usize::from(removed)),
            LineEvent::Follow { .. } | LineEvent::Other => Ok(()),
        };
        if let Err(error) = result {
            // One event failing (the database briefly away) must not lose the others; the
            // resident can send the code again.
            tracing::warn!(tenant_id = %tenant.id, event = kind, error = %error.code, "LINE webhook event not handled");
        }
    }
    Ok(outcome)
}

/// An audit entry for `tenant`, outside a request context.
async fn audit_for(
    state: &AppState,
    tenant: TenantId,
    actor_kind: ActorKind,
    account: AccountId,
    action: &str,
) -> AppResult<()> {
    let entry = NewAuditEntry {
        at: now_utc(),
        actor_kind,
        actor_id: Some(account),
        action: action.to_owned(),
        target: Some(account.to_string()),
        details: serde_json::json!({ "channel": "line" }),
    };
    state.storage.append_audit(tenant, &entry).await?;
    Ok(())
}

/// Tries a code sent by `user_id`; replies either way. `Ok(true)` when linked.
async fn redeem(
    state: &AppState,
    tenant: &Tenant,
    channel: &LineChannel,
    user_id: &str,
    reply_token: Option<&str>,
    code: &str,
) -> AppResult<bool> {
    let now = now_utc();
    // The key holds a hash, not the LINE user id.
    let user_key: String = Sha256::digest(format!("{}:{user_id}", tenant.id).as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let allowed = state
        .storage
        .rate_limit_hit(
            &format!("line_code:{user_key}"),
            now,
            CODE_TRIES_WINDOW_S,
            CODE_TRIES_MAX,
        )
        .await?;
    if !allowed {
        reply(channel, tenant, reply_token, Reply::TooManyTries, Lang::Ja).await;
        return Ok(false);
    }
    let hash = code_hash(tenant.id, code);
    match state
        .storage
        .redeem_line_link_code(tenant.id, &hash, user_id, now)
        .await
    {
        Ok(link) => {
            audit_for(
                state,
                tenant.id,
                ActorKind::Resident,
                link.account_id,
                "resident.line_linked",
            )
            .await?;
            tracing::info!(tenant_id = %tenant.id, account_id = %link.account_id, "LINE account linked");
            let lang = state
                .storage
                .account(tenant.id, link.account_id)
                .await
                .map(|a| a.locale)
                .unwrap_or_default();
            reply(channel, tenant, reply_token, Reply::Linked, lang).await;
            Ok(true)
        }
        Err(StorageError::NotFound) => {
            reply(channel, tenant, reply_token, Reply::BadCode, Lang::Ja).await;
            Ok(false)
        }
        Err(other) => Err(other.into()),
    }
}

/// The LINE user blocked the official account: the link goes, and notices with it.
async fn unfollowed(state: &AppState, tenant: &Tenant, user_id: &str) -> AppResult<bool> {
    match state
        .storage
        .delete_line_link_of_user(tenant.id, user_id)
        .await?
    {
        Some(account) => {
            audit_for(
                state,
                tenant.id,
                ActorKind::System,
                account,
                "resident.line_unfollowed",
            )
            .await?;
            tracing::info!(tenant_id = %tenant.id, account_id = %account, "LINE link removed on unfollow");
            Ok(true)
        }
        None => Ok(false),
    }
}

/// What the official account answers to a code.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Linked,
    BadCode,
    TooManyTries,
}

/// The text of a reply: always in plain, polite Japanese (the city's official account speaks
/// Japanese), followed by English for a resident who reads English or who is not known yet.
fn reply_text(reply: Reply, city: &Tenant, lang: Lang) -> String {
    let minutes = LINK_CODE_TTL_MIN;
    match (reply, lang) {
        (Reply::Linked, lang) => {
            let ja = format!(
                "{}のLINE連携が完了しました。\n今後、ご予約の受付・変更・取り消しと前日のお知らせを、このLINEでもお送りします。\n連携をやめるときは、マイページの「LINE連携を解除する」を押してください。",
                city.name_ja
            );
            match lang {
                Lang::Ja => ja,
                Lang::En => format!(
                    "{ja}\n\nYour account with {} is now linked to LINE. Notices of your reservations (booked, changed, cancelled, and a reminder the day before) will also come here. To stop, press \"Unlink LINE\" on your account page.",
                    city.name(Lang::En)
                ),
            }
        }
        (Reply::BadCode, _) => format!(
            "連携コードが正しくないか、有効期限（{minutes}分）が過ぎています。\nマイページの「LINEと連携する」で新しいコードを表示し、もう一度送ってください。\n\n(The code is wrong or has expired. Please get a new code on your account page.)"
        ),
        (Reply::TooManyTries, _) => "送られたコードが多すぎるため、しばらく受け付けを止めています。15分ほどたってから、もう一度お試しください。\n\n(Too many codes were sent. Please try again in 15 minutes.)".to_owned(),
    }
}

/// Replies to the event, if it has a reply token. A failed reply is logged: the link (or its
/// refusal) stands either way, and the account page shows the state.
async fn reply(
    channel: &LineChannel,
    tenant: &Tenant,
    reply_token: Option<&str>,
    reply: Reply,
    lang: Lang,
) {
    let Some(reply_token) = reply_token else {
        return;
    };
    let config = LineConfig::new(channel.channel_access_token.clone())
        .with_base_url(channel.api_base_url.clone());
    let result = match LineReplier::new(config) {
        Ok(replier) => {
            replier
                .reply(reply_token, &reply_text(reply, tenant, lang))
                .await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        tracing::warn!(tenant_id = %tenant.id, reply = ?reply, %error, "LINE reply not sent");
    }
}

// ---------------------------------------------------------------------------------------------
// Reservation notices.

/// Whether `account`'s reservation notices also go by LINE: the city has LINE switched on and
/// the resident linked it. Read when a notice is fanned out; a storage failure retries the job.
pub async fn notices_go_by_line(
    storage: &Arc<dyn Storage>,
    tenant: TenantId,
    account: AccountId,
) -> Result<bool, JobError> {
    let enabled = storage
        .line_channel(tenant)
        .await
        .map_err(storage_retry)?
        .is_some_and(|c| c.enabled);
    if !enabled {
        return Ok(false);
    }
    Ok(storage
        .line_link(tenant, account)
        .await
        .map_err(storage_retry)?
        .is_some())
}

fn storage_retry(error: StorageError) -> JobError {
    JobError::Retry(error.to_string())
}

/// Delivers a LINE `notify.reservation` job: with the tenant's channel as it is now, to the
/// resident's current link. A channel switched off or a link removed since the job was queued
/// drops the notice (the resident or the city chose so); send failures are retried like mail.
pub async fn deliver_notice(
    storage: &Arc<dyn Storage>,
    notice: &NotifyReservation,
) -> Result<(), JobError> {
    let tenant = notice.facts.tenant_id;
    let channel = match storage.line_channel(tenant).await.map_err(storage_retry)? {
        Some(channel) if channel.enabled => channel,
        _ => {
            tracing::info!(tenant_id = %tenant, delivery_id = %notice.delivery_id, "LINE is off; notice dropped");
            return Ok(());
        }
    };
    let account = match storage
        .reservation(tenant, notice.facts.reservation_id)
        .await
    {
        Ok(reservation) => reservation.account_id,
        Err(StorageError::NotFound) => None,
        Err(other) => return Err(storage_retry(other)),
    };
    let link = match account {
        Some(account) => storage
            .line_link(tenant, account)
            .await
            .map_err(storage_retry)?,
        None => None,
    };
    let Some(link) = link else {
        tracing::info!(tenant_id = %tenant, delivery_id = %notice.delivery_id, "no LINE link any more; notice dropped");
        return Ok(());
    };
    let config = LineConfig::new(channel.channel_access_token.clone())
        .with_base_url(channel.api_base_url.clone());
    let notifier = LineNotifier::new(config).map_err(|e| JobError::Permanent(e.to_string()))?;
    let notifiers = FanOut::new().with_line(Arc::new(notifier));
    let mut current = notice.clone();
    current.channel = Some(Channel::Line);
    current.recipient.email = None;
    current.recipient.line_user_id = Some(link.line_user_id);
    current
        .deliver(&notifiers, now_utc())
        .await
        .map_err(|e| match e {
            NotifyError::Permanent(detail) => JobError::Permanent(detail),
            NotifyError::Transient(detail) => JobError::Retry(detail),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_code_is_two_groups_of_four_from_the_alphabet() {
        for _ in 0..200 {
            let code = new_link_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert_eq!(normalize_code(&code).map(|c| c.len()), Some(8));
        }
    }

    #[test]
    fn codes_are_read_the_way_residents_type_them() {
        let canonical = Some("K7QM3XTP".to_owned());
        assert_eq!(normalize_code("K7QM-3XTP"), canonical);
        assert_eq!(normalize_code("  k7qm 3xtp "), canonical);
        assert_eq!(
            normalize_code("Ｋ７ＱＭ－３ＸＴＰ"),
            canonical,
            "full width"
        );
        assert_eq!(
            normalize_code("k7qmー3xtp"),
            canonical,
            "a long vowel mark as hyphen"
        );
        assert_eq!(normalize_code("K7QM3XT"), None, "too short");
        assert_eq!(normalize_code("K7QM3XTPQ"), None, "too long");
        assert_eq!(normalize_code("K7QM3XT0"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("こんにちは"), None);
        assert_eq!(normalize_code("予約 K7QM-3XTP"), None, "only the code");
    }

    #[test]
    fn a_code_hash_depends_on_the_tenant() {
        let (a, b) = (TenantId::new(), TenantId::new());
        assert_eq!(code_hash(a, "K7QM3XTP"), code_hash(a, "K7QM3XTP"));
        assert_ne!(code_hash(a, "K7QM3XTP"), code_hash(b, "K7QM3XTP"));
    }

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
            updated_at: now_utc(),
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

    #[test]
    fn replies_name_the_city_and_are_japanese_first() {
        let tenant = Tenant {
            id: TenantId::new(),
            slug: madoguchi_domain::TenantSlug::parse("madoguchi-shi").unwrap(),
            name_ja: "まどぐち市".into(),
            name_en: "Madoguchi City".into(),
            host: None,
            created_at: now_utc(),
        };
        assert!(
            reply_text(Reply::Linked, &tenant, Lang::Ja)
                .starts_with("まどぐち市のLINE連携が完了しました")
        );
        let english = reply_text(Reply::Linked, &tenant, Lang::En);
        assert!(english.starts_with("まどぐち市のLINE連携が完了しました"));
        assert!(english.contains("Madoguchi City"));
        assert!(reply_text(Reply::BadCode, &tenant, Lang::En).starts_with("連携コード"));
    }
}
