//! When a unit may be used: the facility's opening hours, then either fixed time bands
//! (午前 9:00–12:00, 午後 13:00–17:00, 夜間 18:00–21:00 by default) or booking by the hour
//! (a minimum and maximum length, on a 30- or 60-minute grid counted from opening time), and
//! a buffer of cleaning or setup minutes after every booking.
//!
//! [`TimeRules::occupancy`] turns a request (a date and a band, or a date with a start and an
//! end) into the instants it occupies. Every range is half-open, `[start, end)`, in UTC, and
//! Tokyo time is UTC+09:00 with no daylight saving time, so a wall-clock time `t` on date `d`
//! is exactly `d 00:00 +09:00` plus `t` minutes. The occupied range is
//! `[use start, use end + buffer)`: what the database's exclusion constraint compares, so two
//! bookings of conflicting units may follow each other only with the buffer between them. The
//! use lies on one Tokyo date (its end at most 24:00): a booking never crosses midnight (only
//! the buffer after a booking ending at 24:00 would).
//!
//! The facility's closing days (休館日) come from the municipal calendar: [`OfficeDays`] asks
//! [`MunicipalCalendar`] for the facility's office, and any `Fn(Date) -> Option<ClosedReason>`
//! will do in tests.

mod range;

pub use range::{ClosingDays, Occupancy, OfficeDays, Range, ranges_overlap};

use crate::wall::{ClockTime, NAME_MAX_CHARS, code_ok, label_ok};
use madoguchi_calendar::{CalendarError, ClosedReason};
use madoguchi_domain::{Lang, tokyo};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Date, Duration};

/// The most bands a day has.
pub const BANDS_MAX: usize = 8;
/// The longest buffer between two bookings.
pub const BUFFER_MAX_MINUTES: u16 = 120;
/// Extensions (延長) are booked and charged in steps of this many minutes.
pub const EXTENSION_STEP_MINUTES: u16 = 30;
/// The longest extension of a band.
pub const EXTENSION_MAX_MINUTES: u16 = 180;

/// Why time rules are refused, or a requested time cannot be booked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Opening hours that close at or before they open.
    #[error("opening hours must close after they open")]
    HoursInvalid,
    /// No band, or more than [`BANDS_MAX`].
    #[error("a day has 1 to {BANDS_MAX} bands, here {0}")]
    BandCount(usize),
    /// A band with a bad code or name, or that ends at or before it starts.
    #[error("band `{0}` needs a code, names in both languages and an end after its start")]
    BandInvalid(String),
    /// The same band code twice.
    #[error("band `{0}` is listed twice")]
    BandDuplicate(String),
    /// A band starting before opening or ending after closing.
    #[error("band `{0}` lies outside the opening hours")]
    BandOutsideHours(String),
    /// Two bands overlap, or are closer than the buffer (booking one would block the other).
    #[error("bands `{0}` and `{1}` overlap once the buffer is counted")]
    BandsOverlap(String, String),
    /// Hourly settings off the grid: a granularity other than 30 or 60, a minimum or maximum
    /// not a multiple of it, a maximum below the minimum or beyond the opening hours.
    #[error("hourly booking needs a 30 or 60 minute grid and a minimum ≤ maximum on it")]
    HourlyInvalid,
    /// A buffer longer than [`BUFFER_MAX_MINUTES`].
    #[error("the buffer is at most {BUFFER_MAX_MINUTES} minutes")]
    BufferTooLong,
    /// An extension allowance that is not a multiple of 30 minutes up to
    /// [`EXTENSION_MAX_MINUTES`].
    #[error("extensions go in steps of 30 minutes up to {EXTENSION_MAX_MINUTES}")]
    ExtensionRuleInvalid,
    /// A band the facility does not have.
    #[error("the facility has no band `{0}`")]
    UnknownBand(String),
    /// A band asked of a facility booked by the hour, or hours of one booked by bands.
    #[error("this facility is not booked that way (bands or hours)")]
    ModeMismatch,
    /// An extension that is not a multiple of 30 minutes or longer than allowed.
    #[error("this extension is not allowed")]
    ExtensionNotAllowed,
    /// A start or end outside the opening hours (an extension past closing included).
    #[error("the time lies outside the opening hours")]
    OutsideHours,
    /// A start or end off the booking grid.
    #[error("the time is not on the booking grid")]
    OffGrid,
    /// A start equal to the end.
    #[error("the booking has no length")]
    Empty,
    /// An end before the start (a booking across midnight reads so: it is refused).
    #[error("the booking ends before it starts; bookings end on their own day")]
    EndsBeforeStart,
    /// Shorter than the minimum.
    #[error("the booking is shorter than the minimum")]
    TooShort,
    /// Longer than the maximum.
    #[error("the booking is longer than the maximum")]
    TooLong,
    /// The facility is closed that day (休館日, holiday, year-end closure).
    #[error("the facility is closed that day")]
    Closed(ClosedReason),
    /// The calendar cannot tell (a year it does not cover).
    #[error("the calendar cannot say whether the facility is open: {0}")]
    Calendar(CalendarError),
    /// A date outside the supported years (1900–2200).
    #[error("the date is outside the supported years")]
    DateOutOfRange,
}

