//! The key a client sends so that retrying a request never does the thing twice (a booking
//! today, a payment next). Keys are scoped by the caller where they are stored: two residents
//! may use the same key.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// 1–100 visible ASCII characters: what Stripe accepts (UUIDs, ULIDs, `waitlist:<id>`), and
/// nothing that could smuggle a control character or a space into a log or a header.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const LEN_MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let ok =
            (1..=Self::LEN_MAX).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ErrorCode::InvalidIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ErrorCode;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

/// Shown in full: a key is not a secret, and it helps to find a retried request in the logs.
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_and_a_prefixed_id_are_keys() {
        assert!(IdempotencyKey::parse("0193a1c2-7f00-7000-8000-000000000000").is_ok());
        assert!(IdempotencyKey::parse("waitlist:0193a1c2").is_ok());
    }

    #[test]
    fn empty_long_spaced_and_non_ascii_keys_are_refused() {
        for raw in ["", "a b", "予約", "a\u{0}b", "tab\t"] {
            assert_eq!(
                IdempotencyKey::parse(raw),
                Err(ErrorCode::InvalidIdempotencyKey),
                "{raw:?}"
            );
        }
        assert!(IdempotencyKey::parse(&"k".repeat(100)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(101)).is_err());
    }
}
