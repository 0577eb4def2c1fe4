//! The payments contract: receivables, payments and their signals, refunds with four eyes and
//! the ledger, one set of stories run against SQLite and PostgreSQL on a fresh database each.
//! After every story the ledger balances; the database itself refuses an unbalanced entry and
//! any rewrite of the ledger.

use madoguchi_domain::{AccountId, ErrorCode, PaymentId, ReceivableId, RefundId, TenantId};
use madoguchi_payments::{
    Brand, Method, PaymentAmount, PaymentSignal, PaymentStatus, Provider, ReceivableStatus,
    RefundStatus, RevenueCategory, RevenueCategoryCode,
};
use madoguchi_storage::{
    ActorKind, Initiator, NewAuditEntry, NewPayment, NewReceivable, NewRefund, PaymentFilter,
    ProviderEventRecord, SignalOutcome, SignalReport, StorageError,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::macros::date;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_receivable_is_assessed_once_per_source_and_posts_its_revenue,
    a_counter_payment_settles_the_receivable_in_the_same_transaction,
    an_online_payment_posts_only_when_it_succeeds,
    a_second_payment_in_flight_or_for_a_paid_receivable_is_refused_and_nothing_is_written,
    a_webhook_event_applies_once_and_a_redelivery_changes_nothing,
    a_late_success_is_recorded_and_an_older_signal_is_stale,
    a_tax_is_refused_at_the_counter_terminal_but_taken_in_cash,
    a_refund_needs_a_second_person_and_never_exceeds_the_payment,
    cancelling_and_writing_off_post_their_reversals,
    the_database_refuses_an_unbalanced_entry_and_any_rewrite_of_the_ledger,
    the_trial_balance_of_a_day_is_a_query,
    a_retried_request_finds_its_payment_and_a_reused_key_is_refused,
    another_city_sees_none_of_it,
    the_recovery_pass_finds_quiet_payments_in_flight_and_can_postpone_them,
);

on_both_databases!(wide: two_payments_started_at_once_for_one_receivable_leave_one);

fn audit() -> NewAuditEntry {
    NewAuditEntry {
        at: T0,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: "payment.test".into(),
        target: None,
        details: serde_json::json!({}),
    }
}

fn category(code: &str) -> RevenueCategoryCode {
    RevenueCategoryCode::parse(code).unwrap()
}

async fn city<S: Backend>(s: &S, slug: &str) -> anyhow::Result<TenantId> {
    let t = tenant(s, slug).await?;
    for c in RevenueCategory::standard() {
        s.save_revenue_category(t.id, &c).await?;
    }
    Ok(t.id)
}

async fn owe<S: Backend>(
    s: &S,
    t: TenantId,
    code: &str,
    yen: i64,
) -> anyhow::Result<madoguchi_storage::Receivable> {
    Ok(s.create_receivable(
        t,
        &NewReceivable {
            id: ReceivableId::new(),
            category: category(code),
            description: "住民票の写し".into(),
            payer_account: None,
            payer_name: "山田 太郎".into(),
            office: None,
            fiscal_year: 2030,
            due_on: date!(2030 - 04 - 30),
            amount: PaymentAmount::new(yen).unwrap(),
            source: None,
            at: T0,
        },
        &audit(),
    )
    .await?)
}

fn staff(id: AccountId) -> Initiator {
    Initiator {
        kind: ActorKind::Staff,
        account: Some(id),
    }
}

fn payment(r: ReceivableId, provider: Provider, method: Method, yen: i64) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        receivable: r,
        provider,
        method,
        amount: PaymentAmount::new(yen).unwrap(),
        payer_account: None,
        initiator: Initiator {
            kind: ActorKind::System,
            account: None,
        },
        office: None,
        client_key: None,
        pay_by: Some(T0 + secs(1800)),
        slip_number: (provider == Provider::Counter && !method.is_cash()).then(|| "000123".into()),
        return_url: (provider != Provider::Counter)
            .then(|| format!("https://city.example/payments/{}", r.0)),
        cancel_url: (provider != Provider::Counter)
            .then(|| format!("https://city.example/receivables/{}/pay", r.0)),
        at: T0,
    }
}

fn report(signal: PaymentSignal, at_s: i64, yen: i64) -> SignalReport {
    SignalReport {
        signal,
        happened_at: T0 + secs(at_s),
        source: "webhook",
        amount_yen: yen,
        method_detail: Some("visa".into()),
        konbini: None,
        at: T0 + secs(at_s),
    }
}

