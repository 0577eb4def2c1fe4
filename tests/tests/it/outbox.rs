//! The transactional outbox: a booking's confirmation is written in the booking's transaction.
//!
//! - `kill -9` of the real `madoguchi serve` process during a rush of bookings, on both
//!   backends: afterwards every committed reservation has exactly one confirmation (queued or
//!   done), and no confirmation exists without its reservation.
//! - Reusing an `Idempotency-Key` with another body is refused (422 `idempotency_key_reused`);
//!   the same body replays the first booking and writes no second notice.
//!
//! The kill test runs the binary built next to this test binary (`cargo build -p madoguchi`
//! puts it there; `cargo test --workspace` builds it too).

use madoguchi_domain::{AccountKind, DisplayName, Email, Lang, OrgCode, SlotId, TenantId};
use madoguchi_storage::{
    NewAccount, NewService, NewSlot, PasswordHash, ServiceKind, Storage, now_utc,
};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::on_both_databases;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Residents booking at once; each books one seat.
const RUSH_CLIENTS: usize = 240;
/// The server is killed once this many bookings were answered 201.
const KILL_AFTER_CREATED: usize = 15;

/// The `madoguchi` program of this build, as the test package's own binary (cargo builds it
/// before running the integration tests, so it is never stale).
fn madoguchi_binary() -> anyhow::Result<std::path::PathBuf> {
    Ok(std::path::PathBuf::from(env!(
        "CARGO_BIN_EXE_madoguchi-under-test"
    )))
}

/// A bookable checkup with ten slots of 30 seats a week ahead, and `RUSH_CLIENTS` verified
/// residents with API tokens signed with `secret`. Returns the slots and the tokens.
async fn rush_fixture(
    storage: &dyn Storage,
    secret: &secrecy::SecretString,
) -> anyhow::Result<(TenantId, Vec<SlotId>, Vec<String>)> {
    madoguchi_server::demo::seed_demo(storage, &madoguchi_auth::PasswordHasher::with_cost(1024, 1))
        .await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;
    let office = storage.list_offices(tenant.id).await?[0].id;
    let service = storage
        .create_service(
            tenant.id,
            &NewService {
                code: OrgCode::parse("outbox-rush").map_err(|e| anyhow::anyhow!("{e}"))?,
                kind: ServiceKind::Checkup,
                name_ja: "がん検診".into(),
                name_en: "Cancer screening".into(),
                department_id: None,
                rules: madoguchi_tests::fixtures::rules(json!({
                    "window": {"opens_days_before": 365, "opens_at_local": "00:00", "closes_hours_before": 1},
                    "cancellation": {"deadline_hours_before": 24}
                })),
            },
        )
        .await?;
    let base = madoguchi_tests::days::open_instant_ahead(7)
        .replace_nanosecond(0)?
        .replace_second(0)?;
    let specs: Vec<NewSlot> = (0..10)
        .map(|i| NewSlot {
            office_id: office,
            starts_at: base + time::Duration::minutes(30 * i),
            ends_at: base + time::Duration::minutes(30 * i + 20),
            capacity: 30,
        })
        .collect();
    storage.add_slots(tenant.id, service.id, &specs).await?;
    let slots: Vec<SlotId> = storage
        .slots(
            tenant.id,
            service.id,
            base - time::Duration::minutes(1),
            base + time::Duration::days(1),
        )
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    anyhow::ensure!(slots.len() == 10, "{} slots", slots.len());
    let keys = madoguchi_auth::ApiTokenKeys::new(secret.clone());
    let mut tokens = Vec::with_capacity(RUSH_CLIENTS);
    for i in 0..RUSH_CLIENTS {
        let account = storage
            .create_account(
                tenant.id,
                &NewAccount {
                    kind: AccountKind::Resident,
                    email: Email::parse(&format!("rush{i}@example.jp"))
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    display_name: DisplayName::parse(&format!("住民 {i}"))
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    password_hash: PasswordHash("!".into()),
                    locale: Lang::Ja,
                    email_verified_at: Some(now_utc()),
                    roles: vec![],
                },
            )
            .await?;
        let (token, _) = keys.issue(
            account.id,
            tenant.id,
            AccountKind::Resident,
            vec![madoguchi_auth::ApiScope::AccountRead],
            now_utc(),
            3600,
        )?;
        tokens.push(token);
    }
    Ok((tenant.id, slots, tokens))
}

