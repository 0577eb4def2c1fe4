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
    /// PostgreSQL connections of the app's pool; the default is what `madoguchi serve` uses.
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
    /// PostgreSQL: the ceiling runs once on a pool of each of these sizes (each its own slot),
    /// and the fastest is the ceiling. It does not follow `--pg-pool`: a pool size that suits
    /// the app can slow the bare transaction down and flatter the ratio, or the other way.
    #[arg(long, value_delimiter = ',', default_value = "8,16,40")]
    pub ceiling_pools: Vec<u32>,
    /// PostgreSQL only: afterwards, book 20 seats and be refused 20 times one request at a
    /// time, and print the transactions and table reads per request (waits ~11 s for the
    /// server's statistics).
    #[arg(long)]
    pub pg_stats: bool,
    /// Give the service a personal limit (10 per fiscal year, never reached here), so every
    /// booking also locks and counts the resident's bookings, as limited services do.
    #[arg(long)]
    pub personal_limit: bool,
}

struct Run {
    name: String,
    ok: usize,
    full: usize,
    other: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
    /// Latencies of the confirmed requests alone, and when the last of them was answered.
    confirmed_ms: Vec<f64>,
    last_confirmed_s: f64,
}

impl Run {
    fn throughput(&self) -> f64 {
        (self.ok + self.full + self.other) as f64 / self.seconds
    }
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.latencies_ms, p)
    }
}

