//! Payment webhooks against the running app over HTTP, on both backends.
//!
//! - The storm: 2,000 sandbox payments, each with its own sequence of signed events
//!   (requires_action → processing → succeeded; failed → requires_action → succeeded;
//!   requires_action → expired; two declines, then canceled), 7,000 events delivered 10,000
//!   times (30% of the deliveries are redeliveries), shuffled and sent 16 at a time to
//!   `/hooks/sandbox/{slug}`. Afterwards every payment is in the state its newest event says,
//!   every succeeded payment was posted exactly once, every event is kept once, and the books
//!   balance.
//! - Bad deliveries: a wrong signature, another secret, no header, a timestamp older than
//!   300 s and a changed body answer 400 `webhook_signature_invalid` and store nothing; a
//!   genuine event about a payment we do not know answers 200 and is kept (`unknown_payment`);
//!   an event in another currency than JPY is kept and changes nothing; a 300 KB body is 413.

use crate::payment_crash::{assert_balanced, owed};
use futures::StreamExt;
use madoguchi_domain::PaymentId;
use madoguchi_gateway::signature;
use madoguchi_payments::{Method, PaymentStatus, ReceivableStatus, RevenueCategory};
use madoguchi_storage::{Payment, SandboxIntent, SandboxStatus, now_utc};
use madoguchi_tests::app::{Backend, MailTo, Options, RawPool, TestApp};
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::payments::sandbox::event_body;
use madoguchi_usecases::{Actor, Scope};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The sandbox's signing secret in these tests (the app makes a random one otherwise).
const SANDBOX_SECRET: &str = "whsec_sandbox_storm_test";

/// Payments in the storm; with the sequences below they make 7,000 events.
const PAYMENTS: usize = 2_000;
/// Deliveries in all, redeliveries included.
const DELIVERIES: usize = 10_000;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 16;
/// Fees of the storm's receivables.
const FEE_YEN: i64 = 500;

/// The sequences of statuses a payment's events report, oldest first, by the payment's index
/// modulo their count. The last is the state the payment must end in.
const SEQUENCES: [&[SandboxStatus]; 4] = [
    &[
        SandboxStatus::RequiresAction,
        SandboxStatus::Processing,
        SandboxStatus::Succeeded,
    ],
    &[
        SandboxStatus::Failed,
        SandboxStatus::RequiresAction,
        SandboxStatus::Succeeded,
    ],
    &[SandboxStatus::RequiresAction, SandboxStatus::Expired],
    &[
        SandboxStatus::RequiresAction,
        SandboxStatus::Failed,
        SandboxStatus::RequiresAction,
        SandboxStatus::Failed,
        SandboxStatus::RequiresAction,
        SandboxStatus::Canceled,
    ],
];

fn final_status(sequence: &[SandboxStatus]) -> PaymentStatus {
    match sequence.last() {
        Some(SandboxStatus::Succeeded) => PaymentStatus::Succeeded,
        Some(SandboxStatus::Failed) => PaymentStatus::Failed,
        Some(SandboxStatus::Expired) => PaymentStatus::Expired,
        Some(SandboxStatus::Canceled) => PaymentStatus::Canceled,
        Some(SandboxStatus::Processing) => PaymentStatus::Processing,
        Some(SandboxStatus::RequiresAction) => PaymentStatus::RequiresAction,
        Some(SandboxStatus::Open) | None => PaymentStatus::Created,
    }
}

/// The app with a known sandbox secret; `None` when PostgreSQL is not available.
async fn app_on(backend: Backend) -> anyhow::Result<Option<TestApp>> {
    let app = madoguchi_tests::app::spawn(Options {
        tweak: Box::new(|config| {
            config.payments.sandbox_webhook_secret = SecretString::from(SANDBOX_SECRET);
        }),
        mail: MailTo::Smtp,
        ..Options::new(backend)
    })
    .await?;
    if let Some(app) = &app {
        for category in RevenueCategory::standard() {
            app.storage
                .save_revenue_category(app.tenant.id, &category)
                .await?;
        }
    }
    Ok(app)
}