fn event(id: &str, at_s: i64) -> ProviderEventRecord {
    ProviderEventRecord {
        provider: Provider::Sandbox,
        event_id: id.into(),
        event_type: "payment_intent.succeeded".into(),
        created_at: T0 + secs(at_s),
        received_at: T0 + secs(at_s),
        payload: serde_json::json!({"id": id}),
    }
}

/// The books balance: over everything, debits equal credits.
async fn assert_balanced<S: Backend>(s: &S, t: TenantId) -> anyhow::Result<()> {
    let rows = s.trial_balance(t, None, date!(2099 - 12 - 31)).await?;
    let debit: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credit: i64 = rows.iter().map(|r| r.credit_yen).sum();
    assert_eq!(debit, credit, "{rows:?}");
    Ok(())
}

/// An account's balance (debits minus credits) over all time.
async fn balance<S: Backend>(s: &S, t: TenantId, account: &str) -> anyhow::Result<i64> {
    let rows = s.trial_balance(t, None, date!(2099 - 12 - 31)).await?;
    Ok(rows
        .iter()
        .find(|r| r.account == account)
        .map_or(0, |r| r.debit_yen - r.credit_yen))
}

fn verdict(
    by: AccountId,
    note: Option<&str>,
    at: time::OffsetDateTime,
) -> madoguchi_storage::RefundVerdict {
    madoguchi_storage::RefundVerdict {
        approve: true,
        by,
        note: note.map(str::to_owned),
        at,
    }
}

fn refused<T: std::fmt::Debug>(result: Result<T, StorageError>, code: ErrorCode) {
    match result {
        Err(StorageError::PaymentRule(actual)) if actual == code => {}
        other => panic!("expected PaymentRule({code:?}), got {other:?}"),
    }
}

async fn a_receivable_is_assessed_once_per_source_and_posts_its_revenue<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let mut new = NewReceivable {
        id: ReceivableId::new(),
        category: category("checkup_fee"),
        description: "がん検診".into(),
        payer_account: None,
        payer_name: "山田 花子".into(),
        office: None,
        fiscal_year: 2030,
        due_on: date!(2030 - 04 - 30),
        amount: PaymentAmount::new(500)?,
        source: Some(("reservation".into(), "r-1".into())),
        at: T0,
    };
    let r = s.create_receivable(t, &new, &audit()).await?;
    assert_eq!(r.status, ReceivableStatus::Open);
    assert_eq!(r.outstanding_yen(), 500);
    assert_eq!(
        s.receivable_by_source(t, "reservation", "r-1").await?.id,
        r.id
    );
    new.id = ReceivableId::new();
    match s.create_receivable(t, &new, &audit()).await {
        Err(StorageError::Duplicate { constraint }) => assert_eq!(constraint, "receivables_source"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(balance(s, t, "receivable:checkup_fee").await?, 500);
    assert_eq!(balance(s, t, "revenue:checkup_fee").await?, -500);
    let entries = s.ledger_entries(t, Some(r.id), 10).await?;
    assert_eq!(entries.len(), 1);
    assert_balanced(s, t).await
}

async fn a_counter_payment_settles_the_receivable_in_the_same_transaction<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "certificate_fee", 300).await?;
    let p = s
        .record_counter_payment(
            t,
            &payment(r.id, Provider::Counter, Method::Counter(Brand::Jcb), 300),
            &audit(),
        )
        .await?;
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.slip_number.as_deref(), Some("000123"));
    assert_eq!(s.receivable(t, r.id).await?.status, ReceivableStatus::Paid);
    assert_eq!(balance(s, t, "clearing:counter_card").await?, 300);
    assert_eq!(balance(s, t, "receivable:certificate_fee").await?, 0);
    assert_balanced(s, t).await
}

