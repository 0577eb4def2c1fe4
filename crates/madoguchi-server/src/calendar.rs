//! Each city's municipal calendar as its administrators set it, and the flows that change it.
//!
//! The settings live in the database (`CalendarStore`: imported holidays, the year-end closure,
//! the offices' closing days); [`municipal_calendar`] builds a `MunicipalCalendar` from them
//! and keeps it in a `TtlCache` of `AppState`, which every change here forgets at once on this
//! node (other nodes within the cache period). Booking asks [`ensure_open`]; slot generation
//! asks the calendar directly. Pages and the API share the parsing, the flows (write, forget,
//! audit) and the texts here.

use crate::accounts::audit;
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::state::AppState;
use base64::Engine;
use madoguchi_calendar::{
    CalendarHoliday, ClosingRule, CsvError, FIRST_COMPUTED_YEAR, HolidayDifference,
    ImportedHolidays, LAST_COMPUTED_YEAR, MonthDay, MunicipalCalendar, OfficeClosingDays,
    OnHoliday, WeekOfMonth, YearEndClosure, compare_with_computed, parse_cabinet_office_csv,
};
use madoguchi_domain::{AccountId, ErrorCode, Lang, OfficeId, TenantId};
use madoguchi_storage::{ActorKind, HolidayImport, OfficeCalendar, StoredClosingRule};
use std::sync::Arc;
use time::{Date, Weekday};
use uuid::Uuid;

/// The longest note of a closing day (the column allows this many characters).
pub const NOTE_MAX_CHARS: usize = 100;

/// The tenant's calendar from its stored settings, from this node's cache when fresh.
pub async fn municipal_calendar(
    state: &AppState,
    tenant: TenantId,
) -> AppResult<Arc<MunicipalCalendar>> {
    Ok(state.catalogue.calendar(&*state.storage, tenant).await?)
}

/// Call after changing a tenant's calendar settings, so this node uses them at once.
pub fn calendar_changed(state: &AppState, tenant: TenantId) {
    state.catalogue.calendar_changed(tenant);
}

pub use madoguchi_usecases::reservations::slot_is_closed;

// ---------------------------------------------------------------------------------------------
// Holiday files
// ---------------------------------------------------------------------------------------------

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
    Ok(preview_of(holidays))
}

fn preview_of(holidays: ImportedHolidays) -> HolidayPreview {
    let years: Vec<i32> = holidays.years().into_iter().collect();
    let differences = years
        .iter()
        .filter(|year| (FIRST_COMPUTED_YEAR..=LAST_COMPUTED_YEAR).contains(*year))
        .flat_map(|year| compare_with_computed(&holidays, *year..=*year).unwrap_or_default())
        .collect();
    HolidayPreview {
        holidays,
        years,
        differences,
    }
}

