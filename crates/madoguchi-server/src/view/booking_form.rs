//! The booking form, once for both of its pages: residents fill it in for themselves
//! (`/reservations/book/{slot}`), staff fill it in for a phone caller or a walk-in
//! (`/staff/proxy-booking`). One reader keeps what was typed, one checker turns the applicant's
//! fields into an `Applicant` and answers, one renderer builds the context from the service's
//! rules, and the templates `booking/_booking_summary.html` and `booking/_booking_form.html` draw
//! it for both pages. The differences between the two (the caller's own details, how a remote
//! consultation is joined) are the [`FormFor`] cases, not a second copy.

use super::page::FormProblems;
use super::present::*;
use crate::http::error::AppError;
use crate::i18n::text;
use madoguchi_booking::service_rules::ANSWER_MAX_CHARS;
use madoguchi_booking::{
    AnswerProblem, Applicant, FeeChoice, Question, QuestionKind, ServiceRules, Sex,
};
use madoguchi_domain::{ErrorCode, Lang, OfficeId, OfficeKind};
use madoguchi_payments::Method;
use madoguchi_storage::{Office, RemoteJoin, Service, ServiceKind, Slot};
use madoguchi_usecases::reservations::Bookable;
use madoguchi_usecases::reservations::admission::answer_code;
use minijinja::{Value, context};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Date, Month};
use uuid::Uuid;

/// Whose booking form it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FormFor {
    /// A signed-in resident books for themselves.
    Resident,
    /// Staff book for a caller, whose name, kana, date of birth and phone are always asked.
    Staff,
}

impl FormFor {
    /// The fields of the form besides the service's questions.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Resident => &[
                "birth_year",
                "birth_month",
                "birth_day",
                "sex",
                "join",
                "kiosk_office",
                "payment",
            ],
            Self::Staff => &[
                "name_kanji",
                "name_kana",
                "birth_year",
                "birth_month",
                "birth_day",
                "phone",
                "email",
                "sex",
                "resident",
                "join",
            ],
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Staff => "staff",
        }
    }
}

/// What was typed, by field name (answers by `q_<question id>`), trimmed; every field of the
/// form is present, empty when not sent. Kept for showing the form again.
#[derive(Default, Serialize)]
#[serde(transparent)]
pub(crate) struct FormValues(BTreeMap<String, String>);