async fn an_online_payment_posts_only_when_it_succeeds<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "checkup_fee", 20_000).await?;
    let p = s
        .create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Card, 20_000),
            &audit(),
        )
        .await?;
    assert_eq!(p.status, PaymentStatus::Created);
    assert_eq!(p.idempotency_key, format!("madoguchi-payment-{}", p.id));
    // The pages the payer returns to are kept, so a retried start asks the same.
    let back = format!("https://city.example/payments/{}", r.id.0);
    assert_eq!(p.return_url.as_deref(), Some(back.as_str()));
    let p = s
        .set_provider_ref(t, p.id, "sbx_1", "/sandbox/pay/sbx_1", T0)
        .await?;
    assert_eq!(p.provider_ref.as_deref(), Some("sbx_1"));
    assert_eq!(p.return_url.as_deref(), Some(back.as_str()));
    assert!(p.cancel_url.as_deref().is_some_and(|u| u.ends_with("/pay")));
    let before = s.ledger_entries(t, None, 100).await?.len();
    let out = s
        .apply_payment_signal(
            t,
            p.id,
            &report(PaymentSignal::RequiresAction, 10, 0),
            None,
            &audit(),
        )
        .await?;
    assert!(
        matches!(out, SignalOutcome::Applied(ref q) if q.status == PaymentStatus::RequiresAction)
    );
    assert_eq!(s.ledger_entries(t, None, 100).await?.len(), before);
    let out = s
        .apply_payment_signal(
            t,
            p.id,
            &report(PaymentSignal::Succeeded, 20, 20_000),
            None,
            &audit(),
        )
        .await?;
    let SignalOutcome::Applied(done) = out else {
        panic!("expected the success to apply, got {out:?}");
    };
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert_eq!(done.method_detail.as_deref(), Some("visa"));
    assert_eq!(s.receivable(t, r.id).await?.status, ReceivableStatus::Paid);
    assert_eq!(balance(s, t, "clearing:sandbox").await?, 20_000);
    assert_balanced(s, t).await
}

async fn a_second_payment_in_flight_or_for_a_paid_receivable_is_refused_and_nothing_is_written<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "checkup_fee", 500).await?;
    let first = s
        .create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Card, 500),
            &audit(),
        )
        .await?;
    refused(
        s.create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Paypay, 500),
            &audit(),
        )
        .await,
        ErrorCode::PaymentInProgress,
    );
    refused(
        s.record_counter_payment(
            t,
            &payment(r.id, Provider::Counter, Method::Cash, 500),
            &audit(),
        )
        .await,
        ErrorCode::PaymentInProgress,
    );
    s.apply_payment_signal(
        t,
        first.id,
        &report(PaymentSignal::Succeeded, 5, 500),
        None,
        &audit(),
    )
    .await?;
    let entries = s.ledger_entries(t, None, 100).await?.len();
    refused(
        s.create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Card, 500),
            &audit(),
        )
        .await,
        ErrorCode::ReceivableAlreadyPaid,
    );
    let other = owe(s, t, "checkup_fee", 500).await?;
    refused(
        s.record_counter_payment(
            t,
            &payment(other.id, Provider::Counter, Method::Cash, 501),
            &audit(),
        )
        .await,
        ErrorCode::PaymentExceedsOutstanding,
    );
    refused(
        s.create_payment(
            t,
            &payment(other.id, Provider::Counter, Method::Card, 500),
            &audit(),
        )
        .await,
        ErrorCode::PaymentMethodNotOffered,
    );
    assert_eq!(s.ledger_entries(t, None, 100).await?.len(), entries + 1);
    let listed = s
        .list_payments(
            t,
            &PaymentFilter {
                receivable: Some(r.id),
                limit: 10,
                ..PaymentFilter::default()
            },
        )
        .await?;
    assert_eq!(listed.len(), 1);
    assert_balanced(s, t).await
}

async fn a_webhook_event_applies_once_and_a_redelivery_changes_nothing<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "checkup_fee", 500).await?;
    let p = s
        .create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Card, 500),
            &audit(),
        )
        .await?;
    let ok = report(PaymentSignal::Succeeded, 30, 500);
    let first = s
        .apply_payment_signal(t, p.id, &ok, Some(&event("evt_1", 30)), &audit())
        .await?;
    assert!(matches!(first, SignalOutcome::Applied(_)));
    for _ in 0..3 {
        let again = s
            .apply_payment_signal(t, p.id, &ok, Some(&event("evt_1", 30)), &audit())
            .await?;
        assert_eq!(again, SignalOutcome::DuplicateEvent);
    }
    // Another event saying the same thing is a duplicate state, not a second payment.
    let same = s
        .apply_payment_signal(t, p.id, &ok, Some(&event("evt_2", 31)), &audit())
        .await?;
    assert!(matches!(same, SignalOutcome::AlreadyThere(_)));
    assert_eq!(s.receivable(t, r.id).await?.paid_yen, 500);
    assert_eq!(balance(s, t, "clearing:sandbox").await?, 500);
    assert_balanced(s, t).await
}

