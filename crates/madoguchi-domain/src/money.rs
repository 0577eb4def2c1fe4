//! Money: whole yen as a signed 64-bit integer. Yen has no minor unit, so there are no fractions.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of Japanese yen. Negative amounts are refunds or corrections.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Yen(pub i64);

impl Yen {
    pub const ZERO: Yen = Yen(0);

    pub fn checked_add(self, other: Yen) -> Option<Yen> {
        self.0.checked_add(other.0).map(Yen)
    }

    pub fn checked_sub(self, other: Yen) -> Option<Yen> {
        self.0.checked_sub(other.0).map(Yen)
    }
}

impl fmt::Display for Yen {
    /// Formats with thousands separators and the yen sign, e.g. `¥2,246`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}¥{grouped}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_is_formatted_with_thousands_separators() {
        assert_eq!(Yen(2246).to_string(), "¥2,246");
        assert_eq!(Yen(719).to_string(), "¥719");
        assert_eq!(Yen(-300000).to_string(), "-¥300,000");
        assert_eq!(Yen(0).to_string(), "¥0");
    }
}
