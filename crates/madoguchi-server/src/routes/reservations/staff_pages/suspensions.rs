//! The no-show suspensions: the city-wide list and lifting one early.

use super::require_handler;
use super::text;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::*;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::ErrorCode;
use madoguchi_storage::{StorageError, now_utc};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations as uc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/suspensions", get(suspensions))
        .route("/staff/suspensions/{id}/lift", post(lift))
}

// ---------------------------------------------------------------------------------------------
// GET /staff/suspensions, POST /staff/suspensions/{id}/lift

#[derive(Serialize)]
struct SuspensionView {
    id: String,
    name: String,
    email: String,
    since: String,
    until: String,
    no_shows: i64,
    /// Whether this staff member may lift it (the imposing office, or an administrator).
    may_lift: bool,
    reason: String,
    error: Option<String>,
}

/// What the list says on top, and the row a refusal was about.
#[derive(Default)]
struct SuspensionsPage {
    notice: Option<String>,
    alert: Option<String>,
    row: Option<(Uuid, String, Option<String>)>,
}

async fn render_suspensions(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    page: SuspensionsPage,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let list = state
        .storage
        .suspensions_in_force(ctx.tenant.id, now_utc())
        .await?;
    let mut rows = Vec::with_capacity(list.len());
    for suspension in list {
        let account = match state
            .storage
            .account(ctx.tenant.id, suspension.account_id)
            .await
        {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        let (reason, error) = match &page.row {
            Some((id, reason, error)) if *id == suspension.id => (reason.clone(), error.clone()),
            _ => (String::new(), None),
        };
        rows.push(SuspensionView {
            id: suspension.id.to_string(),
            name: account
                .as_ref()
                .map(|a| a.display_name.as_str().to_owned())
                .unwrap_or_else(|| text(lang, "staff_res_unknown_account")),
            email: account
                .as_ref()
                .map(|a| a.email.as_str().to_owned())
                .unwrap_or_default(),
            since: date_label(tokyo_date(suspension.starts_at), lang),
            until: format!(
                "{} {}",
                date_label(tokyo_date(suspension.ends_at), lang),
                clock(suspension.ends_at)
            ),
            no_shows: suspension.no_shows,
            may_lift: staff.access.may_lift_suspension(suspension.office_id),
            reason,
            error,
        });
    }
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "staff/suspensions.html",
        &base,
        context! {
            section => "suspensions",
            rows,
            notice => page.notice,
            alert => page.alert,
        },
    )
}

#[derive(Deserialize, Default)]
struct SuspensionsQuery {
    #[serde(default)]
    lifted: String,
}

async fn suspensions(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SuspensionsQuery>,
) -> AppResult<Html<String>> {
    require_handler(&staff)?;
    let page = SuspensionsPage {
        notice: (!query.lifted.is_empty()).then(|| text(ctx.lang, "staff_res_lifted")),
        ..SuspensionsPage::default()
    };
    render_suspensions(&state, &ctx, &session, &staff, page).await
}

#[derive(Deserialize)]
struct LiftForm {
    #[serde(default)]
    reason: String,
}

async fn lift(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<LiftForm>,
) -> AppResult<Response> {
    require_handler(&staff)?;
    let lang = ctx.lang;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    match uc::lift_suspension(
        &state.reservations(),
        &scope,
        staff.account.id,
        &staff.access,
        id,
        &form.reason,
    )
    .await
    .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to("/staff/suspensions?lifted=1").into_response()),
        Err(error) if error.status.is_client_error() && error.code != ErrorCode::Forbidden => {
            let page = if error.fields.iter().any(|f| f.field == "reason") {
                SuspensionsPage {
                    alert: Some(ErrorCode::ValidationFailed.message(lang).to_owned()),
                    row: Some((
                        id,
                        form.reason.clone(),
                        Some(super::detail::reason_message(&form.reason, lang)),
                    )),
                    ..SuspensionsPage::default()
                }
            } else {
                // Lifted meanwhile by a colleague, or run out: the list shows it is gone.
                SuspensionsPage {
                    alert: Some(text(lang, "staff_res_lift_gone")),
                    ..SuspensionsPage::default()
                }
            };
            let html = render_suspensions(&state, &ctx, &session, &staff, page).await?;
            Ok((error.status, html).into_response())
        }
        Err(error) => Err(error),
    }
}
