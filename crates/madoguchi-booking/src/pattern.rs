//! Slots from a weekly pattern: e.g. "Tuesdays 09:00–12:00, 30-minute consultations with a
//! 10-minute buffer", or "Thursday 13:00–16:00, one group checkup session of 30".

use madoguchi_domain::tokyo::JST;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The most seats one slot may have: a lecture hall, not a typing slip of a few more zeros.
pub const CAPACITY_MAX: u16 = 10_000;

/// Whether a slot may have `capacity` seats: at least one (a slot nobody can book is not a
/// slot), at most [`CAPACITY_MAX`].
pub fn capacity_is_valid(capacity: u16) -> bool {
    (1..=CAPACITY_MAX).contains(&capacity)
}

/// One weekly opening of a service at an office.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyPattern {
    /// `"monday"` … `"sunday"`.
    #[serde(with = "weekday_name")]
    pub weekday: Weekday,
    /// Tokyo wall-clock start and end of the opening, as `"HH:MM"`.
    #[serde(with = "crate::rules::hhmm")]
    pub start: Time,
    #[serde(with = "crate::rules::hhmm")]
    pub end: Time,
    pub slot_minutes: u16,
    /// Time kept free after each slot (room turnover, notes).
    pub buffer_minutes: u16,
    pub capacity: u16,
}

/// Weekdays by English name in lower case, as administrators write them in JSON.
mod weekday_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::Weekday;

    const NAMES: [(Weekday, &str); 7] = [
        (Weekday::Monday, "monday"),
        (Weekday::Tuesday, "tuesday"),
        (Weekday::Wednesday, "wednesday"),
        (Weekday::Thursday, "thursday"),
        (Weekday::Friday, "friday"),
        (Weekday::Saturday, "saturday"),
        (Weekday::Sunday, "sunday"),
    ];

    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES
            .iter()
            .find(|(d, _)| d == day)
            .map(|(_, n)| *n)
            .unwrap_or("monday");
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let raw = String::deserialize(d)?.to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(_, n)| *n == raw)
            .map(|(d, _)| *d)
            .ok_or_else(|| D::Error::custom("expected a weekday name"))
    }
}

/// A slot to be stored: UTC instants and its capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotSpec {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub capacity: u16,
}

/// The slots of `patterns` on every date in `[from, to]` for which `is_open(date)` holds
/// (the municipal calendar: holidays, year-end closure, the office's closing days).
pub fn slots_for_range(
    patterns: &[WeeklyPattern],
    from: Date,
    to: Date,
    is_open: impl Fn(Date) -> bool,
) -> Vec<SlotSpec> {
    let mut slots = Vec::new();
    let mut day = from;
    while day <= to {
        if is_open(day) {
            for pattern in patterns.iter().filter(|p| p.weekday == day.weekday()) {
                slots.extend(pattern_slots(pattern, day));
            }
        }
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    slots.sort_by_key(|s| s.start);
    slots
}

fn pattern_slots(pattern: &WeeklyPattern, day: Date) -> Vec<SlotSpec> {
    let length = Duration::minutes(i64::from(pattern.slot_minutes.max(1)));
    let step = length + Duration::minutes(i64::from(pattern.buffer_minutes));
    let to_utc = |t: Time| {
        PrimitiveDateTime::new(day, t)
            .assume_offset(JST)
            .to_offset(UtcOffset::UTC)
    };
    let (open, close) = (to_utc(pattern.start), to_utc(pattern.end));
    let mut slots = Vec::new();
    let mut start = open;
    while start + length <= close {
        slots.push(SlotSpec {
            start,
            end: start + length,
            capacity: pattern.capacity,
        });
        start += step;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn a_morning_of_consultations_with_buffers_gives_four_slots() {
        let tuesday = WeeklyPattern {
            weekday: Weekday::Tuesday,
            start: time!(09:00),
            end: time!(12:00),
            slot_minutes: 30,
            buffer_minutes: 15,
            capacity: 1,
        };
        let slots = slots_for_range(
            &[tuesday],
            date!(2026 - 12 - 01),
            date!(2026 - 12 - 07),
            |_| true,
        );
        let starts: Vec<_> = slots.iter().map(|s| s.start).collect();
        // 09:00, 09:45, 10:30, 11:15 JST; 12:00 would end past closing.
        assert_eq!(
            starts,
            vec![
                datetime!(2026-12-01 00:00 UTC),
                datetime!(2026-12-01 00:45 UTC),
                datetime!(2026-12-01 01:30 UTC),
                datetime!(2026-12-01 02:15 UTC),
            ]
        );
        assert!(
            slots
                .iter()
                .all(|s| s.end - s.start == Duration::minutes(30) && s.capacity == 1)
        );
    }

    #[test]
    fn closed_days_produce_no_slots() {
        let session = WeeklyPattern {
            weekday: Weekday::Thursday,
            start: time!(13:00),
            end: time!(16:00),
            slot_minutes: 180,
            buffer_minutes: 0,
            capacity: 30,
        };
        let slots = slots_for_range(
            &[session],
            date!(2026 - 12 - 24),
            date!(2027 - 01 - 07),
            |d| d != date!(2026 - 12 - 31),
        );
        // Thursdays 12/24, 12/31 (closed), 1/7.
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0].capacity, 30);
    }
}
