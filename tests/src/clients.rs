//! Clients of the HTTP tests: signing up and verifying residents, signing in residents and the
//! demo staff through the pages, and API tokens for both.

use crate::app::{TestApp, csrf_from};
use madoguchi_domain::{AccountId, AccountKind, Email, Role};
use serde_json::{Value, json};
use std::time::Duration;

/// The password of every resident these helpers sign up.
pub const PASSWORD: &str = "Sakura-Koen-2026!";

/// An address no other test uses: `prefix-<uuid>@example.jp`.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.jp", uuid::Uuid::new_v4().simple())
}

/// GETs a form page and returns its CSRF token.
pub async fn form_token(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
) -> anyhow::Result<String> {
    let html = client.get(app.at(path)).send().await?.text().await?;
    let token = csrf_from(&html);
    anyhow::ensure!(!token.is_empty(), "no csrf token on {path}");
    Ok(token)
}

/// Signs up through the page form; returns the response.
pub async fn sign_up_page(
    client: &reqwest::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> anyhow::Result<reqwest::Response> {
    let token = form_token(client, app, "/signup").await?;
    Ok(client
        .post(app.at("/signup"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("display_name", "山田 花子"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await?)
}

/// Signs up and follows the verification link from the mail: a verified resident.
pub async fn verified_resident(app: &TestApp, email: &str) -> anyhow::Result<()> {
    let client = app.client();
    let response = sign_up_page(&client, app, email, PASSWORD).await?;
    anyhow::ensure!(
        response.status() == 303,
        "sign-up answered {}",
        response.status()
    );
    let mail = app.mail.wait_for(email, Duration::from_secs(10)).await?;
    let link = mail
        .link_containing("/verify-email?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", mail.text()))?;
    let page = confirm_email(&client, app, &link).await?;
    anyhow::ensure!(
        page.status() == 200,
        "verification answered {}",
        page.status()
    );
    Ok(())
}

/// Signs in through the page form with `client`; returns the response.
pub async fn sign_in_page(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<reqwest::Response> {
    let token = form_token(client, app, path).await?;
    Ok(client
        .post(app.at(path))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await?)
}

/// An API token for an account.
pub async fn api_token(
    app: &TestApp,
    kind: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/tokens"))
        .json(&json!({"email": email, "password": password, "kind": kind}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status == 200, "token request answered {status}: {body}");
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

/// Opens a verification link (which only shows a button) and presses the button.
pub async fn confirm_email(
    client: &reqwest::Client,
    app: &TestApp,
    link: &str,
) -> anyhow::Result<reqwest::Response> {
    let page = client.get(link).send().await?;
    anyhow::ensure!(page.status() == 200, "the link answered {}", page.status());
    let html = page.text().await?;
    let csrf = csrf_from(&html);
    let token = link.split("token=").nth(1).unwrap_or_default();
    Ok(client
        .post(app.at("/verify-email"))
        .form(&[("csrf_token", csrf.as_str()), ("token", token)])
        .send()
        .await?)
}

/// An API token for the demo staff login of `role`.
pub async fn staff_token(app: &TestApp, role: Role) -> anyhow::Result<String> {
    let login = app.login(role).clone();
    api_token(app, "staff", &login.email, &login.password).await
}

/// An API token for the demo administrator.
pub async fn admin_token(app: &TestApp) -> anyhow::Result<String> {
    staff_token(app, Role::Admin).await
}

/// A client signed in through the staff pages as the demo login of `role`.
pub async fn staff_client(app: &TestApp, role: Role) -> anyhow::Result<reqwest::Client> {
    let login = app.login(role).clone();
    let client = app.client();
    let response =
        sign_in_page(&client, app, "/staff/signin", &login.email, &login.password).await?;
    anyhow::ensure!(
        response.status() == 303,
        "staff sign-in answered {}",
        response.status()
    );
    Ok(client)
}

/// A verified resident of the API: the account id, the address and an API token.
pub struct Resident {
    pub id: AccountId,
    pub email: String,
    pub token: String,
}

/// Signs up a new resident, verifies the address through the mailed link and gets an API token.
pub async fn resident(app: &TestApp) -> anyhow::Result<Resident> {
    let email = unique_email("resident");
    verified_resident(app, &email).await?;
    let token = api_token(app, "resident", &email, PASSWORD).await?;
    let id = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Resident,
            &Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?
        .id;
    Ok(Resident { id, email, token })
}

/// A client signed in through the resident pages as `email` (a verified resident).
pub async fn resident_client(app: &TestApp, email: &str) -> anyhow::Result<reqwest::Client> {
    let client = app.client();
    let response = sign_in_page(&client, app, "/signin", email, PASSWORD).await?;
    anyhow::ensure!(
        response.status() == 303,
        "sign-in answered {}",
        response.status()
    );
    Ok(client)
}

/// A new verified resident signed in through the pages (no API token): the address and a
/// client holding the session cookie.
pub async fn signed_in_resident(app: &TestApp) -> anyhow::Result<(String, reqwest::Client)> {
    let email = unique_email("resident");
    verified_resident(app, &email).await?;
    let client = resident_client(app, &email).await?;
    Ok((email, client))
}

/// Calls the JSON API as the holder of `token` in English; the status and the body (null when
/// it is not JSON).
pub async fn api_call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .request(method, app.at(path))
        .bearer_auth(token)
        .header("accept-language", "en");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}
