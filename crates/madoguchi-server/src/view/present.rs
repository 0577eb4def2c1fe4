//! How the reservation pages (resident and staff) write things: Tokyo dates and times in
//! Japanese and English (era years for dates of birth), service and office names, who may
//! book in words, and the shapes the booking forms share.

use madoguchi_booking::{AgeReference, Question, QuestionKind, ServiceRules, Sex, parse_ymd};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{Lang, OfficeId};
use madoguchi_storage::{Office, Service, Slot};
use serde::Serialize;
use time::{Date, Month, OffsetDateTime};
use uuid::Uuid;

pub(crate) fn weekday_index(date: Date) -> usize {
    usize::from(date.weekday().number_days_from_sunday())
}

pub(crate) fn month_name_en(month: Month) -> &'static str {
    MONTHS_EN[usize::from(u8::from(month)) - 1]
}

/// `2026年7月10日（金）` or `Fri 10 July 2026`.
pub(crate) fn date_label(date: Date, lang: Lang) -> String {
    let wd = weekday_index(date);
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日（{}）",
            date.year(),
            u8::from(date.month()),
            date.day(),
            WEEKDAYS_JA[wd]
        ),
        Lang::En => format!(
            "{} {} {} {}",
            WEEKDAYS_EN[wd],
            date.day(),
            month_name_en(date.month()),
            date.year()
        ),
    }
}

/// `2026年7月` or `July 2026`.
pub(crate) fn month_label(first: Date, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{}年{}月", first.year(), u8::from(first.month())),
        Lang::En => format!("{} {}", month_name_en(first.month()), first.year()),
    }
}

/// `9:05` on a clock in Tokyo.
pub(crate) fn clock(instant: OffsetDateTime) -> String {
    let t = instant.to_offset(JST);
    format!("{}:{:02}", t.hour(), t.minute())
}

/// `9:00〜12:00` or `9:00–12:00`.
pub(crate) fn time_range(slot: &Slot, lang: Lang) -> String {
    let dash = match lang {
        Lang::Ja => "〜",
        Lang::En => "–",
    };
    format!("{}{dash}{}", clock(slot.starts_at), clock(slot.ends_at))
}

/// The date and the times of a slot, in Tokyo.
pub(crate) fn slot_when(slot: &Slot, lang: Lang) -> String {
    format!(
        "{} {}",
        date_label(slot.starts_at.to_offset(JST).date(), lang),
        time_range(slot, lang)
    )
}

/// A date and a time, in Tokyo.
pub(crate) fn instant_label(instant: OffsetDateTime, lang: Lang) -> String {
    format!(
        "{} {}",
        date_label(instant.to_offset(JST).date(), lang),
        clock(instant)
    )
}

/// The Tokyo date of an instant.
pub(crate) fn tokyo_date(instant: OffsetDateTime) -> Date {
    instant.to_offset(JST).date()
}

pub(crate) fn tokyo_today(now: OffsetDateTime) -> Date {
    tokyo_date(now)
}

/// `YYYY-MM-DD`; years far outside any booking are refused.
pub(crate) fn parse_day(raw: &str) -> Option<Date> {
    Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .filter(|d| (2000..=2199).contains(&d.year()))
}

pub(crate) fn service_name(service: &Service, lang: Lang) -> &str {
    match lang {
        Lang::Ja => &service.name_ja,
        Lang::En => &service.name_en,
    }
}

pub(crate) fn office_name(offices: &[Office], id: OfficeId, lang: Lang) -> String {
    offices
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.name(lang).to_owned())
        .unwrap_or_default()
}

pub(crate) fn question_field(id: &str) -> String {
    format!("q_{id}")
}

/// An answer as people read it: はい/いいえ, the chosen option's label, a date in words, the
/// number or the text. `question` is `None` for an answer to a question the service no longer
/// asks; an answer stored before its question had a kind is shown as it was given.
pub(crate) fn answer_text(
    question: Option<&Question>,
    answer: &serde_json::Value,
    lang: Lang,
) -> String {
    use serde_json::Value;
    let kind = question.map(|q| &q.kind);
    match (kind, answer) {
        (_, Value::Null) => String::new(),
        (_, Value::Bool(true)) => crate::i18n::text(lang, "booking_answer_yes"),
        (_, Value::Bool(false)) => crate::i18n::text(lang, "booking_answer_no"),
        (Some(QuestionKind::Choice { options }), Value::String(id)) => options
            .iter()
            .find(|o| o.id == *id)
            .map_or_else(|| id.trim().to_owned(), |o| o.label(lang).to_owned()),
        (Some(QuestionKind::Date { .. }), Value::String(raw)) => {
            parse_ymd(raw.trim()).map_or_else(|| raw.trim().to_owned(), |d| date_label(d, lang))
        }
        (_, Value::String(text)) => text.trim().to_owned(),
        (_, other) => other.to_string(),
    }
}

