//! Who books (利用者区分): 市内在住 (lives in the city), 市内在勤 (works in the city), 市内在学
//! (studies in the city) and 市外 (anyone else), and registered groups (`group`).
//!
//! Per class, [`ClassRules`] say how far ahead booking opens (residents 3 months and 1 day,
//! 市外 1 month by default), whether and in which priority tier the class enters the monthly
//! lottery, and which rate it pays (市内 or 市外).

mod group;

pub use group::{
    CityThreshold, GROUP_REASON_MAX_CHARS, GroupEvent, GroupStatus, IdentityDocument, Membership,
    RegisteredGroup,
};

use crate::wall::months_before;
use madoguchi_domain::Lang;
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// The furthest ahead booking may open: two years.
pub const ADVANCE_MONTHS_MAX: u8 = 24;
/// At most this many extra days on top of the months.
pub const ADVANCE_DAYS_MAX: u16 = 366;

/// Why class rules, a group or a group's change are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    /// An advance of more than [`ADVANCE_MONTHS_MAX`] months or [`ADVANCE_DAYS_MAX`] days.
    #[error("booking opens at most {ADVANCE_MONTHS_MAX} months and {ADVANCE_DAYS_MAX} days ahead")]
    AdvanceInvalid,
    /// Booking for this date has not opened yet for this class.
    #[error("booking for this date opens on {opens_on}")]
    NotYetOpen { opens_on: Date },
    /// A group of no members, more city members than members, or beyond the limit.
    #[error("a group has 1 to 100,000 members, of whom at most all are city members")]
    MembersInvalid,
    /// A city share threshold outside 1–100 percent.
    #[error("the city share threshold is 1 to 100 percent")]
    ThresholdInvalid,
    /// A change the group's status does not allow (approving a rejected group …).
    #[error("a {from} group cannot be {event}")]
    TransitionNotAllowed {
        from: &'static str,
        event: &'static str,
    },
    /// Rejecting or suspending without a reason, or with one too long.
    #[error("a reason of at most {GROUP_REASON_MAX_CHARS} characters is required")]
    ReasonRequired,
}

impl ClassError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            ClassError::AdvanceInvalid => "class_advance_invalid",
            ClassError::NotYetOpen { .. } => "facility_booking_not_open",
            ClassError::MembersInvalid => "group_members_invalid",
            ClassError::ThresholdInvalid => "group_threshold_invalid",
            ClassError::TransitionNotAllowed { .. } => "group_transition_not_allowed",
            ClassError::ReasonRequired => "group_reason_required",
        }
    }
}

/// The class of whoever books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClass {
    /// 市内在住: lives in the city.
    Resident,
    /// 市内在勤: works in the city.
    Worker,
    /// 市内在学: studies in the city.
    Student,
    /// 市外: anyone else.
    Outside,
}

impl UserClass {
    pub const ALL: [UserClass; 4] = [
        UserClass::Resident,
        UserClass::Worker,
        UserClass::Student,
        UserClass::Outside,
    ];

    /// 市内 (lives, works or studies in the city).
    pub fn is_city(self) -> bool {
        match self {
            UserClass::Resident | UserClass::Worker | UserClass::Student => true,
            UserClass::Outside => false,
        }
    }

    /// The class a stored [`code`](Self::code) names.
    pub fn parse(code: &str) -> Option<UserClass> {
        UserClass::ALL
            .into_iter()
            .find(|class| class.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            UserClass::Resident => "resident",
            UserClass::Worker => "worker",
            UserClass::Student => "student",
            UserClass::Outside => "outside",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (UserClass::Resident, Lang::Ja) => "市内在住",
            (UserClass::Worker, Lang::Ja) => "市内在勤",
            (UserClass::Student, Lang::Ja) => "市内在学",
            (UserClass::Outside, Lang::Ja) => "市外",
            (UserClass::Resident, Lang::En) => "Lives in the city",
            (UserClass::Worker, Lang::En) => "Works in the city",
            (UserClass::Student, Lang::En) => "Studies in the city",
            (UserClass::Outside, Lang::En) => "From outside the city",
        }
    }
}

/// One value per class, so no class can be forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerClass<T> {
    pub resident: T,
    pub worker: T,
    pub student: T,
    pub outside: T,
}

impl<T> PerClass<T> {
    pub fn get(&self, class: UserClass) -> &T {
        match class {
            UserClass::Resident => &self.resident,
            UserClass::Worker => &self.worker,
            UserClass::Student => &self.student,
            UserClass::Outside => &self.outside,
        }
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> PerClass<U> {
        PerClass {
            resident: f(&self.resident),
            worker: f(&self.worker),
            student: f(&self.student),
            outside: f(&self.outside),
        }
    }
}

/// Which rate a class pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceClass {
    /// 市内料金.
    City,
    /// 市外料金 (the table's percentage or its explicit 市外 rates).
    Outside,
}

/// Whether a class enters the monthly lottery. Stored as `"excluded"` or `{"tier": 0}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotteryEntry {
    /// The class may not apply.
    Excluded,
    /// The class applies in this priority tier: every application of tier 0 is served before
    /// any of tier 1. Equal tiers mean no priority between the classes.
    Tier(u8),
}

