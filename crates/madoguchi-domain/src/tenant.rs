//! Tenants: each municipality served by an installation is a tenant, and every row belongs to one.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// A tenant's short code, e.g. `madoguchi-city`: 2–32 of `a-z`, `0-9`, `-`, not starting or
/// ending with `-`. It appears in URLs and configuration, so it is ASCII only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        if is_code(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ErrorCode::InvalidTenantSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = ErrorCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantSlug> for String {
    fn from(value: TenantSlug) -> Self {
        value.0
    }
}

/// The shared shape of short codes (tenant slugs, office and department codes).
pub(crate) fn is_code(raw: &str) -> bool {
    let len_ok = (2..=32).contains(&raw.len());
    let chars_ok = raw
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    len_ok && chars_ok && !raw.starts_with('-') && !raw.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lowercase_code_is_a_slug() {
        assert!(TenantSlug::parse("madoguchi-city").is_ok());
    }

    #[test]
    fn uppercase_spaces_and_edges_are_rejected() {
        for bad in [
            "Madoguchi",
            "a",
            "has space",
            "-lead",
            "trail-",
            "まどぐち",
            "",
        ] {
            assert_eq!(
                TenantSlug::parse(bad),
                Err(ErrorCode::InvalidTenantSlug),
                "{bad}"
            );
        }
    }
}
