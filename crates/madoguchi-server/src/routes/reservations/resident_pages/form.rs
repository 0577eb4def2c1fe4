//! The resident's booking form and its submission (GET and POST /reservations/book/{slot_id}).

use super::catalogue::render_day;
use super::catalogue::slot_state;
use super::resident_base;
use crate::http::Ctx;
use crate::http::auth::{MaybeSignedIn, PageAuthRejection, ResidentSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_booking::{Applicant, ServiceRules, Sex, WaitlistRule};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{ErrorCode, Lang, SlotId};
use madoguchi_storage::{RemoteJoin, ServiceKind, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, Bookable, BookingRequest};
use minijinja::context;
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Date, Month};
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        // A static segment wins over `{code}`, so this never shadows a day page except that of
        // a service coded `book`, which `book_form` hands back to `day_page`.
        .route(
            "/reservations/book/{slot_id}",
            get(book_form).post(book_submit),
        )
}

// ---------------------------------------------------------------------------------------------
// GET and POST /reservations/book/{slot_id}

/// What the resident typed, kept for showing the form again.
#[derive(Default, Serialize)]
struct BookingValues {
    birth_year: String,
    birth_month: String,
    birth_day: String,
    sex: String,
    /// By form field name (`q_<question id>`).
    answers: BTreeMap<String, String>,
    /// Remote consultations: `home` or `kiosk`, and the kiosk's office.
    join: String,
    kiosk_office: String,
}

fn asks_birth_date(rules: &ServiceRules) -> bool {
    rules.eligibility.age_min.is_some() || rules.eligibility.age_max.is_some()
}

fn asks_sex(rules: &ServiceRules) -> bool {
    rules.eligibility.sex.is_some()
}

fn birth_choices(today: Date, lang: Lang) -> (Vec<Choice>, Vec<Choice>, Vec<Choice>) {
    let years = (BIRTH_YEAR_MIN..=today.year())
        .map(|y| Choice {
            value: y.to_string(),
            label: birth_year_label(y, lang),
        })
        .collect();
    let numbers = |range: std::ops::RangeInclusive<u8>| {
        range
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect()
    };
    (years, numbers(1..=12), numbers(1..=31))
}

/// What the form page shows besides the resident's input.
struct FormPage<'a> {
    booking: &'a Bookable,
    values: &'a BookingValues,
    errors: &'a BTreeMap<String, String>,
    alert: Option<String>,
    idempotency_key: &'a str,
}

