//! The channels against real transports, in one test binary: `LineNotifier` against a small
//! fake of the LINE Messaging API on 127.0.0.1:0 (it checks the path, the bearer token and the
//! JSON body, records what it accepted, and answers by user id), and `EmailNotifier` through
//! the outbox mailer into a temporary directory.

// Test helpers may panic on broken fixtures: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use madoguchi_domain::{Lang, ReservationId, TenantId};
use madoguchi_mail::OutboxMailer;
use madoguchi_notify::line::TEXT_MAX_UTF16;
use madoguchi_notify::message::render;
use madoguchi_notify::{
    Bilingual, Channel, EmailNotifier, FanOut, LineConfig, LineNotifier, Notification, Notifier,
    NotifyError, NotifyReservation, Recipient, ReservationEvent, ReservationFacts,
};
use mail_parser::{MessageParser, MimeHeaders};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use time::macros::datetime;

const TOKEN: &str = "test-channel-access-token";

/// A user id the fake answers with success; the others fail on purpose.
const USER_OK: &str = "U00000000000000000000000000000001";
const USER_BAD: &str = "U-invalid";
const USER_BUSY: &str = "U-rate-limited";
const USER_DOWN: &str = "U-server-error";

/// One push the fake accepted.
#[derive(Clone, Debug)]
struct Pushed {
    to: String,
    text: String,
    retry_key: Option<String>,
}

#[derive(Clone, Default)]
struct FakeLine {
    pushed: Arc<Mutex<Vec<Pushed>>>,
    retry_keys: Arc<Mutex<HashSet<String>>>,
}

fn line_error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "message": message })))
}

/// `POST /v2/bot/message/push`, as documented by LINE: bearer token, JSON
/// `{"to": userId, "messages": [{"type": "text", "text": ...}]}`, text at most 5000 UTF-16
/// units, `X-Line-Retry-Key` answered with 409 once accepted.
async fn push(
    State(fake): State<FakeLine>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(TOKEN) {
        return line_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return line_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return line_error(StatusCode::BAD_REQUEST, "The request body has 1 error(s)");
    };
    let object = body.as_object().cloned().unwrap_or_default();
    let keys: HashSet<&str> = object.keys().map(String::as_str).collect();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let well_formed = keys == HashSet::from(["to", "messages"])
        && messages.len() == 1
        && messages[0]["type"] == "text"
        && messages[0].as_object().map(|m| m.len()) == Some(2);
    let (Some(to), Some(text), true) = (
        body["to"].as_str(),
        messages.first().and_then(|m| m["text"].as_str()),
        well_formed,
    ) else {
        return line_error(StatusCode::BAD_REQUEST, "The request body has 1 error(s)");
    };
    if text.is_empty() || text.encode_utf16().count() > TEXT_MAX_UTF16 {
        return line_error(StatusCode::BAD_REQUEST, "Length must be between 0 and 5000");
    }
    match to {
        USER_BAD => {
            return line_error(
                StatusCode::BAD_REQUEST,
                "The property, 'to', in the request body is invalid (line: -, column: -)",
            );
        }
        USER_BUSY => return line_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        USER_DOWN => return line_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        _ => {}
    }
    let retry_key = headers
        .get("x-line-retry-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &retry_key
        && !fake.retry_keys.lock().unwrap().insert(key.clone())
    {
        return line_error(StatusCode::CONFLICT, "The retry key is already accepted");
    }
    fake.pushed.lock().unwrap().push(Pushed {
        to: to.to_owned(),
        text: text.to_owned(),
        retry_key,
    });
    (
        StatusCode::OK,
        Json(json!({ "sentMessages": [{ "id": "461230966842064897", "quoteToken": "q" }] })),
    )
}

/// Starts the fake on a free port and returns it with its base URL.
async fn start_fake_line() -> (FakeLine, String) {
    let fake = FakeLine::default();
    let app = Router::new()
        .route("/v2/bot/message/push", post(push))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (fake, format!("http://{address}"))
}

fn line_notifier(base_url: &str, token: &str) -> LineNotifier {
    LineNotifier::new(LineConfig::new(SecretString::from(token)).with_base_url(base_url)).unwrap()
}

fn facts() -> ReservationFacts {
    ReservationFacts {
        tenant_id: TenantId::new(),
        reservation_id: ReservationId::new(),
        reference: None,
        service: Bilingual::new("がん検診", "Cancer screening"),
        office: Bilingual::new("中央保健センター", "Central Health Centre"),
        city: Bilingual::new("まどぐち市", "Madoguchi City"),
        start: datetime!(2026-12-03 01:00 UTC),
        end: datetime!(2026-12-03 01:30 UTC),
        manage_url: "https://madoguchi-shi.example.jp/my/reservations/1".into(),
        sequence: 0,
    }
}

fn now() -> OffsetDateTime {
    datetime!(2026-11-20 05:00 UTC)
}

fn line_recipient(user: &str) -> Recipient {
    Recipient {
        email: None,
        line_user_id: Some(user.into()),
        lang: Lang::Ja,
    }
}

fn confirmation(lang: Lang) -> Notification {
    let mut n = render(&ReservationEvent::Confirmed, &facts(), lang, now());
    n.delivery_id = Some(uuid::Uuid::new_v4());
    n
}

#[tokio::test]
async fn a_push_reaches_line_with_the_token_the_user_and_the_text() {
    let (fake, base) = start_fake_line().await;
    let notification = confirmation(Lang::Ja);
    line_notifier(&base, TOKEN)
        .notify(&line_recipient(USER_OK), &notification)
        .await
        .unwrap();
    let pushed = fake.pushed.lock().unwrap().clone();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].to, USER_OK);
    assert!(
        pushed[0]
            .text
            .starts_with("[まどぐち市] ご予約を受け付けました：がん検診\n\n")
    );
    assert!(pushed[0].text.contains("2026年12月3日（木）10:00〜10:30"));
    assert_eq!(
        pushed[0].retry_key,
        notification.delivery_id.map(|id| id.to_string())
    );
}

