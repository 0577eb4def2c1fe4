//! Import of the Cabinet Office holiday list (内閣府 `syukujitsu.csv`) and its cross-check
//! against the computed holidays.
//!
//! The file is Shift_JIS with CRLF line ends, a header line
//! `国民の祝日・休日月日,国民の祝日・休日名称`, then one `YYYY/M/D,名称` row per holiday. The
//! parser also accepts UTF-8 with or without a byte-order mark, so an admin can fix a file in
//! any editor, and reports every problem with its line number. It reads bytes and returns data:
//! where the bytes come from (an upload, a file) is the caller's business.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::CalendarError;
use crate::holidays::{
    HolidayKind, REST_DAY_NAME_JA, TREATED_AS_HOLIDAY_NAME_JA, holidays_in_year,
};
use crate::serde_formats::iso_date;

/// The header line of the Cabinet Office file.
pub const CABINET_OFFICE_CSV_HEADER: &str = "国民の祝日・休日月日,国民の祝日・休日名称";

/// The Public Holiday Act came into force in 1948; an earlier date is a typing mistake.
const EARLIEST_YEAR: i32 = 1948;
/// The longest Cabinet Office name is 7 characters; anything near this limit is not a name.
const NAME_MAX_CHARS: usize = 40;

/// Why a holiday file was refused. Lines are numbered from 1, the header being line 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty")]
    Empty,
    #[error("line {line}: the bytes are neither UTF-8 nor Shift_JIS text")]
    Undecodable { line: usize },
    #[error("line 1: expected the header `{CABINET_OFFICE_CSV_HEADER}`, found `{found}`")]
    BadHeader { found: String },
    #[error("line {line}: `{value}` is not a date: {reason}")]
    BadDate {
        line: usize,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: the holiday name is missing")]
    MissingName { line: usize },
    #[error("line {line}: the holiday name is not valid: {reason}")]
    BadName { line: usize, reason: &'static str },
    #[error("line {line}: expected 2 fields (date,name), found {found}")]
    TooManyFields { line: usize, found: usize },
    #[error("line {line}: {date} is listed twice (first on line {first_line})")]
    DuplicateDate {
        line: usize,
        first_line: usize,
        date: Date,
    },
    #[error("the file has a header but no holidays")]
    NoRows,
}

impl CsvError {
    /// The line of the file the problem is on (the header is line 1), when it has one: pages
    /// and the API point the administrator at it.
    pub fn line(&self) -> Option<usize> {
        match self {
            CsvError::Empty | CsvError::NoRows => None,
            CsvError::BadHeader { .. } => Some(1),
            CsvError::Undecodable { line }
            | CsvError::BadDate { line, .. }
            | CsvError::MissingName { line }
            | CsvError::BadName { line, .. }
            | CsvError::TooManyFields { line, .. }
            | CsvError::DuplicateDate { line, .. } => Some(*line),
        }
    }
}

/// One row of an imported list: a date and the name the list gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportedHoliday {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub name: String,
}

impl ImportedHoliday {
    /// The English name: known for every name the Cabinet Office uses, otherwise the Japanese one.
    pub fn name_en(&self) -> &str {
        english_name(&self.name).unwrap_or(&self.name)
    }
}

/// An imported holiday list: sorted by date, one entry per date.
///
/// It is authoritative for every year it mentions: `MunicipalCalendar` replaces the computed
/// holidays of those years by it, so a list can also remove a day (as the 2020 and 2021 Olympic
/// moves did), not only add one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ImportedHoliday>", into = "Vec<ImportedHoliday>")]
pub struct ImportedHolidays(Vec<ImportedHoliday>);

impl ImportedHolidays {
    /// Sorts the entries by date and refuses a date given twice.
    pub fn new(mut entries: Vec<ImportedHoliday>) -> Result<Self, CalendarError> {
        entries.sort_by_key(|entry| entry.date);
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].date == pair[1].date) {
            return Err(CalendarError::DuplicateImportedDate { date: pair[0].date });
        }
        Ok(Self(entries))
    }

    pub fn entries(&self) -> &[ImportedHoliday] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The years the list mentions, each of which it covers completely.
    pub fn years(&self) -> BTreeSet<i32> {
        self.0.iter().map(|entry| entry.date.year()).collect()
    }

    /// The entry on `date`, if any.
    pub fn get(&self, date: Date) -> Option<&ImportedHoliday> {
        self.0
            .binary_search_by_key(&date, |entry| entry.date)
            .ok()
            .and_then(|index| self.0.get(index))
    }
}

impl TryFrom<Vec<ImportedHoliday>> for ImportedHolidays {
    type Error = CalendarError;

