//! The holidays computed from the Public Holiday Act, against the hand-written fixture and the
//! cases each rule exists for.

use std::collections::BTreeMap;

use madoguchi_calendar::{
    CalendarError, HolidayKind, autumnal_equinox_day, holiday_on, holidays_in_year,
    parse_cabinet_office_csv, vernal_equinox_day,
};
use time::{Date, macros::date};

use crate::FIXTURE_2020_2030;

fn kind_on(date: Date) -> Option<HolidayKind> {
    holiday_on(date).expect("year is computed").map(|h| h.kind)
}

fn name_on(date: Date) -> Option<&'static str> {
    holiday_on(date)
        .expect("year is computed")
        .map(|h| h.name_ja())
}

#[test]
fn every_holiday_of_2020_to_2030_matches_the_fixture_in_date_and_name() {
    let fixture = parse_cabinet_office_csv(FIXTURE_2020_2030.as_bytes()).expect("fixture parses");
    let mut expected: BTreeMap<i32, Vec<(Date, String)>> = BTreeMap::new();
    for entry in fixture.entries() {
        expected
            .entry(entry.date.year())
            .or_default()
            .push((entry.date, entry.name.clone()));
    }
    assert_eq!(
        expected.keys().copied().collect::<Vec<_>>(),
        (2020..=2030).collect::<Vec<_>>()
    );
    for (year, expected) in expected {
        let computed: Vec<(Date, String)> = holidays_in_year(year)
            .expect("year is computed")
            .into_iter()
            .map(|h| (h.date, h.name_ja().to_owned()))
            .collect();
        assert_eq!(computed, expected, "holidays of {year}");
    }
}

#[test]
fn the_equinox_days_of_2020_to_2030_are_the_published_ones() {
    let vernal = [20, 20, 21, 21, 20, 20, 20, 21, 20, 20, 20];
    let autumnal = [22, 23, 23, 23, 22, 23, 23, 23, 22, 23, 23];
    for (offset, (spring, autumn)) in vernal.into_iter().zip(autumnal).enumerate() {
        let year = 2020 + offset as i32;
        assert_eq!(
            vernal_equinox_day(year).map(|d| d.day()),
            Ok(spring),
            "{year}"
        );
        assert_eq!(
            autumnal_equinox_day(year).map(|d| d.day()),
            Ok(autumn),
            "{year}"
        );
    }
}

#[test]
fn an_equinox_on_a_sunday_gives_a_substitute_holiday_on_monday() {
    assert_eq!(
        kind_on(date!(2027 - 03 - 21)),
        Some(HolidayKind::VernalEquinoxDay)
    );
    assert_eq!(
        kind_on(date!(2027 - 03 - 22)),
        Some(HolidayKind::SubstituteHoliday)
    );
    assert_eq!(
        kind_on(date!(2024 - 09 - 22)),
        Some(HolidayKind::AutumnalEquinoxDay)
    );
    assert_eq!(
        kind_on(date!(2024 - 09 - 23)),
        Some(HolidayKind::SubstituteHoliday)
    );
}

#[test]
fn a_sunday_holiday_moves_to_monday_and_is_named_kyujitsu() {
    let holiday = holiday_on(date!(2024 - 02 - 12))
        .expect("computed")
        .expect("holiday");
    assert_eq!(holiday.kind, HolidayKind::SubstituteHoliday);
    assert_eq!(holiday.name_ja(), "休日");
    assert_eq!(holiday.name_en(), "Substitute Holiday");
    assert_eq!(
        kind_on(date!(2021 - 08 - 09)),
        Some(HolidayKind::SubstituteHoliday)
    );
}

#[test]
fn since_2007_a_substitute_holiday_skips_the_following_national_holidays() {
    // 2025-05-04 (みどりの日) was a Sunday; 5/5 is こどもの日, so the substitute is 5/6.
    assert_eq!(
        kind_on(date!(2025 - 05 - 05)),
        Some(HolidayKind::ChildrensDay)
    );
    assert_eq!(
        kind_on(date!(2025 - 05 - 06)),
        Some(HolidayKind::SubstituteHoliday)
    );
    // 2026-05-03 (憲法記念日) was a Sunday; 5/4 and 5/5 are holidays, so the substitute is 5/6.
    assert_eq!(
        kind_on(date!(2026 - 05 - 06)),
        Some(HolidayKind::SubstituteHoliday)
    );
}