async fn a_late_success_is_recorded_and_an_older_signal_is_stale<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "checkup_fee", 500).await?;
    let p = s
        .create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Konbini, 500),
            &audit(),
        )
        .await?;
    s.apply_payment_signal(
        t,
        p.id,
        &report(PaymentSignal::Expired, 100, 0),
        None,
        &audit(),
    )
    .await?;
    // An older "processing" arriving late changes nothing.
    let stale = s
        .apply_payment_signal(
            t,
            p.id,
            &report(PaymentSignal::Processing, 50, 0),
            None,
            &audit(),
        )
        .await?;
    assert!(matches!(stale, SignalOutcome::Stale(ref q) if q.status == PaymentStatus::Expired));
    // Meanwhile the resident paid at the counter.
    s.record_counter_payment(
        t,
        &payment(r.id, Provider::Counter, Method::Cash, 500),
        &audit(),
    )
    .await?;
    // Money that arrives anyway is recorded: the receivable is overpaid, the excess in suspense.
    let late = s
        .apply_payment_signal(
            t,
            p.id,
            &report(PaymentSignal::Succeeded, 90, 500),
            None,
            &audit(),
        )
        .await?;
    assert!(matches!(late, SignalOutcome::Applied(ref q) if q.status == PaymentStatus::Succeeded));
    assert_eq!(
        s.receivable(t, r.id).await?.status,
        ReceivableStatus::Overpaid
    );
    assert_eq!(balance(s, t, "suspense").await?, -500);
    assert_balanced(s, t).await
}

async fn a_tax_is_refused_at_the_counter_terminal_but_taken_in_cash<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "resident_tax", 12_000).await?;
    refused(
        s.record_counter_payment(
            t,
            &payment(
                r.id,
                Provider::Counter,
                Method::Counter(Brand::Paypay),
                12_000,
            ),
            &audit(),
        )
        .await,
        ErrorCode::TaxNotPayableAtCounter,
    );
    s.record_counter_payment(
        t,
        &payment(r.id, Provider::Counter, Method::Cash, 12_000),
        &audit(),
    )
    .await?;
    assert_eq!(balance(s, t, "clearing:cash").await?, 12_000);
    assert_balanced(s, t).await
}

async fn a_refund_needs_a_second_person_and_never_exceeds_the_payment<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let clerk = s
        .create_account(
            t,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "clerk@kita.example",
                vec![],
            ),
        )
        .await?;
    let finance = s
        .create_account(
            t,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "kaikei@kita.example",
                vec![],
            ),
        )
        .await?;
    let r = owe(s, t, "checkup_fee", 20_000).await?;
    let p = s
        .create_payment(
            t,
            &payment(r.id, Provider::Sandbox, Method::Card, 20_000),
            &audit(),
        )
        .await?;
    let new = |yen: i64| NewRefund {
        id: RefundId::new(),
        payment: p.id,
        amount: PaymentAmount::new(yen).unwrap(),
        reason: "検診中止".into(),
        requested_by: staff(clerk.id),
        at: T0 + secs(60),
    };
    refused(
        s.request_refund(t, &new(1_000), &audit()).await,
        ErrorCode::PaymentNotRefundable,
    );
    s.apply_payment_signal(
        t,
        p.id,
        &report(PaymentSignal::Succeeded, 5, 20_000),
        None,
        &audit(),
    )
    .await?;
    refused(
        s.request_refund(t, &new(20_001), &audit()).await,
        ErrorCode::RefundExceedsPaid,
    );
    let refund = s.request_refund(t, &new(20_000), &audit()).await?;
    refused(
        s.request_refund(t, &new(1), &audit()).await,
        ErrorCode::RefundExceedsPaid,
    );
    refused(
        s.decide_refund(
            t,
            refund.id,
            &verdict(clerk.id, None, T0 + secs(70)),
            &audit(),
        )
        .await,
        ErrorCode::RefundSelfApproval,
    );
    assert_eq!(
        s.refund(t, refund.id).await?.status,
        RefundStatus::Requested
    );
    refused(
        s.start_refund(t, refund.id, T0 + secs(75)).await,
        ErrorCode::RefundNotPending,
    );
    let approved = s
        .decide_refund(
            t,
            refund.id,
            &verdict(finance.id, Some("確認済み"), T0 + secs(80)),
            &audit(),
        )
        .await?;
    assert_eq!(approved.status, RefundStatus::Approved);
    assert_eq!(approved.decided_by, Some(finance.id));
    assert_eq!(balance(s, t, "refunds_payable").await?, -20_000);
    assert_eq!(
        s.receivable(t, r.id).await?.status,
        ReceivableStatus::Cancelled
    );
    s.start_refund(t, refund.id, T0 + secs(90)).await?;
    let paid = s
        .finish_refund(t, refund.id, true, Some("re_1"), T0 + secs(100), &audit())
        .await?;
    assert_eq!(paid.status, RefundStatus::Succeeded);
    assert_eq!(balance(s, t, "refunds_payable").await?, 0);
    assert_eq!(balance(s, t, "clearing:sandbox").await?, 0);
    // The database's own four-eyes check, whatever the code above it does.
    assert!(
        s.execute_raw("UPDATE refunds SET decided_by = requested_by")
            .await
            .is_err()
    );
    assert_balanced(s, t).await
}

