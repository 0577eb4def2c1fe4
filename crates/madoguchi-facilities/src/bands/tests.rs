//! Occupied ranges in UTC, the grid, the buffer, closing days, and what time rules refuse.

use super::*;
use madoguchi_calendar::{ClosingRule, MunicipalCalendar, OfficeClosingDays};
use madoguchi_domain::OfficeId;
use time::Weekday;
use time::macros::{date, datetime};

fn t(raw: &str) -> ClockTime {
    ClockTime::parse(raw).unwrap()
}

fn band(code: &str, date: Date, extension_minutes: u16) -> TimeRequest {
    TimeRequest::Band {
        date,
        band: BandCode::parse(code).unwrap(),
        extension_minutes,
    }
}

fn hours(date: Date, start: &str, end: &str) -> TimeRequest {
    TimeRequest::Hours {
        date,
        start: t(start),
        end: t(end),
    }
}

fn open(_: Date) -> Option<ClosedReason> {
    None
}

/// A meeting room by the hour: 09:00–22:00, one to four hours on a 30-minute grid, 15 minutes
/// of cleaning after each booking.
fn hourly() -> TimeRules {
    TimeRules::new(TimeRulesSpec {
        hours: OpeningHours {
            opens: t("09:00"),
            closes: t("22:00"),
        },
        mode: BookingMode::Hourly {
            min_minutes: 60,
            max_minutes: 240,
            granularity_minutes: 30,
        },
        buffer_minutes: 15,
    })
    .unwrap()
}

#[test]
fn an_afternoon_band_occupies_one_to_five_in_the_afternoon_tokyo_time() {
    let rules = TimeRules::default_bands().unwrap();
    let got = rules
        .occupancy(&band("afternoon", date!(2026 - 07 - 04), 0), &open)
        .unwrap();
    // 13:00 JST is 04:00 UTC, 17:00 JST is 08:00 UTC.
    assert_eq!(got.used.start(), datetime!(2026-07-04 04:00 UTC));
    assert_eq!(got.used.end(), datetime!(2026-07-04 08:00 UTC));
    assert_eq!(got.occupied, got.used);
    assert_eq!(got.use_minutes, 240);
}

#[test]
fn an_extension_lengthens_the_band_in_thirty_minute_steps_until_closing() {
    let rules = TimeRules::default_bands().unwrap();
    let day = date!(2026 - 07 - 04);
    let got = rules.occupancy(&band("afternoon", day, 60), &open).unwrap();
    assert_eq!(got.used.end(), datetime!(2026-07-04 09:00 UTC));
    assert_eq!(got.extension_minutes, 60);
    assert_eq!(
        rules.occupancy(&band("afternoon", day, 45), &open),
        Err(TimeError::ExtensionNotAllowed)
    );
    assert_eq!(
        rules.occupancy(&band("afternoon", day, 90), &open),
        Err(TimeError::ExtensionNotAllowed)
    );
    // 夜間 ends at closing time: nothing left to extend into.
    assert_eq!(
        rules
            .occupancy(&band("night", day, 30), &open)
            .unwrap_err()
            .code(),
        "facility_time_outside_hours"
    );
}

#[test]
fn an_hourly_booking_occupies_its_hours_plus_the_buffer() {
    let got = hourly()
        .occupancy(&hours(date!(2026 - 07 - 04), "10:30", "12:00"), &open)
        .unwrap();
    assert_eq!(got.used.start(), datetime!(2026-07-04 01:30 UTC));
    assert_eq!(got.used.end(), datetime!(2026-07-04 03:00 UTC));
    assert_eq!(got.occupied.end(), datetime!(2026-07-04 03:15 UTC));
    assert_eq!(got.use_minutes, 90);
}

#[test]
fn back_to_back_bookings_overlap_only_through_the_buffer() {
    let rules = hourly();
    let day = date!(2026 - 07 - 04);
    let first = rules
        .occupancy(&hours(day, "10:00", "12:00"), &open)
        .unwrap();
    let right_after = rules
        .occupancy(&hours(day, "12:00", "13:00"), &open)
        .unwrap();
    let after_cleaning = rules
        .occupancy(&hours(day, "12:30", "13:30"), &open)
        .unwrap();
    assert!(!ranges_overlap(&first.used, &right_after.used));
    assert!(ranges_overlap(&first.occupied, &right_after.occupied));
    assert!(!ranges_overlap(&first.occupied, &after_cleaning.occupied));
    assert!(!ranges_overlap(&after_cleaning.occupied, &first.occupied));
}

