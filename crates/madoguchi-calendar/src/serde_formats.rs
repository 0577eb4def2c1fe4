//! Stable wire formats for `time` values in persisted calendar data.
//!
//! `time`'s own serde output for `Date` and `Weekday` depends on a cargo feature
//! (`serde-human-readable`) that any crate in the build can switch on, so stored rules would
//! change shape with the dependency graph. These helpers pin the format: dates as `2026-04-01`,
//! weekdays as `monday`.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
use time::Weekday;

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// A weekday as its lowercase English name, e.g. `monday`.
pub(crate) mod weekday {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(*day))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text)
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a weekday (monday … sunday)")))
    }

    pub(crate) fn name(day: Weekday) -> &'static str {
        match day {
            Weekday::Monday => "monday",
            Weekday::Tuesday => "tuesday",
            Weekday::Wednesday => "wednesday",
            Weekday::Thursday => "thursday",
            Weekday::Friday => "friday",
            Weekday::Saturday => "saturday",
            Weekday::Sunday => "sunday",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Weekday> {
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .find(|day| name(*day) == text)
    }
}
