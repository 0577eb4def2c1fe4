//! One reservation as staff handle it (change, cancel, and for a paid one its fee: an
//! exemption to check, a refund to request once the seat was given up) and its printable
//! confirmation.

use super::AnswerView;
use super::answer_views;
use super::handled_reservation;
use super::handled_slot;
use super::optional_uuid;
use super::proxy::handled_slots;
use super::require_handler;
use super::shown_on_page;
use super::text;
use crate::day_sheet::day_sheet_line;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::month_calendar::{Asked, Links, Viewer, month_asked, month_calendar, month_of};
use crate::view::page::{FormProblems, staff_base};
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::tokyo::format_tokyo_minutes;
use madoguchi_domain::{ErrorCode, Lang, SlotId};
use madoguchi_storage::{DaySheetRow, Reservation, Service, Slot, StorageError, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, By};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/staff/reservations/{id}",
            get(reservation_page).post(reservation_submit),
        )
        .route("/staff/reservations/{id}/confirmation", get(confirmation))
        .route(
            "/staff/reservations/{id}/cancel",
            get(cancel_page).post(cancel_submit),
        )
        .route(
            "/staff/reservations/{id}/refund",
            axum::routing::post(refund_submit),
        )
}

// ---------------------------------------------------------------------------------------------
// The reservation: GET and POST /staff/reservations/{id}, GET …/confirmation

#[derive(Serialize)]
struct ReservationView {
    id: String,
    /// The reservation number (予約番号) staff read out to the caller.
    reference: String,
    service: String,
    when: String,
    date: String,
    office: String,
    status: &'static str,
    name: String,
    kana: String,
    birth_date: String,
    phone: String,
    email: String,
    /// The reservation belongs to a resident's online account.
    account: bool,
    answers: Vec<AnswerView>,
    booked_by_staff: bool,
    booked_at: String,
    cancel_reason: Option<String>,
    active: bool,
}

/// The reservation as staff see it: the same lines as the day sheet's.
async fn reservation_view(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
) -> AppResult<(ReservationView, Slot, Service)> {
    let lang = ctx.lang;
    let slot = state
        .storage
        .slot(ctx.tenant.id, reservation.slot_id)
        .await?;
    let service = state
        .storage
        .service(ctx.tenant.id, reservation.service_id)
        .await?;
    let account = match reservation.account_id {
        None => None,
        Some(id) => match state.storage.account(ctx.tenant.id, id).await {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
    };
    let row = DaySheetRow {
        reservation: reservation.clone(),
        slot,
        service_code: service.code.as_str().to_owned(),
        service_name_ja: service.name_ja.clone(),
        service_name_en: service.name_en.clone(),
        account_name: account.as_ref().map(|a| a.display_name.as_str().to_owned()),
        account_email: account.as_ref().map(|a| a.email.as_str().to_owned()),
    };
    let line = day_sheet_line(&row);
    let birth_date = reservation
        .details
        .get("caller")
        .and_then(|c| c.get("birth_date"))
        .and_then(|b| b.as_str())
        .and_then(parse_birth_date)
        .map(|d| date_label(d, lang))
        .unwrap_or_default();
    let offices = state.offices(ctx.tenant.id).await?;
    let date = tokyo_date(slot.starts_at);
    let view = ReservationView {
        id: reservation.id.to_string(),
        reference: reservation.reference.to_string(),
        service: service_name(&service, lang).to_owned(),
        when: format!("{} {}", date_label(date, lang), time_range(&slot, lang)),
        date: date.to_string(),
        office: office_name(&offices, slot.office_id, lang),
        status: line.status,
        name: line.name.unwrap_or_default(),
        kana: line.name_kana.unwrap_or_default(),
        birth_date,
        phone: line.phone.unwrap_or_default(),
        email: line.email.unwrap_or_default(),
        account: reservation.account_id.is_some(),
        answers: answer_views(&line.answers, Some(&service.rules), lang),
        booked_by_staff: line.booked_by_staff,
        booked_at: format_tokyo_minutes(reservation.created_at),
        cancel_reason: reservation.cancel_reason.clone(),
        active: reservation.status.holds_a_seat(),
    };
    Ok((view, slot, service))
}

/// A date of birth as stored (`YYYY-MM-DD`), any year.
fn parse_birth_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    /// The day whose slots the change form lists.
    #[serde(default)]
    date: String,
    /// Another month of the change calendar (`YYYY-MM`).
    #[serde(default)]
    month: String,
    #[serde(default)]
    booked: String,
    #[serde(default)]
    changed: String,
    #[serde(default)]
    cancelled: String,
    #[serde(default)]
    refund_requested: String,
}

