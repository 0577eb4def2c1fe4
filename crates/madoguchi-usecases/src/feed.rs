//! The resident's secret "my reservations" calendar feed, for a calendar app to subscribe to:
//! issuing and reissuing its token, and building the feed a token opens.
//!
//! The token is a capability, so it is treated like a password reset link:
//! - it is unguessable: the keyed HMAC-SHA256 (key derived from the server's secret) of the
//!   tenant, the account and a 256-bit random nonce, written as 43 URL-safe characters;
//! - the database keeps the nonce and the token's SHA-256 only, so a copy of the database opens
//!   no feed, and lookups go by the hash. Deriving the token (instead of storing it) is what
//!   lets the "my reservations" page and the API show the same URL again;
//! - reissuing draws a new nonce, which retires the old URL in the same statement;
//! - it never reaches a log: request spans print `/calendar/[redacted]` ([`loggable_path`]).
//!
//! The feed lists the reservations that stand or took place (held, confirmed, attended, no
//! show) from a year back on. Cancelled and expired ones are left out rather than sent as
//! `STATUS:CANCELLED`: a subscription is re-read whole on every refresh, and Google Calendar
//! and Outlook show cancelled events of a subscribed feed as if they stood, while every client
//! removes an event that is no longer in the feed.

use crate::notices::base_url_for;
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use madoguchi_auth::one_time::{looks_like_token, token_hash};
use madoguchi_domain::{AccountId, ErrorCode};
use madoguchi_notify::{Bilingual, FeedEntry, ReservationFacts, my_reservations_feed};
use madoguchi_storage::{
    AccountStore, AuditStore, BookingStore, FeedStore, NewReservationFeed, OrgStore, Reservation,
    ReservationFeed, ReservationStatus, Tenant,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Separates this use of the server secret from its others (API tokens).
const KEY_LABEL: &[u8] = b"madoguchi reservation feed v1";
const NONCE_BYTES: usize = 32;
/// Past reservations older than this are left out of the feed.
const PAST_DAYS_KEPT: i64 = 365;
/// Path prefix of feed URLs.
pub const FEED_PATH: &str = "/calendar/";

/// The storage the feed needs: the feeds, the account, its reservations with their slots and
/// services, the offices, and the audit log.
pub trait FeedStores: FeedStore + AccountStore + BookingStore + OrgStore + AuditStore {}

impl<T> FeedStores for T where
    T: FeedStore + AccountStore + BookingStore + OrgStore + AuditStore + ?Sized
{
}

/// What the feed use cases work with besides the scope.
pub struct FeedDeps<'a, S: ?Sized> {
    pub store: &'a S,
    /// The server secret the feed key is derived from.
    pub secret: &'a SecretString,
    /// The installation's public URL; a city on its own host gets that host instead.
    pub public_url: &'a str,
}

