//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{PasswordHash as PhcHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

/// The argon2id instance with the costs every new hash uses. Verification reads the costs from
/// the stored PHC string, so raising them later still verifies old hashes.
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl PasswordHasher {
    /// OWASP 2023: m = 19 MiB, t = 2, p = 1.
    pub fn recommended() -> Self {
        Self::with_cost(19 * 1024, 2)
    }

    /// Cheaper costs for tests and benchmarks of flows, never for production.
    pub fn with_cost(memory_kib: u32, passes: u32) -> Self {
        let params = Params::new(memory_kib, passes, 1, None).unwrap_or_default();
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=...`).
    pub fn hash(&self, password: &str) -> Result<String, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(self
            .argon2
            .hash_password(password.as_bytes(), &salt)?
            .to_string())
    }

    /// Whether `password` matches `phc`. A malformed stored hash never matches.
    pub fn verify(&self, phc: &str, password: &str) -> bool {
        match PhcHash::new(phc) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Hashes with the recommended costs.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    PasswordHasher::recommended().hash(password)
}

/// Verifies against a stored hash (its own costs apply).
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHasher::recommended().verify(phc, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_own_password_only() {
        let hasher = PasswordHasher::with_cost(1024, 1);
        let hash = hasher.hash("Sakura-Koen-2026!").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify(&hash, "Sakura-Koen-2026!"));
        assert!(!hasher.verify(&hash, "sakura-koen-2026!"));
    }

    #[test]
    fn a_malformed_stored_hash_never_verifies() {
        assert!(!verify_password("not a hash", "anything"));
    }

    #[test]
    fn the_stored_costs_are_used_for_verification() {
        let cheap = PasswordHasher::with_cost(1024, 1)
            .hash("Tanpopo-no-Wata-9")
            .unwrap();
        assert!(verify_password(&cheap, "Tanpopo-no-Wata-9"));
    }
}
