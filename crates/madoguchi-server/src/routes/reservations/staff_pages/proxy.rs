//! Booking by staff for a phone caller or a walk-in (代理予約): the slot choice, the caller's
//! details and the booking form.

use super::PROXY_DAYS_LISTED;
use super::Scope;
use super::handled_slot;
use super::optional_uuid;
use super::require_handler;
use super::scope_of;
use super::shown_on_page;
use super::text;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_booking::{Applicant, CallerError, ProxyCaller, ServiceRules, Sex, WindowError};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{
    AccountId, AccountKind, Email, ErrorCode, Lang, OfficeId, ServiceId, SlotId,
};
use madoguchi_storage::{Office, RemoteJoin, Service, ServiceKind, Slot, StorageError, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, Bookable, BookingRequest, rules_of};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Month, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/staff/proxy-booking", get(proxy_page).post(proxy_submit))
}

// ---------------------------------------------------------------------------------------------
// GET and POST /staff/proxy-booking

#[derive(Deserialize, Default)]
struct ProxyQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    /// First day of the listed days.
    #[serde(default)]
    from: String,
    #[serde(default)]
    slot: String,
}

/// Whether a slot can be booked now, by the service's window and the seats left.
fn slot_state(rules: &ServiceRules, slot: &Slot, now: OffsetDateTime) -> &'static str {
    match rules.window.check(now, slot.starts_at) {
        Err(WindowError::NotYetOpen { .. }) => "not_yet",
        Err(WindowError::Closed { .. }) => "ended",
        Ok(()) if slot.taken >= slot.capacity => "full",
        Ok(()) => "bookable",
    }
}

/// Active services with readable rules that the staff member handles at some office.
fn proxy_services(
    services: Vec<Service>,
    access: &StaffAccess,
    scope: &Scope,
) -> Vec<(Service, ServiceRules)> {
    services
        .into_iter()
        .filter(|s| s.active)
        .filter(|s| {
            scope
                .offices
                .iter()
                .any(|o| access.may_handle_reservations(o.id, s.department_id))
        })
        .filter_map(|s| rules_of(&s).ok().map(|r| (s, r)))
        .collect()
}

/// The service's slots in `[from, until)` at offices the staff member handles.
pub(super) async fn handled_slots(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    service: &Service,
    from: Date,
    until: Date,
) -> AppResult<Vec<Slot>> {
    let slots = state
        .storage
        .slots(
            ctx.tenant.id,
            service.id,
            start_of_tokyo_day(from),
            start_of_tokyo_day(until),
        )
        .await?;
    Ok(slots
        .into_iter()
        .filter(|s| access.may_handle_reservations(s.office_id, service.department_id))
        .collect())
}

