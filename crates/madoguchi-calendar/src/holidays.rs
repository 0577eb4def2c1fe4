//! National holidays of Japan computed from the Public Holiday Act (国民の祝日に関する法律).
//!
//! The rules are those in force for each year from 1980 through 2099:
//! - fixed-date holidays and the Happy Monday holidays (成人の日 and 体育の日 since 2000, 海の日
//!   and 敬老の日 since 2003), with the dates each had before;
//! - 春分の日 and 秋分の日 by the standard approximation of the equinoxes, valid for 1980–2099
//!   (the Cabinet Office fixes each year's equinox days only in February of the year before, so
//!   later years are a forecast, and an imported Cabinet Office list wins over them);
//! - 振替休日 (Art. 3(2)): a national holiday on a Sunday makes the next day a holiday; since 2007
//!   the nearest following day that is not itself a national holiday;
//! - 国民の休日 (Art. 3(3), since 1985-12-27): a day between two national holidays; before 2007
//!   not on a Sunday or a 振替休日;
//! - the emperor's birthday (4/29 until 1988, 12/23 for 1989–2018, none in 2019, 2/23 since
//!   2020), みどりの日 on 4/29 (1989–2006) then 5/4, 昭和の日 on 4/29 since 2007;
//! - the one-off days set by special laws (1989 大喪の礼, 1990 即位礼正殿の儀, 1993 結婚の儀,
//!   2019 即位の日 and 即位礼正殿の儀), which count as national holidays for the two rules above
//!   (that is how 2019-04-30 and 2019-05-02 became 国民の休日);
//! - the Olympic special measures: 海の日, スポーツの日 and 山の日 moved in 2020 and 2021.
//!
//! Each `Holiday` carries its Japanese name exactly as the Cabinet Office CSV (`syukujitsu.csv`)
//! spells it — `休日` for both 振替休日 and 国民の休日, `休日（祝日扱い）` for the 2019 days of
//! the special law — and an English name.

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::error::CalendarError;
use crate::serde_formats::iso_date;

/// The first year whose holidays this crate computes (the equinox formula starts here).
pub const FIRST_COMPUTED_YEAR: i32 = 1980;
/// The last year whose holidays this crate computes (the equinox formula ends here).
pub const LAST_COMPUTED_YEAR: i32 = 2099;

/// The Cabinet Office's name for both a 振替休日 and a 国民の休日.
pub const REST_DAY_NAME_JA: &str = "休日";
/// The Cabinet Office's name for the 2019 days a special law treated as national holidays.
pub const TREATED_AS_HOLIDAY_NAME_JA: &str = "休日（祝日扱い）";

/// What makes a day a holiday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// 元日, 1/1.
    NewYearsDay,
    /// 成人の日: 1/15 until 1999, the second Monday of January since 2000.
    ComingOfAgeDay,
    /// 建国記念の日, 2/11.
    NationalFoundationDay,
    /// 天皇誕生日: 4/29 until 1988, 12/23 for 1989–2018, 2/23 since 2020.
    EmperorsBirthday,
    /// 春分の日, by the equinox formula.
    VernalEquinoxDay,
    /// 昭和の日, 4/29 since 2007.
    ShowaDay,
    /// 憲法記念日, 5/3.
    ConstitutionMemorialDay,
    /// みどりの日: 4/29 for 1989–2006, 5/4 since 2007.
    GreeneryDay,
    /// こどもの日, 5/5.
    ChildrensDay,
    /// 海の日: 7/20 for 1996–2002, the third Monday of July since 2003 (moved in 2020 and 2021).
    MarineDay,
    /// 山の日: 8/11 since 2016 (moved in 2020 and 2021).
    MountainDay,
    /// 敬老の日: 9/15 until 2002, the third Monday of September since 2003.
    RespectForTheAgedDay,
    /// 秋分の日, by the equinox formula.
    AutumnalEquinoxDay,
    /// 体育の日: 10/10 until 1999, the second Monday of October for 2000–2019.
    HealthAndSportsDay,
    /// スポーツの日: the second Monday of October since 2022 (moved to July in 2020 and 2021).
    SportsDay,
    /// 文化の日, 11/3.
    CultureDay,
    /// 勤労感謝の日, 11/23.
    LaborThanksgivingDay,
    /// 昭和天皇の大喪の礼, 1989-02-24 (special law).
    StateFuneralOfEmperorShowa,
    /// 即位礼正殿の儀, 1990-11-12 and 2019-10-22 (special laws).
    EnthronementCeremony,
    /// 皇太子徳仁親王の結婚の儀, 1993-06-09 (special law).
    CrownPrinceWedding,
    /// 天皇の即位の日, 2019-05-01 (special law).
    EnthronementDay,
    /// 振替休日: the day a national holiday falling on a Sunday moves to.
    SubstituteHoliday,
    /// 国民の休日: a day between two national holidays.
    CitizensHoliday,
}

