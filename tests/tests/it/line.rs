//! The city's LINE official account over HTTP, against a local fake of the LINE Messaging API
//! (axum on 127.0.0.1:0; it records every push and reply with its bearer token): an
//! administrator sets the channel, a resident gets a link code on the account page, the test
//! posts signed webhook events as LINE would, and bookings are then pushed to the linked LINE
//! user. A wrong signature is refused and stores nothing; an unfollow removes the link; a failed
//! push is retried by the job system and shown on the jobs page.

use crate::ical_feed::{book_first_open, consultation_with_slots, unescape_html};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use madoguchi_domain::{AccountId, JobId, Role};
use madoguchi_notify::line_webhook::signature;
use madoguchi_storage::{AuditFilter, JobStatus};
use madoguchi_tests::app::{RawPool, TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

on_both_backends!(
    a_resident_links_line_with_a_code_and_hears_of_bookings_there,
    linking_story
);
on_both_backends!(
    a_failed_line_push_is_retried_by_the_job_system_and_shown_to_staff,
    retry_story
);
on_both_backends!(
    the_line_settings_are_for_administrators_and_never_show_the_secrets,
    settings_story
);

const SECRET: &str = "3f9a1c2b4d6e8f0a1b2c3d4e5f6a7b8c";
const TOKEN: &str = "line-channel-access-token-for-tests-0123456789abcdefABCDEF+/=";
const USER: &str = "U4af4980629000000000000000000abcd";

/// One request the fake accepted.
#[derive(Clone, Debug)]
struct Seen {
    bearer: Option<String>,
    body: Value,
    retry_key: Option<String>,
}

#[derive(Clone, Default)]
struct FakeLine {
    pushes: Arc<Mutex<Vec<Seen>>>,
    replies: Arc<Mutex<Vec<Seen>>>,
    /// Pushes still to fail with 500, as LINE does when it is having a bad day.
    failing_pushes: Arc<Mutex<u32>>,
}

impl FakeLine {
    fn pushes(&self) -> Vec<Seen> {
        self.pushes.lock().unwrap().clone()
    }

    fn replies(&self) -> Vec<Seen> {
        self.replies.lock().unwrap().clone()
    }

    /// Waits for the `n`th push.
    async fn wait_for_pushes(&self, n: usize) -> anyhow::Result<Vec<Seen>> {
        for _ in 0..150 {
            let pushes = self.pushes();
            if pushes.len() >= n {
                return Ok(pushes);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("{n} push(es) expected, {} received", self.pushes().len())
    }
}

fn seen(headers: &HeaderMap, body: &str) -> Seen {
    Seen {
        bearer: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        retry_key: headers
            .get("x-line-retry-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// `POST /v2/bot/message/push`: records the request; fails with 500 while asked to.
async fn push(
    State(fake): State<FakeLine>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    {
        let mut failing = fake.failing_pushes.lock().unwrap();
        if *failing > 0 {
            *failing -= 1;
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"message": "Internal error"})),
            );
        }
    }
    fake.pushes.lock().unwrap().push(seen(&headers, &body));
    (StatusCode::OK, Json(json!({"sentMessages": [{"id": "1"}]})))
}

/// `POST /v2/bot/message/reply`: records the request.
async fn reply(
    State(fake): State<FakeLine>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    fake.replies.lock().unwrap().push(seen(&headers, &body));
    (StatusCode::OK, Json(json!({"sentMessages": [{"id": "2"}]})))
}

async fn start_fake_line() -> anyhow::Result<(FakeLine, String)> {
    let fake = FakeLine::default();
    let app = Router::new()
        .route("/v2/bot/message/push", post(push))
        .route("/v2/bot/message/reply", post(reply))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((fake, format!("http://{address}")))
}

/// An administrator's browser, signed in.
async fn admin_client(app: &TestApp) -> anyhow::Result<reqwest::Client> {
    let admin = app.login(Role::Admin).clone();
    let client = app.client();
    let response =
        sign_in_page(&client, app, "/staff/signin", &admin.email, &admin.password).await?;
    anyhow::ensure!(
        response.status() == 303,
        "admin sign-in: {}",
        response.status()
    );
    Ok(client)
}

/// Saves the LINE settings through the admin page; returns the response.
async fn save_settings(
    app: &TestApp,
    admin: &reqwest::Client,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let csrf = form_token(admin, app, "/admin/line").await?;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    Ok(admin.post(app.at("/admin/line")).form(&form).send().await?)
}

/// The fake LINE API, and the city's channel pointing at it, switched on.
async fn city_with_line(app: &TestApp) -> anyhow::Result<FakeLine> {
    let (fake, base) = start_fake_line().await?;
    let admin = admin_client(app).await?;
    let saved = save_settings(
        app,
        &admin,
        &[
            ("channel_id", "1657000001"),
            ("channel_secret", SECRET),
            ("channel_access_token", TOKEN),
            ("basic_id", "@madoguchi"),
            ("api_base_url", &base),
            ("enabled", "on"),
        ],
    )
    .await?;
    anyhow::ensure!(saved.status() == 303, "settings: {}", saved.status());
    Ok(fake)
}

/// A verified resident (`clients::resident`) also signed in through the browser, where the
/// account page links LINE.
struct LineResident {
    email: String,
    id: AccountId,
    client: reqwest::Client,
    token: String,
}

async fn line_resident(app: &TestApp) -> anyhow::Result<LineResident> {
    let Resident { id, email, token } = resident(app).await?;
    let client = resident_client(app, &email).await?;
    Ok(LineResident {
        email,
        id,
        client,
        token,
    })
}

/// Presses "LINEと連携する" on the account page and reads the code off the page.
async fn link_code(app: &TestApp, resident: &LineResident) -> anyhow::Result<String> {
    let account = resident
        .client
        .get(app.at("/account"))
        .send()
        .await?
        .text()
        .await?;
    anyhow::ensure!(
        account.contains("LINEと連携する"),
        "no LINE section: {account}"
    );
    let csrf = csrf_from(&account);
    let page = resident
        .client
        .post(app.at("/account/line/code"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    anyhow::ensure!(page.status() == 200, "code page: {}", page.status());
    let html = unescape_html(&page.text().await?);
    anyhow::ensure!(
        html.contains("https://line.me/R/ti/p/@madoguchi"),
        "the add-friend link"
    );
    let marker = "<code class=\"break-anywhere\">";
    let start = html
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no code on {html}"))?
        + marker.len();
    let code = html[start..start + 9].to_owned();
    anyhow::ensure!(code.len() == 9 && &code[4..5] == "-", "code shape: {code}");
    Ok(code)
}

fn text_event(user: &str, reply_token: &str, text: &str) -> String {
    json!({"destination": "Ubot0000000000000000000000000000", "events": [{
        "type": "message", "mode": "active", "timestamp": 1_700_000_000_000_i64,
        "webhookEventId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "deliveryContext": {"isRedelivery": false},
        "replyToken": reply_token, "source": {"type": "user", "userId": user},
        "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": text}
    }]})
    .to_string()
}

fn unfollow_event(user: &str) -> String {
    json!({"destination": "Ubot0000000000000000000000000000", "events": [{
        "type": "unfollow", "mode": "active", "timestamp": 1_700_000_000_000_i64,
        "webhookEventId": "01HYYYYYYYYYYYYYYYYYYYYYYY", "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": user}
    }]})
    .to_string()
}

/// Posts a webhook request as LINE would, with `signature` (none when `None`).
async fn post_webhook(
    app: &TestApp,
    body: &str,
    signature: Option<&str>,
) -> anyhow::Result<reqwest::StatusCode> {
    let mut request = reqwest::Client::new()
        .post(app.at(&format!("/hooks/line/{}", app.tenant.slug.as_str())))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-line-signature", signature);
    }
    Ok(request.send().await?.status())
}

/// A resident linked through the whole flow.
async fn linked_resident(app: &TestApp, fake: &FakeLine) -> anyhow::Result<LineResident> {
    let resident = line_resident(app).await?;
    let code = link_code(app, &resident).await?;
    let body = text_event(USER, "reply-token-1", &code);
    let status = post_webhook(app, &body, Some(&signature(SECRET, body.as_bytes()))).await?;
    anyhow::ensure!(status == 200, "webhook: {status}");
    anyhow::ensure!(fake.replies().len() == 1, "one reply");
    Ok(resident)
}

/// `2026年12月3日` for the Tokyo date of `t`, as the message writes it.
fn japanese_date(t: OffsetDateTime) -> String {
    let d = t.to_offset(madoguchi_domain::tokyo::JST).date();
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

async fn linking_story(app: TestApp) -> anyhow::Result<()> {
    let fake = city_with_line(&app).await?;
    let bookable = consultation_with_slots(&app, "line-soudan", "子育て相談").await?;
    let resident = line_resident(&app).await?;
    let code = link_code(&app, &resident).await?;
    let link = || app.storage.line_link(app.tenant.id, resident.id);

    // A request not signed with the channel secret is refused and changes nothing: the code
    // still works afterwards.
    let body = text_event(USER, "reply-token-forged", &code);
    let forged = signature("another-channel-secret-0000000000", body.as_bytes());
    assert_eq!(post_webhook(&app, &body, Some(&forged)).await?, 401);
    assert_eq!(post_webhook(&app, &body, None).await?, 401);
    let tampered = body.replace(USER, "Uattacker0000000000000000000000");
    let signed_original = signature(SECRET, body.as_bytes());
    assert_eq!(
        post_webhook(&app, &tampered, Some(&signed_original)).await?,
        401
    );
    assert!(link().await?.is_none(), "nothing stored");
    assert!(fake.replies().is_empty(), "no reply to a forged request");

    // Something that is no code is left to the official account's own chat.
    let chat = text_event(USER, "reply-token-chat", "こんにちは");
    assert_eq!(
        post_webhook(&app, &chat, Some(&signature(SECRET, chat.as_bytes()))).await?,
        200
    );
    assert!(fake.replies().is_empty());

    // The code as a resident types it on a phone: lower case, no hyphen.
    let typed = code.replace('-', "").to_lowercase();
    let body = text_event(USER, "reply-token-1", &typed);
    assert_eq!(
        post_webhook(&app, &body, Some(&signature(SECRET, body.as_bytes()))).await?,
        200
    );
    let stored = link().await?.expect("linked");
    assert_eq!(stored.line_user_id, USER);
    let replies = fake.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].bearer.as_deref(), Some(TOKEN));
    assert_eq!(replies[0].body["replyToken"], "reply-token-1");
    let reply_text = replies[0].body["messages"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reply_text.contains("LINE連携が完了しました"),
        "{reply_text}"
    );

    // The same code again: spent. LINE is told so, the link stays.
    let again = text_event("Uother000000000000000000000000000", "reply-token-2", &code);
    assert_eq!(
        post_webhook(&app, &again, Some(&signature(SECRET, again.as_bytes()))).await?,
        200
    );
    assert_eq!(link().await?.map(|l| l.line_user_id).as_deref(), Some(USER));
    let replies = fake.replies();
    assert!(
        replies[1].body["messages"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("連携コードが正しくないか")),
        "{:?}",
        replies[1].body
    );

    let account = resident
        .client
        .get(app.at("/account"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        account.contains("LINEと連携しています"),
        "the account page shows the link"
    );

    // A booking is pushed to the linked user through the city's channel, besides the mail.
    let (_, index, start) = book_first_open(&app, &resident.token, &bookable, 0).await?;
    let pushes = fake.wait_for_pushes(1).await?;
    let push = &pushes[0];
    assert_eq!(
        push.bearer.as_deref(),
        Some(TOKEN),
        "the channel access token"
    );
    assert_eq!(push.body["to"], USER);
    assert!(
        push.retry_key.is_some(),
        "a retry key, so a retried job is shown once"
    );
    let text = push.body["messages"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains(&bookable.name_ja),
        "names the service: {text}"
    );
    assert!(
        text.contains(&japanese_date(start)),
        "names the date: {text}"
    );
    // The booking's mail: the push may arrive first, and earlier mail went to the same address.
    app.mail
        .wait_for_where(&resident.email, Duration::from_secs(10), |mail| {
            mail.subject().contains(&bookable.name_ja)
        })
        .await?;

    // Blocking the official account unlinks; the next booking is mailed only.
    let body = unfollow_event(USER);
    assert_eq!(
        post_webhook(&app, &body, Some(&signature(SECRET, body.as_bytes()))).await?,
        200
    );
    assert!(link().await?.is_none(), "unfollow removes the link");
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("resident.line_".into()),
                limit: 20,
                ..Default::default()
            },
        )
        .await?;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "resident.line_code_issued",
        "resident.line_linked",
        "resident.line_unfollowed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        !serde_json::to_string(&audit)?.contains(USER),
        "the audit log holds no LINE user id"
    );
    book_first_open(&app, &resident.token, &bookable, index + 1).await?;
    // The address's third mail: its verification, the first booking's, this booking's.
    app.mail
        .wait_for_nth(&resident.email, 3, Duration::from_secs(10))
        .await?;
    assert_eq!(app.mail.count_to(&resident.email).await, 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.pushes().len(), 1, "no push after unfollow");
    Ok(())
}

