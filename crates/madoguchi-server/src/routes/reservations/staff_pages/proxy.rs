//! Booking by staff for a phone caller or a walk-in (代理予約): the slot choice, the caller's
//! details and the booking form.

use super::PROXY_DAYS_LISTED;
use super::Scope;
use super::handled_slot;
use super::optional_uuid;
use super::require_handler;
use super::scope_of;
use super::text;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::booking_form::{
    FieldMessages, FormFor, FormState, FormValues, check_applicant, check_join, form_context,
    form_value, refusal,
};
use crate::view::page::FormProblems;
use crate::view::page::staff_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_booking::{Applicant, CallerError, ProxyCaller, ServiceRules, WindowError};
use madoguchi_calendar::MunicipalCalendar;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{AccountId, AccountKind, Email, ErrorCode, Lang, ServiceId, SlotId};
use madoguchi_storage::{Office, RemoteJoin, Service, Slot, StorageError, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, Bookable, BookingRequest};
use minijinja::context;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use tower_sessions::Session;

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

/// Whether a slot can be booked now: not on a day the calendar closes, within the service's
/// window, with a seat left. The same answer the booking flow gives, so the page offers only
/// what can be booked.
fn slot_state(
    rules: &ServiceRules,
    slot: &Slot,
    now: OffsetDateTime,
    calendar: &MunicipalCalendar,
) -> &'static str {
    if uc::slot_is_closed(calendar, slot) {
        return "closed";
    }
    match rules.window.check(now, slot.starts_at) {
        Err(WindowError::NotYetOpen { .. }) => "not_yet",
        Err(WindowError::Closed { .. }) => "ended",
        Ok(()) if slot.taken >= slot.capacity => "full",
        Ok(()) => "bookable",
    }
}

