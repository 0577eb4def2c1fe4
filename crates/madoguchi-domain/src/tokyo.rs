//! Japan Standard Time: instants are stored in UTC and shown to users in Asia/Tokyo (UTC+9, no DST).

use time::{OffsetDateTime, UtcOffset, macros::offset};

/// Japan has observed no daylight saving time since 1951, so a fixed offset is exact.
pub const JST: UtcOffset = offset!(+9);

/// The same instant as seen on a clock in Japan.
pub fn to_tokyo(instant: OffsetDateTime) -> OffsetDateTime {
    instant.to_offset(JST)
}

/// The instant a Tokyo calendar day begins (00:00 JST), in UTC: the lower bound of "slots
/// on this day" and of per-period limits.
pub fn start_of_tokyo_day(date: time::Date) -> OffsetDateTime {
    time::PrimitiveDateTime::new(date, time::Time::MIDNIGHT)
        .assume_offset(JST)
        .to_offset(UtcOffset::UTC)
}

/// `2026-11-21 09:05` in Tokyo time, for pages and mail.
pub fn format_tokyo_minutes(instant: OffsetDateTime) -> String {
    let t = to_tokyo(instant);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_tokyo_day_starts_at_fifteen_hundred_utc_the_day_before() {
        assert_eq!(
            start_of_tokyo_day(time::macros::date!(2026 - 12 - 01)),
            datetime!(2026-11-30 15:00 UTC)
        );
    }

    #[test]
    fn utc_evening_is_the_next_morning_in_tokyo() {
        let utc = datetime!(2026-11-21 23:30 UTC);
        assert_eq!(format_tokyo_minutes(utc), "2026-11-22 08:30");
    }
}
