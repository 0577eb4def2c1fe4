//! `madoguchi bench booking-rush`: N clients book the same checkup session of capacity C over
//! HTTP at once, then a spread variant over 200 slots; in the same run, the ceiling: the same
//! database executing the same reservation transaction directly, with no HTTP or app.

use anyhow::Context;
use madoguchi_domain::{AccountKind, DisplayName, Email, Lang, OrgCode, SlotId, TenantId};
use madoguchi_storage::{
    NewAccount, NewReservation, NewService, NewSlot, PasswordHash, ServiceKind, Storage,
    StorageError, now_utc,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(clap::Args, Clone, Debug)]
pub struct RushArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Requests (one per client).
    #[arg(long, default_value_t = 2000)]
    pub clients: usize,
    /// Seats in the contested session.
    #[arg(long, default_value_t = 500)]
    pub capacity: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 500)]
    pub concurrency: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
}

struct Run {
    name: String,
    ok: usize,
    full: usize,
    other: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

impl Run {
    fn throughput(&self) -> f64 {
        (self.ok + self.full + self.other) as f64 / self.seconds
    }
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    }
}

/// A database for the benchmark; PostgreSQL ones are dropped at the end.
struct BenchDb {
    storage: Arc<dyn Storage>,
    drop_url: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn open(args: &RushArgs) -> anyhow::Result<BenchDb> {
    match args.backend.as_str() {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let storage = madoguchi_storage_sqlite::SqliteStorage::open_file(
                &dir.path().join("bench.sqlite3"),
            )
            .await?;
            Ok(BenchDb {
                storage: Arc::new(storage),
                drop_url: None,
                _dir: Some(dir),
            })
        }
        "postgres" => {
            let name = format!("madoguchi_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = madoguchi_storage_postgres::PgStorage::connect(&args.postgres_admin_url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx_create(&admin, &name, true).await?;
            let url = replace_database(&args.postgres_admin_url, &name);
            let storage = madoguchi_storage_postgres::PgStorage::connect_with_max(&url, 40).await?;
            Ok(BenchDb {
                storage: Arc::new(storage),
                drop_url: Some((args.postgres_admin_url.clone(), name)),
                _dir: None,
            })
        }
        other => anyhow::bail!("--backend must be sqlite or postgres, not {other}"),
    }
}

async fn sqlx_create(
    admin: &madoguchi_storage_postgres::PgStorage,
    name: &str,
    create: bool,
) -> anyhow::Result<()> {
    use sqlx::Executor;
    let sql = if create {
        format!("CREATE DATABASE {name}")
    } else {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    };
    admin.pool().execute(sqlx::AssertSqlSafe(sql)).await?;
    Ok(())
}

fn replace_database(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => url.to_owned(),
    }
}

pub async fn run(args: RushArgs) -> anyhow::Result<()> {
    let db = open(&args).await?;
    let result = rush(&args, db.storage.clone()).await;
    if let Some((admin_url, name)) = &db.drop_url {
        drop(db.storage);
        if let Ok(admin) = madoguchi_storage_postgres::PgStorage::connect(admin_url).await {
            sqlx_create(&admin, name, false).await.ok();
        }
    }
    result
}