#[test]
fn before_2007_a_substitute_holiday_was_only_the_next_day() {
    assert_eq!(
        kind_on(date!(2006 - 01 - 02)),
        Some(HolidayKind::SubstituteHoliday)
    );
    assert_eq!(
        kind_on(date!(1987 - 05 - 04)),
        Some(HolidayKind::SubstituteHoliday)
    );
    // 2003-05-04 was a Sunday between two national holidays: no holiday under the old rule.
    assert_eq!(kind_on(date!(2003 - 05 - 04)), None);
    assert_eq!(kind_on(date!(2003 - 05 - 06)), None);
}

#[test]
fn a_day_between_two_national_holidays_is_a_citizens_holiday() {
    for day in [
        date!(2026 - 09 - 22),
        date!(2032 - 09 - 21),
        date!(2015 - 09 - 22),
        date!(2009 - 09 - 22),
        date!(1988 - 05 - 04),
    ] {
        let holiday = holiday_on(day).expect("computed").expect("holiday");
        assert_eq!(holiday.kind, HolidayKind::CitizensHoliday, "{day}");
        assert_eq!(holiday.name_ja(), "休日", "{day}");
        assert_eq!(holiday.name_en(), "Citizens' Holiday", "{day}");
    }
}

#[test]
fn the_citizens_holiday_rule_started_in_1986_and_skipped_sundays_before_2007() {
    assert_eq!(kind_on(date!(1985 - 05 - 04)), None);
    assert_eq!(kind_on(date!(1986 - 05 - 04)), None, "a Sunday");
    assert_eq!(
        kind_on(date!(1991 - 05 - 04)),
        Some(HolidayKind::CitizensHoliday)
    );
}

#[test]
fn the_emperors_birthday_moved_from_december_to_february_with_none_in_2019() {
    assert_eq!(
        kind_on(date!(1988 - 04 - 29)),
        Some(HolidayKind::EmperorsBirthday)
    );
    assert_eq!(
        kind_on(date!(1989 - 04 - 29)),
        Some(HolidayKind::GreeneryDay)
    );
    assert_eq!(
        kind_on(date!(2018 - 12 - 23)),
        Some(HolidayKind::EmperorsBirthday)
    );
    assert_eq!(
        kind_on(date!(2018 - 12 - 24)),
        Some(HolidayKind::SubstituteHoliday)
    );
    assert_eq!(kind_on(date!(2019 - 12 - 23)), None);
    assert_eq!(kind_on(date!(2019 - 02 - 23)), None);
    assert_eq!(
        kind_on(date!(2020 - 02 - 23)),
        Some(HolidayKind::EmperorsBirthday)
    );
    assert_eq!(kind_on(date!(2007 - 04 - 29)), Some(HolidayKind::ShowaDay));
    assert_eq!(
        kind_on(date!(2007 - 05 - 04)),
        Some(HolidayKind::GreeneryDay)
    );
}

#[test]
fn the_2019_enthronement_holidays_are_spelled_as_the_cabinet_office_does() {
    assert_eq!(name_on(date!(2019 - 04 - 29)), Some("昭和の日"));
    assert_eq!(name_on(date!(2019 - 04 - 30)), Some("休日"));
    assert_eq!(name_on(date!(2019 - 05 - 01)), Some("休日（祝日扱い）"));
    assert_eq!(name_on(date!(2019 - 05 - 02)), Some("休日"));
    assert_eq!(name_on(date!(2019 - 05 - 06)), Some("休日"));
    assert_eq!(
        name_on(date!(2019 - 10 - 14)),
        Some("体育の日（スポーツの日）")
    );
    assert_eq!(name_on(date!(2019 - 10 - 22)), Some("休日（祝日扱い）"));
    assert_eq!(
        kind_on(date!(2019 - 04 - 30)),
        Some(HolidayKind::CitizensHoliday)
    );
    assert_eq!(
        kind_on(date!(2019 - 05 - 01)),
        Some(HolidayKind::EnthronementDay)
    );
    assert_eq!(
        kind_on(date!(2019 - 05 - 02)),
        Some(HolidayKind::CitizensHoliday)
    );
    assert_eq!(
        kind_on(date!(2019 - 10 - 22)),
        Some(HolidayKind::EnthronementCeremony)
    );
    assert_eq!(name_on(date!(1990 - 11 - 12)), Some("即位礼正殿の儀"));
    assert_eq!(name_on(date!(1989 - 02 - 24)), Some("大喪の礼"));
    assert_eq!(name_on(date!(1993 - 06 - 09)), Some("結婚の儀"));
}

