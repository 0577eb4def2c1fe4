//! How the municipal calendar is written for people: dates, month-days, the year-end closure,
//! closing rules, weekday and week labels, holiday names and sources, the differences of a
//! holiday file, and a holiday file's problems, in Japanese and English. The calendar pages
//! and the API's descriptions use these.

use madoguchi_calendar::{
    CalendarHoliday, ClosingRule, CsvError, HolidayDifference, MonthDay, OnHoliday, WeekOfMonth,
    YearEndClosure,
};
use madoguchi_domain::Lang;
use madoguchi_usecases::calendar::{WEEK_NAMES, WEEKDAY_NAMES};
use time::{Date, Weekday};

/// A weekday's Japanese (`月`) and English (`Monday`) label.
pub fn weekday_label(day: Weekday, lang: Lang) -> &'static str {
    match (day, lang) {
        (Weekday::Monday, Lang::Ja) => "月",
        (Weekday::Tuesday, Lang::Ja) => "火",
        (Weekday::Wednesday, Lang::Ja) => "水",
        (Weekday::Thursday, Lang::Ja) => "木",
        (Weekday::Friday, Lang::Ja) => "金",
        (Weekday::Saturday, Lang::Ja) => "土",
        (Weekday::Sunday, Lang::Ja) => "日",
        (Weekday::Monday, Lang::En) => "Monday",
        (Weekday::Tuesday, Lang::En) => "Tuesday",
        (Weekday::Wednesday, Lang::En) => "Wednesday",
        (Weekday::Thursday, Lang::En) => "Thursday",
        (Weekday::Friday, Lang::En) => "Friday",
        (Weekday::Saturday, Lang::En) => "Saturday",
        (Weekday::Sunday, Lang::En) => "Sunday",
    }
}

/// A week of the month's label: `第3` / `third`.
pub fn week_label(week: WeekOfMonth, lang: Lang) -> &'static str {
    match (week, lang) {
        (WeekOfMonth::First, Lang::Ja) => "第1",
        (WeekOfMonth::Second, Lang::Ja) => "第2",
        (WeekOfMonth::Third, Lang::Ja) => "第3",
        (WeekOfMonth::Fourth, Lang::Ja) => "第4",
        (WeekOfMonth::Fifth, Lang::Ja) => "第5",
        (WeekOfMonth::Last, Lang::Ja) => "最終",
        (WeekOfMonth::First, Lang::En) => "first",
        (WeekOfMonth::Second, Lang::En) => "second",
        (WeekOfMonth::Third, Lang::En) => "third",
        (WeekOfMonth::Fourth, Lang::En) => "fourth",
        (WeekOfMonth::Fifth, Lang::En) => "fifth",
        (WeekOfMonth::Last, Lang::En) => "last",
    }
}

/// The weekdays a form offers: wire name and label (`月曜日` / `Monday`).
pub fn weekday_options(lang: Lang) -> Vec<(&'static str, String)> {
    WEEKDAY_NAMES
        .iter()
        .map(|(day, value)| {
            let label = weekday_label(*day, lang);
            let label = match lang {
                Lang::Ja => format!("{label}曜日"),
                Lang::En => label.to_owned(),
            };
            (*value, label)
        })
        .collect()
}

/// The weeks of the month a form offers: wire name and label (`第1` / `First`).
pub fn week_options(lang: Lang) -> Vec<(&'static str, String)> {
    WEEK_NAMES
        .iter()
        .map(|(week, value)| {
            let mut label = week_label(*week, lang).to_owned();
            if let Some(first) = label.get_mut(..1) {
                // Only the English labels start with an ASCII letter; a form option starts a
                // sentence.
                first.make_ascii_uppercase();
            }
            (*value, label)
        })
        .collect()
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

/// `computed` or `imported`: the API's value and the key of the page's label.
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

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_calendar::parse_cabinet_office_csv;
    use time::macros::date;

    #[test]
    fn csv_problems_are_told_with_their_line_in_both_languages() {
        let error = parse_cabinet_office_csv(
            "国民の祝日・休日月日,国民の祝日・休日名称\n2026/1/1,元日\n2026/13/1,なし\n".as_bytes(),
        )
        .expect_err("month 13");
        assert_eq!(error.line(), Some(3));
        let ja = csv_error_message(&error, Lang::Ja);
        assert!(ja.starts_with("3行目"), "{ja}");
        assert!(ja.contains("そのような月はありません"), "{ja}");
        assert!(csv_error_message(&error, Lang::En).starts_with("Line 3"));
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
    fn form_options_keep_their_wire_names_and_read_as_labels() {
        assert_eq!(
            weekday_options(Lang::Ja).first(),
            Some(&("monday", "月曜日".to_owned()))
        );
        assert_eq!(
            week_options(Lang::En).last(),
            Some(&("last", "Last".to_owned()))
        );
        assert_eq!(
            week_options(Lang::Ja).first(),
            Some(&("first", "第1".to_owned()))
        );
    }
}
