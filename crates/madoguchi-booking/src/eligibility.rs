//! Who may book a service: age at a reference date within a range, sex, residency.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    /// `female` or `male`, as forms and the API spell it (the serde names); anything else is
    /// no answer. The one parser of a sex from text, so pages and the API agree.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "female" => Some(Self::Female),
            "male" => Some(Self::Male),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }
}

/// The date at which age is measured for eligibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeReference {
    /// The slot's own date.
    SlotDate,
    /// March 31 ending the fiscal year of the slot (年度末年齢, as cancer screenings use).
    FiscalYearEnd,
}

impl AgeReference {
    /// The date age is measured on for a slot on `slot_date` (Tokyo date).
    pub fn date_for(self, slot_date: Date) -> Date {
        match self {
            AgeReference::SlotDate => slot_date,
            AgeReference::FiscalYearEnd => {
                let end_year = if slot_date.month() >= Month::April {
                    slot_date.year() + 1
                } else {
                    slot_date.year()
                };
                Date::from_calendar_date(end_year, Month::March, 31).unwrap_or(slot_date)
            }
        }
    }
}

/// The conditions of a service; `None` (or leaving a field out) means no condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Eligibility {
    pub age_min: Option<u16>,
    pub age_max: Option<u16>,
    pub age_reference: Option<AgeReference>,
    pub sex: Option<Sex>,
    /// Only residents of the municipality (住民) may book.
    pub residents_only: bool,
}

/// What is known of the person booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applicant {
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub resident: bool,
}

/// Why an applicant may not book; each has its own error code upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("the applicant's age {age} is outside the service's range")]
    Age { age: u16 },
    #[error("the applicant's date of birth is needed for this service")]
    BirthDateMissing,
    #[error("this service is for another sex")]
    Sex,
    #[error("this service is for residents of the municipality only")]
    NotResident,
}

/// Age on `on` as Japanese law counts it (年齢計算ニ関スル法律): a person attains an age at the
/// end of the day before the birthday, so someone born on April 1 is already counted a year
/// older on March 31. A February 29 birthday is reached on February 28 in common years.
pub fn age_on(birth: Date, on: Date) -> u16 {
    if on < birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    let anniversary = Date::from_calendar_date(on.year(), birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(on.year(), Month::March, 1))
        .unwrap_or(on);
    let attained = anniversary - Duration::days(1);
    if on < attained {
        years -= 1;
    }
    u16::try_from(years.max(0)).unwrap_or(u16::MAX)
}

impl Eligibility {
    /// Checks `applicant` for a slot on `slot_date` (Tokyo date).
    pub fn check(&self, applicant: &Applicant, slot_date: Date) -> Result<(), Ineligible> {
        // Missing data first, so the resident is told what to add rather than refused.
        if (self.age_min.is_some() || self.age_max.is_some()) && applicant.birth_date.is_none() {
            return Err(Ineligible::BirthDateMissing);
        }
        if self.residents_only && !applicant.resident {
            return Err(Ineligible::NotResident);
        }
        if let Some(required) = self.sex
            && applicant.sex != Some(required)
        {
            return Err(Ineligible::Sex);
        }
        if self.age_min.is_some() || self.age_max.is_some() {
            let birth = applicant.birth_date.ok_or(Ineligible::BirthDateMissing)?;
            let reference = self
                .age_reference
                .unwrap_or(AgeReference::SlotDate)
                .date_for(slot_date);
            let age = age_on(birth, reference);
            let too_young = self.age_min.is_some_and(|min| age < min);
            let too_old = self.age_max.is_some_and(|max| age > max);
            if too_young || too_old {
                return Err(Ineligible::Age { age });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_sex_is_read_from_its_serde_name_only() {
        assert_eq!(Sex::parse("female"), Some(Sex::Female));
        assert_eq!(Sex::parse("male"), Some(Sex::Male));
        for other in ["", "Female", "f", "other", " male"] {
            assert_eq!(Sex::parse(other), None, "{other:?}");
        }
        for sex in [Sex::Female, Sex::Male] {
            let json = serde_json::to_value(sex).ok();
            assert_eq!(json.as_ref().and_then(|v| v.as_str()), Some(sex.as_str()));
            assert_eq!(Sex::parse(sex.as_str()), Some(sex));
        }
    }

    #[test]
    fn age_increases_at_the_end_of_the_day_before_the_birthday() {
        assert_eq!(age_on(date!(1987 - 04 - 01), date!(2027 - 03 - 30)), 39);
        assert_eq!(age_on(date!(1987 - 04 - 01), date!(2027 - 03 - 31)), 40);
        assert_eq!(age_on(date!(1987 - 04 - 02), date!(2027 - 03 - 31)), 39);
        assert_eq!(age_on(date!(1987 - 04 - 02), date!(2027 - 04 - 01)), 40);
    }

    #[test]
    fn a_leap_day_birthday_is_reached_on_february_28_in_common_years() {
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2027 - 02 - 27)), 26);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2027 - 02 - 28)), 27);
    }

    fn screening() -> Eligibility {
        Eligibility {
            age_min: Some(40),
            age_max: None,
            age_reference: Some(AgeReference::FiscalYearEnd),
            sex: Some(Sex::Female),
            residents_only: true,
        }
    }

    #[test]
    fn the_fiscal_year_end_age_decides_a_screening() {
        let applicant = Applicant {
            birth_date: Some(date!(1987 - 04 - 01)),
            sex: Some(Sex::Female),
            resident: true,
        };
        // In June 2026 she is 39, but she is 40 at the end of fiscal 2026 (2027-03-31).
        assert_eq!(screening().check(&applicant, date!(2026 - 06 - 10)), Ok(()));
        let younger = Applicant {
            birth_date: Some(date!(1987 - 04 - 02)),
            ..applicant
        };
        assert_eq!(
            screening().check(&younger, date!(2026 - 06 - 10)),
            Err(Ineligible::Age { age: 39 })
        );
    }

    #[test]
    fn sex_residency_and_a_missing_birth_date_are_refused() {
        let base = Applicant {
            birth_date: Some(date!(1970 - 01 - 01)),
            sex: Some(Sex::Female),
            resident: true,
        };
        assert_eq!(
            screening().check(
                &Applicant {
                    sex: Some(Sex::Male),
                    ..base
                },
                date!(2026 - 06 - 10)
            ),
            Err(Ineligible::Sex)
        );
        assert_eq!(
            screening().check(
                &Applicant {
                    resident: false,
                    ..base
                },
                date!(2026 - 06 - 10)
            ),
            Err(Ineligible::NotResident)
        );
        assert_eq!(
            screening().check(
                &Applicant {
                    birth_date: None,
                    ..base
                },
                date!(2026 - 06 - 10)
            ),
            Err(Ineligible::BirthDateMissing)
        );
    }

    #[test]
    fn no_conditions_admit_everyone() {
        let anyone = Applicant {
            birth_date: None,
            sex: None,
            resident: false,
        };
        assert_eq!(
            Eligibility::default().check(&anyone, date!(2026 - 06 - 10)),
            Ok(())
        );
    }
}