/// The line of the file a problem is on, when it has one.
pub fn csv_error_line(error: &CsvError) -> Option<usize> {
    match error {
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

/// A problem of a holiday file in the reader's language, with its line number.
pub fn csv_error_message(error: &CsvError, lang: Lang) -> String {
    let header = madoguchi_calendar::CABINET_OFFICE_CSV_HEADER;
    match (error, lang) {
        (CsvError::Empty, Lang::Ja) => "ファイルが空です。".to_owned(),
        (CsvError::Empty, Lang::En) => "The file is empty.".to_owned(),
        (CsvError::NoRows, Lang::Ja) => "見出しの行だけで、祝日の行がありません。".to_owned(),
        (CsvError::NoRows, Lang::En) => "The file has a header but no holidays.".to_owned(),
        (CsvError::Undecodable { line }, Lang::Ja) => {
            format!(
                "{line}行目: 文字コードを読み取れません（Shift_JIS または UTF-8 で保存してください）。"
            )
        }
        (CsvError::Undecodable { line }, Lang::En) => {
            format!("Line {line}: the text is neither Shift_JIS nor UTF-8.")
        }
        (CsvError::BadHeader { found }, Lang::Ja) => {
            format!("1行目: 見出しは「{header}」としてください（「{found}」となっています）。")
        }
        (CsvError::BadHeader { found }, Lang::En) => {
            format!(
                "Line 1: the header must be \u{201c}{header}\u{201d}, not \u{201c}{found}\u{201d}."
            )
        }
        (
            CsvError::BadDate {
                line,
                value,
                reason,
            },
            Lang::Ja,
        ) => format!(
            "{line}行目: 「{value}」は日付として読み取れません（{}）。",
            date_reason_ja(reason)
        ),
        (
            CsvError::BadDate {
                line,
                value,
                reason,
            },
            Lang::En,
        ) => format!("Line {line}: \u{201c}{value}\u{201d} is not a date ({reason})."),
        (CsvError::MissingName { line }, Lang::Ja) => {
            format!("{line}行目: 祝日の名称がありません。")
        }
        (CsvError::MissingName { line }, Lang::En) => {
            format!("Line {line}: the holiday name is missing.")
        }
        (CsvError::BadName { line, reason }, Lang::Ja) => format!(
            "{line}行目: 祝日の名称が正しくありません（{}）。",
            name_reason_ja(reason)
        ),
        (CsvError::BadName { line, reason }, Lang::En) => {
            format!("Line {line}: the holiday name is not valid ({reason}).")
        }
        (CsvError::TooManyFields { line, found }, Lang::Ja) => {
            format!("{line}行目: 項目は「日付,名称」の2つにしてください（{found}個あります）。")
        }
        (CsvError::TooManyFields { line, found }, Lang::En) => {
            format!("Line {line}: expected 2 fields (date,name), found {found}.")
        }
        (
            CsvError::DuplicateDate {
                line,
                first_line,
                date,
            },
            Lang::Ja,
        ) => format!(
            "{line}行目: {}は{first_line}行目と重複しています。",
            format_date(*date, Lang::Ja)
        ),
        (
            CsvError::DuplicateDate {
                line,
                first_line,
                date,
            },
            Lang::En,
        ) => format!(
            "Line {line}: {} is already on line {first_line}.",
            format_date(*date, Lang::En)
        ),
    }
}

fn date_reason_ja(reason: &str) -> &str {
    match reason {
        "expected the form YYYY/M/D" => "「2026/1/12」のように 年/月/日 で書いてください",
        "it is before the Public Holiday Act of 1948" => "1948年の祝日法より前の日付です",
        "there is no such month" => "そのような月はありません",
        "there is no such day" => "そのような日はありません",
        other => other,
    }
}

fn name_reason_ja(reason: &str) -> &str {
    match reason {
        "it contains control characters" => "制御文字が含まれています",
        "it is longer than 40 characters" => "40文字を超えています",
        other => other,
    }
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

// ---------------------------------------------------------------------------------------------
// Flows: write, forget the cached calendar, audit
// ---------------------------------------------------------------------------------------------

/// Stores a holiday list, replacing the tenant's holidays of every year it covers.
pub async fn import_holidays(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    holidays: &ImportedHolidays,
) -> AppResult<HolidayImport> {
    let import = state
        .storage
        .replace_imported_holidays(ctx.tenant.id, holidays)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({
        "years": import.years, "stored": import.stored, "removed": import.removed,
    });
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.holidays_imported",
        None,
        details,
    )
    .await?;
    Ok(import)
}

/// Makes `year` follow the computed holidays again.
pub async fn remove_imported_year(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    year: i32,
) -> AppResult<u64> {
    // Holidays exist from the Public Holiday Act (1948) on; a year outside that range and the
    // supported years has nothing to remove and is a mistake, not a 200 (or a 500 in storage).
    if !(1948..=madoguchi_domain::tokyo::LATEST_YEAR).contains(&year) {
        return Err(AppError::field("year", ErrorCode::DateOutOfRange));
    }
    let removed = state
        .storage
        .remove_imported_holidays(ctx.tenant.id, year)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({"year": year, "removed": removed});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.holidays_removed",
        None,
        details,
    )
    .await?;
    Ok(removed)
}

/// Sets the city's year-end closure (`None`: the city has none).
pub async fn set_year_end_closure(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    closure: Option<YearEndClosure>,
) -> AppResult<()> {
    state
        .storage
        .set_year_end_closure(ctx.tenant.id, closure)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = match closure {
        Some(closure) => serde_json::json!({"first": closure.first(), "last": closure.last()}),
        None => serde_json::json!({"first": null, "last": null}),
    };
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.year_end_closure_set",
        None,
        details,
    )
    .await
}

