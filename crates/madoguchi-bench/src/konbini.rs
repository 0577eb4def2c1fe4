//! `madoguchi bench konbini-import`: a DSK payment-data file generated for a city's issued
//! slips and imported through the same use case as `madoguchi slips import`.
//!
//! Setup (not timed): `--slips` water bills assessed and their slips issued as one batch. The
//! file: a 速報 for every slip, a 確報 for every slip, and in every hundred lines one 速報取消
//! (of a slip's 速報) and one line for a barcode the city never issued; it is written to a
//! temporary file in CP932 and read from disk, as the CLI does. Timed: the import (the checking
//! pass and the applying pass), run in a child process of its own (`konbini-import-child`) that
//! opens the database afresh, as `madoguchi slips import` would: its peak RSS (`VmHWM`) is the
//! import's alone, not the setup's leftovers. The ceiling, in the same run: the bare CP932
//! decode and CSV parse of the same file (the checking pass's reader alone, with no checks and
//! no database).

use crate::booking::open_db;
use madoguchi_domain::{ReceivableId, TenantId};
use madoguchi_konbini::dsk::{self, Chain, PaymentRecord, RecordKind};
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode, StampFlag};
use madoguchi_payments::{PaymentAmount, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{
    ActorKind, Agency, Cycle, KonbiniSettings, NewAuditEntry, NewReceivable, NewSlipBatch, Storage,
    now_utc,
};
use madoguchi_usecases::slip_imports::{self, FileSource};
use madoguchi_usecases::{Actor, Scope};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct KonbiniArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// About how many lines the file has: a 速報 and a 確報 for each of `lines × 50 / 101`
    /// slips issued before the import, and two more lines for every hundredth slip.
    #[arg(long, default_value_t = 1_000_000)]
    pub lines: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// PostgreSQL connections of the app's pool.
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
}