impl TimeError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            TimeError::HoursInvalid => "facility_hours_invalid",
            TimeError::BandCount(_) => "facility_band_count",
            TimeError::BandInvalid(_) => "facility_band_invalid",
            TimeError::BandDuplicate(_) => "facility_band_duplicate",
            TimeError::BandOutsideHours(_) => "facility_band_outside_hours",
            TimeError::BandsOverlap(..) => "facility_bands_overlap",
            TimeError::HourlyInvalid => "facility_hourly_invalid",
            TimeError::BufferTooLong => "facility_buffer_too_long",
            TimeError::ExtensionRuleInvalid => "facility_extension_rule_invalid",
            TimeError::UnknownBand(_) => "facility_band_unknown",
            TimeError::ModeMismatch => "facility_booking_mode_mismatch",
            TimeError::ExtensionNotAllowed => "facility_extension_not_allowed",
            TimeError::OutsideHours => "facility_time_outside_hours",
            TimeError::OffGrid => "facility_time_off_grid",
            TimeError::Empty => "facility_time_empty",
            TimeError::EndsBeforeStart => "facility_time_ends_before_start",
            TimeError::TooShort => "facility_time_too_short",
            TimeError::TooLong => "facility_time_too_long",
            TimeError::Closed(_) => "facility_closed_day",
            TimeError::Calendar(_) => "facility_calendar_unavailable",
            TimeError::DateOutOfRange => "facility_date_out_of_range",
        }
    }
}

/// A band's stable key (`morning`, `afternoon`, `night`): `a-z`, `0-9`, `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BandCode(String);

impl BandCode {
    pub fn parse(raw: &str) -> Result<Self, TimeError> {
        if code_ok(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TimeError::BandInvalid(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BandCode {
    type Error = TimeError;
    fn try_from(raw: String) -> Result<Self, TimeError> {
        BandCode::parse(&raw)
    }
}

impl From<BandCode> for String {
    fn from(code: BandCode) -> String {
        code.0
    }
}

impl fmt::Display for BandCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When the facility opens and closes, every open day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    pub opens: ClockTime,
    pub closes: ClockTime,
}

/// A fixed time band (区分).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub code: BandCode,
    pub name_ja: String,
    pub name_en: String,
    pub start: ClockTime,
    pub end: ClockTime,
}

impl Band {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

/// How units are booked. Stored as `{"mode": "bands", "bands": [...]}` or
/// `{"mode": "hourly", "min_minutes": 60, "max_minutes": 240, "granularity_minutes": 30}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum BookingMode {
    /// Fixed bands; a band may be extended (延長) past its end in 30-minute steps, up to
    /// closing time. An extension may run into the next band: the exclusion constraint then
    /// refuses whichever of the two is booked second.
    Bands {
        bands: Vec<Band>,
        #[serde(default)]
        extension_max_minutes: u16,
    },
    /// By the hour: start and end on the grid counted from opening time.
    Hourly {
        min_minutes: u16,
        max_minutes: u16,
        granularity_minutes: u16,
    },
}

/// A facility's time rules as administrators write them. A facility whose rooms go by the
/// hour and whose hall goes by bands keeps one of these per unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRulesSpec {
    pub hours: OpeningHours,
    pub mode: BookingMode,
    /// Cleaning or setup minutes after every booking, before the next may start.
    #[serde(default)]
    pub buffer_minutes: u16,
}

/// Checked [`TimeRulesSpec`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TimeRulesSpec", into = "TimeRulesSpec")]
pub struct TimeRules(TimeRulesSpec);

impl TryFrom<TimeRulesSpec> for TimeRules {
    type Error = TimeError;
    fn try_from(spec: TimeRulesSpec) -> Result<Self, TimeError> {
        TimeRules::new(spec)
    }
}

impl From<TimeRules> for TimeRulesSpec {
    fn from(rules: TimeRules) -> TimeRulesSpec {
        rules.0
    }
}

/// What is asked: a band on a date (perhaps extended), or a start and end on a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeRequest {
    Band {
        #[serde(with = "crate::wall::ymd")]
        date: Date,
        band: BandCode,
        #[serde(default)]
        extension_minutes: u16,
    },
    Hours {
        #[serde(with = "crate::wall::ymd")]
        date: Date,
        start: ClockTime,
        end: ClockTime,
    },
}

