//! Refunds with four eyes (through the sandbox, and in cash at the counter) and the demo
//! city's counter day.

use super::*;

// ---------------------------------------------------------------------------------------------
// Four eyes, through the sandbox

/// A card payment of `receivable` made on the sandbox's page; returns its id once succeeded.
async fn paid_in_the_sandbox(app: &TestApp, receivable: &str) -> anyhow::Result<PaymentId> {
    let clerk = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Staff,
            &Email::parse(&app.login(Role::HqStaff).email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    let scope = Scope::new(
        app.tenant.id,
        Actor::Staff(clerk.id),
        app.state.clock.clone(),
    );
    let base = app.url.clone();
    let payment = checkout::start(
        &*app.storage,
        &*app.state.gateways,
        &scope,
        ReceivableId(receivable.parse()?),
        Method::Card,
        |id| ReturnUrls {
            result_url: format!("{base}/payments/{id}"),
            cancel_url: format!("{base}/"),
        },
        None,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let page_path = payment
        .redirect_url
        .as_deref()
        .and_then(|u| u.find("/sandbox/pay/").map(|at| u[at..].to_owned()))
        .ok_or_else(|| anyhow::anyhow!("no sandbox page: {:?}", payment.redirect_url))?;
    let payer = app.client();
    let page = payer.get(app.at(&page_path)).send().await?;
    let status = page.status();
    let html = page.text().await?;
    let csrf = csrf_from(&html);
    anyhow::ensure!(
        !csrf.is_empty(),
        "the sandbox page answered {status}: {html}"
    );
    let chosen = payer
        .post(app.at(&page_path))
        .form(&[("csrf_token", csrf.as_str()), ("outcome", "succeed")])
        .send()
        .await?;
    assert_eq!(chosen.status(), 303);
    // The sandbox tells us by its signed webhook, delivered by the job runner.
    for _ in 0..150 {
        if app.storage.payment(app.tenant.id, payment.id).await?.status == PaymentStatus::Succeeded
        {
            return Ok(payment.id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the sandbox payment did not succeed in time")
}

async fn a_refund_needs_a_second_finance_user_and_is_paid_through_the_sandbox(
    app: TestApp,
) -> anyhow::Result<()> {
    let hq = staff_token(&app, Role::HqStaff).await?;
    let receivable = assess(
        &app,
        &hq,
        "facility_fee",
        "中央公民館 会議室（午前）",
        1_200,
        None,
    )
    .await?;
    let payment = paid_in_the_sandbox(&app, &receivable).await?;

    // The demo finance user requests the refund on the receivable's page.
    let requester = staff_client(&app, Role::Finance).await?;
    let page_path = format!("/finance/receivables/{receivable}");
    let csrf = form_token(&requester, &app, &page_path).await?;
    let too_much = requester
        .post(app.at(&format!("/finance/payments/{payment}/refunds")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("amount_yen", "5000"),
            ("reason", "利用取りやめ"),
        ])
        .send()
        .await?;
    assert_eq!(too_much.status(), 422);
    assert!(
        too_much
            .text()
            .await?
            .contains(ErrorCode::RefundExceedsPaid.message(Lang::Ja))
    );
    let requested = requester
        .post(app.at(&format!("/finance/payments/{payment}/refunds")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("amount_yen", "1200"),
            ("reason", "利用取りやめ"),
        ])
        .send()
        .await?;
    assert_eq!(requested.status(), 303);
    assert_eq!(
        location(&requested),
        format!("{page_path}?done=refund_requested")
    );
    let refunds = app
        .storage
        .list_refunds(
            app.tenant.id,
            &RefundFilter {
                payment: Some(payment),
                limit: 10,
                ..RefundFilter::default()
            },
        )
        .await?;
    assert_eq!(refunds.len(), 1);
    let refund = refunds[0].id;

    // Their own request: a note, no form, and a POST anyway is refused.
    let queue = requester
        .get(app.at("/finance/refunds"))
        .send()
        .await?
        .text()
        .await?;
    assert!(queue.contains("ご自身の申請は承認できません"));
    assert!(!queue.contains(&format!("action=\"/finance/refunds/{refund}\"")));
    let csrf = csrf_from(&queue);
    let self_approval = requester
        .post(app.at(&format!("/finance/refunds/{refund}")))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "approve")])
        .send()
        .await?;
    assert_eq!(self_approval.status(), 403);
    let finance_token = staff_token(&app, Role::Finance).await?;
    let (status, answer) = post(
        &app,
        &format!("/api/v1/refunds/{refund}/approve"),
        &finance_token,
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("refund_self_approval"))
    );
    // An administrator sees the queue but does not decide.
    let (status, _) = post(
        &app,
        &format!("/api/v1/refunds/{refund}/approve"),
        &admin_token(&app).await?,
        json!({}),
    )
    .await?;
    assert_eq!(status, 403);
    assert_eq!(
        app.storage.refund(app.tenant.id, refund).await?.status,
        RefundStatus::Requested
    );

    // A second finance user approves on the page: paid back through the sandbox.
    let second = staff_account(&app, app.tenant.id, Role::Finance, None, "finance-2").await?;
    let approver = app.client();
    let signed_in = sign_in_page(&approver, &app, "/staff/signin", &second, PASSWORD).await?;
    assert_eq!(signed_in.status(), 303);
    let queue = approver
        .get(app.at("/finance/refunds"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        queue.contains(&format!("action=\"/finance/refunds/{refund}\""))
            && queue.contains("利用取りやめ")
    );
    let decided = approver
        .post(app.at(&format!("/finance/refunds/{refund}")))
        .form(&[
            ("csrf_token", csrf_from(&queue).as_str()),
            ("decision", "approve"),
            ("note", "確認済み"),
        ])
        .send()
        .await?;
    assert_eq!(decided.status(), 303);
    let outcome = approver
        .get(app.at(&location(&decided)))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        outcome.contains("承認し、返金しました"),
        "the outcome is shown"
    );
    let paid = app.storage.refund(app.tenant.id, refund).await?;
    assert_eq!(paid.status, RefundStatus::Succeeded);
    assert!(paid.provider_refund_ref.is_some(), "the sandbox's refund");
    assert_ne!(paid.decided_by, refunds[0].requested_by.account);

    // A decided refund is not decided again.
    let (status, answer) = post(
        &app,
        &format!("/api/v1/refunds/{refund}/reject"),
        &finance_token,
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("refund_not_pending"))
    );

    let balance = trial_balance(&app, &finance_token).await?;
    assert_eq!(balance["balanced"], true, "{balance}");
    assert_eq!(balance["debit_total_yen"], balance["credit_total_yen"]);
    let net = |account: &str| {
        balance["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["account"] == account)
            .map(|a| a["debit_yen"].as_i64().unwrap_or(0) - a["credit_yen"].as_i64().unwrap_or(0))
            .unwrap_or(0)
    };
    assert_eq!(
        net("refunds_payable"),
        0,
        "the approved refund was paid out"
    );
    assert_eq!(
        net("clearing:sandbox"),
        0,
        "paid in and paid back through the sandbox"
    );
    let ledger = approver
        .get(app.at("/finance/ledger"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        ledger.contains("貸借は一致しています")
            && ledger.contains("還付未払金")
            && ledger.contains("決済代行（テスト用サンドボックス）")
    );
    let english = approver
        .get(app.at("/finance/ledger?lang=en"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        english.contains("Receivable (Facility fee)")
            && english.contains("Debits and credits agree")
    );
    // (Back to Japanese: the switch above is remembered.)
    let detail = approver
        .get(app.at(&format!("{page_path}?lang=ja")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        detail.contains("返金済み")
            && detail.contains("還付決定")
            && detail.contains("未収金（施設使用料）")
    );
    Ok(())
}
on_both_backends!(
    a_refund_needs_a_second_finance_user_and_is_paid_through_the_sandbox,
    a_refund_needs_a_second_finance_user_and_is_paid_through_the_sandbox
);

async fn a_cash_payment_taken_at_the_counter_is_refunded_at_the_counter(
    app: TestApp,
) -> anyhow::Result<()> {
    let clerk = staff_client(&app, Role::HqStaff).await?;
    let hq = staff_token(&app, Role::HqStaff).await?;
    let receivable = assess(&app, &hq, "certificate_fee", "住民票の写し 2通", 600, None).await?;
    let (csrf, key, _) = checkout_form(&app, &clerk, &receivable).await?;
    let taken = take(
        &app,
        &clerk,
        &receivable,
        &csrf,
        &key,
        &[("method", "cash")],
    )
    .await?;
    assert_eq!(taken.status(), 303);
    let payment = payments_of(&app, &receivable).await?.remove(0);

    // The clerk asks for one copy's fee back from the receivable's page.
    let page_path = format!("/finance/receivables/{receivable}");
    let page = clerk.get(app.at(&page_path)).send().await?.text().await?;
    assert!(page.contains(&format!(
        "action=\"/finance/payments/{}/refunds\"",
        payment.id
    )));
    assert!(!page.contains("/close\""), "cancelling is finance's");
    let missing_reason = clerk
        .post(app.at(&format!("/finance/payments/{}/refunds", payment.id)))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("amount_yen", "300"),
            ("reason", " "),
        ])
        .send()
        .await?;
    assert_eq!(missing_reason.status(), 422);
    let requested = clerk
        .post(app.at(&format!("/finance/payments/{}/refunds", payment.id)))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("amount_yen", "300"),
            ("reason", "1通分の取りやめ"),
        ])
        .send()
        .await?;
    assert_eq!(requested.status(), 303);

    let finance = staff_client(&app, Role::Finance).await?;
    let queue = finance
        .get(app.at("/finance/refunds"))
        .send()
        .await?
        .text()
        .await?;
    assert!(queue.contains("1通分の取りやめ") && queue.contains("¥300"));
    let refund = app
        .storage
        .list_refunds(
            app.tenant.id,
            &RefundFilter {
                payment: Some(payment.id),
                limit: 10,
                ..RefundFilter::default()
            },
        )
        .await?
        .remove(0);
    let decided = finance
        .post(app.at(&format!("/finance/refunds/{}", refund.id)))
        .form(&[
            ("csrf_token", csrf_from(&queue).as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await?;
    assert_eq!(decided.status(), 303);
    assert_eq!(
        app.storage.refund(app.tenant.id, refund.id).await?.status,
        RefundStatus::Succeeded
    );
    let balance = trial_balance(&app, &staff_token(&app, Role::Finance).await?).await?;
    assert_eq!(balance["balanced"], true);
    let cash = balance["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["account"] == "clearing:cash")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (cash["debit_yen"].as_i64(), cash["credit_yen"].as_i64()),
        (Some(600), Some(300)),
        "{balance}"
    );

    // Finance writes off what is left of another receivable, with a reason.
    let owed = assess(&app, &hq, "copy_fee", "コピー代（未納）", 100, None).await?;
    let page = finance
        .get(app.at(&format!("/finance/receivables/{owed}")))
        .send()
        .await?
        .text()
        .await?;
    let no_reason = finance
        .post(app.at(&format!("/finance/receivables/{owed}/close")))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("action", "cancel"),
            ("reason", ""),
        ])
        .send()
        .await?;
    assert_eq!(no_reason.status(), 422);
    let closed = finance
        .post(app.at(&format!("/finance/receivables/{owed}/close")))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("action", "cancel"),
            ("reason", "誤って調定したため"),
        ])
        .send()
        .await?;
    assert_eq!(closed.status(), 303);
    let after = finance
        .get(app.at(&location(&closed)))
        .send()
        .await?
        .text()
        .await?;
    assert!(after.contains("調定を取り消しました") && after.contains("調定取消"));
    let csrf = csrf_from(&after);
    let counter_page = clerk
        .get(app.at(&format!("/staff/payments/counter/{owed}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        counter_page.contains("収納はできません") && !counter_page.contains("name=\"client_key\"")
    );
    let late = take(
        &app,
        &clerk,
        &owed,
        &csrf_from(&counter_page),
        "late-1",
        &[("method", "cash")],
    )
    .await?;
    assert_eq!(
        late.status(),
        409,
        "a cancelled receivable takes no payment"
    );
    let _ = csrf;
    Ok(())
}
on_both_backends!(
    a_cash_payment_taken_at_the_counter_is_refunded_at_the_counter,
    a_cash_payment_taken_at_the_counter_is_refunded_at_the_counter
);

