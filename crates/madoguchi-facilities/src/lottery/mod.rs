//! The monthly lottery (抽選): applications for the month after next, drawn so that anyone
//! can check the draw; then first-come booking of what is left.
//!
//! One draw is one facility's cycle: the applications filed in the period (by default the
//! 1st–10th of month M, for use in month M+2), each naming one or more ranked choices of
//! unit-slots (a unit, a date and a band). The rules cap applications and wins per applicant
//! (a group or a person), and say which classes may apply and in which priority tier. Lottery
//! slots are bands, which never overlap (see `bands`); units booked by the hour are not drawn.
//!
//! # The draw, exactly
//!
//! Inputs: the rules, the layout, the offered unit-slots, the applications, and a seed of 32
//! bytes. Nothing else is random, and no `rand` crate is involved.
//!
//! 1. **Commitment.** Before the application period closes, the city publishes
//!    `commitment = SHA-256(seed)` (64 lowercase hexadecimal digits). The seed stays secret
//!    until the draw and is published with its result.
//! 2. **Tickets.** Each application's ticket is `SHA-256(seed ‖ id)`: the 32 seed bytes
//!    followed by the 16 bytes of the application's UUID in RFC 4122 order (the order of the
//!    hexadecimal digits of its usual text form), 48 bytes hashed.
//! 3. **Order.** Applications are served in ascending order of `(tier, ticket, id)`: the
//!    tier the rules give the applicant's class (0 first; all classes in one tier when the
//!    rules give nobody priority), then the ticket compared as 32 unsigned bytes, then the id
//!    bytes (a tie of tickets is a SHA-256 collision; the id only makes the order total).
//! 4. **Serving** (serial dictatorship). Keep the unit-slots won so far and each applicant's
//!    number of wins. In order, each application: if its applicant already has
//!    `wins_max_per_applicant` wins, wins nothing; otherwise wins the first of its choices, by
//!    rank, that is free, i.e. no slot won so far is the same slot or conflicts with it (same
//!    date, same band, and one unit is the other's whole or part:
//!    [`FacilityLayout::conflicts`]). An application wins at most one slot.
//! 5. **Runners-up.** For every slot some application named, the applications that named it
//!    (at any rank) and did not win it, in serving order.
//!
//! Why serial dictatorship: the outcome follows from the seed alone, so anyone can redo it;
//! an application's place is uniform within its tier because nobody can steer SHA-256
//! without knowing the seed, and the seed was fixed (committed) before the applications were
//! complete; what an application wins depends only on those served before it, so ranking
//! one's true preferences is always best (no tactical ranking pays); and no application
//! could get a choice it ranks higher without one served before it getting a worse one (the
//! result is Pareto-efficient). It runs in time linear in the number of choices.
//!
//! The [`AuditRecord`] holds the inputs, the seed, its commitment and the outcome as
//! canonical JSON (fields in a fixed order, collections sorted); [`verify`] redraws from the
//! record's inputs and checks everything byte for byte. [`AuditRecord::promote`] moves the
//! next runner-up up when a winner declines or misses the confirmation deadline; after that,
//! [`LotteryRules::may_book_first_come`] opens what is left, to 市内 classes first.

mod audit;
mod draw;
mod promote;
mod release;
mod seed;

#[cfg(test)]
mod tests;

pub use audit::{AUDIT_FORMAT, AuditRecord, Mismatch, verify};
pub use draw::{Outcome, Served, SlotRunnersUp, SlotWinner};
pub use promote::{Holding, Promotion};
pub use release::{ApplicationPeriod, FirstComeRelease, ReleaseDay};
pub use seed::{Commitment, Seed, Ticket};

use crate::bands::BandCode;
use crate::classes::{ClassRules, LotteryEntry, PerClass, UserClass};
use crate::ids::{ApplicantId, ApplicationId, UnitId};
use crate::units::LayoutError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::Date;