/// Adds a closing rule to an office, refusing one that would leave the office never open. The
/// same rule twice is stored once.
pub async fn add_closing_rule(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    office: OfficeId,
    rule: ClosingRule,
) -> AppResult<Option<StoredClosingRule>> {
    let current = state.storage.office_calendar(ctx.tenant.id, office).await?;
    if current.rules.iter().any(|stored| stored.rule == rule) {
        return Ok(None);
    }
    let mut days = current.closing_days();
    days.rules.push(rule.clone());
    validate_office_days(office, &days)?;
    let stored = state
        .storage
        .add_office_closing_rule(ctx.tenant.id, office, &rule)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({"office_id": office.to_string(), "rule": rule});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.closing_day_added",
        Some(stored.id.to_string()),
        details,
    )
    .await?;
    Ok(Some(stored))
}

/// Removes one closing rule of an office.
pub async fn remove_closing_rule(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    office: OfficeId,
    rule: Uuid,
) -> AppResult<()> {
    state
        .storage
        .remove_office_closing_rule(ctx.tenant.id, office, rule)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({"office_id": office.to_string()});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.closing_day_removed",
        Some(rule.to_string()),
        details,
    )
    .await
}

/// Sets whether an office opens on weekends and holidays.
pub async fn set_open_on_weekends_and_holidays(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    office: OfficeId,
    open: bool,
) -> AppResult<()> {
    state
        .storage
        .set_office_open_on_weekends_and_holidays(ctx.tenant.id, office, open)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({"open_on_weekends_and_holidays": open});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.office_days_set",
        Some(office.to_string()),
        details,
    )
    .await
}

/// Replaces an office's whole calendar.
pub async fn replace_office_calendar(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    office: OfficeId,
    days: &OfficeClosingDays,
) -> AppResult<OfficeCalendar> {
    validate_office_days(office, days)?;
    let calendar = state
        .storage
        .replace_office_calendar(ctx.tenant.id, office, days)
        .await?;
    calendar_changed(state, ctx.tenant.id);
    let details = serde_json::json!({
        "open_on_weekends_and_holidays": days.open_on_weekends_and_holidays,
        "rules": days.rules.len(),
    });
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "calendar.office_days_replaced",
        Some(office.to_string()),
        details,
    )
    .await?;
    Ok(calendar)
}

// ---------------------------------------------------------------------------------------------
// Parsing inputs (pages and API alike)
// ---------------------------------------------------------------------------------------------

fn field(name: &str) -> FieldError {
    FieldError {
        field: name.to_owned(),
        code: ErrorCode::ValidationFailed,
    }
}

/// `12-29` (or `12/29`) as a month and day.
pub fn parse_month_day(name: &str, raw: &str) -> AppResult<MonthDay> {
    raw.trim()
        .replace('/', "-")
        .parse()
        .map_err(|_| AppError::field(name, ErrorCode::ValidationFailed))
}

/// A year-end closure from its two ends, reporting both fields at once.
pub fn parse_year_end_closure(first: &str, last: &str) -> AppResult<YearEndClosure> {
    let first = parse_month_day("first", first);
    let last = parse_month_day("last", last);
    match (first, last) {
        (Ok(first), Ok(last)) => {
            YearEndClosure::new(first, last).map_err(|_| AppError::fields(vec![field("last")]))
        }
        (first, last) => Err(AppError::fields(
            [
                first.err().map(|_| field("first")),
                last.err().map(|_| field("last")),
            ]
            .into_iter()
            .flatten()
            .collect(),
        )),
    }
}

/// `2026-04-01` as a date, within the supported years.
pub fn parse_iso_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .filter(|d| madoguchi_domain::tokyo::is_supported_date(*d))
}

