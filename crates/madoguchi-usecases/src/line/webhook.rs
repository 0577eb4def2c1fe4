//! LINE's signed webhook: the signature is checked with the channel secret before anything is
//! read, a link code sent by a resident is spent and answered, and an `unfollow` removes the
//! resident's link.

use super::code::{LINK_CODE_TTL_MIN, code_hash, normalize_code};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_notify::LineConfig;
use madoguchi_notify::line_webhook::{LineEvent, LineReplier, parse_events, verify_signature};
use madoguchi_storage::{AccountStore, AuditStore, LineChannel, LineStore, StorageError, Tenant};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// Codes a LINE user may try per window, so guessing codes through the official account is
/// hopeless.
const CODE_TRIES_MAX: i64 = 10;
const CODE_TRIES_WINDOW_S: i64 = 15 * 60;

/// The storage the webhook needs: the channel and links, accounts (their language, the rate
/// limit of code tries) and the audit log.
pub trait WebhookStores: LineStore + AccountStore + AuditStore {}

impl<T> WebhookStores for T where T: LineStore + AccountStore + AuditStore + ?Sized {}

/// What the webhook did with a request it accepted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WebhookOutcome {
    pub linked: usize,
    pub unlinked: usize,
}

/// Handles one webhook request for `city` (the scope's tenant, found by the slug in the URL):
/// `NotFound` without a channel, `Unauthenticated` unless the signature is the channel's
/// (nothing is stored then), `MalformedJson` for a body that is not LINE's. Events are ignored
/// while the channel is switched off.
pub async fn handle_webhook<S: WebhookStores + ?Sized>(
    store: &S,
    scope: &Scope,
    city: &Tenant,
    signature: Option<&str>,
    body: &[u8],
) -> UseCaseResult<WebhookOutcome> {
    let tenant = scope.tenant;
    let channel = store
        .line_channel(tenant)
        .await?
        .ok_or_else(|| UseCaseError::new(ErrorCode::NotFound))?;
    let signed = signature
        .is_some_and(|s| verify_signature(channel.channel_secret.expose_secret(), body, s));
    if !signed {
        tracing::warn!(tenant_id = %tenant, "LINE webhook with a missing or wrong signature");
        return Err(UseCaseError::new(ErrorCode::Unauthenticated));
    }
    let events = parse_events(body).map_err(|_| UseCaseError::new(ErrorCode::MalformedJson))?;
    let mut outcome = WebhookOutcome::default();
    if !channel.enabled {
        tracing::info!(tenant_id = %tenant, events = events.len(), "LINE is off; webhook events ignored");
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
                    let sender = Sender {
                        channel: &channel,
                        city,
                        user_id: &user_id,
                        reply_token: reply_token.as_deref(),
                    };
                    let linked = redeem(store, scope, &sender, &code).await;
                    linked.map(|linked| outcome.linked += usize::from(linked))
                }
                // Ordinary chat is the official account's business, not ours.
                None => Ok(()),
            },
            LineEvent::Unfollow { user_id } => unfollowed(store, scope, &user_id)
                .await
                .map(|removed| outcome.unlinked += usize::from(removed)),
            LineEvent::Follow { .. } | LineEvent::Other => Ok(()),
        };
        if let Err(error) = result {
            // One event failing (the database briefly away) must not lose the others; the
            // resident can send the code again.
            tracing::warn!(tenant_id = %tenant, event = kind, error = %error.code, "LINE webhook event not handled");
        }
    }
    Ok(outcome)
}

/// Who sent a code, and how to answer them.
struct Sender<'a> {
    channel: &'a LineChannel,
    city: &'a Tenant,
    user_id: &'a str,
    reply_token: Option<&'a str>,
}

/// Tries a code sent by the sender; replies either way. `Ok(true)` when linked.
async fn redeem<S: WebhookStores + ?Sized>(
    store: &S,
    scope: &Scope,
    sender: &Sender<'_>,
    code: &str,
) -> UseCaseResult<bool> {
    let tenant = scope.tenant;
    let now = scope.now();
    // The key holds a hash, not the LINE user id.
    let user_key: String = Sha256::digest(format!("{tenant}:{}", sender.user_id).as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!("line_code:{user_key}");
    let allowed = store
        .rate_limit_hit(&key, now, CODE_TRIES_WINDOW_S, CODE_TRIES_MAX)
        .await?;
    if !allowed {
        reply(sender, Reply::TooManyTries, Lang::Ja).await;
        return Ok(false);
    }
    let hash = code_hash(tenant, code);
    match store
        .redeem_line_link_code(tenant, &hash, sender.user_id, now)
        .await
    {
        Ok(link) => {
            let account = link.account_id;
            let resident = scope.acting_as(Actor::Resident(account));
            let details = serde_json::json!({ "channel": "line" });
            let target = Some(account.to_string());
            audit::record(store, &resident, "resident.line_linked", target, details).await?;
            tracing::info!(tenant_id = %tenant, account_id = %account, "LINE account linked");
            let lang = store
                .account(tenant, account)
                .await
                .map(|a| a.locale)
                .unwrap_or_default();
            reply(sender, Reply::Linked, lang).await;
            Ok(true)
        }
        Err(StorageError::NotFound) => {
            reply(sender, Reply::BadCode, Lang::Ja).await;
            Ok(false)
        }
        Err(other) => Err(other.into()),
    }
}

/// The LINE user blocked the official account: the link goes, and notices with it. Audited as
/// the system's doing, with the account as the target.
async fn unfollowed<S: WebhookStores + ?Sized>(
    store: &S,
    scope: &Scope,
    user_id: &str,
) -> UseCaseResult<bool> {
    match store
        .delete_line_link_of_user(scope.tenant, user_id)
        .await?
    {
        Some(account) => {
            let system = scope.acting_as(Actor::System);
            let details = serde_json::json!({ "channel": "line" });
            let target = Some(account.to_string());
            audit::record(store, &system, "resident.line_unfollowed", target, details).await?;
            tracing::info!(tenant_id = %scope.tenant, account_id = %account, "LINE link removed on unfollow");
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
async fn reply(sender: &Sender<'_>, reply: Reply, lang: Lang) {
    let Some(reply_token) = sender.reply_token else {
        return;
    };
    let channel = sender.channel;
    let config = LineConfig::new(channel.channel_access_token.clone())
        .with_base_url(channel.api_base_url.clone());
    let result = match LineReplier::new(config) {
        Ok(replier) => {
            replier
                .reply(reply_token, &reply_text(reply, sender.city, lang))
                .await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        tracing::warn!(tenant_id = %sender.city.id, reply = ?reply, %error, "LINE reply not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_domain::TenantId;
    use time::OffsetDateTime;

    #[test]
    fn replies_name_the_city_and_are_japanese_first() {
        let tenant = Tenant {
            id: TenantId::new(),
            slug: madoguchi_domain::TenantSlug::parse("madoguchi-shi").unwrap(),
            name_ja: "まどぐち市".into(),
            name_en: "Madoguchi City".into(),
            host: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
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