/// The most choices one application ranks.
pub const CHOICES_MAX: u8 = 10;
/// The most applications (and wins) the rules may allow one applicant in a cycle.
pub const PER_APPLICANT_MAX: u16 = 100;
/// The most unit-slots one draw offers (a month of 64 units × 8 bands is under 16,000).
pub const SLOTS_MAX: usize = 100_000;
/// The most applications one draw takes.
pub const APPLICATIONS_MAX: usize = 200_000;

/// Why rules, an application or a draw's inputs are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LotteryError {
    /// Rules out of bounds; the text says which.
    #[error("lottery rules: {0}")]
    RulesInvalid(&'static str),
    /// Filing outside the application period of the choices' month.
    #[error("applications for this month are not being taken")]
    OutsidePeriod,
    /// The applicant's class may not enter the lottery.
    #[error("{0:?} may not enter the lottery")]
    ClassExcluded(UserClass),
    /// An application without a choice.
    #[error("an application names at least one choice")]
    NoChoice,
    /// More choices than the rules allow.
    #[error("an application names at most {0} choices")]
    TooManyChoices(u8),
    /// The same unit-slot twice in one application.
    #[error("a choice is named twice")]
    DuplicateChoice,
    /// A choice the draw does not offer.
    #[error("a choice is not offered in this draw")]
    SlotNotOffered,
    /// More applications than the rules allow the applicant.
    #[error("applicant {0} has more applications than allowed")]
    OverCap(ApplicantId),
    /// An application id twice.
    #[error("application {0} is listed twice")]
    DuplicateApplication(ApplicationId),
    /// A unit-slot offered twice.
    #[error("a unit-slot is offered twice")]
    DuplicateSlot,
    /// A slot of a unit the facility does not have.
    #[error("unit {0} is not a unit of this facility")]
    UnknownUnit(UnitId),
    /// More slots or applications than one draw takes.
    #[error("a draw takes at most {SLOTS_MAX} slots and {APPLICATIONS_MAX} applications")]
    TooLarge,
    /// A freed slot nobody applied for in this draw.
    #[error("no application of this draw named that slot")]
    SlotUnknown,
}

impl LotteryError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            LotteryError::RulesInvalid(_) => "lottery_rules_invalid",
            LotteryError::OutsidePeriod => "lottery_outside_period",
            LotteryError::ClassExcluded(_) => "lottery_class_excluded",
            LotteryError::NoChoice => "lottery_no_choice",
            LotteryError::TooManyChoices(_) => "lottery_too_many_choices",
            LotteryError::DuplicateChoice => "lottery_duplicate_choice",
            LotteryError::SlotNotOffered => "lottery_slot_not_offered",
            LotteryError::OverCap(_) => "lottery_over_cap",
            LotteryError::DuplicateApplication(_) => "lottery_duplicate_application",
            LotteryError::DuplicateSlot => "lottery_duplicate_slot",
            LotteryError::UnknownUnit(_) => "lottery_unit_unknown",
            LotteryError::TooLarge => "lottery_too_large",
            LotteryError::SlotUnknown => "lottery_slot_unknown",
        }
    }
}

impl From<LayoutError> for LotteryError {
    fn from(e: LayoutError) -> Self {
        match e {
            LayoutError::UnknownUnit(unit) => LotteryError::UnknownUnit(unit),
            _ => LotteryError::RulesInvalid("the facility's layout is invalid"),
        }
    }
}

/// One unit in one band on one day: what a lottery allots. Ordered by date, band, unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSlot {
    #[serde(with = "crate::wall::ymd")]
    pub date: Date,
    pub band: BandCode,
    pub unit: UnitId,
}

/// One application: who, as which class, and its choices, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub id: ApplicationId,
    pub applicant: ApplicantId,
    pub class: UserClass,
    pub choices: Vec<UnitSlot>,
}

/// A facility's lottery rules as administrators write them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotteryRulesSpec {
    pub period: ApplicationPeriod,
    /// Applications one applicant may file per cycle.
    pub applications_max_per_applicant: u16,
    /// Slots one applicant may win per cycle (promotions included).
    pub wins_max_per_applicant: u16,
    /// Choices one application may rank.
    pub choices_max: u8,
    /// Which classes may apply, and their priority tiers (a copy of the class rules').
    pub classes: PerClass<LotteryEntry>,
    /// When what the lottery leaves opens first-come.
    pub release: FirstComeRelease,
}

