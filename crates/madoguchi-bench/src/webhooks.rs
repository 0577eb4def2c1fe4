//! `madoguchi bench webhooks`: a stream of signed payment webhooks over HTTP, as a provider
//! delivers them: each payment's events (requires_action → processing → succeeded, a decline
//! then success, an expiry, declines then giving up) shuffled with redeliveries (30% of the
//! stream by default) and sent with a fixed number in flight to `/hooks/sandbox/{slug}` of the
//! app running in this process. Afterwards every payment's state is checked against its newest
//! event (`final_state_errors`). In the same run, the ceiling: the bare signature check and the
//! event's insert (`signature::verify`, then `PaymentStore::record_provider_event`), with no
//! HTTP, no app and no payment to change.

use crate::booking::{open_connections, open_db, percentile};
use anyhow::Context;
use futures::StreamExt;
use madoguchi_domain::{PaymentId, ReceivableId, TenantId};
use madoguchi_gateway::signature::{self, TOLERANCE_S};
use madoguchi_payments::ledger::PostingKind;
use madoguchi_payments::{
    Method, PaymentAmount, PaymentStatus, Provider, ReceivableStatus, RevenueCategory,
    RevenueCategoryCode,
};
use madoguchi_storage::{
    ActorKind, EventDisposition, NewAuditEntry, NewReceivable, Payment, ProviderEventRecord,
    SandboxIntent, SandboxStatus, Storage, now_utc,
};
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::payments::sandbox::event_body;
use madoguchi_usecases::{Actor, Scope};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct WebhookArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Deliveries in all, redeliveries included.
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Share of the deliveries that repeat an event already in the stream.
    #[arg(long, default_value_t = 0.3)]
    pub duplicate_share: f64,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// PostgreSQL connections of the app's pool; the default is what `madoguchi serve` uses.
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
}

/// What each payment's events report, oldest first, by the payment's number modulo their
/// count (3.5 events a payment on average). The newest decides the payment's final state.
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

/// The fee of every receivable of the run.
const FEE_YEN: i64 = 500;

/// Payments started through the sandbox at once while the run is set up.
const SETUP_IN_FLIGHT: usize = 16;

/// The payment state an event about `status` leads to.
fn payment_status(status: SandboxStatus) -> PaymentStatus {
    match status {
        SandboxStatus::Open => PaymentStatus::Created,
        SandboxStatus::RequiresAction => PaymentStatus::RequiresAction,
        SandboxStatus::Processing => PaymentStatus::Processing,
        SandboxStatus::Succeeded => PaymentStatus::Succeeded,
        SandboxStatus::Failed => PaymentStatus::Failed,
        SandboxStatus::Expired => PaymentStatus::Expired,
        SandboxStatus::Canceled => PaymentStatus::Canceled,
    }
}

/// One timed run: answers and latencies.
struct Run {
    name: String,
    ok: usize,
    errors: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

impl Run {
    fn throughput(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.seconds
    }
}

pub async fn run(args: WebhookArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..0.95).contains(&args.duplicate_share),
        "--duplicate-share must be at least 0 and below 0.95"
    );
    anyhow::ensure!(args.events > 0, "--events must be at least 1");
    let db = open_db(&args.backend, &args.postgres_admin_url, args.pg_pool).await?;
    if let Some((pool, _)) = &db.pg {
        open_connections(pool, args.pg_pool).await?;
    }
    let result = bench(&args, db.storage.clone()).await;
    db.remove().await;
    result
}

/// A receivable and a card payment started through the sandbox, as the pay page starts it.
async fn started_payment(
    storage: &Arc<dyn Storage>,
    state: &madoguchi_server::AppState,
    tenant: TenantId,
    url: &str,
) -> anyhow::Result<(Payment, SandboxIntent)> {
    let now = now_utc();
    let id = ReceivableId::new();
    storage
        .create_receivable(
            tenant,
            &NewReceivable {
                id,
                category: RevenueCategoryCode::parse("certificate_fee")?,
                description: "住民票の写し".into(),
                payer_account: None,
                payer_name: "ベンチ 太郎".into(),
                office: None,
                fiscal_year: now.year(),
                due_on: now.date() + time::Duration::days(30),
                amount: PaymentAmount::new(FEE_YEN)?,
                source: None,
                at: now,
            },
            &NewAuditEntry {
                at: now,
                actor_kind: ActorKind::System,
                actor_id: None,
                action: "receivable.assessed".into(),
                target: Some(id.to_string()),
                details: serde_json::json!({}),
            },
        )
        .await?;
    let scope = Scope::new(tenant, Actor::System, state.clock.clone());
    let payment = checkout::start(
        &**storage,
        &*state.gateways,
        &scope,
        id,
        Method::Card,
        |payment: PaymentId| ReturnUrls {
            result_url: format!("{url}/payments/{payment}"),
            cancel_url: format!("{url}/receivables/{id}/pay"),
        },
        None,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting a payment: {:?} {:?}", e.code, e.internal))?;
    let intent = uuid::Uuid::parse_str(payment.provider_ref.as_deref().unwrap_or_default())?;
    let intent = storage.sandbox_intent(tenant, intent).await?;
    Ok((payment, intent))
}

/// The body of an event saying `intent` is now `status`, created `at`.
fn event_of(intent: &SandboxIntent, status: SandboxStatus, at: time::OffsetDateTime) -> String {
    let mut moved = intent.clone();
    moved.status = status;
    event_body(&moved, at)
}

/// Each payment's events a second apart, after every payment was made (a payment's start is
/// the first thing it heard; anything older would be stale), until `unique` events are made;
/// returns them with each payment's expected final state.
fn events_for(
    payments: &[(Payment, SandboxIntent)],
    unique: usize,
) -> (Vec<String>, Vec<PaymentStatus>) {
    // Whole seconds on the wire: two seconds on is after anything stored so far.
    let first = now_utc() + time::Duration::seconds(2);
    let mut events = Vec::with_capacity(unique);
    let mut expected = vec![PaymentStatus::Created; payments.len()];
    'all: for (n, (_, intent)) in payments.iter().enumerate() {
        for (step, status) in SEQUENCES[n % SEQUENCES.len()].iter().enumerate() {
            if events.len() == unique {
                break 'all;
            }
            events.push(event_of(
                intent,
                *status,
                first + time::Duration::seconds(step as i64),
            ));
            expected[n] = payment_status(*status);
        }
    }
    (events, expected)
}

