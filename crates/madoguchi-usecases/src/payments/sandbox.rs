//! The built-in sandbox gateway: a local payment provider for demos and tests, the default of
//! `madoguchi serve`. It keeps its intents in our database (`SandboxStore`), shows the payer a
//! page where they choose what happens (success, decline, a 3-D Secure challenge, delayed),
//! and tells us by webhook, signed with the same `Stripe-Signature` scheme as Stripe and
//! delivered asynchronously with retries by the job queue. The whole flow works offline.
//!
//! It implements [`PaymentGateway`] like the Stripe adapter, so everything above it is the
//! same code for both.

use crate::{UseCaseError, UseCaseResult};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_gateway::signature::{self, TOLERANCE_S};
use madoguchi_gateway::{
    EventSubject, GatewayError, GatewayEvent, KonbiniVoucher, PaymentGateway, PaymentSnapshot,
    RefundOutcome, RefundSnapshot, StartPayment, StartRefund, StartedPayment, WebhookError,
};
use madoguchi_payments::{PaymentSignal, Provider};
use madoguchi_storage::{
    JobStore, NewJob, NewSandboxIntent, NewSandboxRefund, SandboxIntent, SandboxStatus,
    SandboxStore, StorageError,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The job kind that delivers one sandbox webhook.
pub const SANDBOX_WEBHOOK: &str = "sandbox.webhook";
/// The job kind that settles a "delayed" sandbox payment.
pub const SANDBOX_SETTLE: &str = "sandbox.settle";
/// How long a "delayed" payment stays processing.
pub const DELAY: time::Duration = time::Duration::seconds(20);

/// The sandbox as one city's gateway.
#[derive(Clone)]
pub struct SandboxGateway {
    pub store: Arc<dyn SandboxStore>,
    pub tenant: TenantId,
    /// Where the payer's page is served (`{public_url}/sandbox/pay/{id}`).
    pub public_url: String,
}

/// What the payer chose on the sandbox's page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeed,
    Decline,
    /// A 3-D Secure challenge first; the payer then passes or fails it.
    Challenge,
    PassChallenge,
    FailChallenge,
    /// Processing for a while, then succeeded.
    Delayed,
    /// The payer gives up.
    Cancel,
}

impl Outcome {
    pub fn parse(raw: &str) -> Option<Outcome> {
        match raw {
            "succeed" => Some(Outcome::Succeed),
            "decline" => Some(Outcome::Decline),
            "challenge" => Some(Outcome::Challenge),
            "pass_challenge" => Some(Outcome::PassChallenge),
            "fail_challenge" => Some(Outcome::FailChallenge),
            "delayed" => Some(Outcome::Delayed),
            "cancel" => Some(Outcome::Cancel),
            _ => None,
        }
    }

    fn status(self) -> SandboxStatus {
        match self {
            Outcome::Succeed | Outcome::PassChallenge => SandboxStatus::Succeeded,
            Outcome::Decline | Outcome::FailChallenge => SandboxStatus::Failed,
            Outcome::Challenge => SandboxStatus::RequiresAction,
            Outcome::Delayed => SandboxStatus::Processing,
            Outcome::Cancel => SandboxStatus::Canceled,
        }
    }
}

/// The sandbox's event, as it is sent and read back.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct WireEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: WireData,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct WireData {
    intent: Uuid,
    payment_id: Option<Uuid>,
    status: String,
    amount_yen: i64,
    currency: String,
    method: String,
    #[serde(default)]
    refund_id: Option<Uuid>,
    #[serde(default)]
    sandbox_refund: Option<Uuid>,
}

fn signal_of(status: SandboxStatus) -> Option<PaymentSignal> {
    match status {
        SandboxStatus::Open => None,
        SandboxStatus::RequiresAction => Some(PaymentSignal::RequiresAction),
        SandboxStatus::Processing => Some(PaymentSignal::Processing),
        SandboxStatus::Succeeded => Some(PaymentSignal::Succeeded),
        SandboxStatus::Failed => Some(PaymentSignal::Failed),
        SandboxStatus::Expired => Some(PaymentSignal::Expired),
        SandboxStatus::Canceled => Some(PaymentSignal::Canceled),
    }
}