/// Checked [`LotteryRulesSpec`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LotteryRulesSpec", into = "LotteryRulesSpec")]
pub struct LotteryRules(LotteryRulesSpec);

impl TryFrom<LotteryRulesSpec> for LotteryRules {
    type Error = LotteryError;
    fn try_from(spec: LotteryRulesSpec) -> Result<Self, LotteryError> {
        LotteryRules::new(spec)
    }
}

impl From<LotteryRules> for LotteryRulesSpec {
    fn from(rules: LotteryRules) -> Self {
        rules.0
    }
}

impl LotteryRules {
    pub fn new(spec: LotteryRulesSpec) -> Result<Self, LotteryError> {
        let cap = 1..=PER_APPLICANT_MAX;
        if !cap.contains(&spec.applications_max_per_applicant)
            || !cap.contains(&spec.wins_max_per_applicant)
        {
            return Err(LotteryError::RulesInvalid(
                "caps per applicant go from 1 to 100",
            ));
        }
        if !(1..=CHOICES_MAX).contains(&spec.choices_max) {
            return Err(LotteryError::RulesInvalid("choices go from 1 to 10"));
        }
        spec.period.check()?;
        spec.release.check(&spec.period)?;
        Ok(Self(spec))
    }

    /// Applications 1st–10th of month M for month M+2; 4 applications, 2 wins and 3 choices
    /// per applicant; the classes' tiers from `classes`; first-come from the 1st of M+1 for
    /// 市内 classes and the 15th for everyone, at 09:00.
    pub fn standard(classes: &ClassRules) -> Result<Self, LotteryError> {
        LotteryRules::new(LotteryRulesSpec {
            period: ApplicationPeriod {
                first_day: 1,
                last_day: 10,
                months_ahead: 2,
            },
            applications_max_per_applicant: 4,
            wins_max_per_applicant: 2,
            choices_max: 3,
            classes: classes.lottery_entries(),
            release: FirstComeRelease::standard(),
        })
    }

    pub fn spec(&self) -> &LotteryRulesSpec {
        &self.0
    }

    /// The tier of `class`, or `None` when it may not apply.
    pub fn tier(&self, class: UserClass) -> Option<u8> {
        match self.0.classes.get(class) {
            LotteryEntry::Excluded => None,
            LotteryEntry::Tier(tier) => Some(*tier),
        }
    }

    /// Checks an application as it is filed on `today` (Tokyo), when its applicant has
    /// already filed `filed_before` applications in this cycle; `offered` says which
    /// unit-slots the draw offers.
    pub fn check_application(
        &self,
        application: &Application,
        offered: impl Fn(&UnitSlot) -> bool,
        filed_before: usize,
        today: Date,
    ) -> Result<(), LotteryError> {
        self.tier(application.class)
            .ok_or(LotteryError::ClassExcluded(application.class))?;
        self.check_choices(&application.choices, offered)?;
        let open = self.0.period.use_month_open_on(today);
        let in_period = application
            .choices
            .iter()
            .all(|c| open == Some((c.date.year(), c.date.month())));
        if !in_period {
            return Err(LotteryError::OutsidePeriod);
        }
        if filed_before >= usize::from(self.0.applications_max_per_applicant) {
            return Err(LotteryError::OverCap(application.applicant));
        }
        Ok(())
    }

    fn check_choices(
        &self,
        choices: &[UnitSlot],
        offered: impl Fn(&UnitSlot) -> bool,
    ) -> Result<(), LotteryError> {
        if choices.is_empty() {
            return Err(LotteryError::NoChoice);
        }
        if choices.len() > usize::from(self.0.choices_max) {
            return Err(LotteryError::TooManyChoices(self.0.choices_max));
        }
        let distinct: BTreeSet<&UnitSlot> = choices.iter().collect();
        if distinct.len() != choices.len() {
            return Err(LotteryError::DuplicateChoice);
        }
        if !choices.iter().all(offered) {
            return Err(LotteryError::SlotNotOffered);
        }
        Ok(())
    }
}
