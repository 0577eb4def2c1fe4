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
}

impl ServerConfig {
    /// Defaults for a local run at `public_url`.
    pub fn local(public_url: String, api_token_secret: SecretString) -> Self {
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
        }
    }

    /// Cookies get `Secure` when residents reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
