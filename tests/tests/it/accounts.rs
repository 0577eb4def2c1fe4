//! Sign-up, verification mail, sign-in, lockout, password reset and CSRF, over HTTP.

use madoguchi_domain::Role;
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;

async fn a_resident_signs_up_verifies_and_signs_in(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("hanako");
    let client = app.client();
    let response = sign_up_page(&client, &app, &email, PASSWORD).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/signup/sent");

    // Before verification, the right password is refused with a clear reason and a fresh mail.
    let refused = sign_in_page(&client, &app, "/signin", &email, PASSWORD).await?;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await?
            .contains("メールアドレスの確認が済んでいません")
    );

    let mail = app.mail.wait_for(&email, Duration::from_secs(10)).await?;
    assert!(
        mail.subject().contains("メールアドレスの確認"),
        "subject: {}",
        mail.subject()
    );
    assert!(mail.text().contains("山田 花子 様"));
    let link = mail
        .link_containing("/verify-email?token=")
        .expect("verification link");
    assert!(link.starts_with(&app.url), "link {link} points at the app");
    // Opening the link spends nothing (mail scanners open links too).
    assert_eq!(client.get(&link).send().await?.status(), 200);
    assert_eq!(client.get(&link).send().await?.status(), 200);
    let verified = confirm_email(&client, &app, &link).await?;
    assert_eq!(verified.status(), 200);
    assert!(
        verified
            .text()
            .await?
            .contains("メールアドレスを確認しました")
    );
    // The link works once.
    assert_eq!(confirm_email(&client, &app, &link).await?.status(), 400);

    let signed_in = sign_in_page(&client, &app, "/signin", &email, PASSWORD).await?;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/account");
    let account = client.get(app.at("/account")).send().await?;
    assert_eq!(account.status(), 200);
    assert!(account.text().await?.contains(&email));

    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &madoguchi_storage::AuditFilter {
                action_prefix: Some("resident.".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await?;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "resident.signed_up",
        "resident.email_verified",
        "resident.signed_in",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    Ok(())
}
on_both_backends!(
    a_resident_signs_up_verifies_and_signs_in,
    a_resident_signs_up_verifies_and_signs_in
);

async fn the_session_id_changes_at_sign_in_and_sign_out_ends_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let email = unique_email("rotate");
    verified_resident(&app, &email).await?;
    let client = app.client();
    let form = client.get(app.at("/signin")).send().await?;
    let before = session_cookie(&form).expect("a session cookie with the form");
    let token = madoguchi_tests::app::csrf_from(&form.text().await?);
    let signed_in = client
        .post(app.at("/signin"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    let after = session_cookie(&signed_in).expect("a new session cookie at sign-in");
    assert_ne!(before, after, "session id rotated");
    let cookie_header = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        cookie_header.contains("HttpOnly") && cookie_header.contains("SameSite=Lax"),
        "{cookie_header}"
    );

    let account_page = client.get(app.at("/account")).send().await?.text().await?;
    let token = madoguchi_tests::app::csrf_from(&account_page);
    let out = client
        .post(app.at("/signout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    assert_eq!(out.status(), 303);
    let after_out = client.get(app.at("/account")).send().await?;
    assert_eq!(
        after_out.status(),
        303,
        "signed out: /account redirects to sign-in"
    );
    assert_eq!(after_out.headers()["location"], "/signin?next=/account");
    Ok(())
}
on_both_backends!(
    the_session_id_changes_at_sign_in_and_sign_out_ends_it,
    the_session_id_changes_at_sign_in_and_sign_out_ends_it
);

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("madoguchi_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

async fn repeated_failures_lock_the_account(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("lock");
    verified_resident(&app, &email).await?;
    let client = app.client();
    for attempt in 1..=4 {
        let response =
            sign_in_page(&client, &app, "/signin", &email, "Wrong-Password-0000!").await?;
        assert_eq!(response.status(), 401, "attempt {attempt}");
        let body = response.text().await?;
        assert!(
            body.contains("role=\"alert\""),
            "an alert on attempt {attempt}"
        );
    }
    let fifth = sign_in_page(&client, &app, "/signin", &email, "Wrong-Password-0000!").await?;
    assert_eq!(fifth.status(), 423);
    // Now even the right password is refused until the lock ends.
    let right = sign_in_page(&client, &app, "/signin", &email, PASSWORD).await?;
    assert_eq!(right.status(), 423);
    assert!(right.text().await?.contains("一時的にロック"));
    let api = reqwest::Client::new()
        .post(app.at("/api/v1/tokens"))
        .header("accept-language", "en")
        .json(&json!({"email": email, "password": PASSWORD, "kind": "resident"}))
        .send()
        .await?;
    assert_eq!(api.status(), 423);
    assert!(api.headers().contains_key("retry-after"));
    let body: Value = api.json().await?;
    assert_eq!(body["error"]["code"], "account_locked");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("locked")
    );
    Ok(())
}
on_both_backends!(
    repeated_failures_lock_the_account,
    repeated_failures_lock_the_account
);

async fn an_unknown_address_locks_like_a_registered_one(app: TestApp) -> anyhow::Result<()> {
    let client = app.client();
    let email = unique_email("nobody");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            sign_in_page(&client, &app, "/signin", &email, "Wrong-Password-0000!")
                .await?
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 423, 423],
        "the same answers as for a real account"
    );
    Ok(())
}
on_both_backends!(
    an_unknown_address_locks_like_a_registered_one,
    an_unknown_address_locks_like_a_registered_one
);

async fn too_many_sign_ins_from_one_address_are_rate_limited(app: TestApp) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..35 {
        let response = client
            .post(app.at("/api/v1/tokens"))
            .json(&json!({"email": unique_email("spray"), "password": "whatever-password", "kind": "resident"}))
            .send()
            .await?;
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    Ok(())
}
on_both_backends!(
    too_many_sign_ins_from_one_address_are_rate_limited,
    too_many_sign_ins_from_one_address_are_rate_limited
);

async fn a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    app: TestApp,
) -> anyhow::Result<()> {
    let client = app.client();
    let email = unique_email("csrf");
    // With a session but no token.
    client.get(app.at("/signup")).send().await?;
    let response = client
        .post(app.at("/signup"))
        .form(&[
            ("display_name", "攻撃 者"),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    assert!(response.text().await?.contains("フォームの有効期限"));
    // With a token from another session.
    let other = app.client();
    let foreign = form_token(&other, &app, "/signup").await?;
    let response = client
        .post(app.at("/signup"))
        .form(&[
            ("csrf_token", foreign.as_str()),
            ("display_name", "攻撃 者"),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    let stored = app
        .storage
        .list_accounts(app.tenant.id, madoguchi_domain::AccountKind::Resident)
        .await?;
    assert!(
        stored.iter().all(|a| a.email.as_str() != email),
        "nothing was written"
    );
    Ok(())
}
on_both_backends!(
    a_form_post_without_the_csrf_token_is_refused_and_changes_nothing,
    a_form_post_without_the_csrf_token_is_refused_and_changes_nothing
);

async fn a_password_reset_link_sets_a_new_password_once(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("reset");
    verified_resident(&app, &email).await?;
    // A session and an API token from before the reset must stop working after it.
    let old_session = app.client();
    assert_eq!(
        sign_in_page(&old_session, &app, "/signin", &email, PASSWORD)
            .await?
            .status(),
        303
    );
    let old_token = api_token(&app, "resident", &email, PASSWORD).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let client = app.client();
    let token = form_token(&client, &app, "/password-reset").await?;
    let response = client
        .post(app.at("/password-reset"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email.as_str()),
            ("kind", "resident"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    // Unknown addresses get the same answer.
    let token = form_token(&client, &app, "/password-reset").await?;
    let unknown = client
        .post(app.at("/password-reset"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "nobody@example.jp"),
            ("kind", "resident"),
        ])
        .send()
        .await?;
    assert_eq!(unknown.status(), 303);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mail = loop {
        let mail = app.mail.wait_for(&email, Duration::from_secs(10)).await?;
        if mail.text().contains("/password-reset/confirm") || std::time::Instant::now() > deadline {
            break mail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let link = mail
        .link_containing("/password-reset/confirm?token=")
        .expect("reset link");
    let reset_token = link.split("token=").nth(1).unwrap_or_default().to_owned();
    let form = form_token(&client, &app, &link.replacen(&app.url, "", 1)).await?;
    // A weak password is refused without spending the link.
    let weak = client
        .post(app.at("/password-reset/confirm"))
        .form(&[
            ("csrf_token", form.as_str()),
            ("token", reset_token.as_str()),
            ("password", "password1234"),
        ])
        .send()
        .await?;
    assert_eq!(weak.status(), 422);
    let new_password = "Tanpopo-no-Wata-77";
    let done = client
        .post(app.at("/password-reset/confirm"))
        .form(&[
            ("csrf_token", form.as_str()),
            ("token", reset_token.as_str()),
            ("password", new_password),
        ])
        .send()
        .await?;
    assert_eq!(done.status(), 200);
    let again = client
        .post(app.at("/password-reset/confirm"))
        .form(&[
            ("csrf_token", form.as_str()),
            ("token", reset_token.as_str()),
            ("password", "Another-Phrase-88"),
        ])
        .send()
        .await?;
    assert_eq!(again.status(), 400, "the link works once");
    assert_eq!(
        sign_in_page(&app.client(), &app, "/signin", &email, PASSWORD)
            .await?
            .status(),
        401
    );
    assert_eq!(
        sign_in_page(&app.client(), &app, "/signin", &email, new_password)
            .await?
            .status(),
        303
    );
    let ended = old_session.get(app.at("/account")).send().await?;
    assert_eq!(
        ended.status(),
        303,
        "the session from before the reset has ended"
    );
    let refused = reqwest::Client::new()
        .get(app.at("/api/v1/me"))
        .bearer_auth(&old_token)
        .send()
        .await?;
    assert_eq!(
        refused.status(),
        401,
        "the API token from before the reset is refused"
    );
    Ok(())
}
on_both_backends!(
    a_password_reset_link_sets_a_new_password_once,
    a_password_reset_link_sets_a_new_password_once
);

async fn staff_sign_in_separately_and_are_audited(app: TestApp) -> anyhow::Result<()> {
    let admin = app.login(Role::Admin).clone();
    let client = app.client();
    // A staff address does not work on the resident sign-in.
    assert_eq!(
        sign_in_page(&client, &app, "/signin", &admin.email, &admin.password)
            .await?
            .status(),
        401
    );
    let response = sign_in_page(
        &client,
        &app,
        "/staff/signin",
        &admin.email,
        &admin.password,
    )
    .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/staff");
    let home = client.get(app.at("/staff")).send().await?;
    assert_eq!(home.status(), 200);
    let audit_page = client
        .get(app.at("/admin/audit?action=staff."))
        .send()
        .await?
        .text()
        .await?;
    assert!(audit_page.contains("staff.signed_in"));
    Ok(())
}
on_both_backends!(
    staff_sign_in_separately_and_are_audited,
    staff_sign_in_separately_and_are_audited
);

#[tokio::test]
async fn the_api_signs_up_a_resident_and_answers_in_english_when_asked() -> anyhow::Result<()> {
    let app = spawn(Options::new(Backend::Sqlite)).await?.expect("sqlite");
    let email = unique_email("api");
    let client = reqwest::Client::new();
    let created = client
        .post(app.at("/api/v1/residents"))
        .json(&json!({"display_name": "Taro Yamada", "email": email, "password": PASSWORD, "locale": "en"}))
        .send()
        .await?;
    assert_eq!(created.status(), 202);
    let mail = app.mail.wait_for(&email, Duration::from_secs(10)).await?;
    assert!(
        mail.text().starts_with("Dear Taro Yamada"),
        "English mail: {}",
        mail.text()
    );
    let token = mail
        .link_containing("token=")
        .and_then(|l| l.split("token=").nth(1).map(str::to_owned))
        .unwrap_or_default();
    let verified = client
        .post(app.at("/api/v1/email-verifications"))
        .json(&json!({"token": token}))
        .send()
        .await?;
    assert_eq!(verified.status(), 204);
    let bearer = api_token(&app, "resident", &email, PASSWORD).await?;
    let me: Value = client
        .get(app.at("/api/v1/me"))
        .bearer_auth(&bearer)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["email_verified"], true);

    let duplicate = client
        .post(app.at("/api/v1/residents"))
        .header("accept-language", "en-US,en;q=0.9")
        .json(&json!({"display_name": "Taro", "email": email, "password": PASSWORD}))
        .send()
        .await?;
    // The same answer as for a new address (see privacy.rs); the owner is mailed instead.
    assert_eq!(duplicate.status(), 202);
    let body: Value = duplicate.json().await?;
    assert_eq!(body, json!({"email": email}));
    Ok(())
}
