//! Everything an administrator sets for a service without code: the booking window, the
//! cancellation deadline, a personal limit, eligibility, how long a hold lasts, the
//! questions asked at booking (問診 items) and the fee. Stored as JSON with the service.

use crate::{BookingWindow, CancellationRule, Eligibility, Fee, PersonalLimit, WaitlistRule};
use madoguchi_domain::Lang;
use serde::{Deserialize, Serialize};
use time::Date;

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
    /// What kind of answer it takes; rules stored before questions had kinds ask free text.
    #[serde(default)]
    pub kind: QuestionKind,
}

/// The kind of answer a question takes, with its bounds. Stored as
/// `{"type": "yes_no"}`, `{"type": "choice", "options": [...]}`,
/// `{"type": "number", "min": 0, "max": 5}`, `{"type": "date", "min": "2026-04-01"}` or
/// `{"type": "text", "max_chars": 200}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuestionKind {
    /// Free text of at most `max_chars` characters ([`ANSWER_MAX_CHARS`] when not set).
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_chars: Option<u16>,
    },
    /// Yes or no, answered `true` or `false`.
    YesNo,
    /// One of the options, answered with the option's id.
    Choice { options: Vec<ChoiceOption> },
    /// A whole number, optionally bounded (both bounds inclusive).
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// A date `YYYY-MM-DD`, optionally bounded (both bounds inclusive).
    Date {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "ymd_option")]
        min: Option<Date>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "ymd_option")]
        max: Option<Date>,
    },
}

impl Default for QuestionKind {
    fn default() -> Self {
        Self::Text { max_chars: None }
    }
}

/// One option of a single-choice question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Stable key of the option, the answer's value, e.g. `infant`.
    pub id: String,
    pub label_ja: String,
    pub label_en: String,
}

impl ChoiceOption {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.label_ja,
            Lang::En => &self.label_en,
        }
    }
}

/// `"YYYY-MM-DD"` for the optional bounds of a date question.
mod ymd_option {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::Date;

    // serde's `with` hands the field by reference.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => s.serialize_str(&date.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(raw) => super::parse_ymd(&raw)
                .map(Some)
                .ok_or_else(|| D::Error::custom("expected YYYY-MM-DD")),
        }
    }
}

/// A date written `YYYY-MM-DD`, between the years the domain supports.
pub fn parse_ymd(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .filter(|d| madoguchi_domain::tokyo::is_supported_date(*d))
}

/// What is wrong with one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerProblem {
    /// An answer to a question the service does not ask.
    UnknownQuestion,
    /// A required question left unanswered (absent, null or empty text).
    Required,
    /// A free-text question answered with something other than text.
    NotText,
    /// Text longer than the question allows.
    TooLong,
    /// A yes/no question answered with something other than `true` or `false`.
    NotYesNo,
    /// A choice answered with something other than one of its option ids.
    UnknownOption,
    /// A number question answered with something other than a whole number.
    NotInteger,
    /// A date question answered with something other than a date `YYYY-MM-DD`.
    NotADate,
    /// A number or a date outside the question's bounds.
    OutOfRange,
}

/// Why the answers of a booking are refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// The answers are not a JSON object of question ids.
    NotAnObject,
    /// Every answer that is wrong, by question id (`answers.<id>`): the service's questions in
    /// their order, then answers to questions it does not ask.
    Answers(Vec<(String, AnswerProblem)>),
}

/// Whether an answer counts as not given: absent, null, or empty text.
fn is_blank(answer: Option<&serde_json::Value>) -> bool {
    answer.is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
}

