//! The app's clock is a seam: a test stands the use cases at a chosen instant with a
//! `ManualClock` and moves it, instead of waiting for a booking window to open.

use madoguchi_domain::{ManualClock, Role};
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_instant_ahead, rfc3339};
use serde_json::{Value, json};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A consultation whose booking opens at 09:00 Tokyo 60 days before each session, with one
/// session about 100 days ahead. Returns the slot id and the instant booking opens.
async fn consultation_far_ahead(app: &TestApp) -> anyhow::Result<(String, OffsetDateTime)> {
    let admin = app.login(Role::Admin).clone();
    let token = api_token(app, "staff", &admin.email, &admin.password).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&token)
        .json(&json!({
            "code": "ijyu-soudan", "kind": "consultation", "name_ja": "移住相談", "name_en": "Moving here",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 24}}
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!service_id.is_empty(), "service not created: {service}");
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let start = open_instant_ahead(100);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&token)
        .json(
            &json!({"slots": [{"office_id": office, "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": 1}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot not added: {added}");
    let slot = app
        .storage
        .slots(
            app.tenant.id,
            service_id.parse()?,
            start,
            start + Duration::hours(1),
        )
        .await?;
    let slot = slot.first().ok_or_else(|| anyhow::anyhow!("no slot"))?;
    let date = start.to_offset(madoguchi_domain::tokyo::JST).date() - Duration::days(60);
    let opens = time::PrimitiveDateTime::new(date, time::macros::time!(09:00))
        .assume_offset(madoguchi_domain::tokyo::JST);
    Ok((slot.id.to_string(), opens.to_offset(time::UtcOffset::UTC)))
}

async fn the_window_opens_at_its_minute_on_the_apps_clock(backend: Backend) -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let mut options = Options::new(backend);
    options.clock = clock.clone();
    let Some(app) = spawn(options).await? else {
        eprintln!("PostgreSQL not available; skipped");
        return Ok(());
    };
    // The storage stamps accounts on the system's clock, and an API token issued on the app's
    // clock must not predate its account's password: stand ten minutes ahead while setting up.
    clock.set(OffsetDateTime::now_utc() + Duration::minutes(10));
    let (slot, opens) = consultation_far_ahead(&app).await?;
    let resident = resident(&app).await?;
    let book = |key: &'static str| {
        reqwest::Client::new()
            .post(app.at("/api/v1/reservations"))
            .bearer_auth(&resident.token)
            .header("idempotency-key", key)
            .json(&json!({"slot_id": slot}))
            .send()
    };

    // Today, by the system's time as well: weeks before the window opens.
    let early = book("clock-1").await?;
    assert_eq!(early.status(), 409);
    let body: Value = early.json().await?;
    assert_eq!(body["error"]["code"], "booking_not_open");

    clock.set(opens - Duration::minutes(1));
    let almost: Value = book("clock-2").await?.json().await?;
    assert_eq!(almost["error"]["code"], "booking_not_open", "{almost}");

    // The minute it opens, the same request books: only the app's clock moved.
    clock.set(opens + Duration::minutes(1));
    let open = book("clock-3").await?;
    assert_eq!(open.status(), 201);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_at_its_minute_on_the_apps_clock_on_sqlite() -> anyhow::Result<()> {
    the_window_opens_at_its_minute_on_the_apps_clock(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_at_its_minute_on_the_apps_clock_on_postgres() -> anyhow::Result<()> {
    the_window_opens_at_its_minute_on_the_apps_clock(Backend::Postgres).await
}