pub(crate) fn percentile(latencies_ms: &[f64], p: f64) -> f64 {
    let mut sorted = latencies_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// A database for the benchmark; PostgreSQL ones are dropped at the end.
pub(crate) struct BenchDb {
    pub(crate) storage: Arc<dyn Storage>,
    drop_url: Option<(String, String)>,
    /// PostgreSQL: the app's pool and the database's URL (the ceiling runs open their own).
    pub(crate) pg: Option<(sqlx::PgPool, String)>,
    /// SQLite: the database file (a child process opens it again).
    pub(crate) sqlite_path: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    /// Closes the pools and drops a PostgreSQL database.
    pub(crate) async fn remove(self) {
        if let Some((admin_url, name)) = &self.drop_url {
            drop(self.storage);
            drop(self.pg);
            if let Ok(admin) = madoguchi_storage_postgres::PgStorage::connect(admin_url).await {
                sqlx_create(&admin, name, false).await.ok();
            }
        }
    }
}

async fn open(args: &RushArgs) -> anyhow::Result<BenchDb> {
    open_db(&args.backend, &args.postgres_admin_url, args.pg_pool).await
}

/// A new database of `backend` (`sqlite` in a temporary directory, or a new `postgres`
/// database on the server of `postgres_admin_url` with a pool of `pg_pool`), not migrated.
pub(crate) async fn open_db(
    backend: &str,
    postgres_admin_url: &str,
    pg_pool: u32,
) -> anyhow::Result<BenchDb> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("bench.sqlite3");
            let storage = madoguchi_storage_sqlite::SqliteStorage::open_file(&path).await?;
            Ok(BenchDb {
                storage: Arc::new(storage),
                drop_url: None,
                pg: None,
                sqlite_path: Some(path),
                _dir: Some(dir),
            })
        }
        "postgres" => {
            let name = format!("madoguchi_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = madoguchi_storage_postgres::PgStorage::connect(postgres_admin_url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx_create(&admin, &name, true).await?;
            let url = replace_database(postgres_admin_url, &name);
            let storage =
                madoguchi_storage_postgres::PgStorage::connect_with_max(&url, pg_pool).await?;
            Ok(BenchDb {
                pg: Some((storage.pool().clone(), url)),
                storage: Arc::new(storage),
                drop_url: Some((postgres_admin_url.to_owned(), name)),
                sqlite_path: None,
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
    let result = rush(&args, db.storage.clone(), db.pg.clone()).await;
    db.remove().await;
    result
}

async fn rush(
    args: &RushArgs,
    storage: Arc<dyn Storage>,
    pg: Option<(sqlx::PgPool, String)>,
) -> anyhow::Result<()> {
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
    let mut rules = serde_json::json!({
        "window": {"opens_days_before": 365, "opens_at_local": "00:00", "closes_hours_before": 1},
        "cancellation": {"deadline_hours_before": 24}
    });
    if args.personal_limit {
        rules["limit"] = serde_json::json!({"max": 10, "period": {"kind": "fiscal_year"}});
    }
    let service = storage
        .create_service(
            tenant.id,
            &NewService {
                code: OrgCode::parse("bench-checkup").map_err(|e| anyhow::anyhow!("{e}"))?,
                kind: ServiceKind::Checkup,
                name_ja: "がん検診（集団）".into(),
                name_en: "Cancer screening (group)".into(),
                department_id: None,
                rules: serde_json::from_value(rules)?,
            },
        )
        .await?;
    // Slots a week ahead: the contested session, one per ceiling run, 200 for the spread run
    // and one for the probes of `--pg-stats`.
    let ceiling_pools: Vec<Option<u32>> = match &pg {
        Some(_) if !args.ceiling_pools.is_empty() => {
            args.ceiling_pools.iter().map(|p| Some(*p)).collect()
        }
        _ => vec![None],
    };
    let base = now_utc() + time::Duration::days(7);
    let slot_at = |i: usize| base + time::Duration::minutes(30 * i as i64);
    let spread_capacity = args.capacity.max(1);
    let specs: Vec<NewSlot> = (0..1 + ceiling_pools.len() + 200 + 1)
        .map(|i| NewSlot {
            office_id: office,
            starts_at: slot_at(i),
            ends_at: slot_at(i) + time::Duration::minutes(20),
            capacity: if i <= ceiling_pools.len() {
                args.capacity
            } else {
                spread_capacity
            },
        })
        .collect();
    storage.add_slots(tenant.id, service.id, &specs).await?;
    let slots = storage
        .slots(
            tenant.id,
            service.id,
            base - time::Duration::minutes(1),
            base + time::Duration::days(30),
        )
        .await?;
    anyhow::ensure!(
        slots.len() == specs.len(),
        "the benchmark's slots were not all added"
    );
    let ids: Vec<SlotId> = slots.iter().map(|s| s.id).collect();
    // The personal-limit check the app makes for a slot, for the ceiling's direct bookings.
    let limits: Vec<Option<madoguchi_storage::LimitCheck>> = slots
        .iter()
        .map(|slot| madoguchi_usecases::reservations::limit_for(&service.rules, slot))
        .collect();
    let (contested, rest) = ids.split_first().context("no slots")?;
    let (ceiling_slots, rest) = rest.split_at(ceiling_pools.len());
    let (spread, probe_slot) = (&rest[..200], rest[200]);
    let contested = *contested;

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
    if let Some((app_pool, _)) = &pg {
        open_connections(app_pool, args.pg_pool).await?;
    }
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
    let mut ceiling_runs = Vec::new();
    for (n, pool_size) in ceiling_pools.iter().enumerate() {
        // PostgreSQL: a pool of its own of each size, all connected before the run.
        let (ceiling, name): (Arc<dyn Storage>, String) = match (&pg, pool_size) {
            (Some((_, url)), Some(size)) => {
                let ceiling =
                    madoguchi_storage_postgres::PgStorage::connect_with_max(url, *size).await?;
                open_connections(ceiling.pool(), *size).await?;
                (Arc::new(ceiling), format!(", pool {size}"))
            }
            _ => (storage.clone(), String::new()),
        };
        let run = direct_run(
            &ceiling,
            &format!("ceiling: reserve() directly, no HTTP{name}"),
            &format!("ceiling{n}"),
            tenant.id,
            ceiling_slots[n],
            limits[1 + n],
            &accounts,
            args.concurrency,
        )
        .await?;
        ceiling_runs.push((run, *pool_size));
    }
    if let (true, Some((pg, _))) = (args.pg_stats, &pg) {
        let tokens = &tokens[..tokens.len().min(20)];
        pg_probe(pg, &client, &url, tokens, probe_slot, contested).await?;
    }
    let _ = stop.send(true);

    let contested_slot = storage.slot(tenant.id, contested).await?;
    let mut overbooked = (contested_slot.taken - args.capacity).max(0)
        + (contested_run.ok as i64 - args.capacity).max(0);
    for (slot, (run, _)) in ceiling_slots.iter().zip(&ceiling_runs) {
        overbooked += (storage.slot(tenant.id, *slot).await?.taken - args.capacity).max(0)
            + (run.ok as i64 - args.capacity).max(0);
    }
    // The ceiling is the fastest of its runs.
    let (ceiling_run, ceiling_pool) = ceiling_runs
        .iter()
        .max_by(|a, b| a.0.throughput().total_cmp(&b.0.throughput()))
        .context("no ceiling run")?;
    println!(
        "backend {}, {} clients, capacity {}, {} in flight",
        args.backend, args.clients, args.capacity, args.concurrency
    );
    println!("| run | confirmed | rejected (full) | other | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    let runs: Vec<&Run> = [&contested_run, &spread_run]
        .into_iter()
        .chain(ceiling_runs.iter().map(|(run, _)| run))
        .collect();
    for run in &runs {
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
    for run in &runs {
        println!(
            "{}: confirmed p50 {:.1} ms, p99 {:.1} ms, the last after {:.2} s of {:.2} s",
            run.name,
            percentile(&run.confirmed_ms, 0.5),
            percentile(&run.confirmed_ms, 0.99),
            run.last_confirmed_s,
            run.seconds
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
            "backend": args.backend, "personal_limit": args.personal_limit, "clients": args.clients, "capacity": args.capacity,
            "confirmed": contested_run.ok, "rejected": contested_run.full, "errors": contested_run.other,
            "overbooked": overbooked,
            "throughput_per_s": contested_run.throughput(), "p50_ms": contested_run.percentile(0.5), "p99_ms": contested_run.percentile(0.99),
            "spread_throughput_per_s": spread_run.throughput(), "spread_p99_ms": spread_run.percentile(0.99),
            "ceiling_per_s": ceiling_run.throughput(), "ceiling_pool": ceiling_pool, "ratio": ratio,
            "ceilings": ceiling_runs.iter().map(|(run, pool)| serde_json::json!({"pool": pool, "per_s": run.throughput()})).collect::<Vec<_>>()
        })
    );
    anyhow::ensure!(overbooked == 0, "OVERBOOKED by {overbooked}");
    Ok(())
}

/// Opens `connections` connections of `pool` at once, so that a run does not start by
/// connecting (a PostgreSQL connection is a new server process).
pub(crate) async fn open_connections(pool: &sqlx::PgPool, connections: u32) -> anyhow::Result<()> {
    let mut held = Vec::new();
    for _ in 0..connections {
        held.push(pool.acquire().await?);
    }
    Ok(())
}

/// Transactions and reads of each table, from the server's cumulative statistics.
async fn pg_counters(pg: &sqlx::PgPool) -> anyhow::Result<Vec<(String, i64)>> {
    // Backends report their counters when idle, within about 10 s.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let mut counters: Vec<(String, i64)> = sqlx::query_as(
        "SELECT 'transactions', (xact_commit + xact_rollback)::bigint
         FROM pg_stat_database WHERE datname = current_database()
         UNION ALL
         SELECT relname::text || ' reads', (coalesce(idx_scan, 0) + seq_scan)::bigint
         FROM pg_stat_user_tables
         UNION ALL
         SELECT relname::text || ' writes', (n_tup_ins + n_tup_upd + n_tup_del)::bigint
         FROM pg_stat_user_tables",
    )
    .fetch_all(pg)
    .await?;
    counters.sort();
    Ok(counters)
}

/// One request at a time: `tokens.len()` bookings that succeed in `open_slot`, then as many
/// refused in `full_slot`; prints what each costs the database per request.
async fn pg_probe(
    pg: &sqlx::PgPool,
    client: &reqwest::Client,
    url: &str,
    tokens: &[String],
    open_slot: SlotId,
    full_slot: SlotId,
) -> anyhow::Result<()> {
    let mut before = pg_counters(pg).await?;
    for (name, slot) in [("booked", open_slot), ("refused", full_slot)] {
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for (i, token) in tokens.iter().enumerate() {
            let status = client
                .post(format!("{url}/api/v1/reservations"))
                .bearer_auth(token)
                .header("idempotency-key", format!("probe-{name}-{i}"))
                .json(&serde_json::json!({"slot_id": slot.0}))
                .send()
                .await?
                .status()
                .as_u16();
            *statuses.entry(status).or_default() += 1;
        }
        let after = pg_counters(pg).await?;
        // The statistics queries themselves are one transaction each and read no table.
        let per_request: Vec<String> = after
            .iter()
            .filter_map(|(key, value)| {
                let old = before.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v);
                let delta = value - old - i64::from(key == "transactions");
                (delta > 0).then(|| format!("{key} {:.2}", delta as f64 / tokens.len() as f64))
            })
            .collect();
        println!(
            "PostgreSQL per request, {name} (statuses {statuses:?}): {}",
            per_request.join(", ")
        );
        before = after;
    }
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
            (status, ms, started.elapsed().as_secs_f64())
        }));
    }
    let mut run = Run {
        name: name.to_owned(),
        ok: 0,
        full: 0,
        other: 0,
        seconds: 0.0,
        latencies_ms: Vec::new(),
        confirmed_ms: Vec::new(),
        last_confirmed_s: 0.0,
    };
    for task in tasks {
        let (status, ms, done_s) = task.await?;
        match status {
            201 => {
                run.ok += 1;
                run.confirmed_ms.push(ms);
                run.last_confirmed_s = run.last_confirmed_s.max(done_s);
            }
            409 => run.full += 1,
            _ => run.other += 1,
        }
        run.latencies_ms.push(ms);
    }
    run.seconds = started.elapsed().as_secs_f64();
    Ok(run)
}