#[test]
fn hourly_requests_off_the_grid_outside_hours_or_of_a_bad_length_are_refused() {
    let rules = hourly();
    let day = date!(2026 - 07 - 04);
    let code = |s: &str, e: &str| {
        rules
            .occupancy(&hours(day, s, e), &open)
            .unwrap_err()
            .code()
    };
    assert_eq!(code("10:15", "11:15"), "facility_time_off_grid");
    assert_eq!(code("08:30", "10:00"), "facility_time_outside_hours");
    assert_eq!(code("21:00", "22:30"), "facility_time_outside_hours");
    assert_eq!(code("10:00", "10:00"), "facility_time_empty");
    assert_eq!(code("23:00", "01:00"), "facility_time_ends_before_start");
    assert_eq!(code("10:00", "10:30"), "facility_time_too_short");
    assert_eq!(code("10:00", "14:30"), "facility_time_too_long");
    assert_eq!(
        rules
            .occupancy(&band("morning", day, 0), &open)
            .unwrap_err()
            .code(),
        "facility_booking_mode_mismatch"
    );
}

#[test]
fn a_closing_day_of_the_municipal_calendar_is_refused_with_its_reason() {
    let office = OfficeId::new();
    let calendar = MunicipalCalendar::builder()
        .office(
            office,
            OfficeClosingDays {
                open_on_weekends_and_holidays: true,
                rules: vec![ClosingRule::Weekly {
                    weekday: Weekday::Monday,
                    on_holiday: madoguchi_calendar::OnHoliday::default(),
                }],
            },
        )
        .build()
        .unwrap();
    let days = OfficeDays {
        calendar: &calendar,
        office,
    };
    let rules = TimeRules::default_bands().unwrap();
    // 2026-07-06 is a Monday (休館日); Saturday 07-04 is open for this gymnasium.
    assert!(matches!(
        rules.occupancy(&band("morning", date!(2026 - 07 - 06), 0), &days),
        Err(TimeError::Closed(ClosedReason::OfficeClosingDay { .. }))
    ));
    assert!(
        rules
            .occupancy(&band("morning", date!(2026 - 07 - 04), 0), &days)
            .is_ok()
    );
    // New Year's Day: the year-end closure.
    assert_eq!(
        rules
            .occupancy(&band("morning", date!(2027 - 01 - 01), 0), &days)
            .unwrap_err()
            .code(),
        "facility_closed_day"
    );
}

#[test]
fn bands_must_lie_within_hours_and_not_touch_once_the_buffer_is_counted() {
    let mut spec = TimeRules::default_bands().unwrap().spec().clone();
    spec.buffer_minutes = 60;
    assert!(
        TimeRules::new(spec.clone()).is_ok(),
        "an hour between bands"
    );
    spec.buffer_minutes = 61;
    assert_eq!(
        TimeRules::new(spec.clone()).unwrap_err().code(),
        "facility_bands_overlap"
    );
    spec.buffer_minutes = 0;
    spec.hours.closes = t("20:00");
    assert_eq!(
        TimeRules::new(spec.clone()).unwrap_err().code(),
        "facility_band_outside_hours"
    );
    spec.hours.closes = t("09:00");
    assert_eq!(
        TimeRules::new(spec.clone()).unwrap_err().code(),
        "facility_hours_invalid"
    );
}

#[test]
fn bad_hourly_settings_are_refused() {
    for (min, max, grid) in [
        (60, 240, 45),
        (45, 240, 30),
        (60, 30, 30),
        (60, 24 * 60, 60),
    ] {
        let spec = TimeRulesSpec {
            hours: OpeningHours {
                opens: t("09:00"),
                closes: t("22:00"),
            },
            mode: BookingMode::Hourly {
                min_minutes: min,
                max_minutes: max,
                granularity_minutes: grid,
            },
            buffer_minutes: 0,
        };
        assert_eq!(TimeRules::new(spec), Err(TimeError::HourlyInvalid));
    }
}

#[test]
fn time_rules_read_from_json_with_hh_mm_times_and_refuse_unknown_fields() {
    let json = serde_json::json!({
        "hours": {"opens": "09:00", "closes": "22:00"},
        "mode": {"mode": "hourly", "min_minutes": 60, "max_minutes": 240, "granularity_minutes": 30},
        "buffer_minutes": 15
    });
    let rules: TimeRules = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(rules, hourly());
    assert_eq!(serde_json::to_value(&rules).unwrap(), json);
    let mut extra = json;
    extra["mode"]["colour"] = serde_json::json!("red");
    assert!(serde_json::from_value::<TimeRules>(extra).is_err());
}

#[test]
fn half_open_ranges_that_only_touch_do_not_overlap() {
    let r = |a, b| Range::new(a, b).unwrap();
    let nine = datetime!(2026-07-04 00:00 UTC);
    let twelve = datetime!(2026-07-04 03:00 UTC);
    let one = datetime!(2026-07-04 04:00 UTC);
    assert!(!ranges_overlap(&r(nine, twelve), &r(twelve, one)));
    assert!(ranges_overlap(&r(nine, one), &r(twelve, one)));
    assert!(Range::new(twelve, twelve).is_none());
    assert!(r(nine, twelve).contains(nine));
    assert!(!r(nine, twelve).contains(twelve));
}