async fn render_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    page: FormPage<'_>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let FormPage {
        booking,
        values,
        errors,
        alert,
        idempotency_key,
    } = page;
    let Bookable {
        slot,
        service,
        rules,
    } = booking;
    let now = now_utc();
    let offices = state.offices(ctx.tenant.id).await?;
    let (slot_state, opens_at) = slot_state(rules, slot, now, lang);
    let questions: Vec<QuestionField> = rules
        .questions
        .iter()
        .map(|q| QuestionField {
            name: question_field(&q.id),
            label: match lang {
                Lang::Ja => q.label_ja.clone(),
                Lang::En => q.label_en.clone(),
            },
            required: q.required,
        })
        .collect();
    // The summary at the top lists each field's problem in form order, linked to the field.
    let mut order: Vec<(String, String, String)> = vec![
        (
            "birth_date".into(),
            "f-birth_year".into(),
            crate::i18n::text(lang, "booking_birth_date"),
        ),
        (
            "sex".into(),
            "f-sex-female".into(),
            crate::i18n::text(lang, "booking_sex"),
        ),
    ];
    order.push((
        "join".into(),
        "f-join-home".into(),
        crate::i18n::text(lang, "remote_join_legend"),
    ));
    order.extend(
        questions
            .iter()
            .map(|q| (q.name.clone(), format!("f-{}", q.name), q.label.clone())),
    );
    let error_links: Vec<ErrorLink> = order
        .into_iter()
        .filter_map(|(field, target, label)| {
            errors.get(&field).map(|message| ErrorLink {
                target,
                label,
                message: message.clone(),
            })
        })
        .collect();
    let (years, months, days) = birth_choices(tokyo_today(now), lang);
    let date = slot.starts_at.to_offset(JST).date();
    // Residents join a remote consultation from home or from a branch's kiosk.
    let kiosks: Vec<Choice> = if service.kind == ServiceKind::RemoteConsultation {
        offices
            .iter()
            .filter(|o| o.kind != madoguchi_domain::OfficeKind::Headquarters)
            .map(|o| Choice {
                value: o.id.to_string(),
                label: o.name(lang).to_owned(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let waitlist_help = match rules.waitlist {
        Some(WaitlistRule::Offer { respond_hours }) => {
            crate::i18n::text(lang, "waitlist_help_offer")
                .replace("{hours}", &respond_hours.to_string())
        }
        _ => crate::i18n::text(lang, "waitlist_help_promote"),
    };
    let base = resident_base(ctx, session).await?;
    state.templates.page(
        "booking/form.html",
        &base,
        context! {
            slot_id => slot.id.to_string(),
            code => service.code.as_str(),
            date => date.to_string(),
            service_name => service_name(service, lang),
            when => slot_when(slot, lang),
            office => office_name(&offices, slot.office_id, lang),
            seats_left => (slot.capacity - slot.taken).max(0),
            slot_state,
            opens_at,
            eligibility => eligibility_lines(rules, lang),
            ask_birth_date => asks_birth_date(rules),
            ask_sex => asks_sex(rules),
            years,
            months,
            days,
            questions,
            kiosks,
            waitlist_help,
            values,
            errors,
            error_links,
            alert,
            idempotency_key,
        },
    )
}

/// The stored key is the form's key scoped to the account, so a key sent by someone else can
/// never return another resident's reservation.
pub(super) fn scoped_key(account: madoguchi_domain::AccountId, raw: &str) -> Option<String> {
    let shaped = (16..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return None;
    }
    madoguchi_domain::IdempotencyKey::parse(&format!("page:{account}:{raw}"))
        .ok()
        .map(String::from)
}

/// `/reservations/book/{x}`: a slot's form, or the day page of a service coded `book`.
async fn book_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    MaybeSignedIn(auth): MaybeSignedIn,
    resident: Result<ResidentSession, PageAuthRejection>,
    Path(raw): Path<String>,
) -> AppResult<Response> {
    let Ok(slot_id) = raw.parse::<Uuid>() else {
        return match parse_day(&raw) {
            Some(date) => Ok(render_day(&state, &ctx, auth, &session, "book", date)
                .await?
                .into_response()),
            None => Err(AppError::new(ErrorCode::NotFound)),
        };
    };
    // The form is for signed-in residents (anyone else goes to the sign-in page); the rejection
    // is taken here so that the day page above stays public.
    if let Err(rejection) = resident {
        return Ok(rejection.into_response());
    }
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    let booking = uc::bookable(&state.reservations(), &scope, SlotId(slot_id)).await?;
    let page = FormPage {
        booking: &booking,
        values: &BookingValues::default(),
        errors: &BTreeMap::new(),
        alert: None,
        idempotency_key: &new_idempotency_key(),
    };
    Ok(render_form(&state, &ctx, &session, page)
        .await?
        .into_response())
}

/// The form's fields, read from the pairs so the service's own questions can be picked out.
fn read_form(pairs: &[(String, String)], rules: &ServiceRules) -> (BookingValues, String) {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let answers = rules
        .questions
        .iter()
        .map(|q| {
            let name = question_field(&q.id);
            let value = get(&name);
            (name, value)
        })
        .collect();
    let values = BookingValues {
        birth_year: get("birth_year"),
        birth_month: get("birth_month"),
        birth_day: get("birth_day"),
        sex: get("sex"),
        answers,
        join: get("join"),
        kiosk_office: get("kiosk_office"),
    };
    (values, get("idempotency_key"))
}

/// Checks the form's own shape (every problem at once) and builds the applicant and answers.
/// What a valid form gives the booking flow.
struct FormInput {
    applicant: Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
}

fn check_form(
    values: &BookingValues,
    booking: &Bookable,
    today: Date,
    lang: Lang,
) -> Result<FormInput, BTreeMap<String, String>> {
    let rules = &booking.rules;
    let text = |key: &str| crate::i18n::text(lang, key);
    let mut errors = BTreeMap::new();
    let mut birth_date = None;
    if asks_birth_date(rules) {
        let parts = [&values.birth_year, &values.birth_month, &values.birth_day];
        if parts.iter().all(|p| p.is_empty()) {
            errors.insert(
                "birth_date".to_owned(),
                ErrorCode::BirthDateRequired.message(lang).to_owned(),
            );
        } else {
            let parsed = (|| {
                let year: i32 = values.birth_year.parse().ok()?;
                let month: u8 = values.birth_month.parse().ok()?;
                let day: u8 = values.birth_day.parse().ok()?;
                Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
            })()
            .filter(|d| d.year() >= BIRTH_YEAR_MIN && *d <= today);
            match parsed {
                Some(date) => birth_date = Some(date),
                None => {
                    errors.insert("birth_date".to_owned(), text("booking_birth_date_invalid"));
                }
            }
        }
    }
    let mut sex = None;
    if asks_sex(rules) {
        match values.sex.as_str() {
            "female" => sex = Some(Sex::Female),
            "male" => sex = Some(Sex::Male),
            _ => {
                errors.insert("sex".to_owned(), text("booking_sex_required"));
            }
        }
    }
    let mut answers = serde_json::Map::new();
    for question in &rules.questions {
        let name = question_field(&question.id);
        let answer = values.answers.get(&name).map(String::as_str).unwrap_or("");
        if answer.chars().count() > ANSWER_CHARS_MAX {
            errors.insert(name, text("booking_answer_too_long"));
        } else if answer.is_empty() {
            if question.required {
                errors.insert(name, text("booking_answer_required"));
            }
        } else {
            answers.insert(question.id.clone(), answer.into());
        }
    }
    let mut join = None;
    if booking.service.kind == ServiceKind::RemoteConsultation {
        match values.join.as_str() {
            "" | "home" => join = Some(RemoteJoin::Home),
            "kiosk" => match values.kiosk_office.parse::<Uuid>() {
                Ok(office) => {
                    join = Some(RemoteJoin::Kiosk {
                        office_id: madoguchi_domain::OfficeId(office),
                    })
                }
                Err(_) => {
                    errors.insert("join".to_owned(), text("remote_join_kiosk_required"));
                }
            },
            _ => {
                errors.insert("join".to_owned(), text("remote_join_kiosk_required"));
            }
        }
    }
    if errors.is_empty() {
        // Residency is not asked: residents sign up themselves, as in the API's default.
        let applicant = Applicant {
            birth_date,
            sex,
            resident: true,
        };
        Ok(FormInput {
            applicant,
            answers: serde_json::Value::Object(answers),
            join,
        })
    } else {
        Err(errors)
    }
}

/// A refusal from the booking flow as field messages and an alert; server errors and a slot or
/// service that vanished go to the error page instead.
fn refusal(
    error: AppError,
    lang: Lang,
) -> AppResult<(StatusCode, BTreeMap<String, String>, String)> {
    if error.status.is_server_error() || error.code == ErrorCode::NotFound {
        return Err(error);
    }
    let message = error.code.message(lang).to_owned();
    let mut fields = BTreeMap::new();
    match error.code {
        ErrorCode::IneligibleAge | ErrorCode::BirthDateRequired => {
            fields.insert("birth_date".to_owned(), message.clone());
        }
        ErrorCode::IneligibleSex => {
            fields.insert("sex".to_owned(), message.clone());
        }
        ErrorCode::ValidationFailed if error.fields.is_empty() => {
            // The one database-checked field of the form: the kiosk's office.
            fields.insert("join".to_owned(), message.clone());
        }
        _ => {}
    }
    for field in &error.fields {
        if let Some(id) = field.field.strip_prefix("answers.") {
            fields.insert(
                question_field(id),
                crate::i18n::text(lang, "booking_answer_required"),
            );
        }
    }
    let alert = if error.fields.is_empty() {
        message
    } else {
        ErrorCode::ValidationFailed.message(lang).to_owned()
    };
    Ok((error.status, fields, alert))
}

async fn book_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(slot_id): Path<Uuid>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let booking = uc::bookable(&state.reservations(), &scope, SlotId(slot_id)).await?;
    let (values, raw_key) = read_form(&pairs, &booking.rules);
    // Keep the page's key when showing the form again: nothing was stored under it.
    let key = if raw_key.is_empty() {
        new_idempotency_key()
    } else {
        raw_key
    };
    let lang = ctx.lang;
    let today = tokyo_today(now_utc());
    let waitlist = pairs.iter().any(|(k, v)| k == "intent" && v == "waitlist");
    let (status, errors, alert) = match check_form(&values, &booking, today, lang) {
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            ErrorCode::ValidationFailed.message(lang).to_owned(),
        ),
        Ok(input) if waitlist => {
            let joined = uc::waitlist::join(
                &state.reservations(),
                &scope,
                resident.account.id,
                booking.slot.id,
                &input.applicant,
                input.answers,
                input.join,
            )
            .await;
            match joined {
                Ok(_) => return Ok(Redirect::to("/my/reservations?waiting=1").into_response()),
                Err(error) => refusal(error.into(), lang)?,
            }
        }
        Ok(FormInput {
            applicant,
            answers,
            join,
        }) => {
            let request = BookingRequest {
                slot_id: booking.slot.id,
                account_id: Some(resident.account.id),
                booked_by: None,
                idempotency_key: scoped_key(resident.account.id, &key),
                hold: false,
                applicant,
                answers,
                remote_join: join,
                caller: None,
            };
            match uc::book(&state.reservations(), &scope, request).await {
                Ok((outcome, _)) => {
                    // A replay (the same page sent twice) leads to the same confirmation.
                    let id = outcome.reservation().id;
                    return Ok(
                        Redirect::to(&format!("/my/reservations/{id}?booked=1")).into_response()
                    );
                }
                Err(error) => refusal(error.into(), lang)?,
            }
        }
    };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let booking = uc::bookable(&state.reservations(), &scope, booking.slot.id).await?;
    let page = FormPage {
        booking: &booking,
        values: &values,
        errors: &errors,
        alert: Some(alert),
        idempotency_key: &key,
    };
    let html = render_form(&state, &ctx, &session, page).await?;
    Ok((status, html).into_response())
}
