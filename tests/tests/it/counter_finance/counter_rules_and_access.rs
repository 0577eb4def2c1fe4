//! The counter's municipal rules, double submits, and who sees what (offices and cities).

use super::*;

// ---------------------------------------------------------------------------------------------
// The municipal rules

/// A checkout form's fields besides its CSRF token and key.
type Fields<'a> = &'a [(&'a str, &'a str)];

async fn each_counter_rule_is_refused_with_its_code_and_nothing_is_stored(
    app: TestApp,
) -> anyhow::Result<()> {
    let clerk = staff_client(&app, Role::HqStaff).await?;
    let finance = staff_token(&app, Role::Finance).await?;
    let honcho = office_id(&app, app.tenant.id, "honcho").await?;

    // Assessed on the spot through the counter page, then its checkout form.
    let csrf = form_token(&clerk, &app, "/staff/payments/counter").await?;
    let assessed = clerk
        .post(app.at("/staff/payments/counter"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("office_id", honcho.0.to_string().as_str()),
            ("category", "certificate_fee"),
            ("description", "住民票の写し 1通"),
            ("payer_name", "窓口 花子"),
            ("amount_yen", "300"),
        ])
        .send()
        .await?;
    assert_eq!(assessed.status(), 303);
    let to = location(&assessed);
    let receivable = to
        .strip_prefix("/staff/payments/counter/")
        .expect("to the checkout form")
        .to_owned();
    let tax = assess(
        &app,
        &staff_token(&app, Role::HqStaff).await?,
        "resident_tax",
        "市県民税 第1期",
        12_300,
        Some(honcho),
    )
    .await?;
    let before = trial_balance(&app, &finance).await?;

    let (csrf, key, html) = checkout_form(&app, &clerk, &receivable).await?;
    assert!(html.contains("¥300"), "the amount owed is shown");
    // The QR code and the same link beside it (minijinja escapes the slashes of an href).
    assert!(html.contains("<svg class=\"qr-code\"") && html.contains("スマホで支払う"));
    assert!(
        html.contains(&format!("receivables&#x2f;{receivable}&#x2f;pay")),
        "the link to online checkout"
    );
    assert!(!key.is_empty(), "the form carries its own key");
    for brand in [
        "value=\"cash\"",
        "value=\"visa\"",
        "value=\"transit\"",
        "value=\"yucho_pay\"",
        "交通系電子マネー",
        "QRコード決済",
    ] {
        assert!(html.contains(brand), "{brand} offered");
    }

    let refused: [(Fields, &str, ErrorCode); 5] = [
        (
            &[
                ("method", "cash"),
                ("method", "visa"),
                ("slip_number", "A1"),
            ],
            "method",
            ErrorCode::MixedPaymentMethods,
        ),
        (
            &[
                ("method", "visa"),
                ("instalments", "3"),
                ("slip_number", "A1"),
            ],
            "instalments",
            ErrorCode::InstalmentsNotAllowed,
        ),
        (
            &[("method", "visa"), ("instalments", "1")],
            "slip_number",
            ErrorCode::SlipNumberRequired,
        ),
        (
            &[("method", "cash"), ("amount_yen", "400")],
            "amount_yen",
            ErrorCode::PaymentExceedsOutstanding,
        ),
        (
            &[("method", "quicpay"), ("slip_number", "abc-1")],
            "slip_number",
            ErrorCode::InvalidSlipNumber,
        ),
    ];
    for (fields, field, code) in refused {
        let answer = take(&app, &clerk, &receivable, &csrf, &key, fields).await?;
        assert_eq!(answer.status(), 422, "{code:?}");
        let page = answer.text().await?;
        assert!(
            page.contains(code.message(Lang::Ja)),
            "{code:?}: the message is shown"
        );
        assert!(
            page.contains(&format!("id=\"f-{field}-error\"")),
            "{code:?} at {field}"
        );
        assert!(
            page.contains(&format!("value=\"{key}\"")),
            "the same form key again"
        );
    }
    // A tax through the cashless terminal: refused by the rule the database checks, still at
    // the method.
    let (tax_csrf, tax_key, tax_page) = checkout_form(&app, &clerk, &tax).await?;
    assert!(tax_page.contains("税はキャッシュレス端末では収納できません"));
    let answer = take(
        &app,
        &clerk,
        &tax,
        &tax_csrf,
        &tax_key,
        &[("method", "paypay"), ("slip_number", "P1")],
    )
    .await?;
    assert_eq!(answer.status(), 422);
    let page = answer.text().await?;
    assert!(page.contains(ErrorCode::TaxNotPayableAtCounter.message(Lang::Ja)));
    assert!(page.contains("id=\"f-method-error\""));

    // The API says the same with the stable codes.
    let hq = staff_token(&app, Role::HqStaff).await?;
    let api_refusals = [
        (
            json!({"method": "visa", "instalments": 2, "slip_number": "A1", "amount_yen": 300}),
            "instalments",
            "instalments_not_allowed",
            &receivable,
        ),
        (
            json!({"method": "cash", "amount_yen": 301}),
            "amount_yen",
            "payment_exceeds_outstanding",
            &receivable,
        ),
        (
            json!({"method": "jcb", "amount_yen": 300}),
            "slip_number",
            "slip_number_required",
            &receivable,
        ),
        (
            json!({"method": "bitcoin", "amount_yen": 300}),
            "method",
            "payment_method_not_offered",
            &receivable,
        ),
        (
            json!({"method": "merpay", "slip_number": "M1", "amount_yen": 12300}),
            "method",
            "tax_not_payable_at_counter",
            &tax,
        ),
    ];
    for (body, field, code, target) in api_refusals {
        let (status, answer) = post(
            &app,
            &format!("/api/v1/receivables/{target}/counter-payments"),
            &hq,
            body,
        )
        .await?;
        assert_eq!(status, 422, "{code}: {answer}");
        assert_eq!(answer["error"]["code"], code);
        assert_eq!(answer["error"]["fields"][0]["field"], field, "{answer}");
    }

    assert!(
        payments_of(&app, &receivable).await?.is_empty(),
        "no payment stored"
    );
    assert!(
        payments_of(&app, &tax).await?.is_empty(),
        "no payment stored"
    );
    assert_eq!(
        trial_balance(&app, &finance).await?,
        before,
        "nothing posted"
    );

    // Cash for the tax is fine.
    let answer = take(
        &app,
        &clerk,
        &tax,
        &tax_csrf,
        &tax_key,
        &[("method", "cash")],
    )
    .await?;
    assert_eq!(answer.status(), 303);
    Ok(())
}
on_both_backends!(
    each_counter_rule_is_refused_with_its_code_and_nothing_is_stored,
    each_counter_rule_is_refused_with_its_code_and_nothing_is_stored
);

