//! The real application on port 0 with a fresh database, driven over HTTP like a client would.

use crate::db::{fresh_postgres, fresh_sqlite};
use crate::smtp::{self, MailSink};
use madoguchi_auth::PasswordHasher;
use madoguchi_domain::Role;
use madoguchi_mail::{Mailer, OutboxMailer, SmtpConfig, SmtpMailer, SmtpSecurity};
use madoguchi_server::demo::{DemoLogin, seed_demo};
use madoguchi_server::{AppState, ServerConfig};
use madoguchi_storage::{Storage, Tenant};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Which database a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the app's mail goes.
pub enum MailTo {
    /// The in-process SMTP listener.
    Smtp,
    /// An outbox directory (what `madoguchi serve` does by default).
    Outbox(PathBuf),
}

pub struct TestApp {
    pub url: String,
    pub storage: Arc<dyn Storage>,
    pub tenant: Tenant,
    pub logins: Vec<DemoLogin>,
    pub mail: MailSink,
    pub backend: Backend,
    stop: watch::Sender<bool>,
    _db: Box<dyn std::any::Any + Send + Sync>,
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
}

/// Options for [`spawn`].
pub struct Options {
    pub backend: Backend,
    pub mail: MailTo,
    pub tweak: Box<dyn FnOnce(&mut ServerConfig) + Send>,
}

impl Options {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            mail: MailTo::Smtp,
            tweak: Box::new(|_| {}),
        }
    }
}

/// Starts the app; `None` when PostgreSQL was asked for but is not available and not required.
pub async fn spawn(options: Options) -> anyhow::Result<Option<TestApp>> {
    let (storage, db): (Arc<dyn Storage>, Box<dyn std::any::Any + Send + Sync>) =
        match options.backend {
            Backend::Sqlite => {
                let db = fresh_sqlite().await?;
                (Arc::new(db.storage().clone()), Box::new(db))
            }
            Backend::Postgres => match fresh_postgres().await? {
                Some(db) => (Arc::new(db.storage().clone()), Box::new(db)),
                None => return Ok(None),
            },
        };
    // Cheap hashes: tests exercise the flow, not argon2's cost.
    let hasher = PasswordHasher::with_cost(1024, 1);
    let logins = seed_demo(&*storage, &hasher).await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (smtp_port, sink) = smtp::start().await?;
    let from = "まどぐち市 <noreply@madoguchi-city.example>".parse()?;
    let (mailer, outbox_dir): (Arc<dyn Mailer>, Option<PathBuf>) = match options.mail {
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
        MailTo::Outbox(dir) => (Arc::new(OutboxMailer::new(dir.clone(), from)), Some(dir)),
    };
    let mut config = ServerConfig::local(
        url.clone(),
        SecretString::from("test-secret-test-secret-test-secret".to_owned()),
    );
    config.argon2_memory_kib = 1024;
    config.argon2_passes = 1;
    config.outbox_dir = outbox_dir;
    (options.tweak)(&mut config);
    let state = AppState::new(storage.clone(), config, None)?;
    let (stop, shutdown) = watch::channel(false);
    madoguchi_server::app::spawn_job_runner(&state, mailer, shutdown.clone());
    tokio::spawn(madoguchi_server::serve(listener, state, shutdown));
    Ok(Some(TestApp {
        url,
        storage,
        tenant,
        logins,
        mail: sink,
        backend: options.backend,
        stop,
        _db: db,
    }))
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
