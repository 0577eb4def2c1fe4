//! Password hashing off the async threads, and the rate limits of the anonymous forms. Rate
//! limits are counted in the database, so every node shares them; their keys hold a hash of the
//! tenant and the client's address, never the address itself.

use crate::{Scope, UseCaseError, UseCaseResult};
use madoguchi_auth::PasswordHasher;
use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_storage::{AccountStore, PasswordHash};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;

/// Hashes a password with argon2id. argon2 is deliberately slow; it runs on the blocking pool.
pub async fn hash(hasher: &Arc<PasswordHasher>, password: String) -> UseCaseResult<PasswordHash> {
    let hasher = hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(UseCaseError::internal)?
        .map(PasswordHash)
        .map_err(UseCaseError::internal)
}

/// Checks a password against a stored hash. Without one (an unknown account) it spends the
/// same time as a real check, so timing does not tell whether an address is registered.
pub async fn verify(
    hasher: &Arc<PasswordHasher>,
    stored: Option<PasswordHash>,
    password: String,
) -> UseCaseResult<bool> {
    let hasher = hasher.clone();
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => hasher.verify(&stored.0, &password),
        None => {
            let _ = hasher.hash(&password);
            false
        }
    })
    .await
    .map_err(UseCaseError::internal)
}

/// `prefix:<hash of tenant and material>`: rate-limit rows never hold an address in clear.
pub(crate) fn hashed_key(prefix: &str, tenant: TenantId, material: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}:{material}").as_bytes());
    let short: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}:{short}")
}

/// The rate-limit key of a client address (no address counts as one shared client).
pub(crate) fn client_key(prefix: &str, tenant: TenantId, client: Option<IpAddr>) -> String {
    let ip = client.map(|ip| ip.to_string()).unwrap_or_default();
    hashed_key(prefix, tenant, &ip)
}

/// Counts one hit on `key`; refuses with `rate_limited` (retry after the window) past `max`.
pub(crate) async fn rate_limit<S: AccountStore + ?Sized>(
    store: &S,
    scope: &Scope,
    key: String,
    window_s: i64,
    max: i64,
) -> UseCaseResult<()> {
    if store
        .rate_limit_hit(&key, scope.now(), window_s, max)
        .await?
    {
        Ok(())
    } else {
        Err(UseCaseError {
            retry_after_s: Some(window_s.max(1) as u64),
            ..UseCaseError::new(ErrorCode::RateLimited)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_rate_limit_key_does_not_hold_the_client_address() {
        let tenant = TenantId(Uuid::nil());
        let key = client_key("signin", tenant, Some("192.0.2.7".parse().unwrap()));
        assert!(key.starts_with("signin:"));
        assert!(!key.contains("192.0.2.7"));
    }

    #[test]
    fn the_same_address_in_two_cities_counts_separately() {
        let ip = Some("192.0.2.7".parse().unwrap());
        let a = client_key("signin", TenantId(Uuid::nil()), ip);
        let b = client_key("signin", TenantId(Uuid::max()), ip);
        assert_ne!(a, b);
    }
}