const COMPANY: &str = "912345";
/// Receivables assessed at once while the run is set up: many on PostgreSQL (commits wait for
/// the disk, so they are grouped), one on SQLite (one writer; more only queue on its lock).
fn setup_in_flight(backend: &str) -> usize {
    if backend == "postgres" { 32 } else { 1 }
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: now_utc(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

/// A line of the file: paid at `store`, one of four chains, at a time of day it gives.
fn record(
    kind: RecordKind,
    barcode: SlipBarcode,
    amount_yen: u32,
    store: usize,
) -> anyhow::Result<PaymentRecord> {
    let chain = Chain::parse(["010", "020", "030", "820"][store % 4])
        .ok_or_else(|| anyhow::anyhow!("a chain code"))?;
    Ok(PaymentRecord {
        kind,
        paid_on: time::macros::date!(2030 - 05 - 20),
        paid_at: time::Time::from_hms(
            u8::try_from(8 + store % 12).unwrap_or(8),
            u8::try_from(store % 60).unwrap_or(0),
            u8::try_from(store / 60 % 60).unwrap_or(0),
        )
        .unwrap_or(time::Time::MIDNIGHT),
        barcode,
        user_field_1: String::new(),
        user_field_2: "水道".to_owned(),
        stamp: StampFlag::None,
        amount_yen,
        chain,
        chain_name: "コンビニ".to_owned(),
        store_code: format!("{store:06}"),
        transfer_on: (kind == RecordKind::Kakuho).then_some(time::macros::date!(2030 - 05 - 27)),
        created_on: time::macros::date!(2030 - 05 - 21),
    })
}

/// The process's peak resident set in MiB (`VmHWM`), 0 where /proc is missing.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The child's arguments: where the set-up database is, the city, the file.
#[derive(clap::Args, Clone, Debug)]
pub struct ChildArgs {
    /// sqlite or postgres.
    #[arg(long)]
    pub backend: String,
    /// The SQLite file or the PostgreSQL URL.
    #[arg(long)]
    pub database: String,
    #[arg(long)]
    pub tenant: uuid::Uuid,
    #[arg(long)]
    pub file: std::path::PathBuf,
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
}

/// What the child measured: its last stdout line.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildReport {
    seconds: f64,
    peak_rss_mb: f64,
    applied: i64,
    exceptions: i64,
}

/// The timed import, in its own process; prints progress to stderr and a [`ChildReport`].
pub async fn child(args: ChildArgs) -> anyhow::Result<()> {
    let storage: Arc<dyn Storage> = match args.backend.as_str() {
        "sqlite" => Arc::new(
            madoguchi_storage_sqlite::SqliteStorage::open_file(std::path::Path::new(
                &args.database,
            ))
            .await?,
        ),
        "postgres" => Arc::new(
            madoguchi_storage_postgres::PgStorage::connect_with_max(&args.database, args.pg_pool)
                .await?,
        ),
        other => anyhow::bail!("--backend must be sqlite or postgres, not {other}"),
    };
    let scope = Scope::new(
        TenantId(args.tenant),
        Actor::Operator,
        Arc::new(madoguchi_storage::SystemClock),
    );
    let started = Instant::now();
    let mut shown = 0u64;
    let mut progress = |done: u64, total: u64| {
        // Every tenth of the file, so a long run shows it is moving.
        if total > 0 && done * 10 / total > shown {
            shown = done * 10 / total;
            eprintln!(
                "  {done} of {total} lines applied ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let report = slip_imports::import(
        &*storage,
        &scope,
        None,
        "dsk-sokuho-kakuho.csv",
        &FileSource(args.file.clone()),
        &mut progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("import failed: {e:?}"))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::to_string(&ChildReport {
            seconds,
            peak_rss_mb: peak_rss_mb(),
            applied: report.applied,
            exceptions: report.exceptions,
        })?
    );
    Ok(())
}

/// Runs the import in a child process (this same binary) and reads what it measured.
async fn import_in_child(
    args: &KonbiniArgs,
    database: &str,
    tenant: TenantId,
    file: &std::path::Path,
) -> anyhow::Result<ChildReport> {
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args(["bench", "konbini-import-child", "--backend", &args.backend])
        .arg("--database")
        .arg(database)
        .arg("--tenant")
        .arg(tenant.0.to_string())
        .arg("--file")
        .arg(file)
        .arg("--pg-pool")
        .arg(args.pg_pool.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?
        .wait_with_output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "the import's process failed ({})",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .last()
        .ok_or_else(|| anyhow::anyhow!("the import's process printed nothing"))?;
    Ok(serde_json::from_str(last)?)
}

async fn setup(
    storage: &Arc<dyn Storage>,
    slips: usize,
    in_flight: usize,
) -> anyhow::Result<(TenantId, Vec<(SlipBarcode, u32)>)> {
    let tenant = storage
        .create_tenant(&madoguchi_storage::NewTenant {
            slug: madoguchi_domain::TenantSlug::parse("bench-konbini")
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            name_ja: "ベンチ市".into(),
            name_en: "Bench City".into(),
            host: None,
        })
        .await?;
    let t = tenant.id;
    for c in RevenueCategory::standard() {
        storage.save_revenue_category(t, &c).await?;
    }
    let settings = KonbiniSettings {
        company_code: CompanyCode::parse(COMPANY).map_err(|e| anyhow::anyhow!("{e}"))?,
        agency: Agency::Dsk,
    };
    storage
        .save_konbini_settings(t, &settings, now_utc(), &audit("slips.configured"))
        .await?;
    let water = RevenueCategoryCode::parse("water_charge").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let semaphore = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tasks = Vec::with_capacity(slips);
    for n in 0..slips {
        let storage = storage.clone();
        let water = water.clone();
        let permit = semaphore.clone().acquire_owned().await?;
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            storage
                .create_receivable(
                    t,
                    &NewReceivable {
                        id: ReceivableId::new(),
                        category: water,
                        description: "上下水道料金".into(),
                        payer_account: None,
                        payer_name: format!("利用者 {n}"),
                        office: None,
                        fiscal_year: 2030,
                        due_on: time::macros::date!(2030 - 05 - 31),
                        amount: PaymentAmount::new(1_000 + i64::try_from(n % 9_000).unwrap_or(0))
                            .map_err(|e| {
                            madoguchi_storage::StorageError::Other(format!("{e:?}"))
                        })?,
                        source: None,
                        at: now_utc(),
                    },
                    &audit("receivable.assessed"),
                )
                .await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let batch = NewSlipBatch {
        id: uuid::Uuid::now_v7(),
        category: water,
        cycle: Cycle::parse("2030-05").ok_or_else(|| anyhow::anyhow!("cycle"))?,
        at: now_utc(),
    };
    let issued = storage
        .issue_slips(t, &batch, &audit("slips.issued"))
        .await?;
    let slips = issued
        .slips
        .iter()
        .map(|s| (s.barcode, u32::try_from(s.amount_yen).unwrap_or(0)))
        .collect();
    Ok((t, slips))
}

/// Writes the file; answers its path and its line count.
fn write_file(
    dir: &std::path::Path,
    slips: &[(SlipBarcode, u32)],
) -> anyhow::Result<(std::path::PathBuf, u64)> {
    let path = dir.join("dsk-sokuho-kakuho.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    out.write_all(&dsk::encode_header())?;
    let company = CompanyCode::parse(COMPANY).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut lines = 0u64;
    for (n, (barcode, amount)) in slips.iter().enumerate() {
        out.write_all(&dsk::encode_line(&record(
            RecordKind::Sokuho,
            *barcode,
            *amount,
            n,
        )?))?;
        lines += 1;
        if n % 100 == 0 {
            out.write_all(&dsk::encode_line(&record(
                RecordKind::SokuhoCancel,
                *barcode,
                *amount,
                n,
            )?))?;
            let unknown = SlipBarcode::issue(
                company,
                Reference::from_number(900_000_000 + n as u64),
                0,
                time::macros::date!(2030 - 05 - 31),
                500,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            out.write_all(&dsk::encode_line(&record(
                RecordKind::Sokuho,
                unknown,
                500,
                n,
            )?))?;
            lines += 2;
        }
    }
    for (n, (barcode, amount)) in slips.iter().enumerate() {
        out.write_all(&dsk::encode_line(&record(
            RecordKind::Kakuho,
            *barcode,
            *amount,
            n,
        )?))?;
        lines += 1;
    }
    out.flush()?;
    Ok((path, lines))
}

/// The ceiling: the bare CP932 decode and CSV parse of the file, nothing else.
fn ceiling(path: &std::path::Path) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let file = std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?);
    let mut lines = dsk::Lines::new(file);
    lines.header()?;
    let mut count = 0u64;
    for next in lines {
        next?;
        count += 1;
    }
    Ok((started.elapsed().as_secs_f64(), count))
}

pub async fn run(args: KonbiniArgs) -> anyhow::Result<()> {
    let slip_count = args.lines * 50 / 101;
    anyhow::ensure!(slip_count > 0, "--lines must be at least 3");
    let db = open_db(&args.backend, &args.postgres_admin_url, args.pg_pool).await?;
    let storage = db.storage.clone();
    storage.migrate().await?;
    eprintln!("setting up {slip_count} slips on {} …", args.backend);
    let setup_started = Instant::now();
    // PostgreSQL: the setup's own connections do not wait for the disk at each commit (what
    // it writes is the benchmark's fixture; the timed import runs with the server's defaults).
    let setup_storage: Arc<dyn Storage> = match &db.pg {
        Some((_, url)) => Arc::new(
            madoguchi_storage_postgres::PgStorage::connect_with_max(
                &format!(
                    "{url}{}options=-c%20synchronous_commit%3Doff",
                    if url.contains('?') { '&' } else { '?' }
                ),
                args.pg_pool.max(32),
            )
            .await?,
        ),
        None => storage.clone(),
    };
    let (t, slips) = setup(&setup_storage, slip_count, setup_in_flight(&args.backend)).await?;
    drop(setup_storage);
    let dir = tempfile::tempdir()?;
    let (path, lines) = write_file(dir.path(), &slips)?;
    let bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "set up in {:.1} s; the file: {lines} lines, {:.1} MB",
        setup_started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );

    let (ceiling_s, parsed) = ceiling(&path)?;
    anyhow::ensure!(
        parsed == lines,
        "the ceiling read {parsed} of {lines} lines"
    );

    let database = match (&db.sqlite_path, &db.pg) {
        (Some(path), _) => path.display().to_string(),
        (None, Some((_, url))) => url.clone(),
        (None, None) => anyhow::bail!("the benchmark database has no address"),
    };
    eprintln!("importing {lines} lines in a child process …");
    let child = import_in_child(&args, &database, t, &path).await?;
    let (seconds, peak, applied, exceptions) = (
        child.seconds,
        child.peak_rss_mb,
        child.applied,
        child.exceptions,
    );
    anyhow::ensure!(
        applied == i64::try_from(lines).unwrap_or(0),
        "applied {applied} of {lines}"
    );

    println!(
        "konbini-import on {}: {lines} lines ({slip_count} slips)",
        args.backend
    );
    println!(
        "  import:   {seconds:.2} s ({:.0} lines/s), {} exceptions, peak RSS {peak:.0} MB",
        lines as f64 / seconds,
        exceptions
    );
    println!(
        "  ceiling:  {ceiling_s:.2} s (CP932 decode + CSV parse alone, {:.0} lines/s)",
        lines as f64 / ceiling_s
    );
    println!("  ratio:    {:.1}× the ceiling", seconds / ceiling_s);
    println!(
        "{}",
        serde_json::json!({
            "backend": args.backend,
            "lines": lines,
            "seconds": (seconds * 100.0).round() / 100.0,
            "peak_rss_mb": peak.round(),
            "ceiling_seconds": (ceiling_s * 1000.0).round() / 1000.0,
            "applied": applied,
            "exceptions": exceptions,
        })
    );
    db.remove().await;
    Ok(())
}