#[test]
fn the_olympic_years_moved_three_holidays_and_left_october_empty() {
    assert_eq!(kind_on(date!(2020 - 07 - 23)), Some(HolidayKind::MarineDay));
    assert_eq!(kind_on(date!(2020 - 07 - 24)), Some(HolidayKind::SportsDay));
    assert_eq!(
        kind_on(date!(2020 - 08 - 10)),
        Some(HolidayKind::MountainDay)
    );
    assert_eq!(kind_on(date!(2020 - 08 - 11)), None);
    assert_eq!(kind_on(date!(2021 - 07 - 22)), Some(HolidayKind::MarineDay));
    assert_eq!(kind_on(date!(2021 - 07 - 23)), Some(HolidayKind::SportsDay));
    assert_eq!(
        kind_on(date!(2021 - 08 - 08)),
        Some(HolidayKind::MountainDay)
    );
    for year in [2020, 2021] {
        let october = holidays_in_year(year)
            .expect("computed")
            .into_iter()
            .filter(|h| h.date.month() == time::Month::October)
            .count();
        assert_eq!(october, 0, "{year}");
    }
}

#[test]
fn happy_monday_holidays_replaced_the_fixed_dates() {
    assert_eq!(
        kind_on(date!(1999 - 01 - 15)),
        Some(HolidayKind::ComingOfAgeDay)
    );
    assert_eq!(
        kind_on(date!(2000 - 01 - 10)),
        Some(HolidayKind::ComingOfAgeDay)
    );
    assert_eq!(
        kind_on(date!(1999 - 10 - 10)),
        Some(HolidayKind::HealthAndSportsDay)
    );
    assert_eq!(
        kind_on(date!(2000 - 10 - 09)),
        Some(HolidayKind::HealthAndSportsDay)
    );
    assert_eq!(kind_on(date!(2002 - 07 - 20)), Some(HolidayKind::MarineDay));
    assert_eq!(kind_on(date!(2003 - 07 - 21)), Some(HolidayKind::MarineDay));
    assert_eq!(
        kind_on(date!(2002 - 09 - 15)),
        Some(HolidayKind::RespectForTheAgedDay)
    );
    assert_eq!(
        kind_on(date!(2003 - 09 - 15)),
        Some(HolidayKind::RespectForTheAgedDay)
    );
    assert_eq!(
        kind_on(date!(2004 - 09 - 20)),
        Some(HolidayKind::RespectForTheAgedDay)
    );
    assert_eq!(kind_on(date!(1995 - 07 - 20)), None, "海の日 began in 1996");
    assert_eq!(kind_on(date!(2015 - 08 - 11)), None, "山の日 began in 2016");
}

#[test]
fn every_computed_year_is_sorted_without_duplicates_and_has_english_names() {
    for year in 1980..=2099 {
        let holidays = holidays_in_year(year).expect("computed");
        assert!(
            holidays.windows(2).all(|pair| pair[0].date < pair[1].date),
            "{year} is sorted with one holiday per date"
        );
        assert!(
            (12..=22).contains(&holidays.len()),
            "{year} has {}",
            holidays.len()
        );
        assert!(holidays.iter().all(|h| h.date.year() == year));
        assert!(holidays.iter().all(|h| !h.name_en().is_empty()));
    }
}

#[test]
fn years_outside_1980_to_2099_are_not_guessed() {
    assert_eq!(
        holidays_in_year(1979),
        Err(CalendarError::YearNotCovered { year: 1979 })
    );
    assert_eq!(
        vernal_equinox_day(2100),
        Err(CalendarError::YearNotCovered { year: 2100 })
    );
}

#[test]
fn a_holiday_serialises_with_an_iso_date_and_a_snake_case_kind() {
    let holiday = holiday_on(date!(2026 - 09 - 22))
        .expect("computed")
        .expect("holiday");
    let json = serde_json::to_value(holiday).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({ "date": "2026-09-22", "kind": "citizens_holiday" })
    );
    assert_eq!(
        serde_json::from_value::<madoguchi_calendar::Holiday>(json).expect("deserialises"),
        holiday
    );
}
