//! The city's booking policy: how many no-shows within how long suspend online booking, and
//! for how long (by default three in twelve months suspend it for ninety days).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoShowPolicy {
    /// No-shows that trigger a suspension; 0 turns the policy off.
    pub count: u16,
    /// Counted over this many days before the latest no-show.
    pub within_days: u16,
    pub suspend_days: u16,
}

impl Default for NoShowPolicy {
    fn default() -> Self {
        Self {
            count: 3,
            within_days: 365,
            suspend_days: 90,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingPolicy {
    #[serde(default)]
    pub no_show: NoShowPolicy,
}

/// What the no-show policy says after a no-show is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuspensionDecision {
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
}

impl NoShowPolicy {
    /// The window no-shows are counted in, ending now.
    pub fn counted_since(self, now: OffsetDateTime) -> OffsetDateTime {
        now - Duration::days(i64::from(self.within_days))
    }

    /// Whether `no_shows` (counted since [`Self::counted_since`]) suspend online booking.
    pub fn decide(self, no_shows: i64, now: OffsetDateTime) -> Option<SuspensionDecision> {
        (self.count > 0 && no_shows >= i64::from(self.count) && self.suspend_days > 0).then(|| {
            SuspensionDecision {
                from: now,
                until: now + Duration::days(i64::from(self.suspend_days)),
            }
        })
    }

    pub fn is_valid(self) -> bool {
        self.count <= 100 && (1..=3650).contains(&self.within_days) && self.suspend_days <= 3650
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn three_no_shows_suspend_for_ninety_days() {
        let policy = NoShowPolicy::default();
        let now = datetime!(2027-06-01 00:00 UTC);
        assert_eq!(policy.decide(2, now), None);
        assert_eq!(
            policy.decide(3, now),
            Some(SuspensionDecision {
                from: now,
                until: datetime!(2027-08-30 00:00 UTC)
            })
        );
        assert_eq!(policy.counted_since(now), datetime!(2026-06-01 00:00 UTC));
    }

    #[test]
    fn a_count_of_zero_turns_it_off() {
        let off = NoShowPolicy {
            count: 0,
            ..NoShowPolicy::default()
        };
        assert_eq!(off.decide(10, datetime!(2027-06-01 00:00 UTC)), None);
    }

    #[test]
    fn a_city_without_a_policy_gets_the_defaults() {
        let policy: BookingPolicy = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(policy.no_show, NoShowPolicy::default());
        assert!(
            serde_json::from_value::<BookingPolicy>(serde_json::json!({"no_show": {"count": 2}}))
                .is_err()
        );
    }
}