async fn make_due_now(pool: &RawPool, job: JobId) -> anyhow::Result<u64> {
    let now = OffsetDateTime::now_utc();
    Ok(match pool {
        RawPool::Sqlite(pool) => {
            let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000)?;
            sqlx::query("UPDATE jobs SET run_at = ? WHERE id = ? AND status = 'queued'")
                .bind(micros)
                .bind(job.0.hyphenated().to_string())
                .execute(pool)
                .await?
                .rows_affected()
        }
        RawPool::Postgres(pool) => {
            sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2 AND status = 'queued'")
                .bind(now)
                .bind(job.0)
                .execute(pool)
                .await?
                .rows_affected()
        }
    })
}

async fn retry_story(app: TestApp) -> anyhow::Result<()> {
    let fake = city_with_line(&app).await?;
    let bookable = consultation_with_slots(&app, "line-retry", "介護相談").await?;
    let resident = linked_resident(&app, &fake).await?;

    // LINE answers the first push with 500: the job is kept for a retry, with its error.
    *fake.failing_pushes.lock().unwrap() = 1;
    book_first_open(&app, &resident.token, &bookable, 0).await?;
    let mut failed = None;
    for _ in 0..150 {
        let jobs = app.storage.list_jobs(Some(app.tenant.id), None, 50).await?;
        failed = jobs.into_iter().find(|j| {
            j.kind == "notify.reservation"
                && j.status == JobStatus::Queued
                && j.attempts == 1
                && j.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("HTTP 500"))
        });
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = failed.ok_or_else(|| anyhow::anyhow!("no LINE job waiting for a retry"))?;
    assert!(fake.pushes().is_empty());
    let admin = admin_client(&app).await?;
    let jobs_page = admin
        .get(app.at("/admin/jobs"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        jobs_page.contains("LINE push: HTTP 500"),
        "staff see the error"
    );
    assert!(!jobs_page.contains(USER), "but not the LINE user");

    // When the retry is due, the push goes through once.
    assert_eq!(make_due_now(app.raw_pool(), failed.id).await?, 1);
    let pushes = fake.wait_for_pushes(1).await?;
    assert_eq!(pushes[0].body["to"], USER);
    for _ in 0..100 {
        if app.storage.job(failed.id).await?.status == JobStatus::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = app.storage.job(failed.id).await?;
    assert_eq!((done.status, done.attempts), (JobStatus::Done, 2));
    Ok(())
}

async fn settings_story(app: TestApp) -> anyhow::Result<()> {
    // Before a city sets LINE up, residents are not offered it.
    let someone = line_resident(&app).await?;
    let account = someone
        .client
        .get(app.at("/account"))
        .send()
        .await?
        .text()
        .await?;
    assert!(!account.contains("LINEと連携する"));
    let csrf = csrf_from(&account);
    let refused = someone
        .client
        .post(app.at("/account/line/code"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(refused.status(), 404, "no codes without a channel");

    // Only administrators reach the page.
    let to_sign_in = someone.client.get(app.at("/admin/line")).send().await?;
    assert!(to_sign_in.status().is_redirection());
    let branch = app.login(Role::BranchStaff).clone();
    let staff = app.client();
    sign_in_page(
        &staff,
        &app,
        "/staff/signin",
        &branch.email,
        &branch.password,
    )
    .await?;
    assert_eq!(staff.get(app.at("/admin/line")).send().await?.status(), 403);

    let fake = city_with_line(&app).await?;
    let admin = admin_client(&app).await?;
    let page = unescape_html(
        &admin
            .get(app.at("/admin/line"))
            .send()
            .await?
            .text()
            .await?,
    );
    assert!(page.contains(&format!("••••••••{}", &SECRET[SECRET.len() - 4..])));
    assert!(page.contains(&format!("••••••••{}", &TOKEN[TOKEN.len() - 4..])));
    assert!(
        !page.contains(SECRET) && !page.contains(TOKEN),
        "secrets never shown"
    );
    assert!(page.contains(&format!("/hooks/line/{}", app.tenant.slug.as_str())));
    assert!(
        page.contains("<a href=\"/admin/line\""),
        "linked from the admin navigation"
    );

    // Without the form's token nothing changes.
    let forged = admin
        .post(app.at("/admin/line"))
        .form(&[
            ("csrf_token", "forged"),
            ("channel_id", "1"),
            ("enabled", "on"),
        ])
        .send()
        .await?;
    assert_eq!(forged.status(), 403);

    // Blank secrets keep the stored ones; other fields change.
    let base_url = app
        .storage
        .line_channel(app.tenant.id)
        .await?
        .map(|c| c.api_base_url)
        .unwrap_or_default();
    let saved = save_settings(
        &app,
        &admin,
        &[
            ("channel_id", "1657000002"),
            ("channel_secret", ""),
            ("channel_access_token", ""),
            ("basic_id", "@another"),
            ("api_base_url", &base_url),
        ],
    )
    .await?;
    assert_eq!(saved.status(), 303);
    let stored = app
        .storage
        .line_channel(app.tenant.id)
        .await?
        .expect("stored");
    assert_eq!(stored.channel_secret.expose_secret(), SECRET);
    assert_eq!(stored.channel_access_token.expose_secret(), TOKEN);
    assert_eq!(stored.channel_id, "1657000002");
    assert_eq!(stored.basic_id.as_deref(), Some("@another"));
    assert!(!stored.enabled, "an unticked box switches LINE off");

    // A plain-http API outside this machine is refused.
    let refused = save_settings(
        &app,
        &admin,
        &[
            ("channel_id", "1657000002"),
            ("api_base_url", "http://api.example.com"),
            ("enabled", "on"),
        ],
    )
    .await?;
    assert_eq!(refused.status(), 422);
    assert!(unescape_html(&refused.text().await?).contains("https:// で始まるURL"));
    assert!(
        !app.storage
            .line_channel(app.tenant.id)
            .await?
            .expect("stored")
            .enabled
    );

    // While LINE is off, webhook events are acknowledged and ignored.
    let code_body = text_event(USER, "reply-token-off", "ABCD-2345");
    assert_eq!(
        post_webhook(
            &app,
            &code_body,
            Some(&signature(SECRET, code_body.as_bytes()))
        )
        .await?,
        200
    );
    assert!(fake.replies().is_empty());

    // Each save is audited, without the secrets.
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("line.".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(audit.len(), 2, "two saves");
    let audit_json = serde_json::to_string(&audit)?;
    assert!(!audit_json.contains(SECRET) && !audit_json.contains(TOKEN));
    assert_eq!(audit[0].details["channel_secret_changed"], false);
    assert_eq!(audit[1].details["channel_secret_changed"], true);
    Ok(())
}
