//! Small values shared by the modules: Tokyo wall-clock times (`"09:00"`), dates written as
//! `2026-07-04` whatever `time`'s cargo features say, codes and bounded labels, and calendar
//! arithmetic on months and years.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Date, Month};

/// Minutes in a day: the largest [`ClockTime`], `24:00`, which only ends a range.
pub const MINUTES_PER_DAY: u16 = 1_440;
/// The longest code (a band, a piece of equipment), in ASCII characters.
pub const CODE_MAX_CHARS: usize = 40;
/// The longest name of a unit, a band or a piece of equipment, in characters.
pub const NAME_MAX_CHARS: usize = 60;

/// A Tokyo wall-clock time on a day, in minutes since 00:00, from `00:00` to `24:00`.
/// Written as `"HH:MM"` in the JSON administrators edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

/// Text that is not a time of day `HH:MM` from `00:00` to `24:00`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a time of day HH:MM from 00:00 to 24:00")]
pub struct NotAClockTime(pub String);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    pub const END_OF_DAY: ClockTime = ClockTime(MINUTES_PER_DAY);

    /// `hour:minute`; `None` past `24:00`.
    pub const fn hm(hour: u16, minute: u16) -> Option<ClockTime> {
        if minute < 60 && hour * 60 + minute <= MINUTES_PER_DAY {
            Some(ClockTime(hour * 60 + minute))
        } else {
            None
        }
    }

    /// Minutes since 00:00; `None` past `24:00`.
    pub const fn from_minutes(minutes: u16) -> Option<ClockTime> {
        if minutes <= MINUTES_PER_DAY {
            Some(ClockTime(minutes))
        } else {
            None
        }
    }

    pub const fn minutes(self) -> u16 {
        self.0
    }

    /// Reads `"HH:MM"` (two digits each).
    pub fn parse(raw: &str) -> Result<ClockTime, NotAClockTime> {
        let bad = || NotAClockTime(raw.to_owned());
        let (h, m) = raw.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let hour: u16 = h.parse().map_err(|_| bad())?;
        let minute: u16 = m.parse().map_err(|_| bad())?;
        ClockTime::hm(hour, minute).ok_or_else(bad)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = NotAClockTime;
    fn try_from(raw: String) -> Result<Self, NotAClockTime> {
        ClockTime::parse(&raw)
    }
}

impl From<ClockTime> for String {
    fn from(t: ClockTime) -> String {
        t.to_string()
    }
}

// `Date` as `2026-07-04`: `time`'s own serde form depends on a cargo feature any crate in the
// build may switch on, and the lottery's audit record must not change with the build.
time::serde::format_description!(pub ymd, Date, "[year]-[month]-[day]");

/// `a-z` first, then `a-z`, `0-9`, `_`, at most [`CODE_MAX_CHARS`]: safe in JSON keys, URLs
/// and CSV columns.
pub(crate) fn code_ok(raw: &str) -> bool {
    let mut bytes = raw.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && raw.len() <= CODE_MAX_CHARS
}

/// A visible label of at most `max_chars`, without control characters, already trimmed.
pub(crate) fn label_ok(raw: &str, max_chars: usize) -> bool {
    madoguchi_domain::text::bounded_text(raw, max_chars)
        .is_ok_and(|text| text.is_some_and(|t| t.len() == raw.len()))
}

/// The same day `months` months earlier, on the month's last day when it has no such day
/// (05-31 minus 3 months is 02-28 or 02-29). `None` outside `time`'s range.
pub fn months_before(date: Date, months: u32) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1;
    let target = index - i64::from(months);
    let year = i32::try_from(target.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(target.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

/// The same day `years` years later, 02-28 for 02-29 in a year without it.
pub fn years_after(date: Date, years: i32) -> Option<Date> {
    let year = date.year().checked_add(years)?;
    let day = date.day().min(date.month().length(year));
    Date::from_calendar_date(year, date.month(), day).ok()
}

/// The first day of the month `months` after `year`-`month`.
pub fn first_of_month_after(year: i32, month: Month, months: u32) -> Option<Date> {
    let index = i64::from(year) * 12 + i64::from(u8::from(month)) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    Date::from_calendar_date(year, month, 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn clock_times_read_and_write_as_hh_mm_up_to_midnight_at_the_end() {
        assert_eq!(ClockTime::parse("09:30"), Ok(ClockTime(570)));
        assert_eq!(ClockTime::parse("24:00"), Ok(ClockTime::END_OF_DAY));
        assert_eq!(ClockTime(570).to_string(), "09:30");
        for bad in ["24:01", "9:30", "09:60", "0930", "ab:cd", "+9:30", ""] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn month_arithmetic_lands_on_the_last_day_of_a_shorter_month() {
        assert_eq!(
            months_before(date!(2026 - 05 - 31), 3),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            months_before(date!(2026 - 01 - 15), 1),
            Some(date!(2025 - 12 - 15))
        );
        assert_eq!(
            years_after(date!(2028 - 02 - 29), 1),
            Some(date!(2029 - 02 - 28))
        );
        assert_eq!(
            first_of_month_after(2026, Month::November, 2),
            Some(date!(2027 - 01 - 01))
        );
    }

    #[test]
    fn codes_are_lowercase_ascii_starting_with_a_letter() {
        assert!(code_ok("afternoon"));
        assert!(code_ok("court_a2"));
        assert!(!code_ok("Afternoon"));
        assert!(!code_ok("2nd"));
        assert!(!code_ok(""));
        assert!(!code_ok(&"a".repeat(CODE_MAX_CHARS + 1)));
    }
}