/// Starts `madoguchi serve` on `database_url` and waits until it is ready.
async fn serve(
    database_url: &str,
    secret: &secrecy::SecretString,
    data_dir: &std::path::Path,
) -> anyhow::Result<(tokio::process::Child, String)> {
    use secrecy::ExposeSecret;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(madoguchi_binary()?)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--no-demo"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .env("MADOGUCHI_API_TOKEN_SECRET", secret.expose_secret())
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(format!("{url}/readyz")).await
            && response.status() == 200
        {
            return Ok((child, url));
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("madoguchi serve exited before it was ready: {status}");
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "madoguchi serve was not ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fires every resident's booking at once and sends SIGKILL to the server once
/// `KILL_AFTER_CREATED` were created. Returns how many requests got no answer.
async fn rush_and_kill(
    mut child: tokio::process::Child,
    url: &str,
    slots: &[SlotId],
    tokens: &[String],
) -> anyhow::Result<usize> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let created = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(tokio::sync::Notify::new());
    let requests: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, created, enough) = (client.clone(), created.clone(), enough.clone());
            let request = client
                .post(format!("{url}/api/v1/reservations"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("rush-{i}"))
                .json(&json!({"slot_id": slots[i % slots.len()].0}));
            tokio::spawn(async move {
                let answered = request.send().await.ok().map(|r| r.status().as_u16());
                if answered == Some(201)
                    && created.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER_CREATED
                {
                    enough.notify_one();
                }
                answered
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(30), enough.notified()).await?;
    // SIGKILL: no shutdown, no flush, whatever was in flight is cut off.
    child.start_kill()?;
    child.wait().await?;
    let mut unanswered = 0;
    for request in requests {
        if request.await?.is_none() {
            unanswered += 1;
        }
    }
    Ok(unanswered)
}

/// Confirmed reservations and the dedupe keys of the reservation events, read with SQL.
async fn confirmed_and_events(
    pool: &madoguchi_tests::app::RawPool,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    use madoguchi_tests::app::RawPool;
    Ok(match pool {
        RawPool::Sqlite(pool) => (
            sqlx::query_scalar("SELECT id FROM reservations WHERE status = 'confirmed'")
                .fetch_all(pool)
                .await?,
            sqlx::query_scalar(
                "SELECT dedupe_key FROM jobs WHERE kind = 'notify.reservation_event' AND status IN ('queued', 'running', 'done')",
            )
            .fetch_all(pool)
            .await?,
        ),
        RawPool::Postgres(pool) => {
            // One snapshot for both reads: the killed server's backends may still commit a
            // transaction they had been sent, and a reservation committed between two separate
            // reads would show its confirmation without itself.
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
            let confirmed =
                sqlx::query_scalar("SELECT id::text FROM reservations WHERE status = 'confirmed'")
                    .fetch_all(&mut *tx)
                    .await?;
            let events = sqlx::query_scalar(
                "SELECT dedupe_key FROM jobs WHERE kind = 'notify.reservation_event' AND status IN ('queued', 'running', 'done')",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (confirmed, events)
        }
    })
}

async fn kill_story(
    storage: &dyn Storage,
    database_url: &str,
    pool: &madoguchi_tests::app::RawPool,
) -> anyhow::Result<()> {
    let secret = secrecy::SecretString::from(madoguchi_auth::one_time::new_token());
    let (_tenant, slots, tokens) = rush_fixture(storage, &secret).await?;
    let data_dir = tempfile::tempdir()?;
    let (child, url) = serve(database_url, &secret, data_dir.path()).await?;
    let unanswered = rush_and_kill(child, &url, &slots, &tokens).await?;
    assert!(
        unanswered > 0,
        "the server was killed mid-rush, with bookings in flight"
    );

    let (confirmed, events) = confirmed_and_events(pool).await?;
    assert!(
        confirmed.len() >= KILL_AFTER_CREATED,
        "{} reservations committed",
        confirmed.len()
    );
    let mut confirmations: HashMap<String, usize> = HashMap::new();
    for key in &events {
        if let Some(reservation) = key
            .strip_prefix("reservation:")
            .and_then(|rest| rest.strip_suffix(":confirmed"))
        {
            *confirmations.entry(reservation.to_owned()).or_default() += 1;
        }
    }
    for reservation in &confirmed {
        assert_eq!(
            confirmations.get(reservation).copied().unwrap_or(0),
            1,
            "reservation {reservation} has exactly one confirmation"
        );
    }
    assert_eq!(
        confirmations.len(),
        confirmed.len(),
        "no confirmation without its reservation"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rush_leaves_exactly_one_confirmation_per_reservation_on_sqlite()
-> anyhow::Result<()> {
    let db = madoguchi_tests::db::fresh_sqlite().await?;
    let pool = madoguchi_tests::app::RawPool::Sqlite(db.storage().pool().clone());
    kill_story(&*db, db.url(), &pool).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rush_leaves_exactly_one_confirmation_per_reservation_on_postgres()
-> anyhow::Result<()> {
    let Some(db) = madoguchi_tests::db::fresh_postgres().await? else {
        eprintln!(
            "notice: PostgreSQL not available; skipped (MADOGUCHI_REQUIRE_POSTGRES=1 makes this fail)"
        );
        return Ok(());
    };
    let pool = madoguchi_tests::app::RawPool::Postgres(db.storage().pool().clone());
    kill_story(&*db, db.url(), &pool).await
}

/// The reservation events (queued or done) whose dedupe key names `reservation`.
async fn events_of(app: &TestApp, reservation: &str) -> anyhow::Result<Vec<String>> {
    let (_, events) = confirmed_and_events(app.raw_pool()).await?;
    Ok(events
        .into_iter()
        .filter(|key| key.starts_with(&format!("reservation:{reservation}:")))
        .collect())
}

async fn an_idempotency_key_reused_for_another_request_is_refused_and_a_replay_writes_no_notice(
    app: TestApp,
) -> anyhow::Result<()> {
    let (slot, _) = crate::restart::consultation(&app).await?;
    let email = unique_email("idem");
    verified_resident(&app, &email).await?;
    let token = api_token(&app, "resident", &email, PASSWORD).await?;
    let book = |body: Value| {
        reqwest::Client::new()
            .post(app.at("/api/v1/reservations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "same-key-1")
            .json(&body)
            .send()
    };
    let first = book(json!({"slot_id": slot})).await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let written = events_of(&app, &id).await?;
    assert!(
        written.contains(&format!("reservation:{id}:confirmed")),
        "the confirmation was written with the booking: {written:?}"
    );

    // The same request again: the first booking, and not one notice more.
    let replay = book(json!({"slot_id": slot})).await?;
    assert_eq!(replay.status(), 200);
    let replay: Value = replay.json().await?;
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(events_of(&app, &id).await?.len(), written.len());

    // The same key for another request (a hold instead of a booking): refused, not replayed.
    let reused = book(json!({"slot_id": slot, "hold": true})).await?;
    assert_eq!(reused.status(), 422);
    let body: Value = reused.json().await?;
    assert_eq!(body["error"]["code"], "idempotency_key_reused", "{body}");
    assert_eq!(events_of(&app, &id).await?.len(), written.len());
    let mine: Vec<Value> = reqwest::Client::new()
        .get(app.at("/api/v1/me/reservations"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mine.len(), 1, "nothing else was booked: {mine:?}");
    Ok(())
}
on_both_backends!(
    an_idempotency_key_reused_for_another_request_is_refused_and_a_replay_writes_no_notice,
    an_idempotency_key_reused_for_another_request_is_refused_and_a_replay_writes_no_notice
);

/// The contract of the outbox in storage: notices are written with the change that reports
/// them and only then, a replay writes none, a refused change writes none, and a dedupe key is
/// written once.
async fn notices_are_written_with_their_change_and_once<S: madoguchi_tests::db::Backend>(
    s: &S,
) -> anyhow::Result<()> {
    use crate::booking_contract::{booking, created, slot_at, town};
    use madoguchi_storage::{
        NewJob, NewReservation, Refusal, ReservationNotice, ReservationNoticeEvent, StorageError,
    };
    use madoguchi_tests::fixtures::{T0, resident};
    let kita = town(s, "kita-outbox").await?;
    let slot = slot_at(s, &kita, T0 + time::Duration::days(7), 1).await?;
    let hanako = resident(s, kita.tenant, "hanako-outbox@example.jp").await?;
    let events = |s: &S| {
        let s = s.clone();
        async move {
            let jobs = s.list_jobs(Some(kita.tenant), None, 1000).await?;
            anyhow::Ok(
                jobs.into_iter()
                    .filter(|j| j.kind == madoguchi_storage::RESERVATION_EVENT)
                    .count(),
            )
        }
    };
    let confirmed = ReservationNotice::once(ReservationNoticeEvent::Confirmed, T0);
    let new = NewReservation {
        idempotency_key: Some("outbox-1".into()),
        fingerprint: Some("a".repeat(64)),
        notices: vec![
            confirmed.clone(),
            ReservationNotice::reminder(slot.id, T0 + time::Duration::days(6)),
        ],
        ..booking(&slot, Some(hanako.id))
    };
    let reservation = created(s.reserve(kita.tenant, &new, T0).await?);
    assert_eq!(events(s).await?, 2, "the confirmation and the reminder");
    let written = s.list_jobs(Some(kita.tenant), None, 10).await?;
    let payload = &written
        .iter()
        .find(|j| j.payload["event"]["kind"] == "confirmed")
        .ok_or_else(|| anyhow::anyhow!("no confirmation"))?
        .payload;
    assert_eq!(payload["reservation_id"], reservation.id.0.to_string());
    assert_eq!(
        payload.as_object().map(|o| o.len()),
        Some(3),
        "ids only: {payload}"
    );

    // A replay writes nothing; the same key with another fingerprint is refused.
    let replay = s.reserve(kita.tenant, &new, T0).await?;
    assert_eq!(replay.reservation().id, reservation.id);
    assert_eq!(events(s).await?, 2);
    let reused = NewReservation {
        fingerprint: Some("b".repeat(64)),
        ..new.clone()
    };
    match s.reserve(kita.tenant, &reused, T0).await {
        Err(StorageError::Refused(Refusal::IdempotencyKeyReused)) => {}
        other => anyhow::bail!("expected IdempotencyKeyReused, got {other:?}"),
    }
    // A refused booking (the slot is full) writes no notice.
    let other = resident(s, kita.tenant, "taro-outbox@example.jp").await?;
    let full = NewReservation {
        notices: vec![confirmed.clone()],
        ..booking(&slot, Some(other.id))
    };
    assert!(s.reserve(kita.tenant, &full, T0).await.is_err());
    assert_eq!(events(s).await?, 2);

    // The cancellation is written with it; a second cancellation is refused and writes none.
    let cancelled =
        ReservationNotice::once(ReservationNoticeEvent::Cancelled { by_staff: false }, T0);
    s.cancel_reservation_with_notices(
        kita.tenant,
        reservation.id,
        None,
        T0,
        std::slice::from_ref(&cancelled),
    )
    .await?;
    assert_eq!(events(s).await?, 3);
    assert!(
        s.cancel_reservation_with_notices(kita.tenant, reservation.id, None, T0, &[cancelled])
            .await
            .is_err()
    );
    assert_eq!(events(s).await?, 3);

    // A dedupe key is written once.
    let job = NewJob {
        tenant_id: Some(kita.tenant),
        kind: "notify.reservation".into(),
        payload: json!({}),
        run_at: T0,
        max_attempts: 1,
    };
    assert!(
        s.enqueue_job_once(&job, "delivery:x:email")
            .await?
            .is_some()
    );
    assert!(
        s.enqueue_job_once(&job, "delivery:x:email")
            .await?
            .is_none()
    );
    assert!(s.enqueue_job_once(&job, "delivery:x:line").await?.is_some());
    Ok(())
}

on_both_databases!(notices_are_written_with_their_change_and_once);