impl TimeRequest {
    pub fn date(&self) -> Date {
        match self {
            TimeRequest::Band { date, .. } | TimeRequest::Hours { date, .. } => *date,
        }
    }
}

impl TimeRules {
    pub fn new(spec: TimeRulesSpec) -> Result<Self, TimeError> {
        let hours = spec.hours;
        if hours.opens >= hours.closes {
            return Err(TimeError::HoursInvalid);
        }
        if spec.buffer_minutes > BUFFER_MAX_MINUTES {
            return Err(TimeError::BufferTooLong);
        }
        match &spec.mode {
            BookingMode::Bands {
                bands,
                extension_max_minutes,
            } => {
                check_bands(bands, hours, spec.buffer_minutes)?;
                if *extension_max_minutes > EXTENSION_MAX_MINUTES
                    || !extension_max_minutes.is_multiple_of(EXTENSION_STEP_MINUTES)
                {
                    return Err(TimeError::ExtensionRuleInvalid);
                }
            }
            BookingMode::Hourly {
                min_minutes,
                max_minutes,
                granularity_minutes: grid,
            } => {
                let open_minutes = hours.closes.minutes() - hours.opens.minutes();
                let ok = matches!(grid, 30 | 60)
                    && *min_minutes >= *grid
                    && min_minutes.is_multiple_of(*grid)
                    && max_minutes.is_multiple_of(*grid)
                    && min_minutes <= max_minutes
                    && *max_minutes <= open_minutes;
                if !ok {
                    return Err(TimeError::HourlyInvalid);
                }
            }
        }
        Ok(Self(spec))
    }

    /// 09:00–21:00 with 午前 9:00–12:00, 午後 13:00–17:00 and 夜間 18:00–21:00, extensions
    /// of up to an hour, no buffer.
    pub fn default_bands() -> Result<Self, TimeError> {
        let at = |h: u16| ClockTime::hm(h, 0).ok_or(TimeError::HoursInvalid);
        let band = |code: &str, ja: &str, en: &str, start: u16, end: u16| {
            Ok(Band {
                code: BandCode::parse(code)?,
                name_ja: ja.into(),
                name_en: en.into(),
                start: at(start)?,
                end: at(end)?,
            })
        };
        TimeRules::new(TimeRulesSpec {
            hours: OpeningHours {
                opens: at(9)?,
                closes: at(21)?,
            },
            mode: BookingMode::Bands {
                bands: vec![
                    band("morning", "午前", "Morning", 9, 12)?,
                    band("afternoon", "午後", "Afternoon", 13, 17)?,
                    band("night", "夜間", "Evening", 18, 21)?,
                ],
                extension_max_minutes: 60,
            },
            buffer_minutes: 0,
        })
    }

    pub fn spec(&self) -> &TimeRulesSpec {
        &self.0
    }

    /// The band with this code (`None` for hourly rules).
    pub fn band(&self, code: &BandCode) -> Option<&Band> {
        match &self.0.mode {
            BookingMode::Bands { bands, .. } => bands.iter().find(|b| &b.code == code),
            BookingMode::Hourly { .. } => None,
        }
    }