#[derive(Serialize)]
struct ServiceChoice {
    id: String,
    name: String,
    kind: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct DayChoice {
    date: String,
    label: String,
    slots: usize,
    seats_left: i64,
    selected: bool,
}

#[derive(Serialize)]
struct SlotChoice {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    /// bookable, full, not_yet or ended.
    state: &'static str,
}

async fn proxy_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<ProxyQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    if let Some(slot) = optional_uuid("slot", &query.slot)? {
        let target = handled_slot(&state, &ctx, &staff, SlotId(slot)).await?;
        let page = ProxyFormPage {
            values: &CallerValues::default(),
            errors: &BTreeMap::new(),
            alert: None,
            idempotency_key: &new_idempotency_key(),
        };
        return render_proxy_form(&state, &ctx, &session, &staff, &target, page).await;
    }
    let lang = ctx.lang;
    let scope = scope_of(&state, &ctx, &staff.access).await?;
    let services = proxy_services(
        state.storage.list_services(ctx.tenant.id).await?,
        &staff.access,
        &scope,
    );
    let chosen = optional_uuid("service", &query.service)?.map(ServiceId);
    let service_choices: Vec<ServiceChoice> = services
        .iter()
        .map(|(s, _)| ServiceChoice {
            id: s.id.to_string(),
            name: service_name(s, lang).to_owned(),
            kind: s.kind.as_str(),
            selected: chosen == Some(s.id),
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    let Some(chosen) = chosen else {
        return state.templates.page(
            "staff/proxy_choose.html",
            &base,
            context! { section => "proxy", services => service_choices },
        );
    };
    let (service, rules) = services
        .iter()
        .find(|(s, _)| s.id == chosen)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let today = tokyo_today(now_utc());
    let from = match query.from.trim() {
        "" => today,
        raw => parse_day(raw)
            .ok_or_else(|| AppError::field("from", ErrorCode::ValidationFailed))?
            .max(today),
    };
    let until = from + time::Duration::days(PROXY_DAYS_LISTED);
    let date = match query.date.trim() {
        "" => None,
        raw => Some(
            parse_day(raw).ok_or_else(|| AppError::field("date", ErrorCode::ValidationFailed))?,
        ),
    };
    let listed = handled_slots(&state, &ctx, &staff.access, service, from, until).await?;
    let mut days: Vec<DayChoice> = Vec::new();
    for slot in &listed {
        let day = tokyo_date(slot.starts_at);
        let seats = (slot.capacity - slot.taken).max(0);
        match days.last_mut() {
            Some(last) if last.date == day.to_string() => {
                last.slots += 1;
                last.seats_left += seats;
            }
            _ => days.push(DayChoice {
                date: day.to_string(),
                label: date_label(day, lang),
                slots: 1,
                seats_left: seats,
                selected: date == Some(day),
            }),
        }
    }
    let offices = state.offices(ctx.tenant.id).await?;
    let now = now_utc();
    let slots: Option<Vec<SlotChoice>> = match date {
        None => None,
        Some(day) => Some(
            handled_slots(
                &state,
                &ctx,
                &staff.access,
                service,
                day,
                day.next_day().unwrap_or(day),
            )
            .await?
            .iter()
            .map(|slot| SlotChoice {
                id: slot.id.to_string(),
                time: time_range(slot, lang),
                office: office_name(&offices, slot.office_id, lang),
                seats_left: (slot.capacity - slot.taken).max(0),
                state: slot_state(rules, slot, now),
            })
            .collect(),
        ),
    };
    let service_id = service.id.to_string();
    let day_href = |d: Date| format!("/staff/proxy-booking?service={service_id}&date={d}");
    let later = format!("/staff/proxy-booking?service={service_id}&from={until}");
    let earlier = (from > today).then(|| {
        let back = (from - time::Duration::days(PROXY_DAYS_LISTED)).max(today);
        format!("/staff/proxy-booking?service={service_id}&from={back}")
    });
    let previous_day = date
        .and_then(|d| d.previous_day())
        .filter(|d| *d >= today)
        .map(day_href);
    let next_day = date.and_then(|d| d.next_day()).map(day_href);
    state.templates.page(
        "staff/proxy_choose.html",
        &base,
        context! {
            section => "proxy",
            services => service_choices,
            service_id,
            service_name => service_name(service, lang),
            from_label => date_label(from, lang),
            until_label => date_label(until.previous_day().unwrap_or(until), lang),
            days,
            later,
            earlier,
            date => date.map(|d| d.to_string()),
            date_label => date.map(|d| date_label(d, lang)),
            previous_day,
            next_day,
            slots,
        },
    )
}

/// What the clerk typed, kept for showing the form again.
#[derive(Default, Serialize)]
struct CallerValues {
    name_kanji: String,
    name_kana: String,
    birth_year: String,
    birth_month: String,
    birth_day: String,
    phone: String,
    email: String,
    sex: String,
    /// `yes` or `no`.
    resident: String,
    /// `home` or an office id (its kiosk).
    join: String,
    /// By form field name (`q_<question id>`).
    answers: BTreeMap<String, String>,
}

fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// The form's fields, read from the pairs so that the service's own questions can be picked out;
/// also the page's idempotency key.
fn read_caller(pairs: &[(String, String)], rules: &ServiceRules) -> (CallerValues, String) {
    let get = |name: &str| form_value(pairs, name);
    let answers = rules
        .questions
        .iter()
        .map(|q| {
            let name = question_field(&q.id);
            let value = get(&name);
            (name, value)
        })
        .collect();
    let values = CallerValues {
        name_kanji: get("name_kanji"),
        name_kana: get("name_kana"),
        birth_year: get("birth_year"),
        birth_month: get("birth_month"),
        birth_day: get("birth_day"),
        phone: get("phone"),
        email: get("email"),
        sex: get("sex"),
        resident: get("resident"),
        join: get("join"),
        answers,
    };
    (values, get("idempotency_key"))
}

/// What the form yields once every field is acceptable.
struct CheckedCaller {
    caller: ProxyCaller,
    email: Option<Email>,
    applicant: Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
}

fn caller_error_text(error: CallerError, lang: Lang) -> String {
    text(
        lang,
        match error {
            CallerError::Name => "staff_res_error_name",
            CallerError::Kana => "staff_res_error_kana",
            CallerError::Phone => "staff_res_error_phone",
            CallerError::BirthDate => "booking_birth_date_invalid",
        },
    )
}

/// Checks the form's fields, every problem at once, and builds the caller, applicant and
/// answers. The caller's own rules are [`ProxyCaller::new`]'s alone, as for the API.
fn check_caller(
    values: &CallerValues,
    target: &Bookable,
    offices: &[Office],
    today: Date,
    lang: Lang,
) -> Result<CheckedCaller, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let required = text(lang, "staff_res_error_required");
    let choose = text(lang, "staff_res_error_choose");
    for (field, value) in [
        ("name_kanji", &values.name_kanji),
        ("name_kana", &values.name_kana),
        ("phone", &values.phone),
    ] {
        if value.is_empty() {
            errors.insert(field.to_owned(), required.clone());
        }
    }
    let birth_date = (|| {
        let year: i32 = values.birth_year.parse().ok()?;
        let month: u8 = values.birth_month.parse().ok()?;
        let day: u8 = values.birth_day.parse().ok()?;
        Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
    })()
    .filter(|d| madoguchi_domain::tokyo::is_supported_date(*d));
    if birth_date.is_none() {
        errors.insert(
            "birth_date".to_owned(),
            text(lang, "booking_birth_date_invalid"),
        );
    }
    // `ProxyCaller::new` names the first field it refuses. To name every bad field at once, a
    // refused field is replaced by a valid stand-in and the caller checked again; the stand-ins
    // never reach a booking, since any error stops here.
    let stand_in = |field: &str, value: &str| -> String {
        match (errors.contains_key(field), field) {
            (false, _) => value.to_owned(),
            (true, "name_kanji") => "山田".to_owned(),
            (true, "name_kana") => "ヤマダ".to_owned(),
            (true, _) => "0300000000".to_owned(),
        }
    };
    let mut kanji = stand_in("name_kanji", &values.name_kanji);
    let mut kana = stand_in("name_kana", &values.name_kana);
    let mut phone = stand_in("phone", &values.phone);
    let mut birth = birth_date.unwrap_or(time::macros::date!(1950 - 01 - 01));
    let mut caller = None;
    for _ in 0..4 {
        match ProxyCaller::new(&kanji, &kana, birth, &phone, today) {
            Ok(checked) => {
                caller = Some(checked);
                break;
            }
            Err(error) => {
                errors
                    .entry(error.field().to_owned())
                    .or_insert_with(|| caller_error_text(error, lang));
                match error {
                    CallerError::Name => kanji = "山田".to_owned(),
                    CallerError::Kana => kana = "ヤマダ".to_owned(),
                    CallerError::Phone => phone = "0300000000".to_owned(),
                    CallerError::BirthDate => birth = time::macros::date!(1950 - 01 - 01),
                }
            }
        }
    }
    let email = match values.email.as_str() {
        "" => None,
        raw => match Email::parse(raw) {
            Ok(email) => Some(email),
            Err(code) => {
                errors.insert("email".to_owned(), code.message(lang).to_owned());
                None
            }
        },
    };
    let eligibility = &target.rules.eligibility;
    let sex = match (eligibility.sex.is_some(), values.sex.as_str()) {
        (false, _) => None,
        (true, "female") => Some(Sex::Female),
        (true, "male") => Some(Sex::Male),
        (true, _) => {
            errors.insert("sex".to_owned(), choose.clone());
            None
        }
    };
    // Residency is asked only where it matters; elsewhere the caller counts as a resident, as in
    // the API's default.
    let resident = match (eligibility.residents_only, values.resident.as_str()) {
        (false, _) | (true, "yes") => true,
        (true, "no") => false,
        (true, _) => {
            errors.insert("resident".to_owned(), choose.clone());
            true
        }
    };
    let mut answers = serde_json::Map::new();
    for question in &target.rules.questions {
        let name = question_field(&question.id);
        let answer = values.answers.get(&name).map(String::as_str).unwrap_or("");
        if answer.chars().count() > ANSWER_CHARS_MAX {
            errors.insert(name, text(lang, "booking_answer_too_long"));
        } else if answer.is_empty() {
            if question.required {
                errors.insert(name, text(lang, "booking_answer_required"));
            }
        } else {
            answers.insert(question.id.clone(), answer.into());
        }
    }
    let join = match (target.service.kind, values.join.as_str()) {
        (ServiceKind::RemoteConsultation, "" | "home") => Some(RemoteJoin::Home),
        (ServiceKind::RemoteConsultation, raw) => {
            match Uuid::parse_str(raw)
                .ok()
                .map(OfficeId)
                .filter(|id| offices.iter().any(|o| o.id == *id))
            {
                Some(office_id) => Some(RemoteJoin::Kiosk { office_id }),
                None => {
                    errors.insert("join".to_owned(), choose.clone());
                    None
                }
            }
        }
        _ => None,
    };
    match caller {
        Some(caller) if errors.is_empty() => Ok(CheckedCaller {
            applicant: Applicant {
                birth_date: Some(caller.birth_date),
                sex,
                resident,
            },
            caller,
            email,
            answers: serde_json::Value::Object(answers),
            join,
        }),
        _ => Err(errors),
    }
}

/// A refusal from the booking flow as field messages and an alert; server errors and a slot or
/// service that vanished go to the error page instead.
fn refusal(
    error: AppError,
    lang: Lang,
) -> AppResult<(StatusCode, BTreeMap<String, String>, String)> {
    if !shown_on_page(&error) {
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
        ErrorCode::IneligibleNonResident => {
            fields.insert("resident".to_owned(), message.clone());
        }
        _ => {}
    }
    for field in &error.fields {
        if let Some(id) = field.field.strip_prefix("answers.") {
            fields.insert(question_field(id), text(lang, "booking_answer_required"));
        } else if field.field == "join" {
            fields.insert("join".to_owned(), text(lang, "staff_res_error_choose"));
        }
    }
    let alert = if error.fields.is_empty() {
        message
    } else {
        ErrorCode::ValidationFailed.message(lang).to_owned()
    };
    Ok((error.status, fields, alert))
}

/// The stored key is the form's key scoped to the staff member, so a key sent by anyone else
/// can never return another booking.
pub(super) fn scoped_key(staff: AccountId, raw: &str) -> Option<String> {
    let shaped = (16..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return None;
    }
    madoguchi_domain::IdempotencyKey::parse(&format!("proxy:{staff}:{raw}"))
        .ok()
        .map(String::from)
}

/// What the form page shows besides the slot.
struct ProxyFormPage<'a> {
    values: &'a CallerValues,
    errors: &'a BTreeMap<String, String>,
    alert: Option<String>,
    idempotency_key: &'a str,
}

