//! Records and the storage capability for each tenant's municipal calendar: the holidays it
//! imported from the Cabinet Office list, its year-end closure, and its offices' own closing
//! days. The rules themselves (what is open when) live in `madoguchi-calendar`; storage keeps
//! exactly that crate's shapes (`ImportedHolidays`, `YearEndClosure`, `ClosingRule`), so a
//! value read back is already valid.
//!
//! Writes that replace a set (an import, an office's closing days) run in one transaction: a
//! reader sees the old set or the new one, never a mixture.

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_calendar::{ClosingRule, ImportedHolidays, OfficeClosingDays, YearEndClosure};
use madoguchi_domain::{OfficeId, TenantId};
use serde::Serialize;
use uuid::Uuid;

/// One stored closing rule, with the id that removes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredClosingRule {
    pub id: Uuid,
    pub rule: ClosingRule,
}

/// An office's own calendar: whether it opens on weekends and holidays, and its closing rules
/// in the order they were added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfficeCalendar {
    pub office_id: OfficeId,
    pub open_on_weekends_and_holidays: bool,
    pub rules: Vec<StoredClosingRule>,
}

impl OfficeCalendar {
    /// The office's closing days as `madoguchi-calendar` takes them.
    pub fn closing_days(&self) -> OfficeClosingDays {
        OfficeClosingDays {
            open_on_weekends_and_holidays: self.open_on_weekends_and_holidays,
            rules: self
                .rules
                .iter()
                .map(|stored| stored.rule.clone())
                .collect(),
        }
    }
}

/// What an import of holidays changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HolidayImport {
    /// The years the list covers, each of which it replaced completely.
    pub years: Vec<i32>,
    /// Imported rows of those years that were there before and are gone now.
    pub removed: u64,
    /// Rows stored.
    pub stored: u64,
}

/// Each tenant's calendar settings.
#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// Every holiday the tenant imported, sorted by date.
    async fn imported_holidays(&self, tenant: TenantId) -> StorageResult<ImportedHolidays>;
    /// Replaces the tenant's imported holidays of every year `holidays` mentions by the list,
    /// in one transaction; other years stay as they are. An empty list changes nothing.
    async fn replace_imported_holidays(
        &self,
        tenant: TenantId,
        holidays: &ImportedHolidays,
    ) -> StorageResult<HolidayImport>;
    /// Forgets the imported holidays of `year`, which then follows the computed holidays again.
    /// Returns how many rows were removed.
    async fn remove_imported_holidays(&self, tenant: TenantId, year: i32) -> StorageResult<u64>;

    /// The tenant's year-end closure: the default 12/29–1/3 until one is set, `None` for a city
    /// that set none.
    async fn year_end_closure(&self, tenant: TenantId) -> StorageResult<Option<YearEndClosure>>;
    async fn set_year_end_closure(
        &self,
        tenant: TenantId,
        closure: Option<YearEndClosure>,
    ) -> StorageResult<()>;

    /// The offices of the tenant that have a calendar of their own (a closing rule, or the
    /// weekend-and-holiday opening), in office order; the others keep the municipal days off.
    async fn office_calendars(&self, tenant: TenantId) -> StorageResult<Vec<OfficeCalendar>>;
    /// One office's calendar; an office with nothing stored keeps the municipal days off.
    /// `NotFound` when the office is not the tenant's.
    async fn office_calendar(
        &self,
        tenant: TenantId,
        office: OfficeId,
    ) -> StorageResult<OfficeCalendar>;
    /// Adds a closing rule to an office of the tenant (`NotFound` for another tenant's office).
    async fn add_office_closing_rule(
        &self,
        tenant: TenantId,
        office: OfficeId,
        rule: &ClosingRule,
    ) -> StorageResult<StoredClosingRule>;
    /// Removes one closing rule of the office; `NotFound` when it has no such rule.
    async fn remove_office_closing_rule(
        &self,
        tenant: TenantId,
        office: OfficeId,
        rule: Uuid,
    ) -> StorageResult<()>;
    /// Sets whether the office opens on weekends and holidays (`NotFound` for another
    /// tenant's office).
    async fn set_office_open_on_weekends_and_holidays(
        &self,
        tenant: TenantId,
        office: OfficeId,
        open: bool,
    ) -> StorageResult<()>;
    /// Replaces the office's whole calendar in one transaction; the rules get new ids.
    async fn replace_office_calendar(
        &self,
        tenant: TenantId,
        office: OfficeId,
        closing_days: &OfficeClosingDays,
    ) -> StorageResult<OfficeCalendar>;
}

/// The stored form of a closing rule: its kind and the columns each kind uses. Both backends
/// read and write rules through this, so they agree on the encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClosingRuleColumns {
    pub kind: &'static str,
    pub weekday: Option<&'static str>,
    pub on_holiday: Option<&'static str>,
    pub week: Option<&'static str>,
    pub first_date: Option<time::Date>,
    pub last_date: Option<time::Date>,
    pub note: Option<String>,
}