fn iso_date(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A closing day's note: trimmed, empty for none, at most [`NOTE_MAX_CHARS`] characters and
/// no control characters.
pub fn parse_note(raw: Option<&str>) -> AppResult<Option<String>> {
    let note = raw.map(str::trim).filter(|n| !n.is_empty());
    match note {
        Some(note)
            if note.chars().count() > NOTE_MAX_CHARS || note.chars().any(char::is_control) =>
        {
            Err(AppError::field("note", ErrorCode::ValidationFailed))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// A rule as a client sent it, checked: a period must not end before it starts, and the note
/// is cleaned like a form's.
pub fn checked_rule(rule: ClosingRule) -> AppResult<ClosingRule> {
    Ok(match rule {
        ClosingRule::Date { date, note } => ClosingRule::Date {
            date,
            note: parse_note(note.as_deref())?,
        },
        ClosingRule::Period { first, last, note } => {
            if last < first {
                return Err(AppError::field("last", ErrorCode::ValidationFailed));
            }
            let note = parse_note(note.as_deref())?;
            if first == last {
                ClosingRule::Date { date: first, note }
            } else {
                ClosingRule::Period { first, last, note }
            }
        }
        weekly_or_monthly => weekly_or_monthly,
    })
}

/// Refuses closing days the calendar could not use (closed on every day of the week).
pub fn validate_office_days(office: OfficeId, days: &OfficeClosingDays) -> AppResult<()> {
    MunicipalCalendar::builder()
        .office(office, days.clone())
        .build()
        .map(|_| ())
        .map_err(|_| AppError::field("weekday", ErrorCode::ValidationFailed))
}

/// A weekday from its English name (`monday`).
pub fn parse_weekday(raw: &str) -> Option<Weekday> {
    WEEKDAYS
        .iter()
        .find(|(_, name, _, _)| *name == raw.trim())
        .map(|(day, ..)| *day)
}

/// A week of the month from its name (`first` … `last`).
pub fn parse_week(raw: &str) -> Option<WeekOfMonth> {
    WEEKS
        .iter()
        .find(|(_, name, _, _)| *name == raw.trim())
        .map(|(week, ..)| *week)
}

/// Weekdays with their wire name and Japanese and English labels.
pub const WEEKDAYS: [(Weekday, &str, &str, &str); 7] = [
    (Weekday::Monday, "monday", "月", "Monday"),
    (Weekday::Tuesday, "tuesday", "火", "Tuesday"),
    (Weekday::Wednesday, "wednesday", "水", "Wednesday"),
    (Weekday::Thursday, "thursday", "木", "Thursday"),
    (Weekday::Friday, "friday", "金", "Friday"),
    (Weekday::Saturday, "saturday", "土", "Saturday"),
    (Weekday::Sunday, "sunday", "日", "Sunday"),
];

/// Weeks of the month with their wire name and Japanese and English labels.
pub const WEEKS: [(WeekOfMonth, &str, &str, &str); 6] = [
    (WeekOfMonth::First, "first", "第1", "first"),
    (WeekOfMonth::Second, "second", "第2", "second"),
    (WeekOfMonth::Third, "third", "第3", "third"),
    (WeekOfMonth::Fourth, "fourth", "第4", "fourth"),
    (WeekOfMonth::Fifth, "fifth", "第5", "fifth"),
    (WeekOfMonth::Last, "last", "最終", "last"),
];

// ---------------------------------------------------------------------------------------------
// Texts
// ---------------------------------------------------------------------------------------------

fn weekday_label(day: Weekday, lang: Lang) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(d, ..)| *d == day)
        .map_or("", |(_, _, ja, en)| match lang {
            Lang::Ja => ja,
            Lang::En => en,
        })
}

fn week_label(week: WeekOfMonth, lang: Lang) -> &'static str {
    WEEKS
        .iter()
        .find(|(w, ..)| *w == week)
        .map_or("", |(_, _, ja, en)| match lang {
            Lang::Ja => ja,
            Lang::En => en,
        })
}

/// `2026年1月12日（月）` / `Mon 12 Jan 2026`.
pub fn format_date(date: Date, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日（{}）",
            date.year(),
            u8::from(date.month()),
            date.day(),
            weekday_label(date.weekday(), Lang::Ja)
        ),
        Lang::En => {
            let weekday = weekday_label(date.weekday(), Lang::En);
            let month = date.month().to_string();
            format!(
                "{} {} {} {}",
                weekday.get(..3).unwrap_or(weekday),
                date.day(),
                month.get(..3).unwrap_or(&month),
                date.year()
            )
        }
    }
}

