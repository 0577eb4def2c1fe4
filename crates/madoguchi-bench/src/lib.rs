//! `madoguchi bench …`: benchmarks that print their figures with a ceiling measured in the same
//! run and end with one JSON line; results go to docs/benchmarks.md. Kept out of the binary's own
//! crate so the serving code and the measuring code stay apart; `madoguchi` links it.
//!
//! - `startup`: `madoguchi serve` as a child process on a new data directory, timed from spawn
//!   to the first `200` from `/readyz` (migrations and demo seeding included).
//! - `home`: home-page throughput measured with `wrk`, side by side with a bare axum "hello" on
//!   the same machine in the same run, as the ceiling.
//! - `pages`: Lighthouse accessibility scores and page weights of the resident pages.
//! - `webhooks`: signed payment webhooks with redeliveries over HTTP, their final states
//!   checked, against the bare signature check and event insert.
//! - `counter`: three-party rooms of headless WebRTC peers through the SFU, ramped until loss
//!   reaches 1%, against a bare UDP reflector carrying the same packets.

mod booking;
mod counter;
mod konbini;
mod lottery;
mod pages;
mod webhooks;

use anyhow::Context;
use clap::Subcommand;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Cold start of `serve` on a new data directory until /readyz answers 200.
    Startup {
        /// How many cold starts to time.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// N clients book the same session of capacity C over HTTP at once, then over 200 slots;
    /// the ceiling is the same reservation transaction without HTTP.
    BookingRush(booking::RushArgs),
    /// The month view of a service holding many reservations (default 100,000).
    MonthView(booking::MonthArgs),
    /// Lighthouse accessibility score and bytes of HTML/CSS/JS of each resident page (needs
    /// Node.js and Chromium), against the targets: 100 and 50 KB.
    Pages(pages::PagesArgs),
    /// A stream of signed payment webhooks (30% redeliveries, shuffled) over HTTP, the final
    /// states checked; the ceiling is the signature check and the event insert alone.
    Webhooks(webhooks::WebhookArgs),
    /// Three-party rooms of headless WebRTC peers (~500 kbit/s video each) through the SFU,
    /// added step by step until loss reaches 1%; the ceiling is a bare UDP reflector thread
    /// forwarding the same packets.
    Counter(counter::CounterArgs),
    /// A DSK payment-data file (a 速報 and a 確報 per issued slip, 1% cancellations, 1%
    /// barcodes never issued) imported through `slips import`'s use case; the ceiling is the
    /// bare CP932 decode and CSV parse of the same file.
    KonbiniImport(konbini::KonbiniArgs),
    /// The timed part of `konbini-import`, in a process of its own so that its peak RSS is
    /// the import's alone (started by `konbini-import`, not by hand).
    #[command(hide = true)]
    KonbiniImportChild(konbini::ChildArgs),
    /// The monthly facility lottery: 10,000 applications for 2,000 unit-slots filed, then the
    /// draw timed (inputs read, drawn, the record and every place stored) against the draw
    /// alone in memory, its record checked byte for byte; then 500 clients rushing one hall
    /// and its courts, every pair of bookings checked for overlap.
    Lottery(lottery::LotteryArgs),
    /// Home-page requests per second against a bare axum "hello" ceiling (needs `wrk`).
    Home {
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Startup { runs } => startup(runs).await,
        BenchCommand::Home {
            seconds,
            connections,
        } => home(seconds, connections).await,
        BenchCommand::BookingRush(args) => crate::booking::run(args).await,
        BenchCommand::KonbiniImport(args) => crate::konbini::run(args).await,
        BenchCommand::KonbiniImportChild(args) => crate::konbini::child(args).await,
        BenchCommand::Lottery(args) => crate::lottery::run(args).await,
        BenchCommand::MonthView(args) => crate::booking::month_view(args).await,
        BenchCommand::Pages(args) => crate::pages::run(args).await,
        BenchCommand::Webhooks(args) => crate::webhooks::run(args).await,
        BenchCommand::Counter(args) => crate::counter::run(args).await,
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn startup(runs: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let mut times_ms = Vec::new();
    for run in 1..=runs.max(1) {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&exe)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting madoguchi serve")?;
        let url = format!("http://127.0.0.1:{port}/readyz");
        let ready = loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status() == 200
            {
                break started.elapsed();
            }
            if started.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("serve was not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        child.kill().await.ok();
        let ms = ready.as_secs_f64() * 1000.0;
        println!("run {run}: ready in {ms:.0} ms");
        times_ms.push(ms);
    }
    times_ms.sort_by(f64::total_cmp);
    let median = times_ms[times_ms.len() / 2];
    println!("| runs | min ms | median ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| {} | {:.0} | {:.0} | {:.0} |",
        times_ms.len(),
        times_ms[0],
        median,
        times_ms[times_ms.len() - 1]
    );
    println!(
        "{}",
        serde_json::json!({"bench": "startup", "runs": times_ms.len(), "min_ms": times_ms[0], "median_ms": median, "max_ms": times_ms[times_ms.len() - 1]})
    );
    Ok(())
}

/// Runs wrk and returns requests per second and its latency line.
async fn wrk(url: &str, seconds: u64, connections: u32) -> anyhow::Result<(f64, String)> {
    let output = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("wrk printed no Requests/sec:\n{text}"))?;
    let p99 = text
        .lines()
        .find(|l| l.trim().starts_with("99%"))
        .unwrap_or("")
        .trim()
        .to_owned();
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    anyhow::ensure!(non_2xx.is_empty(), "errors during the run: {non_2xx}");
    Ok((rps, p99))
}

async fn home(seconds: u64, connections: u32) -> anyhow::Result<()> {
    // The app as `serve` runs it: SQLite in a new data directory with the demo city.
    let dir = tempfile::tempdir()?;
    let storage =
        madoguchi_storage_sqlite::SqliteStorage::open_file(&dir.path().join("madoguchi.sqlite3"))
            .await?;
    let storage: std::sync::Arc<dyn madoguchi_storage::Storage> = std::sync::Arc::new(storage);
    storage.migrate().await?;
    madoguchi_server::demo::seed_demo(
        &*storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?;
    // Two instances on the same database: as configured by default (signed-out home page from
    // the page cache) and rendering the page on every request.
    let app_url = start_app(storage.clone(), true).await?;
    let rendering_url = start_app(storage, false).await?;

    // The ceiling: the same axum and tokio, answering a constant.
    let hello_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hello_url = format!("http://{}", hello_listener.local_addr()?);
    let hello = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(hello_listener, hello).await });

    let page = reqwest::get(format!("{app_url}/")).await?;
    anyhow::ensure!(page.status() == 200, "home page answered {}", page.status());
    let bytes = page.bytes().await?.len();

    println!(
        "wrk -t2 -c{connections} -d{seconds}s, same machine, server and wrk sharing its cores"
    );
    let (hello_rps, hello_p99) = wrk(&format!("{hello_url}/"), seconds, connections).await?;
    // The same middleware stack with no page behind it: separates the stack's cost from the page's.
    let (stack_rps, stack_p99) = wrk(&format!("{app_url}/healthz"), seconds, connections).await?;
    let (rendered_rps, rendered_p99) =
        wrk(&format!("{rendering_url}/"), seconds, connections).await?;
    let (home_rps, home_p99) = wrk(&format!("{app_url}/"), seconds, connections).await?;
    let ratio = home_rps / hello_rps;
    let p99 = |line: &str| line.trim_start_matches("99%").trim().to_owned();
    println!("| target | requests/s | latency p99 | ratio to ceiling |");
    println!("|---|---|---|---|");
    println!(
        "| bare axum hello (ceiling) | {hello_rps:.0} | {} | 1.00 |",
        p99(&hello_p99)
    );
    println!(
        "| Madoguchi /healthz (full middleware, no page) | {stack_rps:.0} | {} | {:.2} |",
        p99(&stack_p99),
        stack_rps / hello_rps
    );
    println!(
        "| Madoguchi home page rendered per request ({bytes} bytes, SQLite) | {rendered_rps:.0} | {} | {:.2} |",
        p99(&rendered_p99),
        rendered_rps / hello_rps
    );
    println!(
        "| Madoguchi home page as served (page cache, the default) | {home_rps:.0} | {} | {ratio:.2} |",
        p99(&home_p99)
    );
    println!(
        "{}",
        serde_json::json!({"bench": "home", "hello_rps": hello_rps, "stack_rps": stack_rps, "rendered_rps": rendered_rps, "home_rps": home_rps, "ratio": ratio, "ratio_rendered": rendered_rps / hello_rps, "home_bytes": bytes})
    );
    Ok(())
}

/// Serves the app on a free loopback port; returns its URL.
async fn start_app(
    storage: std::sync::Arc<dyn madoguchi_storage::Storage>,
    page_cache: bool,
) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = madoguchi_server::ServerConfig::local(
        url.clone(),
        secrecy::SecretString::from(madoguchi_auth::one_time::new_token()),
    );
    config.anonymous_page_cache = page_cache;
    let state = madoguchi_server::AppState::new(storage, config, None)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    // The server runs until the benchmark process ends.
    std::mem::forget(stop);
    tokio::spawn(madoguchi_server::serve(listener, state, shutdown));
    Ok(url)
}
