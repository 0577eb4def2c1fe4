//! The municipal calendar: open days, reasons for closing, moved deadlines and office rules.

use madoguchi_calendar::{
    CalendarError, ClosedReason, ClosingRule, ImportedHoliday, ImportedHolidays, MonthDay,
    MunicipalCalendar, OfficeClosingDays, OnHoliday, WeekOfMonth, YearEndClosure,
};
use madoguchi_domain::{Lang, OfficeId};
use time::{Date, Weekday, macros::date};
use uuid::Uuid;

const CITY_HALL: OfficeId = OfficeId(Uuid::from_u128(1));
const COMMUNITY_CENTRE: OfficeId = OfficeId(Uuid::from_u128(2));
const LIBRARY: OfficeId = OfficeId(Uuid::from_u128(3));

/// A 公民館 that keeps the municipal days off and also closes every Monday.
fn closed_on_mondays() -> OfficeClosingDays {
    OfficeClosingDays {
        open_on_weekends_and_holidays: false,
        rules: vec![ClosingRule::Weekly {
            weekday: Weekday::Monday,
            on_holiday: OnHoliday::StayClosed,
        }],
    }
}

/// A library open on weekends and holidays, closed on Mondays (the next weekday when Monday is
/// a holiday), on the third Thursday of each month, and for an inspection day.
fn library() -> OfficeClosingDays {
    OfficeClosingDays {
        open_on_weekends_and_holidays: true,
        rules: vec![
            ClosingRule::Weekly {
                weekday: Weekday::Monday,
                on_holiday: OnHoliday::CloseNextWeekday,
            },
            ClosingRule::MonthlyWeekday {
                week: WeekOfMonth::Third,
                weekday: Weekday::Thursday,
            },
            ClosingRule::Date {
                date: date!(2026 - 06 - 10),
                note: Some("設備点検".into()),
            },
        ],
    }
}

fn calendar() -> MunicipalCalendar {
    MunicipalCalendar::builder()
        .office(COMMUNITY_CENTRE, closed_on_mondays())
        .office(LIBRARY, library())
        .build()
        .expect("valid calendar")
}

fn open(calendar: &MunicipalCalendar, office: OfficeId, day: Date) -> bool {
    calendar.is_open(office, day).expect("covered")
}

fn reason(calendar: &MunicipalCalendar, office: OfficeId, day: Date) -> Option<ClosedReason> {
    calendar.closed_reason(office, day).expect("covered")
}

#[test]
fn a_weekday_without_a_holiday_is_open_and_a_weekend_is_closed() {
    let calendar = calendar();
    assert!(open(&calendar, CITY_HALL, date!(2026 - 04 - 01)));
    assert_eq!(reason(&calendar, CITY_HALL, date!(2026 - 04 - 01)), None);
    assert_eq!(
        reason(&calendar, CITY_HALL, date!(2026 - 04 - 04)),
        Some(ClosedReason::Weekend {
            weekday: Weekday::Saturday
        })
    );
}

#[test]
fn a_holiday_is_closed_and_the_reason_carries_its_name() {
    let calendar = calendar();
    let Some(ClosedReason::Holiday { holiday }) =
        reason(&calendar, CITY_HALL, date!(2026 - 01 - 12))
    else {
        panic!("成人の日 is a holiday");
    };
    assert_eq!(holiday.name_ja(), "成人の日");
    assert_eq!(holiday.name_en(), "Coming of Age Day");
    let reason = reason(&calendar, CITY_HALL, date!(2026 - 09 - 22)).expect("closed");
    assert_eq!(reason.describe(Lang::Ja), "休日");
    assert_eq!(reason.describe(Lang::En), "Citizens' Holiday");
}