async fn rush(args: &RushArgs, storage: Arc<dyn Storage>) -> anyhow::Result<()> {
    storage.migrate().await?;
    madoguchi_server::demo::seed_demo(
        &*storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;
    let office = storage
        .list_offices(tenant.id)
        .await?
        .first()
        .map(|o| o.id)
        .context("no office")?;
    let rules = serde_json::json!({
        "window": {"opens_days_before": 365, "opens_at_local": "00:00", "closes_hours_before": 1},
        "cancellation": {"deadline_hours_before": 24}
    });
    let service = storage
        .create_service(
            tenant.id,
            &NewService {
                code: OrgCode::parse("bench-checkup").map_err(|e| anyhow::anyhow!("{e}"))?,
                kind: ServiceKind::Checkup,
                name_ja: "がん検診（集団）".into(),
                name_en: "Cancer screening (group)".into(),
                department_id: None,
                rules,
            },
        )
        .await?;
    // Slots a week ahead: the contested session, one for the ceiling, 200 for the spread run.
    let base = now_utc() + time::Duration::days(7);
    let slot_at = |i: i64| base + time::Duration::minutes(30 * i);
    let spread_capacity = args.capacity.max(1);
    let mut specs = vec![
        NewSlot {
            office_id: office,
            starts_at: slot_at(0),
            ends_at: slot_at(0) + time::Duration::minutes(20),
            capacity: args.capacity,
        },
        NewSlot {
            office_id: office,
            starts_at: slot_at(1),
            ends_at: slot_at(1) + time::Duration::minutes(20),
            capacity: args.capacity,
        },
    ];
    for i in 0..200 {
        specs.push(NewSlot {
            office_id: office,
            starts_at: slot_at(2 + i),
            ends_at: slot_at(2 + i) + time::Duration::minutes(20),
            capacity: spread_capacity,
        });
    }
    storage.add_slots(tenant.id, service.id, &specs).await?;
    let slots = storage
        .slots(
            tenant.id,
            service.id,
            base - time::Duration::minutes(1),
            base + time::Duration::days(30),
        )
        .await?;
    let (contested, ceiling_slot, spread) = (
        slots[0].id,
        slots[1].id,
        slots[2..].iter().map(|s| s.id).collect::<Vec<_>>(),
    );

    println!("creating {} resident accounts ...", args.clients);
    let mut accounts = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let account = storage
            .create_account(
                tenant.id,
                &NewAccount {
                    kind: AccountKind::Resident,
                    email: Email::parse(&format!("bench{i}@example.jp"))
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
        accounts.push(account.id);
    }

    // The server, in this process, with a secret we can mint tokens for.
    let secret = secrecy::SecretString::from(madoguchi_auth::one_time::new_token());
    let keys = madoguchi_auth::ApiTokenKeys::new(secret.clone());
    let tokens: Vec<String> = accounts
        .iter()
        .map(|a| {
            keys.issue(
                *a,
                tenant.id,
                AccountKind::Resident,
                vec![madoguchi_auth::ApiScope::AccountRead],
                now_utc(),
                3600,
            )
            .map(|(t, _)| t)
        })
        .collect::<Result<_, _>>()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = madoguchi_server::ServerConfig::local(url.clone(), secret);
    config.sign_in_per_ip_per_minute = i64::MAX;
    let state = madoguchi_server::AppState::new(storage.clone(), config, None)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(madoguchi_server::serve(listener, state, shutdown));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let contested_run = http_run(
        "HTTP, one session (contested)",
        &client,
        &url,
        &tokens,
        |_| contested,
        args.concurrency,
    )
    .await?;
    let spread_run = http_run(
        "HTTP, spread over 200 slots",
        &client,
        &url,
        &tokens,
        |i| spread[i % spread.len()],
        args.concurrency,
    )
    .await?;
    let ceiling_run = direct_run(
        &storage,
        tenant.id,
        ceiling_slot,
        &accounts,
        args.concurrency,
    )
    .await?;
    let _ = stop.send(true);

    let contested_slot = storage.slot(tenant.id, contested).await?;
    let ceiling_taken = storage.slot(tenant.id, ceiling_slot).await?.taken;
    let overbooked = (contested_slot.taken - args.capacity).max(0)
        + (contested_run.ok as i64 - args.capacity).max(0)
        + (ceiling_taken - args.capacity).max(0);
    println!(
        "backend {}, {} clients, capacity {}, {} in flight",
        args.backend, args.clients, args.capacity, args.concurrency
    );
    println!("| run | confirmed | rejected (full) | other | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for run in [&contested_run, &spread_run, &ceiling_run] {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} |",
            run.name,
            run.ok,
            run.full,
            run.other,
            run.throughput(),
            run.percentile(0.5),
            run.percentile(0.99)
        );
    }
    println!(
        "stored seats taken in the contested session: {} of {}",
        contested_slot.taken, args.capacity
    );
    let ratio = contested_run.throughput() / ceiling_run.throughput();
    println!(
        "{}",
        serde_json::json!({
            "backend": args.backend, "clients": args.clients, "capacity": args.capacity,
            "confirmed": contested_run.ok, "rejected": contested_run.full, "errors": contested_run.other,
            "overbooked": overbooked,
            "throughput_per_s": contested_run.throughput(), "p50_ms": contested_run.percentile(0.5), "p99_ms": contested_run.percentile(0.99),
            "spread_throughput_per_s": spread_run.throughput(), "spread_p99_ms": spread_run.percentile(0.99),
            "ceiling_per_s": ceiling_run.throughput(), "ratio": ratio
        })
    );
    anyhow::ensure!(overbooked == 0, "OVERBOOKED by {overbooked}");
    Ok(())
}

async fn http_run(
    name: &str,
    client: &reqwest::Client,
    url: &str,
    tokens: &[String],
    slot_for: impl Fn(usize) -> SlotId,
    concurrency: usize,
) -> anyhow::Result<Run> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let (client, gate, token) = (client.clone(), gate.clone(), token.clone());
        let endpoint = format!("{url}/api/v1/reservations");
        let slot = slot_for(i);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = Instant::now();
            let response = client
                .post(&endpoint)
                .bearer_auth(token)
                .header("idempotency-key", format!("rush-{i}-{slot}"))
                .json(&serde_json::json!({"slot_id": slot.0}))
                .send()
                .await;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            let status = response.map(|r| r.status().as_u16()).unwrap_or(0);
            (status, ms)
        }));
    }
    let mut run = Run {
        name: name.to_owned(),
        ok: 0,
        full: 0,
        other: 0,
        seconds: 0.0,
        latencies_ms: Vec::new(),
    };
    for task in tasks {
        let (status, ms) = task.await?;
        match status {
            201 => run.ok += 1,
            409 => run.full += 1,
            _ => run.other += 1,
        }
        run.latencies_ms.push(ms);
    }
    run.seconds = started.elapsed().as_secs_f64();
    Ok(run)
}

