//! The Stripe adapter: [`StripeGateway`] implements [`PaymentGateway`] with Stripe Checkout
//! (card with 3-D Secure and no instalments, Apple Pay / Google Pay, PayPay, konbini) through
//! async-stripe's client, and reads Stripe's webhooks after checking their `Stripe-Signature`
//! with [`madoguchi_gateway::signature::verify`].
//!
//! Architecture invariant: Stripe's wire types stay in this crate, and inside it in
//! [`transformers`], the one module that reads or builds their fields. What leaves the crate is
//! `madoguchi_gateway`'s types.
//!
//! What a caller should know:
//! - A payment's `provider_ref` is its Checkout Session id (`cs_…`). Events about a
//!   PaymentIntent carry the PaymentIntent's id (`pi_…`) instead, since a PaymentIntent does not
//!   name its session; both carry our payment id from the metadata we set
//!   (`madoguchi_payment_id`), so match a [`PaymentSnapshot`] on `payment_id` first and on
//!   `provider_ref` only when there is none.
//! - One Stripe event may be followed by another saying the same in other words (an expired
//!   session and its canceled PaymentIntent; `charge.refunded` and `refund.updated`): the
//!   payment and refund state machines take the first and ignore the rest.
//! - `start` sends the request's idempotency key, so asking again after a lost answer returns
//!   the same session. Stripe compares the parameters too, and `expires_at` would depend on the
//!   time of asking when `pay_by` lies outside Stripe's window; the gateway therefore computes
//!   the terms from [`StartPayment::requested_at`] (when our payment row was made), so a retry
//!   from any node, before or after a restart, sends the same request. A first request that
//!   never reached Stripe and is retried more than five minutes later is refused
//!   (its `expires_at` is then under Stripe's 30 minutes ahead): nothing was shown to the
//!   payer, and the payment expires at its `pay_by`.

pub mod transformers;

use std::time::Duration;

use async_trait::async_trait;
use madoguchi_gateway::signature::{self, TOLERANCE_S};
use madoguchi_gateway::{
    GatewayError, GatewayEvent, PaymentGateway, PaymentSnapshot, RefundSnapshot, StartPayment,
    StartRefund, StartedPayment, WebhookError,
};
use madoguchi_payments::{Method, Provider};
use secrecy::{ExposeSecret, SecretString};
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use time::macros::offset;
use time::{Duration as TimeSpan, OffsetDateTime};
use transformers::SessionStage;

/// Stripe's API when no other base is configured.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// How long one call may take before it counts as no answer (`Unavailable`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How a gateway reaches Stripe.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `sk_…` or a restricted `rk_…` key; never logged (`SecretString` prints as redacted).
    pub secret_key: SecretString,
    /// Another API base than [`STRIPE_API_BASE`] (a Stripe-compatible fake in tests).
    pub api_base: Option<String>,
    pub request_timeout: Duration,
}

impl StripeConfig {
    /// Stripe's own API, with the default timeout.
    pub fn new(secret_key: SecretString) -> Self {
        StripeConfig {
            secret_key,
            api_base: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Why a gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the Stripe secret key may hold visible ASCII characters only")]
    SecretKey,
    #[error("the Stripe API base is not a URL: {0}")]
    ApiBase(String),
}

/// The expiry terms of a session: computed from the request alone, so a retry sends the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Terms {
    expires_at: i64,
    konbini_days: u32,
}

/// Stripe accepts a session's `expires_at` from 30 minutes to 24 hours after creation, by its
/// own clock; five minutes of margin at each end absorb clock skew and the request's travel.
const SESSION_LIFE_MIN: TimeSpan = TimeSpan::minutes(35);
const SESSION_LIFE_MAX: TimeSpan = TimeSpan::minutes(24 * 60 - 5);

/// When the Checkout Session expires: `pay_by`, moved into Stripe's window. A hold shorter than
/// Stripe's minimum outlives its session's start; the caller cancels at `pay_by` (see
/// [`PaymentGateway::cancel`]).
fn session_expires_at(pay_by: OffsetDateTime, now: OffsetDateTime) -> i64 {
    pay_by
        .clamp(now + SESSION_LIFE_MIN, now + SESSION_LIFE_MAX)
        .unix_timestamp()
}

/// The konbini voucher's life in calendar days (Tokyo), so that it lapses at 23:59:59 JST on
/// `pay_by`'s day: at least 1, at most Stripe's 60.
fn konbini_days(pay_by: OffsetDateTime, now: OffsetDateTime) -> u32 {
    let days =
        (pay_by.to_offset(offset!(+9)).date() - now.to_offset(offset!(+9)).date()).whole_days();
    u32::try_from(days.clamp(1, 60)).unwrap_or(1)
}

/// A provider reference as it may appear in a path: Stripe ids are letters, digits and `_`.
fn object_id(raw: &str) -> Result<&str, GatewayError> {
    let plausible = !raw.is_empty()
        && raw.len() <= 255
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plausible {
        Ok(raw)
    } else {
        Err(GatewayError::NotFound(
            "a Stripe object with that id".to_owned(),
        ))
    }
}

fn idempotency_key(raw: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(raw)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| GatewayError::Refused(format!("idempotency key: {e}")))
}