/// What the detail page shows besides the reservation.
#[derive(Default)]
struct DetailPage {
    notice: Option<String>,
    booked: bool,
    alert: Option<String>,
    /// By form: `cancel_reason`, `change_reason`, `change_slot`.
    errors: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    date: Option<Date>,
    /// The month the change calendar shows, when paged away from the chosen day's.
    month: Option<Date>,
}

#[derive(Serialize)]
struct ChangeSlot {
    id: String,
    time: String,
    office: String,
    seats_left: i64,
    full: bool,
    checked: bool,
}

async fn render_detail(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    reservation: &Reservation,
    page: DetailPage,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let (view, slot, service) = reservation_view(state, ctx, reservation).await?;
    let offices = state.offices(ctx.tenant.id).await?;
    // The change form: other slots of the same service on the chosen day, at offices the staff
    // member handles, not yet over.
    let date = page.date.unwrap_or_else(|| tokyo_date(slot.starts_at));
    let now = now_utc();
    let chosen = page.values.get("slot").cloned().unwrap_or_default();
    let candidates: Vec<ChangeSlot> = if view.active {
        handled_slots(
            state,
            ctx,
            &staff.access,
            &service,
            date,
            date.next_day().unwrap_or(date),
        )
        .await?
        .iter()
        .filter(|s| s.id != slot.id && s.ends_at > now)
        .map(|s| ChangeSlot {
            id: s.id.to_string(),
            time: time_range(s, lang),
            office: office_name(&offices, s.office_id, lang),
            seats_left: (s.capacity - s.taken).max(0),
            full: s.taken >= s.capacity,
            checked: chosen == s.id.to_string(),
        })
        .collect()
    } else {
        Vec::new()
    };
    let id = reservation.id;
    // The month calendar of the service, the one residents choose from, to choose the day.
    let cal = if view.active {
        let first = page.month.unwrap_or_else(|| month_of(date));
        let asked = Asked {
            first: first.max(month_of(tokyo_today(now))),
            selected: Some(date),
            viewer: Viewer::Staff,
            links: Links::Staff { id: id.to_string() },
        };
        Some(month_calendar(state, ctx, &service, asked, now).await?)
    } else {
        None
    };
    let fee = crate::view::fee::fee_view(state, ctx, reservation, &service, now).await?;
    // A paid fee whose seat was given up is refunded on request (four eyes: finance decides).
    let may_request_refund = staff.access.may_request_refund()
        && fee
            .as_ref()
            .is_some_and(|f| f.state == "refund_due" && f.refundable_payment.is_some());
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/reservation.html",
        &base,
        context! {
            section => "sheet",
            r => view,
            fee,
            may_request_refund,
            notice => page.notice,
            booked => page.booked,
            alert => page.alert,
            errors => page.errors,
            values => page.values,
            change_date => date.to_string(),
            change_date_label => date_label(date, lang),
            cal,
            candidates,
            sheet_href => format!("/staff/day-sheet?date={}", tokyo_date(slot.starts_at)),
        },
    )
}

async fn reservation_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    Query(query): Query<DetailQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let date = match query.date.trim() {
        "" => None,
        raw => Some(
            parse_day(raw).ok_or_else(|| AppError::field("date", ErrorCode::ValidationFailed))?,
        ),
    };
    let notice = if !query.changed.is_empty() {
        Some(text(lang, "staff_res_changed"))
    } else if !query.cancelled.is_empty() {
        Some(text(lang, "staff_res_cancelled"))
    } else if !query.refund_requested.is_empty() {
        Some(text(lang, "staff_fee_refund_requested"))
    } else {
        None
    };
    let month = match query.month.trim() {
        "" => None,
        raw => Some(month_asked(Some(raw), tokyo_today(now_utc()))?),
    };
    let page = DetailPage {
        notice,
        booked: !query.booked.is_empty() && reservation.status.holds_a_seat(),
        date,
        month,
        ..DetailPage::default()
    };
    render_detail(&state, &ctx, &session, &staff, &reservation, page).await
}