/// `1989（昭和64年・平成元年）` or `1989 (Showa 64, Heisei 1)`: elderly residents often know
/// their birth year by its era (`madoguchi_calendar::era_years_of`).
pub(crate) fn birth_year_label(year: i32, lang: Lang) -> String {
    let eras = madoguchi_calendar::era_years_of(year);
    if eras.is_empty() {
        return year.to_string();
    }
    match lang {
        Lang::Ja => {
            let eras: Vec<String> = eras.into_iter().map(|e| e.ja()).collect();
            format!("{year}（{}）", eras.join("・"))
        }
        Lang::En => {
            let eras: Vec<String> = eras.into_iter().map(|e| e.en()).collect();
            format!("{year} ({})", eras.join(", "))
        }
    }
}

/// The years a date of birth may fall in: the last [`BIRTH_YEARS_BACK`] years, narrowed to the
/// service's age range where it has one (a year's slack each side, as age is counted on a day
/// the year does not fix), so the list an elderly resident scrolls on a phone is short.
pub(crate) fn birth_years(rules: &ServiceRules, today: Date) -> std::ops::RangeInclusive<i32> {
    let this_year = today.year();
    let e = &rules.eligibility;
    let oldest = match e.age_max {
        Some(max) => this_year - i32::from(max) - 2,
        None => this_year - BIRTH_YEARS_BACK,
    }
    .max(this_year - BIRTH_YEARS_BACK);
    let newest = match e.age_min {
        Some(min) => this_year - i32::from(min) + 1,
        None => this_year,
    }
    .min(this_year);
    oldest..=newest.max(oldest)
}

/// Who may book, in words: the age range (and when it is counted), the sex, residency.
pub(crate) fn eligibility_lines(rules: &ServiceRules, lang: Lang) -> Vec<String> {
    let text = |key: &str| crate::i18n::text(lang, key);
    let e = &rules.eligibility;
    let mut lines = Vec::new();
    let age = match (e.age_min, e.age_max) {
        (Some(min), Some(max)) => Some(
            text("booking_eligibility_age_range")
                .replace("{min}", &min.to_string())
                .replace("{max}", &max.to_string()),
        ),
        (Some(min), None) => {
            Some(text("booking_eligibility_age_min").replace("{min}", &min.to_string()))
        }
        (None, Some(max)) => {
            Some(text("booking_eligibility_age_max").replace("{max}", &max.to_string()))
        }
        (None, None) => None,
    };
    if let Some(age) = age {
        let counted = match e.age_reference {
            Some(AgeReference::FiscalYearEnd) => text("booking_eligibility_fiscal_year_end"),
            _ => text("booking_eligibility_on_the_day"),
        };
        lines.push(format!("{age}{counted}"));
    }
    match e.sex {
        Some(Sex::Female) => lines.push(text("booking_eligibility_female")),
        Some(Sex::Male) => lines.push(text("booking_eligibility_male")),
        None => {}
    }
    if e.residents_only {
        lines.push(text("booking_eligibility_residents"));
    }
    lines
}

/// A fresh key for one rendering of the form: a second submission of the same page replays the
/// first booking instead of making another.
pub(crate) fn new_idempotency_key() -> String {
    Uuid::new_v4().simple().to_string()
}

/// How many years back a date of birth is offered: the oldest residents are over 110.
pub(crate) const BIRTH_YEARS_BACK: i32 = 115;

pub(crate) const WEEKDAYS_JA: [&str; 7] = ["日", "月", "火", "水", "木", "金", "土"];
pub(crate) const WEEKDAYS_JA_LONG: [&str; 7] = [
    "日曜日",
    "月曜日",
    "火曜日",
    "水曜日",
    "木曜日",
    "金曜日",
    "土曜日",
];
pub(crate) const WEEKDAYS_EN: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
pub(crate) const WEEKDAYS_EN_LONG: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
pub(crate) const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One field's problem, for the error summary at the top of the form.
#[derive(Serialize)]
pub(crate) struct ErrorLink {
    pub(crate) target: String,
    pub(crate) label: String,
    pub(crate) message: String,
}

#[derive(Serialize)]
pub(crate) struct QuestionField {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) required: bool,
    /// text, textarea, radios, number or date.
    pub(crate) control: &'static str,
    /// The radios' values and labels.
    pub(crate) options: Vec<Choice>,
    pub(crate) min: Option<String>,
    pub(crate) max: Option<String>,
    pub(crate) maxlength: usize,
    /// The bounds in words.
    pub(crate) hint: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}
