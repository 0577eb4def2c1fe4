//! The municipal calendar: which days each office is open, why it is closed otherwise, and
//! where a deadline that falls on a closed day moves to.
//!
//! A `MunicipalCalendar` is built once per city from the computed holidays (replaced, year by
//! year, by an imported Cabinet Office list), the city's year-end closure and each office's own
//! closing days. Every question takes the office and the date; an office without closing days
//! of its own follows the municipal calendar (weekends, holidays, year-end closure).

use std::collections::{BTreeMap, BTreeSet};

use madoguchi_domain::{Lang, OfficeId};
use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

use crate::cabinet_csv::{ImportedHoliday, ImportedHolidays};
use crate::closing::{ClosingRule, OfficeClosingDays, OnHoliday, YearEndClosure};
use crate::error::CalendarError;
use crate::holidays::{
    FIRST_COMPUTED_YEAR, Holiday, HolidayKind, LAST_COMPUTED_YEAR, holidays_in_year, next_day,
};
use crate::serde_formats::weekday;

/// How far `next_open_day` looks before it gives up: ten years covers the longest renovation
/// closure, and a rule set that closes an office for ever fails instead of looping.
pub const OPEN_DAY_SEARCH_LIMIT_DAYS: u32 = 3_660;

/// A holiday as the calendar knows it: computed by the rules, or taken from an imported list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum CalendarHoliday {
    Computed(Holiday),
    Imported(ImportedHoliday),
}

impl CalendarHoliday {
    pub fn date(&self) -> Date {
        match self {
            CalendarHoliday::Computed(holiday) => holiday.date,
            CalendarHoliday::Imported(holiday) => holiday.date,
        }
    }

    /// The Japanese name, as the Cabinet Office spells it.
    pub fn name_ja(&self) -> &str {
        match self {
            CalendarHoliday::Computed(holiday) => holiday.name_ja(),
            CalendarHoliday::Imported(holiday) => &holiday.name,
        }
    }

    /// The English name (for an imported name nobody translated, the Japanese one).
    pub fn name_en(&self) -> &str {
        match self {
            CalendarHoliday::Computed(holiday) => holiday.name_en(),
            CalendarHoliday::Imported(holiday) => holiday.name_en(),
        }
    }

    /// The kind, known for computed holidays only (an imported `休日` may be either kind).
    pub fn kind(&self) -> Option<HolidayKind> {
        match self {
            CalendarHoliday::Computed(holiday) => Some(holiday.kind),
            CalendarHoliday::Imported(_) => None,
        }
    }
}

/// Why an office is closed on a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ClosedReason {
    /// A national holiday, 振替休日 or 国民の休日.
    Holiday { holiday: CalendarHoliday },
    /// The city's year-end closure (年末年始).
    YearEndClosure,
    /// Saturday or Sunday.
    Weekend {
        #[serde(with = "weekday")]
        weekday: Weekday,
    },
    /// One of the office's own closing days (休館日).
    OfficeClosingDay { rule: ClosingRule },
}

impl ClosedReason {
    /// A short text for residents, e.g. `成人の日`, `年末年始の閉庁日`, `休館日（設備点検）`.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (ClosedReason::Holiday { holiday }, Lang::Ja) => holiday.name_ja().to_owned(),
            (ClosedReason::Holiday { holiday }, Lang::En) => holiday.name_en().to_owned(),
            (ClosedReason::YearEndClosure, Lang::Ja) => "年末年始の閉庁日".to_owned(),
            (ClosedReason::YearEndClosure, Lang::En) => "Year-end and New Year closure".to_owned(),
            (ClosedReason::Weekend { weekday }, Lang::Ja) => weekday_ja(*weekday).to_owned(),
            (ClosedReason::Weekend { weekday }, Lang::En) => weekday.to_string(),
            (ClosedReason::OfficeClosingDay { rule }, Lang::Ja) => match rule.note() {
                Some(note) => format!("休館日（{note}）"),
                None => "休館日".to_owned(),
            },
            (ClosedReason::OfficeClosingDay { rule }, Lang::En) => match rule.note() {
                Some(note) => format!("Closing day ({note})"),
                None => "Closing day".to_owned(),
            },
        }
    }
}

