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

/// The most questions one service asks: a health checkup's 問診 has a few dozen at most.
pub const QUESTIONS_MAX: usize = 50;
/// The longest question label, in characters, in either language.
pub const QUESTION_LABEL_MAX_CHARS: usize = 200;
/// The longest answer, in characters: a few paragraphs of a consultation topic. With
/// [`QUESTIONS_MAX`] this also bounds all the answers of one booking.
pub const ANSWER_MAX_CHARS: usize = 1_000;

/// Why the answers of a booking are refused, and which answer (`answers.<id>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// The answers are not a JSON object of question ids.
    NotAnObject,
    /// An answer to a question the service does not ask.
    UnknownQuestion(String),
    /// An answer that is not text, a number, yes/no or empty.
    WrongKind(String),
    /// An answer longer than [`ANSWER_MAX_CHARS`].
    TooLong(String),
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
    #[error("a service asks at most 50 questions")]
    TooManyQuestions,
    #[error("question labels are 1 to 200 characters of text in each language")]
    QuestionLabel,
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
        if self.questions.len() > QUESTIONS_MAX {
            return Err(RulesError::TooManyQuestions);
        }
        let label_ok = |label: &str| {
            madoguchi_domain::text::bounded_text(label, QUESTION_LABEL_MAX_CHARS)
                .is_ok_and(|text| text.is_some())
        };
        if !self
            .questions
            .iter()
            .all(|q| label_ok(&q.label_ja) && label_ok(&q.label_en))
        {
            return Err(RulesError::QuestionLabel);
        }
        if self.waitlist.is_some_and(|w| !w.is_valid()) {
            return Err(RulesError::WaitlistOffer);
        }
        Ok(())
    }

    /// The required questions that `answers` leaves unanswered (absent, null or empty text), in
    /// the service's order. The one required-answers check: admission refuses a booking with
    /// any, and the booking forms mark each at its field.
    pub fn unanswered_required<'a>(
        &'a self,
        answers: &'a serde_json::Value,
    ) -> impl Iterator<Item = &'a Question> + 'a {
        self.questions.iter().filter(move |q| {
            q.required
                && !answers
                    .get(&q.id)
                    .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
        })
    }

    /// Checks the answers of a booking: only this service's questions, each answered with text
    /// of at most [`ANSWER_MAX_CHARS`] characters, a number, yes/no or nothing. Required
    /// answers are checked with the rest of the admission.
    pub fn check_answers(&self, answers: &serde_json::Value) -> Result<(), AnswerError> {
        let map = match answers {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => return Ok(()),
            _ => return Err(AnswerError::NotAnObject),
        };
        for (id, answer) in map {
            if !self.questions.iter().any(|q| &q.id == id) {
                return Err(AnswerError::UnknownQuestion(id.clone()));
            }
            match answer {
                serde_json::Value::String(text) if text.chars().count() > ANSWER_MAX_CHARS => {
                    return Err(AnswerError::TooLong(id.clone()));
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(AnswerError::WrongKind(id.clone()));
                }
                _ => {}
            }
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
    fn questions_are_bounded_in_number_and_label_length() {
        let mut rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        rules.questions[0].label_ja = "長".repeat(QUESTION_LABEL_MAX_CHARS + 1);
        assert_eq!(rules.validate(), Err(RulesError::QuestionLabel));
        rules.questions[0].label_ja = "\u{200B}".into();
        assert_eq!(rules.validate(), Err(RulesError::QuestionLabel));
        rules.questions[0].label_ja = "妊娠\u{0}".into();
        assert_eq!(rules.validate(), Err(RulesError::QuestionLabel));
        let mut rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        rules.questions = (0..=QUESTIONS_MAX)
            .map(|i| Question {
                id: format!("q{i}"),
                label_ja: "質問".into(),
                label_en: "Question".into(),
                required: false,
            })
            .collect();
        assert_eq!(rules.validate(), Err(RulesError::TooManyQuestions));
    }

    #[test]
    fn only_answers_to_the_services_own_questions_are_accepted() {
        use serde_json::json;
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        assert_eq!(rules.check_answers(&json!({"pregnant": "no"})), Ok(()));
        assert_eq!(rules.check_answers(&json!({"pregnant": true})), Ok(()));
        assert_eq!(rules.check_answers(&json!({})), Ok(()));
        assert_eq!(
            rules.check_answers(&json!({"junk": "x"})),
            Err(AnswerError::UnknownQuestion("junk".into()))
        );
        assert_eq!(
            rules.check_answers(&json!({"pregnant": "x".repeat(ANSWER_MAX_CHARS + 1)})),
            Err(AnswerError::TooLong("pregnant".into()))
        );
        assert_eq!(
            rules.check_answers(&json!({"pregnant": ["a"]})),
            Err(AnswerError::WrongKind("pregnant".into()))
        );
        assert_eq!(
            rules.check_answers(&json!("x")),
            Err(AnswerError::NotAnObject)
        );
    }

    #[test]
    fn a_required_question_counts_as_unanswered_when_absent_null_or_empty() {
        use serde_json::json;
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        let missing = |answers: serde_json::Value| -> Vec<String> {
            rules
                .unanswered_required(&answers)
                .map(|q| q.id.clone())
                .collect()
        };
        for unanswered in [
            json!({}),
            json!({"pregnant": null}),
            json!({"pregnant": ""}),
            json!(null),
        ] {
            assert_eq!(missing(unanswered.clone()), ["pregnant"], "{unanswered}");
        }
        for answered in [
            json!({"pregnant": "no"}),
            json!({"pregnant": false}),
            json!({"pregnant": 0}),
        ] {
            assert!(missing(answered.clone()).is_empty(), "{answered}");
        }
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
