//! Bad input: each gets a clear error with a stable code in the caller's language, and nothing
//! is half-written.

use madoguchi_domain::AccountKind;
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};

async fn residents(app: &TestApp) -> anyhow::Result<usize> {
    Ok(app
        .storage
        .list_accounts(app.tenant.id, AccountKind::Resident)
        .await?
        .len())
}

async fn post_json(
    app: &TestApp,
    path: &str,
    body: &str,
    lang: &str,
) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(app.at(path))
        .header("content-type", "application/json")
        .header("accept-language", lang)
        .body(body.to_owned())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn malformed_and_invalid_sign_ups_store_nothing(app: TestApp) -> anyhow::Result<()> {
    let before = residents(&app).await?;
    let (status, body) = post_json(&app, "/api/v1/residents", "{\"email\": ", "ja").await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("JSON")
    );

    let (status, body) = post_json(
        &app,
        "/api/v1/residents",
        r#"{"display_name":"x","email":"not-an-email","password":"Sakura-Koen-2026!"}"#,
        "en",
    )
    .await?;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_email");
    assert_eq!(body["error"]["fields"][0]["field"], "email");
    assert_eq!(body["error"]["message"], "The email address is not valid.");

    for (password, code) in [
        ("short-1", "password_too_short"),
        ("Password123456!", "password_too_common"),
        ("123456789012", "password_too_common"),
    ] {
        let body_text =
            json!({"display_name": "山田", "email": unique_email("weak"), "password": password})
                .to_string();
        let (status, body) = post_json(&app, "/api/v1/residents", &body_text, "ja").await?;
        assert_eq!(status, 422, "{password}");
        assert_eq!(body["error"]["code"], code, "{password}");
    }
    // Several problems at once are all reported.
    let (status, body) = post_json(
        &app,
        "/api/v1/residents",
        r#"{"display_name":"","email":"@","password":"x"}"#,
        "ja",
    )
    .await?;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["fields"].as_array().map(Vec::len), Some(3));
    // Unknown fields are refused rather than silently dropped.
    let (status, _) = post_json(&app, "/api/v1/residents", r#"{"display_name":"a","email":"a@example.jp","password":"Sakura-Koen-2026!","admin":true}"#, "ja").await?;
    assert_eq!(status, 422);
    // Wrong content type.
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/residents"))
        .body("email=x")
        .send()
        .await?;
    assert_eq!(response.status(), 415);
    assert_eq!(
        response.json::<Value>().await?["error"]["code"],
        "unsupported_media_type"
    );
    assert_eq!(residents(&app).await?, before, "nothing was stored");
    Ok(())
}
on_both_backends!(
    malformed_and_invalid_sign_ups_store_nothing,
    malformed_and_invalid_sign_ups_store_nothing
);

async fn a_duplicate_account_is_not_created_and_the_owner_is_told(
    app: TestApp,
) -> anyhow::Result<()> {
    let email = unique_email("dup");
    verified_resident(&app, &email).await?;
    let before = residents(&app).await?;
    let client = app.client();
    // Addresses compare case-insensitively. The page answers as for a new address (so it
    // reveals nobody's registration) and the owner gets a mail instead.
    let response = sign_up_page(&client, &app, &email.to_uppercase(), PASSWORD).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/signup/sent");
    for _ in 0..100 {
        if app.mail.count_to(&email).await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.mail.count_to(&email).await,
        2,
        "verification, then the notice"
    );
    assert_eq!(residents(&app).await?, before);
    Ok(())
}
on_both_backends!(
    a_duplicate_account_is_not_created_and_the_owner_is_told,
    a_duplicate_account_is_not_created_and_the_owner_is_told
);

#[tokio::test]
async fn an_oversize_body_is_refused_with_413() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite)).await?.expect("sqlite");
    let big = format!("{{\"display_name\":\"{}\"}}", "あ".repeat(200_000));
    let (status, body) = post_json(&app, "/api/v1/residents", &big, "en").await?;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
    Ok(())
}

#[tokio::test]
async fn unknown_routes_get_a_not_found_page_in_the_right_language() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite)).await?.expect("sqlite");
    let client = reqwest::Client::new();
    let ja = client.get(app.at("/no-such-page")).send().await?;
    assert_eq!(ja.status(), 404);
    let html = ja.text().await?;
    assert!(html.contains("<html lang=\"ja\">") && html.contains("見つかりませんでした"));
    let en = client
        .get(app.at("/no-such-page"))
        .header("accept-language", "en")
        .send()
        .await?;
    assert_eq!(en.status(), 404);
    let html = en.text().await?;
    assert!(html.contains("<html lang=\"en\">") && html.contains("was not found"));
    let api = client.get(app.at("/api/v1/nothing-here")).send().await?;
    assert_eq!(api.status(), 404);
    assert_eq!(api.json::<Value>().await?["error"]["code"], "not_found");
    let bad_id = client
        .get(app.at("/api/v1/offices/not-a-uuid"))
        .send()
        .await?;
    assert_eq!(bad_id.status(), 400);
    assert_eq!(
        bad_id.json::<Value>().await?["error"]["code"],
        "validation_failed"
    );
    let wrong_method = client.delete(app.at("/api/v1/offices")).send().await?;
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await?["error"]["code"],
        "method_not_allowed"
    );
    Ok(())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite)).await?.expect("sqlite");
    for path in [
        "/",
        "/signin",
        "/no-such-page",
        "/api/v1/offices",
        "/healthz",
    ] {
        let response = reqwest::get(app.at(path)).await?;
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}"
        );
        assert!(headers.contains_key("x-request-id"), "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
    Ok(())
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_tls() -> anyhow::Result<()> {
    let mut options = Options::new(Backend::Sqlite);
    options.tweak = Box::new(|c| c.public_url = "https://yoyaku.madoguchi-city.example".into());
    let app = spawn(options).await?.expect("sqlite");
    let response = reqwest::get(app.at("/")).await?;
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_some()
    );
    Ok(())
}

#[tokio::test]
async fn operations_endpoints_answer() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite)).await?.expect("sqlite");
    assert_eq!(reqwest::get(app.at("/healthz")).await?.status(), 200);
    assert_eq!(reqwest::get(app.at("/readyz")).await?.status(), 200);
    let doc: Value = reqwest::get(app.at("/api/openapi.json"))
        .await?
        .json()
        .await?;
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    for path in [
        "/api/v1/tokens",
        "/api/v1/residents",
        "/api/v1/offices/{id}/staff",
        "/api/v1/audit",
        "/api/v1/staff/{id}/roles",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    Ok(())
}