impl HolidayKind {
    /// The usual Japanese name of the day; `Holiday::name_ja` gives the Cabinet Office's label.
    pub fn description_ja(self) -> &'static str {
        match self {
            HolidayKind::NewYearsDay => "元日",
            HolidayKind::ComingOfAgeDay => "成人の日",
            HolidayKind::NationalFoundationDay => "建国記念の日",
            HolidayKind::EmperorsBirthday => "天皇誕生日",
            HolidayKind::VernalEquinoxDay => "春分の日",
            HolidayKind::ShowaDay => "昭和の日",
            HolidayKind::ConstitutionMemorialDay => "憲法記念日",
            HolidayKind::GreeneryDay => "みどりの日",
            HolidayKind::ChildrensDay => "こどもの日",
            HolidayKind::MarineDay => "海の日",
            HolidayKind::MountainDay => "山の日",
            HolidayKind::RespectForTheAgedDay => "敬老の日",
            HolidayKind::AutumnalEquinoxDay => "秋分の日",
            HolidayKind::HealthAndSportsDay => "体育の日",
            HolidayKind::SportsDay => "スポーツの日",
            HolidayKind::CultureDay => "文化の日",
            HolidayKind::LaborThanksgivingDay => "勤労感謝の日",
            HolidayKind::StateFuneralOfEmperorShowa => "大喪の礼",
            HolidayKind::EnthronementCeremony => "即位礼正殿の儀",
            HolidayKind::CrownPrinceWedding => "結婚の儀",
            HolidayKind::EnthronementDay => "即位の日",
            HolidayKind::SubstituteHoliday => "振替休日",
            HolidayKind::CitizensHoliday => "国民の休日",
        }
    }

    /// The English name of the day.
    pub fn name_en(self) -> &'static str {
        match self {
            HolidayKind::NewYearsDay => "New Year's Day",
            HolidayKind::ComingOfAgeDay => "Coming of Age Day",
            HolidayKind::NationalFoundationDay => "National Foundation Day",
            HolidayKind::EmperorsBirthday => "The Emperor's Birthday",
            HolidayKind::VernalEquinoxDay => "Vernal Equinox Day",
            HolidayKind::ShowaDay => "Showa Day",
            HolidayKind::ConstitutionMemorialDay => "Constitution Memorial Day",
            HolidayKind::GreeneryDay => "Greenery Day",
            HolidayKind::ChildrensDay => "Children's Day",
            HolidayKind::MarineDay => "Marine Day",
            HolidayKind::MountainDay => "Mountain Day",
            HolidayKind::RespectForTheAgedDay => "Respect for the Aged Day",
            HolidayKind::AutumnalEquinoxDay => "Autumnal Equinox Day",
            HolidayKind::HealthAndSportsDay => "Health and Sports Day",
            HolidayKind::SportsDay => "Sports Day",
            HolidayKind::CultureDay => "Culture Day",
            HolidayKind::LaborThanksgivingDay => "Labor Thanksgiving Day",
            HolidayKind::StateFuneralOfEmperorShowa => "State Funeral of Emperor Showa",
            HolidayKind::EnthronementCeremony => "Enthronement Ceremony Day",
            HolidayKind::CrownPrinceWedding => "Wedding of Crown Prince Naruhito",
            HolidayKind::EnthronementDay => "Day of the Emperor's Enthronement",
            HolidayKind::SubstituteHoliday => "Substitute Holiday",
            HolidayKind::CitizensHoliday => "Citizens' Holiday",
        }
    }

    /// Whether the day is a national holiday (国民の祝日) or a day the special laws treat as
    /// one; 振替休日 and 国民の休日 are holidays (休日) but not national holidays, and the two
    /// rules that create them look only at national holidays.
    pub fn is_national_holiday(self) -> bool {
        !matches!(
            self,
            HolidayKind::SubstituteHoliday | HolidayKind::CitizensHoliday
        )
    }
}

