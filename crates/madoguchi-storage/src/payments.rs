//! Payments storage: revenue categories, receivables (調定), payments and their transitions,
//! provider webhook events, refunds and the double-entry ledger.
//!
//! Architecture invariant: every change here is decided by `madoguchi-payments` *inside* the
//! backend's transaction, after the rows it depends on are locked (PostgreSQL `FOR UPDATE`,
//! SQLite `BEGIN IMMEDIATE`), and its ledger posting, its transition or event row and its
//! audit entry are written in that same transaction. A refusal comes back as
//! [`StorageError::PaymentRule`] with nothing written.
//!
//! [`StorageError::PaymentRule`]: crate::StorageError::PaymentRule

use crate::{NewAuditEntry, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{
    AccountId, LedgerEntryId, OfficeId, PaymentId, ReceivableId, RefundId, TenantId,
};
use madoguchi_payments::ledger::PostingKind;
use madoguchi_payments::{
    Method, PaymentAmount, PaymentSignal, PaymentStatus, Provider, ReceivableStatus, RefundStatus,
    RevenueCategory, RevenueCategoryCode,
};
use serde::Serialize;
use time::{Date, OffsetDateTime};

/// A receivable to assess.
#[derive(Clone, Debug)]
pub struct NewReceivable {
    pub id: ReceivableId,
    pub category: RevenueCategoryCode,
    pub description: String,
    pub payer_account: Option<AccountId>,
    /// Personal data: never logged.
    pub payer_name: String,
    pub office: Option<OfficeId>,
    pub fiscal_year: i32,
    pub due_on: Date,
    pub amount: PaymentAmount,
    /// What it is for (`reservation`, the reservation's id): one receivable per source.
    pub source: Option<(String, String)>,
    pub at: OffsetDateTime,
}

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Receivable {
    pub id: ReceivableId,
    pub tenant_id: TenantId,
    pub category: RevenueCategoryCode,
    pub description: String,
    pub payer_account: Option<AccountId>,
    pub payer_name: String,
    pub office: Option<OfficeId>,
    pub fiscal_year: i32,
    pub due_on: Date,
    pub original_yen: i64,
    pub assessed_yen: i64,
    pub paid_yen: i64,
    pub status: ReceivableStatus,
    pub source: Option<(String, String)>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Receivable {
    /// The amounts the pure rules decide on.
    pub fn state(&self) -> madoguchi_payments::ReceivableState {
        madoguchi_payments::ReceivableState {
            category: self.category.clone(),
            assessed_yen: self.assessed_yen,
            paid_yen: self.paid_yen,
            closure: match self.status {
                ReceivableStatus::Cancelled => Some(madoguchi_payments::Closure::Cancelled),
                ReceivableStatus::WrittenOff => Some(madoguchi_payments::Closure::WrittenOff),
                ReceivableStatus::Open
                | ReceivableStatus::PartlyPaid
                | ReceivableStatus::Paid
                | ReceivableStatus::Overpaid => None,
            },
        }
    }

    pub fn outstanding_yen(&self) -> i64 {
        self.state().outstanding_yen()
    }
}

/// The payer's name is personal data: `Debug` leaves it out.
impl std::fmt::Debug for Receivable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receivable")
            .field("id", &self.id)
            .field("category", &self.category)
            .field("assessed_yen", &self.assessed_yen)
            .field("paid_yen", &self.paid_yen)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Which receivables to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct ReceivableFilter {
    pub payer_account: Option<AccountId>,
    pub status: Option<ReceivableStatus>,
    pub category: Option<RevenueCategoryCode>,
    /// Matches the description or the payer's name (staff search).
    pub text: Option<String>,
    pub limit: i64,
}

/// Who started a payment or a refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Initiator {
    pub kind: crate::ActorKind,
    pub account: Option<AccountId>,
}

/// A payment to start (online) or to record (at the counter).
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub id: PaymentId,
    pub receivable: ReceivableId,
    pub provider: Provider,
    pub method: Method,
    pub amount: PaymentAmount,
    pub payer_account: Option<AccountId>,
    pub initiator: Initiator,
    pub office: Option<OfficeId>,
    /// The caller's own Idempotency-Key (API clients), scoped by the initiator.
    pub client_key: Option<String>,
    /// Until when the payer may pay (online).
    pub pay_by: Option<OffsetDateTime>,
    /// The counter terminal's slip number (cashless at a counter).
    pub slip_number: Option<String>,
    /// Where the provider sends the payer back after paying or giving up (online): kept so
    /// that a retry of the first call to the provider asks with the very same request.
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub receivable: ReceivableId,
    pub provider: Provider,
    pub method: Method,
    pub amount_yen: i64,
    pub status: PaymentStatus,
    /// The key every outbound call for this payment carries (`madoguchi-payment-<id>`).
    pub idempotency_key: String,
    pub provider_ref: Option<String>,
    pub redirect_url: Option<String>,
    pub method_detail: Option<String>,
    pub slip_number: Option<String>,
    /// Konbini payment instructions as the provider gave them (JSON).
    pub konbini: Option<serde_json::Value>,
    pub pay_by: Option<OffsetDateTime>,
    /// Where the provider sends the payer back (online payments), as first asked for.
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub last_signal_at: Option<OffsetDateTime>,
    pub payer_account: Option<AccountId>,
    pub initiator: Initiator,
    pub office: Option<OfficeId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a provider (or the recovery job) reported about a payment.
#[derive(Clone, Debug)]
pub struct SignalReport {
    pub signal: PaymentSignal,
    /// When it happened by the provider's clock (the event's `created`, or the time the job
    /// asked): a report older than the last one applied is stale.
    pub happened_at: OffsetDateTime,
    /// `webhook`, `recovery`, `return_page`, `counter`, `expiry`.
    pub source: &'static str,
    /// The amount the provider says was paid (checked against the payment's).
    pub amount_yen: i64,
    pub method_detail: Option<String>,
    pub konbini: Option<serde_json::Value>,
    pub at: OffsetDateTime,
}

/// A verified webhook event, recorded once per event id.
#[derive(Clone, Debug)]
pub struct ProviderEventRecord {
    pub provider: Provider,
    pub event_id: String,
    pub event_type: String,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub payload: serde_json::Value,
}

/// What became of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignalOutcome {
    /// The payment moved (and, for a success, the receivable and the ledger with it).
    Applied(Payment),
    /// The payment was already in that state.
    AlreadyThere(Payment),
    /// Older than what was applied, or after a final state: nothing changed.
    Stale(Payment),
    /// This webhook event id was recorded before: nothing changed.
    DuplicateEvent,
}