/// The listed days from their slots (in time order) and each slot's state: the seats that can
/// be booked now (those of bookable slots only), and the day's state, bookable when any slot
/// is, else the most hopeful of the others (full, then not yet open, then ended, then closed).
fn day_choices(
    slots: &[(Date, &'static str, i64)],
    selected: Option<Date>,
    lang: Lang,
) -> Vec<DayChoice> {
    const HOPE: [&str; 5] = ["bookable", "full", "not_yet", "ended", "closed"];
    let rank = |state: &str| HOPE.iter().position(|s| *s == state).unwrap_or(HOPE.len());
    let mut days: Vec<DayChoice> = Vec::new();
    for &(day, state, seats) in slots {
        let seats = if state == "bookable" { seats.max(0) } else { 0 };
        match days.last_mut() {
            Some(last) if last.date == day.to_string() => {
                last.slots += 1;
                last.seats_left += seats;
                if rank(state) < rank(last.state) {
                    last.state = state;
                }
            }
            _ => days.push(DayChoice {
                date: day.to_string(),
                label: date_label(day, lang),
                slots: 1,
                seats_left: seats,
                state,
                selected: selected == Some(day),
            }),
        }
    }
    days
}

/// Active services with readable rules that the staff member handles at some office.
fn proxy_services(services: Vec<Service>, access: &StaffAccess, scope: &Scope) -> Vec<Service> {
    services
        .into_iter()
        .filter(|s| s.active)
        .filter(|s| {
            scope
                .offices
                .iter()
                .any(|o| access.may_handle_reservations(o.id, s.department_id))
        })
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
    /// Seats that can be booked now.
    seats_left: i64,
    /// bookable, full, not_yet, ended or closed (see `day_choices`).
    state: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct SlotChoice {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    /// bookable, full, not_yet, ended or closed.
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
        let page = FormState {
            values: &FormValues::default(),
            errors: &FieldMessages::new(),
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
        .map(|s| ServiceChoice {
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
    let service = services
        .iter()
        .find(|s| s.id == chosen)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let rules = &service.rules;
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
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let now = now_utc();
    let states: Vec<(Date, &'static str, i64)> = listed
        .iter()
        .map(|slot| {
            (
                tokyo_date(slot.starts_at),
                slot_state(rules, slot, now, &calendar),
                slot.capacity - slot.taken,
            )
        })
        .collect();
    let days = day_choices(&states, date, lang);
    let offices = state.offices(ctx.tenant.id).await?;
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
                state: slot_state(rules, slot, now, &calendar),
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

/// Checks the form's fields, every problem at once: the applicant's and the service's own
/// through the shared booking form, and the caller's details, whose rules are
/// [`ProxyCaller::new`]'s alone, as for the API.
fn check_caller(
    values: &FormValues,
    target: &Bookable,
    offices: &[Office],
    today: Date,
    lang: Lang,
) -> Result<CheckedCaller, FieldMessages> {
    let mut errors = FieldMessages::new();
    let required = text(lang, "staff_res_error_required");
    for field in ["name_kanji", "name_kana", "phone"] {
        if values.get(field).is_empty() {
            errors.insert(field.to_owned(), required.clone());
        }
    }
    let checked = check_applicant(
        values,
        FormFor::Staff,
        &target.service.rules,
        today,
        lang,
        &mut errors,
    );
    // `ProxyCaller::new` names the first field it refuses. To name every bad field at once, a
    // refused field is replaced by a valid stand-in and the caller checked again; the stand-ins
    // never reach a booking, since any error stops here.
    let stand_in = |field: &str| -> String {
        match (errors.contains_key(field), field) {
            (false, _) => values.get(field).to_owned(),
            (true, "name_kanji") => "山田".to_owned(),
            (true, "name_kana") => "ヤマダ".to_owned(),
            (true, _) => "0300000000".to_owned(),
        }
    };
    let mut kanji = stand_in("name_kanji");
    let mut kana = stand_in("name_kana");
    let mut phone = stand_in("phone");
    let mut birth = checked
        .applicant
        .birth_date
        .unwrap_or(time::macros::date!(1950 - 01 - 01));
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
    let email = match values.get("email") {
        "" => None,
        raw => match Email::parse(raw) {
            Ok(email) => Some(email),
            Err(code) => {
                errors.insert("email".to_owned(), code.message(lang).to_owned());
                None
            }
        },
    };
    let join = check_join(
        values,
        FormFor::Staff,
        &target.service,
        offices,
        lang,
        &mut errors,
    );
    match caller {
        Some(caller) if errors.is_empty() => Ok(CheckedCaller {
            applicant: Applicant {
                birth_date: Some(caller.birth_date),
                ..checked.applicant
            },
            caller,
            email,
            answers: checked.answers,
            join,
        }),
        _ => Err(errors),
    }
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

/// The staff member's form: the shared booking form, for a caller.
async fn render_proxy_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    target: &Bookable,
    page: FormState<'_>,
) -> AppResult<Html<String>> {
    let now = now_utc();
    let offices = state.offices(ctx.tenant.id).await?;
    let form = form_context(
        FormFor::Staff,
        target,
        &offices,
        page,
        tokyo_today(now),
        ctx.lang,
    );
    let base = staff_base(ctx, staff, session).await?;
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    state.templates.page(
        "staff/proxy_form.html",
        &base,
        context! {
            section => "proxy",
            slot_state => slot_state(&target.service.rules, &target.slot, now, &calendar),
            ..form
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
    let values = FormValues::read(&pairs, FormFor::Staff, &target.service.rules);
    let raw_key = form_value(&pairs, "idempotency_key");
    // Keep the page's key when showing the form again: nothing was stored under it.
    let key = if scoped_key(staff.account.id, &raw_key).is_some() {
        raw_key
    } else {
        new_idempotency_key()
    };
    let offices = state.offices(ctx.tenant.id).await?;
    let problems = match check_caller(&values, &target, &offices, tokyo_today(now_utc()), lang) {
        Err(errors) => FormProblems::invalid(errors, lang),
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
                // A fee is paid at the counter; its receivable is assessed with the booking.
                fee: None,
            };
            let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
            match uc::book(&state.reservations(), &scope, request).await {
                Ok(booked) => {
                    let id = booked.outcome.reservation().id;
                    return Ok(
                        Redirect::to(&format!("/staff/reservations/{id}?booked=1")).into_response()
                    );
                }
                Err(error) => refusal(error.into(), FormFor::Staff, &target.service.rules, lang)?,
            }
        }
    };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let target = handled_slot(&state, &ctx, &staff, target.slot.id).await?;
    let page = FormState {
        values: &values,
        errors: &problems.errors,
        alert: Some(problems.alert.clone()),
        idempotency_key: &key,
    };
    let html = render_proxy_form(&state, &ctx, &session, &staff, &target, page).await?;
    Ok(problems.respond(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_day_offers_only_the_seats_of_slots_that_can_be_booked_now() {
        let (today, tomorrow) = (date!(2026 - 12 - 07), date!(2026 - 12 - 08));
        let slots = [
            (today, "ended", 4),
            (today, "ended", 4),
            (tomorrow, "ended", 2),
            (tomorrow, "bookable", 3),
            (tomorrow, "full", 0),
        ];
        let days = day_choices(&slots, Some(tomorrow), Lang::Ja);
        assert_eq!(days.len(), 2);
        assert_eq!(
            (days[0].state, days[0].seats_left, days[0].slots),
            ("ended", 0, 2),
            "every session of the day is closed for booking: no seats on offer"
        );
        assert_eq!(
            (days[1].state, days[1].seats_left, days[1].selected),
            ("bookable", 3, true)
        );
        let days = day_choices(&[(today, "ended", 4), (today, "full", 0)], None, Lang::Ja);
        assert_eq!(days[0].state, "full", "full is the more hopeful word");
    }
}
