//! Payments on SQLite: every change runs in a `BEGIN IMMEDIATE` transaction, so the rows a
//! decision reads (the receivable, the payment) cannot change before it is written; the
//! decision itself is `madoguchi-payments`'. The ledger's balance is guarded by triggers (see
//! `0010_payments.sql`): lines first, then the entry that seals them.

use crate::payment_rows::{
    accounting_date, date_text, parse_date, payment_from_row, payment_in, receivable_from_row,
    receivable_in, refund_from_row, refund_in, rule,
};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_uuid, get_string, get_uuid, map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, LedgerEntryId, PaymentId, ReceivableId, RefundId, TenantId};
use madoguchi_payments::ledger::PostingKind;
use madoguchi_payments::{
    PaymentStatus, Posting, ReceivableChange, ReceivableStatus, RefundDecision, RefundStatus,
    RevenueCategory, RevenueCategoryCode, SignalDecision, check_new_payment, check_refund_amount,
};
use madoguchi_storage::{
    EventDisposition, Initiator, LedgerEntry, NewAuditEntry, NewPayment, NewReceivable, NewRefund,
    Payment, PaymentFilter, PaymentStore, ProviderEventRecord, Receivable, ReceivableFilter,
    Refund, RefundFilter, RefundVerdict, SignalOutcome, SignalReport, StorageError, StorageResult,
    TrialBalanceRow, to_unix_micros,
};
use sqlx::{Row, SqliteConnection};
use time::{Date, OffsetDateTime};

/// What a ledger entry refers to.
#[derive(Default)]
pub(crate) struct EntryRefs {
    pub(crate) receivable: Option<ReceivableId>,
    pub(crate) payment: Option<PaymentId>,
    pub(crate) refund: Option<RefundId>,
}

/// Writes `posting`'s lines, then the entry that seals them (the order the triggers want).
pub(crate) async fn insert_posting(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    posting: &Posting,
    refs: EntryRefs,
    at: OffsetDateTime,
) -> StorageResult<LedgerEntryId> {
    let id = LedgerEntryId::new();
    for (line_no, line) in posting.lines().iter().enumerate() {
        sqlx::query(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(id.0))
        .bind(line_no as i64)
        .bind(uuid_text(tenant.0))
        .bind(line.account.name())
        .bind(line.amount_yen)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    sqlx::query(
        "INSERT INTO ledger_entries
           (id, tenant_id, posted_at, accounting_date, kind, receivable_id, payment_id, refund_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(id.0))
    .bind(uuid_text(tenant.0))
    .bind(to_unix_micros(at))
    .bind(date_text(accounting_date(at)))
    .bind(posting.kind().as_str())
    .bind(refs.receivable.map(|r| uuid_text(r.0)))
    .bind(refs.payment.map(|p| uuid_text(p.0)))
    .bind(refs.refund.map(|r| uuid_text(r.0)))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(id)
}

/// Stores a receivable's new amounts and status with the event that changed them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_receivable_change(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    receivable: &Receivable,
    change: &ReceivableChange,
    kind: &str,
    amount_yen: i64,
    payment: Option<PaymentId>,
    refund: Option<RefundId>,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> StorageResult<()> {
    let next = &change.next;
    sqlx::query(
        "UPDATE receivables SET assessed_yen = ?, paid_yen = ?, closure = ?, status = ?, updated_at = ?
         WHERE tenant_id = ? AND id = ?",
    )
    .bind(next.assessed_yen)
    .bind(next.paid_yen)
    .bind(next.closure.map(|c| match c {
        madoguchi_payments::Closure::Cancelled => "cancelled",
        madoguchi_payments::Closure::WrittenOff => "written_off",
    }))
    .bind(next.status().as_str())
    .bind(to_unix_micros(at))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(receivable.id.0))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO receivable_events (id, tenant_id, receivable_id, at, kind, amount_yen, payment_id, refund_id, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(uuid::Uuid::now_v7()))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(receivable.id.0))
    .bind(to_unix_micros(at))
    .bind(kind)
    .bind(amount_yen)
    .bind(payment.map(|p| uuid_text(p.0)))
    .bind(refund.map(|r| uuid_text(r.0)))
    .bind(reason)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    insert_posting(
        conn,
        tenant,
        &change.posting,
        EntryRefs {
            receivable: Some(receivable.id),
            payment,
            refund,
        },
        at,
    )
    .await?;
    Ok(())
}