/// `events` followed by `duplicates` of them chosen at random, shuffled.
fn stream_of(events: &[String], duplicates: usize, rng: &mut rand::rngs::StdRng) -> Vec<String> {
    let mut stream = events.to_vec();
    for _ in 0..duplicates {
        if let Some(again) = events.choose(rng) {
            stream.push(again.clone());
        }
    }
    stream.shuffle(rng);
    stream
}

async fn bench(args: &WebhookArgs, storage: Arc<dyn Storage>) -> anyhow::Result<()> {
    storage.migrate().await?;
    madoguchi_server::demo::seed_demo(
        &*storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;
    for category in RevenueCategory::standard() {
        storage.save_revenue_category(tenant.id, &category).await?;
    }

    // The app, in this process, with a sandbox secret we can sign with.
    let secret = format!("whsec_bench_{}", madoguchi_auth::one_time::new_token());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = madoguchi_server::ServerConfig::local(
        url.clone(),
        SecretString::from(madoguchi_auth::one_time::new_token()),
    );
    config.payments.sandbox_webhook_secret = SecretString::from(secret.clone());
    let state = madoguchi_server::AppState::new(storage.clone(), config, None)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(madoguchi_server::serve(listener, state.clone(), shutdown));

    let duplicates = (args.events as f64 * args.duplicate_share).round() as usize;
    let unique = args.events - duplicates;
    let average: f64 =
        SEQUENCES.iter().map(|s| s.len() as f64).sum::<f64>() / SEQUENCES.len() as f64;
    let payment_count = (unique as f64 / average).ceil() as usize;
    println!("starting {payment_count} sandbox payments ...");
    let payments: Vec<(Payment, SandboxIntent)> = futures::stream::iter(0..payment_count)
        .map(|_| started_payment(&storage, &state, tenant.id, &url))
        .buffer_unordered(SETUP_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let (events, expected) = events_for(&payments, unique);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let stream = stream_of(&events, duplicates, &mut rng);

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let hook = format!("{url}/hooks/sandbox/{}", tenant.slug.as_str());
    let http = http_run(&client, &hook, &secret, stream, args.concurrency).await?;

    // The ceiling: other events of the same shape, checked and kept straight in the database.
    let (ceiling_events, _) = events_for(&payments, unique);
    let ceiling_stream = stream_of(&ceiling_events, duplicates, &mut rng);
    let ceiling = direct_run(
        &storage,
        tenant.id,
        &secret,
        ceiling_stream,
        args.concurrency,
    )
    .await?;
    let _ = stop.send(true);

    let final_state_errors = check_final_states(&storage, tenant.id, &payments, &expected).await?;

    println!(
        "backend {}, {} deliveries ({} events, {duplicates} redeliveries), {} payments, {} in flight",
        args.backend,
        args.events,
        unique,
        payments.len(),
        args.concurrency
    );
    println!("| run | deliveries | not 200 / failed | per s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for run in [&http, &ceiling] {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            run.name,
            run.ok + run.errors,
            run.errors,
            run.throughput(),
            percentile(&run.latencies_ms, 0.5),
            percentile(&run.latencies_ms, 0.99)
        );
    }
    let count = |status: PaymentStatus| expected.iter().filter(|s| **s == status).count();
    println!(
        "final states expected: {} succeeded, {} expired, {} canceled, {} other; errors: {final_state_errors}",
        count(PaymentStatus::Succeeded),
        count(PaymentStatus::Expired),
        count(PaymentStatus::Canceled),
        expected.len()
            - count(PaymentStatus::Succeeded)
            - count(PaymentStatus::Expired)
            - count(PaymentStatus::Canceled)
    );
    println!(
        "{}",
        serde_json::json!({
            "backend": args.backend,
            "events": args.events,
            "duplicates": duplicates,
            "throughput_per_s": http.throughput(),
            "ceiling_per_s": ceiling.throughput(),
            "p99_ms": percentile(&http.latencies_ms, 0.99),
            "final_state_errors": final_state_errors,
        })
    );
    anyhow::ensure!(
        http.errors == 0 && ceiling.errors == 0,
        "{} deliveries were not acknowledged, {} ceiling inserts failed",
        http.errors,
        ceiling.errors
    );
    Ok(())
}

/// Sends `stream` to `hook`, each delivery signed as it leaves, `concurrency` at a time.
async fn http_run(
    client: &reqwest::Client,
    hook: &str,
    secret: &str,
    stream: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let answers: Vec<(bool, f64)> = futures::stream::iter(stream)
        .map(|body| async move {
            let sent = Instant::now();
            let header = signature::sign(secret, now_utc().unix_timestamp(), body.as_bytes());
            let answered = client
                .post(hook)
                .header("content-type", "application/json")
                .header("stripe-signature", header)
                .body(body)
                .send()
                .await;
            let ok = match answered {
                Ok(response) => {
                    let status = response.status();
                    // Read the answer, so the connection goes back to the pool.
                    let _ = response.bytes().await;
                    status == 200
                }
                Err(_) => false,
            };
            (ok, sent.elapsed().as_secs_f64() * 1000.0)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    Ok(Run {
        name: "HTTP, POST /hooks/sandbox/{slug}".into(),
        ok: answers.iter().filter(|(ok, _)| *ok).count(),
        errors: answers.iter().filter(|(ok, _)| !*ok).count(),
        seconds: started.elapsed().as_secs_f64(),
        latencies_ms: answers.into_iter().map(|(_, ms)| ms).collect(),
    })
}

/// The ceiling: `signature::verify`, the event's id read, and `record_provider_event`, straight
/// against the database, `concurrency` at a time. Headers are signed before the clock starts
/// (the provider signs them, not us).
async fn direct_run(
    storage: &Arc<dyn Storage>,
    tenant: TenantId,
    secret: &str,
    stream: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<Run> {
    let t = now_utc().unix_timestamp();
    let signed: Vec<(String, String)> = stream
        .into_iter()
        .map(|body| (signature::sign(secret, t, body.as_bytes()), body))
        .collect();
    let started = Instant::now();
    let answers: Vec<(bool, f64)> = futures::stream::iter(signed)
        .map(|(header, body)| async move {
            let sent = Instant::now();
            let ok = keep_event(&**storage, tenant, secret, &header, &body)
                .await
                .is_ok();
            (ok, sent.elapsed().as_secs_f64() * 1000.0)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    Ok(Run {
        name: "ceiling: verify + record_provider_event, no HTTP".into(),
        ok: answers.iter().filter(|(ok, _)| *ok).count(),
        errors: answers.iter().filter(|(ok, _)| !*ok).count(),
        seconds: started.elapsed().as_secs_f64(),
        latencies_ms: answers.into_iter().map(|(_, ms)| ms).collect(),
    })
}

/// One event of the ceiling: checked, then kept (a repeat is refused by its key, as in the app).
async fn keep_event(
    storage: &dyn Storage,
    tenant: TenantId,
    secret: &str,
    header: &str,
    body: &str,
) -> anyhow::Result<bool> {
    let now = now_utc();
    signature::verify(header, body.as_bytes(), secret, now, TOLERANCE_S)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let payload: serde_json::Value = serde_json::from_str(body)?;
    let created = payload["created"].as_i64().context("no created")?;
    let record = ProviderEventRecord {
        provider: Provider::Sandbox,
        event_id: payload["id"].as_str().context("no id")?.to_owned(),
        event_type: payload["type"].as_str().context("no type")?.to_owned(),
        created_at: time::OffsetDateTime::from_unix_timestamp(created)?,
        received_at: now,
        payload,
    };
    Ok(storage
        .record_provider_event(tenant, &record, EventDisposition::Ignored, None)
        .await?)
}

/// Payments not in the state their newest event says, or whose receivable was not paid (and
/// posted) exactly once when it succeeded, and not at all otherwise.
async fn check_final_states(
    storage: &Arc<dyn Storage>,
    tenant: TenantId,
    payments: &[(Payment, SandboxIntent)],
    expected: &[PaymentStatus],
) -> anyhow::Result<usize> {
    let mut errors = 0;
    for ((payment, _), expected) in payments.iter().zip(expected) {
        let now = storage.payment(tenant, payment.id).await?;
        let owed = storage.receivable(tenant, payment.receivable).await?;
        let posted = storage
            .ledger_entries(tenant, Some(payment.receivable), 20)
            .await?
            .iter()
            .filter(|entry| entry.kind == PostingKind::PaymentReceived)
            .count();
        let should = if *expected == PaymentStatus::Succeeded {
            (ReceivableStatus::Paid, FEE_YEN, 1)
        } else {
            (ReceivableStatus::Open, 0, 0)
        };
        if now.status != *expected || (owed.status, owed.paid_yen, posted) != should {
            errors += 1;
        }
    }
    Ok(errors)
}