fn storage_error(error: StorageError) -> GatewayError {
    match error {
        StorageError::NotFound => GatewayError::NotFound("sandbox intent".into()),
        StorageError::PaymentRule(code) => GatewayError::Refused(code.as_str().to_owned()),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

/// The konbini instructions the sandbox shows (on its page and to the gateway's callers):
/// numbers derived from the intent's id.
pub fn voucher(intent: &SandboxIntent, public_url: &str) -> Option<KonbiniVoucher> {
    if intent.method != "konbini" {
        return None;
    }
    let digits: String = intent
        .id
        .as_u128()
        .to_string()
        .chars()
        .rev()
        .take(11)
        .collect();
    Some(KonbiniVoucher {
        payment_code: digits,
        confirmation_number: Some(intent.id.simple().to_string()[..6].to_uppercase()),
        hosted_voucher_url: Some(format!("{public_url}/sandbox/pay/{}", intent.id)),
        expires_at: Some(intent.pay_by),
    })
}

impl SandboxGateway {
    fn snapshot(&self, intent: &SandboxIntent) -> PaymentSnapshot {
        PaymentSnapshot {
            provider_ref: intent.id.to_string(),
            payment_id: Some(intent.payment_id),
            signal: signal_of(intent.status),
            amount_yen: intent.amount_yen,
            currency: "jpy".into(),
            method_detail: (intent.method == "card").then(|| "visa".to_owned()),
            konbini: voucher(intent, &self.public_url),
        }
    }

    fn intent_id(provider_ref: &str) -> Result<Uuid, GatewayError> {
        Uuid::parse_str(provider_ref).map_err(|_| GatewayError::NotFound(provider_ref.into()))
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    fn provider(&self) -> Provider {
        Provider::Sandbox
    }

    async fn start(&self, request: &StartPayment) -> Result<StartedPayment, GatewayError> {
        let intent = self
            .store
            .sandbox_create_intent(
                self.tenant,
                &NewSandboxIntent {
                    id: Uuid::now_v7(),
                    idempotency_key: request.idempotency_key.clone(),
                    payment_id: request.payment_id,
                    amount_yen: request.amount.get(),
                    method: request.method.to_stored(),
                    description: request.description.clone(),
                    return_url: request.return_url.clone(),
                    cancel_url: request.cancel_url.clone(),
                    pay_by: request.pay_by,
                    at: madoguchi_storage::now_utc(),
                },
            )
            .await
            .map_err(storage_error)?;
        Ok(StartedPayment {
            provider_ref: intent.id.to_string(),
            redirect_url: format!("{}/sandbox/pay/{}", self.public_url, intent.id),
        })
    }

    async fn retrieve(&self, provider_ref: &str) -> Result<PaymentSnapshot, GatewayError> {
        let intent = self
            .store
            .sandbox_intent(self.tenant, Self::intent_id(provider_ref)?)
            .await
            .map_err(storage_error)?;
        Ok(self.snapshot(&intent))
    }

    async fn cancel(&self, provider_ref: &str) -> Result<(), GatewayError> {
        let id = Self::intent_id(provider_ref)?;
        let intent = self
            .store
            .sandbox_intent(self.tenant, id)
            .await
            .map_err(storage_error)?;
        match intent.status {
            SandboxStatus::Expired | SandboxStatus::Canceled => Ok(()),
            SandboxStatus::Succeeded => Err(GatewayError::Refused("already paid".into())),
            _ => {
                self.store
                    .sandbox_set_status(
                        self.tenant,
                        id,
                        SandboxStatus::Expired,
                        madoguchi_storage::now_utc(),
                    )
                    .await
                    .map_err(storage_error)?;
                Ok(())
            }
        }
    }

    async fn refund(&self, request: &StartRefund) -> Result<RefundSnapshot, GatewayError> {
        let refund = self
            .store
            .sandbox_create_refund(
                self.tenant,
                &NewSandboxRefund {
                    id: Uuid::now_v7(),
                    idempotency_key: request.idempotency_key.clone(),
                    intent_id: Self::intent_id(&request.provider_ref)?,
                    refund_id: request.refund_id,
                    amount_yen: request.amount.get(),
                    at: madoguchi_storage::now_utc(),
                },
            )
            .await
            .map_err(storage_error)?;
        Ok(RefundSnapshot {
            provider_refund_ref: refund.id.to_string(),
            refund_id: Some(refund.refund_id),
            outcome: RefundOutcome::Succeeded,
            amount_yen: refund.amount_yen,
        })
    }

    fn read_webhook(
        &self,
        signature_header: &str,
        payload: &[u8],
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<GatewayEvent, WebhookError> {
        signature::verify(signature_header, payload, secret, now, TOLERANCE_S)?;
        let wire: WireEvent =
            serde_json::from_slice(payload).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let created_at = OffsetDateTime::from_unix_timestamp(wire.created)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let status = SandboxStatus::parse(&wire.data.status)
            .ok_or_else(|| WebhookError::Malformed("unknown status".into()))?;
        let subject = if wire.kind == "refund.succeeded" {
            EventSubject::Refund(RefundSnapshot {
                provider_refund_ref: wire
                    .data
                    .sandbox_refund
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                refund_id: wire.data.refund_id,
                outcome: RefundOutcome::Succeeded,
                amount_yen: wire.data.amount_yen,
            })
        } else if wire.kind.starts_with("payment.") {
            EventSubject::Payment(PaymentSnapshot {
                provider_ref: wire.data.intent.to_string(),
                payment_id: wire.data.payment_id,
                signal: signal_of(status),
                amount_yen: wire.data.amount_yen,
                currency: wire.data.currency.clone(),
                method_detail: (wire.data.method == "card").then(|| "visa".to_owned()),
                konbini: None,
            })
        } else {
            EventSubject::Other
        };
        Ok(GatewayEvent {
            event_id: wire.id,
            created_at,
            event_type: wire.kind,
            subject,
        })
    }
}

/// The body of the event telling us an intent is now `intent.status`.
pub fn event_body(intent: &SandboxIntent, at: OffsetDateTime) -> String {
    let event = WireEvent {
        id: format!("evt_{}", Uuid::now_v7().simple()),
        kind: format!("payment.{}", intent.status.as_str()),
        // Microseconds matter: two events of one second must still be ordered. The wire
        // carries whole seconds like Stripe; the id (time-ordered) breaks ties in our logs.
        created: at.unix_timestamp(),
        data: WireData {
            intent: intent.id,
            payment_id: Some(intent.payment_id),
            status: intent.status.as_str().to_owned(),
            amount_yen: intent.amount_yen,
            currency: "jpy".into(),
            method: intent.method.clone(),
            refund_id: None,
            sandbox_refund: None,
        },
    };
    serde_json::to_string(&event).unwrap_or_default()
}

/// The payload of a [`SANDBOX_WEBHOOK`] job: which city's hook, and the body to sign and send.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub tenant: TenantId,
    pub body: String,
}

/// Enqueues the delivery of `body` (retried with backoff by the job runner).
pub async fn enqueue_webhook<S: JobStore + ?Sized>(
    store: &S,
    tenant: TenantId,
    body: String,
    at: OffsetDateTime,
) -> UseCaseResult<()> {
    let payload =
        serde_json::to_value(WebhookDelivery { tenant, body }).map_err(UseCaseError::internal)?;
    store
        .enqueue_job(&NewJob {
            tenant_id: Some(tenant),
            kind: SANDBOX_WEBHOOK.into(),
            payload,
            run_at: at,
            max_attempts: 8,
        })
        .await?;
    Ok(())
}

/// The payer chose `outcome` on the sandbox's page for intent `id`. Returns the intent as it is
/// now; a choice its state does not allow (paying twice, say) is refused with `conflict`.
pub async fn choose<S: SandboxStore + JobStore + ?Sized>(
    store: &S,
    tenant: TenantId,
    id: Uuid,
    outcome: Outcome,
    now: OffsetDateTime,
) -> UseCaseResult<SandboxIntent> {
    let intent = store.sandbox_intent(tenant, id).await?;
    if intent.pay_by <= now && intent.status != SandboxStatus::Expired {
        let expired = store
            .sandbox_set_status(tenant, id, SandboxStatus::Expired, now)
            .await?;
        enqueue_webhook(store, tenant, event_body(&expired, now), now).await?;
        return Err(UseCaseError::new(ErrorCode::HoldExpired));
    }
    let wanted = outcome.status();
    // The second step of a challenge only follows a challenge.
    if matches!(outcome, Outcome::PassChallenge | Outcome::FailChallenge)
        && intent.status != SandboxStatus::RequiresAction
    {
        return Err(UseCaseError::new(ErrorCode::Conflict));
    }
    let moved = store.sandbox_set_status(tenant, id, wanted, now).await?;
    enqueue_webhook(store, tenant, event_body(&moved, now), now).await?;
    if outcome == Outcome::Delayed {
        store
            .enqueue_job(&NewJob {
                tenant_id: Some(tenant),
                kind: SANDBOX_SETTLE.into(),
                payload: serde_json::json!({"tenant": tenant, "intent": id}),
                run_at: now + DELAY,
                max_attempts: 5,
            })
            .await?;
    }
    Ok(moved)
}

/// Settles a "delayed" payment: processing → succeeded, with its webhook.
pub async fn settle<S: SandboxStore + JobStore + ?Sized>(
    store: &S,
    tenant: TenantId,
    id: Uuid,
    now: OffsetDateTime,
) -> UseCaseResult<()> {
    let intent = store.sandbox_intent(tenant, id).await?;
    if intent.status != SandboxStatus::Processing {
        return Ok(());
    }
    let done = store
        .sandbox_set_status(tenant, id, SandboxStatus::Succeeded, now)
        .await?;
    enqueue_webhook(store, tenant, event_body(&done, now), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_name_parses() {
        for (raw, outcome) in [
            ("succeed", Outcome::Succeed),
            ("decline", Outcome::Decline),
            ("challenge", Outcome::Challenge),
            ("pass_challenge", Outcome::PassChallenge),
            ("fail_challenge", Outcome::FailChallenge),
            ("delayed", Outcome::Delayed),
            ("cancel", Outcome::Cancel),
        ] {
            assert_eq!(Outcome::parse(raw), Some(outcome));
        }
        assert_eq!(Outcome::parse("refund"), None);
    }
}
