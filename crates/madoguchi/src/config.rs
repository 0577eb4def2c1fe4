//! Layered configuration: built-in defaults, then `madoguchi.toml`, then `MADOGUCHI_*`
//! environment variables (and the conventional `DATABASE_URL`), then command-line flags.
//! Secrets are `SecretString`s, which print as `[REDACTED]`.

use anyhow::Context;
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use madoguchi_mail::SmtpConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// Seconds between two housekeeping passes (holds, waiting lists, sessions, payments whose
    /// outcome is unknown).
    pub maintenance_interval_s: u64,
    /// The default city's Stripe account (`MADOGUCHI_STRIPE__SECRET_KEY`, …).
    pub stripe: Option<StripeSettings>,
    /// Settings of other cities by slug: `[cities.<slug>.stripe]`.
    pub cities: BTreeMap<String, CitySettings>,
    pub payments: PaymentsSettings,
    pub counter: CounterSettings,
}

/// The remote counter's media and signalling (`[counter]`, `MADOGUCHI_COUNTER__…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterSettings {
    /// Run the SFU in this process (the embedded default). Off on web nodes of a scaled-out
    /// city whose media runs on `madoguchi media` nodes.
    pub media: bool,
    /// The SFU's one UDP socket for every participant's media; port 0 picks a free one.
    pub media_bind: String,
    /// The address participants send media to, when `media_bind` is a wildcard or behind NAT.
    pub media_public_ip: Option<std::net::IpAddr>,
    /// Signs join grants; derived from the API token secret when absent.
    pub grant_secret: Option<SecretString>,
    /// TURN relays (coturn with `use-auth-secret`), e.g. `turn:turn.example.jp:3478`.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret`; needed with `turn_urls`.
    pub turn_secret: Option<SecretString>,
    /// Participants this node's SFU takes before new rooms go to other nodes.
    pub media_capacity: u32,
    /// Where browsers reach this node's signalling (`https://media1.example.jp`); the public
    /// URL for `serve`, the listening address for `madoguchi media`, when absent.
    pub media_url: Option<String>,
    /// A media node silent this long is lost and its rooms move (it reports every 2 s).
    pub node_lost_after_s: u64,
}

impl Default for CounterSettings {
    fn default() -> Self {
        Self {
            media: true,
            media_bind: "127.0.0.1:0".into(),
            media_public_ip: None,
            grant_secret: None,
            turn_urls: Vec::new(),
            turn_secret: None,
            media_capacity: 240,
            media_url: None,
            node_lost_after_s: 10,
        }
    }
}

/// One city's Stripe account. Both secrets are needed together; neither is ever printed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeSettings {
    pub secret_key: Option<SecretString>,
    /// Signs the webhooks Stripe sends to `/hooks/stripe/<slug>`.
    pub webhook_secret: Option<SecretString>,
    /// Another API base than Stripe's own (a Stripe-compatible test server).
    pub api_base: Option<String>,
}

/// What one city (other than the default one) sets for itself.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CitySettings {
    pub stripe: Option<StripeSettings>,
}