// ---------------------------------------------------------------------------------------------
// The demo city's counter day

#[tokio::test]
async fn the_demo_city_has_a_counter_day_and_a_refund_waiting() -> anyhow::Result<()> {
    use madoguchi_server::demo::{DEMO_TENANT_SLUG, seed_demo, seed_demo_counter_day};
    let db = madoguchi_tests::db::fresh_sqlite().await?;
    let storage = db.storage();
    seed_demo(storage, &PasswordHasher::with_cost(1024, 1)).await?;
    let assessed = seed_demo_counter_day(storage).await?;
    assert!(assessed >= 5, "{assessed}");
    assert_eq!(
        seed_demo_counter_day(storage).await?,
        0,
        "seeding twice adds nothing"
    );
    let tenant = madoguchi_storage::TenantStore::tenant_by_slug(storage, DEMO_TENANT_SLUG).await?;
    use madoguchi_storage::PaymentStore;
    let counter_payments = storage
        .list_payments(
            tenant.id,
            &PaymentFilter {
                status: Some(PaymentStatus::Succeeded),
                limit: 50,
                ..PaymentFilter::default()
            },
        )
        .await?;
    assert!(counter_payments.len() >= 3);
    let waiting = storage
        .list_refunds(
            tenant.id,
            &RefundFilter {
                status: Some(RefundStatus::Requested),
                limit: 10,
                ..RefundFilter::default()
            },
        )
        .await?;
    assert_eq!(waiting.len(), 1);
    let today = madoguchi_domain::tokyo::to_tokyo(now_utc()).date();
    let rows = storage.trial_balance(tenant.id, None, today).await?;
    let debits: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credits: i64 = rows.iter().map(|r| r.credit_yen).sum();
    assert_eq!(debits, credits);
    assert!(debits > 0);
    Ok(())
}