async fn cancelling_and_writing_off_post_their_reversals<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let a = owe(s, t, "water_charge", 2_246).await?;
    let b = owe(s, t, "water_charge", 3_000).await?;
    s.record_counter_payment(
        t,
        &payment(b.id, Provider::Counter, Method::Cash, 1_000),
        &audit(),
    )
    .await?;
    let cancelled = s
        .close_receivable(t, a.id, false, "二重調定", T0, &audit())
        .await?;
    assert_eq!(cancelled.status, ReceivableStatus::Cancelled);
    refused(
        s.close_receivable(t, b.id, false, "取消", T0, &audit())
            .await,
        ErrorCode::ReceivableHasPayments,
    );
    let written = s
        .close_receivable(t, b.id, true, "時効", T0, &audit())
        .await?;
    assert_eq!(written.status, ReceivableStatus::WrittenOff);
    refused(
        s.close_receivable(t, b.id, true, "時効", T0, &audit())
            .await,
        ErrorCode::ReceivableClosed,
    );
    refused(
        s.create_payment(
            t,
            &payment(a.id, Provider::Sandbox, Method::Card, 100),
            &audit(),
        )
        .await,
        ErrorCode::ReceivableClosed,
    );
    assert_eq!(balance(s, t, "receivable:water_charge").await?, 0);
    assert_eq!(balance(s, t, "write_offs").await?, 2_000);
    assert_eq!(balance(s, t, "revenue:water_charge").await?, -3_000);
    assert_balanced(s, t).await
}

