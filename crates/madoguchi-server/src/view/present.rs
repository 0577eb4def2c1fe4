//! How the reservation pages (resident and staff) write things: Tokyo dates and times in
//! Japanese and English (era years for dates of birth), service and office names, who may
//! book in words, and the shapes the booking forms share.

use madoguchi_booking::{AgeReference, ServiceRules, Sex};
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

/// `1989（昭和64年・平成元年）`: elderly residents often know their birth year by its era.
pub(crate) fn birth_year_label(year: i32, lang: Lang) -> String {
    if lang == Lang::En {
        return year.to_string();
    }
    // First and last Gregorian year of each era (the years an era change falls in belong to both).
    const ERAS: [(&str, i32, i32); 5] = [
        ("明治", 1868, 1912),
        ("大正", 1912, 1926),
        ("昭和", 1926, 1989),
        ("平成", 1989, 2019),
        ("令和", 2019, i32::MAX),
    ];
    let eras: Vec<String> = ERAS
        .iter()
        .filter(|(_, first, last)| (*first..=*last).contains(&year))
        .map(|(name, first, _)| match year - first + 1 {
            1 => format!("{name}元年"),
            n => format!("{name}{n}年"),
        })
        .collect();
    format!("{year}（{}）", eras.join("・"))
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

/// Longest answer to a service's question, in characters.
pub(crate) const ANSWER_CHARS_MAX: usize = 500;

/// Oldest year offered for a date of birth.
pub(crate) const BIRTH_YEAR_MIN: i32 = 1900;

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
}

#[derive(Serialize)]
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}