/// Stripe behind [`PaymentGateway`].
pub struct StripeGateway {
    client: stripe::Client,
    api_base: String,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripeGateway {
    pub fn new(config: StripeConfig) -> Result<Self, ConfigError> {
        let mut api_base = config
            .api_base
            .clone()
            .unwrap_or_else(|| STRIPE_API_BASE.to_owned());
        // The client appends `v1/…` to the base as written.
        if !api_base.ends_with('/') {
            api_base.push('/');
        }
        let client = stripe::ClientBuilder::new(config.secret_key.expose_secret())
            .url(api_base.clone())
            .timeout(config.request_timeout)
            .app_info(
                "madoguchi",
                Some(env!("CARGO_PKG_VERSION").to_owned()),
                None,
            )
            .build()
            .map_err(|error| match error {
                stripe::StripeError::ConfigError(message) => ConfigError::ApiBase(message),
                _ => ConfigError::SecretKey,
            })?;
        Ok(StripeGateway { client, api_base })
    }

    /// The expiry terms for `request`, from the time our payment was made: the same for every
    /// retry of one payment, on any node.
    fn terms_for(request: &StartPayment) -> Terms {
        Terms {
            expires_at: session_expires_at(request.pay_by, request.requested_at),
            konbini_days: konbini_days(request.pay_by, request.requested_at),
        }
    }

    async fn session_stage(&self, session_id: &str) -> Result<SessionStage, GatewayError> {
        let session = transformers::session_retrieval(session_id)
            .send(&self.client)
            .await
            .map_err(transformers::gateway_error)?;
        Ok(transformers::session_stage(&session))
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    /// Creates the Checkout Session (see [`transformers::checkout_session_request`]).
    async fn start(&self, request: &StartPayment) -> Result<StartedPayment, GatewayError> {
        let terms = Self::terms_for(request);
        let konbini_days = match request.method {
            Method::Konbini => terms.konbini_days,
            _ => 0,
        };
        let session =
            transformers::checkout_session_request(request, terms.expires_at, konbini_days)
                .customize()
                .request_strategy(idempotency_key(&request.idempotency_key)?)
                .send(&self.client)
                .await
                .map_err(transformers::gateway_error)?;
        transformers::started_payment(&session)
    }

    /// The session with its PaymentIntent and the PaymentIntent's charge; a `pi_…` reference
    /// is read as a PaymentIntent.
    async fn retrieve(&self, provider_ref: &str) -> Result<PaymentSnapshot, GatewayError> {
        let id = object_id(provider_ref)?;
        if id.starts_with("pi_") {
            let pi = transformers::intent_retrieval(id)
                .send(&self.client)
                .await
                .map_err(transformers::gateway_error)?;
            return Ok(transformers::intent_snapshot(&pi));
        }
        let session = transformers::session_retrieval(id)
            .send(&self.client)
            .await
            .map_err(transformers::gateway_error)?;
        Ok(transformers::session_snapshot(&session))
    }

    /// Expires an open session. A konbini session whose voucher is out but unpaid is stopped by
    /// canceling its PaymentIntent, so the voucher can no longer be paid. An expired (or
    /// otherwise finished, unpaid) session is fine as it is; a paid one is refused: refund it.
    async fn cancel(&self, provider_ref: &str) -> Result<(), GatewayError> {
        let id = object_id(provider_ref)?;
        let mut stage = self.session_stage(id).await?;
        // Twice at most: the payer may finish between our look and our cancel.
        for _ in 0..2 {
            let attempt = match &stage {
                SessionStage::Expired | SessionStage::Settled => return Ok(()),
                SessionStage::Paid => {
                    return Err(GatewayError::Refused(format!(
                        "Stripe session {id} is already paid; refund it instead"
                    )));
                }
                SessionStage::Open => transformers::session_expiry(id)
                    .send(&self.client)
                    .await
                    .map(|_| ()),
                SessionStage::AwaitingPayment { intent_id } => {
                    transformers::intent_cancellation(intent_id)
                        .send(&self.client)
                        .await
                        .map(|_| ())
                }
            };
            match attempt.map_err(transformers::gateway_error) {
                Ok(()) => return Ok(()),
                Err(GatewayError::Refused(_)) => stage = self.session_stage(id).await?,
                Err(other) => return Err(other),
            }
        }
        Err(GatewayError::Refused(format!(
            "Stripe session {id} changed while it was being canceled"
        )))
    }

    /// Refunds against the session's PaymentIntent. A konbini payment has no card to return
    /// the money to: Stripe creates the refund in `requires_action` (reported as
    /// `RefundOutcome::Pending`) and e-mails the payer for bank details; a later
    /// `refund.updated` event says how it ended.
    async fn refund(&self, request: &StartRefund) -> Result<RefundSnapshot, GatewayError> {
        let id = object_id(&request.provider_ref)?;
        let intent_id = if id.starts_with("pi_") {
            id.to_owned()
        } else {
            let session = transformers::session_retrieval(id)
                .send(&self.client)
                .await
                .map_err(transformers::gateway_error)?;
            transformers::payment_intent_id(&session).ok_or_else(|| {
                GatewayError::Refused(format!("nothing was paid on Stripe session {id}"))
            })?
        };
        let refund = transformers::refund_request(request, &intent_id)
            .customize()
            .request_strategy(idempotency_key(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(transformers::gateway_error)?;
        Ok(transformers::refund_snapshot(&refund))
    }

    fn read_webhook(
        &self,
        signature_header: &str,
        payload: &[u8],
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<GatewayEvent, WebhookError> {
        signature::verify(signature_header, payload, secret, now, TOLERANCE_S)?;
        transformers::read_event(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_short_hold_gets_stripes_shortest_session() {
        let now = datetime!(2026-06-01 01:00 UTC);
        assert_eq!(
            session_expires_at(now + TimeSpan::minutes(15), now),
            (now + SESSION_LIFE_MIN).unix_timestamp()
        );
    }

    #[test]
    fn a_far_deadline_gets_stripes_longest_session() {
        let now = datetime!(2026-06-01 01:00 UTC);
        assert_eq!(
            session_expires_at(now + TimeSpan::days(10), now),
            (now + SESSION_LIFE_MAX).unix_timestamp()
        );
    }

    #[test]
    fn a_deadline_inside_the_window_is_kept() {
        let now = datetime!(2026-06-01 01:00 UTC);
        let pay_by = now + TimeSpan::hours(3);
        assert_eq!(session_expires_at(pay_by, now), pay_by.unix_timestamp());
    }

    #[test]
    fn konbini_days_count_tokyo_calendar_days() {
        // 23:00 JST on 1 June; pay by 00:30 JST on 3 June → 2 days.
        let now = datetime!(2026-06-01 14:00 UTC);
        assert_eq!(konbini_days(datetime!(2026-06-02 15:30 UTC), now), 2);
        assert_eq!(konbini_days(now, now), 1);
        assert_eq!(konbini_days(now + TimeSpan::days(365), now), 60);
    }

    #[test]
    fn ids_that_could_change_the_path_are_refused() {
        assert!(object_id("cs_test_a1B2").is_ok());
        assert!(object_id("cs_1/expire").is_err());
        assert!(object_id("../v1/refunds").is_err());
        assert!(object_id("").is_err());
    }

    #[test]
    fn the_debug_form_shows_no_key() {
        let gateway = StripeGateway::new(StripeConfig::new(SecretString::from(
            "sk_test_do_not_print_me",
        )))
        .unwrap();
        assert!(!format!("{gateway:?}").contains("do_not_print_me"));
    }
}