async fn direct_run(
    storage: &Arc<dyn Storage>,
    tenant: TenantId,
    slot: SlotId,
    accounts: &[madoguchi_domain::AccountId],
    concurrency: usize,
) -> anyhow::Result<Run> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(accounts.len());
    for (i, account) in accounts.iter().enumerate() {
        let (storage, gate, account) = (storage.clone(), gate.clone(), *account);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = Instant::now();
            let new = NewReservation {
                slot_id: slot,
                account_id: Some(account),
                idempotency_key: Some(format!("ceiling-{i}")),
                hold_until: None,
                details: serde_json::json!({"answers": {}}),
                limit: None,
            };
            let outcome = storage.reserve(tenant, &new, now_utc()).await;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            (outcome, ms)
        }));
    }
    let mut run = Run {
        name: "ceiling: reserve() directly, no HTTP".into(),
        ok: 0,
        full: 0,
        other: 0,
        seconds: 0.0,
        latencies_ms: Vec::new(),
    };
    for task in tasks {
        let (outcome, ms) = task.await?;
        match outcome {
            Ok(_) => run.ok += 1,
            Err(StorageError::Refused(madoguchi_storage::Refusal::SlotFull)) => run.full += 1,
            Err(_) => run.other += 1,
        }
        run.latencies_ms.push(ms);
    }
    run.seconds = started.elapsed().as_secs_f64();
    Ok(run)
}

#[derive(clap::Args, Clone, Debug)]
pub struct MonthArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Reservations the service holds before the month view is measured.
    #[arg(long, default_value_t = 100_000)]
    pub reservations: usize,
    /// Month-view requests to time.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
}

/// `madoguchi bench month-view`: the month view of a service holding many reservations.
pub async fn month_view(args: MonthArgs) -> anyhow::Result<()> {
    let rush = RushArgs {
        backend: args.backend.clone(),
        clients: 0,
        capacity: 0,
        concurrency: 0,
        postgres_admin_url: args.postgres_admin_url.clone(),
    };
    let db = open(&rush).await?;
    let result = month_view_in(&args, db.storage.clone()).await;
    if let Some((admin_url, name)) = &db.drop_url {
        drop(db.storage);
        if let Ok(admin) = madoguchi_storage_postgres::PgStorage::connect(admin_url).await {
            sqlx_create(&admin, name, false).await.ok();
        }
    }
    result
}