    fn try_from(entries: Vec<ImportedHoliday>) -> Result<Self, Self::Error> {
        Self::new(entries)
    }
}

impl From<ImportedHolidays> for Vec<ImportedHoliday> {
    fn from(list: ImportedHolidays) -> Self {
        list.0
    }
}

/// Parses a Cabinet Office holiday file (Shift_JIS, or UTF-8 with or without BOM).
pub fn parse_cabinet_office_csv(bytes: &[u8]) -> Result<ImportedHolidays, CsvError> {
    let lines = decode_lines(bytes)?;
    let mut lines = lines
        .iter()
        .enumerate()
        .map(|(index, text)| (index + 1, text));

    let Some((_, header)) = lines.next() else {
        return Err(CsvError::Empty);
    };
    if header.trim() != CABINET_OFFICE_CSV_HEADER {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(CsvError::Empty);
        }
        return Err(CsvError::BadHeader {
            found: header.chars().take(80).collect(),
        });
    }

    let mut first_line_of: BTreeMap<Date, usize> = BTreeMap::new();
    let mut entries = Vec::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let entry = parse_row(line, text)?;
        if let Some(&first_line) = first_line_of.get(&entry.date) {
            return Err(CsvError::DuplicateDate {
                line,
                first_line,
                date: entry.date,
            });
        }
        first_line_of.insert(entry.date, line);
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(CsvError::NoRows);
    }
    entries.sort_by_key(|entry| entry.date);
    Ok(ImportedHolidays(entries))
}

#[derive(Clone, Copy)]
enum TextEncoding {
    Utf8,
    ShiftJis,
}

/// Splits the bytes into lines and decodes each, so that an undecodable byte is reported with
/// its line. Splitting before decoding is safe: no Shift_JIS trail byte is `\n` or `\r`.
///
/// The encoding is UTF-8 after a byte-order mark; otherwise it is decided by the first line
/// with a non-ASCII byte (normally the header, whose Shift_JIS bytes are never UTF-8), so that
/// a stray byte further down is reported on its own line rather than switching the encoding.
fn decode_lines(bytes: &[u8]) -> Result<Vec<String>, CsvError> {
    if bytes.is_empty() {
        return Err(CsvError::Empty);
    }
    let (body, encoding) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, TextEncoding::Utf8),
        None => {
            let first_non_ascii = bytes
                .split(|byte| *byte == b'\n')
                .find(|line| !line.is_ascii());
            match first_non_ascii {
                Some(line) if std::str::from_utf8(line).is_err() => (bytes, TextEncoding::ShiftJis),
                _ => (bytes, TextEncoding::Utf8),
            }
        }
    };
    body.split(|byte| *byte == b'\n')
        .enumerate()
        .map(|(index, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = match encoding {
                TextEncoding::Utf8 => std::str::from_utf8(raw).ok().map(str::to_owned),
                TextEncoding::ShiftJis => encoding_rs::SHIFT_JIS
                    .decode_without_bom_handling_and_without_replacement(raw)
                    .map(|text| text.into_owned()),
            };
            text.ok_or(CsvError::Undecodable { line: index + 1 })
        })
        .collect()
}

fn parse_row(line: usize, text: &str) -> Result<ImportedHoliday, CsvError> {
    let fields: Vec<&str> = text.split(',').map(clean_field).collect();
    let date_text = fields.first().copied().unwrap_or_default();
    let date = parse_date(date_text).map_err(|reason| CsvError::BadDate {
        line,
        value: date_text.chars().take(40).collect(),
        reason,
    })?;
    let name = match fields.get(1) {
        Some(name) if !name.is_empty() => *name,
        _ => return Err(CsvError::MissingName { line }),
    };
    if fields.len() > 2 {
        return Err(CsvError::TooManyFields {
            line,
            found: fields.len(),
        });
    }
    if name.chars().any(char::is_control) {
        return Err(CsvError::BadName {
            line,
            reason: "it contains control characters",
        });
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(CsvError::BadName {
            line,
            reason: "it is longer than 40 characters",
        });
    }
    Ok(ImportedHoliday {
        date,
        name: name.to_owned(),
    })
}

/// Trims spaces and one pair of surrounding double quotes (as a spreadsheet may add).
fn clean_field(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .map_or(field, str::trim)
}

