//! The month calendar of one service (○△×－ per day), drawn by `booking/_month_calendar.html`.
//! The service page shows it to choose a day to book; the change pages of residents and staff
//! show the same calendar to choose the day to move a reservation to. Only the links differ.
//!
//! The marks are hints for choosing a day: nothing here checks capacity before booking.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::present::*;
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_storage::Service;
use serde::Serialize;
use time::{Date, Month, OffsetDateTime};

/// How far ahead a month may be paged, in days.
pub(crate) const MONTHS_AHEAD_DAYS_MAX: i64 = 400;

/// `YYYY-MM` as the first of that month; years far outside any booking are refused.
pub(crate) fn parse_month(raw: &str) -> Option<Date> {
    let (year, month) = raw.split_once('-')?;
    let ok_shape = year.len() == 4 && month.len() == 2;
    let year: i32 = year.parse().ok()?;
    let month: u8 = month.parse().ok()?;
    if !ok_shape || !(2000..=2199).contains(&year) {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, 1).ok()
}

pub(crate) fn month_param(first: Date) -> String {
    format!("{:04}-{:02}", first.year(), u8::from(first.month()))
}

pub(crate) fn next_month(first: Date) -> Option<Date> {
    let (year, month) = match first.month() {
        Month::December => (first.year() + 1, Month::January),
        m => (first.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1).ok()
}

pub(crate) fn previous_month(first: Date) -> Option<Date> {
    let (year, month) = match first.month() {
        Month::January => (first.year() - 1, Month::December),
        m => (first.year(), m.previous()),
    };
    Date::from_calendar_date(year, month, 1).ok()
}

pub(crate) fn month_of(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

/// The month asked for in `?month=YYYY-MM`, or `default`'s month; a malformed one is refused.
pub(crate) fn month_asked(raw: Option<&str>, default: Date) -> AppResult<Date> {
    match raw.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(month_of(default)),
        Some(raw) => {
            parse_month(raw).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))
        }
    }
}

/// Seats decide open, few (a fifth or less left, as the API says) or full.
pub(crate) fn seat_status(capacity: i64, taken: i64) -> (&'static str, i64) {
    let left = capacity - taken;
    if left <= 0 {
        ("full", 0)
    } else if left * 5 <= capacity {
        ("few", left)
    } else {
        ("open", left)
    }
}

fn mark_of(status: &str) -> &'static str {
    match status {
        "open" => "○",
        "few" => "△",
        "full" => "×",
        _ => "－",
    }
}

/// Whose calendar it is: the window of the service binds residents; staff book and move at
/// any time before the session, so for them only the seats and the past matter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    Resident,
    Staff,
}

/// Which month, for whom, and where its links go.
pub(crate) struct Asked {
    /// The first of the month.
    pub(crate) first: Date,
    /// The day to mark as chosen, if any.
    pub(crate) selected: Option<Date>,
    pub(crate) viewer: Viewer,
    pub(crate) links: Links,
}

/// Where the calendar's days and months link to. The template writes the paths (auto-escaping
/// would write a slash of a path given as a value as `&#x2f;`).
pub(crate) enum Links {
    /// The service page: `/reservations/{code}/{date}` and `?month=`.
    Service { code: String },
    /// The resident's change page: `/my/reservations/{id}/change?date=` and `?month=`.
    Change { id: String },
    /// The staff reservation page: `/staff/reservations/{id}?date=…#change` and `&month=`.
    Staff { id: String },
}

impl Links {
    fn kind_and_key(self) -> (&'static str, String) {
        match self {
            Links::Service { code } => ("service", code),
            Links::Change { id } => ("change", id),
            Links::Staff { id } => ("staff", id),
        }
    }
}

#[derive(Serialize)]
struct DayCell {
    day: u8,
    /// `YYYY-MM-DD`, for the link to the day.
    date: String,
    /// The full date, for the link's accessible name.
    label: String,
    /// open, few, full, closed, not_yet or ended.
    status: &'static str,
    mark: &'static str,
    seats_left: i64,
    /// Whether the day links to its times.
    bookable: bool,
    today: bool,
    /// The day chosen (on a change page: the day whose times are listed).
    selected: bool,
}

#[derive(Serialize)]
struct MonthLink {
    /// `YYYY-MM`
    month: String,
    label: String,
}

#[derive(Serialize)]
struct WeekdayHeader {
    short: &'static str,
    long: &'static str,
}