async fn render_proxy_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    target: &Bookable,
    page: ProxyFormPage<'_>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let Bookable {
        slot,
        service,
        rules,
    } = target;
    let offices = state.offices(ctx.tenant.id).await?;
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
    let ask_sex = rules.eligibility.sex.is_some();
    let ask_resident = rules.eligibility.residents_only;
    let remote = service.kind == ServiceKind::RemoteConsultation;
    // The summary at the top lists each field's problem in form order, linked to the field.
    let mut order: Vec<(String, String, String)> = [
        ("name_kanji", "f-name_kanji", "staff_res_name_kanji"),
        ("name_kana", "f-name_kana", "staff_res_name_kana"),
        ("birth_date", "f-birth_year", "staff_res_birth_date"),
        ("phone", "f-phone", "staff_res_phone"),
        ("email", "f-email", "staff_res_email"),
        ("sex", "f-sex-female", "booking_sex"),
        ("resident", "f-resident-yes", "staff_res_resident"),
        ("join", "f-join", "staff_res_join"),
    ]
    .into_iter()
    .map(|(field, target, label)| (field.to_owned(), target.to_owned(), text(lang, label)))
    .collect();
    order.extend(
        questions
            .iter()
            .map(|q| (q.name.clone(), format!("f-{}", q.name), q.label.clone())),
    );
    let error_links: Vec<ErrorLink> = order
        .into_iter()
        .filter_map(|(field, target, label)| {
            page.errors.get(&field).map(|message| ErrorLink {
                target,
                label,
                message: message.clone(),
            })
        })
        .collect();
    let today = tokyo_today(now_utc());
    let years: Vec<Choice> = (BIRTH_YEAR_MIN..=today.year())
        .rev()
        .map(|y| Choice {
            value: y.to_string(),
            label: birth_year_label(y, lang),
        })
        .collect();
    let numbers = |range: std::ops::RangeInclusive<u8>| -> Vec<Choice> {
        range
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect()
    };
    let join_options: Vec<Choice> = offices
        .iter()
        .map(|o| Choice {
            value: o.id.to_string(),
            label: text(lang, "staff_res_join_kiosk").replace("{office}", o.name(lang)),
        })
        .collect();
    let date = tokyo_date(slot.starts_at);
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/proxy_form.html",
        &base,
        context! {
            section => "proxy",
            slot_id => slot.id.to_string(),
            service_id => service.id.to_string(),
            date => date.to_string(),
            service_name => service_name(service, lang),
            when => format!("{} {}", date_label(date, lang), time_range(slot, lang)),
            office => office_name(&offices, slot.office_id, lang),
            seats_left => (slot.capacity - slot.taken).max(0),
            slot_state => slot_state(rules, slot, now_utc()),
            eligibility => eligibility_lines(rules, lang),
            ask_sex,
            ask_resident,
            remote,
            join_options,
            years,
            months => numbers(1..=12),
            days => numbers(1..=31),
            questions,
            values => page.values,
            errors => page.errors,
            error_links,
            alert => page.alert,
            idempotency_key => page.idempotency_key,
        },
    )
}

