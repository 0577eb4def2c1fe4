//! When a booked remote consultation may be joined: residents a little before their time (to
//! test their camera and wait in the lobby), staff earlier to prepare, and everyone until a
//! while after the booked end (a consultation may run over).

use crate::room::ParticipantRole;
use time::{Duration, OffsetDateTime};

/// How early a resident may join before the booked start.
pub const RESIDENT_EARLY: Duration = Duration::minutes(10);
/// How early staff may join before the booked start.
pub const STAFF_EARLY: Duration = Duration::minutes(30);
/// How long after the booked end the room may still be joined.
pub const OVERRUN: Duration = Duration::minutes(30);

/// From when until when a room may be joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinWindow {
    pub opens_at: OffsetDateTime,
    pub closes_at: OffsetDateTime,
}

impl JoinWindow {
    /// Whether `at` is inside the window.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.opens_at <= at && at < self.closes_at
    }

    /// Too early: the window has not opened yet (so the page can say when it does).
    pub fn is_before(&self, at: OffsetDateTime) -> bool {
        at < self.opens_at
    }
}

/// The join window of a consultation booked from `starts_at` to `ends_at` for `role`.
pub fn join_window(
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    role: ParticipantRole,
) -> JoinWindow {
    let early = if role.is_staff() {
        STAFF_EARLY
    } else {
        RESIDENT_EARLY
    };
    JoinWindow {
        opens_at: starts_at - early,
        closes_at: ends_at.max(starts_at) + OVERRUN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-12-08 01:00 UTC);
    const END: OffsetDateTime = datetime!(2026-12-08 01:30 UTC);

    #[test]
    fn a_resident_joins_from_ten_minutes_before_until_half_an_hour_after_the_end() {
        let window = join_window(START, END, ParticipantRole::Resident);
        assert!(!window.contains(START - Duration::minutes(11)));
        assert!(window.is_before(START - Duration::minutes(11)));
        assert!(window.contains(START - Duration::minutes(10)));
        assert!(window.contains(END + Duration::minutes(29)));
        assert!(!window.contains(END + Duration::minutes(30)));
        assert!(!window.is_before(END + Duration::minutes(30)));
    }

    #[test]
    fn staff_may_come_earlier_to_prepare() {
        let window = join_window(START, END, ParticipantRole::Specialist);
        assert!(window.contains(START - Duration::minutes(30)));
        assert!(!window.contains(START - Duration::minutes(31)));
    }

    #[test]
    fn a_slot_whose_end_is_before_its_start_still_gets_a_sane_window() {
        let window = join_window(START, START - Duration::hours(1), ParticipantRole::Resident);
        assert!(window.contains(START));
        assert_eq!(window.closes_at, START + OVERRUN);
    }
}