#[derive(Deserialize)]
struct DetailForm {
    /// `cancel` or `change`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    /// The new slot, for a change.
    #[serde(default)]
    slot: String,
    /// The day the change form listed.
    #[serde(default)]
    date: String,
}

/// What the page says about a refused reason: "required" when none was given, the length
/// otherwise (control characters are refused with the same words: they read as too much).
pub(super) fn reason_message(reason: &str, lang: Lang) -> String {
    if reason.trim().is_empty() {
        text(lang, "staff_res_error_reason_required")
    } else {
        text(lang, "staff_res_error_reason")
    }
}

/// A refused change or cancellation's problems by field, the reason's in its own words.
fn reason_problems(error: &AppError, reason: &str, lang: Lang) -> FormProblems {
    FormProblems::refused(error, lang, |f| {
        let message = match f.field.as_str() {
            "reason" => reason_message(reason, lang),
            _ => f.code.message(lang).to_owned(),
        };
        (f.field.clone(), message)
    })
}

/// A refused cancellation, shown again on the confirmation page where its reason is asked, with
/// the reservation as it is now (another clerk may have cancelled it meanwhile).
async fn cancel_refused(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    id: Uuid,
    reason: &str,
    error: &AppError,
) -> AppResult<Response> {
    let problems = reason_problems(error, reason, ctx.lang);
    let current = handled_reservation(state, ctx, staff, id).await?;
    let html = render_cancel(
        state,
        ctx,
        session,
        staff,
        &current,
        reason,
        Some(&problems),
    )
    .await?;
    Ok(problems.respond(html))
}

async fn reservation_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<DetailForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let actor = By {
        account: staff.account.id,
        by_staff: true,
        access: Some(&staff.access),
        reason: Some(form.reason.as_str()),
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let action = match form.action.as_str() {
        "cancel" => "cancel",
        "change" => "change",
        _ => return Err(AppError::field("action", ErrorCode::ValidationFailed)),
    };
    let outcome = if action == "cancel" {
        uc::cancel(&state.reservations(), &scope, &reservation, actor)
            .await
            .map(|_| "cancelled")
            .map_err(AppError::from)
    } else {
        match optional_uuid("slot", &form.slot).ok().flatten() {
            None => {
                // Say both at once when the reason is missing too (the flow would say it next).
                let mut fields = vec![FieldError {
                    field: "slot".to_owned(),
                    code: ErrorCode::ValidationFailed,
                }];
                if form.reason.trim().is_empty() {
                    fields.push(FieldError {
                        field: "reason".to_owned(),
                        code: ErrorCode::ValidationFailed,
                    });
                }
                Err(AppError::fields(fields))
            }
            Some(slot) => {
                let target = handled_slot(&state, &ctx, &staff, SlotId(slot)).await?;
                uc::change(
                    &state.reservations(),
                    &scope,
                    &reservation,
                    target.slot.id,
                    actor,
                )
                .await
                .map(|_| "changed")
                .map_err(AppError::from)
            }
        }
    };
    match outcome {
        Ok(done) => Ok(
            Redirect::to(&format!("/staff/reservations/{}?{done}=1", reservation.id))
                .into_response(),
        ),
        // A cancellation posted here (as before the confirmation page) is shown again on the
        // confirmation page, where its reason is asked.
        Err(error) if shown_on_page(&error) && action == "cancel" => {
            cancel_refused(&state, &ctx, &session, &staff, id, &form.reason, &error).await
        }
        Err(error) if shown_on_page(&error) => {
            let problems = FormProblems::refused(&error, lang, |f| {
                let message = match f.field.as_str() {
                    "reason" => reason_message(&form.reason, lang),
                    "slot" => text(lang, "staff_res_error_slot"),
                    _ => f.code.message(lang).to_owned(),
                };
                (format!("{action}_{}", f.field), message)
            });
            let values = BTreeMap::from([
                (format!("{action}_reason"), form.reason.clone()),
                ("slot".to_owned(), form.slot.trim().to_owned()),
            ]);
            // Show the reservation as it is now (another clerk may have acted on it).
            let current = handled_reservation(&state, &ctx, &staff, id).await?;
            let page = DetailPage {
                alert: Some(problems.alert.clone()),
                errors: problems.errors.clone(),
                values,
                date: parse_day(&form.date),
                ..DetailPage::default()
            };
            let html = render_detail(&state, &ctx, &session, &staff, &current, page).await?;
            Ok(problems.respond(html))
        }
        Err(error) => Err(error),
    }
}

