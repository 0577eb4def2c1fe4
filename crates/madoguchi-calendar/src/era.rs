//! Japanese eras (元号, 和暦): the era and year of a date, such as 昭和50年 for 1975. Elderly
//! residents often know their birth year only this way, so the date-of-birth fields show it
//! beside the Gregorian year.
//!
//! An era begins on the day after the emperor's accession (平成 on 1989-01-08, 令和 on
//! 2019-05-01; 昭和64年 is 1989-01-01 to 01-07). 明治 counts from 1868-01-25 (明治元年 1月1日 of
//! the old calendar, which the era was made to cover when proclaimed in October): dates before it
//! have no era here.

use time::Date;
use time::macros::date;

/// The eras since Japan's modern calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

/// Every era with its first day, oldest first.
const ERAS: [(Era, Date); 5] = [
    (Era::Meiji, date!(1868 - 01 - 25)),
    (Era::Taisho, date!(1912 - 07 - 30)),
    (Era::Showa, date!(1926 - 12 - 25)),
    (Era::Heisei, date!(1989 - 01 - 08)),
    (Era::Reiwa, date!(2019 - 05 - 01)),
];

impl Era {
    /// `明治`, `大正`, `昭和`, `平成`, `令和`.
    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// `Meiji`, `Taisho`, `Showa`, `Heisei`, `Reiwa`.
    pub fn name_en(self) -> &'static str {
        match self {
            Era::Meiji => "Meiji",
            Era::Taisho => "Taisho",
            Era::Showa => "Showa",
            Era::Heisei => "Heisei",
            Era::Reiwa => "Reiwa",
        }
    }

    /// The first day of the era.
    pub fn first_day(self) -> Date {
        ERAS.iter()
            .find(|(era, _)| *era == self)
            .map_or(ERAS[0].1, |(_, first)| *first)
    }
}

/// A year counted in an era: 昭和50年 is `EraYear { era: Showa, year: 50 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EraYear {
    pub era: Era,
    /// 1 for the first year (元年).
    pub year: i32,
}

impl EraYear {
    /// `昭和50年`, and `平成元年` for the first year.
    pub fn ja(self) -> String {
        match self.year {
            1 => format!("{}元年", self.era.name_ja()),
            n => format!("{}{n}年", self.era.name_ja()),
        }
    }

    /// `Showa 50`.
    pub fn en(self) -> String {
        format!("{} {}", self.era.name_en(), self.year)
    }
}

/// The era and year `date` falls in, or `None` before 明治.
pub fn era_of(date: Date) -> Option<EraYear> {
    let (era, first) = ERAS.iter().rev().find(|(_, first)| *first <= date)?;
    Some(EraYear {
        era: *era,
        year: date.year() - first.year() + 1,
    })
}

/// The era years a Gregorian year falls in, oldest first: one, or two in the year an era
/// changed (1989 is 昭和64年 and 平成元年). Empty before 明治.
pub fn era_years_of(year: i32) -> Vec<EraYear> {
    let (Ok(first), Ok(last)) = (
        Date::from_calendar_date(year, time::Month::January, 1),
        Date::from_calendar_date(year, time::Month::December, 31),
    ) else {
        return Vec::new();
    };
    let mut years: Vec<EraYear> = era_of(first).into_iter().collect();
    years.extend(
        ERAS.iter()
            .filter(|(_, start)| *start > first && *start <= last)
            .filter_map(|(_, start)| era_of(*start)),
    );
    if years.is_empty() {
        // 1868 itself: 明治 begins in late January.
        years.extend(era_of(last));
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ja(date: Date) -> Option<String> {
        era_of(date).map(EraYear::ja)
    }

    #[test]
    fn each_era_begins_on_the_day_after_the_accession() {
        assert_eq!(ja(date!(1868 - 01 - 24)), None);
        assert_eq!(ja(date!(1868 - 01 - 25)).as_deref(), Some("明治元年"));
        assert_eq!(ja(date!(1912 - 07 - 29)).as_deref(), Some("明治45年"));
        assert_eq!(ja(date!(1912 - 07 - 30)).as_deref(), Some("大正元年"));
        assert_eq!(ja(date!(1926 - 12 - 24)).as_deref(), Some("大正15年"));
        assert_eq!(ja(date!(1926 - 12 - 25)).as_deref(), Some("昭和元年"));
        assert_eq!(ja(date!(1989 - 01 - 07)).as_deref(), Some("昭和64年"));
        assert_eq!(ja(date!(1989 - 01 - 08)).as_deref(), Some("平成元年"));
        assert_eq!(ja(date!(2019 - 04 - 30)).as_deref(), Some("平成31年"));
        assert_eq!(ja(date!(2019 - 05 - 01)).as_deref(), Some("令和元年"));
        assert_eq!(ja(date!(2026 - 12 - 06)).as_deref(), Some("令和8年"));
    }

    #[test]
    fn a_year_in_which_the_era_changed_belongs_to_both() {
        let years = |y: i32| {
            era_years_of(y)
                .into_iter()
                .map(EraYear::ja)
                .collect::<Vec<_>>()
        };
        assert_eq!(years(1975), ["昭和50年"]);
        assert_eq!(years(1989), ["昭和64年", "平成元年"]);
        assert_eq!(years(2019), ["平成31年", "令和元年"]);
        assert_eq!(years(1926), ["大正15年", "昭和元年"]);
        assert_eq!(years(1912), ["明治45年", "大正元年"]);
        assert_eq!(years(1868), ["明治元年"]);
        assert!(years(1867).is_empty());
        assert_eq!(
            era_of(date!(1975 - 06 - 01)).map(EraYear::en).as_deref(),
            Some("Showa 50")
        );
    }

    #[test]
    fn eras_know_their_first_day() {
        assert_eq!(Era::Heisei.first_day(), date!(1989 - 01 - 08));
        assert_eq!(Era::Reiwa.first_day(), date!(2019 - 05 - 01));
    }
}