fn parse_date(text: &str) -> Result<Date, &'static str> {
    const FORM: &str = "expected the form YYYY/M/D";
    let parts: Vec<&str> = text.split('/').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(FORM);
    };
    let is_number = |part: &str, max_len: usize| {
        !part.is_empty() && part.len() <= max_len && part.bytes().all(|b| b.is_ascii_digit())
    };
    if year.len() != 4 || !is_number(year, 4) || !is_number(month, 2) || !is_number(day, 2) {
        return Err(FORM);
    }
    let (Ok(year), Ok(month), Ok(day)) = (year.parse::<i32>(), month.parse::<u8>(), day.parse())
    else {
        return Err(FORM);
    };
    if year < EARLIEST_YEAR {
        return Err("it is before the Public Holiday Act of 1948");
    }
    let month = Month::try_from(month).map_err(|_| "there is no such month")?;
    Date::from_calendar_date(year, month, day).map_err(|_| "there is no such day")
}

/// The English name of a name the Cabinet Office uses.
pub(crate) fn english_name(name_ja: &str) -> Option<&'static str> {
    use HolidayKind as K;
    let kind = match name_ja {
        REST_DAY_NAME_JA => return Some("Holiday"),
        TREATED_AS_HOLIDAY_NAME_JA => return Some("Holiday (treated as a national holiday)"),
        "体育の日（スポーツの日）" => K::HealthAndSportsDay,
        "元日" => K::NewYearsDay,
        "成人の日" => K::ComingOfAgeDay,
        "建国記念の日" => K::NationalFoundationDay,
        "天皇誕生日" => K::EmperorsBirthday,
        "春分の日" => K::VernalEquinoxDay,
        "昭和の日" => K::ShowaDay,
        "憲法記念日" => K::ConstitutionMemorialDay,
        "みどりの日" => K::GreeneryDay,
        "こどもの日" => K::ChildrensDay,
        "海の日" => K::MarineDay,
        "山の日" => K::MountainDay,
        "敬老の日" => K::RespectForTheAgedDay,
        "秋分の日" => K::AutumnalEquinoxDay,
        "体育の日" => K::HealthAndSportsDay,
        "スポーツの日" => K::SportsDay,
        "文化の日" => K::CultureDay,
        "勤労感謝の日" => K::LaborThanksgivingDay,
        "大喪の礼" => K::StateFuneralOfEmperorShowa,
        "即位礼正殿の儀" => K::EnthronementCeremony,
        "結婚の儀" => K::CrownPrinceWedding,
        "振替休日" => K::SubstituteHoliday,
        "国民の休日" => K::CitizensHoliday,
        _ => return None,
    };
    Some(kind.name_en())
}

/// One way an imported list and the computed holidays disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "difference", rename_all = "snake_case")]
pub enum HolidayDifference {
    /// The rules give a holiday that the list does not have.
    Missing {
        #[serde(with = "iso_date")]
        date: Date,
        computed_name: String,
    },
    /// The list has a holiday that the rules do not give.
    Extra {
        #[serde(with = "iso_date")]
        date: Date,
        listed_name: String,
    },
    /// Both have the date, under different names.
    NameMismatch {
        #[serde(with = "iso_date")]
        date: Date,
        computed_name: String,
        listed_name: String,
    },
}

impl HolidayDifference {
    pub fn date(&self) -> Date {
        match self {
            HolidayDifference::Missing { date, .. }
            | HolidayDifference::Extra { date, .. }
            | HolidayDifference::NameMismatch { date, .. } => *date,
        }
    }
}

/// Compares an imported list with the computed holidays of `years`, sorted by date. Entries of
/// the list outside `years` are ignored; an empty result means the two agree exactly.
pub fn compare_with_computed(
    imported: &ImportedHolidays,
    years: RangeInclusive<i32>,
) -> Result<Vec<HolidayDifference>, CalendarError> {
    let mut computed = BTreeMap::new();
    for year in years.clone() {
        for holiday in holidays_in_year(year)? {
            computed.insert(holiday.date, holiday);
        }
    }

    let mut differences = Vec::new();
    for holiday in computed.values() {
        match imported.get(holiday.date) {
            None => differences.push(HolidayDifference::Missing {
                date: holiday.date,
                computed_name: holiday.name_ja().to_owned(),
            }),
            Some(entry) if entry.name != holiday.name_ja() => {
                differences.push(HolidayDifference::NameMismatch {
                    date: holiday.date,
                    computed_name: holiday.name_ja().to_owned(),
                    listed_name: entry.name.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for entry in imported.entries() {
        if years.contains(&entry.date.year()) && !computed.contains_key(&entry.date) {
            differences.push(HolidayDifference::Extra {
                date: entry.date,
                listed_name: entry.name.clone(),
            });
        }
    }
    differences.sort_by_key(HolidayDifference::date);
    Ok(differences)
}