impl ClosingRuleColumns {
    pub fn of(rule: &ClosingRule) -> Self {
        match rule {
            ClosingRule::Weekly {
                weekday,
                on_holiday,
            } => Self {
                kind: "weekly",
                weekday: Some(weekday_name(*weekday)),
                on_holiday: Some(match on_holiday {
                    madoguchi_calendar::OnHoliday::StayClosed => "stay_closed",
                    madoguchi_calendar::OnHoliday::CloseNextWeekday => "close_next_weekday",
                }),
                ..Self::default()
            },
            ClosingRule::MonthlyWeekday { week, weekday } => Self {
                kind: "monthly_weekday",
                weekday: Some(weekday_name(*weekday)),
                week: Some(week_name(*week)),
                ..Self::default()
            },
            ClosingRule::Date { date, note } => Self {
                kind: "date",
                first_date: Some(*date),
                note: note.clone(),
                ..Self::default()
            },
            ClosingRule::Period { first, last, note } => Self {
                kind: "period",
                first_date: Some(*first),
                last_date: Some(*last),
                note: note.clone(),
                ..Self::default()
            },
        }
    }

    /// The rule these columns hold; `None` when they do not make one (a corrupt row).
    pub fn rule(
        kind: &str,
        weekday: Option<&str>,
        on_holiday: Option<&str>,
        week: Option<&str>,
        first_date: Option<time::Date>,
        last_date: Option<time::Date>,
        note: Option<String>,
    ) -> Option<ClosingRule> {
        use madoguchi_calendar::OnHoliday;
        Some(match kind {
            "weekly" => ClosingRule::Weekly {
                weekday: parse_weekday(weekday?)?,
                on_holiday: match on_holiday? {
                    "stay_closed" => OnHoliday::StayClosed,
                    "close_next_weekday" => OnHoliday::CloseNextWeekday,
                    _ => return None,
                },
            },
            "monthly_weekday" => ClosingRule::MonthlyWeekday {
                week: parse_week(week?)?,
                weekday: parse_weekday(weekday?)?,
            },
            "date" => ClosingRule::Date {
                date: first_date?,
                note,
            },
            "period" => ClosingRule::Period {
                first: first_date?,
                last: last_date?,
                note,
            },
            _ => return None,
        })
    }
}

const WEEKDAYS: [(time::Weekday, &str); 7] = [
    (time::Weekday::Monday, "monday"),
    (time::Weekday::Tuesday, "tuesday"),
    (time::Weekday::Wednesday, "wednesday"),
    (time::Weekday::Thursday, "thursday"),
    (time::Weekday::Friday, "friday"),
    (time::Weekday::Saturday, "saturday"),
    (time::Weekday::Sunday, "sunday"),
];

const WEEKS: [(madoguchi_calendar::WeekOfMonth, &str); 6] = [
    (madoguchi_calendar::WeekOfMonth::First, "first"),
    (madoguchi_calendar::WeekOfMonth::Second, "second"),
    (madoguchi_calendar::WeekOfMonth::Third, "third"),
    (madoguchi_calendar::WeekOfMonth::Fourth, "fourth"),
    (madoguchi_calendar::WeekOfMonth::Fifth, "fifth"),
    (madoguchi_calendar::WeekOfMonth::Last, "last"),
];

fn weekday_name(day: time::Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(d, _)| *d == day)
        .map_or("monday", |(_, name)| name)
}

fn parse_weekday(name: &str) -> Option<time::Weekday> {
    WEEKDAYS.iter().find(|(_, n)| *n == name).map(|(d, _)| *d)
}

fn week_name(week: madoguchi_calendar::WeekOfMonth) -> &'static str {
    WEEKS
        .iter()
        .find(|(w, _)| *w == week)
        .map_or("first", |(_, name)| name)
}

fn parse_week(name: &str) -> Option<madoguchi_calendar::WeekOfMonth> {
    WEEKS.iter().find(|(_, n)| *n == name).map(|(w, _)| *w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_calendar::{OnHoliday, WeekOfMonth};
    use time::macros::date;

    #[test]
    fn every_kind_of_rule_survives_its_columns() {
        let rules = [
            ClosingRule::Weekly {
                weekday: time::Weekday::Monday,
                on_holiday: OnHoliday::CloseNextWeekday,
            },
            ClosingRule::MonthlyWeekday {
                week: WeekOfMonth::Last,
                weekday: time::Weekday::Thursday,
            },
            ClosingRule::Date {
                date: date!(2026 - 04 - 01),
                note: Some("設備点検".into()),
            },
            ClosingRule::Period {
                first: date!(2026 - 07 - 01),
                last: date!(2026 - 09 - 30),
                note: None,
            },
        ];
        for rule in rules {
            let c = ClosingRuleColumns::of(&rule);
            let back = ClosingRuleColumns::rule(
                c.kind,
                c.weekday,
                c.on_holiday,
                c.week,
                c.first_date,
                c.last_date,
                c.note.clone(),
            );
            assert_eq!(back, Some(rule));
        }
    }

    #[test]
    fn columns_that_make_no_rule_are_refused() {
        assert_eq!(
            ClosingRuleColumns::rule(
                "weekly",
                Some("funday"),
                Some("stay_closed"),
                None,
                None,
                None,
                None
            ),
            None
        );
        assert_eq!(
            ClosingRuleColumns::rule(
                "period",
                None,
                None,
                None,
                Some(date!(2026 - 01 - 01)),
                None,
                None
            ),
            None
        );
    }
}
