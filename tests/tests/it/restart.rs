//! Reminders survive a restart: a reminder is a `notify.reservation_event` job written in the
//! booking's transaction, so the app started after a restart sends it (once), and the stopped
//! app sends nothing. A reminder for a reservation cancelled in the meantime is dropped.
//!
//! The reminder is due the day before the slot, and the product only schedules one more than
//! an hour ahead, so the test moves the job's `run_at` to now with SQL while no app runs: a
//! fixture, as an operator's clock would reach that time.

use madoguchi_domain::{JobId, Role};
use madoguchi_storage::{Job, JobStatus};
use madoguchi_tests::app::{RawPool, TestApp};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longer than the job runner's idle poll (1 s): a runner that still ran would have claimed a
/// due job by then.
const QUIET_PERIOD: Duration = Duration::from_secs(3);

const MAIL_TIMEOUT: Duration = Duration::from_secs(15);

const SERVICE_JA: &str = "子育て相談";

/// The Japanese subject line of a reminder.
const REMINDER_HEADLINE: &str = "ご予約の日が近づいています";

/// A consultation with one slot of two seats a week ahead; returns the slot's id and start.
pub(crate) async fn consultation(app: &TestApp) -> anyhow::Result<(String, OffsetDateTime)> {
    let login = app.login(Role::Admin).clone();
    let admin = api_token(app, "staff", &login.email, &login.password).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": "kosodate-soudan", "kind": "consultation", "name_ja": SERVICE_JA, "name_en": "Parenting consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 48}
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!service_id.is_empty(), "service not created: {service}");
    let office = app.storage.list_offices(app.tenant.id).await?[0]
        .id
        .to_string();
    let start = madoguchi_tests::days::open_instant_ahead(7)
        .replace_nanosecond(0)?
        .replace_second(0)?;
    let end = start + time::Duration::minutes(30);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(
            &json!({"slots": [{"office_id": office, "starts_at": start.format(&Rfc3339)?,
            "ends_at": end.format(&Rfc3339)?, "capacity": 2}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot added: {added}");
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
    Ok((slot, start))
}

/// A verified resident with a confirmed reservation of `slot`, once the confirmation mail has
/// arrived. Returns the address, the API token and the reservation's id.
async fn booked_resident(
    app: &TestApp,
    slot: &str,
    prefix: &str,
) -> anyhow::Result<(String, String, String)> {
    let email = unique_email(prefix);
    verified_resident(app, &email).await?;
    let token = api_token(app, "resident", &email, PASSWORD).await?;
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(&token)
        .json(&json!({"slot_id": slot}))
        .send()
        .await?;
    let status = response.status();
    let booked: Value = response.json().await?;
    anyhow::ensure!(status == 201, "booking answered {status}: {booked}");
    let id = booked["id"].as_str().unwrap_or_default().to_owned();
    wait_for_subject(app, &email, "ご予約を受け付けました").await?;
    Ok((email, token, id))
}

/// Waits until the newest mail to `to` has a subject containing `needle`.
async fn wait_for_subject(app: &TestApp, to: &str, needle: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
    loop {
        let mail = app.mail.wait_for(to, MAIL_TIMEOUT).await?;
        if mail.subject().contains(needle) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no mail to {to} about {needle:?}; the last one was {:?}",
            mail.subject()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The one reminder job of a reservation.
async fn reminder_job(app: &TestApp, reservation: &str) -> anyhow::Result<Job> {
    let mut reminders: Vec<Job> = app
        .storage
        .list_jobs(Some(app.tenant.id), None, 500)
        .await?
        .into_iter()
        .filter(|job| {
            job.kind == "notify.reservation_event"
                && job.payload["event"]["kind"] == "reminder"
                && job.payload["reservation_id"] == reservation
        })
        .collect();
    anyhow::ensure!(
        reminders.len() == 1,
        "{} reminder jobs for reservation {reservation}",
        reminders.len()
    );
    Ok(reminders.remove(0))
}

/// The fixture: the job falls due now, as it would once the clock reaches the day before.
async fn make_due_now(pool: &RawPool, job: JobId) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let moved = match pool {
        RawPool::Sqlite(pool) => {
            // SQLite stores instants as integer microseconds since the epoch.
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
    };
    anyhow::ensure!(moved == 1, "job {} was not queued", job.0);
    Ok(())
}

/// Waits until the job has finished (done or failed) and returns it.
async fn wait_until_finished(app: &TestApp, job: JobId) -> anyhow::Result<Job> {
    let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
    loop {
        let current = app.storage.job(job).await?;
        if matches!(current.status, JobStatus::Done | JobStatus::Failed) {
            return Ok(current);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "job {} still {:?} after {MAIL_TIMEOUT:?}",
            job.0,
            current.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `2026年12月3日（木）` in Tokyo.
fn japanese_date(instant: OffsetDateTime) -> String {
    let t = instant.to_offset(madoguchi_domain::tokyo::JST);
    let weekday = ["月", "火", "水", "木", "金", "土", "日"]
        [usize::from(t.weekday().number_days_from_monday())];
    format!(
        "{}年{}月{}日（{weekday}）",
        t.year(),
        u8::from(t.month()),
        t.day()
    )
}

async fn a_reminder_due_after_a_restart_is_sent_once_by_the_new_app_and_not_for_a_cancelled_reservation(
    app: TestApp,
) -> anyhow::Result<()> {
    let mut first = app;
    let (slot, start) = consultation(&first).await?;
    let (kept, _, kept_id) = booked_resident(&first, &slot, "reminded").await?;
    let (gone, gone_token, gone_id) = booked_resident(&first, &slot, "cancelled").await?;
    let cancelled = reqwest::Client::new()
        .delete(first.at(&format!("/api/v1/reservations/{gone_id}")))
        .bearer_auth(&gone_token)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200);
    wait_for_subject(&first, &gone, "取り消しました").await?;

    // Both reminders wait in the database for the day before, a cancelled reservation's too.
    let kept_job = reminder_job(&first, &kept_id).await?;
    let gone_job = reminder_job(&first, &gone_id).await?;
    for job in [&kept_job, &gone_job] {
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(
            job.run_at,
            start - time::Duration::days(1),
            "the day before"
        );
    }

    // Stop the app: its server and its job runner have ended when `stop` returns.
    first.stop().await?;
    let old_url = first.url.clone();
    assert!(
        reqwest::get(format!("{old_url}/healthz")).await.is_err(),
        "the stopped app no longer answers"
    );
    let first_mail = first.mail.clone();
    let mail_before = (
        first_mail.count_to(&kept).await,
        first_mail.count_to(&gone).await,
    );

    // The reminders fall due while no app runs; nothing sends them.
    make_due_now(first.raw_pool(), kept_job.id).await?;
    make_due_now(first.raw_pool(), gone_job.id).await?;
    tokio::time::sleep(QUIET_PERIOD).await;
    for job in [&kept_job, &gone_job] {
        let now = first.storage.job(job.id).await?;
        assert_eq!(
            (now.status, now.attempts),
            (JobStatus::Queued, 0),
            "the stopped app's runner claimed nothing"
        );
    }

    // A new app on the same database, with its own pool, job runner and mail server.
    let second = first.restart().await?;
    assert_ne!(second.url, old_url, "a new process on a new port");
    let reminder = second.mail.wait_for(&kept, MAIL_TIMEOUT).await?;
    let subject = reminder.subject();
    assert!(
        subject.contains(REMINDER_HEADLINE) && subject.contains(SERVICE_JA),
        "subject: {subject}"
    );
    let text = reminder.text();
    assert!(
        text.contains(&japanese_date(start)),
        "the reminder names the day {}: {text}",
        japanese_date(start)
    );
    assert!(
        reminder
            .attachments_text()
            .iter()
            .any(|c| c.contains("METHOD:REQUEST")),
        "the calendar entry is attached again"
    );

    let kept_done = wait_until_finished(&second, kept_job.id).await?;
    let gone_done = wait_until_finished(&second, gone_job.id).await?;
    for job in [&kept_done, &gone_done] {
        assert_eq!(
            (job.status, job.attempts, job.last_error.as_deref()),
            (JobStatus::Done, 1, None),
            "run once, successfully"
        );
    }
    // Exactly once: nothing more arrives, from either app, and nothing for the cancelled one.
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        second.mail.count_to(&kept).await,
        1,
        "one reminder, not two"
    );
    assert_eq!(
        second.mail.count_to(&gone).await,
        0,
        "no reminder for a cancelled reservation"
    );
    assert_eq!(
        (
            first_mail.count_to(&kept).await,
            first_mail.count_to(&gone).await
        ),
        mail_before,
        "the stopped app sent nothing"
    );
    // The new app serves the same data.
    let mine: Vec<Value> = reqwest::Client::new()
        .get(second.at("/api/v1/me/reservations"))
        .bearer_auth(api_token(&second, "resident", &kept, PASSWORD).await?)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mine.len(), 1, "{mine:?}");
    Ok(())
}
on_both_backends!(
    a_reminder_due_after_a_restart_is_sent_once_by_the_new_app_and_not_for_a_cancelled_reservation,
    a_reminder_due_after_a_restart_is_sent_once_by_the_new_app_and_not_for_a_cancelled_reservation
);
