//! The resident's side of payments over HTTP, like a browser without JavaScript and like an API
//! client: the demo resident pays the 住民票の写し fee by card on the sandbox's page, the
//! sandbox's webhook (a job) marks it paid, the result page says so and the receipt is a PDF.
//! Another resident finds none of it (404 on every page and operation), a signed-out visitor
//! is sent to sign in and back, a paid fee refuses a second payment with its code in Japanese
//! and English, and the API's `Idempotency-Key` answers a retry with the same payment.

use madoguchi_auth::PasswordHasher;
use madoguchi_domain::{ErrorCode, Lang, Role};
use madoguchi_server::demo::{DemoResident, seed_demo_payments};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};
use std::time::Duration;

/// How long the sandbox's webhook (a job) may take to reach us.
const WEBHOOK_WAIT: Duration = Duration::from_secs(30);

/// The demo resident, signed in through the pages, with an API token.
struct Payer {
    login: DemoResident,
    client: reqwest::Client,
    token: String,
}

async fn demo_payer(app: &TestApp) -> anyhow::Result<Payer> {
    let seeded = seed_demo_payments(&*app.storage, &PasswordHasher::with_cost(1024, 1)).await?;
    anyhow::ensure!(seeded.receivables_added == 2, "{seeded:?}");
    let login = seeded
        .resident
        .ok_or_else(|| anyhow::anyhow!("the demo resident existed already"))?;
    let client = app.client();
    let signed_in = sign_in_page(&client, app, "/signin", &login.email, &login.password).await?;
    anyhow::ensure!(signed_in.status() == 303, "sign-in: {}", signed_in.status());
    let token = api_token(app, "resident", &login.email, &login.password).await?;
    Ok(Payer {
        login,
        client,
        token,
    })
}

