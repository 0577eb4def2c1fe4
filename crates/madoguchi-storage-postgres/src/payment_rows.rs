//! Reading the payments' rows on PostgreSQL: dates as stored, the row mappers of receivables,
//! payments and refunds, and the reads a transaction makes of them (locked `FOR UPDATE`).

use crate::{corrupt, get, map_err};
use madoguchi_domain::{
    AccountId, ErrorCode, OfficeId, PaymentId, ReceivableId, RefundId, TenantId,
};
use madoguchi_payments::{
    Method, PaymentStatus, Provider, ReceivableStatus, RefundStatus, RevenueCategoryCode,
};
use madoguchi_storage::{
    ActorKind, Initiator, Payment, Receivable, Refund, StorageError, StorageResult,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub(crate) fn get_uuid(row: &PgRow, column: &str) -> StorageResult<Uuid> {
    get(row, column)
}

pub(crate) fn get_opt_uuid(row: &PgRow, column: &str) -> StorageResult<Option<Uuid>> {
    get(row, column)
}

pub(crate) fn get_instant(row: &PgRow, column: &str) -> StorageResult<OffsetDateTime> {
    get(row, column)
}

pub(crate) fn get_opt_instant(row: &PgRow, column: &str) -> StorageResult<Option<OffsetDateTime>> {
    get(row, column)
}

pub(crate) fn get_string(row: &PgRow, column: &str) -> StorageResult<String> {
    get(row, column)
}

pub(crate) fn accounting_date(at: OffsetDateTime) -> Date {
    madoguchi_domain::tokyo::to_tokyo(at).date()
}

pub(crate) fn rule(code: ErrorCode) -> StorageError {
    StorageError::PaymentRule(code)
}

pub(crate) fn receivable_from_row(row: &PgRow) -> StorageResult<Receivable> {
    let source_kind: Option<String> = get(row, "source_kind")?;
    let source_id: Option<String> = get(row, "source_id")?;
    Ok(Receivable {
        id: ReceivableId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        description: get_string(row, "description")?,
        payer_account: get_opt_uuid(row, "payer_account_id")?.map(AccountId),
        payer_name: get_string(row, "payer_name")?,
        office: get_opt_uuid(row, "office_id")?.map(OfficeId),
        fiscal_year: get(row, "fiscal_year")?,
        due_on: get(row, "due_on")?,
        original_yen: get(row, "original_yen")?,
        assessed_yen: get(row, "assessed_yen")?,
        paid_yen: get(row, "paid_yen")?,
        status: ReceivableStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("receivable status"))?,
        source: source_kind.zip(source_id),
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) fn initiator_from_row(row: &PgRow, kind: &str, id: &str) -> StorageResult<Initiator> {
    Ok(Initiator {
        kind: ActorKind::parse(&get_string(row, kind)?).ok_or_else(|| corrupt("actor kind"))?,
        account: get_opt_uuid(row, id)?.map(AccountId),
    })
}

pub(crate) fn payment_from_row(row: &PgRow) -> StorageResult<Payment> {
    Ok(Payment {
        id: PaymentId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        receivable: ReceivableId(get_uuid(row, "receivable_id")?),
        provider: Provider::parse(&get_string(row, "provider")?)
            .ok_or_else(|| corrupt("provider"))?,
        method: Method::from_stored(&get_string(row, "method")?)
            .ok_or_else(|| corrupt("payment method"))?,
        amount_yen: get(row, "amount_yen")?,
        status: PaymentStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("payment status"))?,
        idempotency_key: get_string(row, "idempotency_key")?,
        provider_ref: get(row, "provider_ref")?,
        redirect_url: get(row, "redirect_url")?,
        method_detail: get(row, "method_detail")?,
        slip_number: get(row, "slip_number")?,
        konbini: get(row, "konbini")?,
        pay_by: get_opt_instant(row, "pay_by")?,
        return_url: get(row, "return_url")?,
        cancel_url: get(row, "cancel_url")?,
        last_signal_at: get_opt_instant(row, "last_signal_at")?,
        payer_account: get_opt_uuid(row, "payer_account_id")?.map(AccountId),
        initiator: initiator_from_row(row, "created_by_kind", "created_by_id")?,
        office: get_opt_uuid(row, "office_id")?.map(OfficeId),
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) fn refund_from_row(row: &PgRow) -> StorageResult<Refund> {
    Ok(Refund {
        id: RefundId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        payment: PaymentId(get_uuid(row, "payment_id")?),
        amount_yen: get(row, "amount_yen")?,
        reason: get_string(row, "reason")?,
        status: RefundStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("refund status"))?,
        requested_by: initiator_from_row(row, "requested_by_kind", "requested_by")?,
        decided_by: get_opt_uuid(row, "decided_by")?.map(AccountId),
        decided_at: get_opt_instant(row, "decided_at")?,
        decision_note: get(row, "decision_note")?,
        idempotency_key: get_string(row, "idempotency_key")?,
        provider_refund_ref: get(row, "provider_refund_ref")?,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) async fn receivable_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: ReceivableId,
) -> StorageResult<Receivable> {
    let row = sqlx::query("SELECT * FROM receivables WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    receivable_from_row(&row)
}

pub(crate) async fn payment_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: PaymentId,
) -> StorageResult<Payment> {
    let row = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    payment_from_row(&row)
}

pub(crate) async fn refund_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: RefundId,
) -> StorageResult<Refund> {
    let row = sqlx::query("SELECT * FROM refunds WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    refund_from_row(&row)
}