async fn the_database_refuses_an_unbalanced_entry_and_any_rewrite_of_the_ledger<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let r = owe(s, t, "copy_fee", 10).await?;
    s.record_counter_payment(
        t,
        &payment(r.id, Provider::Counter, Method::Cash, 10),
        &audit(),
    )
    .await?;
    let entries = s.query_i64("SELECT count(*) FROM ledger_entries").await?;
    // Lines that do not balance: the entry that would seal them is refused.
    assert!(
        s.execute_script(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000a', 0, tenant_id, 'bank', 100 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000a', 1, tenant_id, 'suspense', -99 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_entries (id, tenant_id, posted_at, accounting_date, kind)
               SELECT '00000000-0000-7000-8000-00000000000a', tenant_id, posted_at, accounting_date, 'payment_received' FROM ledger_entries LIMIT 1;"
        )
        .await
        .is_err()
    );
    // The same statements with balanced lines pass: what refused above was the balance.
    s.execute_script(
        "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
           SELECT '00000000-0000-7000-8000-00000000000c', 0, tenant_id, 'bank', 100 FROM ledger_entries LIMIT 1;
         INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
           SELECT '00000000-0000-7000-8000-00000000000c', 1, tenant_id, 'suspense', -100 FROM ledger_entries LIMIT 1;
         INSERT INTO ledger_entries (id, tenant_id, posted_at, accounting_date, kind)
           SELECT '00000000-0000-7000-8000-00000000000c', tenant_id, posted_at, accounting_date, 'payment_received' FROM ledger_entries LIMIT 1;"
    )
    .await?;
    // Entries sealed by one statement (as the convenience-store import seals a chunk's): one
    // of them unbalanced refuses the statement.
    assert!(
        s.execute_script(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000d', 0, tenant_id, 'bank', 100 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000d', 1, tenant_id, 'suspense', -100 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000e', 0, tenant_id, 'bank', 50 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000e', 1, tenant_id, 'suspense', -40 FROM ledger_entries LIMIT 1;
             INSERT INTO ledger_entries (id, tenant_id, posted_at, accounting_date, kind)
               SELECT l.entry_id, e.tenant_id, e.posted_at, e.accounting_date, 'payment_received'
               FROM ledger_lines l, (SELECT * FROM ledger_entries LIMIT 1) e
               WHERE l.line_no = 0
                 AND l.entry_id IN ('00000000-0000-7000-8000-00000000000d', '00000000-0000-7000-8000-00000000000e');"
        )
        .await
        .is_err()
    );
    // Lines without an entry never commit.
    assert!(
        s.execute_script(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT '00000000-0000-7000-8000-00000000000b', 0, tenant_id, 'bank', 100 FROM ledger_entries LIMIT 1;"
        )
        .await
        .is_err()
    );
    // A line added to a sealed entry is refused.
    assert!(
        s.execute_raw(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
               SELECT id, 9, tenant_id, 'bank', 1 FROM ledger_entries LIMIT 1"
        )
        .await
        .is_err()
    );
    for rewrite in [
        "UPDATE ledger_lines SET amount_yen = amount_yen * 2",
        "DELETE FROM ledger_lines",
        "UPDATE ledger_entries SET kind = 'refund_paid'",
        "DELETE FROM ledger_entries",
        "UPDATE receivable_events SET amount_yen = 0",
        "DELETE FROM payment_transitions",
    ] {
        assert!(s.execute_raw(rewrite).await.is_err(), "{rewrite}");
    }
    assert_eq!(
        s.query_i64("SELECT count(*) FROM ledger_entries").await?,
        entries + 1
    );
    assert_balanced(s, t).await
}

async fn the_trial_balance_of_a_day_is_a_query<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    // T0 is 2030-04-01 18:00 in Tokyo; 16:00 UTC the same day is already the 2nd there.
    let r = owe(s, t, "facility_fee", 1_200).await?;
    let mut late = payment(r.id, Provider::Counter, Method::Counter(Brand::Id), 1_200);
    late.at = T0 + secs(7 * 3600);
    s.record_counter_payment(t, &late, &audit()).await?;
    let day1 = s
        .trial_balance(t, Some(date!(2030 - 04 - 01)), date!(2030 - 04 - 01))
        .await?;
    let day2 = s
        .trial_balance(t, Some(date!(2030 - 04 - 02)), date!(2030 - 04 - 02))
        .await?;
    let find = |rows: &[madoguchi_storage::TrialBalanceRow], a: &str| {
        rows.iter()
            .find(|r| r.account == a)
            .map(|r| (r.debit_yen, r.credit_yen))
    };
    assert_eq!(find(&day1, "receivable:facility_fee"), Some((1_200, 0)));
    assert_eq!(find(&day1, "clearing:counter_emoney"), None);
    assert_eq!(find(&day2, "clearing:counter_emoney"), Some((1_200, 0)));
    assert_eq!(find(&day2, "receivable:facility_fee"), Some((0, 1_200)));
    assert_balanced(s, t).await
}

