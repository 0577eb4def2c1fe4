//! How a service's waiting list hands out a seat that comes free, and until when.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// What happens to the first person waiting when a seat comes free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum WaitlistRule {
    /// Booked at once (confirmed) and told so.
    Promote,
    /// Offered the seat: it is held for them until they accept, at most `respond_hours`
    /// (and never past the start); unanswered, it goes to the next person.
    Offer { respond_hours: u16 },
}

/// A seat handed to someone waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handout {
    Confirmed,
    /// Held until this instant.
    HeldUntil(OffsetDateTime),
}

impl WaitlistRule {
    /// What a free seat becomes for the first person waiting at `now`; `None` once the slot
    /// has started (nobody can use it any more).
    pub fn handout(self, now: OffsetDateTime, slot_start: OffsetDateTime) -> Option<Handout> {
        if now >= slot_start {
            return None;
        }
        Some(match self {
            WaitlistRule::Promote => Handout::Confirmed,
            WaitlistRule::Offer { respond_hours } => Handout::HeldUntil(
                (now + Duration::hours(i64::from(respond_hours))).min(slot_start),
            ),
        })
    }

    pub fn is_valid(self) -> bool {
        match self {
            WaitlistRule::Promote => true,
            WaitlistRule::Offer { respond_hours } => (1..=168).contains(&respond_hours),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_offer_never_outlives_the_slot() {
        let start = datetime!(2027-05-10 01:00 UTC);
        let offer = WaitlistRule::Offer { respond_hours: 24 };
        assert_eq!(
            offer.handout(datetime!(2027-05-01 00:00 UTC), start),
            Some(Handout::HeldUntil(datetime!(2027-05-02 00:00 UTC)))
        );
        assert_eq!(
            offer.handout(datetime!(2027-05-09 12:00 UTC), start),
            Some(Handout::HeldUntil(start))
        );
        assert_eq!(offer.handout(start, start), None);
        assert_eq!(
            WaitlistRule::Promote.handout(datetime!(2027-05-09 12:00 UTC), start),
            Some(Handout::Confirmed)
        );
    }

    #[test]
    fn the_mode_is_json_an_administrator_can_write() {
        let offer: WaitlistRule =
            serde_json::from_value(serde_json::json!({"mode": "offer", "respond_hours": 12}))
                .unwrap();
        assert_eq!(offer, WaitlistRule::Offer { respond_hours: 12 });
        assert!(!WaitlistRule::Offer { respond_hours: 0 }.is_valid());
        assert!(
            serde_json::from_value::<WaitlistRule>(serde_json::json!({"mode": "lottery"})).is_err()
        );
    }
}