// ---------------------------------------------------------------------------------------------
// A double submit

async fn a_double_submit_records_one_payment(app: TestApp) -> anyhow::Result<()> {
    let clerk = staff_client(&app, Role::HqStaff).await?;
    let hq = staff_token(&app, Role::HqStaff).await?;
    let receivable = assess(&app, &hq, "copy_fee", "コピー 10枚", 100, None).await?;
    let (csrf, key, _) = checkout_form(&app, &clerk, &receivable).await?;
    let fields = [
        ("method", "visa"),
        ("instalments", "1"),
        ("slip_number", "A0001"),
        ("amount_yen", "100"),
    ];
    let (first, second) = tokio::join!(
        take(&app, &clerk, &receivable, &csrf, &key, &fields),
        take(&app, &clerk, &receivable, &csrf, &key, &fields),
    );
    let (first, second) = (first?, second?);
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (303, 303)
    );
    assert_eq!(
        location(&first),
        location(&second),
        "both show the one payment"
    );
    let payments = payments_of(&app, &receivable).await?;
    assert_eq!(payments.len(), 1, "one payment recorded");
    assert_eq!(payments[0].status, PaymentStatus::Succeeded);
    assert_eq!(
        payments[0].method,
        Method::Counter(madoguchi_payments::Brand::Visa)
    );
    assert_eq!(payments[0].slip_number.as_deref(), Some("A0001"));

    let done = clerk.get(app.at(&location(&first))).send().await?;
    assert_eq!(done.status(), 200);
    let done = done.text().await?;
    assert!(done.contains("収納しました") && done.contains("¥100") && done.contains("A0001"));
    assert!(
        done.contains("クレジットカード（Visa）"),
        "the method in words"
    );
    let receipt_link = format!("/staff/payments/{}/receipt.pdf", payments[0].id);
    assert!(done.contains(&receipt_link) && done.contains("href=\"/staff/payments/counter\""));
    let pdf = clerk.get(app.at(&receipt_link)).send().await?;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await?.starts_with(b"%PDF"));

    // The API: the same Idempotency-Key twice records one payment.
    let other = assess(&app, &hq, "certificate_fee", "印鑑登録証明書", 300, None).await?;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = reqwest::Client::new()
            .post(app.at(&format!("/api/v1/receivables/{other}/counter-payments")))
            .bearer_auth(&hq)
            .header("Idempotency-Key", "till-7-0001")
            .json(&json!({"method": "cash", "amount_yen": 300}))
            .send()
            .await?;
        assert_eq!(answer.status(), 201);
        let body: Value = answer.json().await?;
        assert_eq!(body["status"], "succeeded");
        ids.push(body["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(payments_of(&app, &other).await?.len(), 1);
    // Without a key, a second payment of a paid receivable is refused.
    let (status, answer) = post(
        &app,
        &format!("/api/v1/receivables/{other}/counter-payments"),
        &hq,
        json!({"method": "cash", "amount_yen": 300}),
    )
    .await?;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("receivable_already_paid"))
    );
    Ok(())
}
on_both_backends!(
    a_double_submit_records_one_payment,
    a_double_submit_records_one_payment
);

