//! The lottery's calendar: when applications for a month of use are taken, and when what the
//! lottery leaves opens first-come (先着順), to 市内 classes first and to everyone later.

use super::{LotteryError, LotteryRules};
use crate::classes::UserClass;
use crate::wall::{ClockTime, first_of_month_after};
use madoguchi_domain::tokyo;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

/// Applications for use in month U are taken from `first_day` to `last_day` (Tokyo dates,
/// both included) of the month `months_ahead` months before U.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPeriod {
    pub first_day: u8,
    pub last_day: u8,
    pub months_ahead: u8,
}

impl ApplicationPeriod {
    pub(super) fn check(&self) -> Result<(), LotteryError> {
        if 1 <= self.first_day
            && self.first_day <= self.last_day
            && self.last_day <= 28
            && (1..=12).contains(&self.months_ahead)
        {
            Ok(())
        } else {
            Err(LotteryError::RulesInvalid(
                "the period runs within days 1–28, for 1 to 12 months ahead",
            ))
        }
    }

    /// The first and last Tokyo dates applications for `year`-`month` are taken.
    pub fn window(&self, year: i32, month: Month) -> Option<(Date, Date)> {
        let start = first_of_month_after(year, month, 0)?;
        let filing_month = crate::wall::months_before(start, u32::from(self.months_ahead))?;
        let day = |d: u8| filing_month.replace_day(d).ok();
        Some((day(self.first_day)?, day(self.last_day)?))
    }

    /// The month of use whose applications are taken on `today`, if any.
    pub fn use_month_open_on(&self, today: Date) -> Option<(i32, Month)> {
        let first =
            first_of_month_after(today.year(), today.month(), u32::from(self.months_ahead))?;
        let (from, to) = self.window(first.year(), first.month())?;
        (from <= today && today <= to).then_some((first.year(), first.month()))
    }
}

/// A day relative to the month of use: `day` of the month `months_before` months earlier,
/// at `at` Tokyo time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseDay {
    pub months_before: u8,
    pub day: u8,
    pub at: ClockTime,
}

impl ReleaseDay {
    /// Orders release days: earlier first.
    fn key(&self) -> (i16, u8, ClockTime) {
        (-i16::from(self.months_before), self.day, self.at)
    }

    fn instant_for(&self, use_date: Date) -> Option<OffsetDateTime> {
        let month_start = first_of_month_after(use_date.year(), use_date.month(), 0)?;
        let base = crate::wall::months_before(month_start, u32::from(self.months_before))?;
        let date = base.replace_day(self.day).ok()?;
        Some(tokyo::start_of_tokyo_day(date) + Duration::minutes(i64::from(self.at.minutes())))
    }
}

/// When unclaimed slots of a month open first-come: `city` for the 市内 classes
/// (residents, workers, students), `everyone` for all, no earlier than `city`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstComeRelease {
    pub city: ReleaseDay,
    pub everyone: ReleaseDay,
}

impl FirstComeRelease {
    /// The 1st of the month before use for 市内 classes, the 15th for everyone, at 09:00.
    pub fn standard() -> Self {
        let nine = ClockTime::hm(9, 0).unwrap_or(ClockTime::MIDNIGHT);
        FirstComeRelease {
            city: ReleaseDay {
                months_before: 1,
                day: 1,
                at: nine,
            },
            everyone: ReleaseDay {
                months_before: 1,
                day: 15,
                at: nine,
            },
        }
    }

    pub(super) fn check(&self, period: &ApplicationPeriod) -> Result<(), LotteryError> {
        let day_ok = |d: &ReleaseDay| (1..=28).contains(&d.day) && d.at < ClockTime::END_OF_DAY;
        if !day_ok(&self.city) || !day_ok(&self.everyone) {
            return Err(LotteryError::RulesInvalid("release days go from 1 to 28"));
        }
        if self.city.key() > self.everyone.key() {
            return Err(LotteryError::RulesInvalid(
                "市内 classes are released no later than everyone",
            ));
        }
        let period_end = (-i16::from(period.months_ahead), period.last_day);
        if (self.city.key().0, self.city.key().1) <= period_end {
            return Err(LotteryError::RulesInvalid(
                "first-come opens after the application period",
            ));
        }
        Ok(())
    }
}

impl LotteryRules {
    /// The instant `class` may start booking what the lottery left on `use_date` first-come.
    pub fn first_come_opens_at(&self, class: UserClass, use_date: Date) -> Option<OffsetDateTime> {
        let release = &self.0.release;
        if class.is_city() {
            release.city.instant_for(use_date)
        } else {
            release.everyone.instant_for(use_date)
        }
    }

    /// Whether `class` may book a slot on `use_date` first-come at `now`.
    pub fn may_book_first_come(
        &self,
        class: UserClass,
        use_date: Date,
        now: OffsetDateTime,
    ) -> bool {
        self.first_come_opens_at(class, use_date)
            .is_some_and(|opens| now >= opens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::ClassRules;
    use time::macros::{date, datetime};

    fn rules() -> LotteryRules {
        LotteryRules::standard(&ClassRules::default()).unwrap()
    }

    #[test]
    fn applications_for_september_are_taken_on_the_first_ten_days_of_july() {
        let period = rules().spec().period;
        assert_eq!(
            period.window(2026, Month::September),
            Some((date!(2026 - 07 - 01), date!(2026 - 07 - 10)))
        );
        assert_eq!(
            period.use_month_open_on(date!(2026 - 07 - 10)),
            Some((2026, Month::September))
        );
        assert_eq!(period.use_month_open_on(date!(2026 - 07 - 11)), None);
        assert_eq!(
            period.use_month_open_on(date!(2026 - 11 - 01)),
            Some((2027, Month::January))
        );
    }

    #[test]
    fn leftovers_open_to_city_classes_first_and_to_everyone_two_weeks_later() {
        let rules = rules();
        let use_date = date!(2026 - 09 - 20);
        // 2026-08-01 09:00 JST is 00:00 UTC.
        let city_opens = datetime!(2026-08-01 00:00 UTC);
        assert_eq!(
            rules.first_come_opens_at(UserClass::Worker, use_date),
            Some(city_opens)
        );
        assert!(!rules.may_book_first_come(
            UserClass::Resident,
            use_date,
            city_opens - Duration::SECOND
        ));
        assert!(rules.may_book_first_come(UserClass::Resident, use_date, city_opens));
        assert!(!rules.may_book_first_come(UserClass::Outside, use_date, city_opens));
        assert!(rules.may_book_first_come(
            UserClass::Outside,
            use_date,
            datetime!(2026-08-15 00:00 UTC)
        ));
    }

    #[test]
    fn a_release_before_the_period_ends_or_everyone_before_the_city_is_refused() {
        let mut spec = rules().spec().clone();
        spec.release.city.months_before = 2;
        spec.release.city.day = 10;
        assert_eq!(
            LotteryRules::new(spec.clone()).unwrap_err().code(),
            "lottery_rules_invalid"
        );
        spec.release.city.day = 11;
        assert!(LotteryRules::new(spec.clone()).is_ok());
        spec.release.everyone.months_before = 2;
        spec.release.everyone.day = 11;
        spec.release.city.months_before = 1;
        assert!(LotteryRules::new(spec.clone()).is_err());
        spec.period.last_day = 29;
        assert!(LotteryRules::new(spec).is_err());
    }
}