fn weekday_ja(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "月曜日",
        Weekday::Tuesday => "火曜日",
        Weekday::Wednesday => "水曜日",
        Weekday::Thursday => "木曜日",
        Weekday::Friday => "金曜日",
        Weekday::Saturday => "土曜日",
        Weekday::Sunday => "日曜日",
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Collects the parts of a `MunicipalCalendar`; `build` checks them.
#[derive(Clone, Debug)]
pub struct MunicipalCalendarBuilder {
    imported: ImportedHolidays,
    year_end_closure: Option<YearEndClosure>,
    offices: BTreeMap<OfficeId, OfficeClosingDays>,
}

impl MunicipalCalendarBuilder {
    /// Replaces the computed holidays of every year the list mentions by the list.
    pub fn imported_holidays(mut self, imported: ImportedHolidays) -> Self {
        self.imported = imported;
        self
    }

    /// The city's year-end closure; `None` for a city that has none.
    pub fn year_end_closure(mut self, closure: Option<YearEndClosure>) -> Self {
        self.year_end_closure = closure;
        self
    }

    /// The closing days of one office; given twice for an office, the last wins.
    pub fn office(mut self, office: OfficeId, closing_days: OfficeClosingDays) -> Self {
        self.offices.insert(office, closing_days);
        self
    }

    pub fn build(self) -> Result<MunicipalCalendar, CalendarError> {
        for (office, closing_days) in &self.offices {
            validate_office(*office, closing_days)?;
        }
        let imported_years = self.imported.years();
        let mut holidays = BTreeMap::new();
        for year in FIRST_COMPUTED_YEAR..=LAST_COMPUTED_YEAR {
            if imported_years.contains(&year) {
                continue;
            }
            for holiday in holidays_in_year(year)? {
                holidays.insert(holiday.date, CalendarHoliday::Computed(holiday));
            }
        }
        for entry in Vec::from(self.imported) {
            holidays.insert(entry.date, CalendarHoliday::Imported(entry));
        }
        Ok(MunicipalCalendar {
            holidays,
            imported_years,
            year_end_closure: self.year_end_closure,
            offices: self.offices,
        })
    }
}

fn validate_office(
    office: OfficeId,
    closing_days: &OfficeClosingDays,
) -> Result<(), CalendarError> {
    let invalid = |reason| CalendarError::InvalidClosingRule { office, reason };
    let mut weekly = BTreeSet::new();
    for rule in &closing_days.rules {
        match rule {
            ClosingRule::Weekly { weekday, .. } => {
                weekly.insert(weekday.number_days_from_monday());
            }
            ClosingRule::Period { first, last, .. } if first > last => {
                return Err(invalid("a closing period ends before it starts"));
            }
            _ => {}
        }
    }
    if weekly.len() == 7 {
        return Err(invalid(
            "the office would be closed on every day of the week",
        ));
    }
    Ok(())
}

/// The open and closed days of a city's offices.
#[derive(Clone, Debug)]
pub struct MunicipalCalendar {
    holidays: BTreeMap<Date, CalendarHoliday>,
    imported_years: BTreeSet<i32>,
    year_end_closure: Option<YearEndClosure>,
    offices: BTreeMap<OfficeId, OfficeClosingDays>,
}

impl MunicipalCalendar {
    /// Computed holidays, the default year-end closure (12/29–1/3) and no office closing days.
    pub fn builder() -> MunicipalCalendarBuilder {
        MunicipalCalendarBuilder {
            imported: ImportedHolidays::default(),
            year_end_closure: Some(YearEndClosure::default()),
            offices: BTreeMap::new(),
        }
    }

    /// Whether the calendar knows the holidays of `year`: 1980–2099 and every imported year.
    pub fn covers(&self, year: i32) -> bool {
        (FIRST_COMPUTED_YEAR..=LAST_COMPUTED_YEAR).contains(&year)
            || self.imported_years.contains(&year)
    }

    pub fn year_end_closure(&self) -> Option<&YearEndClosure> {
        self.year_end_closure.as_ref()
    }

    /// The office's own closing days, if it has any.
    pub fn office_closing_days(&self, office: OfficeId) -> Option<&OfficeClosingDays> {
        self.offices.get(&office)
    }

    /// The holiday on `date`, if any.
    pub fn holiday(&self, date: Date) -> Result<Option<&CalendarHoliday>, CalendarError> {
        self.ensure_covered(date)?;
        Ok(self.holidays.get(&date))
    }

    /// The holidays of `year`, sorted by date.
    pub fn holidays_in_year(&self, year: i32) -> Result<Vec<&CalendarHoliday>, CalendarError> {
        if !self.covers(year) {
            return Err(CalendarError::YearNotCovered { year });
        }
        Ok(self
            .holidays
            .values()
            .filter(|holiday| holiday.date().year() == year)
            .collect())
    }

    pub fn is_open(&self, office: OfficeId, date: Date) -> Result<bool, CalendarError> {
        Ok(self.closed_reason(office, date)?.is_none())
    }

    /// The main reason the office is closed on `date`, or `None` when it is open. When several
    /// apply, a holiday comes first, then the year-end closure, the weekend, the office's rules.
    pub fn closed_reason(
        &self,
        office: OfficeId,
        date: Date,
    ) -> Result<Option<ClosedReason>, CalendarError> {
        Ok(self.closed_reasons(office, date)?.into_iter().next())
    }

    /// Every reason the office is closed on `date`, main reason first; empty when it is open.
    pub fn closed_reasons(
        &self,
        office: OfficeId,
        date: Date,
    ) -> Result<Vec<ClosedReason>, CalendarError> {
        let closing_days = self.offices.get(&office);
        let keeps_municipal_days_off =
            closing_days.is_none_or(|days| !days.open_on_weekends_and_holidays);
        let mut reasons = Vec::new();

        if let Some(holiday) = self.holiday(date)?
            && keeps_municipal_days_off
        {
            reasons.push(ClosedReason::Holiday {
                holiday: holiday.clone(),
            });
        }
        if self
            .year_end_closure
            .is_some_and(|closure| closure.contains(date))
        {
            reasons.push(ClosedReason::YearEndClosure);
        }
        if keeps_municipal_days_off && is_weekend(date) {
            reasons.push(ClosedReason::Weekend {
                weekday: date.weekday(),
            });
        }
        for rule in closing_days.iter().flat_map(|days| &days.rules) {
            if self.rule_closes(rule, date)? {
                reasons.push(ClosedReason::OfficeClosingDay { rule: rule.clone() });
            }
        }
        Ok(reasons)
    }

    /// The first day on or after `date` on which the office is open: where a deadline that
    /// falls on a closed day moves to.
    pub fn next_open_day(&self, office: OfficeId, date: Date) -> Result<Date, CalendarError> {
        let mut day = date;
        for _ in 0..OPEN_DAY_SEARCH_LIMIT_DAYS {
            if self.is_open(office, day)? {
                return Ok(day);
            }
            day = next_day(day)?;
        }
        Err(CalendarError::NoOpenDay {
            from: date,
            searched_days: OPEN_DAY_SEARCH_LIMIT_DAYS,
        })
    }

    /// The `open_days`-th open day after `date` (`date` itself not counted), e.g. the end of
    /// "within 5 open days of receipt". With 0 it is `next_open_day(date)`.
    pub fn add_open_days(
        &self,
        office: OfficeId,
        date: Date,
        open_days: u32,
    ) -> Result<Date, CalendarError> {
        if open_days == 0 {
            return self.next_open_day(office, date);
        }
        let mut day = date;
        for _ in 0..open_days {
            day = self.next_open_day(office, next_day(day)?)?;
        }
        Ok(day)
    }

    fn ensure_covered(&self, date: Date) -> Result<(), CalendarError> {
        if self.covers(date.year()) {
            Ok(())
        } else {
            Err(CalendarError::YearNotCovered { year: date.year() })
        }
    }

    fn is_holiday(&self, date: Date) -> Result<bool, CalendarError> {
        Ok(self.holiday(date)?.is_some())
    }

    fn rule_closes(&self, rule: &ClosingRule, date: Date) -> Result<bool, CalendarError> {
        Ok(match rule {
            ClosingRule::Weekly {
                weekday,
                on_holiday: OnHoliday::StayClosed,
            } => date.weekday() == *weekday,
            ClosingRule::Weekly {
                weekday,
                on_holiday: OnHoliday::CloseNextWeekday,
            } => {
                (date.weekday() == *weekday && !self.is_holiday(date)?)
                    || self.is_moved_weekly_closing(*weekday, date)?
            }
            ClosingRule::MonthlyWeekday { week, weekday } => {
                date.weekday() == *weekday && week.contains(date)
            }
            ClosingRule::Date { date: closed, .. } => *closed == date,
            ClosingRule::Period { first, last, .. } => *first <= date && date <= *last,
        })
    }

    /// Whether `date` is the first weekday that is not a holiday after a holiday on `weekday`:
    /// where a 祝日の場合は翌平日 closing moves to.
    fn is_moved_weekly_closing(&self, weekday: Weekday, date: Date) -> Result<bool, CalendarError> {
        if is_weekend(date) || self.is_holiday(date)? {
            return Ok(false);
        }
        let mut day = date;
        // Within a week the walk back meets `weekday` itself, which decides.
        for _ in 0..7 {
            day = day.previous_day().ok_or(CalendarError::DateOutOfRange)?;
            let holiday = self.is_holiday(day)?;
            if day.weekday() == weekday {
                return Ok(holiday);
            }
            if !holiday && !is_weekend(day) {
                return Ok(false);
            }
        }
        Ok(false)
    }
}