/// One stored step of a payment's state machine.
pub(crate) struct Transition<'a> {
    pub(crate) from: Option<PaymentStatus>,
    pub(crate) to: PaymentStatus,
    pub(crate) source: &'a str,
    pub(crate) event_id: Option<&'a str>,
    pub(crate) at: OffsetDateTime,
}

pub(crate) async fn insert_transition(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    payment: PaymentId,
    step: Transition<'_>,
) -> StorageResult<()> {
    let Transition {
        from,
        to,
        source,
        event_id,
        at,
    } = step;
    sqlx::query(
        "INSERT INTO payment_transitions (id, tenant_id, payment_id, at, from_status, to_status, source, event_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(uuid::Uuid::now_v7()))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(payment.0))
    .bind(to_unix_micros(at))
    .bind(from.map(PaymentStatus::as_str))
    .bind(to.as_str())
    .bind(source)
    .bind(event_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Inserts the payment row (status `created` or, at a counter, `succeeded`).
pub(crate) async fn insert_payment(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    new: &NewPayment,
    status: PaymentStatus,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, receivable_id, provider, method, channel, amount_yen, status,
            idempotency_key, slip_number, pay_by, last_signal_at, payer_account_id, created_by_kind, created_by_id,
            office_id, client_key, created_at, updated_at, return_url, cancel_url)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(new.id.0))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(new.receivable.0))
    .bind(new.provider.as_str())
    .bind(new.method.to_stored())
    .bind(new.method.channel(new.provider).as_str())
    .bind(new.amount.get())
    .bind(status.as_str())
    .bind(format!("madoguchi-payment-{}", new.id.0))
    .bind(&new.slip_number)
    .bind(new.pay_by.map(to_unix_micros))
    .bind(to_unix_micros(new.at))
    .bind(new.payer_account.map(|a| uuid_text(a.0)))
    .bind(new.initiator.kind.as_str())
    .bind(new.initiator.account.map(|a| uuid_text(a.0)))
    .bind(new.office.map(|o| uuid_text(o.0)))
    .bind(&new.client_key)
    .bind(to_unix_micros(new.at))
    .bind(to_unix_micros(new.at))
    .bind(&new.return_url)
    .bind(&new.cancel_url)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The payment a client key already made, if any (a retried request).
async fn payment_by_client_key(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    new: &NewPayment,
) -> StorageResult<Option<Payment>> {
    let Some(key) = &new.client_key else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT * FROM payments WHERE tenant_id = ? AND created_by_kind = ? AND created_by_id IS ? AND client_key = ?",
    )
    .bind(uuid_text(tenant.0))
    .bind(new.initiator.kind.as_str())
    .bind(new.initiator.account.map(|a| uuid_text(a.0)))
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(row) => {
            let existing = payment_from_row(&row)?;
            // The same key for a different request is a client bug, not a replay.
            if existing.receivable != new.receivable
                || existing.amount_yen != new.amount.get()
                || existing.method != new.method
            {
                return Err(rule(ErrorCode::IdempotencyKeyReused));
            }
            Ok(Some(existing))
        }
        None => Ok(None),
    }
}