    /// The bands, in the order written (empty for hourly rules).
    pub fn bands(&self) -> &[Band] {
        match &self.0.mode {
            BookingMode::Bands { bands, .. } => bands,
            BookingMode::Hourly { .. } => &[],
        }
    }

    /// Checks a request and returns what it uses and occupies (see the module documentation).
    pub fn occupancy(
        &self,
        request: &TimeRequest,
        closing: &impl ClosingDays,
    ) -> Result<Occupancy, TimeError> {
        let hours = self.0.hours;
        let (date, start, end, extension) = match (request, &self.0.mode) {
            (
                TimeRequest::Band {
                    date,
                    band,
                    extension_minutes,
                },
                BookingMode::Bands {
                    bands,
                    extension_max_minutes,
                },
            ) => {
                let found = bands
                    .iter()
                    .find(|b| &b.code == band)
                    .ok_or_else(|| TimeError::UnknownBand(band.to_string()))?;
                if *extension_minutes > *extension_max_minutes
                    || !extension_minutes.is_multiple_of(EXTENSION_STEP_MINUTES)
                {
                    return Err(TimeError::ExtensionNotAllowed);
                }
                let end = found.end.minutes() + extension_minutes;
                if end > hours.closes.minutes() {
                    return Err(TimeError::OutsideHours);
                }
                (*date, found.start.minutes(), end, *extension_minutes)
            }
            (
                TimeRequest::Hours { date, start, end },
                BookingMode::Hourly {
                    min_minutes,
                    max_minutes,
                    granularity_minutes,
                },
            ) => {
                let (start, end) = (start.minutes(), end.minutes());
                if end == start {
                    return Err(TimeError::Empty);
                }
                if end < start {
                    return Err(TimeError::EndsBeforeStart);
                }
                if start < hours.opens.minutes() || end > hours.closes.minutes() {
                    return Err(TimeError::OutsideHours);
                }
                let opens = hours.opens.minutes();
                if !(start - opens).is_multiple_of(*granularity_minutes)
                    || !(end - opens).is_multiple_of(*granularity_minutes)
                {
                    return Err(TimeError::OffGrid);
                }
                if end - start < *min_minutes {
                    return Err(TimeError::TooShort);
                }
                if end - start > *max_minutes {
                    return Err(TimeError::TooLong);
                }
                (*date, start, end, 0)
            }
            _ => return Err(TimeError::ModeMismatch),
        };
        if !tokyo::is_supported_date(date) {
            return Err(TimeError::DateOutOfRange);
        }
        if let Some(reason) = closing.closed_on(date).map_err(TimeError::Calendar)? {
            return Err(TimeError::Closed(reason));
        }
        let midnight = tokyo::start_of_tokyo_day(date);
        let at = |minutes: u16| midnight + Duration::minutes(i64::from(minutes));
        let used = Range::new(at(start), at(end)).ok_or(TimeError::Empty)?;
        let occupied =
            Range::new(at(start), at(end + self.0.buffer_minutes)).ok_or(TimeError::Empty)?;
        Ok(Occupancy {
            date,
            used,
            occupied,
            use_minutes: end - start,
            extension_minutes: extension,
        })
    }
}

fn check_bands(bands: &[Band], hours: OpeningHours, buffer: u16) -> Result<(), TimeError> {
    if bands.is_empty() || bands.len() > BANDS_MAX {
        return Err(TimeError::BandCount(bands.len()));
    }
    for (i, band) in bands.iter().enumerate() {
        let code = || band.code.to_string();
        if !label_ok(&band.name_ja, NAME_MAX_CHARS)
            || !label_ok(&band.name_en, NAME_MAX_CHARS)
            || band.start >= band.end
        {
            return Err(TimeError::BandInvalid(code()));
        }
        if bands[..i].iter().any(|b| b.code == band.code) {
            return Err(TimeError::BandDuplicate(code()));
        }
        if band.start < hours.opens || band.end > hours.closes {
            return Err(TimeError::BandOutsideHours(code()));
        }
    }
    let mut sorted: Vec<&Band> = bands.iter().collect();
    sorted.sort_by_key(|b| b.start);
    for pair in sorted.windows(2) {
        if pair[0].end.minutes() + buffer > pair[1].start.minutes() {
            return Err(TimeError::BandsOverlap(
                pair[0].code.to_string(),
                pair[1].code.to_string(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