/// The confirmation to print and hand to the caller (予約確認票).
async fn confirmation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let (view, _, _) = reservation_view(&state, &ctx, &reservation).await?;
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "staff/confirmation.html",
        &base,
        context! { section => "proxy", r => view },
    )
}

// ---------------------------------------------------------------------------------------------
// Cancelling: GET and POST /staff/reservations/{id}/cancel

/// The cancellation asks once: what will be cancelled (number, service, time, office, name)
/// with the reason to give, then one button. Plain forms, so it works without JavaScript.
async fn render_cancel(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    reservation: &Reservation,
    reason: &str,
    problems: Option<&FormProblems>,
) -> AppResult<Html<String>> {
    let (view, _, _) = reservation_view(state, ctx, reservation).await?;
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/cancel.html",
        &base,
        context! {
            section => "sheet",
            r => view,
            reason,
            alert => problems.map(|p| p.alert.clone()),
            errors => problems.map(|p| p.errors.clone()).unwrap_or_default(),
        },
    )
}

async fn cancel_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    if !reservation.status.holds_a_seat() {
        // Nothing left to cancel: the reservation's page says so.
        return Ok(Redirect::to(&format!("/staff/reservations/{id}")).into_response());
    }
    let html = render_cancel(&state, &ctx, &session, &staff, &reservation, "", None).await?;
    Ok(html.into_response())
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

async fn cancel_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<CancelForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let actor = By {
        account: staff.account.id,
        by_staff: true,
        access: Some(&staff.access),
        reason: Some(form.reason.as_str()),
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    match uc::cancel(&state.reservations(), &scope, &reservation, actor)
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to(&format!("/staff/reservations/{id}?cancelled=1")).into_response()),
        Err(error) if shown_on_page(&error) => {
            cancel_refused(&state, &ctx, &session, &staff, id, &form.reason, &error).await
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// Refunding a fee paid for a seat that was given up: POST /staff/reservations/{id}/refund

#[derive(Deserialize)]
struct RefundForm {
    #[serde(default)]
    reason: String,
}

/// Requests the refund of what was paid for a cancelled or expired reservation; finance
/// approves or rejects it (not the requester).
async fn refund_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<RefundForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let reservation = handled_reservation(&state, &ctx, &staff, id).await?;
    let service = state
        .storage
        .service(ctx.tenant.id, reservation.service_id)
        .await?;
    let fee = crate::view::fee::fee_view(&state, &ctx, &reservation, &service, now_utc()).await?;
    let payment = fee
        .filter(|f| f.state == "refund_due")
        .and_then(|f| f.refundable_payment)
        .ok_or(AppError::new(ErrorCode::PaymentNotRefundable))?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let requested = madoguchi_usecases::payments::refunds::request(
        &*state.storage,
        &scope,
        &staff.access,
        payment,
        None,
        &form.reason,
    )
    .await
    .map_err(AppError::from);
    match requested {
        Ok(_) => Ok(
            Redirect::to(&format!("/staff/reservations/{id}?refund_requested=1")).into_response(),
        ),
        Err(error) if shown_on_page(&error) => {
            let problems = FormProblems::refused(&error, ctx.lang, |f| {
                let message = match f.field.as_str() {
                    "reason" => reason_message(&form.reason, ctx.lang),
                    _ => f.code.message(ctx.lang).to_owned(),
                };
                (format!("refund_{}", f.field), message)
            });
            let page = DetailPage {
                alert: Some(problems.alert.clone()),
                errors: problems.errors.clone(),
                values: BTreeMap::from([("refund_reason".to_owned(), form.reason.clone())]),
                ..DetailPage::default()
            };
            let html = render_detail(&state, &ctx, &session, &staff, &reservation, page).await?;
            Ok(problems.respond(html))
        }
        Err(error) => Err(error),
    }
}