async fn month_view_in(args: &MonthArgs, storage: Arc<dyn Storage>) -> anyhow::Result<()> {
    storage.migrate().await?;
    madoguchi_server::demo::seed_demo(
        &*storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;
    let office = storage
        .list_offices(tenant.id)
        .await?
        .first()
        .map(|o| o.id)
        .context("no office")?;
    let rules = serde_json::json!({
        "window": {"opens_days_before": 365, "opens_at_local": "00:00", "closes_hours_before": 1},
        "cancellation": {"deadline_hours_before": 24}
    });
    let service = storage
        .create_service(
            tenant.id,
            &NewService {
                code: OrgCode::parse("bench-month").map_err(|e| anyhow::anyhow!("{e}"))?,
                kind: ServiceKind::Checkup,
                name_ja: "特定健診".into(),
                name_en: "Specific health checkup".into(),
                department_id: None,
                rules,
            },
        )
        .await?;
    // Next month in Tokyo: 31 days × 12 sessions, seats enough for every reservation.
    let today = now_utc().to_offset(madoguchi_domain::tokyo::JST).date();
    let first = today.replace_day(1)? + time::Duration::days(32);
    let first = first.replace_day(1)?;
    let sessions_per_day = 12usize;
    let seats = (args.reservations / (31 * sessions_per_day) + 1) as i64;
    let mut specs = Vec::new();
    for day in 0..31 {
        let date = first + time::Duration::days(day);
        for session in 0..sessions_per_day {
            let start = time::PrimitiveDateTime::new(
                date,
                time::Time::from_hms(8 + (session as u8), 0, 0)?,
            )
            .assume_offset(madoguchi_domain::tokyo::JST)
            .to_offset(time::UtcOffset::UTC);
            specs.push(NewSlot {
                office_id: office,
                starts_at: start,
                ends_at: start + time::Duration::minutes(50),
                capacity: seats,
            });
        }
    }
    storage.add_slots(tenant.id, service.id, &specs).await?;
    let from = madoguchi_domain::tokyo::start_of_tokyo_day(first);
    let slots = storage
        .slots(tenant.id, service.id, from, from + time::Duration::days(40))
        .await?;
    println!(
        "booking {} reservations over {} slots ...",
        args.reservations,
        slots.len()
    );
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..args.reservations {
        let (storage, gate) = (storage.clone(), gate.clone());
        let slot = slots[i % slots.len()].id;
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let new = NewReservation {
                slot_id: slot,
                account_id: None,
                idempotency_key: None,
                hold_until: None,
                details: serde_json::json!({}),
                limit: None,
            };
            storage.reserve(tenant.id, &new, now_utc()).await.is_ok()
        }));
    }
    let mut booked = 0;
    for task in tasks {
        if task.await? {
            booked += 1;
        }
    }
    println!(
        "{booked} reservations stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let config = madoguchi_server::ServerConfig::local(
        url.clone(),
        secrecy::SecretString::from(madoguchi_auth::one_time::new_token()),
    );
    let state = madoguchi_server::AppState::new(storage.clone(), config, None)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(madoguchi_server::serve(listener, state, shutdown));
    let month = format!("{}-{:02}", first.year(), u8::from(first.month()));
    let endpoint = format!(
        "{url}/api/v1/services/{}/availability?month={month}",
        service.id
    );
    let client = reqwest::Client::new();
    let check: serde_json::Value = client.get(&endpoint).send().await?.json().await?;
    anyhow::ensure!(
        check.as_array().is_some_and(|d| d.len() >= 28),
        "unexpected month view: {check}"
    );
    let mut latencies = Vec::with_capacity(args.requests);
    let started = Instant::now();
    for _ in 0..args.requests {
        let sent = Instant::now();
        let response = client.get(&endpoint).send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "month view answered {}",
            response.status()
        );
        response.bytes().await?;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let run = Run {
        name: "month view over HTTP, one client".into(),
        ok: args.requests,
        full: 0,
        other: 0,
        seconds,
        latencies_ms: latencies,
    };
    println!("| backend | reservations | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {booked} | {} | {:.2} | {:.2} | {:.2} |",
        args.backend,
        args.requests,
        run.percentile(0.5),
        run.percentile(0.99),
        run.percentile(1.0)
    );
    println!(
        "{}",
        serde_json::json!({"bench": "month-view", "backend": args.backend, "reservations": booked, "p50_ms": run.percentile(0.5), "p99_ms": run.percentile(0.99), "requests_per_s": run.throughput()})
    );
    Ok(())
}