/// One computed holiday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holiday {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub kind: HolidayKind,
}

impl Holiday {
    /// The Japanese name as the Cabinet Office CSV spells it for this date.
    pub fn name_ja(&self) -> &'static str {
        match (self.kind, self.date.year()) {
            (HolidayKind::SubstituteHoliday | HolidayKind::CitizensHoliday, _) => REST_DAY_NAME_JA,
            (HolidayKind::EnthronementDay, _) | (HolidayKind::EnthronementCeremony, 2019) => {
                TREATED_AS_HOLIDAY_NAME_JA
            }
            // The last 体育の日 was listed under its coming name, as the Cabinet Office did.
            (HolidayKind::HealthAndSportsDay, 2019) => "体育の日（スポーツの日）",
            (kind, _) => kind.description_ja(),
        }
    }

    /// The English name.
    pub fn name_en(&self) -> &'static str {
        self.kind.name_en()
    }
}

/// Every holiday of `year`, sorted by date: national holidays, 振替休日 and 国民の休日.
pub fn holidays_in_year(year: i32) -> Result<Vec<Holiday>, CalendarError> {
    ensure_computed(year)?;
    let national = national_holidays(year)?;
    let mut all = rest_days(year, &national)?;
    all.extend(national);
    all.sort();
    Ok(all)
}

/// The holiday on `date`, if any.
pub fn holiday_on(date: Date) -> Result<Option<Holiday>, CalendarError> {
    Ok(holidays_in_year(date.year())?
        .into_iter()
        .find(|holiday| holiday.date == date))
}

/// 春分の日 of `year` by the standard formula (valid 1980–2099).
pub fn vernal_equinox_day(year: i32) -> Result<Date, CalendarError> {
    ensure_computed(year)?;
    ymd(year, Month::March, equinox_day(year, VERNAL_BASE_MICRODAYS))
}

/// 秋分の日 of `year` by the standard formula (valid 1980–2099).
pub fn autumnal_equinox_day(year: i32) -> Result<Date, CalendarError> {
    ensure_computed(year)?;
    ymd(
        year,
        Month::September,
        equinox_day(year, AUTUMNAL_BASE_MICRODAYS),
    )
}

// The formula is `floor(base + 0.242194 × (Y − 1980) − floor((Y − 1980) / 4))`, with base 20.8431
// for March and 23.2488 for September. It is evaluated in millionths of a day so that no
// floating-point rounding can move a day.
const VERNAL_BASE_MICRODAYS: i64 = 20_843_100;
const AUTUMNAL_BASE_MICRODAYS: i64 = 23_248_800;
const TROPICAL_YEAR_DRIFT_MICRODAYS: i64 = 242_194;
const MICRODAYS_PER_DAY: i64 = 1_000_000;

fn equinox_day(year: i32, base_microdays: i64) -> u8 {
    let years = i64::from(year - FIRST_COMPUTED_YEAR);
    let microdays =
        base_microdays + TROPICAL_YEAR_DRIFT_MICRODAYS * years - (years / 4) * MICRODAYS_PER_DAY;
    // Between 19 and 24 for every year of 1980–2099, so the cast cannot truncate.
    (microdays / MICRODAYS_PER_DAY) as u8
}