/// The ceiling: the same reservation transaction as the HTTP run, straight against the
/// database, `concurrency` at a time.
// Each argument is one knob of the run, mirroring the HTTP run's; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn direct_run(
    storage: &Arc<dyn Storage>,
    name: &str,
    key_prefix: &str,
    tenant: TenantId,
    slot: SlotId,
    limit: Option<madoguchi_storage::LimitCheck>,
    accounts: &[madoguchi_domain::AccountId],
    concurrency: usize,
) -> anyhow::Result<Run> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(accounts.len());
    for (i, account) in accounts.iter().enumerate() {
        let (storage, gate, account) = (storage.clone(), gate.clone(), *account);
        let key = format!("{key_prefix}-{i}");
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = Instant::now();
            let new = NewReservation {
                booked_by: None,
                remote_join: None,
                slot_id: slot,
                account_id: Some(account),
                idempotency_key: Some(key),
                hold_until: None,
                details: serde_json::json!({"answers": {}}),
                limit,
                fingerprint: None,
                notices: Vec::new(),
                reference: None,
            };
            let outcome = storage.reserve(tenant, &new, now_utc()).await;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            (outcome, ms, started.elapsed().as_secs_f64())
        }));
    }
    let mut run = Run {
        name: name.to_owned(),
        ok: 0,
        full: 0,
        other: 0,
        seconds: 0.0,
        latencies_ms: Vec::new(),
        confirmed_ms: Vec::new(),
        last_confirmed_s: 0.0,
    };
    for task in tasks {
        let (outcome, ms, done_s) = task.await?;
        match outcome {
            Ok(_) => {
                run.ok += 1;
                run.confirmed_ms.push(ms);
                run.last_confirmed_s = run.last_confirmed_s.max(done_s);
            }
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
        // As before the option existed: the month view was measured with 40.
        pg_pool: 40,
        ceiling_pools: Vec::new(),
        pg_stats: false,
        personal_limit: false,
    };
    let db = open(&rush).await?;
    let result = month_view_in(&args, db.storage.clone()).await;
    db.remove().await;
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
                rules: serde_json::from_value(rules)?,
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
                booked_by: None,
                remote_join: None,
                slot_id: slot,
                account_id: None,
                idempotency_key: None,
                hold_until: None,
                details: serde_json::json!({}),
                limit: None,
                fingerprint: None,
                notices: Vec::new(),
                reference: None,
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
        confirmed_ms: Vec::new(),
        last_confirmed_s: 0.0,
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
