//! Everything an administrator sets for a service without code: the booking window, the
//! cancellation deadline, a personal limit, eligibility, how long a hold lasts, and the
//! questions asked at booking (問診 items). Stored as JSON with the service.

use crate::{BookingWindow, CancellationRule, Eligibility, PersonalLimit, WaitlistRule};
use serde::{Deserialize, Serialize};

/// A question asked when booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable key of the answer, e.g. `symptoms`.
    pub id: String,
    pub label_ja: String,
    pub label_en: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRules {
    pub window: BookingWindow,
    pub cancellation: CancellationRule,
    #[serde(default)]
    pub limit: Option<PersonalLimit>,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Minutes a hold keeps the seat while answers or payment are outstanding.
    #[serde(default = "default_hold_minutes")]
    pub hold_minutes: u16,
    #[serde(default)]
    pub questions: Vec<Question>,
    /// The waiting list of full slots; `None`: a full slot is simply full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist: Option<WaitlistRule>,
}

fn default_hold_minutes() -> u16 {
    15
}

/// What is wrong with a set of rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("the window must open more than it closes before the slot")]
    WindowInverted,
    #[error("a personal limit needs a maximum of at least 1")]
    LimitZero,
    #[error("the minimum age is above the maximum")]
    AgeRangeInverted,
    #[error("a hold lasts between 1 and 1440 minutes")]
    HoldLength,
    #[error("question ids must be unique, non-empty ASCII")]
    QuestionIds,
    #[error("a waiting-list offer is answered within 1 to 168 hours")]
    WaitlistOffer,
}

impl ServiceRules {
    pub fn validate(&self) -> Result<(), RulesError> {
        if u32::from(self.window.opens_days_before) * 24
            <= u32::from(self.window.closes_hours_before)
        {
            return Err(RulesError::WindowInverted);
        }
        if self.limit.is_some_and(|l| l.max == 0) {
            return Err(RulesError::LimitZero);
        }
        if let (Some(min), Some(max)) = (self.eligibility.age_min, self.eligibility.age_max)
            && min > max
        {
            return Err(RulesError::AgeRangeInverted);
        }
        if !(1..=1440).contains(&self.hold_minutes) {
            return Err(RulesError::HoldLength);
        }
        let mut ids: Vec<&str> = self.questions.iter().map(|q| q.id.as_str()).collect();
        ids.sort_unstable();
        let unique = ids.windows(2).all(|w| w[0] != w[1]);
        let shaped = ids.iter().all(|id| {
            !id.is_empty()
                && id.len() <= 40
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !unique || !shaped {
            return Err(RulesError::QuestionIds);
        }
        if self.waitlist.is_some_and(|w| !w.is_valid()) {
            return Err(RulesError::WaitlistOffer);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screening_json() -> serde_json::Value {
        serde_json::json!({
            "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 48},
            "cancellation": {"deadline_hours_before": 48},
            "limit": {"max": 1, "period": {"kind": "fiscal_year"}},
            "eligibility": {"age_min": 40, "age_reference": "fiscal_year_end", "sex": "female", "residents_only": true},
            "questions": [{"id": "pregnant", "label_ja": "妊娠の可能性", "label_en": "Possibly pregnant", "required": true}]
        })
    }

    #[test]
    fn a_cancer_screening_rule_set_parses_and_validates() {
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        assert_eq!(rules.validate(), Ok(()));
        assert_eq!(rules.window.opens_at_local, time::macros::time!(09:00));
        assert_eq!(rules.hold_minutes, 15);
        // Round trip keeps the HH:MM form an administrator reads.
        assert_eq!(
            serde_json::to_value(&rules).unwrap()["window"]["opens_at_local"],
            "09:00"
        );
    }

    #[test]
    fn inconsistent_rules_are_refused() {
        let mut rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        rules.window.closes_hours_before = 60 * 24;
        assert_eq!(rules.validate(), Err(RulesError::WindowInverted));
        let mut rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        rules.eligibility.age_max = Some(30);
        assert_eq!(rules.validate(), Err(RulesError::AgeRangeInverted));
    }

    #[test]
    fn unknown_fields_and_bad_times_are_refused() {
        let mut json = screening_json();
        json["window"]["opens_at_local"] = "9 o'clock".into();
        assert!(serde_json::from_value::<ServiceRules>(json).is_err());
        let mut json = screening_json();
        json["surprise"] = true.into();
        assert!(serde_json::from_value::<ServiceRules>(json).is_err());
    }
}
