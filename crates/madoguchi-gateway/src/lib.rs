//! Payment gateways behind one trait. Madoguchi talks to every online provider (Stripe, the
//! built-in sandbox) through [`PaymentGateway`], in its own terms: a payment id and amount in,
//! a provider reference, a redirect and [`PaymentSignal`]s out. Each provider's wire types stay
//! in its adapter (`madoguchi-stripe`, the sandbox in the use cases).
//!
//! Also here: the webhook signature scheme (`Stripe-Signature`), which the sandbox gateway
//! uses too, so both providers' webhooks are checked by one function.

pub mod signature;

use async_trait::async_trait;
use madoguchi_payments::{Method, PaymentAmount, PaymentSignal, Provider};
use time::OffsetDateTime;
use uuid::Uuid;

/// What we ask a provider to collect. The idempotency key is derived from our stored payment
/// row (`madoguchi-payment-<id>`), so asking again after a crash returns the same intent and
/// can never charge twice.
#[derive(Clone, Debug)]
pub struct StartPayment {
    pub payment_id: Uuid,
    pub idempotency_key: String,
    pub amount: PaymentAmount,
    /// Card (with 3-D Secure, Apple Pay and Google Pay), PayPay or konbini.
    pub method: Method,
    /// Shown to the payer on the provider's page: the revenue category and what it is for.
    pub description: String,
    /// Where the provider sends the payer back after paying or giving up.
    pub return_url: String,
    pub cancel_url: String,
    /// The city, so a webhook can be routed back (also in the path of the webhook URL).
    pub tenant_slug: String,
    /// When the payer must have paid by: the seat hold for a booking, the voucher's expiry
    /// for konbini.
    pub pay_by: OffsetDateTime,
    /// Receipt e-mail for the provider's page, when the payer has one.
    pub payer_email: Option<String>,
    /// When our payment row was made. Terms that depend on the time of asking (a session's
    /// expiry) are computed from it, not from the clock, so that asking again after a lost
    /// answer or a restart sends the very same request, which a provider comparing the
    /// parameters of an idempotent retry (Stripe) then replays.
    pub requested_at: OffsetDateTime,
}

/// The provider's answer to [`PaymentGateway::start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedPayment {
    /// The provider's id for what it created (a Checkout Session, a sandbox intent).
    pub provider_ref: String,
    /// The page the payer goes to.
    pub redirect_url: String,
}

/// Konbini payment instructions (Stripe's `konbini_display_details`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KonbiniVoucher {
    pub payment_code: String,
    pub confirmation_number: Option<String>,
    pub hosted_voucher_url: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

/// What a provider says about one payment now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSnapshot {
    pub provider_ref: String,
    /// Our payment id, from the metadata we sent: how a payment is found even when its
    /// provider reference was never stored (a crash right after the provider answered).
    pub payment_id: Option<Uuid>,
    /// `None` while nothing happened yet (a session still open, nothing paid).
    pub signal: Option<PaymentSignal>,
    pub amount_yen: i64,
    /// Lowercase ISO code as the provider sent it; anything but `jpy` is refused upstream.
    pub currency: String,
    /// The card brand or wallet, for receipts and the monthly brand report (`visa`, `paypay`).
    pub method_detail: Option<String>,
    pub konbini: Option<KonbiniVoucher>,
}

/// What we ask a provider to refund.
#[derive(Clone, Debug)]
pub struct StartRefund {
    pub refund_id: Uuid,
    /// `madoguchi-refund-<id>`, from our stored refund row.
    pub idempotency_key: String,
    /// The payment's provider reference.
    pub provider_ref: String,
    pub amount: PaymentAmount,
}

/// What a provider says about one refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundSnapshot {
    pub provider_refund_ref: String,
    pub refund_id: Option<Uuid>,
    pub outcome: RefundOutcome,
    pub amount_yen: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    Pending,
    Succeeded,
    Failed,
}

/// One verified webhook event, in our terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The provider's event id: deliveries are deduplicated by it.
    pub event_id: String,
    /// When the provider created the event: a signal older than the last applied is stale.
    pub created_at: OffsetDateTime,
    /// The provider's event type, kept for the record (`payment_intent.succeeded`).
    pub event_type: String,
    pub subject: EventSubject,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSubject {
    Payment(PaymentSnapshot),
    Refund(RefundSnapshot),
    /// An event type we do not act on (acknowledged, stored, nothing changes).
    Other,
}

/// Why a gateway call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No answer (timeout, connection refused, 5xx): the outcome is unknown, ask again later
    /// with the same idempotency key.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (a 4xx); retrying the same request will not help.
    #[error("provider refused the request: {0}")]
    Refused(String),
    /// The provider does not know the object.
    #[error("provider does not know {0}")]
    NotFound(String),
}

/// Why a webhook delivery is refused (answered with 400, nothing changed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] signature::SignatureError),
    #[error("the payload is not an event: {0}")]
    Malformed(String),
}

/// An online payment provider.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    fn provider(&self) -> Provider;

    /// Creates (or, with the same idempotency key, finds again) what the payer pays on.
    async fn start(&self, request: &StartPayment) -> Result<StartedPayment, GatewayError>;

    /// Asks what became of a payment (the recovery job, the return page).
    async fn retrieve(&self, provider_ref: &str) -> Result<PaymentSnapshot, GatewayError>;

    /// Gives up on a payment not yet made (a hold that ran out).
    async fn cancel(&self, provider_ref: &str) -> Result<(), GatewayError>;

    async fn refund(&self, request: &StartRefund) -> Result<RefundSnapshot, GatewayError>;

    /// Checks a webhook delivery's signature against the city's `secret` and reads it.
    fn read_webhook(
        &self,
        signature_header: &str,
        payload: &[u8],
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<GatewayEvent, WebhookError>;
}

/// The idempotency key of a payment's outbound calls, derived from its stored id.
pub fn payment_idempotency_key(payment_id: Uuid) -> String {
    format!("madoguchi-payment-{payment_id}")
}

/// The idempotency key of a refund's outbound call, derived from its stored id.
pub fn refund_idempotency_key(refund_id: Uuid) -> String {
    format!("madoguchi-refund-{refund_id}")
}
