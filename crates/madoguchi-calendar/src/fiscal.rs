//! Fiscal years (年度) of a municipality: April 1 to March 31, named by the year they start in,
//! with the settlement period (出納整理期間) during which the accounts of a year stay open
//! until May 31 of the following year (地方自治法 第235条の5).

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::CalendarError;
use crate::holidays::ymd;

/// A fiscal year, named by the calendar year of its April 1: `FiscalYear(2026)` is 2026年度,
/// from 2026-04-01 to 2027-03-31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FiscalYear(pub i32);

impl FiscalYear {
    pub fn first_day(self) -> Result<Date, CalendarError> {
        ymd(self.0, Month::April, 1)
    }

    pub fn last_day(self) -> Result<Date, CalendarError> {
        ymd(self.following_year()?, Month::March, 31)
    }

    /// Whether `date` lies between April 1 and March 31 of this fiscal year.
    pub fn contains(self, date: Date) -> bool {
        fiscal_year(date) == self
    }

    /// The 出納整理期間: April 1 to May 31 after the year ends.
    pub fn settlement_period(self) -> Result<RangeInclusive<Date>, CalendarError> {
        let year = self.following_year()?;
        Ok(ymd(year, Month::April, 1)?..=ymd(year, Month::May, 31)?)
    }

    /// Whether `date` is in this year's 出納整理期間.
    pub fn in_settlement_period(self, date: Date) -> bool {
        settlement_fiscal_year(date) == Some(self)
    }

    /// Whether the accounts of this year still take entries on `date`: during the year itself
    /// and its 出納整理期間.
    pub fn accounts_open_on(self, date: Date) -> bool {
        self.contains(date) || self.in_settlement_period(date)
    }

    fn following_year(self) -> Result<i32, CalendarError> {
        self.0.checked_add(1).ok_or(CalendarError::DateOutOfRange)
    }
}

impl fmt::Display for FiscalYear {
    /// `2026年度`, the way every municipal document writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}年度", self.0)
    }
}

/// The fiscal year `date` belongs to (April 1 start).
pub fn fiscal_year(date: Date) -> FiscalYear {
    if u8::from(date.month()) >= u8::from(Month::April) {
        FiscalYear(date.year())
    } else {
        FiscalYear(date.year() - 1)
    }
}

/// The first and last day of a fiscal year; fails only at the ends of `time::Date`'s range.
pub fn fiscal_year_range(fy: FiscalYear) -> Result<RangeInclusive<Date>, CalendarError> {
    Ok(fy.first_day()?..=fy.last_day()?)
}

/// The previous fiscal year when `date` is in its 出納整理期間 (April 1 – May 31), else `None`.
pub fn settlement_fiscal_year(date: Date) -> Option<FiscalYear> {
    matches!(date.month(), Month::April | Month::May).then(|| FiscalYear(date.year() - 1))
}