#[test]
fn the_default_year_end_closure_runs_from_december_29_to_january_3() {
    let calendar = calendar();
    assert!(open(&calendar, CITY_HALL, date!(2026 - 12 - 28)));
    for day in [
        date!(2026 - 12 - 29),
        date!(2026 - 12 - 30),
        date!(2026 - 12 - 31),
    ] {
        assert_eq!(
            reason(&calendar, CITY_HALL, day),
            Some(ClosedReason::YearEndClosure),
            "{day}"
        );
    }
    // New Year's Day is closed for two reasons; the holiday is named first.
    let reasons = calendar
        .closed_reasons(CITY_HALL, date!(2027 - 01 - 01))
        .expect("covered");
    assert!(
        matches!(&reasons[0], ClosedReason::Holiday { holiday } if holiday.name_ja() == "元日")
    );
    assert!(reasons.contains(&ClosedReason::YearEndClosure));
    assert_eq!(
        reason(&calendar, CITY_HALL, date!(2027 - 01 - 02)),
        Some(ClosedReason::YearEndClosure)
    );
    assert_eq!(
        reason(&calendar, CITY_HALL, date!(2027 - 01 - 03)),
        Some(ClosedReason::YearEndClosure)
    );
    assert!(open(&calendar, CITY_HALL, date!(2027 - 01 - 04)));
    assert_eq!(
        ClosedReason::YearEndClosure.describe(Lang::Ja),
        "年末年始の閉庁日"
    );
}

#[test]
fn a_city_can_set_its_own_year_end_closure_or_none() {
    let longer = YearEndClosure::new(
        MonthDay::new(12, 28).expect("valid"),
        MonthDay::new(1, 4).expect("valid"),
    )
    .expect("eight days");
    let calendar = MunicipalCalendar::builder()
        .year_end_closure(Some(longer))
        .build()
        .expect("valid");
    assert!(!open(&calendar, CITY_HALL, date!(2026 - 12 - 28)));
    assert!(!open(&calendar, CITY_HALL, date!(2027 - 01 - 04)));
    assert!(open(&calendar, CITY_HALL, date!(2027 - 01 - 05)));

    let none = MunicipalCalendar::builder()
        .year_end_closure(None)
        .build()
        .expect("valid");
    assert!(open(&none, CITY_HALL, date!(2026 - 12 - 29)));
    assert!(
        !open(&none, CITY_HALL, date!(2027 - 01 - 01)),
        "元日 is still a holiday"
    );
}

#[test]
fn a_year_end_closure_longer_than_a_month_is_refused() {
    assert_eq!(
        YearEndClosure::new(
            MonthDay::new(12, 1).expect("valid"),
            MonthDay::new(1, 31).expect("valid")
        ),
        Err(CalendarError::YearEndClosureTooLong {
            days: 62,
            max_days: 31
        })
    );
    assert_eq!(
        MonthDay::new(2, 30),
        Err(CalendarError::InvalidMonthDay { month: 2, day: 30 })
    );
}

#[test]
fn an_office_closed_on_mondays_is_closed_every_monday_and_on_municipal_days_off() {
    let calendar = calendar();
    assert_eq!(
        reason(&calendar, COMMUNITY_CENTRE, date!(2026 - 04 - 06)),
        Some(ClosedReason::OfficeClosingDay {
            rule: ClosingRule::Weekly {
                weekday: Weekday::Monday,
                on_holiday: OnHoliday::StayClosed
            }
        })
    );
    assert!(open(&calendar, CITY_HALL, date!(2026 - 04 - 06)));
    assert!(open(&calendar, COMMUNITY_CENTRE, date!(2026 - 04 - 07)));
    assert!(!open(&calendar, COMMUNITY_CENTRE, date!(2026 - 04 - 04)));
    assert!(!open(&calendar, COMMUNITY_CENTRE, date!(2026 - 04 - 29)));
}

