//! Helpers shared by the HTTP tests: signing up, signing in, getting API tokens.

use madoguchi_tests::app::{TestApp, csrf_from};
use serde_json::{Value, json};
use std::time::Duration;

pub const PASSWORD: &str = "Sakura-Koen-2026!";

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
