//! Layered configuration: built-in defaults, then `madoguchi.toml`, then `MADOGUCHI_*`
//! environment variables (and the conventional `DATABASE_URL`), then command-line flags.
//! Secrets are `SecretString`s, which print as `[REDACTED]`.

use anyhow::Context;
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use madoguchi_mail::SmtpConfig;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Shortest `metrics_token` accepted.
const MIN_METRICS_TOKEN_CHARS: usize = 24;

/// Flags accepted by every command.
#[derive(Args, Clone, Debug)]
pub struct Cli {
    /// Configuration file (default: ./madoguchi.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database, the mail outbox and generated secrets.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… or sqlite:…; SQLite in the data directory when absent.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

/// Everything the binary needs, after all layers are applied.
/// Missing keys take the values of `Settings::default()` (`#[serde(default)]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub addr: String,
    pub data_dir: PathBuf,
    pub database_url: Option<SecretString>,
    /// The address residents use; links in mail start with it. Defaults to the listening address.
    pub public_url: Option<String>,
    pub default_tenant: String,
    /// Signs API tokens; generated into the data directory when absent (set it for several nodes).
    pub api_token_secret: Option<SecretString>,
    pub mail_from: String,
    /// SMTP relay; without it mail goes to the outbox in the data directory.
    pub smtp: Option<SmtpConfig>,
    /// `text` for people, `json` for log collectors.
    pub log_format: String,
    pub trust_proxy_headers: bool,
    /// Serve `/metrics` on this separate address (e.g. `127.0.0.1:9090`) without a token.
    pub metrics_addr: Option<String>,
    /// Bearer token that opens `/metrics` on the main address; without it the route is 404.
    pub metrics_token: Option<SecretString>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_url: None,
            default_tenant: madoguchi_server::demo::DEMO_TENANT_SLUG.into(),
            api_token_secret: None,
            mail_from: "まどぐち市 <noreply@madoguchi-city.example>".into(),
            smtp: None,
            log_format: "text".into(),
            trust_proxy_headers: false,
            metrics_addr: None,
            metrics_token: None,
        }
    }
}

impl Settings {
    pub fn load(cli: &Cli, addr: Option<String>) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        let file = cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("madoguchi.toml"));
        if cli.config.is_some() && !file.exists() {
            anyhow::bail!("configuration file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(&file));
        // `MADOGUCHI_SMTP__HOST` sets `smtp.host`: a double underscore separates levels.
        figment = figment.merge(Env::prefixed("MADOGUCHI_").split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        let mut settings: Settings = figment.extract().context("reading configuration")?;
        if let Some(dir) = &cli.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &cli.database_url {
            settings.database_url = Some(SecretString::from(url.clone()));
        }
        if let Some(addr) = addr {
            settings.addr = addr;
        }
        if let Some(url) = &settings.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("public_url must start with http:// or https://");
            }
            settings.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        if let Some(token) = &settings.metrics_token {
            use secrecy::ExposeSecret;
            // A short token could be guessed by anyone who can reach the public address.
            if token.expose_secret().len() < MIN_METRICS_TOKEN_CHARS {
                anyhow::bail!(
                    "metrics_token must be at least {MIN_METRICS_TOKEN_CHARS} characters long"
                );
            }
        }
        Ok(settings)
    }

    /// The configured API token secret, or one generated once and kept in the data directory.
    pub fn api_token_secret(&self) -> anyhow::Result<SecretString> {
        if let Some(secret) = &self.api_token_secret {
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("api-token.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return Ok(SecretString::from(existing.trim().to_owned()));
        }
        let secret = format!(
            "{}{}",
            madoguchi_auth::one_time::new_token(),
            madoguchi_auth::one_time::new_token()
        );
        std::fs::create_dir_all(&self.data_dir)?;
        write_private(&path, secret.as_bytes())?;
        Ok(SecretString::from(secret))
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(contents)?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents)?;
        Ok(())
    }
}

pub fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_sessions=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
