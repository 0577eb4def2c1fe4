//! The municipal calendar of Madoguchi: national holidays of Japan, the Cabinet Office holiday
//! list, the days each office is open, deadlines that move to the next open day, and fiscal
//! years.
//!
//! Architecture invariant: this crate is pure. It performs no I/O (no files, network or
//! database) and never reads the clock: every date is an argument, and the Cabinet Office CSV
//! arrives as bytes. So every rule here is testable as a plain function.
//!
//! - `holidays`: the Public Holiday Act (国民の祝日に関する法律) as code, 1980–2099.
//! - `cabinet_csv`: import and cross-check of the Cabinet Office `syukujitsu.csv`.
//! - `closing`: the year-end closure and the offices' closing days, as serde data.
//! - `calendar`: `MunicipalCalendar`, answering "is this office open on this day, and if not,
//!   why, and when next?".
//! - `fiscal`: fiscal years (年度) and the 出納整理期間.
//! - `era`: Japanese eras (和暦), e.g. 1975 is 昭和50年.

pub mod cabinet_csv;
pub mod calendar;
pub mod closing;
pub mod era;
pub mod error;
pub mod fiscal;
pub mod holidays;
mod serde_formats;

pub use cabinet_csv::{
    CABINET_OFFICE_CSV_HEADER, CsvError, HolidayDifference, ImportedHoliday, ImportedHolidays,
    compare_with_computed, parse_cabinet_office_csv,
};
pub use calendar::{
    CalendarHoliday, ClosedReason, MunicipalCalendar, MunicipalCalendarBuilder,
    OPEN_DAY_SEARCH_LIMIT_DAYS,
};
pub use closing::{
    ClosingRule, MonthDay, OfficeClosingDays, OnHoliday, WeekOfMonth, YearEndClosure,
};
pub use era::{Era, EraYear, era_of, era_years_of};
pub use error::CalendarError;
pub use fiscal::{FiscalYear, fiscal_year, fiscal_year_range, settlement_fiscal_year};
pub use holidays::{
    FIRST_COMPUTED_YEAR, Holiday, HolidayKind, LAST_COMPUTED_YEAR, autumnal_equinox_day,
    holiday_on, holidays_in_year, vernal_equinox_day,
};