#[test]
fn a_library_open_on_holidays_moves_its_monday_closing_to_the_next_weekday() {
    let calendar = calendar();
    // Open on a Saturday and on 成人の日 (a Monday), closed the Tuesday after instead.
    assert!(open(&calendar, LIBRARY, date!(2026 - 01 - 10)));
    assert!(open(&calendar, LIBRARY, date!(2026 - 01 - 12)));
    assert!(!open(&calendar, LIBRARY, date!(2026 - 01 - 13)));
    assert!(open(&calendar, LIBRARY, date!(2026 - 01 - 14)));
    // 2026-09-21 敬老の日 (Mon), 9/22 国民の休日, 9/23 秋分の日: the closing moves to Thursday.
    for day in [
        date!(2026 - 09 - 21),
        date!(2026 - 09 - 22),
        date!(2026 - 09 - 23),
    ] {
        assert!(open(&calendar, LIBRARY, day), "{day}");
    }
    assert!(!open(&calendar, LIBRARY, date!(2026 - 09 - 24)));
    assert!(open(&calendar, LIBRARY, date!(2026 - 09 - 25)));
    // An ordinary Monday stays closed; the year-end closure applies to every office.
    assert!(!open(&calendar, LIBRARY, date!(2026 - 09 - 28)));
    assert!(!open(&calendar, LIBRARY, date!(2026 - 12 - 30)));
}

#[test]
fn monthly_and_dated_closing_days_close_the_office_with_their_note() {
    let calendar = calendar();
    // The third Thursday of June 2026 is the 18th.
    assert!(open(&calendar, LIBRARY, date!(2026 - 06 - 11)));
    assert!(!open(&calendar, LIBRARY, date!(2026 - 06 - 18)));
    let reason = reason(&calendar, LIBRARY, date!(2026 - 06 - 10)).expect("closed");
    assert_eq!(reason.describe(Lang::Ja), "休館日（設備点検）");
    assert_eq!(reason.describe(Lang::En), "Closing day (設備点検)");
}

#[test]
fn a_deadline_on_a_closed_day_moves_to_the_next_open_day() {
    let calendar = calendar();
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2026 - 04 - 01)),
        Ok(date!(2026 - 04 - 01))
    );
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2026 - 04 - 04)),
        Ok(date!(2026 - 04 - 06))
    );
    // Golden Week 2026: 5/2 Sat to 5/6 振替休日.
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2026 - 05 - 02)),
        Ok(date!(2026 - 05 - 07))
    );
}

#[test]
fn a_deadline_in_the_year_end_closure_moves_into_january() {
    let calendar = calendar();
    // 2029-12-28 is a Friday, the last open day of the year.
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2029 - 12 - 28)),
        Ok(date!(2029 - 12 - 28))
    );
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2029 - 12 - 29)),
        Ok(date!(2030 - 01 - 04))
    );
    // At an office also closed on Fridays, 12/28 moves past the closure and the weekend.
    let closed_fridays = MunicipalCalendar::builder()
        .office(
            COMMUNITY_CENTRE,
            OfficeClosingDays {
                open_on_weekends_and_holidays: false,
                rules: vec![ClosingRule::Weekly {
                    weekday: Weekday::Friday,
                    on_holiday: OnHoliday::StayClosed,
                }],
            },
        )
        .build()
        .expect("valid");
    assert_eq!(
        closed_fridays.next_open_day(COMMUNITY_CENTRE, date!(2029 - 12 - 28)),
        Ok(date!(2030 - 01 - 07))
    );
    // 2025-12-27 is a Saturday: the next open day is Monday 2026-01-05.
    assert_eq!(
        calendar.next_open_day(CITY_HALL, date!(2025 - 12 - 27)),
        Ok(date!(2026 - 01 - 05))
    );
}

