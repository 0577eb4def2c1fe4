//! The return path through sign-in, over HTTP like a browser without JavaScript: a signed-out
//! resident who presses この時間で予約する is asked to sign in and told why, signs up, confirms
//! the address from the mail, signs in and lands on the slot's booking form. Staff pages do
//! the same through the staff sign-in. A `next` that leads to another site is refused
//! wherever it enters, and the default page is used instead.

use madoguchi_domain::Role;
use madoguchi_tests::app::{Backend, Options, TestApp, csrf_from, spawn};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};
use std::time::Duration;

/// A one-seat consultation a week ahead, created by an administrator through the API; its
/// slot id.
async fn consultation_slot(app: &TestApp) -> anyhow::Result<String> {
    let admin = admin_token(app).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": "nayami-soudan", "kind": "consultation", "name_ja": "なやみごと相談", "name_en": "Worries consultation",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24}, "cancellation": {"deadline_hours_before": 24}}
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!service_id.is_empty(), "service not created: {service}");
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let start = madoguchi_tests::days::open_instant_ahead(7);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(
            &json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::minutes(30)), "capacity": 1}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slots added: {added}");
    let date = start.to_offset(madoguchi_domain::tokyo::JST).date();
    let slots: Vec<Value> = client
        .get(app.at(&format!("/api/v1/services/{service_id}/slots?date={date}")))
        .send()
        .await?
        .json()
        .await?;
    let slot = slots
        .first()
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(!slot.is_empty(), "no slot on {date}");
    Ok(slot)
}

/// A page's HTML with the escapes the templates write in attributes undone (`/` is written
/// `&#x2f;`), so a test can look for a link as a browser reads it.
fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// Posts a sign-in form at `path` carrying `next`; returns where it sends the browser.
async fn sign_in_with_next(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    email: &str,
    password: &str,
    next: &str,
) -> anyhow::Result<String> {
    let token = form_token(client, app, path).await?;
    let response = client
        .post(app.at(path))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 303,
        "sign-in at {path} answered {}",
        response.status()
    );
    Ok(location(&response))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_resident_signs_up_confirms_signs_in_and_lands_on_the_slots_form()
-> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite))
        .await?
        .expect("sqlite app");
    let slot = consultation_slot(&app).await?;
    let form_path = format!("/reservations/book/{slot}");
    let client = app.client();

    // Pressing the button signed out: to the sign-in page, which says why and keeps the way back.
    let pressed = client.get(app.at(&form_path)).send().await?;
    assert_eq!(pressed.status(), 303);
    let to_sign_in = location(&pressed);
    assert_eq!(to_sign_in, format!("/signin?next={form_path}"));
    let sign_in_page = unescaped(&client.get(app.at(&to_sign_in)).send().await?.text().await?);
    assert!(
        sign_in_page.contains("予約するにはログインが必要です"),
        "the sign-in page says why"
    );
    assert_eq!(hidden(&sign_in_page, "next"), form_path);
    let sign_up_link = format!("/signup?next={form_path}");
    assert!(
        sign_in_page.contains(&format!("href=\"{sign_up_link}\"")),
        "the way to sign up keeps the return path"
    );

    // Signing up carries it into the verification mail.
    let sign_up_page = unescaped(
        &client
            .get(app.at(&sign_up_link))
            .send()
            .await?
            .text()
            .await?,
    );
    assert_eq!(hidden(&sign_up_page, "next"), form_path);
    let email = unique_email("return");
    let signed_up = client
        .post(app.at("/signup"))
        .form(&[
            ("csrf_token", csrf_from(&sign_up_page).as_str()),
            ("display_name", "山田 花子"),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("next", form_path.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(signed_up.status(), 303);
    assert_eq!(
        location(&signed_up),
        format!("/signup/sent?next={form_path}")
    );
    let mail = app.mail.wait_for(&email, Duration::from_secs(10)).await?;
    let link = mail
        .link_containing("/verify-email?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", mail.text()))?;
    assert!(
        link.ends_with(&format!("&next={form_path}")),
        "the mail's link leads back: {link}"
    );

    // Confirming the address offers to continue the booking.
    let confirm_page = unescaped(&client.get(&link).send().await?.text().await?);
    assert_eq!(hidden(&confirm_page, "next"), form_path);
    let token = link
        .split("token=")
        .nth(1)
        .and_then(|t| t.split('&').next())
        .unwrap_or_default();
    let verified = client
        .post(app.at("/verify-email"))
        .form(&[
            ("csrf_token", csrf_from(&confirm_page).as_str()),
            ("token", token),
            ("next", form_path.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(verified.status(), 200);
    let verified = unescaped(&verified.text().await?);
    assert!(verified.contains(&format!("href=\"/signin?next={form_path}\"")));
    assert!(verified.contains("ログインして予約を続ける"));

    // Signing in lands on the slot's form, not on the account page.
    let landed = sign_in_with_next(&client, &app, "/signin", &email, PASSWORD, &form_path).await?;
    assert_eq!(landed, form_path);
    let form = client.get(app.at(&landed)).send().await?;
    assert_eq!(form.status(), 200);
    let form = form.text().await?;
    assert!(
        form.contains("action=\"/reservations/book/"),
        "the booking form is shown"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_path_to_another_site_is_refused_and_the_default_page_is_used()
-> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite))
        .await?
        .expect("sqlite app");
    let email = unique_email("redirect");
    verified_resident(&app, &email).await?;
    let client = app.client();
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%2F/evil.example",
    ] {
        // The page drops it: no hidden field, no link carrying it.
        let page = client
            .get(app.at("/signin"))
            .query(&[("next", evil)])
            .send()
            .await?;
        assert_eq!(page.status(), 200, "{evil}");
        let html = unescaped(&page.text().await?);
        assert_eq!(hidden(&html, "next"), "", "{evil} is not carried on");
        assert!(!html.contains("evil.example"), "{evil} appears nowhere");
        // Posted anyway: signed in, and sent to the account page.
        let landed = sign_in_with_next(&client, &app, "/signin", &email, PASSWORD, evil).await?;
        assert_eq!(landed, "/account", "{evil} is refused");
    }
    // Nor does sign-up put it into the mail.
    let other = unique_email("redirect-signup");
    let token = form_token(&client, &app, "/signup").await?;
    let signed_up = client
        .post(app.at("/signup"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("display_name", "山田 太郎"),
            ("email", other.as_str()),
            ("password", PASSWORD),
            ("next", "//evil.example"),
        ])
        .send()
        .await?;
    assert_eq!(location(&signed_up), "/signup/sent");
    let mail = app.mail.wait_for(&other, Duration::from_secs(10)).await?;
    assert!(!mail.text().contains("evil.example"));
    assert!(!mail.text().contains("next="));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_page_opened_signed_out_returns_there_after_the_staff_sign_in() -> anyhow::Result<()>
{
    let app = spawn(Options::new(Backend::Sqlite))
        .await?
        .expect("sqlite app");
    let client = app.client();
    let wanted = "/staff/day-sheet?date=2026-12-07";
    let opened = client.get(app.at(wanted)).send().await?;
    assert_eq!(opened.status(), 303);
    let to_sign_in = location(&opened);
    assert_eq!(
        to_sign_in,
        "/staff/signin?next=/staff/day-sheet%3Fdate%3D2026-12-07"
    );
    let page = unescaped(&client.get(app.at(&to_sign_in)).send().await?.text().await?);
    assert_eq!(hidden(&page, "next"), wanted);
    assert!(page.contains("ログインが必要です"), "the page says why");
    let login = app.login(Role::HqStaff).clone();
    let landed = sign_in_with_next(
        &client,
        &app,
        "/staff/signin",
        &login.email,
        &login.password,
        wanted,
    )
    .await?;
    assert_eq!(landed, wanted);
    assert_eq!(client.get(app.at(&landed)).send().await?.status(), 200);
    // Without a return path, staff land on their top page as before.
    let client = app.client();
    let token = form_token(&client, &app, "/staff/signin").await?;
    let plain = client
        .post(app.at("/staff/signin"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", login.email.as_str()),
            ("password", login.password.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(location(&plain), "/staff");
    Ok(())
}