/// `count` receivables, each with a card payment started through the city's sandbox (as the
/// pay page starts it), with their sandbox intents; `in_flight` at a time.
async fn sandbox_payments(
    app: &TestApp,
    count: usize,
    in_flight: usize,
) -> anyhow::Result<Vec<(Payment, SandboxIntent)>> {
    let started = futures::stream::iter(0..count)
        .map(|_| async {
            let fee = owed(&*app.storage, app.tenant.id, FEE_YEN).await?;
            let scope = Scope::new(app.tenant.id, Actor::System, app.state.clock.clone());
            let base = app.url.clone();
            let receivable = fee.id;
            let payment = checkout::start(
                &*app.storage,
                &*app.state.gateways,
                &scope,
                fee.id,
                Method::Card,
                |id: PaymentId| ReturnUrls {
                    result_url: format!("{base}/payments/{id}"),
                    cancel_url: format!("{base}/receivables/{receivable}/pay"),
                },
                None,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("start: {:?} {:?}", e.code, e.internal))?;
            let intent_id = uuid::Uuid::parse_str(payment.provider_ref.as_deref().unwrap_or(""))?;
            let intent = app.storage.sandbox_intent(app.tenant.id, intent_id).await?;
            anyhow::Ok((payment, intent))
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<_>>()
        .await;
    started.into_iter().collect()
}

/// The body of an event saying `intent` is now `status`, created `at`.
fn event_of(intent: &SandboxIntent, status: SandboxStatus, at: time::OffsetDateTime) -> String {
    let mut moved = intent.clone();
    moved.status = status;
    event_body(&moved, at)
}

/// POSTs `body` to the city's sandbox webhook with `signature` (none: no header).
async fn deliver(
    client: &reqwest::Client,
    app: &TestApp,
    body: String,
    signature: Option<String>,
) -> anyhow::Result<(u16, String)> {
    let mut request = client
        .post(app.at(&format!("/hooks/sandbox/{}", app.tenant.slug.as_str())))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// Signed now with the sandbox's secret, as the sandbox's delivery job signs.
fn signed(body: &str) -> Option<String> {
    Some(signature::sign(
        SANDBOX_SECRET,
        now_utc().unix_timestamp(),
        body.as_bytes(),
    ))
}

/// Counts rows of `provider_events`, by outcome.
async fn provider_events(raw: &RawPool) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = match raw {
        RawPool::Sqlite(pool) => {
            sqlx::query_as("SELECT outcome, count(*) FROM provider_events GROUP BY outcome")
                .fetch_all(pool)
                .await?
        }
        RawPool::Postgres(pool) => {
            sqlx::query_as("SELECT outcome, count(*) FROM provider_events GROUP BY outcome")
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows.into_iter().collect())
}

/// `payment_received` ledger entries by payment id (hyphenated text).
async fn received_entries(raw: &RawPool) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = match raw {
        RawPool::Sqlite(pool) => sqlx::query_as(
            "SELECT payment_id, count(*) FROM ledger_entries WHERE kind = 'payment_received' GROUP BY payment_id",
        )
        .fetch_all(pool)
        .await?,
        RawPool::Postgres(pool) => sqlx::query_as(
            "SELECT payment_id::text, count(*) FROM ledger_entries WHERE kind = 'payment_received' GROUP BY payment_id",
        )
        .fetch_all(pool)
        .await?,
    };
    Ok(rows.into_iter().collect())
}

async fn a_storm_of_shuffled_and_repeated_events_ends_in_the_exact_states(
    app: TestApp,
) -> anyhow::Result<()> {
    let payments = sandbox_payments(&app, PAYMENTS, CONCURRENCY).await?;

    // Each payment's events a second apart by the provider's clock, after the payment was
    // made (an event older than what a payment last heard is stale: the first is its start).
    // Whole seconds on the wire, so the first is two seconds on.
    let first = now_utc() + time::Duration::seconds(2);
    let mut events = Vec::new();
    for (n, (_, intent)) in payments.iter().enumerate() {
        let sequence = SEQUENCES[n % SEQUENCES.len()];
        for (step, status) in sequence.iter().enumerate() {
            let at = first + time::Duration::seconds(step as i64);
            events.push(event_of(intent, *status, at));
        }
    }
    let unique = events.len();
    assert_eq!(unique, 7_000, "the sequences make 7,000 events");
    // 30% of the deliveries are redeliveries of events chosen at random; then all shuffled.
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_207);
    let mut deliveries = events.clone();
    while deliveries.len() < DELIVERIES {
        let again = events.choose(&mut rng).cloned().unwrap_or_default();
        deliveries.push(again);
    }
    deliveries.shuffle(&mut rng);

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(60))
        .build()?;
    let started = std::time::Instant::now();
    let answers: Vec<anyhow::Result<(u16, String)>> = futures::stream::iter(deliveries)
        .map(|body| {
            let client = &client;
            let app = &app;
            async move {
                let signature = signed(&body);
                deliver(client, app, body, signature).await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for answer in answers {
        let (status, body) = answer?;
        assert_eq!(
            status, 200,
            "every genuine delivery is acknowledged: {body}"
        );
        let body: serde_json::Value = serde_json::from_str(&body)?;
        *outcomes
            .entry(body["outcome"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    eprintln!(
        "{DELIVERIES} deliveries in {seconds:.1} s ({:.0}/s) on {:?}: {outcomes:?}",
        DELIVERIES as f64 / seconds,
        app.backend
    );
    assert_eq!(outcomes.values().sum::<usize>(), DELIVERIES);
    assert!(
        outcomes.get("duplicate").copied().unwrap_or(0) >= DELIVERIES - unique,
        "every redelivery is a duplicate: {outcomes:?}"
    );

    // Every payment in the exact state its newest event says; every success posted once.
    let received = received_entries(app.raw_pool()).await?;
    let mut wrong = Vec::new();
    for (n, (payment, _)) in payments.iter().enumerate() {
        let expected = final_status(SEQUENCES[n % SEQUENCES.len()]);
        let now = app.storage.payment(app.tenant.id, payment.id).await?;
        let owed = app
            .storage
            .receivable(app.tenant.id, payment.receivable)
            .await?;
        let posted = received
            .get(&payment.id.0.hyphenated().to_string())
            .copied()
            .unwrap_or(0);
        let paid = expected == PaymentStatus::Succeeded;
        let expected_receivable = if paid {
            (ReceivableStatus::Paid, FEE_YEN, 1)
        } else {
            (ReceivableStatus::Open, 0, 0)
        };
        if now.status != expected || (owed.status, owed.paid_yen, posted) != expected_receivable {
            wrong.push(format!(
                "payment {n}: {:?} (expected {expected:?}), receivable {:?} paid {} with {posted} postings",
                now.status, owed.status, owed.paid_yen
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} payments are wrong: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    let kept = provider_events(app.raw_pool()).await?;
    assert_eq!(
        kept.values().sum::<i64>(),
        unique as i64,
        "each event kept once: {kept:?}"
    );
    assert_balanced(&*app.storage, app.tenant.id).await?;
    Ok(())
}

async fn bad_deliveries_are_refused_and_strange_ones_kept_without_changing_a_payment(
    app: TestApp,
) -> anyhow::Result<()> {
    let (payment, intent) = sandbox_payments(&app, 1, 1)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no payment"))?;
    let client = reqwest::Client::new();
    let now = now_utc();
    let paid = event_of(&intent, SandboxStatus::Succeeded, now);
    let unchanged = |app: &TestApp| {
        let (storage, tenant) = (app.storage.clone(), app.tenant.id);
        let (id, receivable) = (payment.id, payment.receivable);
        async move {
            let now = storage.payment(tenant, id).await?;
            let owed = storage.receivable(tenant, receivable).await?;
            anyhow::ensure!(
                now.status == PaymentStatus::Created && owed.paid_yen == 0,
                "the payment changed: {:?}, paid {}",
                now.status,
                owed.paid_yen
            );
            anyhow::Ok(())
        }
    };

    // Unsigned, wrongly signed, stale or changed: 400, nothing stored.
    let stale = signature::sign(SANDBOX_SECRET, now.unix_timestamp() - 301, paid.as_bytes());
    let other_secret =
        signature::sign("whsec_somebody_else", now.unix_timestamp(), paid.as_bytes());
    let garbage = format!("t={},v1={}", now.unix_timestamp(), "0".repeat(64));
    let changed = paid.replace("\"amount_yen\":500", "\"amount_yen\":5");
    assert_ne!(changed, paid, "the body was changed");
    let refused = [
        ("no header", paid.clone(), None),
        ("a wrong signature", paid.clone(), Some(garbage)),
        ("another secret", paid.clone(), Some(other_secret)),
        ("older than 300 s", paid.clone(), Some(stale)),
        ("a changed body", changed, signed(&paid)),
    ];
    for (what, body, signature) in refused {
        let (status, page) = deliver(&client, &app, body, signature).await?;
        assert_eq!(status, 400, "{what}");
        assert!(page.contains("webhook_signature_invalid"), "{what}: {page}");
        assert!(
            provider_events(app.raw_pool()).await?.is_empty(),
            "{what}: nothing stored"
        );
        unchanged(&app).await?;
    }

    // Genuine, about a payment we do not know: acknowledged and kept for reconciliation.
    let mut stranger = intent.clone();
    stranger.id = uuid::Uuid::now_v7();
    stranger.payment_id = uuid::Uuid::now_v7();
    let unknown = event_of(&stranger, SandboxStatus::Succeeded, now);
    let (status, body) = deliver(&client, &app, unknown.clone(), signed(&unknown)).await?;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(body["outcome"], "unknown");
    assert_eq!(
        provider_events(app.raw_pool()).await?,
        BTreeMap::from([("unknown_payment".to_owned(), 1)])
    );
    unchanged(&app).await?;

    // Genuine, about our payment, in dollars: kept, never converted, the payment unchanged.
    // (An event of its own: the genuine one below must still be new.)
    let yen = event_of(&intent, SandboxStatus::Succeeded, now);
    let dollars = yen.replace("\"currency\":\"jpy\"", "\"currency\":\"usd\"");
    assert_ne!(dollars, yen, "the currency was changed");
    let (status, body) = deliver(&client, &app, dollars.clone(), signed(&dollars)).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        provider_events(app.raw_pool()).await?,
        BTreeMap::from([("unknown_payment".to_owned(), 2)])
    );
    unchanged(&app).await?;

    // Far larger than any provider's event: refused before it is read.
    let huge = format!(
        "{{\"id\":\"evt_huge\",\"padding\":\"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let (status, _) = deliver(&client, &app, huge.clone(), signed(&huge)).await?;
    assert_eq!(status, 413);
    unchanged(&app).await?;

    // The genuine event still applies, once.
    let (status, body) = deliver(&client, &app, paid.clone(), signed(&paid)).await?;
    assert_eq!((status, body.contains("applied")), (200, true), "{body}");
    let (status, body) = deliver(&client, &app, paid.clone(), signed(&paid)).await?;
    assert_eq!((status, body.contains("duplicate")), (200, true), "{body}");
    let done = app.storage.payment(app.tenant.id, payment.id).await?;
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert_eq!(
        crate::payment_crash::successes(app.raw_pool(), payment.id)
            .await?
            .len(),
        1
    );
    assert_balanced(&*app.storage, app.tenant.id).await?;
    Ok(())
}

mod a_storm_of_shuffled_and_repeated_events_ends_in_the_exact_states {
    use madoguchi_tests::app::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() -> anyhow::Result<()> {
        let app = super::app_on(Backend::Sqlite)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no SQLite app"))?;
        super::a_storm_of_shuffled_and_repeated_events_ends_in_the_exact_states(app).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() -> anyhow::Result<()> {
        match super::app_on(Backend::Postgres).await? {
            Some(app) => {
                super::a_storm_of_shuffled_and_repeated_events_ends_in_the_exact_states(app).await
            }
            None => {
                eprintln!(
                    "PostgreSQL not available; skipped (set MADOGUCHI_REQUIRE_POSTGRES=1 to fail instead)"
                );
                Ok(())
            }
        }
    }
}

mod bad_deliveries_are_refused_and_strange_ones_kept {
    use madoguchi_tests::app::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() -> anyhow::Result<()> {
        let app = super::app_on(Backend::Sqlite)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no SQLite app"))?;
        super::bad_deliveries_are_refused_and_strange_ones_kept_without_changing_a_payment(app)
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() -> anyhow::Result<()> {
        match super::app_on(Backend::Postgres).await? {
            Some(app) => {
                super::bad_deliveries_are_refused_and_strange_ones_kept_without_changing_a_payment(
                    app,
                )
                .await
            }
            None => {
                eprintln!(
                    "PostgreSQL not available; skipped (set MADOGUCHI_REQUIRE_POSTGRES=1 to fail instead)"
                );
                Ok(())
            }
        }
    }
}