/// What `booking/_month_calendar.html` draws.
#[derive(Serialize)]
pub(crate) struct MonthCalendar {
    month_label: String,
    weekdays: Vec<WeekdayHeader>,
    weeks: Vec<Vec<Option<DayCell>>>,
    previous: Option<MonthLink>,
    following: Option<MonthLink>,
    /// service, change or staff: which page's paths the links take.
    link_kind: &'static str,
    /// The service's code, or the reservation's id.
    link_key: String,
    /// The chosen day, `YYYY-MM-DD` (kept when the staff page pages months).
    selected: Option<String>,
}

/// The month starting on `first` of `service`, from the slots' seat counters (one query).
pub(crate) async fn month_calendar(
    state: &AppState,
    ctx: &Ctx,
    service: &Service,
    asked: Asked,
    now: OffsetDateTime,
) -> AppResult<MonthCalendar> {
    let Asked {
        first,
        selected,
        viewer,
        links,
    } = asked;
    let (link_kind, link_key) = links.kind_and_key();
    let rules = &service.rules;
    let today = tokyo_today(now);
    let this_month = month_of(today);
    let next =
        next_month(first).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?;
    let days = state
        .storage
        .availability_by_day(
            ctx.tenant.id,
            service.id,
            start_of_tokyo_day(first),
            start_of_tokyo_day(next),
        )
        .await?;
    let lang = ctx.lang;
    let mut weeks: Vec<Vec<Option<DayCell>>> = Vec::new();
    let mut week: Vec<Option<DayCell>> = (0..weekday_index(first)).map(|_| None).collect();
    let mut date = first;
    while date < next {
        let day = days.iter().find(|d| d.date == date);
        let resident = viewer == Viewer::Resident;
        let (status, seats_left) = match day {
            None => ("closed", 0),
            Some(_) if date < today => ("ended", 0),
            // The window opens at a set time on a set day before the slot's date, the same for
            // every slot of the day.
            Some(_) if resident && now < rules.window.opens_at(start_of_tokyo_day(date)) => {
                ("not_yet", 0)
            }
            // Closed for the whole day once even a slot at the day's last instant is closed;
            // the day page decides slot by slot.
            Some(_)
                if resident
                    && now
                        >= rules
                            .window
                            .closes_at(start_of_tokyo_day(date.next_day().unwrap_or(date))) =>
            {
                ("ended", 0)
            }
            Some(d) => seat_status(d.capacity, d.taken),
        };
        let bookable = matches!(status, "open" | "few");
        week.push(Some(DayCell {
            day: date.day(),
            date: date.to_string(),
            label: date_label(date, lang),
            status,
            mark: mark_of(status),
            seats_left,
            bookable,
            today: date == today,
            selected: selected == Some(date),
        }));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        date = match date.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    if !week.is_empty() {
        week.resize_with(7, || None);
        weeks.push(week);
    }
    let previous = previous_month(first)
        .filter(|p| *p >= this_month)
        .map(|p| MonthLink {
            month: month_param(p),
            label: month_label(p, lang),
        });
    let following = Some(next)
        .filter(|n| (*n - today).whole_days() <= MONTHS_AHEAD_DAYS_MAX)
        .map(|n| MonthLink {
            month: month_param(n),
            label: month_label(n, lang),
        });
    let (short, long) = match lang {
        Lang::Ja => (WEEKDAYS_JA, WEEKDAYS_JA_LONG),
        Lang::En => (WEEKDAYS_EN, WEEKDAYS_EN_LONG),
    };
    let weekdays: Vec<WeekdayHeader> = short
        .into_iter()
        .zip(long)
        .map(|(short, long)| WeekdayHeader { short, long })
        .collect();
    Ok(MonthCalendar {
        month_label: month_label(first, lang),
        weekdays,
        weeks,
        previous,
        following,
        link_kind,
        link_key,
        selected: selected.map(|d| d.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_parse_only_in_the_yyyy_mm_shape() {
        assert_eq!(parse_month("2026-07"), Some(date!(2026 - 07 - 01)));
        assert_eq!(parse_month("2026-7"), None);
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("9999-12"), None);
        assert_eq!(
            next_month(date!(2026 - 12 - 01)),
            Some(date!(2027 - 01 - 01))
        );
        assert_eq!(
            previous_month(date!(2026 - 01 - 01)),
            Some(date!(2025 - 12 - 01))
        );
        assert_eq!(
            month_asked(None, date!(2026 - 07 - 19)).ok(),
            Some(date!(2026 - 07 - 01))
        );
        assert!(month_asked(Some("2026-7"), date!(2026 - 07 - 19)).is_err());
    }

    #[test]
    fn a_fifth_or_fewer_seats_left_is_few() {
        assert_eq!(seat_status(30, 0), ("open", 30));
        assert_eq!(seat_status(30, 24), ("few", 6));
        assert_eq!(seat_status(1, 0), ("open", 1));
        assert_eq!(seat_status(2, 2), ("full", 0));
    }
}