/// The built-in sandbox gateway and the recovery of payments.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsSettings {
    /// Offer the sandbox to cities without Stripe keys (switch it off to take real money only).
    pub sandbox: bool,
    /// Signs the sandbox's webhooks; a random secret per start when absent. Set it when several
    /// nodes serve one database, so each accepts the others' deliveries.
    pub sandbox_webhook_secret: Option<SecretString>,
    /// Where the sandbox delivers its webhooks, when this node cannot reach its `public_url`.
    pub sandbox_webhook_base: Option<String>,
    /// A payment in flight untouched this many seconds is asked about at its provider.
    pub recovery_quiet_s: i64,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        Self {
            sandbox: true,
            sandbox_webhook_secret: None,
            sandbox_webhook_base: None,
            recovery_quiet_s: madoguchi_usecases::payments::recovery::QUIET_FOR.whole_seconds(),
        }
    }
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
            maintenance_interval_s: 30,
            stripe: None,
            cities: BTreeMap::new(),
            payments: PaymentsSettings::default(),
            counter: CounterSettings::default(),
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
        Self::from_figment(figment, cli, addr)
    }

    /// The settings of `figment`'s layers, then the command line's flags, checked.
    fn from_figment(figment: Figment, cli: &Cli, addr: Option<String>) -> anyhow::Result<Self> {
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
            // A short token could be guessed by anyone who can reach the public address.
            if token.expose_secret().len() < MIN_METRICS_TOKEN_CHARS {
                anyhow::bail!(
                    "metrics_token must be at least {MIN_METRICS_TOKEN_CHARS} characters long"
                );
            }
        }
        settings.check_payments()?;
        settings.check_counter()?;
        Ok(settings)
    }

    /// TURN relays need their shared secret (clients would be handed credentials coturn
    /// refuses), and the media socket's address must parse.
    fn check_counter(&self) -> anyhow::Result<()> {
        let counter = &self.counter;
        if !counter.turn_urls.is_empty() && counter.turn_secret.is_none() {
            anyhow::bail!(
                "counter.turn_urls is set without counter.turn_secret (coturn's static-auth-secret)"
            );
        }
        if let Some(url) = counter.turn_urls.iter().find(|u| {
            !(u.starts_with("turn:") || u.starts_with("turns:") || u.starts_with("stun:"))
        }) {
            anyhow::bail!("counter.turn_urls: {url:?} is not a turn:, turns: or stun: URL");
        }
        if counter.media_capacity == 0 {
            anyhow::bail!("counter.media_capacity must be at least 1 (participants)");
        }
        if !(4..=600).contains(&counter.node_lost_after_s) {
            anyhow::bail!(
                "counter.node_lost_after_s must be 4 to 600 seconds (nodes report every 2 s)"
            );
        }
        if let Some(url) = &counter.media_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("counter.media_url {url:?} is not an http:// or https:// URL");
        }
        counter
            .media_bind
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "counter.media_bind {:?} is not an address:port",
                    counter.media_bind
                )
            })?;
        Ok(())
    }

    /// The server's remote-counter settings: the grant secret (set, or derived from the API
    /// token secret) and the TURN relays.
    pub fn counter_config(
        &self,
        api_token_secret: &SecretString,
    ) -> madoguchi_server::CounterConfig {
        let mut config = madoguchi_server::CounterConfig::derived_from(api_token_secret);
        if let Some(secret) = &self.counter.grant_secret {
            config.grant_secret = secret.clone();
        }
        if let Some(secret) = &self.counter.turn_secret
            && !self.counter.turn_urls.is_empty()
        {
            config.turn = Some(madoguchi_server::TurnConfig {
                urls: self.counter.turn_urls.clone(),
                secret: secret.clone(),
            });
        }
        config.placement.lost_after =
            time::Duration::seconds(i64::try_from(self.counter.node_lost_after_s).unwrap_or(10));
        config
    }

    /// The SFU's settings, when this process runs one.
    pub fn sfu_config(&self) -> anyhow::Result<Option<madoguchi_sfu::SfuConfig>> {
        if !self.counter.media {
            return Ok(None);
        }
        let bind = self.counter.media_bind.parse()?;
        let mut config = madoguchi_sfu::SfuConfig::new(bind);
        config.public_ip = self.counter.media_public_ip;
        Ok(Some(config))
    }

    /// Refuses payment settings that would fail later, naming the setting: a Stripe key
    /// without its webhook secret (or the reverse) would take money it could never confirm.
    fn check_payments(&mut self) -> anyhow::Result<()> {
        if let Some(stripe) = &mut self.stripe {
            check_stripe(stripe, "stripe", "MADOGUCHI_STRIPE__")?;
        }
        for (slug, city) in &mut self.cities {
            if let Some(stripe) = &mut city.stripe {
                check_stripe(stripe, &format!("cities.{slug}.stripe"), "")?;
            }
        }
        if self.stripe.as_ref().is_some_and(StripeSettings::is_set)
            && self
                .cities
                .get(&self.default_tenant)
                .and_then(|city| city.stripe.as_ref())
                .is_some_and(StripeSettings::is_set)
        {
            anyhow::bail!(
                "the default city's Stripe account is set twice: in [stripe] and in [cities.{}.stripe]; keep one",
                self.default_tenant
            );
        }
        let payments = &mut self.payments;
        if payments
            .sandbox_webhook_secret
            .as_ref()
            .is_some_and(|secret| secret.expose_secret().trim().is_empty())
        {
            anyhow::bail!("payments.sandbox_webhook_secret is empty");
        }
        if let Some(base) = &payments.sandbox_webhook_base {
            payments.sandbox_webhook_base = Some(http_base("payments.sandbox_webhook_base", base)?);
        }
        if payments.recovery_quiet_s < 0 {
            anyhow::bail!("payments.recovery_quiet_s must not be negative");
        }
        if self.maintenance_interval_s == 0 {
            anyhow::bail!("maintenance_interval_s must be at least 1");
        }
        Ok(())
    }

    /// The Stripe account of each city, by slug: the default city's from `[stripe]`, the
    /// others' from `[cities.<slug>.stripe]`. Only complete accounts (checked at load).
    pub fn stripe_accounts(&self) -> BTreeMap<String, madoguchi_server::StripeCityConfig> {
        let default = self
            .stripe
            .as_ref()
            .map(|stripe| (self.default_tenant.clone(), stripe));
        let others = self
            .cities
            .iter()
            .filter_map(|(slug, city)| city.stripe.as_ref().map(|stripe| (slug.clone(), stripe)));
        default
            .into_iter()
            .chain(others)
            .filter_map(|(slug, stripe)| {
                let secret_key = stripe.secret_key.clone()?;
                let webhook_secret = stripe.webhook_secret.clone()?;
                Some((
                    slug,
                    madoguchi_server::StripeCityConfig {
                        secret_key,
                        webhook_secret,
                        api_base: stripe.api_base.clone(),
                    },
                ))
            })
            .collect()
    }

    /// The server's payment settings: Stripe for the cities with an account, the sandbox
    /// (unless switched off) for the others.
    pub fn payments_config(&self) -> madoguchi_server::PaymentsConfig {
        let mut config = madoguchi_server::PaymentsConfig::sandbox_only();
        config.stripe = self.stripe_accounts();
        config.sandbox = self.payments.sandbox;
        if let Some(secret) = &self.payments.sandbox_webhook_secret {
            config.sandbox_webhook_secret = secret.clone();
        }
        config.sandbox_webhook_base = self.payments.sandbox_webhook_base.clone();
        config.recovery_quiet_s = self.payments.recovery_quiet_s;
        config
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

impl StripeSettings {
    /// Whether any of the account's settings is given.
    fn is_set(&self) -> bool {
        self.secret_key.is_some() || self.webhook_secret.is_some() || self.api_base.is_some()
    }
}

/// Checks one Stripe account named `name` (`stripe`, `cities.<slug>.stripe`); `env` is the
/// prefix of its environment variables, when it has them.
fn check_stripe(stripe: &mut StripeSettings, name: &str, env: &str) -> anyhow::Result<()> {
    let given = |secret: &Option<SecretString>| {
        secret
            .as_ref()
            .is_some_and(|s| !s.expose_secret().trim().is_empty())
    };
    let hint = |key: &str| {
        if env.is_empty() {
            String::new()
        } else {
            format!(" (or {env}{})", key.to_uppercase())
        }
    };
    match (given(&stripe.secret_key), given(&stripe.webhook_secret)) {
        (true, true) => {}
        (true, false) => anyhow::bail!(
            "{name}.webhook_secret is missing: set it{} to the signing secret of the Stripe webhook endpoint, or remove {name}.secret_key",
            hint("webhook_secret")
        ),
        (false, true) => anyhow::bail!(
            "{name}.secret_key is missing: set it{} to the city's Stripe secret key, or remove {name}.webhook_secret",
            hint("secret_key")
        ),
        (false, false) if stripe.is_set() => anyhow::bail!(
            "{name}.secret_key and {name}.webhook_secret are missing or empty{}",
            hint("secret_key")
        ),
        (false, false) => {}
    }
    if let Some(base) = &stripe.api_base {
        stripe.api_base = Some(http_base(&format!("{name}.api_base"), base)?);
    }
    Ok(())
}

/// An `http(s)://` base address without its trailing slash.
fn http_base(name: &str, raw: &str) -> anyhow::Result<String> {
    let trimmed = raw.trim();
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        anyhow::bail!("{name} must start with http:// or https://");
    }
    Ok(trimmed.trim_end_matches('/').to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    fn no_flags() -> Cli {
        Cli {
            config: None,
            data_dir: None,
            database_url: None,
        }
    }

    fn from_toml(toml: &str) -> anyhow::Result<Settings> {
        Settings::from_figment(Figment::new().merge(Toml::string(toml)), &no_flags(), None)
    }

    /// Runs `body` with `vars` set as environment variables (figment's jail serialises the
    /// tests that touch the environment and restores it afterwards). The closure's error type
    /// is figment's own, large as it is.
    #[allow(clippy::result_large_err)]
    fn with_env(vars: &[(&str, &str)], body: impl FnOnce() -> anyhow::Result<()>) {
        Jail::expect_with(|jail| {
            for (name, value) in vars {
                jail.set_env(name, value);
            }
            body().map_err(|e| figment::Error::from(format!("{e:#}")))
        });
    }

    #[test]
    fn the_default_citys_stripe_account_comes_from_the_environment() {
        with_env(
            &[
                ("MADOGUCHI_STRIPE__SECRET_KEY", "sk_test_from_env_0001"),
                ("MADOGUCHI_STRIPE__WEBHOOK_SECRET", "whsec_from_env_0002"),
                ("MADOGUCHI_STRIPE__API_BASE", "http://127.0.0.1:12111/"),
            ],
            || {
                let settings = Settings::load(&no_flags(), None)?;
                let accounts = settings.stripe_accounts();
                let account = accounts
                    .get(madoguchi_server::demo::DEMO_TENANT_SLUG)
                    .context("the default city has an account")?;
                assert_eq!(account.secret_key.expose_secret(), "sk_test_from_env_0001");
                assert_eq!(
                    account.webhook_secret.expose_secret(),
                    "whsec_from_env_0002"
                );
                assert_eq!(account.api_base.as_deref(), Some("http://127.0.0.1:12111"));
                assert_eq!(accounts.len(), 1);
                Ok(())
            },
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        with_env(
            &[("MADOGUCHI_STRIPE__WEBHOOK_SECRET", "whsec_from_env")],
            || {
                std::fs::write(
                    "madoguchi.toml",
                    "[stripe]\nsecret_key = \"sk_test_file\"\nwebhook_secret = \"whsec_from_file\"\n",
                )?;
                let settings = Settings::load(&no_flags(), None)?;
                let accounts = settings.stripe_accounts();
                let account = accounts
                    .values()
                    .next()
                    .context("the default city has an account")?;
                assert_eq!(account.secret_key.expose_secret(), "sk_test_file");
                assert_eq!(account.webhook_secret.expose_secret(), "whsec_from_env");
                Ok(())
            },
        );
    }

    #[test]
    fn other_cities_have_their_own_stripe_tables() -> anyhow::Result<()> {
        let settings = from_toml(
            r#"
            default_tenant = "madoguchi-city"
            [stripe]
            secret_key = "sk_test_default"
            webhook_secret = "whsec_default"
            [cities.kita-town.stripe]
            secret_key = "sk_test_kita"
            webhook_secret = "whsec_kita"
            api_base = "https://stripe.example"
            "#,
        )?;
        let accounts = settings.stripe_accounts();
        assert_eq!(
            accounts.keys().map(String::as_str).collect::<Vec<_>>(),
            ["kita-town", "madoguchi-city"]
        );
        assert_eq!(
            accounts["kita-town"].webhook_secret.expose_secret(),
            "whsec_kita"
        );
        assert_eq!(
            accounts["kita-town"].api_base.as_deref(),
            Some("https://stripe.example")
        );
        assert_eq!(accounts["madoguchi-city"].api_base, None);
        Ok(())
    }

    #[test]
    fn a_secret_key_without_its_webhook_secret_is_refused_by_name() {
        with_env(&[("MADOGUCHI_STRIPE__SECRET_KEY", "sk_test_alone")], || {
            let error = Settings::load(&no_flags(), None)
                .err()
                .context("refused")?
                .to_string();
            assert!(error.contains("stripe.webhook_secret"), "{error}");
            assert!(
                error.contains("MADOGUCHI_STRIPE__WEBHOOK_SECRET"),
                "{error}"
            );
            assert!(!error.contains("sk_test_alone"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_webhook_secret_without_its_key_is_refused_by_name() -> anyhow::Result<()> {
        let error = from_toml("[stripe]\nwebhook_secret = \"whsec_alone\"\n")
            .err()
            .context("refused")?
            .to_string();
        assert!(error.contains("stripe.secret_key"), "{error}");
        assert!(!error.contains("whsec_alone"), "{error}");

        let error = from_toml("[cities.kita-town.stripe]\nsecret_key = \"sk_test_kita\"\n")
            .err()
            .context("refused")?
            .to_string();
        assert!(
            error.contains("cities.kita-town.stripe.webhook_secret"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn an_empty_secret_counts_as_missing() -> anyhow::Result<()> {
        let error = from_toml("[stripe]\nsecret_key = \"sk_test_x\"\nwebhook_secret = \" \"\n")
            .err()
            .context("refused")?
            .to_string();
        assert!(error.contains("stripe.webhook_secret"), "{error}");
        Ok(())
    }

    #[test]
    fn a_misspelt_stripe_setting_is_refused() {
        let refused = from_toml(
            "[stripe]\nsecret_key = \"sk_test_x\"\nwebhook_secret = \"whsec_x\"\nwebhok_secret = \"x\"\n",
        );
        assert!(refused.is_err());
    }

    #[test]
    fn the_default_city_cannot_be_configured_twice() -> anyhow::Result<()> {
        let error = from_toml(
            r#"
            [stripe]
            secret_key = "sk_test_a"
            webhook_secret = "whsec_a"
            [cities.madoguchi-city.stripe]
            secret_key = "sk_test_b"
            webhook_secret = "whsec_b"
            "#,
        )
        .err()
        .context("refused")?
        .to_string();
        assert!(error.contains("cities.madoguchi-city.stripe"), "{error}");
        Ok(())
    }

    #[test]
    fn an_api_base_must_be_an_http_address() -> anyhow::Result<()> {
        let error = from_toml(
            "[stripe]\nsecret_key = \"sk_test_x\"\nwebhook_secret = \"whsec_x\"\napi_base = \"stripe.example\"\n",
        )
        .err()
        .context("refused")?
        .to_string();
        assert!(error.contains("stripe.api_base"), "{error}");
        Ok(())
    }

    #[test]
    fn the_sandbox_is_on_by_default_and_can_be_switched_off() -> anyhow::Result<()> {
        let default = from_toml("")?.payments_config();
        assert!(default.sandbox);
        assert!(default.stripe.is_empty());
        assert_eq!(default.sandbox_webhook_base, None);
        assert_eq!(default.recovery_quiet_s, 120);

        let settings = from_toml(
            r#"
            maintenance_interval_s = 5
            [payments]
            sandbox = false
            sandbox_webhook_secret = "whsec_sandbox_shared"
            sandbox_webhook_base = "http://127.0.0.1:8080/"
            recovery_quiet_s = 10
            "#,
        )?;
        let config = settings.payments_config();
        assert!(!config.sandbox);
        assert_eq!(
            config.sandbox_webhook_secret.expose_secret(),
            "whsec_sandbox_shared"
        );
        assert_eq!(
            config.sandbox_webhook_base.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(config.recovery_quiet_s, 10);
        assert_eq!(settings.maintenance_interval_s, 5);
        Ok(())
    }

    #[test]
    fn no_secret_appears_in_the_debug_output() -> anyhow::Result<()> {
        let settings = from_toml(
            r#"
            [stripe]
            secret_key = "sk_test_SECRET_default"
            webhook_secret = "whsec_SECRET_default"
            [cities.kita-town.stripe]
            secret_key = "sk_test_SECRET_kita"
            webhook_secret = "whsec_SECRET_kita"
            [payments]
            sandbox_webhook_secret = "whsec_SECRET_sandbox"
            "#,
        )?;
        let printed = format!(
            "{settings:?} {:?} {:#?}",
            settings.payments_config(),
            settings.stripe_accounts()
        );
        assert!(!printed.contains("SECRET"), "{printed}");
        assert!(printed.contains("kita-town"), "the settings are printed");
        Ok(())
    }
}
