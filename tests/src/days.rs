//! Dates for tests that book "some days ahead": the day must be one the default municipal
//! calendar keeps open (not a weekend, a national holiday or the year-end closure), or booking
//! is rightly refused with `booking_day_closed` on about twenty days a year.

use madoguchi_calendar::MunicipalCalendar;
use madoguchi_domain::OfficeId;
use madoguchi_domain::tokyo::JST;
use time::{Date, Duration, OffsetDateTime};

/// The first Tokyo date at least `days` ahead that the default calendar keeps open.
pub fn open_date_ahead(days: i64) -> Date {
    let calendar = MunicipalCalendar::builder()
        .build()
        .unwrap_or_else(|e| panic!("default calendar: {e}"));
    let mut date = (OffsetDateTime::now_utc() + Duration::days(days))
        .to_offset(JST)
        .date();
    // Any office: the default calendar has no per-office rules.
    while !calendar
        .is_open(OfficeId(uuid::Uuid::nil()), date)
        .unwrap_or(true)
    {
        date = date.next_day().unwrap_or(date);
    }
    date
}

/// The current time of day, moved to the first open Tokyo date at least `days` ahead: as far
/// ahead as `now + days` or a little further, never on a closed day.
pub fn open_instant_ahead(days: i64) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let target = open_date_ahead(days);
    let naive = (now + Duration::days(days)).to_offset(JST);
    let shift = target - naive.date();
    now + Duration::days(days) + shift
}

/// 10:00 in Tokyo on the first open date at least `days` ahead: for a test that puts several
/// times on one day (the current time of day plus a few hours may cross midnight).
pub fn open_morning_ahead(days: i64) -> OffsetDateTime {
    open_date_ahead(days)
        .with_time(time::macros::time!(10:00))
        .assume_offset(JST)
        .to_offset(time::UtcOffset::UTC)
}

/// `t` as RFC 3339, as the API takes and gives instants (empty if it cannot be written).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