async fn a_retried_request_finds_its_payment_and_a_reused_key_is_refused<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let clerk = s
        .create_account(
            t,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "clerk@kita.example",
                vec![],
            ),
        )
        .await?;
    let r = owe(s, t, "copy_fee", 40).await?;
    let mut first = payment(r.id, Provider::Counter, Method::Cash, 40);
    first.initiator = staff(clerk.id);
    first.client_key = Some("k-1".into());
    let a = s.record_counter_payment(t, &first, &audit()).await?;
    let mut retry = first.clone();
    retry.id = PaymentId::new();
    let b = s.record_counter_payment(t, &retry, &audit()).await?;
    assert_eq!(a.id, b.id);
    // Found by its maker's key only: another initiator's "k-1" is another key.
    let found = s.payment_by_client_key(t, &staff(clerk.id), "k-1").await?;
    assert_eq!(found.map(|p| p.id), Some(a.id));
    let system = Initiator {
        kind: ActorKind::System,
        account: None,
    };
    assert_eq!(s.payment_by_client_key(t, &system, "k-1").await?, None);
    assert_eq!(
        s.payment_by_client_key(t, &staff(clerk.id), "k-2").await?,
        None
    );
    let other = owe(s, t, "copy_fee", 40).await?;
    let mut reuse = first.clone();
    reuse.id = PaymentId::new();
    reuse.receivable = other.id;
    refused(
        s.record_counter_payment(t, &reuse, &audit()).await,
        ErrorCode::IdempotencyKeyReused,
    );
    assert_eq!(balance(s, t, "clearing:cash").await?, 40);
    assert_balanced(s, t).await
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let kita = city(s, "kita").await?;
    let minami = city(s, "minami").await?;
    let r = owe(s, kita, "copy_fee", 40).await?;
    let p = s
        .record_counter_payment(
            kita,
            &payment(r.id, Provider::Counter, Method::Cash, 40),
            &audit(),
        )
        .await?;
    assert_not_found(s.receivable(minami, r.id).await);
    assert_not_found(s.payment(minami, p.id).await);
    assert!(
        s.create_payment(
            minami,
            &payment(r.id, Provider::Sandbox, Method::Card, 40),
            &audit()
        )
        .await
        .is_err()
    );
    assert!(s.ledger_entries(minami, None, 100).await?.is_empty());
    assert!(
        s.trial_balance(minami, None, date!(2099 - 12 - 31))
            .await?
            .is_empty()
    );
    Ok(())
}

async fn two_payments_started_at_once_for_one_receivable_leave_one<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    for _ in 0..5 {
        let r = owe(s, t, "checkup_fee", 500).await?;
        let mut tasks = Vec::new();
        for i in 0..6 {
            let s = s.clone();
            let method = if i % 2 == 0 {
                Method::Card
            } else {
                Method::Paypay
            };
            tasks.push(tokio::spawn(async move {
                s.create_payment(t, &payment(r.id, Provider::Sandbox, method, 500), &audit())
                    .await
            }));
        }
        let mut made = 0;
        for task in tasks {
            match task.await? {
                Ok(_) => made += 1,
                Err(StorageError::PaymentRule(ErrorCode::PaymentInProgress)) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(made, 1);
    }
    assert_balanced(s, t).await
}

async fn the_recovery_pass_finds_quiet_payments_in_flight_and_can_postpone_them<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "kita").await?;
    let open = owe(s, t, "checkup_fee", 500).await?;
    let paid = owe(s, t, "checkup_fee", 500).await?;
    let waiting = s
        .create_payment(
            t,
            &payment(open.id, Provider::Sandbox, Method::Konbini, 500),
            &audit(),
        )
        .await?;
    let done = s
        .create_payment(
            t,
            &payment(paid.id, Provider::Sandbox, Method::Card, 500),
            &audit(),
        )
        .await?;
    s.apply_payment_signal(
        t,
        done.id,
        &report(PaymentSignal::Succeeded, 1, 500),
        None,
        &audit(),
    )
    .await?;
    s.record_counter_payment(
        t,
        &payment(
            owe(s, t, "copy_fee", 10).await?.id,
            Provider::Counter,
            Method::Cash,
            10,
        ),
        &audit(),
    )
    .await?;
    let ids = |found: Vec<madoguchi_storage::Payment>| {
        found.into_iter().map(|p| p.id).collect::<Vec<_>>()
    };
    // Not quiet yet.
    assert!(
        s.payments_to_resolve(T0 - secs(60), T0, 10)
            .await?
            .is_empty()
    );
    let later = T0 + secs(180);
    assert_eq!(
        ids(s.payments_to_resolve(later - secs(120), later, 10).await?),
        vec![waiting.id]
    );
    s.postpone_check(t, waiting.id, T0 + secs(600)).await?;
    assert!(
        s.payments_to_resolve(later - secs(120), later, 10)
            .await?
            .is_empty()
    );
    let much_later = T0 + secs(660);
    assert_eq!(
        ids(s
            .payments_to_resolve(much_later - secs(120), much_later, 10)
            .await?),
        vec![waiting.id]
    );
    Ok(())
}
