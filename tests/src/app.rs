//! The real application on port 0 with a fresh database, driven over HTTP like a client would.
//!
//! A test can also stop the app ([`TestApp::stop`]) and start another one on the same database
//! ([`TestApp::restart`]), as an operator restarting `madoguchi serve` would: the new app opens
//! its own connection pool and runs its own job runner.

use crate::db::{fresh_postgres, fresh_sqlite};
use crate::smtp::{self, MailSink};
use madoguchi_auth::PasswordHasher;
use madoguchi_domain::{Clock, Role};
use madoguchi_mail::{Mailer, OutboxMailer, SmtpConfig, SmtpMailer, SmtpSecurity};
use madoguchi_server::demo::{DemoLogin, seed_demo};
use madoguchi_server::{AppState, ServerConfig};
use madoguchi_storage::{Storage, Tenant};
use madoguchi_storage_postgres::PgStorage;
use madoguchi_storage_sqlite::SqliteStorage;
use secrecy::SecretString;
use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a stopping app gets to finish its requests and its job runner's current batch.
const STOP_TIMEOUT_S: u64 = 10;

/// Pool size of the pool a restarted app opens (the first app shares the test database's).
const RESTART_POOL_MAX_CONNECTIONS: u32 = 8;

/// Which database a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the app's mail goes.
#[derive(Clone)]
pub enum MailTo {
    /// The in-process SMTP listener.
    Smtp,
    /// An outbox directory (what `madoguchi serve` does by default).
    Outbox(PathBuf),
}

/// The app's own connection pool, for SQL a test runs as a fixture (what the program itself
/// never does, such as moving a job's `run_at`).
#[derive(Clone, Debug)]
pub enum RawPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The test database: every app started on it holds one, and the database is removed when
/// the last one is dropped (so it outlives an app that is restarted).
#[derive(Clone)]
struct SharedDb {
    backend: Backend,
    url: String,
    _guard: Arc<dyn Any + Send + Sync>,
}

impl SharedDb {
    /// A new connection pool on the database, as a newly started process would open.
    async fn connect(&self) -> anyhow::Result<(Arc<dyn Storage>, RawPool)> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let storage = SqliteStorage::open_url(&self.url).await?;
                let raw = RawPool::Sqlite(storage.pool().clone());
                (Arc::new(storage), raw)
            }
            Backend::Postgres => {
                let storage =
                    PgStorage::connect_with_max(&self.url, RESTART_POOL_MAX_CONNECTIONS).await?;
                let raw = RawPool::Postgres(storage.pool().clone());
                (Arc::new(storage), raw)
            }
        })
    }
}

/// The tasks of a running app, awaited by [`TestApp::stop`].
struct Running {
    server: JoinHandle<std::io::Result<()>>,
    runner: JoinHandle<()>,
}

pub struct TestApp {
    pub url: String,
    /// The running app's state, for calling its flows directly (the maintenance pass).
    pub state: AppState,
    pub storage: Arc<dyn Storage>,
    pub tenant: Tenant,
    pub logins: Vec<DemoLogin>,
    pub mail: MailSink,
    pub backend: Backend,
    raw: RawPool,
    mail_to: MailTo,
    stop: watch::Sender<bool>,
    running: Option<Running>,
    db: SharedDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl TestApp {
    /// The demo staff login of `role`.
    pub fn login(&self, role: Role) -> &DemoLogin {
        self.logins
            .iter()
            .find(|l| l.role == role)
            .unwrap_or_else(|| panic!("no demo login for {role:?}"))
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Makes this app the city's media node too, as `madoguchi serve` is by default: an SFU on
    /// loopback, registered with the app's URL, reporting until the app stops.
    pub async fn start_media(&self) -> anyhow::Result<()> {
        let sfu = madoguchi_sfu::Sfu::start(madoguchi_sfu::SfuConfig::new("127.0.0.1:0".parse()?))?;
        madoguchi_server::media_node::start_media_node(
            &self.state,
            sfu,
            self.url.clone(),
            300,
            self.stop.subscribe(),
        )
        .await?;
        Ok(())
    }

    /// The app's database, for a second process (a media node) to open.
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// The app's connection pool, for SQL fixtures. It stays usable after [`TestApp::stop`].
    pub fn raw_pool(&self) -> &RawPool {
        &self.raw
    }

    /// Stops the app as `madoguchi serve` stops on SIGTERM: the stop signal turns true, the
    /// server finishes its requests in flight and the job runner its current batch. Returns
    /// once both tasks have ended, so nothing of this app runs a job afterwards. Stopping a
    /// stopped app does nothing.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let Some(Running { server, runner }) = self.running.take() else {
            return Ok(());
        };
        let limit = Duration::from_secs(STOP_TIMEOUT_S);
        let served = tokio::time::timeout(limit, server).await.map_err(|_| {
            anyhow::anyhow!("the server did not stop within {STOP_TIMEOUT_S} s of the stop signal")
        })?;
        served??;
        tokio::time::timeout(limit, runner).await.map_err(|_| {
            anyhow::anyhow!(
                "the job runner did not stop within {STOP_TIMEOUT_S} s of the stop signal"
            )
        })??;
        Ok(())
    }