impl Question {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.label_ja,
            Lang::En => &self.label_en,
        }
    }

    /// Checks one answer (`None` when not given) against the question's kind and bounds.
    pub fn check_answer(&self, answer: Option<&serde_json::Value>) -> Result<(), AnswerProblem> {
        use serde_json::Value;
        if is_blank(answer) {
            return if self.required {
                Err(AnswerProblem::Required)
            } else {
                Ok(())
            };
        }
        let Some(answer) = answer else {
            return Ok(());
        };
        match &self.kind {
            QuestionKind::Text { max_chars } => {
                let Value::String(text) = answer else {
                    return Err(AnswerProblem::NotText);
                };
                let max = max_chars.map_or(ANSWER_MAX_CHARS, usize::from);
                if text.chars().count() > max {
                    return Err(AnswerProblem::TooLong);
                }
            }
            QuestionKind::YesNo => {
                if !answer.is_boolean() {
                    return Err(AnswerProblem::NotYesNo);
                }
            }
            QuestionKind::Choice { options } => {
                let chosen = answer.as_str().unwrap_or_default();
                if !options.iter().any(|o| o.id == chosen) {
                    return Err(AnswerProblem::UnknownOption);
                }
            }
            QuestionKind::Number { min, max } => {
                let n = answer.as_i64().ok_or(AnswerProblem::NotInteger)?;
                if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                    return Err(AnswerProblem::OutOfRange);
                }
            }
            QuestionKind::Date { min, max } => {
                let date = answer
                    .as_str()
                    .and_then(|raw| parse_ymd(raw.trim()))
                    .ok_or(AnswerProblem::NotADate)?;
                if min.is_some_and(|min| date < min) || max.is_some_and(|max| date > max) {
                    return Err(AnswerProblem::OutOfRange);
                }
            }
        }
        Ok(())
    }

    /// The typed answer a form field gives (`None` when left empty): `yes`/`no` for yes/no,
    /// an option id for a choice, digits (full-width too, as a Japanese keyboard types them)
    /// for a number, `YYYY-MM-DD` for a date, the text itself otherwise. The result still
    /// goes through [`Question::check_answer`] for the bounds and whether it was required.
    pub fn answer_from_form(&self, raw: &str) -> Result<Option<serde_json::Value>, AnswerProblem> {
        use serde_json::Value;
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let value = match &self.kind {
            QuestionKind::Text { .. } | QuestionKind::Choice { .. } => Value::from(raw),
            QuestionKind::YesNo => match raw {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                _ => return Err(AnswerProblem::NotYesNo),
            },
            QuestionKind::Number { .. } => {
                let ascii: String = raw
                    .chars()
                    .map(|c| match c {
                        '０'..='９' => {
                            char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')).unwrap_or(c)
                        }
                        '－' | '−' | 'ー' => '-',
                        _ => c,
                    })
                    .collect();
                Value::from(
                    ascii
                        .parse::<i64>()
                        .map_err(|_| AnswerProblem::NotInteger)?,
                )
            }
            QuestionKind::Date { .. } => {
                parse_ymd(raw).ok_or(AnswerProblem::NotADate)?;
                Value::from(raw)
            }
        };
        Ok(Some(value))
    }

    fn kind_is_valid(&self) -> Result<(), RulesError> {
        match &self.kind {
            QuestionKind::Text { max_chars } => {
                if max_chars.is_some_and(|m| m == 0 || usize::from(m) > ANSWER_MAX_CHARS) {
                    return Err(RulesError::TextLength);
                }
            }
            QuestionKind::YesNo => {}
            QuestionKind::Choice { options } => {
                let mut ids: Vec<&str> = options.iter().map(|o| o.id.as_str()).collect();
                ids.sort_unstable();
                let unique = ids.windows(2).all(|w| w[0] != w[1]);
                let labelled = options
                    .iter()
                    .all(|o| label_ok(&o.label_ja) && label_ok(&o.label_en));
                if !(2..=OPTIONS_MAX).contains(&options.len())
                    || !unique
                    || !ids.iter().all(|id| id_ok(id))
                    || !labelled
                {
                    return Err(RulesError::ChoiceOptions);
                }
            }
            QuestionKind::Number { min, max } => {
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    return Err(RulesError::QuestionRange);
                }
            }
            QuestionKind::Date { min, max } => {
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    return Err(RulesError::QuestionRange);
                }
            }
        }
        Ok(())
    }
}