/// The id of the demo resident's receivable of `amount_yen`, through the API.
async fn receivable_of(app: &TestApp, token: &str, amount_yen: i64) -> anyhow::Result<String> {
    let list: Value = reqwest::Client::new()
        .get(app.at("/api/v1/receivables"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    list.as_array()
        .into_iter()
        .flatten()
        .find(|r| r["amount_yen"] == amount_yen)
        .and_then(|r| r["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no receivable of {amount_yen} in {list}"))
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> anyhow::Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .get(app.at(path))
        .bearer_auth(token)
        .send()
        .await?)
}

/// Waits until the payment's status (read through the API) is `wanted`.
async fn wait_for_status(
    app: &TestApp,
    token: &str,
    payment: &str,
    wanted: &str,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + WEBHOOK_WAIT;
    loop {
        let body: Value = api_get(app, token, &format!("/api/v1/payments/{payment}"))
            .await?
            .json()
            .await?;
        if body["status"] == wanted {
            return Ok(body);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "payment still {} after {WEBHOOK_WAIT:?}, not {wanted}",
            body["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pays `receivable` by card on the pages: the pay page, the sandbox's page, "pay". Returns the
/// payment's id, once its webhook has marked it paid.
async fn pay_by_card(app: &TestApp, payer: &Payer, receivable: &str) -> anyhow::Result<String> {
    let pay_path = format!("/receivables/{receivable}/pay");
    let page = payer.client.get(app.at(&pay_path)).send().await?;
    anyhow::ensure!(page.status() == 200, "pay page: {}", page.status());
    let html = page.text().await?;
    let sent = payer
        .client
        .post(app.at(&pay_path))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("method", "card"),
        ])
        .send()
        .await?;
    anyhow::ensure!(sent.status() == 303, "pay: {}", sent.status());
    let gateway_page = location(&sent);
    anyhow::ensure!(
        gateway_page.starts_with(&app.at("/sandbox/pay/")),
        "{gateway_page}"
    );

    let sandbox = payer.client.get(&gateway_page).send().await?;
    anyhow::ensure!(
        sandbox.status() == 200,
        "sandbox page: {}",
        sandbox.status()
    );
    let sandbox_html = sandbox.text().await?;
    let chosen = payer
        .client
        .post(&gateway_page)
        .form(&[
            ("csrf_token", csrf_from(&sandbox_html).as_str()),
            ("outcome", "succeed"),
        ])
        .send()
        .await?;
    anyhow::ensure!(chosen.status() == 303, "sandbox: {}", chosen.status());
    let result = location(&chosen);
    let payment = result
        .strip_prefix(&app.at("/payments/"))
        .ok_or_else(|| anyhow::anyhow!("the sandbox sent the payer to {result}"))?
        .to_owned();
    wait_for_status(app, &payer.token, &payment, "succeeded").await?;
    Ok(payment)
}

async fn a_resident_pays_a_fee_by_card_and_downloads_the_receipt(
    app: TestApp,
) -> anyhow::Result<()> {
    let payer = demo_payer(&app).await?;
    let fee = receivable_of(&app, &payer.token, 300).await?;

    let page = payer
        .client
        .get(app.at(&format!("/receivables/{fee}/pay")))
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let html = page.text().await?;
    for expected in [
        "住民票の写し（1通）",
        "証明手数料",
        "300円",
        "クレジットカード（Apple Pay",
        "PayPay",
        "コンビニ払い",
    ] {
        assert!(html.contains(expected), "{expected} missing: {html}");
    }

    // Started, not yet paid: the result page reloads itself while in flight.
    let started: Value = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
        .bearer_auth(&payer.token)
        .header("Idempotency-Key", "first-try")
        .json(&json!({"method": "card"}))
        .send()
        .await?
        .json()
        .await?;
    let started_id = started["id"].as_str().unwrap_or_default().to_owned();
    let in_flight = payer
        .client
        .get(app.at(&format!("/payments/{started_id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(in_flight.contains("処理中"), "{in_flight}");
    assert!(
        in_flight.contains(r#"<meta http-equiv="refresh" content="5">"#),
        "{in_flight}"
    );
    assert!(
        in_flight.contains(&format!("/payments/{started_id}?norefresh=1")),
        "a link stops the reloading: {in_flight}"
    );
    let stopped = payer
        .client
        .get(app.at(&format!("/payments/{started_id}?norefresh=1")))
        .send()
        .await?
        .text()
        .await?;
    assert!(!stopped.contains("http-equiv=\"refresh\""), "{stopped}");
    assert!(stopped.contains("自動更新を止めています"), "{stopped}");

    // Paying on the pages continues the payment under way (same method): one payment.
    let payment = pay_by_card(&app, &payer, &fee).await?;
    assert_eq!(
        payment, started_id,
        "the card payment under way was continued"
    );

    let result = payer
        .client
        .get(app.at(&format!("/payments/{payment}")))
        .send()
        .await?;
    assert_eq!(result.status(), 200);
    let result = result.text().await?;
    assert!(result.contains("お支払い済み"), "{result}");
    assert!(result.contains("Visa"), "the card brand: {result}");
    assert!(!result.contains("http-equiv=\"refresh\""), "{result}");
    let receipt_path = format!("/payments/{payment}/receipt.pdf");
    assert!(result.contains(&receipt_path), "{result}");

    let receipt = payer.client.get(app.at(&receipt_path)).send().await?;
    assert_eq!(receipt.status(), 200);
    let header = |name: &str| {
        receipt
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("cache-control"), "private, no-store");
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"receipt-R-")
            && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    let bytes = receipt.bytes().await?;
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    // In English too.
    let english = payer
        .client
        .get(app.at(&format!("{receipt_path}?lang=en")))
        .send()
        .await?;
    assert_eq!(english.status(), 200);
    assert!(english.bytes().await?.starts_with(b"%PDF"));

    // The API says the same.
    let through_api: Value = api_get(&app, &payer.token, &format!("/api/v1/payments/{payment}"))
        .await?
        .json()
        .await?;
    assert_eq!(through_api["status"], "succeeded");
    assert_eq!(through_api["amount_yen"], 300);
    assert!(
        through_api["receipt_number"]
            .as_str()
            .is_some_and(|n| n.starts_with("R-"))
    );
    let api_receipt = api_get(
        &app,
        &payer.token,
        &format!("/api/v1/payments/{payment}/receipt"),
    )
    .await?;
    assert_eq!(api_receipt.status(), 200);
    assert_eq!(api_receipt.headers()["content-type"], "application/pdf");
    assert!(api_receipt.bytes().await?.starts_with(b"%PDF"));
    let fee_now: Value = api_get(&app, &payer.token, &format!("/api/v1/receivables/{fee}"))
        .await?
        .json()
        .await?;
    assert_eq!(fee_now["status"], "paid");
    assert_eq!(fee_now["outstanding_yen"], 0);

    // The list shows both fees and the payment, with its receipt; /account links to it.
    // (`?lang=ja`: the English receipt above switched the session's language.)
    let list = payer
        .client
        .get(app.at("/account/payments?lang=ja"))
        .send()
        .await?
        .text()
        .await?;
    for expected in [
        "住民票の写し（1通）",
        "犬の登録（1頭）",
        "3,000円",
        &receipt_path,
    ] {
        assert!(list.contains(expected), "{expected} missing: {list}");
    }
    let account = payer
        .client
        .get(app.at("/account"))
        .send()
        .await?
        .text()
        .await?;
    assert!(account.contains("/account/payments"), "{account}");

    // A paid fee: the pay page says so, and a second payment is refused, on the page and in
    // the API, in Japanese and in English.
    let paid_page = payer
        .client
        .get(app.at(&format!("/receivables/{fee}/pay")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        paid_page.contains("このお支払いはお済みです"),
        "{paid_page}"
    );
    assert!(paid_page.contains(&receipt_path), "{paid_page}");
    let refused = payer
        .client
        .post(app.at(&format!("/receivables/{fee}/pay")))
        .form(&[
            ("csrf_token", csrf_from(&paid_page).as_str()),
            ("method", "paypay"),
        ])
        .send()
        .await?;
    assert_eq!(refused.status(), 409);
    let refused = refused.text().await?;
    assert!(
        refused.contains(ErrorCode::ReceivableAlreadyPaid.message(Lang::Ja)),
        "{refused}"
    );
    for (language, lang) in [("ja", Lang::Ja), ("en", Lang::En)] {
        let again = reqwest::Client::new()
            .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
            .bearer_auth(&payer.token)
            .header("Idempotency-Key", format!("second-{language}"))
            .header("Accept-Language", language)
            .json(&json!({"method": "paypay"}))
            .send()
            .await?;
        assert_eq!(again.status(), 409);
        let body: Value = again.json().await?;
        assert_eq!(body["error"]["code"], "receivable_already_paid", "{body}");
        assert_eq!(
            body["error"]["message"],
            ErrorCode::ReceivableAlreadyPaid.message(lang),
            "{body}"
        );
    }
    // The first key still answers its payment, paid since.
    let replay = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
        .bearer_auth(&payer.token)
        .header("Idempotency-Key", "first-try")
        .json(&json!({"method": "card"}))
        .send()
        .await?;
    assert_eq!(replay.status(), 200);
    let replay: Value = replay.json().await?;
    assert_eq!(replay["id"], payment.as_str());
    assert_eq!(replay["status"], "succeeded");

    // Another resident finds none of it.
    let other = resident(&app).await?;
    let other_client = resident_client(&app, &other.email).await?;
    for path in [
        format!("/receivables/{fee}/pay"),
        format!("/payments/{payment}"),
        receipt_path.clone(),
    ] {
        let answer = other_client.get(app.at(&path)).send().await?;
        assert_eq!(answer.status(), 404, "{path}");
    }
    let token_page = other_client
        .get(app.at("/account"))
        .send()
        .await?
        .text()
        .await?;
    let posted = other_client
        .post(app.at(&format!("/receivables/{fee}/pay")))
        .form(&[
            ("csrf_token", csrf_from(&token_page).as_str()),
            ("method", "card"),
        ])
        .send()
        .await?;
    assert_eq!(posted.status(), 404);
    for path in [
        format!("/api/v1/receivables/{fee}"),
        format!("/api/v1/payments/{payment}"),
        format!("/api/v1/payments/{payment}/receipt"),
    ] {
        let answer = api_get(&app, &other.token, &path).await?;
        assert_eq!(answer.status(), 404, "{path}");
    }
    let started_by_other = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
        .bearer_auth(&other.token)
        .header("Idempotency-Key", "first-try")
        .json(&json!({"method": "card"}))
        .send()
        .await?;
    assert_eq!(started_by_other.status(), 404);
    let theirs: Value = api_get(&app, &other.token, "/api/v1/receivables")
        .await?
        .json()
        .await?;
    assert_eq!(theirs, json!([]));
    let their_list = other_client
        .get(app.at("/account/payments"))
        .send()
        .await?
        .text()
        .await?;
    assert!(!their_list.contains("住民票の写し"), "{their_list}");

    // Finance may see it too, and its receipt.
    let finance = staff_client(&app, Role::Finance).await?;
    let seen = finance
        .get(app.at(&format!("/payments/{payment}")))
        .send()
        .await?;
    assert_eq!(seen.status(), 200);
    let seen = finance.get(app.at(&receipt_path)).send().await?;
    assert_eq!(seen.status(), 200);
    Ok(())
}
on_both_backends!(
    a_resident_pays_by_card_and_others_see_nothing,
    a_resident_pays_a_fee_by_card_and_downloads_the_receipt
);

async fn a_signed_out_visitor_is_sent_to_sign_in_and_back(app: TestApp) -> anyhow::Result<()> {
    let payer = demo_payer(&app).await?;
    let fee = receivable_of(&app, &payer.token, 3000).await?;
    let started: Value = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
        .bearer_auth(&payer.token)
        .header("Idempotency-Key", "k1")
        .json(&json!({"method": "konbini"}))
        .send()
        .await?
        .json()
        .await?;
    let payment = started["id"].as_str().unwrap_or_default().to_owned();
    let visitor = app.client();
    for path in [
        format!("/receivables/{fee}/pay"),
        format!("/payments/{payment}"),
        format!("/payments/{payment}/receipt.pdf"),
        "/account/payments".to_owned(),
    ] {
        let answer = visitor.get(app.at(&path)).send().await?;
        assert_eq!(answer.status(), 303, "{path}");
        assert_eq!(location(&answer), format!("/signin?next={path}"), "{path}");
    }
    // Signing in there brings the payer back to the fee.
    let sign_in = format!("/signin?next=/receivables/{fee}/pay");
    let form = visitor.get(app.at(&sign_in)).send().await?.text().await?;
    let next = hidden(&form, "next").replace("&#x2f;", "/");
    assert_eq!(next, format!("/receivables/{fee}/pay"));
    let back = visitor
        .post(app.at(&sign_in))
        .form(&[
            ("csrf_token", csrf_from(&form).as_str()),
            ("email", payer.login.email.as_str()),
            ("password", payer.login.password.as_str()),
            ("next", next.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), format!("/receivables/{fee}/pay"));
    // A konbini voucher waits days: its result page does not reload, and links the voucher.
    let konbini = visitor
        .get(app.at(&format!("/payments/{payment}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(konbini.contains("コンビニでのお支払い"), "{konbini}");
    assert!(!konbini.contains("http-equiv=\"refresh\""), "{konbini}");
    assert!(
        konbini.replace("&#x2f;", "/").contains("/sandbox/pay/"),
        "the voucher: {konbini}"
    );
    // The fee's page offers to continue what is under way.
    let fee_page = visitor
        .get(app.at(&format!("/receivables/{fee}/pay")))
        .send()
        .await?
        .text()
        .await?;
    assert!(fee_page.contains("手続き中です"), "{fee_page}");
    // Another method while the konbini payment is under way: refused, with a link to it.
    let refused = visitor
        .post(app.at(&format!("/receivables/{fee}/pay")))
        .form(&[
            ("csrf_token", csrf_from(&fee_page).as_str()),
            ("method", "card"),
        ])
        .send()
        .await?;
    assert_eq!(refused.status(), 409);
    let refused = refused.text().await?;
    assert!(
        refused.contains(ErrorCode::PaymentInProgress.message(Lang::Ja)),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("/payments/{payment}")),
        "{refused}"
    );
    // No method chosen: the field says so.
    let unchosen = visitor
        .post(app.at(&format!("/receivables/{fee}/pay")))
        .form(&[("csrf_token", csrf_from(&fee_page).as_str())])
        .send()
        .await?;
    assert_eq!(unchosen.status(), 422);
    let unchosen = unchosen.text().await?;
    assert!(unchosen.contains("f-method-error"), "{unchosen}");
    Ok(())
}
on_both_backends!(
    signed_out_visitors_sign_in_first,
    a_signed_out_visitor_is_sent_to_sign_in_and_back
);

async fn an_api_retry_with_the_same_key_answers_the_same_payment(
    app: TestApp,
) -> anyhow::Result<()> {
    let payer = demo_payer(&app).await?;
    let fee = receivable_of(&app, &payer.token, 3000).await?;
    let start = |key: Option<&'static str>, method: &'static str| {
        let mut request = reqwest::Client::new()
            .post(app.at(&format!("/api/v1/receivables/{fee}/payments")))
            .bearer_auth(&payer.token)
            .json(&json!({ "method": method }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send()
    };
    let first = start(Some("pay-dog-1"), "card").await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    assert_eq!(first["status"], "created");
    assert_eq!(first["amount_yen"], 3000);
    assert!(
        first["redirect_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&app.at("/sandbox/pay/"))),
        "{first}"
    );
    let again = start(Some("pay-dog-1"), "card").await?;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await?;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["redirect_url"], first["redirect_url"]);

    let reused = start(Some("pay-dog-1"), "konbini").await?;
    assert_eq!(reused.status(), 422);
    let reused: Value = reused.json().await?;
    assert_eq!(
        reused["error"]["code"], "idempotency_key_reused",
        "{reused}"
    );

    let other_method = start(Some("pay-dog-2"), "paypay").await?;
    assert_eq!(other_method.status(), 409);
    let other_method: Value = other_method.json().await?;
    assert_eq!(other_method["error"]["code"], "payment_in_progress");

    let keyless = start(None, "card").await?;
    assert_eq!(keyless.status(), 422);
    let keyless: Value = keyless.json().await?;
    assert_eq!(
        keyless["error"]["fields"][0]["field"], "Idempotency-Key",
        "{keyless}"
    );

    let unknown_method = start(Some("pay-dog-3"), "bitcoin").await?;
    assert_eq!(unknown_method.status(), 422);
    let unknown_method: Value = unknown_method.json().await?;
    assert_eq!(
        unknown_method["error"]["fields"][0]["code"],
        "payment_method_not_offered"
    );

    let nowhere = reqwest::Client::new()
        .post(app.at(&format!(
            "/api/v1/receivables/{}/payments",
            uuid::Uuid::new_v4()
        )))
        .bearer_auth(&payer.token)
        .header("Idempotency-Key", "pay-nothing")
        .json(&json!({"method": "card"}))
        .send()
        .await?;
    assert_eq!(nowhere.status(), 404);
    let unknown_payment = api_get(
        &app,
        &payer.token,
        &format!("/api/v1/payments/{}", uuid::Uuid::new_v4()),
    )
    .await?;
    assert_eq!(unknown_payment.status(), 404);
    // No receipt before the payment succeeded.
    let early = api_get(
        &app,
        &payer.token,
        &format!(
            "/api/v1/payments/{}/receipt",
            first["id"].as_str().unwrap_or_default()
        ),
    )
    .await?;
    assert_eq!(early.status(), 404);
    Ok(())
}
on_both_backends!(
    api_idempotency_keys,
    an_api_retry_with_the_same_key_answers_the_same_payment
);
