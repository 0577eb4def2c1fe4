//! The built-in sandbox gateway's own records: what a payment provider keeps on its side (its
//! intents and refunds), stored in our database so demos and tests work offline and survive a
//! restart. Only the sandbox gateway (`madoguchi_usecases::payments::sandbox`) uses this.

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::TenantId;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a sandbox intent is, as a provider would report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxStatus {
    /// Waiting for the payer on the sandbox's payment page.
    Open,
    /// The payer must pass the 3-D Secure challenge (or pay the konbini voucher).
    RequiresAction,
    /// Chosen "delayed": the outcome comes later.
    Processing,
    Succeeded,
    Failed,
    Expired,
    Canceled,
}

impl SandboxStatus {
    pub const ALL: [SandboxStatus; 7] = [
        SandboxStatus::Open,
        SandboxStatus::RequiresAction,
        SandboxStatus::Processing,
        SandboxStatus::Succeeded,
        SandboxStatus::Failed,
        SandboxStatus::Expired,
        SandboxStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SandboxStatus::Open => "open",
            SandboxStatus::RequiresAction => "requires_action",
            SandboxStatus::Processing => "processing",
            SandboxStatus::Succeeded => "succeeded",
            SandboxStatus::Failed => "failed",
            SandboxStatus::Expired => "expired",
            SandboxStatus::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<SandboxStatus> {
        SandboxStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// May the sandbox move from `self` to `to`? A provider never un-pays: succeeded, expired
    /// and canceled are final; a failed attempt may be retried (back to open).
    pub fn may_become(self, to: SandboxStatus) -> bool {
        use SandboxStatus::*;
        match (self, to) {
            (Succeeded | Expired | Canceled, _) => false,
            (Failed, Open | Expired | Canceled) => true,
            (Failed, _) => false,
            (Open | RequiresAction | Processing, Open) => false,
            (Open | RequiresAction | Processing, next) => next != self,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewSandboxIntent {
    pub id: Uuid,
    pub idempotency_key: String,
    pub payment_id: Uuid,
    pub amount_yen: i64,
    /// Our stored method (`card`, `paypay`, `konbini`).
    pub method: String,
    pub description: String,
    pub return_url: String,
    pub cancel_url: String,
    pub pay_by: OffsetDateTime,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxIntent {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub idempotency_key: String,
    pub payment_id: Uuid,
    pub amount_yen: i64,
    pub method: String,
    pub description: String,
    pub return_url: String,
    pub cancel_url: String,
    pub status: SandboxStatus,
    pub pay_by: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewSandboxRefund {
    pub id: Uuid,
    pub idempotency_key: String,
    pub intent_id: Uuid,
    /// Our refund's id (what the refund webhook carries back).
    pub refund_id: Uuid,
    pub amount_yen: i64,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxRefund {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub idempotency_key: String,
    pub intent_id: Uuid,
    pub refund_id: Uuid,
    pub amount_yen: i64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// Creates an intent, or returns the one created before with the same idempotency key
    /// (like a provider does). The same key with a different payment id or amount is refused
    /// with `StorageError::PaymentRule(ErrorCode::IdempotencyKeyReused)`.
    async fn sandbox_create_intent(
        &self,
        tenant: TenantId,
        new: &NewSandboxIntent,
    ) -> StorageResult<SandboxIntent>;
    async fn sandbox_intent(&self, tenant: TenantId, id: Uuid) -> StorageResult<SandboxIntent>;
    /// Moves an intent to `to` if [`SandboxStatus::may_become`] allows it (decided under the
    /// row lock / `BEGIN IMMEDIATE`); otherwise `StorageError::PaymentRule(ErrorCode::Conflict)`
    /// and nothing changes. Returns the intent as it is afterwards.
    async fn sandbox_set_status(
        &self,
        tenant: TenantId,
        id: Uuid,
        to: SandboxStatus,
        at: OffsetDateTime,
    ) -> StorageResult<SandboxIntent>;
    /// Creates a refund of a succeeded intent, idempotent by key; refunds together never exceed
    /// the intent's amount (`PaymentRule(RefundExceedsPaid)`), and only a succeeded intent can
    /// be refunded (`PaymentRule(PaymentNotRefundable)`). Sandbox refunds succeed at once.
    async fn sandbox_create_refund(
        &self,
        tenant: TenantId,
        new: &NewSandboxRefund,
    ) -> StorageResult<SandboxRefund>;
}
