//! Half-open ranges of instants, what a booking occupies, and where closing days come from.

use madoguchi_calendar::{CalendarError, ClosedReason, MunicipalCalendar};
use madoguchi_domain::OfficeId;
use time::{Date, OffsetDateTime};

/// A half-open range of instants `[start, end)`, in UTC, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range {
    start: OffsetDateTime,
    end: OffsetDateTime,
}

impl Range {
    /// `None` unless `start < end`.
    pub fn new(start: OffsetDateTime, end: OffsetDateTime) -> Option<Range> {
        (start < end).then(|| Range {
            start: start.to_offset(time::UtcOffset::UTC),
            end: end.to_offset(time::UtcOffset::UTC),
        })
    }

    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    pub fn end(&self) -> OffsetDateTime {
        self.end
    }

    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// Whether two half-open ranges share an instant: `[9:00, 12:00)` and `[12:00, 13:00)` do not.
pub fn ranges_overlap(a: &Range, b: &Range) -> bool {
    a.start < b.end && b.start < a.end
}

/// What a booking takes: its use, and the range the database keeps for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occupancy {
    /// The Tokyo date of use.
    pub date: Date,
    /// From the start of use to its end (extension included).
    pub used: Range,
    /// `[used.start, used.end + buffer)`: what the exclusion constraint compares.
    pub occupied: Range,
    /// Minutes of use, extension included.
    pub use_minutes: u16,
    /// Minutes of extension past the band (0 when booked by the hour).
    pub extension_minutes: u16,
}

/// Says on which days the facility is closed.
pub trait ClosingDays {
    /// `Some(reason)` when the facility is closed on `date`.
    fn closed_on(&self, date: Date) -> Result<Option<ClosedReason>, CalendarError>;
}

/// The municipal calendar's closing days of the facility's office.
#[derive(Clone, Copy, Debug)]
pub struct OfficeDays<'a> {
    pub calendar: &'a MunicipalCalendar,
    pub office: OfficeId,
}

impl ClosingDays for OfficeDays<'_> {
    fn closed_on(&self, date: Date) -> Result<Option<ClosedReason>, CalendarError> {
        self.calendar.closed_reason(self.office, date)
    }
}

impl<F: Fn(Date) -> Option<ClosedReason>> ClosingDays for F {
    fn closed_on(&self, date: Date) -> Result<Option<ClosedReason>, CalendarError> {
        Ok(self(date))
    }
}
