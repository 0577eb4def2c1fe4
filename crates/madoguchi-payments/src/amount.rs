//! The amount of one payment, refund or receivable: whole yen, more than zero, at most the
//! largest amount any of our channels takes in one go.

use madoguchi_domain::{ErrorCode, Yen};
use serde::{Deserialize, Serialize};

/// 1 yen up to [`PaymentAmount::MAX_YEN`]. Built only through [`PaymentAmount::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct PaymentAmount(i64);

impl PaymentAmount {
    /// Stripe's ceiling for one JPY charge is ¥99,999,999; no municipal fee comes near it.
    pub const MAX_YEN: i64 = 99_999_999;

    pub fn new(yen: i64) -> Result<Self, ErrorCode> {
        if yen <= 0 {
            Err(ErrorCode::AmountNotPositive)
        } else if yen > Self::MAX_YEN {
            Err(ErrorCode::AmountOverLimit)
        } else {
            Ok(Self(yen))
        }
    }

    pub fn yen(self) -> Yen {
        Yen(self.0)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for PaymentAmount {
    type Error = ErrorCode;
    fn try_from(yen: i64) -> Result<Self, ErrorCode> {
        Self::new(yen)
    }
}

impl From<PaymentAmount> for i64 {
    fn from(a: PaymentAmount) -> i64 {
        a.0
    }
}

/// Only JPY: every amount here is whole yen, and a provider's answer in another currency is
/// refused rather than converted.
pub fn check_currency(code: &str) -> Result<(), ErrorCode> {
    if code.eq_ignore_ascii_case("jpy") {
        Ok(())
    } else {
        Err(ErrorCode::CurrencyNotJpy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        assert_eq!(PaymentAmount::new(0), Err(ErrorCode::AmountNotPositive));
        assert_eq!(PaymentAmount::new(-500), Err(ErrorCode::AmountNotPositive));
    }

    #[test]
    fn amounts_over_the_limit_are_refused() {
        assert!(PaymentAmount::new(PaymentAmount::MAX_YEN).is_ok());
        assert_eq!(
            PaymentAmount::new(PaymentAmount::MAX_YEN + 1),
            Err(ErrorCode::AmountOverLimit)
        );
    }

    #[test]
    fn only_yen_is_accepted() {
        assert!(check_currency("jpy").is_ok());
        assert!(check_currency("JPY").is_ok());
        assert_eq!(check_currency("usd"), Err(ErrorCode::CurrencyNotJpy));
    }
}