fn ensure_computed(year: i32) -> Result<(), CalendarError> {
    if (FIRST_COMPUTED_YEAR..=LAST_COMPUTED_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(CalendarError::YearNotCovered { year })
    }
}

pub(crate) fn ymd(year: i32, month: Month, day: u8) -> Result<Date, CalendarError> {
    Date::from_calendar_date(year, month, day).map_err(|_| CalendarError::DateOutOfRange)
}

pub(crate) fn next_day(date: Date) -> Result<Date, CalendarError> {
    date.next_day().ok_or(CalendarError::DateOutOfRange)
}

/// The `nth` (1-based) Monday of a month.
fn nth_monday(year: i32, month: Month, nth: u8) -> Result<Date, CalendarError> {
    let first = ymd(year, month, 1)?;
    let to_monday = (7 - first.weekday().number_days_from_monday()) % 7;
    ymd(year, month, 1 + to_monday + 7 * (nth - 1))
}

/// The national holidays (国民の祝日, and the special-law days treated as such), sorted.
fn national_holidays(year: i32) -> Result<Vec<Holiday>, CalendarError> {
    use HolidayKind as K;
    use Month::{April, August, February, January, July, June, May, November, October, September};

    let mut days: Vec<(Date, HolidayKind)> = vec![
        (ymd(year, January, 1)?, K::NewYearsDay),
        (ymd(year, February, 11)?, K::NationalFoundationDay),
        (vernal_equinox_day(year)?, K::VernalEquinoxDay),
        (ymd(year, May, 3)?, K::ConstitutionMemorialDay),
        (ymd(year, May, 5)?, K::ChildrensDay),
        (autumnal_equinox_day(year)?, K::AutumnalEquinoxDay),
        (ymd(year, November, 3)?, K::CultureDay),
        (ymd(year, November, 23)?, K::LaborThanksgivingDay),
    ];

    days.push(if year < 2000 {
        (ymd(year, January, 15)?, K::ComingOfAgeDay)
    } else {
        (nth_monday(year, January, 2)?, K::ComingOfAgeDay)
    });

    match year {
        ..=1988 => days.push((ymd(year, April, 29)?, K::EmperorsBirthday)),
        1989..=2018 => days.push((ymd(year, Month::December, 23)?, K::EmperorsBirthday)),
        // The Heisei emperor abdicated on 2019-04-30 and 2/23 became the holiday from 2020.
        2019 => {}
        _ => days.push((ymd(year, February, 23)?, K::EmperorsBirthday)),
    }

    match year {
        ..=1988 => {}
        1989..=2006 => days.push((ymd(year, April, 29)?, K::GreeneryDay)),
        _ => {
            days.push((ymd(year, April, 29)?, K::ShowaDay));
            days.push((ymd(year, May, 4)?, K::GreeneryDay));
        }
    }

    // The Olympic special measures moved 海の日, スポーツの日 and 山の日 in 2020 and 2021.
    match year {
        ..=1995 => {}
        1996..=2002 => days.push((ymd(year, July, 20)?, K::MarineDay)),
        2020 => days.push((ymd(year, July, 23)?, K::MarineDay)),
        2021 => days.push((ymd(year, July, 22)?, K::MarineDay)),
        _ => days.push((nth_monday(year, July, 3)?, K::MarineDay)),
    }

    match year {
        ..=2015 => {}
        2020 => days.push((ymd(year, August, 10)?, K::MountainDay)),
        2021 => days.push((ymd(year, August, 8)?, K::MountainDay)),
        _ => days.push((ymd(year, August, 11)?, K::MountainDay)),
    }

    days.push(if year <= 2002 {
        (ymd(year, September, 15)?, K::RespectForTheAgedDay)
    } else {
        (nth_monday(year, September, 3)?, K::RespectForTheAgedDay)
    });

    match year {
        ..=1999 => days.push((ymd(year, October, 10)?, K::HealthAndSportsDay)),
        2000..=2019 => days.push((nth_monday(year, October, 2)?, K::HealthAndSportsDay)),
        2020 => days.push((ymd(year, July, 24)?, K::SportsDay)),
        2021 => days.push((ymd(year, July, 23)?, K::SportsDay)),
        _ => days.push((nth_monday(year, October, 2)?, K::SportsDay)),
    }

    match year {
        1989 => days.push((ymd(year, February, 24)?, K::StateFuneralOfEmperorShowa)),
        1990 => days.push((ymd(year, November, 12)?, K::EnthronementCeremony)),
        1993 => days.push((ymd(year, June, 9)?, K::CrownPrinceWedding)),
        2019 => {
            days.push((ymd(year, May, 1)?, K::EnthronementDay));
            days.push((ymd(year, October, 22)?, K::EnthronementCeremony));
        }
        _ => {}
    }

    let mut holidays: Vec<Holiday> = days
        .into_iter()
        .map(|(date, kind)| Holiday { date, kind })
        .collect();
    holidays.sort();
    Ok(holidays)
}

