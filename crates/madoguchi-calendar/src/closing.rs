//! Closing days as data: the city's year-end closure and each office's own closing days
//! (休館日), in the serde shapes storage persists.
//!
//! A rule is data, not code, so a city can say "every Monday, or the next weekday when Monday
//! is a holiday" (the usual 公民館 rule) or "the third Thursday of each month" (a library's
//! 館内整理日) without a release. Dates are written `2026-04-01` and weekdays `monday`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::error::CalendarError;
use crate::serde_formats::{iso_date, weekday};

/// A day of the year without a year, e.g. `12-29`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonthDay {
    // Field order makes the derived ordering the calendar order.
    month: u8,
    day: u8,
}

impl MonthDay {
    /// Refuses a day no year has; 2-29 is allowed (it simply does not occur in common years).
    pub fn new(month: u8, day: u8) -> Result<Self, CalendarError> {
        let max_day = Month::try_from(month)
            .map(|m| m.length(2000))
            .map_err(|_| CalendarError::InvalidMonthDay { month, day })?;
        if day == 0 || day > max_day {
            return Err(CalendarError::InvalidMonthDay { month, day });
        }
        Ok(Self { month, day })
    }

    pub fn of(date: Date) -> Self {
        Self {
            month: u8::from(date.month()),
            day: date.day(),
        }
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// 1-based position in a leap year, so that every valid `MonthDay` has one.
    fn leap_ordinal(self) -> u16 {
        Month::try_from(self.month)
            .and_then(|month| Date::from_calendar_date(2000, month, self.day))
            .map_or(0, Date::ordinal)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for MonthDay {
    type Err = CalendarError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unreadable = || CalendarError::UnreadableMonthDay {
            text: text.chars().take(20).collect(),
        };
        let (month, day) = text.trim().split_once('-').ok_or_else(unreadable)?;
        let month = month.parse().map_err(|_| unreadable())?;
        let day = day.parse().map_err(|_| unreadable())?;
        Self::new(month, day)
    }
}

impl TryFrom<String> for MonthDay {
    type Error = CalendarError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<MonthDay> for String {
    fn from(day: MonthDay) -> Self {
        day.to_string()
    }
}

/// The days every office of the city closes around the new year, both ends included; the
/// closure may run over the new year (the default is 12-29 to 01-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "YearEndClosureData", into = "YearEndClosureData")]
pub struct YearEndClosure {
    first: MonthDay,
    last: MonthDay,
}

impl YearEndClosure {
    /// A longer closure is a configuration mistake rather than a closure.
    pub const MAX_DAYS: u32 = 31;

    pub fn new(first: MonthDay, last: MonthDay) -> Result<Self, CalendarError> {
        let closure = Self { first, last };
        let days = closure.days();
        if days > Self::MAX_DAYS {
            return Err(CalendarError::YearEndClosureTooLong {
                days,
                max_days: Self::MAX_DAYS,
            });
        }
        Ok(closure)
    }

    pub fn first(&self) -> MonthDay {
        self.first
    }

    pub fn last(&self) -> MonthDay {
        self.last
    }

    /// The number of days closed (counted in a leap year when the closure includes 2-29).
    pub fn days(&self) -> u32 {
        let first = u32::from(self.first.leap_ordinal());
        let last = u32::from(self.last.leap_ordinal());
        if first <= last {
            last - first + 1
        } else {
            366 - first + last + 1
        }
    }

    pub fn contains(&self, date: Date) -> bool {
        let day = MonthDay::of(date);
        if self.first <= self.last {
            self.first <= day && day <= self.last
        } else {
            day >= self.first || day <= self.last
        }
    }
}

impl Default for YearEndClosure {
    /// 12/29 to 1/3, the closure of national government offices (行政機関の休日に関する法律).
    fn default() -> Self {
        Self {
            first: MonthDay { month: 12, day: 29 },
            last: MonthDay { month: 1, day: 3 },
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearEndClosureData {
    first: MonthDay,
    last: MonthDay,
}

impl TryFrom<YearEndClosureData> for YearEndClosure {
    type Error = CalendarError;

    fn try_from(data: YearEndClosureData) -> Result<Self, Self::Error> {
        Self::new(data.first, data.last)
    }
}

impl From<YearEndClosure> for YearEndClosureData {
    fn from(closure: YearEndClosure) -> Self {
        Self {
            first: closure.first,
            last: closure.last,
        }
    }
}

/// The closing days of one office, on top of the city's year-end closure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeClosingDays {
    /// Whether the office opens on Saturdays, Sundays and national holidays, as many 公民館,
    /// libraries and sports halls do. By default an office keeps the municipal days off.
    #[serde(default)]
    pub open_on_weekends_and_holidays: bool,
    /// The office's own closing days; a day matching any rule is closed.
    #[serde(default)]
    pub rules: Vec<ClosingRule>,
}

/// One kind of closing day of an office.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClosingRule {
    /// Every week on `weekday`, e.g. 毎週月曜日.
    Weekly {
        #[serde(with = "weekday")]
        weekday: Weekday,
        /// What happens when that weekday is a holiday (祝日の場合).
        #[serde(default)]
        on_holiday: OnHoliday,
    },
    /// The nth `weekday` of each month, e.g. 毎月第3木曜日.
    MonthlyWeekday {
        week: WeekOfMonth,
        #[serde(with = "weekday")]
        weekday: Weekday,
    },
    /// One day, e.g. a day of equipment inspection (設備点検).
    Date {
        #[serde(with = "iso_date")]
        date: Date,
        #[serde(default)]
        note: Option<String>,
    },
    /// Consecutive days, both ends included, e.g. a closure for renovation (改修工事).
    Period {
        #[serde(with = "iso_date")]
        first: Date,
        #[serde(with = "iso_date")]
        last: Date,
        #[serde(default)]
        note: Option<String>,
    },
}

impl ClosingRule {
    /// The free-text note of a dated rule.
    pub fn note(&self) -> Option<&str> {
        match self {
            ClosingRule::Date { note, .. } | ClosingRule::Period { note, .. } => note.as_deref(),
            ClosingRule::Weekly { .. } | ClosingRule::MonthlyWeekday { .. } => None,
        }
    }
}

/// What a weekly closing day does when it falls on a holiday.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHoliday {
    /// The office stays closed that day, and nothing else changes.
    #[default]
    StayClosed,
    /// The closing moves to the next weekday that is not a holiday (祝日の場合は翌平日), and the
    /// office opens on the holiday if it opens on holidays at all.
    CloseNextWeekday,
}

/// Which occurrence of a weekday in its month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeekOfMonth {
    First,
    Second,
    Third,
    Fourth,
    Fifth,
    Last,
}

impl WeekOfMonth {
    /// Whether `date` is in this week of its month (the weekday is checked by the caller).
    pub fn contains(self, date: Date) -> bool {
        let occurrence = (date.day() - 1) / 7 + 1;
        match self {
            WeekOfMonth::First => occurrence == 1,
            WeekOfMonth::Second => occurrence == 2,
            WeekOfMonth::Third => occurrence == 3,
            WeekOfMonth::Fourth => occurrence == 4,
            WeekOfMonth::Fifth => occurrence == 5,
            WeekOfMonth::Last => date.day() + 7 > date.month().length(date.year()),
        }
    }
}