// ---------------------------------------------------------------------------------------------
// Who sees what

async fn a_branch_clerk_stays_at_their_office_and_off_finance_pages(
    app: TestApp,
) -> anyhow::Result<()> {
    let hq = staff_token(&app, Role::HqStaff).await?;
    let honcho = office_id(&app, app.tenant.id, "honcho").await?;
    let kita = office_id(&app, app.tenant.id, "kita-shisho").await?;
    let at_hq = assess(
        &app,
        &hq,
        "certificate_fee",
        "本庁の住民票",
        300,
        Some(honcho),
    )
    .await?;
    let branch = staff_client(&app, Role::BranchStaff).await?;
    let branch_token = staff_token(&app, Role::BranchStaff).await?;
    let at_kita = assess(
        &app,
        &branch_token,
        "certificate_fee",
        "北支所の住民票",
        300,
        Some(kita),
    )
    .await?;
    // Assessing for another office is refused.
    let (status, _) = post(&app, "/api/v1/receivables", &branch_token, json!({
        "category": "certificate_fee", "description": "本庁の分", "payer_name": "窓口 花子", "amount_yen": 300, "office_id": honcho.0,
    })).await?;
    assert_eq!(status, 403);

    let list = branch
        .get(app.at("/staff/payments/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        list.contains("北支所の住民票") && !list.contains("本庁の住民票"),
        "only its own office"
    );
    assert_eq!(
        branch
            .get(app.at(&format!("/staff/payments/counter/{at_hq}")))
            .send()
            .await?
            .status(),
        404
    );
    let csrf = form_token(&branch, &app, &format!("/staff/payments/counter/{at_kita}")).await?;
    let posted = take(&app, &branch, &at_hq, &csrf, "k-1", &[("method", "cash")]).await?;
    assert_eq!(posted.status(), 404);
    let (status, _) = post(
        &app,
        &format!("/api/v1/receivables/{at_hq}/counter-payments"),
        &branch_token,
        json!({"method": "cash", "amount_yen": 300}),
    )
    .await?;
    assert_eq!(status, 404);
    assert!(payments_of(&app, &at_hq).await?.is_empty());
    // Its own office's receivable: taken.
    let (status, _) = post(
        &app,
        &format!("/api/v1/receivables/{at_kita}/counter-payments"),
        &branch_token,
        json!({"method": "cash", "amount_yen": 300}),
    )
    .await?;
    assert_eq!(status, 201);

    for path in ["/finance", "/finance/refunds", "/finance/ledger"] {
        assert_eq!(
            branch.get(app.at(path)).send().await?.status(),
            403,
            "{path}"
        );
    }
    assert_eq!(
        branch
            .get(app.at(&format!("/finance/receivables/{at_hq}")))
            .send()
            .await?
            .status(),
        404,
        "another office's receivable does not exist for them"
    );
    assert_eq!(
        branch
            .get(app.at(&format!("/finance/receivables/{at_kita}")))
            .send()
            .await?
            .status(),
        200,
        "their own office's, where they may request a refund"
    );
    let (status, _) = call(
        &app.url,
        reqwest::Method::GET,
        "/api/v1/ledger/trial-balance",
        &branch_token,
        None,
    )
    .await?;
    assert_eq!(status, 403);
    let home = branch.get(app.at("/staff")).send().await?.text().await?;
    assert!(
        home.contains("href=\"/staff/payments/counter\"")
            && !home.contains("href=\"/finance/refunds\"")
    );

    // Finance does not stand at a counter.
    let finance = staff_client(&app, Role::Finance).await?;
    assert_eq!(
        finance
            .get(app.at("/staff/payments/counter"))
            .send()
            .await?
            .status(),
        403
    );
    let finance_token = staff_token(&app, Role::Finance).await?;
    let (status, _) = post(
        &app,
        &format!("/api/v1/receivables/{at_hq}/counter-payments"),
        &finance_token,
        json!({"method": "cash", "amount_yen": 300}),
    )
    .await?;
    assert_eq!(status, 403);
    let search = finance
        .get(app.at("/finance?q=%E4%BD%8F%E6%B0%91%E7%A5%A8"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        search.contains("本庁の住民票") && search.contains("北支所の住民票"),
        "finance sees every office"
    );
    assert!(search.contains("現金 ¥300"), "with their payments");
    Ok(())
}
on_both_backends!(
    a_branch_clerk_stays_at_their_office_and_off_finance_pages,
    a_branch_clerk_stays_at_their_office_and_off_finance_pages
);

async fn another_citys_finance_user_sees_nothing(app: TestApp) -> anyhow::Result<()> {
    let hq = staff_token(&app, Role::HqStaff).await?;
    let receivable = assess(
        &app,
        &hq,
        "certificate_fee",
        "まどぐち市の住民票",
        300,
        None,
    )
    .await?;
    let (status, payment) = post(
        &app,
        &format!("/api/v1/receivables/{receivable}/counter-payments"),
        &hq,
        json!({"method": "cash", "amount_yen": 300}),
    )
    .await?;
    assert_eq!(status, 201);
    let payment = payment["id"].as_str().unwrap_or_default().to_owned();
    let (status, refund) = post(
        &app,
        &format!("/api/v1/payments/{payment}/refunds"),
        &hq,
        json!({"reason": "二重払い"}),
    )
    .await?;
    assert_eq!(status, 201, "{refund}");
    let refund = refund["id"].as_str().unwrap_or_default().to_owned();

    let other = app
        .storage
        .create_tenant(&NewTenant {
            slug: TenantSlug::parse("tonari-machi")?,
            name_ja: "となり町".into(),
            name_en: "Next Town".into(),
            host: Some("localhost".into()),
        })
        .await?;
    let email = staff_account(&app, other.id, Role::Finance, None, "tonari-finance").await?;
    let other_url = app.url.replace("127.0.0.1", "localhost");
    let token: Value = reqwest::Client::new()
        .post(format!("{other_url}/api/v1/tokens"))
        .json(&json!({"email": email, "password": PASSWORD, "kind": "staff"}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().unwrap_or_default().to_owned();
    let client = app.client();
    let signin = client
        .get(format!("{other_url}/staff/signin"))
        .send()
        .await?
        .text()
        .await?;
    let signed_in = client
        .post(format!("{other_url}/staff/signin"))
        .form(&[
            ("csrf_token", csrf_from(&signin).as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    assert_eq!(signed_in.status(), 303);

    let search = client.get(format!("{other_url}/finance")).send().await?;
    assert_eq!(search.status(), 200);
    let search = search.text().await?;
    assert!(
        !search.contains("まどぐち市の住民票"),
        "no receivable of another city"
    );
    let queue = client
        .get(format!("{other_url}/finance/refunds"))
        .send()
        .await?
        .text()
        .await?;
    assert!(!queue.contains("二重払い"), "no refund of another city");
    for path in [
        format!("/finance/receivables/{receivable}"),
        format!("/staff/payments/{payment}"),
        format!("/staff/payments/{payment}/receipt.pdf"),
    ] {
        assert_eq!(
            client
                .get(format!("{other_url}{path}"))
                .send()
                .await?
                .status(),
            404,
            "{path}"
        );
    }
    let csrf = csrf_from(&queue);
    let decided = client
        .post(format!("{other_url}/finance/refunds/{refund}"))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "approve")])
        .send()
        .await?;
    assert_eq!(decided.status(), 404);
    let (status, _) = call(
        &other_url,
        reqwest::Method::POST,
        &format!("/api/v1/refunds/{refund}/approve"),
        &token,
        Some(json!({})),
    )
    .await?;
    assert_eq!(status, 404);
    let (status, _) = call(
        &other_url,
        reqwest::Method::POST,
        &format!("/api/v1/payments/{payment}/refunds"),
        &token,
        Some(json!({"reason": "x"})),
    )
    .await?;
    assert_eq!(status, 404);
    let (status, balance) = call(
        &other_url,
        reqwest::Method::GET,
        "/api/v1/ledger/trial-balance",
        &token,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        balance["accounts"],
        json!([]),
        "nothing in its books: {balance}"
    );
    let refund = app
        .storage
        .refund(app.tenant.id, madoguchi_domain::RefundId(refund.parse()?))
        .await?;
    assert_eq!(
        refund.status,
        RefundStatus::Requested,
        "still waiting at home"
    );
    Ok(())
}
on_both_backends!(
    another_citys_finance_user_sees_nothing,
    another_citys_finance_user_sees_nothing
);