/// Checks the municipal rules for `new` against its receivable, read in the transaction.
async fn check_payment(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    new: &NewPayment,
) -> StorageResult<Receivable> {
    let receivable = receivable_in(conn, tenant, new.receivable).await?;
    let is_tax: bool = sqlx::query_scalar(
        "SELECT is_tax FROM revenue_categories WHERE tenant_id = ? AND code = ?",
    )
    .bind(uuid_text(tenant.0))
    .bind(receivable.category.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    check_new_payment(
        &receivable.state(),
        is_tax,
        new.provider,
        new.method,
        new.amount,
    )
    .map_err(rule)?;
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payments WHERE receivable_id = ?
         AND status IN ('created', 'requires_action', 'processing')",
    )
    .bind(uuid_text(new.receivable.0))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    if in_flight > 0 {
        return Err(rule(ErrorCode::PaymentInProgress));
    }
    Ok(receivable)
}

async fn insert_event(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    event: &ProviderEventRecord,
    outcome: &str,
    payment: Option<PaymentId>,
) -> StorageResult<bool> {
    let payload =
        serde_json::to_string(&event.payload).map_err(|e| StorageError::Other(e.to_string()))?;
    let done = sqlx::query(
        "INSERT INTO provider_events (tenant_id, provider, event_id, event_type, created_at, received_at, payment_id, outcome, payload)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, provider, event_id) DO NOTHING",
    )
    .bind(uuid_text(tenant.0))
    .bind(event.provider.as_str())
    .bind(&event.event_id)
    .bind(&event.event_type)
    .bind(to_unix_micros(event.created_at))
    .bind(to_unix_micros(event.received_at))
    .bind(payment.map(|p| uuid_text(p.0)))
    .bind(outcome)
    .bind(payload)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl PaymentStore for SqliteStorage {
    async fn save_revenue_category(
        &self,
        tenant: TenantId,
        category: &RevenueCategory,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO revenue_categories (tenant_id, code, name_ja, name_en, is_tax) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, code) DO UPDATE SET name_ja = excluded.name_ja, name_en = excluded.name_en",
        )
        .bind(uuid_text(tenant.0))
        .bind(category.code.as_str())
        .bind(&category.name_ja)
        .bind(&category.name_en)
        .bind(category.is_tax)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn revenue_categories(&self, tenant: TenantId) -> StorageResult<Vec<RevenueCategory>> {
        let rows = sqlx::query(
            "SELECT code, name_ja, name_en, is_tax FROM revenue_categories WHERE tenant_id = ? ORDER BY code",
        )
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(RevenueCategory {
                    code: RevenueCategoryCode::parse(&get_string(row, "code")?)
                        .map_err(|_| corrupt("revenue category"))?,
                    name_ja: get_string(row, "name_ja")?,
                    name_en: get_string(row, "name_en")?,
                    is_tax: row.try_get("is_tax").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn create_receivable(
        &self,
        tenant: TenantId,
        new: &NewReceivable,
        audit: &NewAuditEntry,
    ) -> StorageResult<Receivable> {
        let change = madoguchi_payments::ReceivableState::issue(new.category.clone(), new.amount)
            .map_err(rule)?;
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO receivables (id, tenant_id, category, description, payer_account_id, payer_name, office_id,
                fiscal_year, due_on, original_yen, assessed_yen, paid_yen, closure, status, source_kind, source_id,
                created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, 'open', ?, ?, ?, ?)",
        )
        .bind(uuid_text(new.id.0))
        .bind(uuid_text(tenant.0))
        .bind(new.category.as_str())
        .bind(&new.description)
        .bind(new.payer_account.map(|a| uuid_text(a.0)))
        .bind(&new.payer_name)
        .bind(new.office.map(|o| uuid_text(o.0)))
        .bind(i64::from(new.fiscal_year))
        .bind(date_text(new.due_on))
        .bind(new.amount.get())
        .bind(new.amount.get())
        .bind(new.source.as_ref().map(|s| s.0.as_str()))
        .bind(new.source.as_ref().map(|s| s.1.as_str()))
        .bind(to_unix_micros(new.at))
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(|e| match map_err(e) {
            StorageError::Duplicate { .. } if new.source.is_some() => StorageError::Duplicate {
                constraint: "receivables_source".into(),
            },
            other => other,
        })?;
        let receivable = receivable_in(&mut tx, tenant, new.id).await?;
        save_receivable_change(
            &mut tx,
            tenant,
            &receivable,
            &change,
            "issued",
            new.amount.get(),
            None,
            None,
            None,
            new.at,
        )
        .await?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let receivable = receivable_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(receivable)
    }

    async fn receivable(&self, tenant: TenantId, id: ReceivableId) -> StorageResult<Receivable> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        receivable_in(&mut conn, tenant, id).await
    }

    async fn receivable_by_source(
        &self,
        tenant: TenantId,
        kind: &str,
        id: &str,
    ) -> StorageResult<Receivable> {
        let row = sqlx::query(
            "SELECT * FROM receivables WHERE tenant_id = ? AND source_kind = ? AND source_id = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(kind)
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        receivable_from_row(&row)
    }

    async fn list_receivables(
        &self,
        tenant: TenantId,
        filter: &ReceivableFilter,
    ) -> StorageResult<Vec<Receivable>> {
        let pattern = filter.text.as_ref().map(|t| {
            format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let rows = sqlx::query(
            "SELECT * FROM receivables WHERE tenant_id = ?
               AND (? IS NULL OR payer_account_id = ?)
               AND (? IS NULL OR status = ?)
               AND (? IS NULL OR category = ?)
               AND (? IS NULL OR description LIKE ? ESCAPE '\\' OR payer_name LIKE ? ESCAPE '\\' OR id = ?)
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(filter.payer_account.map(|a| uuid_text(a.0)))
        .bind(filter.payer_account.map(|a| uuid_text(a.0)))
        .bind(filter.status.map(ReceivableStatus::as_str))
        .bind(filter.status.map(ReceivableStatus::as_str))
        .bind(filter.category.as_ref().map(|c| c.as_str().to_owned()))
        .bind(filter.category.as_ref().map(|c| c.as_str().to_owned()))
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(filter.text.as_deref())
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(receivable_from_row).collect()
    }

    async fn close_receivable(
        &self,
        tenant: TenantId,
        id: ReceivableId,
        write_off: bool,
        reason: &str,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Receivable> {
        let mut tx = self.begin_immediate().await?;
        let receivable = receivable_in(&mut tx, tenant, id).await?;
        let state = receivable.state();
        let change = if write_off {
            state.write_off()
        } else {
            state.cancel()
        }
        .map_err(rule)?;
        let kind = if write_off {
            "written_off"
        } else {
            "cancelled"
        };
        let amount = change.posting.total_yen();
        save_receivable_change(
            &mut tx,
            tenant,
            &receivable,
            &change,
            kind,
            amount,
            None,
            None,
            Some(reason),
            at,
        )
        .await?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let receivable = receivable_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(receivable)
    }

    async fn create_payment(
        &self,
        tenant: TenantId,
        new: &NewPayment,
        audit: &NewAuditEntry,
    ) -> StorageResult<Payment> {
        let mut tx = self.begin_immediate().await?;
        if let Some(existing) = payment_by_client_key(&mut tx, tenant, new).await? {
            return Ok(existing);
        }
        check_payment(&mut tx, tenant, new).await?;
        insert_payment(&mut tx, tenant, new, PaymentStatus::Created).await?;
        insert_transition(
            &mut tx,
            tenant,
            new.id,
            Transition {
                from: None,
                to: PaymentStatus::Created,
                source: "created",
                event_id: None,
                at: new.at,
            },
        )
        .await?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let payment = payment_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(payment)
    }

    async fn record_counter_payment(
        &self,
        tenant: TenantId,
        new: &NewPayment,
        audit: &NewAuditEntry,
    ) -> StorageResult<Payment> {
        let mut tx = self.begin_immediate().await?;
        if let Some(existing) = payment_by_client_key(&mut tx, tenant, new).await? {
            return Ok(existing);
        }
        let receivable = check_payment(&mut tx, tenant, new).await?;
        let channel = new.method.channel(new.provider);
        let change = receivable
            .state()
            .receive(channel, new.amount.get())
            .map_err(rule)?;
        insert_payment(&mut tx, tenant, new, PaymentStatus::Succeeded).await?;
        insert_transition(
            &mut tx,
            tenant,
            new.id,
            Transition {
                from: None,
                to: PaymentStatus::Succeeded,
                source: "counter",
                event_id: None,
                at: new.at,
            },
        )
        .await?;
        save_receivable_change(
            &mut tx,
            tenant,
            &receivable,
            &change,
            "payment",
            new.amount.get(),
            Some(new.id),
            None,
            None,
            new.at,
        )
        .await?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let payment = payment_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(payment)
    }

    async fn payment(&self, tenant: TenantId, id: PaymentId) -> StorageResult<Payment> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        payment_in(&mut conn, tenant, id).await
    }

    async fn payment_by_client_key(
        &self,
        tenant: TenantId,
        initiator: &Initiator,
        client_key: &str,
    ) -> StorageResult<Option<Payment>> {
        let row = sqlx::query(
            "SELECT * FROM payments WHERE tenant_id = ? AND created_by_kind = ? AND created_by_id IS ? AND client_key = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(initiator.kind.as_str())
        .bind(initiator.account.map(|a| uuid_text(a.0)))
        .bind(client_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(payment_from_row).transpose()
    }

    async fn list_payments(
        &self,
        tenant: TenantId,
        filter: &PaymentFilter,
    ) -> StorageResult<Vec<Payment>> {
        let rows = sqlx::query(
            "SELECT * FROM payments WHERE tenant_id = ?
               AND (? IS NULL OR receivable_id = ?)
               AND (? IS NULL OR payer_account_id = ?)
               AND (? IS NULL OR status = ?)
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(filter.receivable.map(|r| uuid_text(r.0)))
        .bind(filter.receivable.map(|r| uuid_text(r.0)))
        .bind(filter.payer_account.map(|a| uuid_text(a.0)))
        .bind(filter.payer_account.map(|a| uuid_text(a.0)))
        .bind(filter.status.map(PaymentStatus::as_str))
        .bind(filter.status.map(PaymentStatus::as_str))
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn set_provider_ref(
        &self,
        tenant: TenantId,
        id: PaymentId,
        provider_ref: &str,
        redirect_url: &str,
        at: OffsetDateTime,
    ) -> StorageResult<Payment> {
        let mut tx = self.begin_immediate().await?;
        let payment = payment_in(&mut tx, tenant, id).await?;
        match payment.provider_ref.as_deref() {
            // Asking again with the same idempotency key returns the same object.
            Some(existing) if existing == provider_ref => {}
            Some(_) => return Err(rule(ErrorCode::Conflict)),
            None => {
                sqlx::query(
                    "UPDATE payments SET provider_ref = ?, redirect_url = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                )
                .bind(provider_ref)
                .bind(redirect_url)
                .bind(to_unix_micros(at))
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
        }
        let payment = payment_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(payment)
    }

    async fn apply_payment_signal(
        &self,
        tenant: TenantId,
        id: PaymentId,
        report: &SignalReport,
        event: Option<&ProviderEventRecord>,
        audit: &NewAuditEntry,
    ) -> StorageResult<SignalOutcome> {
        let mut tx = self.begin_immediate().await?;
        let payment = payment_in(&mut tx, tenant, id).await?;
        let newer = payment
            .last_signal_at
            .is_none_or(|last| report.happened_at > last);
        let decision = payment.status.on_signal(report.signal, newer);
        let outcome = match decision {
            SignalDecision::Move(_) => "applied",
            SignalDecision::Same => "duplicate_state",
            SignalDecision::Stale => "stale",
        };
        if let Some(event) = event
            && !insert_event(&mut tx, tenant, event, outcome, Some(id)).await?
        {
            return Ok(SignalOutcome::DuplicateEvent);
        }
        let details_changed = report.method_detail.is_some() || report.konbini.is_some();
        match decision {
            SignalDecision::Stale => {
                tx.commit().await.map_err(map_err)?;
                return Ok(SignalOutcome::Stale(payment));
            }
            SignalDecision::Same => {
                if details_changed {
                    update_details(&mut tx, tenant, id, report).await?;
                }
                let payment = payment_in(&mut tx, tenant, id).await?;
                tx.commit().await.map_err(map_err)?;
                return Ok(SignalOutcome::AlreadyThere(payment));
            }
            SignalDecision::Move(to) => {
                sqlx::query(
                    "UPDATE payments SET status = ?, last_signal_at = max(coalesce(last_signal_at, 0), ?), updated_at = ?
                     WHERE tenant_id = ? AND id = ?",
                )
                .bind(to.as_str())
                .bind(to_unix_micros(report.happened_at))
                .bind(to_unix_micros(report.at))
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if details_changed {
                    update_details(&mut tx, tenant, id, report).await?;
                }
                insert_transition(
                    &mut tx,
                    tenant,
                    id,
                    Transition {
                        from: Some(payment.status),
                        to,
                        source: report.source,
                        event_id: event.map(|e| e.event_id.as_str()),
                        at: report.at,
                    },
                )
                .await?;
                if to == PaymentStatus::Succeeded {
                    let receivable = receivable_in(&mut tx, tenant, payment.receivable).await?;
                    // Money received is recorded as the provider reports it.
                    let received = if report.amount_yen > 0 {
                        report.amount_yen
                    } else {
                        payment.amount_yen
                    };
                    let change = receivable
                        .state()
                        .receive(payment.method.channel(payment.provider), received)
                        .map_err(rule)?;
                    save_receivable_change(
                        &mut tx,
                        tenant,
                        &receivable,
                        &change,
                        "payment",
                        received,
                        Some(id),
                        None,
                        None,
                        report.at,
                    )
                    .await?;
                }
                crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
            }
        }
        let payment = payment_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(SignalOutcome::Applied(payment))
    }

    async fn record_provider_event(
        &self,
        tenant: TenantId,
        event: &ProviderEventRecord,
        disposition: EventDisposition,
        payment: Option<PaymentId>,
    ) -> StorageResult<bool> {
        let outcome = match disposition {
            EventDisposition::UnknownPayment => "unknown_payment",
            EventDisposition::Ignored => "ignored",
        };
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_event(&mut conn, tenant, event, outcome, payment).await
    }

    async fn payments_to_resolve(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<Payment>> {
        let rows = sqlx::query(
            "SELECT * FROM payments WHERE status IN ('created', 'requires_action', 'processing')
               AND provider IN ('stripe', 'sandbox') AND updated_at < ?
               AND (next_check_at IS NULL OR next_check_at <= ?)
             ORDER BY updated_at LIMIT ?",
        )
        .bind(to_unix_micros(before))
        .bind(to_unix_micros(now))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn postpone_check(
        &self,
        tenant: TenantId,
        id: PaymentId,
        until: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query("UPDATE payments SET next_check_at = ? WHERE tenant_id = ? AND id = ?")
            .bind(to_unix_micros(until))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn request_refund(
        &self,
        tenant: TenantId,
        new: &NewRefund,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund> {
        let requester = new.requested_by.account.ok_or(rule(ErrorCode::Forbidden))?;
        let mut tx = self.begin_immediate().await?;
        let payment = payment_in(&mut tx, tenant, new.payment).await?;
        if payment.status != PaymentStatus::Succeeded {
            return Err(rule(ErrorCode::PaymentNotRefundable));
        }
        let held: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(amount_yen), 0) FROM refunds WHERE payment_id = ? AND status <> 'rejected'",
        )
        .bind(uuid_text(new.payment.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        check_refund_amount(payment.amount_yen, held, new.amount.get()).map_err(rule)?;
        sqlx::query(
            "INSERT INTO refunds (id, tenant_id, payment_id, amount_yen, reason, status, requested_by_kind, requested_by,
                idempotency_key, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(new.id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.payment.0))
        .bind(new.amount.get())
        .bind(&new.reason)
        .bind(new.requested_by.kind.as_str())
        .bind(uuid_text(requester.0))
        .bind(format!("madoguchi-refund-{}", new.id.0))
        .bind(to_unix_micros(new.at))
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let refund = refund_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }

    async fn decide_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        verdict: &RefundVerdict,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund> {
        let (approve, by, note, at) = (
            verdict.approve,
            verdict.by,
            verdict.note.as_deref(),
            verdict.at,
        );
        let mut tx = self.begin_immediate().await?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        let same_person = refund.requested_by.account == Some(by);
        let decision = if approve {
            RefundDecision::Approve
        } else {
            RefundDecision::Reject
        };
        let next = refund.status.step(decision, same_person).map_err(rule)?;
        // Withdrawing one's own request is allowed; the database's four-eyes check admits
        // only another person as the decider, so a withdrawal records none.
        sqlx::query(
            "UPDATE refunds SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?, updated_at = ?
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(next.as_str())
        .bind((!same_person).then(|| uuid_text(by.0)))
        .bind(to_unix_micros(at))
        .bind(note)
        .bind(to_unix_micros(at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if next == RefundStatus::Approved {
            let payment = payment_in(&mut tx, tenant, refund.payment).await?;
            let receivable = receivable_in(&mut tx, tenant, payment.receivable).await?;
            let change = receivable
                .state()
                .approve_refund(refund.amount_yen)
                .map_err(rule)?;
            save_receivable_change(
                &mut tx,
                tenant,
                &receivable,
                &change,
                "refund",
                refund.amount_yen,
                Some(payment.id),
                Some(id),
                note,
                at,
            )
            .await?;
        }
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }

    async fn start_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        at: OffsetDateTime,
    ) -> StorageResult<Refund> {
        let mut tx = self.begin_immediate().await?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        let next = refund
            .status
            .step(RefundDecision::Start, false)
            .map_err(rule)?;
        sqlx::query("UPDATE refunds SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?")
            .bind(next.as_str())
            .bind(to_unix_micros(at))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }

    async fn finish_refund(
        &self,
        tenant: TenantId,
        id: RefundId,
        succeeded: bool,
        provider_refund_ref: Option<&str>,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Refund> {
        let mut tx = self.begin_immediate().await?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        let decision = if succeeded {
            RefundDecision::Succeeded
        } else {
            RefundDecision::Failed
        };
        if refund.status == RefundStatus::Succeeded && succeeded {
            // A repeated report of the same payout.
            tx.commit().await.map_err(map_err)?;
            return Ok(refund);
        }
        let next = refund.status.step(decision, false).map_err(rule)?;
        sqlx::query(
            "UPDATE refunds SET status = ?, provider_refund_ref = coalesce(?, provider_refund_ref), updated_at = ?
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(next.as_str())
        .bind(provider_refund_ref)
        .bind(to_unix_micros(at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if next == RefundStatus::Succeeded {
            let payment = payment_in(&mut tx, tenant, refund.payment).await?;
            let posting = Posting::transfer(
                PostingKind::RefundPaid,
                madoguchi_payments::LedgerAccount::RefundsPayable,
                madoguchi_payments::LedgerAccount::Clearing(
                    payment.method.channel(payment.provider),
                ),
                refund.amount_yen,
            )
            .map_err(|_| rule(ErrorCode::AmountOverLimit))?;
            insert_posting(
                &mut tx,
                tenant,
                &posting,
                EntryRefs {
                    receivable: Some(payment.receivable),
                    payment: Some(payment.id),
                    refund: Some(id),
                },
                at,
            )
            .await?;
        }
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let refund = refund_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }

    async fn refund(&self, tenant: TenantId, id: RefundId) -> StorageResult<Refund> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        refund_in(&mut conn, tenant, id).await
    }

    async fn list_refunds(
        &self,
        tenant: TenantId,
        filter: &RefundFilter,
    ) -> StorageResult<Vec<Refund>> {
        let rows = sqlx::query(
            "SELECT * FROM refunds WHERE tenant_id = ?
               AND (? IS NULL OR status = ?)
               AND (? IS NULL OR payment_id = ?)
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(filter.status.map(RefundStatus::as_str))
        .bind(filter.status.map(RefundStatus::as_str))
        .bind(filter.payment.map(|p| uuid_text(p.0)))
        .bind(filter.payment.map(|p| uuid_text(p.0)))
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(refund_from_row).collect()
    }

    async fn ledger_entries(
        &self,
        tenant: TenantId,
        receivable: Option<ReceivableId>,
        limit: i64,
    ) -> StorageResult<Vec<LedgerEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM ledger_entries WHERE tenant_id = ? AND (? IS NULL OR receivable_id = ?)
             ORDER BY posted_at, id LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(receivable.map(|r| uuid_text(r.0)))
        .bind(receivable.map(|r| uuid_text(r.0)))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = LedgerEntryId(get_uuid(row, "id")?);
            let lines: Vec<(String, i64)> = sqlx::query_as(
                "SELECT account, amount_yen FROM ledger_lines WHERE entry_id = ? ORDER BY line_no",
            )
            .bind(uuid_text(id.0))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
            entries.push(LedgerEntry {
                id,
                posted_at: get_instant(row, "posted_at")?,
                accounting_date: parse_date(&get_string(row, "accounting_date")?)?,
                kind: PostingKind::parse(&get_string(row, "kind")?)
                    .ok_or_else(|| corrupt("posting kind"))?,
                receivable: get_opt_uuid(row, "receivable_id")?.map(ReceivableId),
                payment: get_opt_uuid(row, "payment_id")?.map(PaymentId),
                refund: get_opt_uuid(row, "refund_id")?.map(RefundId),
                lines,
            });
        }
        Ok(entries)
    }

    async fn trial_balance(
        &self,
        tenant: TenantId,
        from: Option<Date>,
        through: Date,
    ) -> StorageResult<Vec<TrialBalanceRow>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT l.account,
                    coalesce(sum(CASE WHEN l.amount_yen > 0 THEN l.amount_yen END), 0),
                    coalesce(sum(CASE WHEN l.amount_yen < 0 THEN -l.amount_yen END), 0)
             FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
             WHERE e.tenant_id = ? AND (? IS NULL OR e.accounting_date >= ?) AND e.accounting_date <= ?
             GROUP BY l.account ORDER BY l.account",
        )
        .bind(uuid_text(tenant.0))
        .bind(from.map(date_text))
        .bind(from.map(date_text))
        .bind(date_text(through))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(account, debit_yen, credit_yen)| TrialBalanceRow {
                account,
                debit_yen,
                credit_yen,
            })
            .collect())
    }
}

/// Stores the card brand or the konbini instructions a provider reported.
async fn update_details(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: PaymentId,
    report: &SignalReport,
) -> StorageResult<()> {
    let konbini = report
        .konbini
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StorageError::Other(e.to_string()))?;
    sqlx::query(
        "UPDATE payments SET method_detail = coalesce(?, method_detail), konbini = coalesce(?, konbini)
         WHERE tenant_id = ? AND id = ?",
    )
    .bind(&report.method_detail)
    .bind(konbini)
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(id.0))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}
