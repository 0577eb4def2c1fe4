//! The resident's booking form and its submission (GET and POST /reservations/book/{slot_id}).
//! A service with a fee shows it and asks how it is paid; paying online sends the resident on
//! to the payment provider's page at once, the seat held until the payment succeeds.

use super::catalogue::render_day;
use super::catalogue::slot_state;
use super::resident_base;
use crate::http::Ctx;
use crate::http::auth::{MaybeSignedIn, PageAuthRejection, ResidentSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::booking_form::{
    FieldMessages, FormFor, FormState, FormValues, check_applicant, check_join, check_payment,
    form_context, refusal,
};
use crate::view::page::FormProblems;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_booking::{Settlement, WaitlistRule};
use madoguchi_domain::{ErrorCode, SlotId};
use madoguchi_storage::{ReservationStatus, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, Bookable, BookingRequest};
use minijinja::context;
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

/// The resident's form: the shared booking form, with the slot's state for residents (a full
/// slot may take a waiting list, a window not yet open says when it opens).
async fn render_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    booking: &Bookable,
    page: FormState<'_>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let now = now_utc();
    let offices = state.offices(ctx.tenant.id).await?;
    let (slot_state, opens_at) = slot_state(&booking.service.rules, &booking.slot, now, lang);
    let waitlist_help = match booking.service.rules.waitlist {
        Some(WaitlistRule::Offer { respond_hours }) => {
            crate::i18n::text(lang, "waitlist_help_offer")
                .replace("{hours}", &respond_hours.to_string())
        }
        _ => crate::i18n::text(lang, "waitlist_help_promote"),
    };
    let online = state.gateways.online(ctx.tenant.id).await.is_some();
    let payments = booking
        .service
        .rules
        .fee
        .as_ref()
        .map(|fee| crate::view::fee::payment_choices(fee, online, lang));
    let hold_minutes = booking.service.rules.hold_minutes;
    let form = form_context(
        FormFor::Resident,
        booking,
        &offices,
        page,
        tokyo_today(now),
        lang,
    );
    let base = resident_base(ctx, session).await?;
    state.templates.page(
        "booking/form.html",
        &base,
        context! { slot_state, opens_at, waitlist_help, payments, hold_minutes, ..form },
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
    let page = FormState {
        values: &FormValues::default(),
        errors: &FieldMessages::new(),
        alert: None,
        idempotency_key: &new_idempotency_key(),
    };
    Ok(render_form(&state, &ctx, &session, &booking, page)
        .await?
        .into_response())
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
    let values = FormValues::read(&pairs, FormFor::Resident, &booking.service.rules);
    let raw_key = crate::view::booking_form::form_value(&pairs, "idempotency_key");
    // Keep the page's key when showing the form again: nothing was stored under it.
    let key = if raw_key.is_empty() {
        new_idempotency_key()
    } else {
        raw_key
    };
    let lang = ctx.lang;
    let today = tokyo_today(now_utc());
    let waitlist = pairs.iter().any(|(k, v)| k == "intent" && v == "waitlist");
    let mut errors = FieldMessages::new();
    let checked = check_applicant(
        &values,
        FormFor::Resident,
        &booking.service.rules,
        today,
        lang,
        &mut errors,
    );
    let offices = state.offices(ctx.tenant.id).await?;
    let join = check_join(
        &values,
        FormFor::Resident,
        &booking.service,
        &offices,
        lang,
        &mut errors,
    );
    // Whoever waits is asked how to pay when a seat comes to them, not now.
    let payment = if waitlist {
        None
    } else {
        check_payment(&values, &booking.service.rules, lang, &mut errors)
    };
    let problems = if !errors.is_empty() {
        FormProblems::invalid(errors, lang)
    } else if waitlist {
        let joined = uc::waitlist::join(
            &state.reservations(),
            &scope,
            resident.account.id,
            booking.slot.id,
            &checked.applicant,
            checked.answers,
            join,
        )
        .await;
        match joined {
            Ok(_) => return Ok(Redirect::to("/my/reservations?waiting=1").into_response()),
            Err(error) => refusal(
                error.into(),
                FormFor::Resident,
                &booking.service.rules,
                lang,
            )?,
        }
    } else {
        let request = BookingRequest {
            slot_id: booking.slot.id,
            account_id: Some(resident.account.id),
            booked_by: None,
            idempotency_key: scoped_key(resident.account.id, &key),
            hold: false,
            applicant: checked.applicant,
            answers: checked.answers,
            remote_join: join,
            caller: None,
            fee: payment.as_ref().map(|(choice, _)| choice.clone()),
        };
        match uc::book(&state.reservations(), &scope, request).await {
            Ok(booked) => {
                // A replay (the same page sent twice) leads to the same confirmation, or on to
                // the payment already under way.
                let reservation = booked.outcome.reservation();
                let id = reservation.id;
                let method = payment.and_then(|(_, method)| method);
                let awaits_payment = reservation.status == ReservationStatus::Held;
                if let (Some(Settlement::Online), Some(method), true) =
                    (&booked.settlement, method, awaits_payment)
                {
                    return Ok(pay_now(&state, &scope, reservation, method).await);
                }
                return Ok(Redirect::to(&format!("/my/reservations/{id}?booked=1")).into_response());
            }
            Err(error) => refusal(
                error.into(),
                FormFor::Resident,
                &booking.service.rules,
                lang,
            )?,
        }
    };
    // Show the slot as it is now (a refusal may mean it just filled up).
    let booking = uc::bookable(&state.reservations(), &scope, booking.slot.id).await?;
    let page = FormState {
        values: &values,
        errors: &problems.errors,
        alert: Some(problems.alert.clone()),
        idempotency_key: &key,
    };
    let html = render_form(&state, &ctx, &session, &booking, page).await?;
    Ok(problems.respond(html))
}

/// Sends the resident on to pay a held reservation's fee with `method`: the provider's page,
/// or (when it cannot be reached now) the reservation's page, which says so and offers to try
/// again while the hold lasts.
pub(super) async fn pay_now(
    state: &AppState,
    scope: &madoguchi_usecases::Scope,
    reservation: &madoguchi_storage::Reservation,
    method: madoguchi_payments::Method,
) -> Response {
    let urls = crate::view::fee::return_urls(&state.config.public_url, reservation.id);
    let started = uc::fees::start_payment(
        &state.reservations(),
        &*state.gateways,
        scope,
        reservation,
        method,
        urls,
    )
    .await;
    let id = reservation.id;
    match started {
        Ok(payment) => match payment.redirect_url {
            Some(url) => Redirect::to(&url).into_response(),
            None => Redirect::to(&format!("/my/reservations/{id}?pay_failed=1")).into_response(),
        },
        Err(error) if error.code == ErrorCode::PaymentProviderUnavailable => {
            tracing::warn!(reservation = %id, code = %error.code, "could not start the payment");
            Redirect::to(&format!("/my/reservations/{id}?pay_failed=1")).into_response()
        }
        // Paid meanwhile, or the hold ran out: the reservation's page says where it stands.
        Err(_) => Redirect::to(&format!("/my/reservations/{id}")).into_response(),
    }
}