/// 振替休日 and 国民の休日 of `year`, given its national holidays sorted by date.
fn rest_days(year: i32, national: &[Holiday]) -> Result<Vec<Holiday>, CalendarError> {
    let is_national = |date: Date| national.iter().any(|holiday| holiday.date == date);
    let mut rest: Vec<Holiday> = Vec::new();

    // Art. 3(2). Until 2006 only the next day, and only when it was not a national holiday
    // itself; since 2007 the nearest following day that is not a national holiday.
    for sunday_holiday in national
        .iter()
        .filter(|holiday| holiday.date.weekday() == Weekday::Sunday)
    {
        let mut date = next_day(sunday_holiday.date)?;
        if year >= 2007 {
            while is_national(date) {
                date = next_day(date)?;
            }
        } else if is_national(date) {
            continue;
        }
        rest.push(Holiday {
            date,
            kind: HolidayKind::SubstituteHoliday,
        });
    }

    // Art. 3(3), in force since 1985-12-27. Until 2006 it excluded Sundays and 振替休日.
    if year >= 1986 {
        for pair in national.windows(2) {
            let [before, after] = pair else { continue };
            let middle = next_day(before.date)?;
            if next_day(middle)? != after.date || is_national(middle) {
                continue;
            }
            let already_rest = rest.iter().any(|holiday| holiday.date == middle);
            let excluded_before_2007 = year < 2007 && middle.weekday() == Weekday::Sunday;
            if !already_rest && !excluded_before_2007 {
                rest.push(Holiday {
                    date: middle,
                    kind: HolidayKind::CitizensHoliday,
                });
            }
        }
    }

    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_equinox_formula_matches_its_reference_years() {
        assert_eq!(vernal_equinox_day(1980), Ok(date!(1980 - 03 - 20)));
        assert_eq!(autumnal_equinox_day(1980), Ok(date!(1980 - 09 - 23)));
        assert_eq!(vernal_equinox_day(2099), Ok(date!(2099 - 03 - 20)));
        assert_eq!(autumnal_equinox_day(2099), Ok(date!(2099 - 09 - 23)));
    }

    #[test]
    fn happy_monday_is_the_nth_monday() {
        assert_eq!(
            nth_monday(2026, Month::January, 2),
            Ok(date!(2026 - 01 - 12))
        );
        assert_eq!(nth_monday(2024, Month::July, 3), Ok(date!(2024 - 07 - 15)));
    }

    #[test]
    fn years_outside_the_formula_are_refused() {
        assert_eq!(
            holidays_in_year(1979),
            Err(CalendarError::YearNotCovered { year: 1979 })
        );
        assert_eq!(
            holidays_in_year(2100),
            Err(CalendarError::YearNotCovered { year: 2100 })
        );
    }
}
