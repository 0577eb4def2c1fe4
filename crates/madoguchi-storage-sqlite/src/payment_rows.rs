//! Reading the payments' rows on SQLite: dates as stored, the row mappers of receivables,
//! payments and refunds, and the reads a transaction makes of them.

use crate::{
    corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid, map_err, uuid_text,
};
use madoguchi_domain::{
    AccountId, ErrorCode, OfficeId, PaymentId, ReceivableId, RefundId, TenantId,
};
use madoguchi_payments::{
    Method, PaymentStatus, Provider, ReceivableStatus, RefundStatus, RevenueCategoryCode,
};
use madoguchi_storage::{
    ActorKind, Initiator, Payment, Receivable, Refund, StorageError, StorageResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::{Date, OffsetDateTime};

pub(crate) const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub(crate) fn date_text(date: Date) -> String {
    date.format(DATE_FORMAT).unwrap_or_default()
}

pub(crate) fn parse_date(raw: &str) -> StorageResult<Date> {
    Date::parse(raw, DATE_FORMAT).map_err(|_| corrupt("date"))
}

pub(crate) fn accounting_date(at: OffsetDateTime) -> Date {
    madoguchi_domain::tokyo::to_tokyo(at).date()
}

pub(crate) fn rule(code: ErrorCode) -> StorageError {
    StorageError::PaymentRule(code)
}

pub(crate) fn receivable_from_row(row: &SqliteRow) -> StorageResult<Receivable> {
    let source_kind: Option<String> = row.try_get("source_kind").map_err(map_err)?;
    let source_id: Option<String> = row.try_get("source_id").map_err(map_err)?;
    Ok(Receivable {
        id: ReceivableId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        description: get_string(row, "description")?,
        payer_account: get_opt_uuid(row, "payer_account_id")?.map(AccountId),
        payer_name: get_string(row, "payer_name")?,
        office: get_opt_uuid(row, "office_id")?.map(OfficeId),
        fiscal_year: row.try_get::<i64, _>("fiscal_year").map_err(map_err)? as i32,
        due_on: parse_date(&get_string(row, "due_on")?)?,
        original_yen: row.try_get("original_yen").map_err(map_err)?,
        assessed_yen: row.try_get("assessed_yen").map_err(map_err)?,
        paid_yen: row.try_get("paid_yen").map_err(map_err)?,
        status: ReceivableStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("receivable status"))?,
        source: source_kind.zip(source_id),
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) fn initiator_from_row(
    row: &SqliteRow,
    kind: &str,
    id: &str,
) -> StorageResult<Initiator> {
    Ok(Initiator {
        kind: ActorKind::parse(&get_string(row, kind)?).ok_or_else(|| corrupt("actor kind"))?,
        account: get_opt_uuid(row, id)?.map(AccountId),
    })
}

pub(crate) fn payment_from_row(row: &SqliteRow) -> StorageResult<Payment> {
    let konbini: Option<String> = row.try_get("konbini").map_err(map_err)?;
    Ok(Payment {
        id: PaymentId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        receivable: ReceivableId(get_uuid(row, "receivable_id")?),
        provider: Provider::parse(&get_string(row, "provider")?)
            .ok_or_else(|| corrupt("provider"))?,
        method: Method::from_stored(&get_string(row, "method")?)
            .ok_or_else(|| corrupt("payment method"))?,
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        status: PaymentStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("payment status"))?,
        idempotency_key: get_string(row, "idempotency_key")?,
        provider_ref: row.try_get("provider_ref").map_err(map_err)?,
        redirect_url: row.try_get("redirect_url").map_err(map_err)?,
        method_detail: row.try_get("method_detail").map_err(map_err)?,
        slip_number: row.try_get("slip_number").map_err(map_err)?,
        konbini: konbini
            .map(|k| serde_json::from_str(&k).map_err(|_| corrupt("konbini details")))
            .transpose()?,
        pay_by: get_opt_instant(row, "pay_by")?,
        return_url: row.try_get("return_url").map_err(map_err)?,
        cancel_url: row.try_get("cancel_url").map_err(map_err)?,
        last_signal_at: get_opt_instant(row, "last_signal_at")?,
        payer_account: get_opt_uuid(row, "payer_account_id")?.map(AccountId),
        initiator: initiator_from_row(row, "created_by_kind", "created_by_id")?,
        office: get_opt_uuid(row, "office_id")?.map(OfficeId),
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) fn refund_from_row(row: &SqliteRow) -> StorageResult<Refund> {
    Ok(Refund {
        id: RefundId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        payment: PaymentId(get_uuid(row, "payment_id")?),
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        reason: get_string(row, "reason")?,
        status: RefundStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("refund status"))?,
        requested_by: initiator_from_row(row, "requested_by_kind", "requested_by")?,
        decided_by: get_opt_uuid(row, "decided_by")?.map(AccountId),
        decided_at: get_opt_instant(row, "decided_at")?,
        decision_note: row.try_get("decision_note").map_err(map_err)?,
        idempotency_key: get_string(row, "idempotency_key")?,
        provider_refund_ref: row.try_get("provider_refund_ref").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

pub(crate) async fn receivable_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: ReceivableId,
) -> StorageResult<Receivable> {
    let row = sqlx::query("SELECT * FROM receivables WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    receivable_from_row(&row)
}

pub(crate) async fn payment_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: PaymentId,
) -> StorageResult<Payment> {
    let row = sqlx::query("SELECT * FROM payments WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    payment_from_row(&row)
}

pub(crate) async fn refund_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: RefundId,
) -> StorageResult<Refund> {
    let row = sqlx::query("SELECT * FROM refunds WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    refund_from_row(&row)
}