async fn proxy_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let slot_id = optional_uuid("slot", &form_value(&pairs, "slot"))?
        .ok_or_else(|| AppError::field("slot", ErrorCode::ValidationFailed))?;
    let target = handled_slot(&state, &ctx, &staff, SlotId(slot_id)).await?;
    let (values, raw_key) = read_caller(&pairs, &target.rules);
    // Keep the page's key when showing the form again: nothing was stored under it.
    let key = if scoped_key(staff.account.id, &raw_key).is_some() {
        raw_key
    } else {
        new_idempotency_key()
    };
    let offices = state.offices(ctx.tenant.id).await?;
    let (status, errors, alert) =
        match check_caller(&values, &target, &offices, tokyo_today(now_utc()), lang) {
            Err(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                ErrorCode::ValidationFailed.message(lang).to_owned(),
            ),
            Ok(checked) => {
                // A caller with an online account gets the booking as theirs (their limits apply,
                // they get the mails), as in the API.
                let account = match &checked.email {
                    None => None,
                    Some(email) => match state
                        .storage
                        .account_by_email(ctx.tenant.id, AccountKind::Resident, email)
                        .await
                    {
                        Ok(account) => Some(account.id),
                        Err(StorageError::NotFound) => None,
                        Err(other) => return Err(other.into()),
                    },
                };
                let request = BookingRequest {
                    slot_id: target.slot.id,
                    account_id: account,
                    booked_by: Some(staff.account.id),
                    idempotency_key: scoped_key(staff.account.id, &key),
                    hold: false,
                    applicant: checked.applicant,
                    answers: checked.answers,
                    remote_join: checked.join,
                    caller: Some(checked.caller),
                };
                let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
                match uc::book(&state.reservations(), &scope, request).await {
                    Ok((outcome, _)) => {
                        let id = outcome.reservation().id;
                        return Ok(Redirect::to(&format!("/staff/reservations/{id}?booked=1"))
                            .into_response());
                    }
                    Err(error) => refusal(error.into(), lang)?,
                }
            }
        };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let target = handled_slot(&state, &ctx, &staff, target.slot.id).await?;
    let page = ProxyFormPage {
        values: &values,
        errors: &errors,
        alert: Some(alert),
        idempotency_key: &key,
    };
    let html = render_proxy_form(&state, &ctx, &session, &staff, &target, page).await?;
    Ok((status, html).into_response())
}