#[test]
fn open_days_are_counted_after_the_date_skipping_closed_days() {
    let calendar = calendar();
    // 2026-04-28 (Tue) + 3 open days: 4/30, 5/1, then Golden Week until 5/6, so 5/7.
    assert_eq!(
        calendar.add_open_days(CITY_HALL, date!(2026 - 04 - 28), 3),
        Ok(date!(2026 - 05 - 07))
    );
    assert_eq!(
        calendar.add_open_days(CITY_HALL, date!(2026 - 04 - 04), 1),
        Ok(date!(2026 - 04 - 06))
    );
    assert_eq!(
        calendar.add_open_days(CITY_HALL, date!(2026 - 04 - 04), 0),
        Ok(date!(2026 - 04 - 06))
    );
    assert_eq!(
        calendar.add_open_days(CITY_HALL, date!(2026 - 04 - 06), 0),
        Ok(date!(2026 - 04 - 06))
    );
    // The community centre is also closed on Mondays.
    assert_eq!(
        calendar.add_open_days(COMMUNITY_CENTRE, date!(2026 - 04 - 03), 1),
        Ok(date!(2026 - 04 - 07))
    );
}

#[test]
fn next_open_day_returns_an_open_day_not_before_the_input_for_every_date_of_2020_to_2030() {
    let calendar = calendar();
    for office in [CITY_HALL, COMMUNITY_CENTRE, LIBRARY] {
        let mut day = date!(2020 - 01 - 01);
        while day <= date!(2030 - 12 - 31) {
            let next = calendar.next_open_day(office, day).expect("found");
            assert!(next >= day, "{day}");
            assert!(open(&calendar, office, next), "{day} → {next}");
            let mut between = day;
            while between < next {
                assert!(
                    !open(&calendar, office, between),
                    "{day} → {next} skips open {between}"
                );
                between = between.next_day().expect("in range");
            }
            day = day.next_day().expect("in range");
        }
    }
}

#[test]
fn an_office_closed_for_longer_than_the_search_limit_fails_instead_of_looping() {
    let calendar = MunicipalCalendar::builder()
        .office(
            COMMUNITY_CENTRE,
            OfficeClosingDays {
                open_on_weekends_and_holidays: false,
                rules: vec![ClosingRule::Period {
                    first: date!(2030 - 01 - 01),
                    last: date!(2045 - 12 - 31),
                    note: Some("改修工事".into()),
                }],
            },
        )
        .build()
        .expect("valid");
    assert_eq!(
        calendar.next_open_day(COMMUNITY_CENTRE, date!(2030 - 01 - 01)),
        Err(CalendarError::NoOpenDay {
            from: date!(2030 - 01 - 01),
            searched_days: 3_660
        })
    );
    assert!(open(&calendar, COMMUNITY_CENTRE, date!(2046 - 01 - 04)));
}