#[tokio::test]
async fn a_retried_push_is_delivered_once() {
    let (fake, base) = start_fake_line().await;
    let notifier = line_notifier(&base, TOKEN);
    let notification = confirmation(Lang::Ja);
    notifier
        .notify(&line_recipient(USER_OK), &notification)
        .await
        .unwrap();
    // The same delivery again (a job retried after a timeout): LINE answers 409, which counts
    // as delivered, and the resident sees one message.
    notifier
        .notify(&line_recipient(USER_OK), &notification)
        .await
        .unwrap();
    assert_eq!(fake.pushed.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_rejected_user_id_is_permanent() {
    let (fake, base) = start_fake_line().await;
    let error = line_notifier(&base, TOKEN)
        .notify(&line_recipient(USER_BAD), &confirmation(Lang::Ja))
        .await
        .unwrap_err();
    match error {
        NotifyError::Permanent(detail) => {
            assert!(detail.contains("400"), "{detail}");
            assert!(
                !detail.contains(USER_BAD),
                "the user id stays out of errors"
            );
        }
        other => panic!("expected permanent, got {other:?}"),
    }
    assert!(fake.pushed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_permanent() {
    let (_fake, base) = start_fake_line().await;
    let error = line_notifier(&base, "not-the-token")
        .notify(&line_recipient(USER_OK), &confirmation(Lang::Ja))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NotifyError::Permanent(d) if d.contains("401")),
        "{error:?}"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_transient() {
    let (_fake, base) = start_fake_line().await;
    let notifier = line_notifier(&base, TOKEN);
    for (user, status) in [(USER_BUSY, "429"), (USER_DOWN, "500")] {
        let error = notifier
            .notify(&line_recipient(user), &confirmation(Lang::Ja))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, NotifyError::Transient(d) if d.contains(status)),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_line_is_transient() {
    // A port that was free a moment ago and has no listener now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = line_notifier(&format!("http://{address}"), TOKEN)
        .notify(&line_recipient(USER_OK), &confirmation(Lang::Ja))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn a_recipient_without_a_line_id_is_permanent_and_nothing_is_sent() {
    let (fake, base) = start_fake_line().await;
    let recipient = Recipient {
        email: Some("hanako@example.jp".into()),
        line_user_id: None,
        lang: Lang::Ja,
    };
    let error = line_notifier(&base, TOKEN)
        .notify(&recipient, &confirmation(Lang::Ja))
        .await
        .unwrap_err();
    assert!(matches!(error, NotifyError::Permanent(_)));
    assert!(fake.pushed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_very_long_message_is_cut_to_what_line_accepts() {
    let (fake, base) = start_fake_line().await;
    let mut notification = confirmation(Lang::Ja);
    notification.text = "ご案内です。\n".repeat(1000);
    line_notifier(&base, TOKEN)
        .notify(&line_recipient(USER_OK), &notification)
        .await
        .unwrap();
    let pushed = fake.pushed.lock().unwrap().clone();
    assert!(pushed[0].text.encode_utf16().count() <= TEXT_MAX_UTF16);
    assert!(pushed[0].text.ends_with("\n…"));
}

// Email through the outbox.

/// The one `.eml` file the outbox holds for `tenant`.
async fn only_mail(dir: &std::path::Path, tenant: TenantId) -> Vec<u8> {
    let entries = OutboxMailer::list(dir, tenant, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "exactly one message");
    OutboxMailer::read(dir, tenant, &entries[0].name)
        .await
        .unwrap()
}

fn outbox_notifier(dir: &std::path::Path) -> EmailNotifier {
    let from = "まどぐち市 <noreply@madoguchi.example>".parse().unwrap();
    EmailNotifier::new(Arc::new(OutboxMailer::new(dir.to_path_buf(), from)))
}

fn email_recipient() -> Recipient {
    Recipient {
        email: Some("hanako@example.jp".into()),
        line_user_id: None,
        lang: Lang::Ja,
    }
}

#[tokio::test]
async fn a_confirmation_mail_has_a_japanese_subject_and_a_calendar_request() {
    let dir = tempfile::tempdir().unwrap();
    let notification = confirmation(Lang::Ja);
    let tenant = notification.tenant_id.unwrap();
    outbox_notifier(dir.path())
        .notify(&email_recipient(), &notification)
        .await
        .unwrap();
    let raw = only_mail(dir.path(), tenant).await;
    assert!(String::from_utf8_lossy(&raw).contains("Content-Type: text/calendar"));
    let message = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        message.subject(),
        Some("[まどぐち市] ご予約を受け付けました：がん検診")
    );
    let body = message.body_text(0).unwrap();
    assert!(
        body.contains("日時：2026年12月3日（木）10:00〜10:30"),
        "{body}"
    );
    let calendar = message
        .attachments()
        .find(|part| {
            part.content_type()
                .is_some_and(|ct| ct.ctype() == "text" && ct.subtype() == Some("calendar"))
        })
        .expect("a text/calendar part");
    assert_eq!(calendar.attachment_name(), Some("reservation.ics"));
    let content_type = calendar.content_type().unwrap();
    assert_eq!(content_type.attribute("method"), Some("REQUEST"));
    assert_eq!(content_type.attribute("charset"), Some("utf-8"));
    let ics = String::from_utf8(calendar.contents().to_vec()).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.contains("METHOD:REQUEST\r\n") && ics.contains("SUMMARY:がん検診\r\n"));
}

#[tokio::test]
async fn a_cancellation_mail_carries_a_calendar_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let f = facts();
    let event = ReservationEvent::Cancelled {
        by_staff: true,
        reason: Some("会場の設備点検のため".into()),
    };
    let notification = render(&event, &f, Lang::Ja, now());
    outbox_notifier(dir.path())
        .notify(&email_recipient(), &notification)
        .await
        .unwrap();
    let raw = only_mail(dir.path(), f.tenant_id).await;
    let message = MessageParser::default().parse(&raw).unwrap();
    let calendar = message
        .attachments()
        .find(|part| part.attachment_name() == Some("reservation.ics"))
        .expect("the calendar file");
    assert_eq!(
        calendar
            .content_type()
            .and_then(|ct| ct.attribute("method")),
        Some("CANCEL")
    );
    let ics = String::from_utf8(calendar.contents().to_vec()).unwrap();
    assert!(ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"));
}

#[tokio::test]
async fn a_job_per_channel_reaches_mail_and_line_once_each() {
    let (fake, base) = start_fake_line().await;
    let dir = tempfile::tempdir().unwrap();
    let notifiers = FanOut::new()
        .with_email(Arc::new(outbox_notifier(dir.path())))
        .with_line(Arc::new(line_notifier(&base, TOKEN)));
    let recipient = Recipient {
        email: Some("hanako@example.jp".into()),
        line_user_id: Some(USER_OK.into()),
        lang: Lang::En,
    };
    let f = facts();
    let jobs = NotifyReservation::per_channel(&recipient, &ReservationEvent::Reminder, &f);
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        // As the job runner would: the payload goes through JSON.
        let payload = serde_json::to_value(job).unwrap();
        let job: NotifyReservation = serde_json::from_value(payload).unwrap();
        job.deliver(&notifiers, now()).await.unwrap();
    }
    let raw = only_mail(dir.path(), f.tenant_id).await;
    let message = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        message.subject(),
        Some("[Madoguchi City] Reminder of your reservation: Cancer screening")
    );
    let pushed = fake.pushed.lock().unwrap().clone();
    assert_eq!(pushed.len(), 1);
    assert!(pushed[0].text.contains("Thu 3 Dec 2026, 10:00–10:30 (JST)"));
    assert_eq!(jobs[1].channel, Some(Channel::Line));
}

#[tokio::test]
async fn fan_out_reports_each_channel() {
    let (_fake, base) = start_fake_line().await;
    let dir = tempfile::tempdir().unwrap();
    let notifiers = FanOut::new()
        .with_email(Arc::new(outbox_notifier(dir.path())))
        .with_line(Arc::new(line_notifier(&base, TOKEN)));
    let recipient = Recipient {
        email: Some("hanako@example.jp".into()),
        line_user_id: Some(USER_DOWN.into()),
        lang: Lang::Ja,
    };
    let report = notifiers.send(&recipient, &confirmation(Lang::Ja)).await;
    assert_eq!(report.delivered(), vec![Channel::Email]);
    assert!(
        report.results[1]
            .result
            .as_ref()
            .is_err_and(NotifyError::is_transient)
    );
    assert_eq!(report.outcome(), Ok(()), "the resident was told by mail");
}
