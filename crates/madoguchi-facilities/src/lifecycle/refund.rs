//! The cancellation rule (還付): how much of what was paid comes back, by how many days
//! before the day of use the holder cancels. E.g. all of it from 30 days before, half from 7
//! days before, nothing after.

use super::LifecycleError;
use madoguchi_domain::Yen;
use serde::{Deserialize, Serialize};
use time::Date;

/// The most steps a rule has.
pub const REFUND_TIERS_MAX: usize = 10;

/// From `days_before_at_least` days before the day of use (that many or more), `percent`
/// of the payment is refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundTier {
    pub days_before_at_least: u16,
    pub percent: u8,
}

/// A refund rule as administrators write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRuleSpec {
    /// From the earliest cancellation to the latest: days strictly decreasing, percentages
    /// never increasing. Later than the last tier, nothing is refunded.
    pub tiers: Vec<RefundTier>,
}

/// A checked [`RefundRuleSpec`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RefundRuleSpec", into = "RefundRuleSpec")]
pub struct RefundRule(RefundRuleSpec);

impl TryFrom<RefundRuleSpec> for RefundRule {
    type Error = LifecycleError;
    fn try_from(spec: RefundRuleSpec) -> Result<Self, LifecycleError> {
        RefundRule::new(spec)
    }
}

impl From<RefundRule> for RefundRuleSpec {
    fn from(rule: RefundRule) -> Self {
        rule.0
    }
}

impl RefundRule {
    pub fn new(spec: RefundRuleSpec) -> Result<Self, LifecycleError> {
        let ordered = spec.tiers.windows(2).all(|w| {
            w[0].days_before_at_least > w[1].days_before_at_least && w[0].percent >= w[1].percent
        });
        let bounded = spec.tiers.iter().all(|t| t.percent <= 100);
        if ordered && bounded && spec.tiers.len() <= REFUND_TIERS_MAX {
            Ok(Self(spec))
        } else {
            Err(LifecycleError::RefundRuleInvalid)
        }
    }

    /// No refund whatever the date (the table's rule when none is set).
    pub fn none() -> Self {
        Self(RefundRuleSpec { tiers: Vec::new() })
    }

    pub fn spec(&self) -> &RefundRuleSpec {
        &self.0
    }

    /// What comes back of `paid_yen` when the holder cancels on `cancelled_on` for a use on
    /// `use_date` (Tokyo dates): the first tier whose days the cancellation reaches,
    /// `⌊paid × percent / 100⌋`; nothing on or after the day of use or for nothing paid.
    pub fn refund_for(&self, paid_yen: Yen, cancelled_on: Date, use_date: Date) -> Yen {
        let days_before = (use_date - cancelled_on).whole_days();
        if paid_yen.0 <= 0 || days_before <= 0 {
            return Yen::ZERO;
        }
        self.0
            .tiers
            .iter()
            .find(|t| days_before >= i64::from(t.days_before_at_least))
            .map_or(Yen::ZERO, |t| Yen(paid_yen.0 * i64::from(t.percent) / 100))
    }
}

/// All from 30 days before, half from 7 days before, nothing later.
#[cfg(test)]
pub(crate) fn thirty_and_seven() -> RefundRule {
    RefundRule(RefundRuleSpec {
        tiers: vec![
            RefundTier {
                days_before_at_least: 30,
                percent: 100,
            },
            RefundTier {
                days_before_at_least: 7,
                percent: 50,
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_refund_steps_down_with_the_days_left_before_use() {
        let rule = RefundRule::new(thirty_and_seven().spec().clone()).unwrap();
        let use_date = date!(2026 - 08 - 01);
        let paid = Yen(6_001);
        assert_eq!(
            rule.refund_for(paid, date!(2026 - 07 - 02), use_date),
            Yen(6_001)
        );
        assert_eq!(
            rule.refund_for(paid, date!(2026 - 07 - 03), use_date),
            Yen(3_000)
        );
        assert_eq!(
            rule.refund_for(paid, date!(2026 - 07 - 25), use_date),
            Yen(3_000)
        );
        assert_eq!(
            rule.refund_for(paid, date!(2026 - 07 - 26), use_date),
            Yen(0)
        );
        assert_eq!(rule.refund_for(paid, use_date, use_date), Yen(0));
        assert_eq!(
            rule.refund_for(Yen(0), date!(2026 - 01 - 01), use_date),
            Yen(0)
        );
    }

    #[test]
    fn a_rule_out_of_order_or_over_a_hundred_percent_is_refused() {
        let tier = |days, percent| RefundTier {
            days_before_at_least: days,
            percent,
        };
        for tiers in [
            vec![tier(7, 50), tier(30, 100)],
            vec![tier(30, 50), tier(7, 100)],
            vec![tier(30, 101)],
            vec![tier(7, 50), tier(7, 40)],
        ] {
            assert_eq!(
                RefundRule::new(RefundRuleSpec { tiers })
                    .unwrap_err()
                    .code(),
                "refund_rule_invalid"
            );
        }
        assert_eq!(
            RefundRule::none().refund_for(Yen(100), date!(2026 - 01 - 01), date!(2027 - 01 - 01)),
            Yen(0)
        );
    }
}
