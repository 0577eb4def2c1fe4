//! `madoguchi`: the command line of the Madoguchi front-yard platform.
//!
//! The binary is thin: it reads configuration, opens the database chosen by it, and hands over
//! to the server crate. `anyhow` is used here, at the edge, and nowhere below. The command line
//! is a library (`main`) so that the test suite can build the very same program as a binary of
//! its own (`madoguchi-under-test`) and kill it mid-rush.

mod config;
mod lottery;
mod slips;
mod storage;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Cli, Settings};
use madoguchi_mail::{Mailer, OutboxMailer, SmtpMailer};
use madoguchi_server::{AppState, ServerConfig};
use madoguchi_usecases::accounts::{Granted, RoleGrant, grant_role};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "madoguchi",
    version,
    about = "Madoguchi (窓口): reservations, remote counters, cashless payment and reconciliation for a municipality"
)]
struct Args {
    #[command(flatten)]
    cli: Cli,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (SQLite in the data directory unless a database URL is given).
    Serve {
        /// Address to listen on.
        #[arg(long)]
        addr: Option<String>,
        /// Do not seed the demo city into an empty database.
        #[arg(long)]
        no_demo: bool,
        /// Do not apply migrations at start (the schema must already match this binary).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Run a media node of the remote counter on its own: the SFU and its signalling, registered
    /// in the database so web nodes place rooms on it (the database must be migrated).
    Media {
        /// Address the signalling listens on, e.g. `0.0.0.0:9000`.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Apply database migrations (idempotent; refuses a database migrated by a newer version).
    Migrate,
    /// Seed the demo city (a no-op when it exists) and print its staff sign-ins.
    SeedDemo,
    /// Grant a staff member a role, e.g. to give a city an administrator again. Recorded in the
    /// city's audit log as done by the system (the operator).
    GrantRole {
        /// The city's tenant slug, e.g. `madoguchi-city`.
        #[arg(long)]
        tenant: String,
        /// The staff member's sign-in address.
        #[arg(long)]
        email: String,
        /// admin, hq_staff, branch_staff, facility_staff or finance.
        #[arg(long)]
        role: String,
        /// Office code, for branch and facility staff.
        #[arg(long)]
        office: Option<String>,
        /// Department code, for HQ staff.
        #[arg(long)]
        department: Option<String>,
    },
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(madoguchi_bench::BenchCommand),
    /// Convenience-store payment slips (コンビニ収納).
    #[command(subcommand)]
    Slips(slips::SlipsCommand),
    /// The facility lottery (施設の抽選): verify a published draw.
    #[command(subcommand)]
    Lottery(lottery::LotteryCommand),
}

/// Parses the command line and runs the command on a multi-threaded runtime.
pub fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve {
            addr,
            no_demo,
            no_migrate,
        } => {
            let settings = Settings::load(&args.cli, addr)?;
            config::init_tracing(&settings);
            serve(settings, !no_demo, !no_migrate).await
        }
        Command::Media { addr } => {
            let settings = Settings::load(&args.cli, addr)?;
            config::init_tracing(&settings);
            media(settings).await
        }
        Command::Migrate => {
            let settings = Settings::load(&args.cli, None)?;
            config::init_tracing(&settings);
            let storage = storage::open(&settings).await?;
            let report = storage.migrate().await?;
            if report.applied.is_empty() {
                println!(
                    "Database is up to date (schema version {}).",
                    report.current
                );
            } else {
                println!(
                    "Applied migrations {:?}; schema version is now {}.",
                    report.applied, report.current
                );
            }
            Ok(())
        }
        Command::SeedDemo => {
            let settings = Settings::load(&args.cli, None)?;
            config::init_tracing(&settings);
            let storage = storage::open(&settings).await?;
            storage
                .check_schema()
                .await
                .context("run `madoguchi migrate` first")?;
            let hasher = madoguchi_auth::PasswordHasher::recommended();
            let logins = madoguchi_server::demo::seed_demo(&*storage, &hasher).await?;
            let today = time::OffsetDateTime::now_utc()
                .to_offset(madoguchi_domain::tokyo::JST)
                .date();
            let slots = madoguchi_server::demo::seed_demo_services(&*storage, today, 60).await?;
            println!("Demo services: {slots} slots added for the next 60 days.");
            let receivables = madoguchi_server::demo::seed_demo_counter_day(&*storage).await?;
            let queues = madoguchi_server::demo::seed_demo_counter_queues(&*storage).await?;
            println!("Demo remote counter: {queues} queues added.");
            println!("Demo payments: {receivables} receivables assessed at the counters.");
            let payments = madoguchi_server::demo::seed_demo_payments(&*storage, &hasher).await?;
            let slips = madoguchi_server::demo::seed_demo_slips(&*storage, today).await?;
            println!("Demo water cycle: {slips} convenience-store slips issued.");
            println!(
                "Demo payments: {} fees added for the demo resident.",
                payments.receivables_added
            );
            report_demo_logins(&settings, &logins, payments.resident.as_ref())?;
            if logins.is_empty() {
                println!("The demo city already exists; nothing to do.");
            }
            Ok(())
        }
        Command::GrantRole {
            tenant,
            email,
            role,
            office,
            department,
        } => {
            let settings = Settings::load(&args.cli, None)?;
            config::init_tracing(&settings);
            let storage = storage::open(&settings).await?;
            storage
                .check_schema()
                .await
                .context("run `madoguchi migrate` first")?;
            let grant = RoleGrant {
                tenant_slug: tenant,
                email,
                role,
                office_code: office,
                department_code: department,
            };
            let clock = Arc::new(madoguchi_storage::SystemClock);
            match grant_role(&*storage, clock, &grant).await? {
                Granted::Added => {
                    println!("Granted {} (recorded in the audit log).", grant.role)
                }
                Granted::AlreadyHeld => {
                    println!(
                        "The staff member already holds {}; nothing changed.",
                        grant.role
                    )
                }
            }
            Ok(())
        }
        Command::Bench(command) => madoguchi_bench::run(command).await,
        Command::Slips(command) => slips::run(&args.cli, command).await,
        Command::Lottery(command) => lottery::run(command),
    }
}

