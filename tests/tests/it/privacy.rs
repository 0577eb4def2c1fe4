//! What the app lets others keep or learn: caches never store personal answers, cookies stay
//! on HTTPS, metrics are not public, and sign-up does not tell who is registered.

use madoguchi_domain::Role;
use madoguchi_server::{AppState, ServerConfig};
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::watch;

fn cache_control(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn personal_answers_are_never_stored(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("cache");
    verified_resident(&app, &email).await?;
    let resident = app.client();
    let signed_in = sign_in_page(&resident, &app, "/signin", &email, PASSWORD).await?;
    assert_eq!(signed_in.status(), 303);
    for path in ["/account", "/my/reservations", "/"] {
        let response = resident.get(app.at(path)).send().await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }

    let admin = app.login(Role::Admin).clone();
    let staff = app.client();
    let signed_in =
        sign_in_page(&staff, &app, "/staff/signin", &admin.email, &admin.password).await?;
    assert_eq!(signed_in.status(), 303);
    for path in ["/staff", "/admin/staff", "/admin/audit"] {
        let response = staff.get(app.at(path)).send().await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }

    let client = reqwest::Client::new();
    let issued = client
        .post(app.at("/api/v1/tokens"))
        .json(&json!({"email": email, "password": PASSWORD, "kind": "resident"}))
        .send()
        .await?;
    assert_eq!(issued.status(), 200);
    assert_eq!(cache_control(&issued), "no-store", "POST /api/v1/tokens");
    let token = api_token(&app, "resident", &email, PASSWORD).await?;
    for path in [
        "/api/v1/me",
        "/api/v1/me/reservations",
        "/api/v1/me/calendar-feed",
    ] {
        let response = client.get(app.at(path)).bearer_auth(&token).send().await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
    // Errors are not stored either.
    let refused = client.get(app.at("/api/v1/me")).send().await?;
    assert_eq!(refused.status(), 401);
    assert_eq!(cache_control(&refused), "no-store");

    // Stylesheets are the same for everyone and stay cacheable, signed in or not.
    let css = resident.get(app.at("/static/app.css")).send().await?;
    assert_eq!(cache_control(&css), "public, max-age=3600");

    // Stylesheets travel compressed to a browser that accepts it; pages never do, since they
    // hold a CSRF token beside what the visitor typed (BREACH).
    let compressed = resident
        .get(app.at("/static/app.css"))
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    assert_eq!(compressed.status(), 200);
    assert_eq!(
        compressed
            .headers()
            .get("content-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let page = resident
        .get(app.at("/my/reservations"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("content-encoding").is_none());
    Ok(())
}
on_both_backends!(
    personal_answers_are_never_stored,
    personal_answers_are_never_stored
);

fn lang_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lang="))
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn the_language_cookie_is_secure_under_https() -> anyhow::Result<()> {
    let mut options = Options::new(Backend::Sqlite);
    options.tweak = Box::new(|config: &mut ServerConfig| {
        config.public_url = "https://yoyaku.example-city.lg.jp".into();
    });
    let app = spawn(options).await?.expect("sqlite app");
    let response = app.client().get(app.at("/?lang=en")).send().await?;
    let cookie = lang_cookie(&response);
    assert!(cookie.starts_with("lang=en"), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Over plain HTTP (a town's machine without TLS) the cookie must work, so no `Secure`.
    let plain = spawn(Options::new(Backend::Sqlite))
        .await?
        .expect("sqlite app");
    let response = plain.client().get(plain.at("/?lang=en")).send().await?;
    let cookie = lang_cookie(&response);
    assert!(
        cookie.starts_with("lang=en") && !cookie.contains("Secure"),
        "{cookie}"
    );
    Ok(())
}

const METRICS_TOKEN: &str = "metrics-token-for-the-scraper-0123";

/// Serves the app with a metrics recorder (not installed globally: each test has its own) and
/// `token`; returns its URL and the stop signal.
async fn serve_with_metrics(
    app: &TestApp,
    token: Option<&str>,
) -> anyhow::Result<(String, watch::Sender<bool>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = ServerConfig::local(
        url.clone(),
        SecretString::from("test-secret-test-secret-test-secret".to_owned()),
    );
    config.argon2_memory_kib = 1024;
    config.argon2_passes = 1;
    config.metrics_token = token.map(|t| SecretString::from(t.to_owned()));
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let state = AppState::new(app.storage.clone(), config, Some(handle))?;
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(madoguchi_server::serve(listener, state, shutdown));
    Ok((url, stop))
}

#[tokio::test]
async fn metrics_need_the_token_on_the_public_address() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite))
        .await?
        .expect("sqlite app");
    let client = reqwest::Client::new();

    // By default the public address has no metrics at all.
    let (url, _stop) = serve_with_metrics(&app, None).await?;
    let absent = client.get(format!("{url}/metrics")).send().await?;
    assert_eq!(absent.status(), 404);
    let absent = client
        .get(format!("{url}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await?;
    assert_eq!(absent.status(), 404, "no token configured: no way in");

    let (url, _stop) = serve_with_metrics(&app, Some(METRICS_TOKEN)).await?;
    let anonymous = client.get(format!("{url}/metrics")).send().await?;
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(format!("{url}/metrics"))
        .bearer_auth("metrics-token-for-the-scraper-9999")
        .send()
        .await?;
    assert_eq!(wrong.status(), 401);
    let scraped = client
        .get(format!("{url}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await?;
    assert_eq!(scraped.status(), 200);
    assert!(
        cache_control(&scraped) == "no-store"
            && scraped
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .starts_with("text/plain")
    );
    Ok(())
}

#[tokio::test]
async fn the_separate_metrics_address_serves_metrics_only() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(madoguchi_server::metrics_endpoint::serve(
        listener, handle, shutdown,
    ));
    let client = reqwest::Client::new();
    assert_eq!(
        client.get(format!("{url}/metrics")).send().await?.status(),
        200
    );
    assert_eq!(client.get(format!("{url}/")).send().await?.status(), 404);
    assert_eq!(
        client
            .get(format!("{url}/api/v1/me"))
            .send()
            .await?
            .status(),
        404
    );
    Ok(())
}

async fn sign_up_answers_a_known_address_like_a_new_one_and_mails_its_owner(
    app: TestApp,
) -> anyhow::Result<()> {
    let known = unique_email("known");
    verified_resident(&app, &known).await?;
    let client = reqwest::Client::new();
    let sign_up = |email: String| {
        let client = client.clone();
        let url = app.at("/api/v1/residents");
        async move {
            let response = client
                .post(url)
                .json(&json!({"display_name": "山田 花子", "email": email, "password": PASSWORD}))
                .send()
                .await?;
            let status = response.status();
            let content_type = response.headers().get("content-type").cloned();
            let body = response.text().await?.replace(&email, "ADDRESS");
            anyhow::Ok((status, content_type, body))
        }
    };
    let new = unique_email("new");
    let for_known = sign_up(known.clone()).await?;
    let for_new = sign_up(new.clone()).await?;
    assert_eq!(for_known, for_new, "the API answers alike");
    assert_eq!(for_known.0, 202);

    // The page too: the same redirect to the same "mail sent" page.
    let known_page = sign_up_page(&app.client(), &app, &known, PASSWORD).await?;
    let new_page = sign_up_page(&app.client(), &app, &unique_email("new"), PASSWORD).await?;
    assert_eq!(known_page.status(), new_page.status());
    assert_eq!(known_page.status(), 303);
    assert_eq!(
        known_page.headers()["location"],
        new_page.headers()["location"]
    );

    // The new address gets its verification link; the owner of the known one is told instead,
    // once per attempt, with no link that could verify or take over anything.
    let verification = app
        .mail
        .wait_for_nth(&new, 1, std::time::Duration::from_secs(10))
        .await?;
    assert!(
        verification
            .link_containing("/verify-email?token=")
            .is_some()
    );
    let warning = app
        .mail
        .wait_for_nth(&known, 3, std::time::Duration::from_secs(10))
        .await?;
    let text = warning.text();
    assert!(
        text.contains("/signin") && text.contains("/password-reset"),
        "{text}"
    );
    assert!(!text.contains("token="), "{text}");
    assert!(
        warning.subject().contains("新規登録"),
        "{}",
        warning.subject()
    );
    // The owner's account and password are untouched.
    let signed_in = sign_in_page(&app.client(), &app, "/signin", &known, PASSWORD).await?;
    assert_eq!(signed_in.status(), 303);
    Ok(())
}
on_both_backends!(
    sign_up_answers_a_known_address_like_a_new_one_and_mails_its_owner,
    sign_up_answers_a_known_address_like_a_new_one_and_mails_its_owner
);
