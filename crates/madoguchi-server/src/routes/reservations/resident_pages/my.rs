//! The resident's own reservations and waiting-list places: the list, one reservation, and
//! cancelling, changing, confirming an offered seat, paying a fee and withdrawing (/my/…).

use super::catalogue::slot_state;
use super::resident_base;
use crate::http::Ctx;
use crate::http::auth::ResidentSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::month_calendar::{Asked, Links, Viewer, month_asked, month_calendar, month_of};
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use madoguchi_domain::{ErrorCode, ReservationId, ServiceId, SlotId};
use madoguchi_storage::{Office, Reservation, Service, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, By};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/my/reservations", get(my_reservations))
        .route("/my/reservations/{id}", get(my_reservation))
        .route(
            "/my/reservations/{id}/cancel",
            get(cancel_confirmation).post(cancel),
        )
        .route("/my/reservations/{id}/confirm", post(confirm_offer))
        .route("/my/reservations/{id}/pay", post(pay))
        .route(
            "/my/reservations/{id}/change",
            get(change_form).post(change_submit),
        )
        .route("/my/waitlist/{id}/withdraw", post(withdraw_waiting))
}

// ---------------------------------------------------------------------------------------------
// The resident's reservations

#[derive(Serialize)]
struct ReservationView {
    id: String,
    /// The reservation number (予約番号) the resident gives the office; the id stays in URLs.
    reference: String,
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
struct ServiceCache(BTreeMap<ServiceId, Service>);

impl ServiceCache {
    async fn get(&mut self, state: &AppState, ctx: &Ctx, id: ServiceId) -> AppResult<&Service> {
        use std::collections::btree_map::Entry;
        match self.0.entry(id) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let service = state.storage.service(ctx.tenant.id, id).await?;
                Ok(entry.insert(service))
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
    let service = services.get(state, ctx, reservation.service_id).await?;
    let active = reservation.status.holds_a_seat();
    let before_start = now < slot.starts_at;
    let cancellation = &service.rules.cancellation;
    let may_cancel = active && cancellation.resident_may_cancel(now, slot.starts_at);
    let cancel_deadline = instant_label(cancellation.deadline(slot.starts_at), lang);
    Ok(ReservationView {
        id: reservation.id.to_string(),
        reference: reservation.reference.to_string(),
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
        let service = services.get(&state, &ctx, place.entry.service_id).await?;
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
    let feed = crate::view::feed::feed_view(&state, &ctx, resident.account.id, &session).await?;
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
    /// The payment provider could not be reached when sent to pay.
    #[serde(default)]
    pay_failed: Option<String>,
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
    let now = now_utc();
    let mut view = reservation_view(state, ctx, &mut services, &offices, reservation, now).await?;
    let service = services.get(state, ctx, reservation.service_id).await?;
    let fee = crate::view::fee::fee_view(state, ctx, reservation, service, now).await?;
    if fee.as_ref().is_some_and(|f| f.state == "awaiting_payment") {
        // Held for its payment: paying confirms it, not a button.
        view.offer_until = None;
    }
    let stored = reservation.details.get("answers");
    let answers: Vec<AnswerView> = service
        .rules
        .questions
        .iter()
        .filter_map(|q| {
            let answer = answer_text(Some(q), stored?.get(&q.id)?, lang);
            (!answer.is_empty()).then(|| AnswerView {
                label: q.label(lang).to_owned(),
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
            fee,
            // A confirmed remote consultation is joined from the remote counter's page.
            online_consultation => service.kind == madoguchi_storage::ServiceKind::RemoteConsultation
                && reservation.status == madoguchi_storage::ReservationStatus::Confirmed,
            reservation_id => reservation.id.to_string(),
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
        alert: query.pay_failed.is_some().then(|| {
            ErrorCode::PaymentProviderUnavailable
                .message(ctx.lang)
                .to_owned()
        }),
    };
    render_detail(&state, &ctx, &session, &reservation, notice).await
}

#[derive(Deserialize, Default)]
struct CancelQuery {
    /// `list` when asked from the list, to return there.
    #[serde(default)]
    back: String,
}

/// GET /my/reservations/{id}/cancel: asks once before cancelling, showing what will be
/// cancelled (number, service, time, office). A plain page with a POST form, so it works
/// without JavaScript. A reservation that can no longer be cancelled online goes back to its
/// page, which says why.
async fn cancel_confirmation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    Query(query): Query<CancelQuery>,
) -> AppResult<Response> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let offices = state.offices(ctx.tenant.id).await?;
    let mut services = ServiceCache(BTreeMap::new());
    let view = reservation_view(
        &state,
        &ctx,
        &mut services,
        &offices,
        &reservation,
        now_utc(),
    )
    .await?;
    if !view.may_cancel {
        return Ok(Redirect::to(&format!("/my/reservations/{id}")).into_response());
    }
    let back = if query.back == "list" {
        "list"
    } else {
        "detail"
    };
    let service = services.get(&state, &ctx, reservation.service_id).await?;
    let fee = crate::view::fee::fee_view(&state, &ctx, &reservation, service, now_utc()).await?;
    // Money paid is not returned by cancelling online: the office arranges the refund.
    let refund_note = fee.as_ref().is_some_and(|f| f.state == "paid");
    let base = resident_base(&ctx, &session).await?;
    let html = state.templates.page(
        "booking/cancel.html",
        &base,
        context! { r => view, back, refund_note },
    )?;
    Ok(html.into_response())
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
    let canceller = By {
        account: resident.account.id,
        by_staff: false,
        access: None,
        reason: None,
    };
    // The shared flow checks the deadline, gives the seat back, audits and tells the resident.
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let outcome = uc::cancel(&state.reservations(), &scope, &reservation, canceller)
        .await
        .map(|_| ())
        .map_err(AppError::from);
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
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let confirmed = uc::confirm_hold(&state.reservations(), &scope, &reservation).await;
    match confirmed.map_err(AppError::from) {
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
struct PayForm {
    /// `card` or `paypay`.
    #[serde(default)]
    method: String,
}

/// Pays (or goes back to paying) a reservation's fee online: on to the provider's page.
async fn pay(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<PayForm>,
) -> AppResult<Response> {
    let reservation = own_reservation(&state, &ctx, &resident, id).await?;
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let method = match form.method.as_str() {
        "paypay" => madoguchi_payments::Method::Paypay,
        _ => madoguchi_payments::Method::Card,
    };
    let urls = crate::view::fee::return_urls(&state.config.public_url, reservation.id);
    let started = uc::fees::start_payment(
        &state.reservations(),
        &*state.gateways,
        &scope,
        &reservation,
        method,
        urls,
    )
    .await;
    match started.map_err(AppError::from) {
        Ok(payment) => match payment.redirect_url {
            Some(url) => Ok(Redirect::to(&url).into_response()),
            None => {
                Ok(Redirect::to(&format!("/my/reservations/{id}?pay_failed=1")).into_response())
            }
        },
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::NotFound => {
            // Paid already, the hold ran out, a payment in progress by another method: say so.
            let notice = DetailNotice {
                alert: Some(error.code.message(ctx.lang).to_owned()),
                ..DetailNotice::default()
            };
            let html = render_detail(&state, &ctx, &session, &reservation, notice).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
struct ChangeQuery {
    /// The day whose times are listed (`YYYY-MM-DD`); the reservation's own by default.
    #[serde(default)]
    date: Option<String>,
    /// Another month of the calendar (`YYYY-MM`), before a day is chosen in it.
    #[serde(default)]
    month: Option<String>,
    /// The time chosen: the page asks to confirm the move to it.
    #[serde(default)]
    slot: Option<String>,
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

/// What the change page was asked to show.
#[derive(Default)]
struct ChangeAsked {
    /// The day whose times are listed; `None` when a month was paged without choosing a day.
    date: Option<Date>,
    month: Option<Date>,
    slot: Option<Uuid>,
    alert: Option<String>,
}

/// The change page, in three steps that each work without JavaScript: a month calendar of the
/// service (the one the service page shows) to choose a day, that day's times with seats left
/// as radio buttons, then the move to confirm, the current and the new time side by side.
async fn render_change(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    reservation: &Reservation,
    asked: ChangeAsked,
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
    let rules = &service.rules;
    let offices = state.offices(ctx.tenant.id).await?;
    let now = now_utc();
    let id = reservation.id;
    let date = match (asked.date, asked.month) {
        (Some(date), _) => Some(date),
        (None, Some(_)) => None,
        (None, None) => Some(current.starts_at.to_offset(JST).date()),
    };
    let first = match (asked.month, date) {
        (Some(month), _) => month,
        (None, Some(date)) => month_of(date),
        (None, None) => month_of(current.starts_at.to_offset(JST).date()),
    };
    // The calendar never pages before this month; a reservation in a past month (or none
    // left to change) starts from this one.
    let first = first.max(month_of(tokyo_today(now)));
    let choices: Vec<ChangeChoice> = match date {
        None => Vec::new(),
        Some(date) => {
            let from = start_of_tokyo_day(date);
            state
                .storage
                .slots(
                    ctx.tenant.id,
                    service.id,
                    from,
                    from + time::Duration::days(1),
                )
                .await?
                .iter()
                .filter(|slot| {
                    slot.id == current.id || slot_state(rules, slot, now, lang).0 == "bookable"
                })
                .map(|slot| ChangeChoice {
                    id: slot.id.to_string(),
                    time: time_range(slot, lang),
                    office: office_name(&offices, slot.office_id, lang),
                    seats_left: (slot.capacity - slot.taken).max(0),
                    current: slot.id == current.id,
                })
                .collect()
        }
    };
    // The time chosen, if it is one of the day's choices and not the current one: confirm it.
    let chosen = asked.slot.and_then(|slot| {
        choices
            .iter()
            .find(|c| !c.current && c.id == slot.to_string())
            .map(|c| {
                context! {
                    id => c.id.clone(),
                    when => format!("{} {}", date.map(|d| date_label(d, lang)).unwrap_or_default(), c.time),
                    office => c.office.clone(),
                }
            })
    });
    let cal = month_calendar(
        state,
        ctx,
        &service,
        Asked {
            first,
            selected: date,
            viewer: Viewer::Resident,
            links: Links::Change { id: id.to_string() },
        },
        now,
    )
    .await?;
    let base = resident_base(ctx, session).await?;
    state.templates.page(
        "booking/change.html",
        &base,
        context! {
            id => id.to_string(),
            reference => reservation.reference.to_string(),
            service_name => service_name(&service, lang),
            current_when => slot_when(&current, lang),
            current_office => office_name(&offices, current.office_id, lang),
            date => date.map(|d| d.to_string()),
            date_label => date.map(|d| date_label(d, lang)),
            cal,
            choices,
            chosen,
            alert => asked.alert,
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
    let asked = ChangeAsked {
        date: query.date.as_deref().and_then(parse_day),
        month: query
            .month
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| month_asked(Some(m), tokyo_today(now_utc())))
            .transpose()?,
        slot: query.slot.as_deref().and_then(|s| s.trim().parse().ok()),
        alert: None,
    };
    render_change(&state, &ctx, &session, &reservation, asked).await
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
        let asked = ChangeAsked {
            alert: Some(alert),
            ..ChangeAsked::default()
        };
        let html = render_change(&state, &ctx, &session, &reservation, asked).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let actor = By {
        account: resident.account.id,
        by_staff: false,
        access: None,
        reason: None,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let changed = uc::change(
        &state.reservations(),
        &scope,
        &reservation,
        SlotId(slot),
        actor,
    )
    .await;
    match changed.map_err(AppError::from) {
        Ok(_) => Ok(Redirect::to(&format!("/my/reservations/{id}?changed=1")).into_response()),
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::NotFound => {
            let alert = Some(error.code.message(ctx.lang).to_owned());
            let current = own_reservation(&state, &ctx, &resident, id).await?;
            let asked = ChangeAsked {
                alert,
                ..ChangeAsked::default()
            };
            let html = render_change(&state, &ctx, &session, &current, asked).await?;
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
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let withdrawn =
        uc::waitlist::withdraw(&state.reservations(), &scope, resident.account.id, id).await;
    match withdrawn.map_err(AppError::from) {
        // Already promoted or withdrawn (a second press): the list shows how things are.
        Ok(())
        | Err(AppError {
            code: ErrorCode::ReservationNotActive,
            ..
        }) => Ok(Redirect::to("/my/reservations?withdrawn=1").into_response()),
        Err(error) => Err(error),
    }
}