/// Why a provider event was kept without changing a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventDisposition {
    UnknownPayment,
    Ignored,
}

/// A refund to request.
#[derive(Clone, Debug)]
pub struct NewRefund {
    pub id: RefundId,
    pub payment: PaymentId,
    pub amount: PaymentAmount,
    pub reason: String,
    pub requested_by: Initiator,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: RefundId,
    pub tenant_id: TenantId,
    pub payment: PaymentId,
    pub amount_yen: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub requested_by: Initiator,
    pub decided_by: Option<AccountId>,
    pub decided_at: Option<OffsetDateTime>,
    pub decision_note: Option<String>,
    pub idempotency_key: String,
    pub provider_refund_ref: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A finance user's decision on a requested refund.
#[derive(Clone, Debug)]
pub struct RefundVerdict {
    pub approve: bool,
    pub by: AccountId,
    pub note: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, Default)]
pub struct RefundFilter {
    pub status: Option<RefundStatus>,
    pub payment: Option<PaymentId>,
    pub limit: i64,
}

#[derive(Clone, Debug, Default)]
pub struct PaymentFilter {
    pub receivable: Option<ReceivableId>,
    pub payer_account: Option<AccountId>,
    pub status: Option<PaymentStatus>,
    pub limit: i64,
}

/// One ledger entry with its lines, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub posted_at: OffsetDateTime,
    pub accounting_date: Date,
    pub kind: PostingKind,
    pub receivable: Option<ReceivableId>,
    pub payment: Option<PaymentId>,
    pub refund: Option<RefundId>,
    /// (account name, signed yen: debit > 0, credit < 0)
    pub lines: Vec<(String, i64)>,
}

