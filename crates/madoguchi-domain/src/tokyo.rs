//! Japan Standard Time: instants are stored in UTC and shown to users in Asia/Tokyo (UTC+9, no DST).

use crate::ErrorCode;
use time::{OffsetDateTime, UtcOffset, macros::offset};

/// Japan has observed no daylight saving time since 1951, so a fixed offset is exact.
pub const JST: UtcOffset = offset!(+9);

/// The first and last years any date given by a user may fall in. Wider than any booking, birth
/// date or calendar setting needs (national holidays are computed for 1980–2099), and far inside
/// what `time` can represent, so arithmetic of a day or a month on an accepted date cannot leave
/// its range.
pub const EARLIEST_YEAR: i32 = 1900;
pub const LATEST_YEAR: i32 = 2200;

/// Whether `date` lies in the years users may give ([`EARLIEST_YEAR`]–[`LATEST_YEAR`]).
pub fn is_supported_date(date: time::Date) -> bool {
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year())
}

/// A date given by a user, refused with `date_out_of_range` outside the supported years.
pub fn supported_date(date: time::Date) -> Result<time::Date, ErrorCode> {
    if is_supported_date(date) {
        Ok(date)
    } else {
        Err(ErrorCode::DateOutOfRange)
    }
}

/// The same instant as seen on a clock in Japan. Never panics: an instant in the last nine hours
/// `time` can represent has no Tokyo reading and is returned as it is (inputs are kept far from
/// there by [`supported_date`]).
pub fn to_tokyo(instant: OffsetDateTime) -> OffsetDateTime {
    instant.checked_to_offset(JST).unwrap_or(instant)
}

/// The instant a Tokyo calendar day begins (00:00 JST), or `None` for the first day `time`
/// can represent, whose Tokyo midnight has no UTC reading.
pub fn checked_start_of_tokyo_day(date: time::Date) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::new(date, time::Time::MIDNIGHT)
        .assume_offset(JST)
        .checked_to_offset(UtcOffset::UTC)
}

/// The instant a Tokyo calendar day begins (00:00 JST), in UTC: the lower bound of "slots
/// on this day" and of per-period limits. Never panics: for the one date without a UTC reading
/// (see [`checked_start_of_tokyo_day`]) it answers midnight UTC; user input never gets there,
/// since dates are checked with [`supported_date`] where they are parsed.
pub fn start_of_tokyo_day(date: time::Date) -> OffsetDateTime {
    checked_start_of_tokyo_day(date)
        .unwrap_or_else(|| time::PrimitiveDateTime::new(date, time::Time::MIDNIGHT).assume_utc())
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
    fn the_extremes_of_time_do_not_panic() {
        assert!(checked_start_of_tokyo_day(time::Date::MIN).is_none());
        let _ = start_of_tokyo_day(time::Date::MIN);
        let last = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(to_tokyo(last), last);
        let _ = format_tokyo_minutes(last);
    }

    #[test]
    fn dates_outside_1900_to_2200_are_refused() {
        use time::macros::date;
        assert!(supported_date(date!(1900 - 01 - 01)).is_ok());
        assert!(supported_date(date!(2200 - 12 - 31)).is_ok());
        assert_eq!(
            supported_date(date!(1899 - 12 - 31)),
            Err(ErrorCode::DateOutOfRange)
        );
        assert_eq!(
            supported_date(date!(-0001 - 01 - 01)),
            Err(ErrorCode::DateOutOfRange)
        );
    }

    #[test]
    fn utc_evening_is_the_next_morning_in_tokyo() {
        let utc = datetime!(2026-11-21 23:30 UTC);
        assert_eq!(format_tokyo_minutes(utc), "2026-11-22 08:30");
    }
}
