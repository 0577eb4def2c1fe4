//! The time as the rules see it. Use cases ask a [`Clock`] instead of the operating system, so
//! a test can stand at a chosen instant (a booking window that opens at 09:00, a deadline that
//! passed) and move forward without sleeping.

use std::sync::Mutex;
use time::OffsetDateTime;

/// Where "now" comes from. Instants are UTC, truncated to whole microseconds: the precision
/// both databases keep, so a record returned from a write equals the same record read back.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// A clock that stands still until told to move; for tests and benchmarks.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(to_microseconds(at)),
        }
    }

    /// Moves the clock to `at` (backwards too: a test may replay a moment).
    pub fn set(&self, at: OffsetDateTime) {
        // A poisoned lock only means a test panicked while holding it; the value is still valid.
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to_microseconds(at);
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = to_microseconds(now.saturating_add(by));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops the nanoseconds below a microsecond.
pub fn to_microseconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let clock = ManualClock::new(datetime!(2027-04-01 00:00:00.123_456_789 UTC));
        assert_eq!(clock.now(), datetime!(2027-04-01 00:00:00.123_456 UTC));
        assert_eq!(clock.now(), clock.now());
        clock.advance(time::Duration::hours(9));
        assert_eq!(clock.now(), datetime!(2027-04-01 09:00:00.123_456 UTC));
        clock.set(datetime!(2026-12-29 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-12-29 00:00 UTC));
    }
}