    /// Stops this app and starts a new one on the same database, with a new connection pool,
    /// a new job runner, a new port and a new SMTP listener (or the same outbox directory).
    /// The demo logins carry over; the configuration is the default one again (a `tweak` of
    /// the first start is not replayed).
    pub async fn restart(mut self) -> anyhow::Result<TestApp> {
        self.stop().await?;
        let (storage, raw) = self.db.connect().await?;
        let tenant = storage
            .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
            .await?;
        start(Started {
            db: self.db.clone(),
            storage,
            raw,
            tenant,
            logins: self.logins.clone(),
            mail: self.mail_to.clone(),
            tweak: Box::new(|_| {}),
            // The same clock: a test standing at a chosen instant stays there across a restart.
            clock: self.state.clock.clone(),
        })
        .await
    }
}

/// Options for [`spawn`].
pub struct Options {
    pub backend: Backend,
    pub mail: MailTo,
    pub tweak: Box<dyn FnOnce(&mut ServerConfig) + Send>,
    /// The clock the use cases read; the system clock unless a test stands at a chosen instant
    /// with a `ManualClock`.
    pub clock: Arc<dyn Clock>,
}

impl Options {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            mail: MailTo::Smtp,
            tweak: Box::new(|_| {}),
            clock: Arc::new(madoguchi_storage::SystemClock),
        }
    }
}

/// Starts the app; `None` when PostgreSQL was asked for but is not available and not required.
pub async fn spawn(options: Options) -> anyhow::Result<Option<TestApp>> {
    let (storage, raw, db): (Arc<dyn Storage>, RawPool, SharedDb) = match options.backend {
        Backend::Sqlite => {
            let db = fresh_sqlite().await?;
            let storage = db.storage().clone();
            let raw = RawPool::Sqlite(storage.pool().clone());
            let shared = SharedDb {
                backend: Backend::Sqlite,
                url: db.url().to_owned(),
                _guard: Arc::new(db),
            };
            (Arc::new(storage), raw, shared)
        }
        Backend::Postgres => match fresh_postgres().await? {
            Some(db) => {
                let storage = db.storage().clone();
                let raw = RawPool::Postgres(storage.pool().clone());
                let shared = SharedDb {
                    backend: Backend::Postgres,
                    url: db.url().to_owned(),
                    _guard: Arc::new(db),
                };
                (Arc::new(storage), raw, shared)
            }
            None => return Ok(None),
        },
    };
    // Cheap hashes: tests exercise the flow, not argon2's cost.
    let hasher = PasswordHasher::with_cost(1024, 1);
    let logins = seed_demo(&*storage, &hasher).await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;
    start(Started {
        db,
        storage,
        raw,
        tenant,
        logins,
        mail: options.mail,
        tweak: options.tweak,
        clock: options.clock,
    })
    .await
    .map(Some)
}

/// What [`start`] needs: a seeded database and where the mail goes.
struct Started {
    db: SharedDb,
    storage: Arc<dyn Storage>,
    raw: RawPool,
    tenant: Tenant,
    logins: Vec<DemoLogin>,
    mail: MailTo,
    tweak: Box<dyn FnOnce(&mut ServerConfig) + Send>,
    clock: Arc<dyn Clock>,
}

/// Serves the app on a free port with its job runner, both stopped by the app's stop signal.
async fn start(app: Started) -> anyhow::Result<TestApp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (smtp_port, sink) = smtp::start().await?;
    let from = "まどぐち市 <noreply@madoguchi-city.example>".parse()?;
    let (mailer, outbox_dir): (Arc<dyn Mailer>, Option<PathBuf>) = match &app.mail {
        MailTo::Smtp => {
            let config = SmtpConfig {
                host: "127.0.0.1".into(),
                port: smtp_port,
                security: SmtpSecurity::None,
                username: None,
                password: None,
            };
            (Arc::new(SmtpMailer::new(&config, from)?), None)
        }
        MailTo::Outbox(dir) => (
            Arc::new(OutboxMailer::new(dir.clone(), from)),
            Some(dir.clone()),
        ),
    };
    let mut config = ServerConfig::local(
        url.clone(),
        SecretString::from("test-secret-test-secret-test-secret".to_owned()),
    );
    config.argon2_memory_kib = 1024;
    config.argon2_passes = 1;
    config.outbox_dir = outbox_dir;
    (app.tweak)(&mut config);
    let state = AppState::with_clock(app.storage.clone(), config, None, app.clock)?;
    let (stop, shutdown) = watch::channel(false);
    let runner = madoguchi_server::app::spawn_job_runner(&state, mailer, shutdown.clone());
    let server = tokio::spawn(madoguchi_server::serve(listener, state.clone(), shutdown));
    Ok(TestApp {
        url,
        state,
        storage: app.storage,
        tenant: app.tenant,
        logins: app.logins,
        mail: sink,
        backend: app.db.backend,
        raw: app.raw,
        mail_to: app.mail,
        stop,
        running: Some(Running { server, runner }),
        db: app.db,
    })
}

/// Pulls the CSRF token out of a rendered form.
pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    html.find(marker)
        .map(|start| {
            let rest = &html[start + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

/// Runs `body` against a fresh app on each backend (PostgreSQL skipped only when not required).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() -> anyhow::Result<()> {
                let app = $crate::app::spawn($crate::app::Options::new($crate::app::Backend::Sqlite)).await?.expect("sqlite app");
                $body(app).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() -> anyhow::Result<()> {
                match $crate::app::spawn($crate::app::Options::new($crate::app::Backend::Postgres)).await? {
                    Some(app) => $body(app).await,
                    None => {
                        eprintln!("PostgreSQL not available; skipped (set MADOGUCHI_REQUIRE_POSTGRES=1 to fail instead)");
                        Ok(())
                    }
                }
            }
        }
    };
}
