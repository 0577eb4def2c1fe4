//! Dates and times as residents read them, always on the clock in Japan (Asia/Tokyo).
//!
//! Japanese: `2026年12月3日（木）10:00〜10:30`, with the weekday in kanji and full-width
//! brackets, as on the city's paper notices. English: `Thu 3 Dec 2026, 10:00–10:30 (JST)`.

use madoguchi_domain::Lang;
use madoguchi_domain::tokyo::to_tokyo;
use time::{Month, OffsetDateTime, Weekday};

/// `木` for Thursday.
pub fn ja_weekday(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "月",
        Weekday::Tuesday => "火",
        Weekday::Wednesday => "水",
        Weekday::Thursday => "木",
        Weekday::Friday => "金",
        Weekday::Saturday => "土",
        Weekday::Sunday => "日",
    }
}

fn en_weekday(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

fn en_month(month: Month) -> &'static str {
    match month {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

/// `2026年12月3日（木）` (Tokyo date of the instant).
pub fn ja_date(instant: OffsetDateTime) -> String {
    let t = to_tokyo(instant);
    format!(
        "{}年{}月{}日（{}）",
        t.year(),
        u8::from(t.month()),
        t.day(),
        ja_weekday(t.weekday())
    )
}

/// `Thu 3 Dec 2026` (Tokyo date of the instant).
pub fn en_date(instant: OffsetDateTime) -> String {
    let t = to_tokyo(instant);
    format!(
        "{} {} {} {}",
        en_weekday(t.weekday()),
        t.day(),
        en_month(t.month()),
        t.year()
    )
}

/// `10:00` on a 24-hour clock in Tokyo.
pub fn clock(instant: OffsetDateTime) -> String {
    let t = to_tokyo(instant);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// One instant with its date: `2026年12月1日（火）17:00` / `Tue 1 Dec 2026, 17:00 (JST)`.
pub fn instant(lang: Lang, at: OffsetDateTime) -> String {
    match lang {
        Lang::Ja => format!("{}{}", ja_date(at), clock(at)),
        Lang::En => format!("{}, {} (JST)", en_date(at), clock(at)),
    }
}

/// A period: `2026年12月3日（木）10:00〜10:30` / `Thu 3 Dec 2026, 10:00–10:30 (JST)`. A period
/// that ends on another Tokyo day names both dates.
pub fn period(lang: Lang, start: OffsetDateTime, end: OffsetDateTime) -> String {
    let same_day = to_tokyo(start).date() == to_tokyo(end).date();
    match (lang, same_day) {
        (Lang::Ja, true) => format!("{}{}〜{}", ja_date(start), clock(start), clock(end)),
        (Lang::Ja, false) => format!(
            "{}{}〜{}{}",
            ja_date(start),
            clock(start),
            ja_date(end),
            clock(end)
        ),
        (Lang::En, true) => format!("{}, {}–{} (JST)", en_date(start), clock(start), clock(end)),
        (Lang::En, false) => format!(
            "{}, {} – {}, {} (JST)",
            en_date(start),
            clock(start),
            en_date(end),
            clock(end)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn japanese_dates_carry_the_weekday_in_kanji() {
        let cases = [
            (datetime!(2026-12-03 01:00 UTC), "2026年12月3日（木）"),
            (datetime!(2027-01-01 00:00 UTC), "2027年1月1日（金）"),
            (datetime!(2026-02-28 03:00 UTC), "2026年2月28日（土）"),
            (datetime!(2028-02-29 03:00 UTC), "2028年2月29日（火）"),
            (datetime!(2026-11-23 03:00 UTC), "2026年11月23日（月）"),
        ];
        for (instant, expected) in cases {
            assert_eq!(ja_date(instant), expected);
        }
    }

    #[test]
    fn a_period_is_shown_on_the_clock_in_tokyo() {
        let start = datetime!(2026-12-03 01:00 UTC);
        let end = datetime!(2026-12-03 01:30 UTC);
        assert_eq!(
            period(Lang::Ja, start, end),
            "2026年12月3日（木）10:00〜10:30"
        );
        assert_eq!(
            period(Lang::En, start, end),
            "Thu 3 Dec 2026, 10:00–10:30 (JST)"
        );
    }

    #[test]
    fn a_late_utc_evening_is_the_next_morning_and_weekday_in_tokyo() {
        // Wednesday 23:30 UTC is Thursday 08:30 in Japan.
        let start = datetime!(2026-12-02 23:30 UTC);
        let end = datetime!(2026-12-03 00:00 UTC);
        assert_eq!(
            period(Lang::Ja, start, end),
            "2026年12月3日（木）08:30〜09:00"
        );
    }

    #[test]
    fn a_period_over_midnight_names_both_days() {
        let start = datetime!(2026-12-03 13:00 UTC);
        let end = datetime!(2026-12-03 16:00 UTC);
        assert_eq!(
            period(Lang::Ja, start, end),
            "2026年12月3日（木）22:00〜2026年12月4日（金）01:00"
        );
        assert_eq!(
            period(Lang::En, start, end),
            "Thu 3 Dec 2026, 22:00 – Fri 4 Dec 2026, 01:00 (JST)"
        );
    }

    #[test]
    fn a_deadline_is_one_instant_with_its_date() {
        let at = datetime!(2026-12-01 08:00 UTC);
        assert_eq!(instant(Lang::Ja, at), "2026年12月1日（火）17:00");
        assert_eq!(instant(Lang::En, at), "Tue 1 Dec 2026, 17:00 (JST)");
    }
}