fn report_demo_logins(
    settings: &Settings,
    logins: &[madoguchi_server::demo::DemoLogin],
    resident: Option<&madoguchi_server::demo::DemoResident>,
) -> anyhow::Result<()> {
    if logins.is_empty() && resident.is_none() {
        return Ok(());
    }
    let mut text = String::from(
        "Demo staff sign-ins (staff page: /staff/signin). Shown once; keep this file private.\n",
    );
    for login in logins {
        text.push_str(&format!(
            "{:<15} {:<40} {}\n",
            login.role.as_str(),
            login.email,
            login.password
        ));
    }
    if let Some(resident) = resident {
        text.push_str(&format!(
            "Demo resident sign-in (/signin), with fees to pay at /account/payments:\n{:<15} {:<40} {}\n",
            "resident", resident.email, resident.password
        ));
    }
    print!("{text}");
    std::fs::create_dir_all(&settings.data_dir)?;
    let path = settings.data_dir.join("demo-credentials.txt");
    config::write_private(&path, text.as_bytes())?;
    println!("(also written to {})", path.display());
    Ok(())
}

async fn serve(settings: Settings, seed_demo: bool, migrate: bool) -> anyhow::Result<()> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let storage = storage::open(&settings).await?;
    if migrate {
        let report = storage.migrate().await?;
        if !report.applied.is_empty() {
            tracing::info!(applied = ?report.applied, version = report.current, "migrated the database");
        }
    }
    storage.check_schema().await?;
    if seed_demo && storage.list_tenants().await?.is_empty() {
        let hasher = madoguchi_auth::PasswordHasher::recommended();
        let logins = madoguchi_server::demo::seed_demo(&*storage, &hasher).await?;
        let today = time::OffsetDateTime::now_utc()
            .to_offset(madoguchi_domain::tokyo::JST)
            .date();
        let slots = madoguchi_server::demo::seed_demo_services(&*storage, today, 60).await?;
        tracing::info!(slots, "seeded the demo services");
        let receivables = madoguchi_server::demo::seed_demo_counter_day(&*storage).await?;
        let queues = madoguchi_server::demo::seed_demo_counter_queues(&*storage).await?;
        tracing::info!(
            receivables,
            queues,
            "seeded the demo counter day and queues"
        );
        let payments = madoguchi_server::demo::seed_demo_payments(&*storage, &hasher).await?;
        tracing::info!(
            receivables = payments.receivables_added,
            "seeded the demo payments"
        );
        let slips = madoguchi_server::demo::seed_demo_slips(&*storage, today).await?;
        tracing::info!(
            slips,
            "seeded the demo water cycle's convenience-store slips"
        );
        report_demo_logins(&settings, &logins, payments.resident.as_ref())?;
    }

    let listener = TcpListener::bind(&settings.addr)
        .await
        .with_context(|| format!("binding {}", settings.addr))?;
    let local = listener.local_addr()?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let from = settings
        .mail_from
        .parse()
        .context("mail.from is not a valid mailbox")?;
    let (mailer, outbox_dir): (Arc<dyn Mailer>, _) = match &settings.smtp {
        Some(smtp) => (Arc::new(SmtpMailer::new(smtp, from)?), None),
        None => {
            let dir = settings.data_dir.join("outbox");
            (Arc::new(OutboxMailer::new(dir.clone(), from)), Some(dir))
        }
    };
    let api_token_secret = settings.api_token_secret()?;
    let mut config = ServerConfig::local(public_url.clone(), api_token_secret.clone());
    config.counter = settings.counter_config(&api_token_secret);
    config.default_tenant = settings.default_tenant.clone();
    config.outbox_dir = outbox_dir;
    config.trust_proxy_headers = settings.trust_proxy_headers;
    config.metrics_token = settings.metrics_token.clone();
    config.maintenance_interval_s = settings.maintenance_interval_s;
    config.payments = settings.payments_config();
    // Which cities take money through Stripe (their slugs; never a key).
    let stripe_cities: Vec<&String> = config.payments.stripe.keys().collect();
    tracing::info!(
        ?stripe_cities,
        sandbox = config.payments.sandbox,
        "payment gateways configured"
    );
    let state = AppState::new(storage, config, Some(metrics.clone()))?;
    let (stop, shutdown) = watch::channel(false);
    // The embedded default is also the city's one media node.
    let media_node = match settings.sfu_config()? {
        Some(sfu) => {
            let url = settings
                .counter
                .media_url
                .clone()
                .unwrap_or_else(|| public_url.clone());
            Some(start_media_node(&settings, &state, sfu, url, shutdown.clone()).await?)
        }
        None => None,
    };

    if let Some(addr) = &settings.metrics_addr {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        println!("Metrics at http://{}/metrics", listener.local_addr()?);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(error) =
                madoguchi_server::metrics_endpoint::serve(listener, metrics, shutdown).await
            {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let runner = madoguchi_server::app::spawn_job_runner(&state, mailer, shutdown.clone());
    madoguchi_server::app::spawn_maintenance(&state, shutdown.clone());
    madoguchi_server::app::spawn_media_metrics(&state, shutdown.clone());
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop.send(true);
    });
    println!("Madoguchi is running at {public_url}/  (Ctrl+C to stop)");
    madoguchi_server::serve(listener, state, shutdown).await?;
    runner.await.ok();
    if let Some(node) = media_node {
        node.await.ok();
    }
    Ok(())
}

