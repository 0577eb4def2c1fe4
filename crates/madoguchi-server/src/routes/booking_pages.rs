//! Resident pages for booking: the bookable services, a month of availability, one day's
//! times, the booking form, and the resident's own reservations with cancellation.
//!
//! They work without JavaScript (links, plain forms and redirects) and book through the same
//! flow as the API ([`booking::book`]): the window, eligibility and required answers are checked
//! there, and capacity and personal limits are decided by the database inside `reserve`. The
//! calendar's ○△×－ marks are hints for choosing a day; nothing here checks capacity before
//! booking.

use crate::booking::{self, Bookable, BookingRequest, parse_idempotency_key, rules_of};
use crate::http::Ctx;
use crate::http::auth::{MaybeSignedIn, PageAuthRejection, ResidentSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::templates::PageBase;
use crate::view::page::page_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_booking::{Applicant, ServiceRules, Sex, WaitlistRule, WindowError};
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use madoguchi_domain::{AccountKind, ErrorCode, Lang, ReservationId, ServiceId, SlotId};
use madoguchi_storage::{Office, RemoteJoin, Reservation, Service, ServiceKind, Slot, now_utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Month, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reservations", get(services_page))
        .route("/reservations/{code}", get(month_page))
        .route("/reservations/{code}/{date}", get(day_page))
        // A static segment wins over `{code}`, so this never shadows a day page except that of
        // a service coded `book`, which `book_form` hands back to `day_page`.
        .route(
            "/reservations/book/{slot_id}",
            get(book_form).post(book_submit),
        )
        .route("/my/reservations", get(my_reservations))
        .route("/my/reservations/{id}", get(my_reservation))
        .route("/my/reservations/{id}/cancel", post(cancel))
        .route("/my/reservations/{id}/confirm", post(confirm_offer))
        .route(
            "/my/reservations/{id}/change",
            get(change_form).post(change_submit),
        )
        .route("/my/waitlist/{id}/withdraw", post(withdraw_waiting))
}

/// How far ahead the month view may be paged, in days.
const MONTHS_AHEAD_DAYS_MAX: i64 = 400;

// ---------------------------------------------------------------------------------------------
// Tokyo dates and times as residents read them.

/// `YYYY-MM` as the first of that month; years far outside any booking are refused.
fn parse_month(raw: &str) -> Option<Date> {
    let (year, month) = raw.split_once('-')?;
    let ok_shape = year.len() == 4 && month.len() == 2;
    let year: i32 = year.parse().ok()?;
    let month: u8 = month.parse().ok()?;
    if !ok_shape || !(2000..=2199).contains(&year) {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, 1).ok()
}

fn month_param(first: Date) -> String {
    format!("{:04}-{:02}", first.year(), u8::from(first.month()))
}

fn next_month(first: Date) -> Option<Date> {
    let (year, month) = match first.month() {
        Month::December => (first.year() + 1, Month::January),
        m => (first.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1).ok()
}

fn previous_month(first: Date) -> Option<Date> {
    let (year, month) = match first.month() {
        Month::January => (first.year() - 1, Month::December),
        m => (first.year(), m.previous()),
    };
    Date::from_calendar_date(year, month, 1).ok()
}

fn month_of(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

// ---------------------------------------------------------------------------------------------
// Shared look-ups.

/// An active, bookable service by its code; anything else is not found.
async fn bookable_service(
    state: &AppState,
    ctx: &Ctx,
    code: &str,
) -> AppResult<(Service, ServiceRules)> {
    let service = state
        .storage
        .list_services(ctx.tenant.id)
        .await?
        .into_iter()
        .find(|s| s.active && s.code.as_str() == code)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let rules = rules_of(&service)?;
    Ok((service, rules))
}

/// The layout of a public page: the header shows whoever is signed in.
async fn public_base(
    ctx: &Ctx,
    auth: Option<crate::http::SessionAuth>,
    session: &Session,
) -> AppResult<PageBase> {
    let session = auth.is_some().then_some(session);
    page_base(ctx, auth.map(|a| a.kind), session, false).await
}

async fn resident_base(ctx: &Ctx, session: &Session) -> AppResult<PageBase> {
    page_base(ctx, Some(AccountKind::Resident), Some(session), false).await
}

// ---------------------------------------------------------------------------------------------
// GET /reservations

#[derive(Serialize)]
struct ServiceLink {
    name: String,
    code: String,
}

#[derive(Serialize)]
struct ServiceGroup {
    kind: &'static str,
    services: Vec<ServiceLink>,
}

async fn services_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
) -> AppResult<Html<String>> {
    let services = state.storage.list_services(ctx.tenant.id).await?;
    let groups: Vec<ServiceGroup> = ServiceKind::ALL
        .into_iter()
        .map(|kind| ServiceGroup {
            kind: kind.as_str(),
            services: services
                .iter()
                // A service whose rules no longer parse cannot be booked: leave it out.
                .filter(|s| s.active && s.kind == kind && rules_of(s).is_ok())
                .map(|s| ServiceLink {
                    name: service_name(s, ctx.lang).to_owned(),
                    code: s.code.as_str().to_owned(),
                })
                .collect(),
        })
        .filter(|g| !g.services.is_empty())
        .collect();
    let base = public_base(&ctx, auth, &session).await?;
    state
        .templates
        .page("booking/services.html", &base, context! { groups })
}

// ---------------------------------------------------------------------------------------------
// GET /reservations/{code}?month=YYYY-MM

#[derive(Deserialize)]
struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

#[derive(Serialize)]
struct DayCell {
    day: u8,
    /// `YYYY-MM-DD`, for the link to the day.
    date: String,
    /// The full date, for the link's accessible name.
    label: String,
    /// open, few, full, closed, not_yet or ended.
    status: &'static str,
    mark: &'static str,
    seats_left: i64,
    /// Whether the day links to its times.
    bookable: bool,
    today: bool,
}

#[derive(Serialize)]
struct MonthLink {
    /// `YYYY-MM`
    month: String,
    label: String,
}

#[derive(Serialize)]
struct WeekdayHeader {
    short: &'static str,
    long: &'static str,
}

/// Seats decide open, few (a fifth or less left, as the API says) or full.
fn seat_status(capacity: i64, taken: i64) -> (&'static str, i64) {
    let left = capacity - taken;
    if left <= 0 {
        ("full", 0)
    } else if left * 5 <= capacity {
        ("few", left)
    } else {
        ("open", left)
    }
}

fn mark_of(status: &str) -> &'static str {
    match status {
        "open" => "○",
        "few" => "△",
        "full" => "×",
        _ => "－",
    }
}

async fn month_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
    Path(code): Path<String>,
    Query(query): Query<MonthQuery>,
) -> AppResult<Html<String>> {
    let (service, rules) = bookable_service(&state, &ctx, &code).await?;
    let now = now_utc();
    let today = tokyo_today(now);
    let this_month = month_of(today);
    let first = match query.month.as_deref().filter(|m| !m.is_empty()) {
        None => this_month,
        Some(raw) => {
            parse_month(raw).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?
        }
    };
    let next =
        next_month(first).ok_or_else(|| AppError::field("month", ErrorCode::ValidationFailed))?;
    let days = state
        .storage
        .availability_by_day(
            ctx.tenant.id,
            service.id,
            start_of_tokyo_day(first),
            start_of_tokyo_day(next),
        )
        .await?;
    let lang = ctx.lang;
    let mut weeks: Vec<Vec<Option<DayCell>>> = Vec::new();
    let mut week: Vec<Option<DayCell>> = (0..weekday_index(first)).map(|_| None).collect();
    let mut date = first;
    while date < next {
        let day = days.iter().find(|d| d.date == date);
        let (status, seats_left) = match day {
            None => ("closed", 0),
            Some(_) if date < today => ("ended", 0),
            // The window opens at a set time on a set day before the slot's date, the same for
            // every slot of the day.
            Some(_) if now < rules.window.opens_at(start_of_tokyo_day(date)) => ("not_yet", 0),
            // Closed for the whole day once even a slot at the day's last instant is closed;
            // the day page decides slot by slot.
            Some(_)
                if now
                    >= rules
                        .window
                        .closes_at(start_of_tokyo_day(date.next_day().unwrap_or(date))) =>
            {
                ("ended", 0)
            }
            Some(d) => seat_status(d.capacity, d.taken),
        };
        let bookable = matches!(status, "open" | "few");
        week.push(Some(DayCell {
            day: date.day(),
            date: date.to_string(),
            label: date_label(date, lang),
            status,
            mark: mark_of(status),
            seats_left,
            bookable,
            today: date == today,
        }));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        date = match date.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    if !week.is_empty() {
        week.resize_with(7, || None);
        weeks.push(week);
    }
    let previous = previous_month(first)
        .filter(|p| *p >= this_month)
        .map(|p| MonthLink {
            month: month_param(p),
            label: month_label(p, lang),
        });
    let following = Some(next)
        .filter(|n| (*n - today).whole_days() <= MONTHS_AHEAD_DAYS_MAX)
        .map(|n| MonthLink {
            month: month_param(n),
            label: month_label(n, lang),
        });
    let (short, long) = match lang {
        Lang::Ja => (WEEKDAYS_JA, WEEKDAYS_JA_LONG),
        Lang::En => (WEEKDAYS_EN, WEEKDAYS_EN_LONG),
    };
    let weekdays: Vec<WeekdayHeader> = short
        .into_iter()
        .zip(long)
        .map(|(short, long)| WeekdayHeader { short, long })
        .collect();
    let base = public_base(&ctx, auth, &session).await?;
    state.templates.page(
        "booking/month.html",
        &base,
        context! {
            service_name => service_name(&service, lang),
            code => service.code.as_str(),
            month_label => month_label(first, lang),
            weekdays,
            weeks,
            previous,
            following,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// GET /reservations/{code}/{date}

#[derive(Serialize)]
struct SlotRow {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    /// bookable, waitlist (full, with a waiting list), full, not_yet, ended or closed (the
    /// calendar closes the day).
    state: &'static str,
    opens_at: Option<String>,
}

/// Whether a slot can be booked now, by the service's window and the seats left.
fn slot_state(
    rules: &ServiceRules,
    slot: &Slot,
    now: OffsetDateTime,
    lang: Lang,
) -> (&'static str, Option<String>) {
    match rules.window.check(now, slot.starts_at) {
        Err(WindowError::NotYetOpen { opens_at }) => {
            ("not_yet", Some(instant_label(opens_at, lang)))
        }
        Err(WindowError::Closed { .. }) => ("ended", None),
        Ok(()) if slot.taken >= slot.capacity && rules.waitlist.is_some() => ("waitlist", None),
        Ok(()) if slot.taken >= slot.capacity => ("full", None),
        Ok(()) => ("bookable", None),
    }
}

async fn day_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
    Path((code, date)): Path<(String, String)>,
) -> AppResult<Html<String>> {
    let date = parse_day(&date).ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    render_day(&state, &ctx, auth, &session, &code, date).await
}

async fn render_day(
    state: &AppState,
    ctx: &Ctx,
    auth: Option<crate::http::SessionAuth>,
    session: &Session,
    code: &str,
    date: Date,
) -> AppResult<Html<String>> {
    let (service, rules) = bookable_service(state, ctx, code).await?;
    let lang = ctx.lang;
    let from = start_of_tokyo_day(date);
    let slots = state
        .storage
        .slots(
            ctx.tenant.id,
            service.id,
            from,
            from + time::Duration::days(1),
        )
        .await?;
    let offices = state.offices(ctx.tenant.id).await?;
    let calendar = crate::calendar::municipal_calendar(state, ctx.tenant.id).await?;
    let now = now_utc();
    let rows: Vec<SlotRow> = slots
        .iter()
        .map(|slot| {
            // A day the city closed after the slot was made: shown, not offered.
            let (state, opens_at) = if crate::calendar::slot_is_closed(&calendar, slot) {
                ("closed", None)
            } else {
                slot_state(&rules, slot, now, lang)
            };
            SlotRow {
                id: slot.id.to_string(),
                time: time_range(slot, lang),
                office: office_name(&offices, slot.office_id, lang),
                seats_left: (slot.capacity - slot.taken).max(0),
                state,
                opens_at,
            }
        })
        .collect();
    let base = public_base(ctx, auth, session).await?;
    state.templates.page(
        "booking/day.html",
        &base,
        context! {
            service_name => service_name(&service, lang),
            code => service.code.as_str(),
            month => month_param(month_of(date)),
            date_label => date_label(date, lang),
            slots => rows,
        },
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
fn scoped_key(account: madoguchi_domain::AccountId, raw: &str) -> Option<String> {
    let shaped = (16..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return None;
    }
    parse_idempotency_key(&format!("page:{account}:{raw}")).ok()
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
    let booking = booking::bookable(&state, &ctx, SlotId(slot_id)).await?;
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
    let booking = booking::bookable(&state, &ctx, SlotId(slot_id)).await?;
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
            let joined = crate::waitlist::join(
                &state,
                &ctx,
                resident.account.id,
                booking.slot.id,
                &input.applicant,
                input.answers,
                input.join,
            )
            .await;
            match joined {
                Ok(_) => return Ok(Redirect::to("/my/reservations?waiting=1").into_response()),
                Err(error) => refusal(error, lang)?,
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
            match booking::book(&state, &ctx, request).await {
                Ok((outcome, _)) => {
                    // A replay (the same page sent twice) leads to the same confirmation.
                    let id = outcome.reservation().id;
                    return Ok(
                        Redirect::to(&format!("/my/reservations/{id}?booked=1")).into_response()
                    );
                }
                Err(error) => refusal(error, lang)?,
            }
        }
    };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let booking = booking::bookable(&state, &ctx, booking.slot.id).await?;
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

// ---------------------------------------------------------------------------------------------
// The resident's reservations

#[derive(Serialize)]
struct ReservationView {
    id: String,
    when: String,
    service: String,
    office: String,
    /// held, confirmed, cancelled, expired, attended or no_show.
    status: &'static str,
    may_cancel: bool,
    /// Still holds a seat, but only the office can cancel it now.
    cancel_by_phone: bool,
    cancel_deadline: String,
    /// A seat offered from the waiting list: take it before this.
    offer_until: Option<String>,
    booked_at: String,
    #[serde(skip)]
    starts_at: OffsetDateTime,
    #[serde(skip)]
    upcoming: bool,
}

#[derive(Serialize)]
struct AnswerView {
    label: String,
    answer: String,
}

/// Services by id, loaded once per page.
struct ServiceCache(BTreeMap<ServiceId, (Service, Option<ServiceRules>)>);

impl ServiceCache {
    async fn get(
        &mut self,
        state: &AppState,
        ctx: &Ctx,
        id: ServiceId,
    ) -> AppResult<&(Service, Option<ServiceRules>)> {
        use std::collections::btree_map::Entry;
        match self.0.entry(id) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let service = state.storage.service(ctx.tenant.id, id).await?;
                let rules = rules_of(&service).ok();
                Ok(entry.insert((service, rules)))
            }
        }
    }
}

async fn reservation_view(
    state: &AppState,
    ctx: &Ctx,
    services: &mut ServiceCache,
    offices: &[Office],
    reservation: &Reservation,
    now: OffsetDateTime,
) -> AppResult<ReservationView> {
    let lang = ctx.lang;
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let (service, rules) = services.get(state, ctx, reservation.service_id).await?;
    let active = reservation.status.holds_a_seat();
    let before_start = now < slot.starts_at;
    // Without readable rules only the office can cancel.
    let may_cancel = active
        && rules
            .as_ref()
            .is_some_and(|r| r.cancellation.resident_may_cancel(now, slot.starts_at));
    let cancel_deadline = rules
        .as_ref()
        .map(|r| instant_label(r.cancellation.deadline(slot.starts_at), lang))
        .unwrap_or_default();
    Ok(ReservationView {
        id: reservation.id.to_string(),
        when: slot_when(&slot, lang),
        service: service_name(service, lang).to_owned(),
        office: office_name(offices, slot.office_id, lang),
        status: reservation.status.as_str(),
        may_cancel,
        cancel_by_phone: active && before_start && !may_cancel,
        cancel_deadline,
        offer_until: (reservation.status == madoguchi_storage::ReservationStatus::Held)
            .then_some(reservation.hold_expires_at)
            .flatten()
            .map(|until| instant_label(until, lang)),
        booked_at: instant_label(reservation.created_at, lang),
        starts_at: slot.starts_at,
        upcoming: active && slot.ends_at > now,
    })
}

/// The resident's own reservation; another's is "not found", never "forbidden".
async fn own_reservation(
    state: &AppState,
    ctx: &Ctx,
    resident: &ResidentSession,
    id: Uuid,
) -> AppResult<Reservation> {
    let reservation = state
        .storage
        .reservation(ctx.tenant.id, ReservationId(id))
        .await?;
    if reservation.account_id == Some(resident.account.id) {
        Ok(reservation)
    } else {
        Err(AppError::new(ErrorCode::NotFound))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    cancelled: Option<String>,
    #[serde(default)]
    waiting: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
}

/// A waiting-list entry on the resident's list.
#[derive(Serialize)]
struct WaitingView {
    id: String,
    service: String,
    when: String,
    office: String,
    position: i64,
}

async fn my_reservations(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Query(query): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let now = now_utc();
    let list = state
        .storage
        .reservations_of_account(ctx.tenant.id, resident.account.id)
        .await?;
    let offices = state.offices(ctx.tenant.id).await?;
    let mut services = ServiceCache(BTreeMap::new());
    let mut upcoming = Vec::new();
    let mut past = Vec::new();
    for reservation in &list {
        let view =
            reservation_view(&state, &ctx, &mut services, &offices, reservation, now).await?;
        if view.upcoming {
            upcoming.push(view);
        } else {
            past.push(view);
        }
    }
    // Upcoming soonest first; the rest most recent first.
    upcoming.sort_by_key(|v| v.starts_at);
    past.sort_by_key(|v| std::cmp::Reverse(v.starts_at));
    let mut waiting = Vec::new();
    for place in state
        .storage
        .waitlist_of_account(ctx.tenant.id, resident.account.id)
        .await?
    {
        let slot = state
            .storage
            .slot(ctx.tenant.id, place.entry.slot_id)
            .await?;
        let (service, _) = services.get(&state, &ctx, place.entry.service_id).await?;
        waiting.push(WaitingView {
            id: place.entry.id.to_string(),
            service: service_name(service, ctx.lang).to_owned(),
            when: slot_when(&slot, ctx.lang),
            office: office_name(&offices, slot.office_id, ctx.lang),
            position: place.position,
        });
    }
    let base = resident_base(&ctx, &session).await?;
    // The secret calendar feed of these reservations, issued on first view.
    let feed =
        crate::reservation_feed::feed_view(&state, &ctx, resident.account.id, &session).await?;
    state.templates.page(
        "booking/my_list.html",
        &base,
        context! {
            upcoming,
            past,
            feed,
            waiting,
            joined_waitlist => query.waiting.is_some(),
            withdrawn => query.withdrawn.is_some(),
            cancelled => query.cancelled.is_some(),
        },
    )
}

#[derive(Deserialize)]
struct DetailQuery {
    #[serde(default)]
    booked: Option<String>,
    #[serde(default)]
    changed: Option<String>,
    #[serde(default)]
    cancelled: Option<String>,
}

/// What the detail page says on top: booked, cancelled, or why a cancellation failed.
#[derive(Default)]
struct DetailNotice {
    booked: bool,
    changed: bool,
    cancelled: bool,
    alert: Option<String>,
}

async fn render_detail(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    reservation: &Reservation,
    notice: DetailNotice,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let offices = state.offices(ctx.tenant.id).await?;
    let mut services = ServiceCache(BTreeMap::new());
    let view =
        reservation_view(state, ctx, &mut services, &offices, reservation, now_utc()).await?;
    let (_, rules) = services.get(state, ctx, reservation.service_id).await?;
    let stored = reservation.details.get("answers");
    let answers: Vec<AnswerView> = rules
        .iter()
        .flat_map(|r| r.questions.iter())
        .filter_map(|q| {
            let answer = stored?.get(&q.id)?.as_str()?.to_owned();
            Some(AnswerView {
                label: match lang {
                    Lang::Ja => q.label_ja.clone(),
                    Lang::En => q.label_en.clone(),
                },
                answer,
            })
        })
        .collect();
    let base = resident_base(ctx, session).await?;
    state.templates.page(
        "booking/my_detail.html",
        &base,
        context! {
            r => view,
            answers,
            booked => notice.booked,
            changed => notice.changed,
            cancelled => notice.cancelled,
            alert => notice.alert,
        },
    )
}

async fn my_reservation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    Query(query): Query<DetailQuery>,
) -> AppResult<Html<String>> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let notice = DetailNotice {
        booked: query.booked.is_some() && reservation.status.holds_a_seat(),
        changed: query.changed.is_some() && reservation.status.holds_a_seat(),
        cancelled: query.cancelled.is_some()
            && reservation.status == madoguchi_storage::ReservationStatus::Cancelled,
        alert: None,
    };
    render_detail(&state, &ctx, &session, &reservation, notice).await
}

#[derive(Deserialize)]
struct CancelForm {
    /// `list` to go back to the list; otherwise back to the reservation.
    #[serde(default)]
    back: String,
}

async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<CancelForm>,
) -> AppResult<Response> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let canceller = booking::Actor {
        account: resident.account.id,
        by_staff: false,
        access: None,
        reason: None,
    };
    // The shared flow checks the deadline, gives the seat back, audits and tells the resident.
    let outcome = booking::cancel(&state, &ctx, &reservation, canceller)
        .await
        .map(|_| ());
    match outcome {
        Ok(()) => {
            let to = if form.back == "list" {
                "/my/reservations?cancelled=1".to_owned()
            } else {
                format!("/my/reservations/{}?cancelled=1", reservation.id)
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::NotFound => {
            // Already cancelled (a second press, another tab) or too late: say so on the
            // reservation's page, as it is now.
            let current = own_reservation(&state, &ctx, &resident, id).await?;
            let notice = DetailNotice {
                alert: Some(error.code.message(ctx.lang).to_owned()),
                ..DetailNotice::default()
            };
            let html = render_detail(&state, &ctx, &session, &current, notice).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Takes a seat offered from the waiting list (a hold) before its deadline.
async fn confirm_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    PageForm(_form): PageForm<CancelForm>,
) -> AppResult<Response> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    match booking::confirm_hold(&state, &ctx, &reservation).await {
        Ok(_) => Ok(Redirect::to(&format!("/my/reservations/{id}?booked=1")).into_response()),
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::NotFound => {
            let current = own_reservation(&state, &ctx, &resident, id).await?;
            let notice = DetailNotice {
                alert: Some(error.code.message(ctx.lang).to_owned()),
                ..DetailNotice::default()
            };
            let html = render_detail(&state, &ctx, &session, &current, notice).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
struct ChangeQuery {
    #[serde(default)]
    date: Option<String>,
}

/// One time the reservation can move to.
#[derive(Serialize)]
struct ChangeChoice {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    current: bool,
}

/// The change page: the times of one day (the reservation's own by default) of the same
/// service with seats left, as radio buttons, and links to the days before and after.
async fn render_change(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    reservation: &Reservation,
    date: Option<Date>,
    alert: Option<String>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let current = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let service = state
        .storage
        .service(ctx.tenant.id, reservation.service_id)
        .await?;
    let rules = rules_of(&service)?;
    let date = date.unwrap_or_else(|| current.starts_at.to_offset(JST).date());
    let from = start_of_tokyo_day(date);
    let offices = state.offices(ctx.tenant.id).await?;
    let now = now_utc();
    let choices: Vec<ChangeChoice> = state
        .storage
        .slots(
            ctx.tenant.id,
            service.id,
            from,
            from + time::Duration::days(1),
        )
        .await?
        .iter()
        .filter(|slot| slot.id == current.id || slot_state(&rules, slot, now, lang).0 == "bookable")
        .map(|slot| ChangeChoice {
            id: slot.id.to_string(),
            time: time_range(slot, lang),
            office: office_name(&offices, slot.office_id, lang),
            seats_left: (slot.capacity - slot.taken).max(0),
            current: slot.id == current.id,
        })
        .collect();
    let base = resident_base(ctx, session).await?;
    state.templates.page(
        "booking/change.html",
        &base,
        context! {
            id => reservation.id.to_string(),
            service_name => service_name(&service, lang),
            current_when => slot_when(&current, lang),
            date_label => date_label(date, lang),
            previous_day => date.previous_day().map(|d| d.to_string()),
            next_day => date.next_day().map(|d| d.to_string()),
            choices,
            alert,
        },
    )
}

async fn change_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    Query(query): Query<ChangeQuery>,
) -> AppResult<Html<String>> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let date = query.date.as_deref().and_then(parse_day);
    render_change(&state, &ctx, &session, &reservation, date, None).await
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    slot_id: String,
}

async fn change_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<ChangeForm>,
) -> AppResult<Response> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let Ok(slot) = form.slot_id.parse::<Uuid>() else {
        let alert = crate::i18n::text(ctx.lang, "change_choose_time");
        let html = render_change(&state, &ctx, &session, &reservation, None, Some(alert)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let actor = booking::Actor {
        account: resident.account.id,
        by_staff: false,
        access: None,
        reason: None,
    };
    match booking::change(&state, &ctx, &reservation, SlotId(slot), actor).await {
        Ok(_) => Ok(Redirect::to(&format!("/my/reservations/{id}?changed=1")).into_response()),
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::NotFound => {
            let alert = Some(error.code.message(ctx.lang).to_owned());
            let current = own_reservation(&state, &ctx, &resident, id).await?;
            let html = render_change(&state, &ctx, &session, &current, None, alert).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

async fn withdraw_waiting(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    PageForm(_form): PageForm<CancelForm>,
) -> AppResult<Response> {
    match crate::waitlist::withdraw(&state, &ctx, resident.account.id, id).await {
        // Already promoted or withdrawn (a second press): the list shows how things are.
        Ok(())
        | Err(AppError {
            code: ErrorCode::ReservationNotActive,
            ..
        }) => Ok(Redirect::to("/my/reservations?withdrawn=1").into_response()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_read_the_japanese_way_and_the_english_way() {
        assert_eq!(
            date_label(date!(2026 - 07 - 10), Lang::Ja),
            "2026年7月10日（金）"
        );
        assert_eq!(
            date_label(date!(2026 - 07 - 10), Lang::En),
            "Fri 10 July 2026"
        );
        assert_eq!(clock(datetime!(2026-07-10 00:05 UTC)), "9:05");
        assert_eq!(parse_day(" 2026-07-10"), Some(date!(2026 - 07 - 10)));
        assert_eq!(parse_day("9999-01-01"), None, "far outside any booking");
    }

    #[test]
    fn a_birth_year_shows_its_era_and_both_eras_in_a_year_of_change() {
        assert_eq!(birth_year_label(1980, Lang::Ja), "1980（昭和55年）");
        assert_eq!(
            birth_year_label(1989, Lang::Ja),
            "1989（昭和64年・平成元年）"
        );
        assert_eq!(
            birth_year_label(2019, Lang::Ja),
            "2019（平成31年・令和元年）"
        );
        assert_eq!(birth_year_label(1980, Lang::En), "1980");
    }

    #[test]
    fn months_parse_only_in_the_yyyy_mm_shape() {
        assert_eq!(parse_month("2026-07"), Some(date!(2026 - 07 - 01)));
        assert_eq!(parse_month("2026-7"), None);
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("9999-12"), None);
        assert_eq!(
            next_month(date!(2026 - 12 - 01)),
            Some(date!(2027 - 01 - 01))
        );
        assert_eq!(
            previous_month(date!(2026 - 01 - 01)),
            Some(date!(2025 - 12 - 01))
        );
    }

    #[test]
    fn a_fifth_or_fewer_seats_left_is_few() {
        assert_eq!(seat_status(30, 0), ("open", 30));
        assert_eq!(seat_status(30, 24), ("few", 6));
        assert_eq!(seat_status(1, 0), ("open", 1));
        assert_eq!(seat_status(2, 2), ("full", 0));
    }

    #[test]
    fn the_page_key_is_scoped_to_the_account() {
        let a = madoguchi_domain::AccountId::new();
        let b = madoguchi_domain::AccountId::new();
        let key = new_idempotency_key();
        assert_ne!(scoped_key(a, &key), scoped_key(b, &key));
        assert!(scoped_key(a, &key).is_some());
        assert_eq!(scoped_key(a, "short"), None);
        assert_eq!(scoped_key(a, &format!("{key}:x")), None);
    }
}