#[test]
fn rules_that_can_never_be_right_are_refused_when_the_calendar_is_built() {
    let every_day = OfficeClosingDays {
        open_on_weekends_and_holidays: true,
        rules: [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .map(|weekday| ClosingRule::Weekly {
            weekday,
            on_holiday: OnHoliday::StayClosed,
        })
        .collect(),
    };
    assert!(matches!(
        MunicipalCalendar::builder()
            .office(LIBRARY, every_day)
            .build(),
        Err(CalendarError::InvalidClosingRule {
            office: LIBRARY,
            ..
        })
    ));
    let backwards = OfficeClosingDays {
        open_on_weekends_and_holidays: false,
        rules: vec![ClosingRule::Period {
            first: date!(2026 - 05 - 01),
            last: date!(2026 - 04 - 01),
            note: None,
        }],
    };
    assert!(matches!(
        MunicipalCalendar::builder()
            .office(LIBRARY, backwards)
            .build(),
        Err(CalendarError::InvalidClosingRule { .. })
    ));
}

#[test]
fn an_imported_list_replaces_the_computed_holidays_of_its_years_only() {
    let imported = ImportedHolidays::new(vec![
        ImportedHoliday {
            date: date!(2026 - 01 - 01),
            name: "元日".into(),
        },
        ImportedHoliday {
            date: date!(2026 - 06 - 01),
            name: "臨時休日".into(),
        },
        ImportedHoliday {
            date: date!(1979 - 01 - 01),
            name: "元日".into(),
        },
    ])
    .expect("no duplicates");
    let calendar = MunicipalCalendar::builder()
        .imported_holidays(imported)
        .build()
        .expect("valid");

    let Some(ClosedReason::Holiday { holiday }) =
        reason(&calendar, CITY_HALL, date!(2026 - 06 - 01))
    else {
        panic!("the imported day is a holiday");
    };
    assert_eq!(holiday.name_ja(), "臨時休日");
    assert_eq!(
        holiday.name_en(),
        "臨時休日",
        "an unknown name has no translation"
    );
    assert_eq!(holiday.kind(), None);
    // 2026 is now exactly the list: 成人の日 is gone, 2025 and 2027 are still computed.
    assert!(open(&calendar, CITY_HALL, date!(2026 - 01 - 12)));
    assert_eq!(calendar.holidays_in_year(2026).expect("covered").len(), 2);
    assert!(!open(&calendar, CITY_HALL, date!(2027 - 01 - 11)));
    assert!(!open(&calendar, CITY_HALL, date!(2025 - 01 - 13)));
    // The list extends the covered years; others are not guessed.
    assert!(calendar.covers(1979));
    assert!(open(&calendar, CITY_HALL, date!(1979 - 01 - 04)));
    assert_eq!(
        calendar.is_open(CITY_HALL, date!(1978 - 06 - 01)),
        Err(CalendarError::YearNotCovered { year: 1978 })
    );
    assert_eq!(
        calendar.is_open(CITY_HALL, date!(2100 - 06 - 01)),
        Err(CalendarError::YearNotCovered { year: 2100 })
    );
}

#[test]
fn office_closing_days_are_data_with_a_stable_json_shape() {
    let json = serde_json::to_value(library()).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "open_on_weekends_and_holidays": true,
            "rules": [
                { "kind": "weekly", "weekday": "monday", "on_holiday": "close_next_weekday" },
                { "kind": "monthly_weekday", "week": "third", "weekday": "thursday" },
                { "kind": "date", "date": "2026-06-10", "note": "設備点検" },
            ]
        })
    );
    assert_eq!(
        serde_json::from_value::<OfficeClosingDays>(json).expect("deserialises"),
        library()
    );

    let minimal: OfficeClosingDays =
        serde_json::from_str(r#"{"rules":[{"kind":"weekly","weekday":"monday"}]}"#)
            .expect("defaults");
    assert_eq!(minimal, closed_on_mondays());
    for refused in [
        r#"{"rules":[{"kind":"weekly","weekday":"mon"}]}"#,
        r#"{"rules":[{"kind":"weekly","weekday":"monday","typo":true}]}"#,
        r#"{"rules":[{"kind":"fortnightly","weekday":"monday"}]}"#,
        r#"{"rules":[{"kind":"date","date":"2026/06/10"}]}"#,
        r#"{"open_on_weekends":true}"#,
    ] {
        assert!(
            serde_json::from_str::<OfficeClosingDays>(refused).is_err(),
            "{refused}"
        );
    }

    let closure = serde_json::to_value(YearEndClosure::default()).expect("serialises");
    assert_eq!(
        closure,
        serde_json::json!({ "first": "12-29", "last": "01-03" })
    );
    assert!(
        serde_json::from_value::<YearEndClosure>(
            serde_json::json!({ "first": "12-01", "last": "02-01" })
        )
        .is_err()
    );
}

#[test]
fn a_closed_reason_serialises_for_the_api() {
    let calendar = calendar();
    let reason = reason(&calendar, CITY_HALL, date!(2026 - 09 - 22)).expect("closed");
    assert_eq!(
        serde_json::to_value(&reason).expect("serialises"),
        serde_json::json!({
            "reason": "holiday",
            "holiday": { "source": "computed", "date": "2026-09-22", "kind": "citizens_holiday" }
        })
    );
}