/// `12月29日` / `29 Dec`.
pub fn format_month_day(day: MonthDay, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{}月{}日", day.month(), day.day()),
        Lang::En => {
            let month = time::Month::try_from(day.month())
                .map(|m| m.to_string())
                .unwrap_or_default();
            format!("{} {}", day.day(), month.get(..3).unwrap_or(&month))
        }
    }
}

/// The year-end closure in words: `12月29日〜1月3日` / `29 Dec – 3 Jan`.
pub fn describe_year_end_closure(closure: Option<&YearEndClosure>, lang: Lang) -> String {
    match (closure, lang) {
        (Some(c), Lang::Ja) => format!(
            "{}〜{}",
            format_month_day(c.first(), lang),
            format_month_day(c.last(), lang)
        ),
        (Some(c), Lang::En) => format!(
            "{} – {}",
            format_month_day(c.first(), lang),
            format_month_day(c.last(), lang)
        ),
        (None, Lang::Ja) => "なし".to_owned(),
        (None, Lang::En) => "None".to_owned(),
    }
}

/// A closing rule in words, e.g. `毎週月曜日（祝日の場合は翌平日）` / `Every Monday (the next
/// weekday when it is a holiday)`.
pub fn describe_rule(rule: &ClosingRule, lang: Lang) -> String {
    let with_note = |text: String, note: &Option<String>| match (note, lang) {
        (Some(note), Lang::Ja) => format!("{text}：{note}"),
        (Some(note), Lang::En) => format!("{text}: {note}"),
        (None, _) => text,
    };
    match (rule, lang) {
        (
            ClosingRule::Weekly {
                weekday,
                on_holiday,
            },
            Lang::Ja,
        ) => {
            let text = format!("毎週{}曜日", weekday_label(*weekday, lang));
            match on_holiday {
                OnHoliday::StayClosed => text,
                OnHoliday::CloseNextWeekday => format!("{text}（祝日の場合は翌平日）"),
            }
        }
        (
            ClosingRule::Weekly {
                weekday,
                on_holiday,
            },
            Lang::En,
        ) => {
            let text = format!("Every {}", weekday_label(*weekday, lang));
            match on_holiday {
                OnHoliday::StayClosed => text,
                OnHoliday::CloseNextWeekday => {
                    format!("{text} (the next weekday when it is a holiday)")
                }
            }
        }
        (ClosingRule::MonthlyWeekday { week, weekday }, Lang::Ja) => format!(
            "毎月{}{}曜日",
            week_label(*week, lang),
            weekday_label(*weekday, lang)
        ),
        (ClosingRule::MonthlyWeekday { week, weekday }, Lang::En) => format!(
            "The {} {} of each month",
            week_label(*week, lang),
            weekday_label(*weekday, lang)
        ),
        (ClosingRule::Date { date, note }, _) => with_note(format_date(*date, lang), note),
        (ClosingRule::Period { first, last, note }, Lang::Ja) => with_note(
            format!(
                "{}〜{}",
                format_date(*first, lang),
                format_date(*last, lang)
            ),
            note,
        ),
        (ClosingRule::Period { first, last, note }, Lang::En) => with_note(
            format!(
                "{} – {}",
                format_date(*first, lang),
                format_date(*last, lang)
            ),
            note,
        ),
    }
}

/// The name of a holiday in `lang`.
pub fn holiday_name(holiday: &CalendarHoliday, lang: Lang) -> &str {
    match lang {
        Lang::Ja => holiday.name_ja(),
        Lang::En => holiday.name_en(),
    }
}