/// The feed's token for a nonce: HMAC-SHA256 under a key derived from the server secret.
fn token_for(secret: &SecretString, scope: &Scope, account: AccountId, nonce: &[u8]) -> String {
    let key = match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mut mac) => {
            mac.update(KEY_LABEL);
            mac.finalize().into_bytes()
        }
        Err(_) => Default::default(),
    };
    match Hmac::<Sha256>::new_from_slice(&key) {
        Ok(mut mac) => {
            mac.update(scope.tenant.to_string().as_bytes());
            mac.update(b":");
            mac.update(account.to_string().as_bytes());
            mac.update(b":");
            mac.update(nonce);
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

fn new_feed(
    secret: &SecretString,
    scope: &Scope,
    account: AccountId,
) -> (NewReservationFeed, String) {
    let mut nonce = vec![0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let token = token_for(secret, scope, account, &nonce);
    let new = NewReservationFeed {
        account_id: account,
        token_hash: token_hash(&token),
        nonce,
    };
    (new, token)
}

/// The feed URL, as shown to the resident.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FeedUrls {
    /// `https://…/calendar/<token>.ics`, to paste into a calendar app.
    pub url: String,
    /// The same as `webcal://…`, which phones open in their calendar app; only for https.
    pub webcal_url: Option<String>,
    pub issued_at: time::OffsetDateTime,
}

fn urls<S: ?Sized>(
    d: &FeedDeps<'_, S>,
    city: &Tenant,
    token: &str,
    feed: &ReservationFeed,
) -> FeedUrls {
    let base = base_url_for(d.public_url, city.host.as_deref());
    let url = format!("{base}{FEED_PATH}{token}.ics");
    let webcal_url = url
        .strip_prefix("https://")
        .map(|rest| format!("webcal://{rest}"));
    FeedUrls {
        url,
        webcal_url,
        issued_at: feed.created_at,
    }
}

/// The account's feed URL, issuing the feed on first use. If the server secret changed since
/// (the stored hash no longer matches the derived token) a new feed replaces the old one.
/// `city` is the scope's tenant.
pub async fn feed_urls<S: FeedStores + ?Sized>(
    d: &FeedDeps<'_, S>,
    scope: &Scope,
    city: &Tenant,
    account: AccountId,
) -> UseCaseResult<FeedUrls> {
    let tenant = scope.tenant;
    if let Some(feed) = d.store.reservation_feed(tenant, account).await? {
        let token = token_for(d.secret, scope, account, &feed.nonce);
        if token_hash(&token) == feed.token_hash {
            return Ok(urls(d, city, &token, &feed));
        }
        tracing::info!(tenant_id = %tenant, account_id = %account, "feed key changed; feed reissued");
        return reissue_quietly(d, scope, city, account).await;
    }
    let (new, _) = new_feed(d.secret, scope, account);
    let feed = d
        .store
        .ensure_reservation_feed(tenant, &new, scope.now())
        .await?;
    // Two first visits at once agree on whichever feed was stored first.
    let token = token_for(d.secret, scope, account, &feed.nonce);
    Ok(urls(d, city, &token, &feed))
}

async fn reissue_quietly<S: FeedStores + ?Sized>(
    d: &FeedDeps<'_, S>,
    scope: &Scope,
    city: &Tenant,
    account: AccountId,
) -> UseCaseResult<FeedUrls> {
    let (new, token) = new_feed(d.secret, scope, account);
    let feed = d
        .store
        .replace_reservation_feed(scope.tenant, &new, scope.now())
        .await?;
    Ok(urls(d, city, &token, &feed))
}

/// A new feed URL for the account; the old one stops working at once. Audited.
pub async fn reissue<S: FeedStores + ?Sized>(
    d: &FeedDeps<'_, S>,
    scope: &Scope,
    city: &Tenant,
    account: AccountId,
) -> UseCaseResult<FeedUrls> {
    let urls = reissue_quietly(d, scope, city, account).await?;
    let target = Some(account.to_string());
    let details = serde_json::json!({});
    audit::record(
        d.store,
        scope,
        "resident.calendar_feed_reissued",
        target,
        details,
    )
    .await?;
    Ok(urls)
}

/// Whether a reservation belongs in the feed.
fn in_feed(reservation: &Reservation) -> bool {
    matches!(
        reservation.status,
        ReservationStatus::Held
            | ReservationStatus::Confirmed
            | ReservationStatus::Attended
            | ReservationStatus::NoShow
    )
}

/// The calendar behind `file` (`<token>.ics`); `NotFound` for any token that is not a current
/// feed's, for a disabled account, and for anything else.
pub async fn calendar<S: FeedStores + ?Sized>(
    d: &FeedDeps<'_, S>,
    scope: &Scope,
    city: &Tenant,
    file: &str,
) -> UseCaseResult<String> {
    let not_found = || UseCaseError::new(ErrorCode::NotFound);
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    if !looks_like_token(token) {
        return Err(not_found());
    }
    let tenant = scope.tenant;
    let store = d.store;
    let account_id = store
        .reservation_feed_account(tenant, &token_hash(token))
        .await?;
    let account = store.account(tenant, account_id).await?;
    if account.disabled {
        return Err(not_found());
    }
    let now = scope.now();
    let oldest = now - time::Duration::days(PAST_DAYS_KEPT);
    let base_url = base_url_for(d.public_url, city.host.as_deref());
    let city = Bilingual::new(city.name_ja.clone(), city.name_en.clone());
    let mut services = BTreeMap::new();
    let mut offices = BTreeMap::new();
    let mut entries = Vec::new();
    let reservations = store.reservations_of_account(tenant, account_id).await?;
    for reservation in reservations.iter().filter(|r| in_feed(r)) {
        let slot = store.slot(tenant, reservation.slot_id).await?;
        if slot.ends_at < oldest {
            continue;
        }
        let service = match services.get(&reservation.service_id) {
            Some(name) => Bilingual::clone(name),
            None => {
                let s = store.service(tenant, reservation.service_id).await?;
                let name = Bilingual::new(s.name_ja, s.name_en);
                services.insert(reservation.service_id, name.clone());
                name
            }
        };
        let office = match offices.get(&slot.office_id) {
            Some(name) => Bilingual::clone(name),
            None => {
                let o = store.office(tenant, slot.office_id).await?;
                let name = Bilingual::new(o.name_ja, o.name_en);
                offices.insert(slot.office_id, name.clone());
                name
            }
        };
        entries.push(FeedEntry {
            facts: ReservationFacts {
                tenant_id: tenant,
                reservation_id: reservation.id,
                reference: Some(reservation.reference),
                service,
                office,
                city: city.clone(),
                start: slot.starts_at,
                end: slot.ends_at,
                manage_url: format!("{base_url}/my/reservations/{}", reservation.id),
                sequence: 0,
            },
            cancelled: false,
        });
    }
    entries.sort_by_key(|e| e.facts.start);
    Ok(my_reservations_feed(&city, account.locale, &entries, now))
}

/// The request path as request spans print it: a feed URL's token is a credential.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    if path.starts_with(FEED_PATH) {
        Cow::Owned(format!("{FEED_PATH}[redacted]"))
    } else {
        Cow::Borrowed(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_paths_are_logged_without_their_token() {
        assert_eq!(
            loggable_path("/calendar/abcDEF123_-abcDEF123_-abcDEF123_-abcDEF12.ics"),
            "/calendar/[redacted]"
        );
        assert_eq!(loggable_path("/my/reservations"), "/my/reservations");
    }
}