impl FormValues {
    /// Reads the form's fields and the service's questions from the posted pairs.
    pub(crate) fn read(pairs: &[(String, String)], form: FormFor, rules: &ServiceRules) -> Self {
        let names = form
            .fields()
            .iter()
            .map(|name| (*name).to_owned())
            .chain(rules.questions.iter().map(|q| question_field(&q.id)));
        FormValues(
            names
                .map(|name| {
                    let value = form_value(pairs, &name);
                    (name, value)
                })
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// A posted field, trimmed; empty when not sent.
pub(crate) fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Field messages by field name (`birth_date`, `sex`, `q_<id>`, …).
pub(crate) type FieldMessages = BTreeMap<String, String>;

/// Whether the form asks for a date of birth: staff always record the caller's, residents give
/// theirs where the service has an age range or its fee an exemption by age.
fn asks_birth_date(form: FormFor, rules: &ServiceRules) -> bool {
    form == FormFor::Staff
        || birth_date_required(rules)
        || rules
            .fee
            .as_ref()
            .is_some_and(|fee| fee.has_age_exemption())
}

/// Whether eligibility needs the date of birth (an exemption by age only when it is chosen).
fn birth_date_required(rules: &ServiceRules) -> bool {
    rules.eligibility.age_min.is_some() || rules.eligibility.age_max.is_some()
}

/// Residency is asked of callers only where it matters; residents sign up themselves.
fn asks_resident(form: FormFor, rules: &ServiceRules) -> bool {
    form == FormFor::Staff && rules.eligibility.residents_only
}

/// The applicant's details and answers, once the form's fields are acceptable.
pub(crate) struct ApplicantFields {
    pub(crate) applicant: Applicant,
    pub(crate) answers: serde_json::Value,
}

/// Checks the applicant's fields (date of birth, sex, residency, the service's questions) and
/// adds each problem to `errors`, so the page names every bad field at once. The booking flow
/// checks eligibility and required answers again: this is only the form's own shape.
pub(crate) fn check_applicant(
    values: &FormValues,
    form: FormFor,
    rules: &ServiceRules,
    today: Date,
    lang: Lang,
    errors: &mut FieldMessages,
) -> ApplicantFields {
    let mut birth_date = None;
    if asks_birth_date(form, rules) {
        let parts = ["birth_year", "birth_month", "birth_day"].map(|name| values.get(name));
        let parsed = (|| {
            let year: i32 = parts[0].parse().ok()?;
            let month: u8 = parts[1].parse().ok()?;
            let day: u8 = parts[2].parse().ok()?;
            Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
        })()
        .filter(|d| d.year() >= today.year() - BIRTH_YEARS_BACK && *d <= today);
        match parsed {
            Some(date) => birth_date = Some(date),
            // Asked only for an exemption by age: the booking flow says so if it is chosen.
            None if form == FormFor::Resident
                && !birth_date_required(rules)
                && parts.iter().all(|p| p.is_empty()) => {}
            // A resident who left it out is told it is needed, as the API tells them.
            None if form == FormFor::Resident && parts.iter().all(|p| p.is_empty()) => {
                errors.insert(
                    "birth_date".to_owned(),
                    ErrorCode::BirthDateRequired.message(lang).to_owned(),
                );
            }
            None => {
                errors.insert(
                    "birth_date".to_owned(),
                    text(lang, "booking_birth_date_invalid"),
                );
            }
        }
    }
    let mut sex = None;
    if rules.eligibility.sex.is_some() {
        sex = Sex::parse(values.get("sex"));
        if sex.is_none() {
            errors.insert("sex".to_owned(), choose_message(form, lang));
        }
    }
    // Elsewhere the applicant counts as a resident, as in the API's default.
    let mut resident = true;
    if asks_resident(form, rules) {
        match values.get("resident") {
            "yes" => {}
            "no" => resident = false,
            _ => {
                errors.insert("resident".to_owned(), choose_message(form, lang));
            }
        }
    }
    let mut answers = serde_json::Map::new();
    for question in &rules.questions {
        let name = question_field(&question.id);
        let typed = question
            .answer_from_form(values.get(&name))
            .and_then(|answer| question.check_answer(answer.as_ref()).map(|()| answer));
        match typed {
            Ok(Some(answer)) => {
                answers.insert(question.id.clone(), answer);
            }
            Ok(None) => {}
            Err(problem) => {
                errors.insert(name, answer_message(question, problem, lang));
            }
        }
    }
    let answers = serde_json::Value::Object(answers);
    ApplicantFields {
        applicant: Applicant {
            birth_date,
            sex,
            resident,
        },
        answers,
    }
}

/// What the form says about a wrong answer, at its field: the bounds in words where there are
/// some, "choose" for a question answered by choosing.
pub(crate) fn answer_message(question: &Question, problem: AnswerProblem, lang: Lang) -> String {
    let chosen = matches!(
        question.kind,
        QuestionKind::YesNo | QuestionKind::Choice { .. }
    );
    match problem {
        AnswerProblem::Required if chosen => text(lang, "booking_answer_choose"),
        AnswerProblem::Required => text(lang, "booking_answer_required"),
        AnswerProblem::TooLong => text(lang, "booking_answer_too_long")
            .replace("{max}", &answer_max_chars(question).to_string()),
        AnswerProblem::OutOfRange => match question_hint(question, lang) {
            Some(range) => text(lang, "booking_answer_out_of_range").replace("{range}", &range),
            None => ErrorCode::AnswerOutOfRange.message(lang).to_owned(),
        },
        other => answer_code(other).message(lang).to_owned(),
    }
}

/// The longest answer a free-text question takes.
fn answer_max_chars(question: &Question) -> usize {
    match question.kind {
        QuestionKind::Text {
            max_chars: Some(max),
        } => usize::from(max),
        _ => ANSWER_MAX_CHARS,
    }
}

/// The bounds of a question in words (`0〜3の整数`, `2026年4月1日（水）以降`, `200文字以内`),
/// shown as the field's hint.
fn question_hint(question: &Question, lang: Lang) -> Option<String> {
    let t = |key: &str| text(lang, key);
    let day = |d: &Date| date_label(*d, lang);
    match &question.kind {
        QuestionKind::Number { min, max } => Some(match (min, max) {
            (Some(min), Some(max)) => t("booking_answer_number_between")
                .replace("{min}", &min.to_string())
                .replace("{max}", &max.to_string()),
            (Some(min), None) => t("booking_answer_number_min").replace("{min}", &min.to_string()),
            (None, Some(max)) => t("booking_answer_number_max").replace("{max}", &max.to_string()),
            (None, None) => t("booking_answer_number"),
        }),
        QuestionKind::Date { min, max } => match (min, max) {
            (Some(min), Some(max)) => Some(
                t("booking_answer_date_between")
                    .replace("{min}", &day(min))
                    .replace("{max}", &day(max)),
            ),
            (Some(min), None) => Some(t("booking_answer_date_min").replace("{min}", &day(min))),
            (None, Some(max)) => Some(t("booking_answer_date_max").replace("{max}", &day(max))),
            (None, None) => None,
        },
        QuestionKind::Text {
            max_chars: Some(max),
        } => Some(t("booking_answer_text_max").replace("{max}", &max.to_string())),
        QuestionKind::Text { max_chars: None }
        | QuestionKind::YesNo
        | QuestionKind::Choice { .. } => None,
    }
}

/// A question as the form draws it: its control, its options and bounds.
fn question_field_of(question: &Question, lang: Lang) -> QuestionField {
    let (control, options, min, max) = match &question.kind {
        QuestionKind::YesNo => (
            "radios",
            vec![
                Choice {
                    value: "yes".to_owned(),
                    label: text(lang, "booking_answer_yes"),
                },
                Choice {
                    value: "no".to_owned(),
                    label: text(lang, "booking_answer_no"),
                },
            ],
            None,
            None,
        ),
        QuestionKind::Choice { options } => (
            "radios",
            options
                .iter()
                .map(|o| Choice {
                    value: o.id.clone(),
                    label: o.label(lang).to_owned(),
                })
                .collect(),
            None,
            None,
        ),
        QuestionKind::Number { min, max } => (
            "number",
            Vec::new(),
            min.map(|n| n.to_string()),
            max.map(|n| n.to_string()),
        ),
        QuestionKind::Date { min, max } => (
            "date",
            Vec::new(),
            min.map(|d| d.to_string()),
            max.map(|d| d.to_string()),
        ),
        // Short answers on one line; longer ones get room to write.
        QuestionKind::Text { max_chars } => (
            if max_chars.is_some_and(|m| m <= TEXT_ONE_LINE_MAX_CHARS) || max_chars.is_none() {
                "text"
            } else {
                "textarea"
            },
            Vec::new(),
            None,
            None,
        ),
    };
    QuestionField {
        name: question_field(&question.id),
        label: question.label(lang).to_owned(),
        required: question.required,
        control,
        options,
        min,
        max,
        maxlength: answer_max_chars(question),
        hint: question_hint(question, lang),
    }
}

/// Free-text questions allowing up to this many characters are one line; longer ones a box.
const TEXT_ONE_LINE_MAX_CHARS: u16 = 100;

fn choose_message(form: FormFor, lang: Lang) -> String {
    match form {
        FormFor::Resident => text(lang, "booking_sex_required"),
        FormFor::Staff => text(lang, "staff_res_error_choose"),
    }
}

/// Where a remote consultation is joined: from home, or a kiosk at an office. Residents choose
/// with two radios and the kiosk's office; staff with one list of home and every office.
pub(crate) fn check_join(
    values: &FormValues,
    form: FormFor,
    service: &Service,
    offices: &[Office],
    lang: Lang,
    errors: &mut FieldMessages,
) -> Option<RemoteJoin> {
    if service.kind != ServiceKind::RemoteConsultation {
        return None;
    }
    let kiosk = |raw: &str| {
        Uuid::parse_str(raw)
            .ok()
            .map(OfficeId)
            .map(|office_id| RemoteJoin::Kiosk { office_id })
    };
    let join = match (form, values.get("join")) {
        (_, "" | "home") => Some(RemoteJoin::Home),
        // The office is checked by the database (a foreign key), refused as `join` if unknown.
        (FormFor::Resident, "kiosk") => kiosk(values.get("kiosk_office")),
        (FormFor::Resident, _) => None,
        (FormFor::Staff, raw) => kiosk(raw).filter(|join| match join {
            RemoteJoin::Kiosk { office_id } => offices.iter().any(|o| o.id == *office_id),
            RemoteJoin::Home => true,
        }),
    };
    if join.is_none() {
        errors.insert("join".to_owned(), join_message(form, lang));
    }
    join
}

fn join_message(form: FormFor, lang: Lang) -> String {
    match form {
        FormFor::Resident => text(lang, "remote_join_kiosk_required"),
        FormFor::Staff => text(lang, "staff_res_error_choose"),
    }
}

/// A refusal of the booking flow as the form's problems: each at its field where it has one
/// (eligibility, a required answer, the kiosk), with the flow's message as the alert. Server
/// errors and a slot or service that vanished are not form problems: they go to the error page.
pub(crate) fn refusal(
    error: AppError,
    form: FormFor,
    rules: &ServiceRules,
    lang: Lang,
) -> Result<FormProblems, AppError> {
    // A slot of an office the staff member does not handle is a 403 page, not a form problem.
    let elsewhere = form == FormFor::Staff && error.code == ErrorCode::Forbidden;
    if !error.status.is_client_error() || error.code == ErrorCode::NotFound || elsewhere {
        return Err(error);
    }
    let message = error.code.message(lang).to_owned();
    let mut fields = FieldMessages::new();
    match error.code {
        ErrorCode::IneligibleAge | ErrorCode::BirthDateRequired => {
            fields.insert("birth_date".to_owned(), message.clone());
        }
        ErrorCode::IneligibleSex => {
            fields.insert("sex".to_owned(), message.clone());
        }
        ErrorCode::IneligibleNonResident if form == FormFor::Staff => {
            fields.insert("resident".to_owned(), message.clone());
        }
        ErrorCode::PaymentMethodNotOffered | ErrorCode::ExemptionNotEligible => {
            fields.insert("payment".to_owned(), message.clone());
        }
        ErrorCode::ValidationFailed if error.fields.is_empty() && form == FormFor::Resident => {
            // The one database-checked field of the resident's form: the kiosk's office.
            fields.insert("join".to_owned(), message.clone());
        }
        _ => {}
    }
    for field in &error.fields {
        if let Some(id) = field.field.strip_prefix("answers.") {
            let message = match rules.questions.iter().find(|q| q.id == id) {
                Some(question) => match problem_of(field.code) {
                    Some(problem) => answer_message(question, problem, lang),
                    None => field.code.message(lang).to_owned(),
                },
                None => field.code.message(lang).to_owned(),
            };
            fields.insert(question_field(id), message);
        } else if field.field == "join" {
            fields.insert("join".to_owned(), join_message(form, lang));
        } else if field.field == "payment" {
            fields.insert("payment".to_owned(), field.code.message(lang).to_owned());
        }
    }
    let alert = if error.fields.is_empty() {
        message
    } else {
        ErrorCode::ValidationFailed.message(lang).to_owned()
    };
    Ok(FormProblems {
        status: error.status,
        errors: fields,
        alert,
    })
}

/// The answer problem an error code stands for (the inverse of `answer_code`).
fn problem_of(code: ErrorCode) -> Option<AnswerProblem> {
    [
        AnswerProblem::Required,
        AnswerProblem::NotText,
        AnswerProblem::TooLong,
        AnswerProblem::NotYesNo,
        AnswerProblem::UnknownOption,
        AnswerProblem::NotInteger,
        AnswerProblem::NotADate,
        AnswerProblem::OutOfRange,
    ]
    .into_iter()
    .find(|p| answer_code(*p) == code)
}

/// How the resident chose to settle the fee of a paid service (`payment`: `card`, `paypay`,
/// `counter` or `exempt_<code>`), with the online method; `None` for a free service. A choice
/// left out or not offered is a problem at the field. Whether the choice is allowed (the
/// counter, an exemption by age) is the booking flow's to decide.
pub(crate) fn check_payment(
    values: &FormValues,
    rules: &ServiceRules,
    lang: Lang,
    errors: &mut FieldMessages,
) -> Option<(FeeChoice, Option<Method>)> {
    rules.fee.as_ref()?;
    let chosen = match values.get("payment") {
        "card" => Some((FeeChoice::Online, Some(Method::Card))),
        "paypay" => Some((FeeChoice::Online, Some(Method::Paypay))),
        "counter" => Some((FeeChoice::Counter, None)),
        other => other.strip_prefix("exempt_").map(|code| {
            (
                FeeChoice::Exempt {
                    exemption: code.to_owned(),
                },
                None,
            )
        }),
    };
    if chosen.is_none() {
        errors.insert("payment".to_owned(), text(lang, "fee_pay_required"));
    }
    chosen
}

/// What the form shows besides the slot and its rules.
pub(crate) struct FormState<'a> {
    pub(crate) values: &'a FormValues,
    pub(crate) errors: &'a FieldMessages,
    pub(crate) alert: Option<String>,
    pub(crate) idempotency_key: &'a str,
}

/// The context of both form pages: the slot's summary, who may book, the fields the service's
/// rules ask for with their choices, what was typed, and the problems linked from the summary
/// at the top in the order of the form. The page adds its own (links, the slot's state).
pub(crate) fn form_context(
    form: FormFor,
    target: &Bookable,
    offices: &[Office],
    state: FormState<'_>,
    today: Date,
    lang: Lang,
) -> Value {
    let Bookable { slot, service } = target;
    let rules = &service.rules;
    let questions: Vec<QuestionField> = rules
        .questions
        .iter()
        .map(|q| question_field_of(q, lang))
        .collect();
    let error_links = error_links(form, &questions, state.errors, lang);
    let remote = service.kind == ServiceKind::RemoteConsultation;
    // Residents join from home or a branch's kiosk; staff may name any office's.
    let kiosks: Vec<Choice> = match form {
        FormFor::Resident if remote => offices
            .iter()
            .filter(|o| o.kind != OfficeKind::Headquarters)
            .map(|o| Choice {
                value: o.id.to_string(),
                label: o.name(lang).to_owned(),
            })
            .collect(),
        FormFor::Staff if remote => offices
            .iter()
            .map(|o| Choice {
                value: o.id.to_string(),
                label: text(lang, "staff_res_join_kiosk").replace("{office}", o.name(lang)),
            })
            .collect(),
        _ => Vec::new(),
    };
    let (years, months, days) = birth_choices(form, rules, today, lang);
    context! {
        form_for => form.as_str(),
        slot_id => slot.id.to_string(),
        service_id => service.id.to_string(),
        code => service.code.as_str(),
        date => tokyo_date(slot.starts_at).to_string(),
        service_name => service_name(service, lang),
        when => slot_when(slot, lang),
        office => office_name(offices, slot.office_id, lang),
        seats_left => seats_left(slot),
        eligibility => eligibility_lines(rules, lang),
        fee_amount => rules.fee.as_ref().map(|fee| fee.amount_yen.yen().to_string()),
        ask_birth_date => asks_birth_date(form, rules),
        ask_sex => rules.eligibility.sex.is_some(),
        ask_resident => asks_resident(form, rules),
        remote,
        kiosks,
        years,
        months,
        days,
        questions,
        values => state.values,
        errors => state.errors,
        error_links,
        alert => state.alert,
        idempotency_key => state.idempotency_key,
    }
}

fn seats_left(slot: &Slot) -> i64 {
    (slot.capacity - slot.taken).max(0)
}

/// The problems in the order of the form's fields, each linked to its first control.
fn error_links(
    form: FormFor,
    questions: &[QuestionField],
    errors: &FieldMessages,
    lang: Lang,
) -> Vec<ErrorLink> {
    let (join_target, join_label) = match form {
        FormFor::Resident => ("f-join-home", "remote_join_legend"),
        FormFor::Staff => ("f-join", "staff_res_join"),
    };
    let caller = form == FormFor::Staff;
    let fields = [
        (caller, "name_kanji", "f-name_kanji", "staff_res_name_kanji"),
        (caller, "name_kana", "f-name_kana", "staff_res_name_kana"),
        (true, "birth_date", "f-birth_year", "booking_birth_date"),
        (caller, "phone", "f-phone", "staff_res_phone"),
        (caller, "email", "f-email", "staff_res_email"),
        (true, "sex", "f-sex-female", "booking_sex"),
        (caller, "resident", "f-resident-yes", "staff_res_resident"),
        (true, "join", join_target, join_label),
        (!caller, "payment", "f-payment", "fee_pay_legend"),
    ];
    let order = fields
        .into_iter()
        .filter(|(shown, ..)| *shown)
        .map(|(_, field, target, label)| (field.to_owned(), target.to_owned(), text(lang, label)))
        .chain(questions.iter().map(|q| {
            // Radios are reached at their first option.
            let target = match q.options.first() {
                Some(first) if q.control == "radios" => format!("f-{}-{}", q.name, first.value),
                _ => format!("f-{}", q.name),
            };
            (q.name.clone(), target, q.label.clone())
        }));
    order
        .filter_map(|(field, target, label)| {
            errors.get(&field).map(|message| ErrorLink {
                target,
                label,
                message: message.clone(),
            })
        })
        .collect()
}

/// Years (with their era; the years the service's age range allows, oldest first for
/// residents, who are mostly older and find their year near the top; staff start from this
/// year, as a caller's year is keyed in while they say it), months and days for a date of birth.
fn birth_choices(
    form: FormFor,
    rules: &ServiceRules,
    today: Date,
    lang: Lang,
) -> (Vec<Choice>, Vec<Choice>, Vec<Choice>) {
    let year = |y: i32| Choice {
        value: y.to_string(),
        label: birth_year_label(y, lang),
    };
    let years = birth_years(rules, today);
    let years: Vec<Choice> = match form {
        FormFor::Resident => years.map(year).collect(),
        FormFor::Staff => years.rev().map(year).collect(),
    };
    let numbers = |range: std::ops::RangeInclusive<u8>| -> Vec<Choice> {
        range
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect()
    };
    (years, numbers(1..=12), numbers(1..=31))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(extra: serde_json::Value) -> ServiceRules {
        let mut json = serde_json::json!({
            "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 48},
            "cancellation": {"deadline_hours_before": 48},
        });
        if let (Some(base), Some(extra)) = (json.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(json).unwrap()
    }

    fn values(pairs: &[(&str, &str)], form: FormFor, rules: &ServiceRules) -> FormValues {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FormValues::read(&pairs, form, rules)
    }

    #[test]
    fn both_forms_name_every_bad_applicant_field_at_once() {
        let rules = rules(serde_json::json!({
            "eligibility": {"age_min": 40, "sex": "female", "residents_only": true},
            "questions": [{"id": "previous", "label_ja": "前回", "label_en": "Previous", "required": true}],
        }));
        let today = time::macros::date!(2026 - 07 - 01);
        for form in [FormFor::Resident, FormFor::Staff] {
            let typed = values(&[("sex", "other"), ("birth_year", "1980")], form, &rules);
            let mut errors = FieldMessages::new();
            check_applicant(&typed, form, &rules, today, Lang::En, &mut errors);
            let mut expected = vec!["birth_date", "q_previous", "sex"];
            if form == FormFor::Staff {
                expected.push("resident");
            }
            expected.sort_unstable();
            assert_eq!(errors.keys().collect::<Vec<_>>(), expected, "{form:?}");
        }
    }

    #[test]
    fn a_complete_form_gives_the_applicant_and_only_the_answers_given() {
        let rules = rules(serde_json::json!({
            "eligibility": {"sex": "male"},
            "questions": [
                {"id": "a", "label_ja": "a", "label_en": "a", "required": true},
                {"id": "b", "label_ja": "b", "label_en": "b"}
            ],
        }));
        let typed = values(
            &[("sex", "male"), ("q_a", " yes ")],
            FormFor::Resident,
            &rules,
        );
        let mut errors = FieldMessages::new();
        let checked = check_applicant(
            &typed,
            FormFor::Resident,
            &rules,
            time::macros::date!(2026 - 07 - 01),
            Lang::Ja,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(checked.applicant.sex, Some(Sex::Male));
        assert!(checked.applicant.resident);
        assert_eq!(checked.answers, serde_json::json!({"a": "yes"}));
    }
}
