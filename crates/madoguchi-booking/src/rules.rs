//! Booking windows, cancellation deadlines and per-resident limits.

use madoguchi_domain::tokyo::JST;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// When booking opens and closes for a slot: it opens at a local (Tokyo) time a number of days
/// before the slot's date (e.g. 09:00, 60 days ahead: applications "open on a fixed day"), and
/// closes some hours before the slot starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingWindow {
    pub opens_days_before: u16,
    /// Tokyo wall-clock time at which booking opens on that day, as `"HH:MM"`.
    #[serde(with = "hhmm")]
    pub opens_at_local: Time,
    pub closes_hours_before: u16,
}

/// `"HH:MM"` for wall-clock times in service rules (what an administrator types).
pub(crate) mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::Time;

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let raw = String::deserialize(d)?;
        let (h, m) = raw
            .split_once(':')
            .ok_or_else(|| D::Error::custom("expected HH:MM"))?;
        let hour: u8 = h.parse().map_err(|_| D::Error::custom("bad hour"))?;
        let minute: u8 = m.parse().map_err(|_| D::Error::custom("bad minute"))?;
        Time::from_hms(hour, minute, 0).map_err(D::Error::custom)
    }
}

/// Why a slot cannot be booked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("booking opens at {opens_at}")]
    NotYetOpen { opens_at: OffsetDateTime },
    #[error("booking closed at {closed_at}")]
    Closed { closed_at: OffsetDateTime },
}

impl BookingWindow {
    /// The instant booking opens for a slot starting at `slot_start`.
    pub fn opens_at(&self, slot_start: OffsetDateTime) -> OffsetDateTime {
        let local_date = slot_start.to_offset(JST).date();
        let open_date = local_date - Duration::days(i64::from(self.opens_days_before));
        PrimitiveDateTime::new(open_date, self.opens_at_local)
            .assume_offset(JST)
            .to_offset(time::UtcOffset::UTC)
    }

    /// The instant booking closes for a slot starting at `slot_start`.
    pub fn closes_at(&self, slot_start: OffsetDateTime) -> OffsetDateTime {
        slot_start - Duration::hours(i64::from(self.closes_hours_before))
    }

    /// Whether `now` is inside the window of the slot starting at `slot_start`.
    pub fn check(
        &self,
        now: OffsetDateTime,
        slot_start: OffsetDateTime,
    ) -> Result<(), WindowError> {
        let opens_at = self.opens_at(slot_start);
        let closed_at = self.closes_at(slot_start);
        if now < opens_at {
            Err(WindowError::NotYetOpen { opens_at })
        } else if now >= closed_at {
            Err(WindowError::Closed { closed_at })
        } else {
            Ok(())
        }
    }
}

/// Until when a resident may cancel or change online; staff may always, with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationRule {
    pub deadline_hours_before: u16,
}

impl CancellationRule {
    pub fn deadline(&self, slot_start: OffsetDateTime) -> OffsetDateTime {
        slot_start - Duration::hours(i64::from(self.deadline_hours_before))
    }

    pub fn resident_may_cancel(&self, now: OffsetDateTime, slot_start: OffsetDateTime) -> bool {
        now < self.deadline(slot_start)
    }
}

/// The period a per-resident limit counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitPeriod {
    /// April 1 to March 31 (e.g. one cancer screening per fiscal year).
    FiscalYear,
    CalendarYear,
    /// A rolling number of days ending on the slot's date.
    Days {
        days: u16,
    },
}

/// At most `max` reservations of a service (or group of services) per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalLimit {
    pub max: u16,
    pub period: LimitPeriod,
}

impl PersonalLimit {
    /// The Tokyo dates `[first, last]` the limit counts over for a slot on `slot_date`.
    pub fn period_for(&self, slot_date: Date) -> (Date, Date) {
        match self.period {
            LimitPeriod::FiscalYear => {
                let start_year = if slot_date.month() >= Month::April {
                    slot_date.year()
                } else {
                    slot_date.year() - 1
                };
                (
                    date(start_year, Month::April, 1),
                    date(start_year + 1, Month::March, 31),
                )
            }
            LimitPeriod::CalendarYear => (
                date(slot_date.year(), Month::January, 1),
                date(slot_date.year(), Month::December, 31),
            ),
            LimitPeriod::Days { days } => (
                slot_date - Duration::days(i64::from(days.max(1)) - 1),
                slot_date,
            ),
        }
    }

    /// Whether one more reservation fits, given how many the resident already has in the period.
    pub fn allows(&self, existing_in_period: u32) -> bool {
        existing_in_period < u32::from(self.max)
    }
}

/// A valid date; the inputs used here are always valid (first/last days of months).
fn date(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    fn window() -> BookingWindow {
        BookingWindow {
            opens_days_before: 60,
            opens_at_local: time!(09:00),
            closes_hours_before: 24,
        }
    }

    #[test]
    fn booking_opens_at_nine_in_tokyo_sixty_days_before_the_slot_date() {
        // A slot at 10:00 JST on 2027-06-01 (01:00 UTC).
        let slot = datetime!(2027-06-01 01:00 UTC);
        assert_eq!(window().opens_at(slot), datetime!(2027-04-02 00:00 UTC));
        assert!(matches!(
            window().check(datetime!(2027-04-01 23:59:59 UTC), slot),
            Err(WindowError::NotYetOpen { .. })
        ));
        assert_eq!(
            window().check(datetime!(2027-04-02 00:00 UTC), slot),
            Ok(())
        );
    }

    #[test]
    fn booking_closes_the_set_hours_before_the_start() {
        let slot = datetime!(2027-06-01 01:00 UTC);
        assert_eq!(
            window().check(datetime!(2027-05-31 00:59 UTC), slot),
            Ok(())
        );
        assert!(matches!(
            window().check(datetime!(2027-05-31 01:00 UTC), slot),
            Err(WindowError::Closed { .. })
        ));
    }

    #[test]
    fn a_slot_early_in_the_tokyo_morning_uses_its_tokyo_date() {
        // 08:30 JST on 2027-06-01 is 23:30 UTC on 2027-05-31.
        let slot = datetime!(2027-05-31 23:30 UTC);
        assert_eq!(window().opens_at(slot), datetime!(2027-04-02 00:00 UTC));
    }

    #[test]
    fn residents_may_cancel_until_the_deadline() {
        let rule = CancellationRule {
            deadline_hours_before: 48,
        };
        let slot = datetime!(2027-06-03 01:00 UTC);
        assert!(rule.resident_may_cancel(datetime!(2027-06-01 00:59 UTC), slot));
        assert!(!rule.resident_may_cancel(datetime!(2027-06-01 01:00 UTC), slot));
    }

    #[test]
    fn the_fiscal_year_runs_from_april_to_march() {
        let limit = PersonalLimit {
            max: 1,
            period: LimitPeriod::FiscalYear,
        };
        assert_eq!(
            limit.period_for(date!(2027 - 03 - 31)),
            (date!(2026 - 04 - 01), date!(2027 - 03 - 31))
        );
        assert_eq!(
            limit.period_for(date!(2027 - 04 - 01)),
            (date!(2027 - 04 - 01), date!(2028 - 03 - 31))
        );
        assert!(limit.allows(0));
        assert!(!limit.allows(1));
    }

    #[test]
    fn a_rolling_period_ends_on_the_slot_date() {
        let limit = PersonalLimit {
            max: 2,
            period: LimitPeriod::Days { days: 30 },
        };
        assert_eq!(
            limit.period_for(date!(2027 - 03 - 30)),
            (date!(2027 - 03 - 01), date!(2027 - 03 - 30))
        );
    }
}
