//! The errors of the calendar rules (`CalendarError`); the CSV import has its own `CsvError`.

use madoguchi_domain::OfficeId;
use time::Date;

use crate::holidays::{FIRST_COMPUTED_YEAR, LAST_COMPUTED_YEAR};

/// Why a calendar question could not be answered or a calendar could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The holiday rules are computed only for 1980–2099; other years need an imported list.
    #[error(
        "holidays of {year} are not known: they are computed for {FIRST_COMPUTED_YEAR}–{LAST_COMPUTED_YEAR} only, other years need an imported Cabinet Office list"
    )]
    YearNotCovered { year: i32 },
    /// A date computation left the range `time::Date` can represent.
    #[error("the date is outside the representable range")]
    DateOutOfRange,
    /// A month and day that no year has (e.g. 2-30) in a year-end closure.
    #[error("{month}-{day} is not a day of the year")]
    InvalidMonthDay { month: u8, day: u8 },
    /// Text that is not a month and day in the form `12-29`.
    #[error("`{text}` is not a month and day in the form MM-DD")]
    UnreadableMonthDay { text: String },
    /// A year-end closure longer than a month is a configuration mistake, not a closure.
    #[error("the year-end closure lasts {days} days; at most {max_days} are allowed")]
    YearEndClosureTooLong { days: u32, max_days: u32 },
    /// An office closing rule that can never be right, e.g. a period that ends before it starts.
    #[error("office {office}: {reason}")]
    InvalidClosingRule {
        office: OfficeId,
        reason: &'static str,
    },
    /// The same date twice in a list of imported holidays.
    #[error("{date} is listed twice in the imported holidays")]
    DuplicateImportedDate { date: Date },
    /// The search for an open day gave up: the office is closed for longer than the limit.
    #[error("no open day within {searched_days} days from {from}")]
    NoOpenDay { from: Date, searched_days: u32 },
}
