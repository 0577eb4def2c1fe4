//! Inputs of the calendar settings as pages and the API send them, parsed into the calendar's
//! own types: dates, month-days, notes, weekdays and weeks by their wire names, and closing
//! rules. A rule that arrives whole (the API's JSON) is checked by [`checked_rule`] like one
//! built from a form.

use crate::{UseCaseError, UseCaseResult};
use madoguchi_calendar::{ClosingRule, MonthDay, OnHoliday, WeekOfMonth};
use madoguchi_domain::ErrorCode;
use time::{Date, Weekday};

/// The longest note of a closing day (the column allows this many characters).
pub const NOTE_MAX_CHARS: usize = 100;

/// Weekdays by their wire name (as in the API's closing rules and the forms' values).
pub const WEEKDAY_NAMES: [(Weekday, &str); 7] = [
    (Weekday::Monday, "monday"),
    (Weekday::Tuesday, "tuesday"),
    (Weekday::Wednesday, "wednesday"),
    (Weekday::Thursday, "thursday"),
    (Weekday::Friday, "friday"),
    (Weekday::Saturday, "saturday"),
    (Weekday::Sunday, "sunday"),
];

/// Weeks of the month by their wire name.
pub const WEEK_NAMES: [(WeekOfMonth, &str); 6] = [
    (WeekOfMonth::First, "first"),
    (WeekOfMonth::Second, "second"),
    (WeekOfMonth::Third, "third"),
    (WeekOfMonth::Fourth, "fourth"),
    (WeekOfMonth::Fifth, "fifth"),
    (WeekOfMonth::Last, "last"),
];

fn invalid(field: &str) -> UseCaseError {
    UseCaseError::field(field, ErrorCode::ValidationFailed)
}

/// `12-29` (or `12/29`) as a month and day; a problem is reported on the field `name`.
pub fn parse_month_day(name: &str, raw: &str) -> UseCaseResult<MonthDay> {
    raw.trim()
        .replace('/', "-")
        .parse()
        .map_err(|_| invalid(name))
}

/// `2026-04-01` as a date, within the supported years.
pub fn parse_iso_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .filter(|d| madoguchi_domain::tokyo::is_supported_date(*d))
}

/// A date as `2026-04-01`, the form [`parse_iso_date`] reads.
pub fn iso_date(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A closing day's note: trimmed, empty for none, at most [`NOTE_MAX_CHARS`] characters and
/// no control characters.
pub fn parse_note(raw: Option<&str>) -> UseCaseResult<Option<String>> {
    let note = raw.map(str::trim).filter(|n| !n.is_empty());
    match note {
        Some(note)
            if note.chars().count() > NOTE_MAX_CHARS || note.chars().any(char::is_control) =>
        {
            Err(invalid("note"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// A weekday from its wire name (`monday`).
pub fn parse_weekday(raw: &str) -> Option<Weekday> {
    WEEKDAY_NAMES
        .iter()
        .find(|(_, name)| *name == raw.trim())
        .map(|(day, _)| *day)
}

/// A week of the month from its wire name (`first` … `last`).
pub fn parse_week(raw: &str) -> Option<WeekOfMonth> {
    WEEK_NAMES
        .iter()
        .find(|(_, name)| *name == raw.trim())
        .map(|(week, _)| *week)
}

/// A rule as a client sent it, checked: a period must not end before it starts, and the note
/// is cleaned like a form's.
pub fn checked_rule(rule: ClosingRule) -> UseCaseResult<ClosingRule> {
    Ok(match rule {
        ClosingRule::Date { date, note } => ClosingRule::Date {
            date,
            note: parse_note(note.as_deref())?,
        },
        ClosingRule::Period { first, last, note } => {
            if last < first {
                return Err(invalid("last"));
            }
            let note = parse_note(note.as_deref())?;
            if first == last {
                ClosingRule::Date { date: first, note }
            } else {
                ClosingRule::Period { first, last, note }
            }
        }
        weekly_or_monthly => weekly_or_monthly,
    })
}

/// The fields of a closing-rule form, as typed. `kind` is `date` (with `last` for a period),
/// `weekly` or `monthly_weekday`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleInput<'a> {
    pub kind: &'a str,
    pub date: &'a str,
    pub last: &'a str,
    pub note: &'a str,
    pub weekday: &'a str,
    pub on_holiday: &'a str,
    pub week: &'a str,
}

/// The closing rule a form describes, checked like one sent whole.
pub fn parse_rule(input: &RuleInput<'_>) -> UseCaseResult<ClosingRule> {
    let weekday = || parse_weekday(input.weekday).ok_or_else(|| invalid("weekday"));
    let rule = match input.kind {
        "date" => {
            let date = parse_iso_date(input.date).ok_or_else(|| invalid("date"))?;
            let note = parse_note(Some(input.note))?;
            if input.last.trim().is_empty() {
                ClosingRule::Date { date, note }
            } else {
                let last = parse_iso_date(input.last).ok_or_else(|| invalid("last"))?;
                ClosingRule::Period {
                    first: date,
                    last,
                    note,
                }
            }
        }
        "weekly" => ClosingRule::Weekly {
            weekday: weekday()?,
            on_holiday: match input.on_holiday {
                "close_next_weekday" => OnHoliday::CloseNextWeekday,
                _ => OnHoliday::StayClosed,
            },
        },
        "monthly_weekday" => ClosingRule::MonthlyWeekday {
            week: parse_week(input.week).ok_or_else(|| invalid("week"))?,
            weekday: weekday()?,
        },
        _ => return Err(invalid("kind")),
    };
    checked_rule(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_period_of_one_day_is_a_date_and_a_reversed_one_is_refused() {
        let one = checked_rule(ClosingRule::Period {
            first: date!(2026 - 05 - 01),
            last: date!(2026 - 05 - 01),
            note: Some("  ".into()),
        })
        .expect("one day");
        assert_eq!(
            one,
            ClosingRule::Date {
                date: date!(2026 - 05 - 01),
                note: None
            }
        );
        assert!(
            checked_rule(ClosingRule::Period {
                first: date!(2026 - 05 - 02),
                last: date!(2026 - 05 - 01),
                note: None,
            })
            .is_err()
        );
    }

    #[test]
    fn a_form_names_the_field_at_fault() {
        let field_of = |input: RuleInput<'_>| {
            parse_rule(&input)
                .err()
                .and_then(|e| e.fields.first().map(|f| f.field.clone()))
        };
        let weekly = RuleInput {
            kind: "weekly",
            weekday: "funday",
            ..RuleInput::default()
        };
        assert_eq!(field_of(weekly).as_deref(), Some("weekday"));
        let period = RuleInput {
            kind: "date",
            date: "2026-05-01",
            last: "2026-02-30",
            ..RuleInput::default()
        };
        assert_eq!(field_of(period).as_deref(), Some("last"));
        let note = RuleInput {
            kind: "date",
            date: "2026-05-01",
            note: "点検\u{0}",
            ..RuleInput::default()
        };
        assert_eq!(field_of(note).as_deref(), Some("note"));
        assert_eq!(field_of(RuleInput::default()).as_deref(), Some("kind"));
    }

    #[test]
    fn a_monthly_rule_is_read_from_its_wire_names() {
        let rule = parse_rule(&RuleInput {
            kind: "monthly_weekday",
            week: "third",
            weekday: " thursday ",
            ..RuleInput::default()
        });
        assert_eq!(
            rule.ok(),
            Some(ClosingRule::MonthlyWeekday {
                week: WeekOfMonth::Third,
                weekday: Weekday::Thursday,
            })
        );
    }
}
