//! `madoguchi bench konbini-import`: a DSK payment-data file generated for a city's issued
//! slips and imported through the same use case as `madoguchi slips import`.
//!
//! Setup (not timed): `--slips` water bills assessed and their slips issued as one batch. The
//! file: a 速報 for every slip, a 確報 for every slip, and in every hundred lines one 速報取消
//! (of a slip's 速報) and one line for a barcode the city never issued; it is written to a
//! temporary file in CP932 and read from disk, as the CLI does. Timed: the import (the checking
//! pass and the applying pass). The ceiling, in the same run: the bare CP932 decode and CSV
//! parse of the same file (the checking pass's reader alone, with no checks and no database).
//! Peak RSS is the process's high-water mark, reset (`/proc/self/clear_refs`) before the
//! import.

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
    /// Slips issued before the import; the file has about two lines per slip.
    #[arg(long, default_value_t = 20_000)]
    pub slips: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// PostgreSQL connections of the app's pool.
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
}

const COMPANY: &str = "912345";
/// Receivables assessed at once while the run is set up.
const SETUP_IN_FLIGHT: usize = 16;

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

/// Resets the peak resident set to the current one, so the import's own peak is measured.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}

async fn setup(
    storage: &Arc<dyn Storage>,
    slips: usize,
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
    let semaphore = Arc::new(tokio::sync::Semaphore::new(SETUP_IN_FLIGHT));
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
    anyhow::ensure!(args.slips > 0, "--slips must be at least 1");
    let db = open_db(&args.backend, &args.postgres_admin_url, args.pg_pool).await?;
    let storage = db.storage.clone();
    storage.migrate().await?;
    eprintln!("setting up {} slips on {} …", args.slips, args.backend);
    let setup_started = Instant::now();
    let (t, slips) = setup(&storage, args.slips).await?;
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

    let scope = Scope::new(t, Actor::Operator, Arc::new(madoguchi_storage::SystemClock));
    reset_peak_rss();
    let started = Instant::now();
    let mut progress = |_: u64, _: u64| {};
    let report = slip_imports::import(
        &*storage,
        &scope,
        None,
        "dsk-sokuho-kakuho.csv",
        &FileSource(path.clone()),
        &mut progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("import failed: {e:?}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    anyhow::ensure!(
        report.applied == i64::try_from(lines).unwrap_or(0),
        "applied {} of {lines}",
        report.applied
    );

    println!(
        "konbini-import on {}: {lines} lines ({} slips)",
        args.backend, args.slips
    );
    println!(
        "  import:   {seconds:.2} s ({:.0} lines/s), {} exceptions, peak RSS {peak:.0} MB",
        lines as f64 / seconds,
        report.exceptions
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
            "applied": report.applied,
            "exceptions": report.exceptions,
        })
    );
    db.remove().await;
    Ok(())
}
