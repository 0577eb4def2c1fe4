//! Holiday files: a Cabinet Office CSV is previewed against the computed holidays, carried to
//! the confirmation, and imported, replacing the city's holidays of every year it covers; a
//! year can be given back to the computed holidays.
//!
//! The preview and the decoding return the file's own [`CsvError`] rather than a
//! `UseCaseError`: pages and the API show the administrator the line of the problem.

use super::CalendarStores;
use super::input::{iso_date, parse_iso_date};
use crate::cache::Catalogue;
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use base64::Engine;
use madoguchi_calendar::{
    CsvError, FIRST_COMPUTED_YEAR, HolidayDifference, ImportedHolidays, LAST_COMPUTED_YEAR,
    compare_with_computed, parse_cabinet_office_csv,
};
use madoguchi_domain::ErrorCode;
use madoguchi_storage::HolidayImport;

/// What a holiday file would change, shown before it is imported.
#[derive(Clone, Debug)]
pub struct HolidayPreview {
    pub holidays: ImportedHolidays,
    pub years: Vec<i32>,
    /// Against the computed holidays of the years the rules cover (1980–2099), by date.
    pub differences: Vec<HolidayDifference>,
}

/// Parses a Cabinet Office file (Shift_JIS or UTF-8) and compares it with the computed holidays.
pub fn preview_holiday_file(bytes: &[u8]) -> Result<HolidayPreview, CsvError> {
    let holidays = parse_cabinet_office_csv(bytes)?;
    let years: Vec<i32> = holidays.years().into_iter().collect();
    let differences = years
        .iter()
        .filter(|year| (FIRST_COMPUTED_YEAR..=LAST_COMPUTED_YEAR).contains(*year))
        .flat_map(|year| compare_with_computed(&holidays, *year..=*year).unwrap_or_default())
        .collect();
    Ok(HolidayPreview {
        holidays,
        years,
        differences,
    })
}

/// The list carried from the preview to the confirmation: base64url of `[[date, name], …]`, so
/// the form field holds no characters that need escaping. Any node can confirm it.
pub fn encode_holidays(holidays: &ImportedHolidays) -> String {
    let pairs: Vec<(String, &str)> = holidays
        .entries()
        .iter()
        .map(|entry| (iso_date(entry.date), entry.name.as_str()))
        .collect();
    let json = serde_json::to_vec(&pairs).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The inverse of [`encode_holidays`], checked again like an uploaded file: the field comes
/// back from the browser and is trusted no more than the file was.
pub fn decode_holidays(payload: &str) -> Result<ImportedHolidays, CsvError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim())
        .map_err(|_| CsvError::Empty)?;
    let pairs: Vec<(String, String)> =
        serde_json::from_slice(&bytes).map_err(|_| CsvError::Empty)?;
    let mut text = String::from(madoguchi_calendar::CABINET_OFFICE_CSV_HEADER);
    for (date, name) in pairs {
        let date = parse_iso_date(&date).ok_or(CsvError::Empty)?;
        text.push_str(&format!(
            "\n{}/{}/{},{name}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ));
    }
    parse_cabinet_office_csv(text.as_bytes())
}

/// Stores a holiday list, replacing the city's holidays of every year it covers.
pub async fn import_holidays<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    holidays: &ImportedHolidays,
) -> UseCaseResult<HolidayImport> {
    let import = store
        .replace_imported_holidays(scope.tenant, holidays)
        .await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({
        "years": import.years, "stored": import.stored, "removed": import.removed,
    });
    audit::record(store, scope, "calendar.holidays_imported", None, details).await?;
    Ok(import)
}

/// Makes `year` follow the computed holidays again; how many imported holidays it had.
pub async fn remove_imported_year<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    year: i32,
) -> UseCaseResult<u64> {
    // Holidays exist from the Public Holiday Act (1948) on; a year outside that range and the
    // supported years has nothing to remove and is a mistake, not a 200 (or a 500 in storage).
    if !(1948..=madoguchi_domain::tokyo::LATEST_YEAR).contains(&year) {
        return Err(UseCaseError::field("year", ErrorCode::DateOutOfRange));
    }
    let removed = store.remove_imported_holidays(scope.tenant, year).await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({"year": year, "removed": removed});
    audit::record(store, scope, "calendar.holidays_removed", None, details).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_preview_payload_round_trips_and_is_checked_again() {
        let holidays = parse_cabinet_office_csv(
            "国民の祝日・休日月日,国民の祝日・休日名称\n2027/1/1,元日\n2027/6/1,市制記念日\n"
                .as_bytes(),
        )
        .expect("valid file");
        let payload = encode_holidays(&holidays);
        assert!(
            payload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode_holidays(&payload), Ok(holidays));
        assert!(decode_holidays("not base64 at all!").is_err());
    }

    #[test]
    fn a_preview_lists_a_city_day_as_extra_and_a_dropped_holiday_as_missing() {
        let preview = preview_holiday_file(
            "国民の祝日・休日月日,国民の祝日・休日名称\n2027/1/1,元日\n2027/6/1,市制記念日\n"
                .as_bytes(),
        )
        .expect("valid file");
        assert_eq!(preview.years, vec![2027]);
        assert!(preview.differences.iter().any(|d| matches!(d,
            HolidayDifference::Extra { date, .. } if *date == date!(2027 - 06 - 01))));
        assert!(preview.differences.iter().any(|d| matches!(d,
            HolidayDifference::Missing { date, .. } if *date == date!(2027 - 01 - 11))));
    }
}
