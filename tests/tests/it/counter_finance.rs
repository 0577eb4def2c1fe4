//! Counter checkout and finance's pages over HTTP, like a browser without JavaScript, and the
//! staff payment API: each municipal rule refused with its code and nothing stored (the trial
//! balance unchanged), a double submit recording one payment, a branch clerk kept to their
//! office and off finance's pages, another city's finance seeing nothing, four eyes on refunds
//! (a second finance user pays one back through the sandbox, the ledger balanced), and a
//! counter cash refund. Also the demo city's counter day.

use madoguchi_auth::PasswordHasher;
use madoguchi_domain::{
    AccountKind, DisplayName, Email, ErrorCode, Lang, OfficeId, PaymentId, ReceivableId, Role,
    RoleAssignment, TenantId, TenantSlug,
};
use madoguchi_payments::{Method, PaymentStatus, RefundStatus};
use madoguchi_storage::{
    NewAccount, NewTenant, PasswordHash, PaymentFilter, RefundFilter, now_utc,
};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::{Actor, Scope};
use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers

async fn office_id(app: &TestApp, tenant: TenantId, code: &str) -> anyhow::Result<OfficeId> {
    app.storage
        .list_offices(tenant)
        .await?
        .into_iter()
        .find(|o| o.code.as_str() == code)
        .map(|o| o.id)
        .ok_or_else(|| anyhow::anyhow!("no office {code}"))
}

/// A staff account of `role` (at `office`) in `tenant`, signed in with [`PASSWORD`]; returns
/// its address.
async fn staff_account(
    app: &TestApp,
    tenant: TenantId,
    role: Role,
    office: Option<OfficeId>,
    name: &str,
) -> anyhow::Result<String> {
    let email = unique_email(name);
    let hash = PasswordHasher::with_cost(1024, 1)
        .hash(PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let department = match role {
        Role::HqStaff => app
            .storage
            .list_departments(tenant)
            .await?
            .first()
            .map(|d| d.id),
        _ => None,
    };
    app.storage
        .create_account(
            tenant,
            &NewAccount {
                kind: AccountKind::Staff,
                email: Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                display_name: DisplayName::parse("会計 次郎")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                password_hash: PasswordHash(hash),
                locale: Lang::Ja,
                email_verified_at: Some(now_utc()),
                roles: vec![
                    RoleAssignment::new(role, office, department)
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                ],
            },
        )
        .await?;
    Ok(email)
}

/// Calls the API with `token`; returns the status and the body (`null` when empty).
async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok((status, body))
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    call(&app.url, reqwest::Method::POST, path, token, Some(body)).await
}

/// Assesses a receivable through the API; returns its id.
async fn assess(
    app: &TestApp,
    token: &str,
    category: &str,
    description: &str,
    yen: i64,
    office: Option<OfficeId>,
) -> anyhow::Result<String> {
    let (status, body) = post(
        app,
        "/api/v1/receivables",
        token,
        json!({
            "category": category, "description": description, "payer_name": "窓口 花子",
            "amount_yen": yen, "office_id": office.map(|o| o.0),
        }),
    )
    .await?;
    anyhow::ensure!(status == 201, "assess answered {status}: {body}");
    Ok(body["id"].as_str().unwrap_or_default().to_owned())
}

/// The city's trial balance through today, as finance reads it from the API.
async fn trial_balance(app: &TestApp, finance: &str) -> anyhow::Result<Value> {
    let (status, body) = call(
        &app.url,
        reqwest::Method::GET,
        "/api/v1/ledger/trial-balance",
        finance,
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "trial balance answered {status}: {body}");
    Ok(body)
}

async fn payments_of(
    app: &TestApp,
    receivable: &str,
) -> anyhow::Result<Vec<madoguchi_storage::Payment>> {
    Ok(app
        .storage
        .list_payments(
            app.tenant.id,
            &PaymentFilter {
                receivable: Some(ReceivableId(receivable.parse()?)),
                limit: 50,
                ..PaymentFilter::default()
            },
        )
        .await?)
}

/// The checkout form of `receivable` as `client` sees it: its CSRF token and form key.
async fn checkout_form(
    app: &TestApp,
    client: &reqwest::Client,
    receivable: &str,
) -> anyhow::Result<(String, String, String)> {
    let page = client
        .get(app.at(&format!("/staff/payments/counter/{receivable}")))
        .send()
        .await?;
    anyhow::ensure!(
        page.status() == 200,
        "checkout page answered {}",
        page.status()
    );
    let html = page.text().await?;
    Ok((csrf_from(&html), hidden(&html, "client_key"), html))
}

/// Posts the checkout form with `fields` (besides the CSRF token and the form key).
async fn take(
    app: &TestApp,
    client: &reqwest::Client,
    receivable: &str,
    csrf: &str,
    key: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let mut form = vec![("csrf_token", csrf), ("client_key", key)];
    form.extend_from_slice(fields);
    Ok(client
        .post(app.at(&format!("/staff/payments/counter/{receivable}")))
        .form(&form)
        .send()
        .await?)
}

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
