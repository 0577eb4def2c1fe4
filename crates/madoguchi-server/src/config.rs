//! Settings the server needs at run time, already validated. The binary builds this from
//! `madoguchi.toml` and `MADOGUCHI_*` variables; tests build it directly.

use madoguchi_storage::LockoutPolicy;
use secrecy::SecretString;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address residents use, e.g. `https://yoyaku.example-city.lg.jp`; links in mail start with it.
    pub public_url: String,
    /// The tenant served when the request's host names none.
    pub default_tenant: String,
    /// Signs API bearer tokens. Redacted in `Debug`.
    pub api_token_secret: SecretString,
    pub api_token_ttl_s: i64,
    /// Browser sessions end after this much inactivity.
    pub session_idle_s: i64,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    pub lockout: LockoutPolicy,
    /// Sign-in attempts per client address per minute, across all accounts.
    pub sign_in_per_ip_per_minute: i64,
    /// Sign-ups per client address per hour.
    pub sign_up_per_ip_per_hour: i64,
    pub verification_ttl_s: i64,
    pub reset_ttl_s: i64,
    /// argon2id memory cost (KiB) and passes; lowered only by tests.
    pub argon2_memory_kib: u32,
    pub argon2_passes: u32,
    /// Where the outbox transport writes mail, when it is the transport; shown in admin pages.
    pub outbox_dir: Option<PathBuf>,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy in front.
    pub trust_proxy_headers: bool,
    /// Keep the rendered public home page (signed-out visitors) per tenant and language for
    /// the cache period; it is the same for everyone and hit hardest when bookings open.
    pub anonymous_page_cache: bool,
    /// Bearer token that opens `/metrics` on the public router; without it the route answers
    /// 404 (metrics are then scraped from `metrics_addr`, or not at all). Redacted in `Debug`.
    pub metrics_token: Option<SecretString>,
    /// Online payment gateways: Stripe for the cities that have keys, the sandbox otherwise.
    pub payments: PaymentsConfig,
    /// The remote counter: join grants, TURN relays, the media server's address.
    pub counter: CounterConfig,
    /// Seconds between two housekeeping passes (`app::spawn_maintenance`): expired holds,
    /// waiting lists, sessions, and payments whose outcome is unknown.
    pub maintenance_interval_s: u64,
}

/// The remote counter's settings.
#[derive(Clone)]
pub struct CounterConfig {
    /// Signs join grants (HS256 JWTs) for the signalling. Never logged.
    pub grant_secret: SecretString,
    /// TURN relays handed to clients with time-limited credentials, when the city runs coturn.
    pub turn: Option<TurnConfig>,
    /// When a silent media node counts as lost and its rooms move.
    pub placement: madoguchi_usecases::counter::rooms::MediaPlacement,
}

impl std::fmt::Debug for CounterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterConfig")
            .field("grant_secret", &"[redacted]")
            .field("turn", &self.turn)
            .field("placement", &self.placement)
            .finish()
    }
}

impl CounterConfig {
    /// A grant secret derived from another secret (the API tokens'), so a local run needs no
    /// second setting while the two keys stay distinct: a token of one kind never verifies as
    /// the other even without their separate issuers and audiences.
    pub fn derived_from(secret: &SecretString) -> Self {
        use secrecy::ExposeSecret;
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(b"madoguchi counter join grants\0");
        hash.update(secret.expose_secret().as_bytes());
        let derived: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            grant_secret: SecretString::from(derived),
            turn: None,
            placement: Default::default(),
        }
    }
}

/// coturn (or any TURN server of the REST-credential convention) behind `use-auth-secret`.
#[derive(Clone)]
pub struct TurnConfig {
    /// e.g. `turn:turn.example-city.lg.jp:3478?transport=udp`, `turns:…:5349?transport=tcp`.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`. Never logged.
    pub secret: SecretString,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// One city's Stripe account. Every secret is redacted in `Debug` and never logged.
#[derive(Clone, Debug)]
pub struct StripeCityConfig {
    pub secret_key: SecretString,
    /// Signs the webhooks Stripe sends to `/hooks/stripe/{tenant_slug}`.
    pub webhook_secret: SecretString,
    /// Another API base (the fake Stripe server in tests); Stripe's own when `None`.
    pub api_base: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// Stripe accounts by city slug; a city without one pays through the sandbox (when on).
    pub stripe: std::collections::BTreeMap<String, StripeCityConfig>,
    /// Offer the built-in sandbox gateway (the default of `madoguchi serve`; a city taking
    /// real money switches it off).
    pub sandbox: bool,
    /// Signs the sandbox's webhooks. A random secret per start unless set: the sandbox only
    /// talks to the node that started it, and a restart re-signs pending deliveries.
    pub sandbox_webhook_secret: SecretString,
    /// Where the sandbox delivers its webhooks: this node's `public_url` unless set (a node
    /// behind a proxy that cannot reach its own public address sets its local one).
    pub sandbox_webhook_base: Option<String>,
    /// A payment in flight untouched this long is asked about by the recovery pass (a webhook
    /// normally arrives within seconds; see `madoguchi_usecases::payments::recovery`).
    pub recovery_quiet_s: i64,
}

impl PaymentsConfig {
    /// The sandbox for every city, with a fresh random signing secret.
    pub fn sandbox_only() -> Self {
        let secret: String = {
            use rand::Rng;
            let bytes: [u8; 32] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        Self {
            stripe: Default::default(),
            sandbox: true,
            sandbox_webhook_secret: SecretString::from(format!("whsec_sandbox_{secret}")),
            sandbox_webhook_base: None,
            recovery_quiet_s: madoguchi_usecases::payments::recovery::QUIET_FOR.whole_seconds(),
        }
    }
}

impl ServerConfig {
    /// Defaults for a local run at `public_url`.
    pub fn local(public_url: String, api_token_secret: SecretString) -> Self {
        let api_token_secret_for_counter = api_token_secret.clone();
        Self {
            public_url,
            default_tenant: crate::demo::DEMO_TENANT_SLUG.to_owned(),
            api_token_secret,
            api_token_ttl_s: 3600,
            session_idle_s: 2 * 3600,
            body_limit_bytes: 256 * 1024,
            lockout: LockoutPolicy::default(),
            sign_in_per_ip_per_minute: 30,
            sign_up_per_ip_per_hour: 20,
            verification_ttl_s: 48 * 3600,
            reset_ttl_s: 3600,
            argon2_memory_kib: 19 * 1024,
            argon2_passes: 2,
            outbox_dir: None,
            trust_proxy_headers: false,
            anonymous_page_cache: true,
            metrics_token: None,
            payments: PaymentsConfig::sandbox_only(),
            maintenance_interval_s: 30,
            counter: CounterConfig::derived_from(&api_token_secret_for_counter),
        }
    }

    /// Cookies get `Secure` when residents reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