/// One account's totals in a trial balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrialBalanceRow {
    pub account: String,
    pub debit_yen: i64,
    pub credit_yen: i64,
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Adds a revenue category or renames one (its code and tax flag never change meaning:
    /// a category that was a tax stays one).
    async fn save_revenue_category(
        &self,
        tenant: TenantId,
        category: &RevenueCategory,
    ) -> StorageResult<()>;
    async fn revenue_categories(&self, tenant: TenantId) -> StorageResult<Vec<RevenueCategory>>;

    /// 調定: stores the receivable, its `issued` event, its posting and `audit`, atomically.
    /// A second receivable for the same source answers `Duplicate { "receivables_source" }`.
    async fn create_receivable(
        &self,
        tenant: TenantId,
        new: &NewReceivable,
        audit: &NewAuditEntry,
    ) -> StorageResult<Receivable>;
    async fn receivable(&self, tenant: TenantId, id: ReceivableId) -> StorageResult<Receivable>;
    async fn receivable_by_source(
        &self,
        tenant: TenantId,
        kind: &str,
        id: &str,
    ) -> StorageResult<Receivable>;
    async fn list_receivables(
        &self,
        tenant: TenantId,
        filter: &ReceivableFilter,
    ) -> StorageResult<Vec<Receivable>>;
    /// Cancels (調定取消) or writes off (不納欠損) a receivable with `reason`.
    async fn close_receivable(
        &self,
        tenant: TenantId,
        id: ReceivableId,
        write_off: bool,
        reason: &str,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Receivable>;

    /// Starts a payment: checks the municipal rules against the locked receivable, refuses a
    /// second payment in flight, stores it `created` with its first transition and `audit`.
    /// A retried request with the same client key answers the payment it made.
    async fn create_payment(
        &self,
        tenant: TenantId,
        new: &NewPayment,
        audit: &NewAuditEntry,
    ) -> StorageResult<Payment>;
    /// Records a counter payment that already happened (the terminal approved it, or cash
    /// was taken): created and succeeded, the receivable settled and the posting made, in one
    /// transaction.
    async fn record_counter_payment(
        &self,
        tenant: TenantId,
        new: &NewPayment,
        audit: &NewAuditEntry,
    ) -> StorageResult<Payment>;
    async fn payment(&self, tenant: TenantId, id: PaymentId) -> StorageResult<Payment>;
    async fn list_payments(
        &self,
        tenant: TenantId,
        filter: &PaymentFilter,
    ) -> StorageResult<Vec<Payment>>;
    /// The payment `initiator` started with its own idempotency key `client_key`, if any: how
    /// a retried API request finds what it made, whatever became of the payment since.
    async fn payment_by_client_key(
        &self,
        tenant: TenantId,
        initiator: &Initiator,
        client_key: &str,
    ) -> StorageResult<Option<Payment>>;
    /// Stores what the provider created for a payment (after `PaymentGateway::start`).
    async fn set_provider_ref(
        &self,
        tenant: TenantId,
        id: PaymentId,
        provider_ref: &str,
        redirect_url: &str,
        at: OffsetDateTime,
    ) -> StorageResult<Payment>;
    /// Applies a provider's report to a payment, with `event` (a webhook delivery) recorded
    /// in the same transaction so a redelivery answers `DuplicateEvent` and changes nothing.
    async fn apply_payment_signal(
        &self,
        tenant: TenantId,
        id: PaymentId,
        report: &SignalReport,
        event: Option<&ProviderEventRecord>,
        audit: &NewAuditEntry,
    ) -> StorageResult<SignalOutcome>;
    /// Keeps a verified event that changes no payment (unknown payment, a type we do not act
    /// on). `Ok(false)` when the event id was recorded before.
    async fn record_provider_event(
        &self,
        tenant: TenantId,
        event: &ProviderEventRecord,
        disposition: EventDisposition,
        payment: Option<PaymentId>,
    ) -> StorageResult<bool>;
    /// Payments of any city still in flight, untouched since `before` and due for a check at
    /// `now`: the recovery job asks their provider what became of them.
    async fn payments_to_resolve(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<Payment>>;
    /// The recovery job asked and nothing changed: ask again no sooner than `until` (a konbini
    /// voucher open for days is not asked about every minute).
    async fn postpone_check(
        &self,
        tenant: TenantId,
        id: PaymentId,
        until: OffsetDateTime,
    ) -> StorageResult<()>;

    /// Requests a refund of a succeeded payment; refunds together never exceed it.
    async fn request_refund(
        &self,
        tenant: TenantId,
        new: &NewRefund,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund>;
    /// Approves (posting the refund as payable) or rejects a requested refund. Refused with
    /// `RefundSelfApproval` when `by` requested it.
    async fn decide_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        verdict: &RefundVerdict,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund>;
    /// Marks an approved (or failed) refund as sent to the provider.
    async fn start_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        at: OffsetDateTime,
    ) -> StorageResult<Refund>;
    /// Records the provider's answer: a success posts the payout (refunds payable debited,
    /// the channel's clearing account credited).
    async fn finish_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        succeeded: bool,
        provider_refund_ref: Option<&str>,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund>;
    async fn refund(&self, tenant: TenantId, id: RefundId) -> StorageResult<Refund>;
    async fn list_refunds(
        &self,
        tenant: TenantId,
        filter: &RefundFilter,
    ) -> StorageResult<Vec<Refund>>;

    /// The entries touching a receivable, a payment or (none given) the city, oldest first.
    async fn ledger_entries(
        &self,
        tenant: TenantId,
        receivable: Option<ReceivableId>,
        limit: i64,
    ) -> StorageResult<Vec<LedgerEntry>>;
    /// Each account's debits and credits over entries dated `from` (inclusive, `None`: since
    /// the beginning) through `through` (inclusive), by Tokyo accounting date.
    async fn trial_balance(
        &self,
        tenant: TenantId,
        from: Option<Date>,
        through: Date,
    ) -> StorageResult<Vec<TrialBalanceRow>>;
}