/// Ids of questions, options and exemptions: 1 to 40 ASCII letters, digits or `_`.
pub(crate) fn id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Labels of questions and options: 1 to [`QUESTION_LABEL_MAX_CHARS`] characters of text.
fn label_ok(label: &str) -> bool {
    madoguchi_domain::text::bounded_text(label, QUESTION_LABEL_MAX_CHARS)
        .is_ok_and(|text| text.is_some())
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
    /// What a booking costs; `None` (and every rule stored before fees existed): free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
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
/// The most options of one single-choice question: more would not fit a phone's screen.
pub const OPTIONS_MAX: usize = 20;

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
    #[error("a choice has 2 to 20 options with unique ASCII ids and labels in each language")]
    ChoiceOptions,
    #[error("the lower bound of a number or date question is above its upper bound")]
    QuestionRange,
    #[error("a text question allows between 1 and 1000 characters")]
    TextLength,
    #[error(
        "a fee lists at most 10 exemptions with unique ASCII codes, labels in each language and an age of 1 to 150"
    )]
    FeeExemptions,
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
        let shaped = ids.iter().all(|id| id_ok(id));
        if !unique || !shaped {
            return Err(RulesError::QuestionIds);
        }
        if self.questions.len() > QUESTIONS_MAX {
            return Err(RulesError::TooManyQuestions);
        }
        if !self
            .questions
            .iter()
            .all(|q| label_ok(&q.label_ja) && label_ok(&q.label_en))
        {
            return Err(RulesError::QuestionLabel);
        }
        for question in &self.questions {
            question.kind_is_valid()?;
        }
        if self.waitlist.is_some_and(|w| !w.is_valid()) {
            return Err(RulesError::WaitlistOffer);
        }
        if self.fee.as_ref().is_some_and(|fee| !fee.is_valid()) {
            return Err(RulesError::FeeExemptions);
        }
        Ok(())
    }

    /// The required questions that `answers` leaves unanswered (absent, null or empty text), in
    /// the service's order.
    pub fn unanswered_required<'a>(
        &'a self,
        answers: &'a serde_json::Value,
    ) -> impl Iterator<Item = &'a Question> + 'a {
        self.questions
            .iter()
            .filter(move |q| q.required && is_blank(answers.get(&q.id)))
    }

    /// Checks the answers of a booking, every one of them: only this service's questions, each
    /// answered as its kind asks (text within its length, `true`/`false`, an option id, a whole
    /// number or a date within bounds) or not at all, and every required question answered.
    /// Returns all the problems, so a form or an API client can fix them in one go.
    pub fn check_answers(&self, answers: &serde_json::Value) -> Result<(), AnswerError> {
        let empty = serde_json::Map::new();
        let map = match answers {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => &empty,
            _ => return Err(AnswerError::NotAnObject),
        };
        let mut problems: Vec<(String, AnswerProblem)> = self
            .questions
            .iter()
            .filter_map(|q| {
                q.check_answer(map.get(&q.id))
                    .err()
                    .map(|problem| (q.id.clone(), problem))
            })
            .collect();
        problems.extend(
            map.keys()
                .filter(|id| !self.questions.iter().any(|q| &q.id == *id))
                .map(|id| (id.clone(), AnswerProblem::UnknownQuestion)),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AnswerError::Answers(problems))
        }
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
                kind: QuestionKind::default(),
            })
            .collect();
        assert_eq!(rules.validate(), Err(RulesError::TooManyQuestions));
    }

    #[test]
    fn only_answers_to_the_services_own_questions_are_accepted() {
        use serde_json::json;
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        assert_eq!(rules.check_answers(&json!({"pregnant": "no"})), Ok(()));
        assert_eq!(
            rules.check_answers(&json!({"pregnant": "no", "junk": "x"})),
            Err(AnswerError::Answers(vec![(
                "junk".into(),
                AnswerProblem::UnknownQuestion
            )]))
        );
        assert_eq!(
            rules.check_answers(&json!({"pregnant": "x".repeat(ANSWER_MAX_CHARS + 1)})),
            Err(AnswerError::Answers(vec![(
                "pregnant".into(),
                AnswerProblem::TooLong
            )]))
        );
        assert_eq!(
            rules.check_answers(&json!({"pregnant": ["a"]})),
            Err(AnswerError::Answers(vec![(
                "pregnant".into(),
                AnswerProblem::NotText
            )]))
        );
        assert_eq!(
            rules.check_answers(&json!("x")),
            Err(AnswerError::NotAnObject)
        );
    }

    /// A checkup's questions of every kind.
    fn typed_rules() -> ServiceRules {
        let mut json = screening_json();
        json["questions"] = serde_json::json!([
            {"id": "previous_year", "label_ja": "昨年度の受診の有無", "label_en": "Screened last year?",
             "required": true, "kind": {"type": "yes_no"}},
            {"id": "course", "label_ja": "コース", "label_en": "Course", "required": true,
             "kind": {"type": "choice", "options": [
                {"id": "basic", "label_ja": "基本", "label_en": "Basic"},
                {"id": "full", "label_ja": "詳細", "label_en": "Full"}]}},
            {"id": "children", "label_ja": "同伴する子の人数", "label_en": "Children",
             "kind": {"type": "number", "min": 0, "max": 3}},
            {"id": "last_visit", "label_ja": "前回の受診日", "label_en": "Last visit",
             "kind": {"type": "date", "min": "2000-01-01", "max": "2026-12-31"}},
            {"id": "note", "label_ja": "備考", "label_en": "Note", "kind": {"type": "text", "max_chars": 5}}
        ]);
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_question_without_a_kind_asks_free_text_and_rules_round_trip_with_kinds() {
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        assert_eq!(
            rules.questions[0].kind,
            QuestionKind::Text { max_chars: None }
        );
        let typed = typed_rules();
        assert_eq!(typed.validate(), Ok(()));
        let json = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            json["questions"][0]["kind"],
            serde_json::json!({"type": "yes_no"})
        );
        assert_eq!(json["questions"][3]["kind"]["min"], "2000-01-01");
        assert_eq!(serde_json::from_value::<ServiceRules>(json).unwrap(), typed);
    }

    #[test]
    fn every_kind_accepts_its_own_answers() {
        use serde_json::json;
        let rules = typed_rules();
        for answers in [
            json!({"previous_year": true, "course": "basic"}),
            json!({"previous_year": false, "course": "full", "children": 0, "last_visit": "2000-01-01", "note": "12345"}),
            json!({"previous_year": false, "course": "full", "children": 3, "last_visit": "2026-12-31", "note": ""}),
            json!({"previous_year": true, "course": "basic", "children": null, "last_visit": null}),
        ] {
            assert_eq!(rules.check_answers(&answers), Ok(()), "{answers}");
        }
    }

    #[test]
    fn every_wrong_answer_is_named_at_once_in_the_order_of_the_questions() {
        use serde_json::json;
        let rules = typed_rules();
        let all_wrong = json!({
            "note": "123456", "last_visit": "2026-13-01", "children": 1.5,
            "course": "deluxe", "previous_year": "yes", "extra": 1
        });
        assert_eq!(
            rules.check_answers(&all_wrong),
            Err(AnswerError::Answers(vec![
                ("previous_year".into(), AnswerProblem::NotYesNo),
                ("course".into(), AnswerProblem::UnknownOption),
                ("children".into(), AnswerProblem::NotInteger),
                ("last_visit".into(), AnswerProblem::NotADate),
                ("note".into(), AnswerProblem::TooLong),
                ("extra".into(), AnswerProblem::UnknownQuestion),
            ]))
        );
        let out_of_range = json!({"children": 4, "last_visit": "1999-12-31", "course": 1});
        assert_eq!(
            rules.check_answers(&out_of_range),
            Err(AnswerError::Answers(vec![
                ("previous_year".into(), AnswerProblem::Required),
                ("course".into(), AnswerProblem::UnknownOption),
                ("children".into(), AnswerProblem::OutOfRange),
                ("last_visit".into(), AnswerProblem::OutOfRange),
            ]))
        );
        let below = json!({"previous_year": true, "course": "basic", "children": -1, "note": 5});
        assert_eq!(
            rules.check_answers(&below),
            Err(AnswerError::Answers(vec![
                ("children".into(), AnswerProblem::OutOfRange),
                ("note".into(), AnswerProblem::NotText),
            ]))
        );
    }

    #[test]
    fn form_fields_become_typed_answers() {
        use serde_json::json;
        let rules = typed_rules();
        let q = |id: &str| rules.questions.iter().find(|q| q.id == id).unwrap();
        assert_eq!(
            q("previous_year").answer_from_form("yes"),
            Ok(Some(json!(true)))
        );
        assert_eq!(
            q("previous_year").answer_from_form("no"),
            Ok(Some(json!(false)))
        );
        assert_eq!(
            q("previous_year").answer_from_form("maybe"),
            Err(AnswerProblem::NotYesNo)
        );
        assert_eq!(q("previous_year").answer_from_form(" "), Ok(None));
        assert_eq!(
            q("course").answer_from_form("full"),
            Ok(Some(json!("full")))
        );
        assert_eq!(q("children").answer_from_form(" 2 "), Ok(Some(json!(2))));
        assert_eq!(q("children").answer_from_form("２"), Ok(Some(json!(2))));
        assert_eq!(q("children").answer_from_form("－１"), Ok(Some(json!(-1))));
        assert_eq!(
            q("children").answer_from_form("two"),
            Err(AnswerProblem::NotInteger)
        );
        assert_eq!(
            q("last_visit").answer_from_form("2024-05-01"),
            Ok(Some(json!("2024-05-01")))
        );
        assert_eq!(
            q("last_visit").answer_from_form("2024/05/01"),
            Err(AnswerProblem::NotADate)
        );
        assert_eq!(q("note").answer_from_form(" hi "), Ok(Some(json!("hi"))));
    }

    #[test]
    fn badly_defined_questions_are_refused() {
        let with_kind = |kind: serde_json::Value| {
            let mut json = screening_json();
            json["questions"][0]["kind"] = kind;
            serde_json::from_value::<ServiceRules>(json).map(|r| r.validate())
        };
        use serde_json::json;
        let one_option =
            json!({"type": "choice", "options": [{"id": "a", "label_ja": "あ", "label_en": "A"}]});
        assert_eq!(
            with_kind(one_option).ok(),
            Some(Err(RulesError::ChoiceOptions))
        );
        let twice = json!({"type": "choice", "options": [
            {"id": "a", "label_ja": "あ", "label_en": "A"}, {"id": "a", "label_ja": "い", "label_en": "I"}]});
        assert_eq!(with_kind(twice).ok(), Some(Err(RulesError::ChoiceOptions)));
        let unlabelled = json!({"type": "choice", "options": [
            {"id": "a", "label_ja": "あ", "label_en": "A"}, {"id": "b", "label_ja": "", "label_en": "B"}]});
        assert_eq!(
            with_kind(unlabelled).ok(),
            Some(Err(RulesError::ChoiceOptions))
        );
        let inverted = json!({"type": "number", "min": 5, "max": 1});
        assert_eq!(
            with_kind(inverted).ok(),
            Some(Err(RulesError::QuestionRange))
        );
        let inverted = json!({"type": "date", "min": "2026-01-02", "max": "2026-01-01"});
        assert_eq!(
            with_kind(inverted).ok(),
            Some(Err(RulesError::QuestionRange))
        );
        let no_room = json!({"type": "text", "max_chars": 0});
        assert_eq!(with_kind(no_room).ok(), Some(Err(RulesError::TextLength)));
        // Unknown kinds, stray fields and bad dates do not decode at all.
        for undecodable in [
            json!({"type": "slider"}),
            json!({"type": "number", "step": 2}),
            json!({"type": "date", "min": "2026-02-30"}),
        ] {
            assert!(with_kind(undecodable.clone()).is_err(), "{undecodable}");
        }
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
    fn rules_stored_without_a_fee_read_as_free_and_a_fee_round_trips() {
        let rules: ServiceRules = serde_json::from_value(screening_json()).unwrap();
        assert_eq!(rules.fee, None);
        assert!(
            serde_json::to_value(&rules).unwrap().get("fee").is_none(),
            "a free service writes no fee"
        );
        let mut json = screening_json();
        json["fee"] = serde_json::json!({
            "amount_yen": 20000, "revenue_category": "checkup_fee",
            "exemptions": [{"code": "welfare", "label_ja": "生活保護", "label_en": "Public assistance",
                            "rule": {"type": "self_declared"}}]
        });
        let paid: ServiceRules = serde_json::from_value(json).unwrap();
        assert_eq!(paid.validate(), Ok(()));
        let fee = paid.fee.clone().unwrap();
        assert_eq!(fee.amount_yen.get(), 20_000);
        assert!(!fee.counter_allowed, "online only unless said");
        let again: ServiceRules =
            serde_json::from_value(serde_json::to_value(&paid).unwrap()).unwrap();
        assert_eq!(again, paid);
        let mut bad = paid;
        if let Some(fee) = bad.fee.as_mut() {
            fee.exemptions[0].label_ja = String::new();
        }
        assert_eq!(bad.validate(), Err(RulesError::FeeExemptions));
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