/// How far ahead of the day of use booking opens: `months` months, then `days` days more
/// (3 months and 1 day: for 07-15, from 04-14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    pub months: u8,
    #[serde(default)]
    pub days: u16,
}

/// What one class may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    pub advance: Advance,
    pub lottery: LotteryEntry,
    pub price: PriceClass,
}

/// Checked rules for every class (stored as JSON, `{"resident": {...}, ...}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PerClass<ClassRule>", into = "PerClass<ClassRule>")]
pub struct ClassRules(PerClass<ClassRule>);

impl TryFrom<PerClass<ClassRule>> for ClassRules {
    type Error = ClassError;
    fn try_from(rules: PerClass<ClassRule>) -> Result<Self, ClassError> {
        ClassRules::new(rules)
    }
}

impl From<ClassRules> for PerClass<ClassRule> {
    fn from(rules: ClassRules) -> Self {
        rules.0
    }
}

impl Default for ClassRules {
    /// 市内 classes: 3 months and 1 day ahead, lottery tier 0, 市内 rate; 市外: 1 month ahead,
    /// lottery tier 1, 市外 rate.
    fn default() -> Self {
        let city = ClassRule {
            advance: Advance { months: 3, days: 1 },
            lottery: LotteryEntry::Tier(0),
            price: PriceClass::City,
        };
        ClassRules(PerClass {
            resident: city,
            worker: city,
            student: city,
            outside: ClassRule {
                advance: Advance { months: 1, days: 0 },
                lottery: LotteryEntry::Tier(1),
                price: PriceClass::Outside,
            },
        })
    }
}

impl ClassRules {
    pub fn new(rules: PerClass<ClassRule>) -> Result<Self, ClassError> {
        let ok = UserClass::ALL.iter().all(|&c| {
            let a = rules.get(c).advance;
            a.months <= ADVANCE_MONTHS_MAX && a.days <= ADVANCE_DAYS_MAX
        });
        if ok {
            Ok(Self(rules))
        } else {
            Err(ClassError::AdvanceInvalid)
        }
    }

    pub fn get(&self, class: UserClass) -> &ClassRule {
        self.0.get(class)
    }

    /// What each class does in the lottery, as the lottery's rules copy it.
    pub fn lottery_entries(&self) -> PerClass<LotteryEntry> {
        self.0.map(|rule| rule.lottery)
    }

    /// The first Tokyo date on which `class` may book for `use_date`.
    pub fn opens_on(&self, class: UserClass, use_date: Date) -> Date {
        let advance = self.get(class).advance;
        months_before(use_date, u32::from(advance.months))
            .and_then(|d| d.checked_sub(Duration::days(i64::from(advance.days))))
            .unwrap_or(Date::MIN)
    }

    /// Whether `class` may book for `use_date` on `today` (both Tokyo dates); the day of use
    /// itself closes elsewhere, with the booking window's own rules.
    pub fn check_open(
        &self,
        class: UserClass,
        use_date: Date,
        today: Date,
    ) -> Result<(), ClassError> {
        let opens_on = self.opens_on(class, use_date);
        if today < opens_on {
            Err(ClassError::NotYetOpen { opens_on })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn residents_may_book_three_months_and_a_day_ahead_and_others_one_month() {
        let rules = ClassRules::default();
        let use_date = date!(2026 - 07 - 15);
        assert_eq!(
            rules.opens_on(UserClass::Resident, use_date),
            date!(2026 - 04 - 14)
        );
        assert_eq!(
            rules.opens_on(UserClass::Outside, use_date),
            date!(2026 - 06 - 15)
        );
        assert_eq!(
            rules.check_open(UserClass::Outside, use_date, date!(2026 - 06 - 14)),
            Err(ClassError::NotYetOpen {
                opens_on: date!(2026 - 06 - 15)
            })
        );
        assert!(
            rules
                .check_open(UserClass::Worker, use_date, date!(2026 - 04 - 14))
                .is_ok()
        );
    }

    #[test]
    fn a_use_date_at_the_end_of_a_long_month_opens_at_the_end_of_a_short_one() {
        // 05-31 minus 3 months is 02-28 (no 02-31), then one day more: 02-27.
        assert_eq!(
            ClassRules::default().opens_on(UserClass::Student, date!(2026 - 05 - 31)),
            date!(2026 - 02 - 27)
        );
    }

    #[test]
    fn city_classes_are_the_three_of_living_working_and_studying_in_the_city() {
        let city: Vec<_> = UserClass::ALL.into_iter().filter(|c| c.is_city()).collect();
        assert_eq!(
            city,
            [UserClass::Resident, UserClass::Worker, UserClass::Student]
        );
        assert_eq!(UserClass::Worker.label(Lang::Ja), "市内在勤");
    }

    #[test]
    fn class_rules_read_from_json_and_refuse_an_absurd_advance() {
        let json = serde_json::to_value(ClassRules::default()).unwrap();
        assert_eq!(json["outside"]["lottery"], serde_json::json!({"tier": 1}));
        let back: ClassRules = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, ClassRules::default());
        let mut far = json.clone();
        far["resident"]["advance"]["months"] = serde_json::json!(25);
        assert!(serde_json::from_value::<ClassRules>(far).is_err());
        let mut missing = json;
        missing.as_object_mut().unwrap().remove("student");
        assert!(serde_json::from_value::<ClassRules>(missing).is_err());
    }
}