/// `computed` or `imported`.
pub fn holiday_source(holiday: &CalendarHoliday) -> &'static str {
    match holiday {
        CalendarHoliday::Computed(_) => "computed",
        CalendarHoliday::Imported(_) => "imported",
    }
}

/// The wire name of a difference: `missing`, `extra` or `name_mismatch`.
pub fn difference_kind(difference: &HolidayDifference) -> &'static str {
    match difference {
        HolidayDifference::Missing { .. } => "missing",
        HolidayDifference::Extra { .. } => "extra",
        HolidayDifference::NameMismatch { .. } => "name_mismatch",
    }
}

/// The computed and listed names of a difference.
pub fn difference_names(difference: &HolidayDifference) -> (Option<&str>, Option<&str>) {
    match difference {
        HolidayDifference::Missing { computed_name, .. } => (Some(computed_name), None),
        HolidayDifference::Extra { listed_name, .. } => (None, Some(listed_name)),
        HolidayDifference::NameMismatch {
            computed_name,
            listed_name,
            ..
        } => (Some(computed_name), Some(listed_name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn csv_problems_are_told_with_their_line_in_both_languages() {
        let error = parse_cabinet_office_csv(
            "国民の祝日・休日月日,国民の祝日・休日名称\n2026/1/1,元日\n2026/13/1,なし\n".as_bytes(),
        )
        .expect_err("month 13");
        assert_eq!(csv_error_line(&error), Some(3));
        let ja = csv_error_message(&error, Lang::Ja);
        assert!(ja.starts_with("3行目"), "{ja}");
        assert!(ja.contains("そのような月はありません"), "{ja}");
        assert!(csv_error_message(&error, Lang::En).starts_with("Line 3"));
    }

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

    #[test]
    fn rules_and_closures_read_naturally() {
        let rule = ClosingRule::Weekly {
            weekday: Weekday::Monday,
            on_holiday: OnHoliday::CloseNextWeekday,
        };
        assert_eq!(
            describe_rule(&rule, Lang::Ja),
            "毎週月曜日（祝日の場合は翌平日）"
        );
        let monthly = ClosingRule::MonthlyWeekday {
            week: WeekOfMonth::Third,
            weekday: Weekday::Thursday,
        };
        assert_eq!(describe_rule(&monthly, Lang::Ja), "毎月第3木曜日");
        assert_eq!(
            describe_rule(&monthly, Lang::En),
            "The third Thursday of each month"
        );
        let day = ClosingRule::Date {
            date: date!(2026 - 04 - 01),
            note: Some("設備点検".into()),
        };
        assert_eq!(
            describe_rule(&day, Lang::Ja),
            "2026年4月1日（水）：設備点検"
        );
        assert_eq!(describe_rule(&day, Lang::En), "Wed 1 Apr 2026: 設備点検");
        assert_eq!(
            describe_year_end_closure(Some(&YearEndClosure::default()), Lang::Ja),
            "12月29日〜1月3日"
        );
        assert_eq!(
            describe_year_end_closure(Some(&YearEndClosure::default()), Lang::En),
            "29 Dec – 3 Jan"
        );
    }

    #[test]
    fn a_period_of_one_day_is_a_date_and_a_reversed_one_is_refused() {
        let one = checked_rule(ClosingRule::Period {
            first: date!(2026 - 05 - 01),
            last: date!(2026 - 05 - 01),
            note: Some("  ".into()),
        })
        .expect("one day");
        assert_eq!(
            one,
            ClosingRule::Date {
                date: date!(2026 - 05 - 01),
                note: None
            }
        );
        assert!(
            checked_rule(ClosingRule::Period {
                first: date!(2026 - 05 - 02),
                last: date!(2026 - 05 - 01),
                note: None,
            })
            .is_err()
        );
    }

    #[test]
    fn year_end_closures_are_parsed_with_both_fields_reported() {
        let closure = parse_year_end_closure("12-28", "1/4").expect("valid");
        assert_eq!(closure.days(), 8);
        let error = parse_year_end_closure("13-01", "xx").expect_err("both bad");
        assert_eq!(error.fields.len(), 2);
    }
}