/// `madoguchi media`: the SFU and its signalling, registered as a media node; no pages, no
/// jobs. Web nodes (with `counter.media = false`) place rooms on it and send participants here.
async fn media(settings: Settings) -> anyhow::Result<()> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let storage = storage::open(&settings).await?;
    storage
        .check_schema()
        .await
        .context("run `madoguchi migrate` first")?;
    let Some(sfu) = settings.sfu_config()? else {
        anyhow::bail!("counter.media is off: a media node runs the SFU; remove that setting");
    };
    let listener = TcpListener::bind(&settings.addr)
        .await
        .with_context(|| format!("binding {}", settings.addr))?;
    let local = listener.local_addr()?;
    let url = settings
        .counter
        .media_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let api_token_secret = settings.api_token_secret()?;
    let mut config = ServerConfig::local(url.clone(), api_token_secret.clone());
    config.counter = settings.counter_config(&api_token_secret);
    config.default_tenant = settings.default_tenant.clone();
    config.trust_proxy_headers = settings.trust_proxy_headers;
    config.metrics_token = settings.metrics_token.clone();
    let state = AppState::new(storage, config, Some(metrics))?;
    let (stop, shutdown) = watch::channel(false);
    let node = start_media_node(&settings, &state, sfu, url.clone(), shutdown.clone()).await?;
    madoguchi_server::app::spawn_media_metrics(&state, shutdown.clone());
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: retiring the media node");
        let _ = stop.send(true);
    });
    println!("Madoguchi media node is running at {url}/  (Ctrl+C to stop)");
    madoguchi_server::serve_media(listener, state, shutdown).await?;
    node.await.ok();
    Ok(())
}

/// Starts the SFU and registers this process as the media node browsers reach at `url`.
async fn start_media_node(
    settings: &Settings,
    state: &AppState,
    sfu: madoguchi_sfu::SfuConfig,
    url: String,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let handle = madoguchi_sfu::Sfu::start(sfu)
        .context("starting the remote counter's media server (counter.media_bind)")?;
    println!("Remote-counter media (UDP) at {}", handle.advertised_addr());
    madoguchi_server::media_node::start_media_node(
        state,
        handle,
        url,
        settings.counter.media_capacity,
        shutdown,
    )
    .await
    .context("registering this process as a media node")
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
