//! The city's booking policy (administrators): how many no-shows suspend online booking.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::{FormProblems, staff_base};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/booking-policy",
        get(booking_policy).post(save_booking_policy),
    )
}

/// The no-show policy as the form shows it.
#[derive(Deserialize, Serialize)]
struct PolicyForm {
    #[serde(default)]
    count: String,
    #[serde(default)]
    within_days: String,
    #[serde(default)]
    suspend_days: String,
}

async fn render_booking_policy(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let base = staff_base(ctx, staff, session).await?;
    state
        .templates
        .page("admin/booking_policy.html", &base, extra)
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// The city's booking policy: how many no-shows in how many days suspend online booking, and
/// for how long.
async fn booking_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let policy = madoguchi_usecases::reservations::policy_of(&*state.storage, ctx.tenant.id)
        .await?
        .no_show;
    let values = PolicyForm {
        count: policy.count.to_string(),
        within_days: policy.within_days.to_string(),
        suspend_days: policy.suspend_days.to_string(),
    };
    render_booking_policy(
        &state,
        &ctx,
        &session,
        &staff,
        context! { values, saved => query.saved.is_some() },
    )
    .await
}

async fn save_booking_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<PolicyForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let mut errors = BTreeMap::new();
    let mut number = |field: &str, raw: &str, range: std::ops::RangeInclusive<u16>| match raw
        .trim()
        .parse::<u16>()
    {
        Ok(n) if range.contains(&n) => n,
        _ => {
            let message = crate::i18n::text(ctx.lang, "policy_number_invalid")
                .replace("{min}", &range.start().to_string())
                .replace("{max}", &range.end().to_string());
            errors.insert(field.to_owned(), message);
            0
        }
    };
    let policy = madoguchi_booking::NoShowPolicy {
        count: number("count", &form.count, 0..=100),
        within_days: number("within_days", &form.within_days, 1..=3650),
        suspend_days: number("suspend_days", &form.suspend_days, 0..=3650),
    };
    if !errors.is_empty() {
        let problems = FormProblems::invalid(errors, ctx.lang);
        let (errors, alert) = (&problems.errors, &problems.alert);
        let page = render_booking_policy(
            &state,
            &ctx,
            &session,
            &staff,
            context! { values => form, errors, alert },
        )
        .await?;
        return Ok(problems.respond(page));
    }
    let json = serde_json::to_value(madoguchi_booking::BookingPolicy { no_show: policy })
        .map_err(AppError::internal)?;
    state
        .storage
        .set_booking_policy(ctx.tenant.id, &json, madoguchi_storage::now_utc())
        .await?;
    madoguchi_usecases::audit::record(
        &*state.storage,
        &state.scope(
            ctx.tenant.id,
            madoguchi_usecases::Actor::Staff(staff.account.id),
        ),
        "booking.policy_changed",
        None,
        json,
    )
    .await?;
    Ok(Redirect::to("/admin/booking-policy?saved=1").into_response())
}
