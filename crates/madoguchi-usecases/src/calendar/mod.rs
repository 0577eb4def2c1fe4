//! The municipal calendar as each city's administrators set it: holiday files (preview and
//! import of the Cabinet Office CSV, giving a year back to the computed holidays), the year-end
//! closure, and offices' closing rules and weekend opening. Pages, the API and the command line
//! share the parsing of inputs here and the writes, each of which forgets this node's cached
//! calendar (`Catalogue::calendar_changed`) and is audited. Reading the calendar is
//! `Catalogue::calendar`; slot generation and booking ask it there.
//!
//! Only administrators reach these use cases; the caller checks the role.

pub mod holidays;
pub mod input;
pub mod offices;
pub mod year_end;

pub use holidays::{
    HolidayPreview, decode_holidays, encode_holidays, import_holidays, preview_holiday_file,
    remove_imported_year,
};
pub use input::{
    NOTE_MAX_CHARS, RuleInput, WEEK_NAMES, WEEKDAY_NAMES, checked_rule, iso_date, parse_iso_date,
    parse_month_day, parse_note, parse_rule, parse_week, parse_weekday,
};
pub use offices::{
    add_closing_rule, remove_closing_rule, replace_office_calendar,
    set_open_on_weekends_and_holidays, validate_office_days,
};
pub use year_end::{parse_year_end_closure, set_year_end_closure};

use madoguchi_storage::{AuditStore, CalendarStore};

/// The storage the calendar use cases need: the calendar settings and the audit log.
pub trait CalendarStores: CalendarStore + AuditStore {}

impl<T> CalendarStores for T where T: CalendarStore + AuditStore + ?Sized {}
