//! `/admin/capabilities`: each capability with its state, and a button to switch it (for the
//! capabilities this build has). Administrators only; every switch is audited.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::AppResult;
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::{form_errors, staff_base};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::{Capability, CityCapabilities};
use madoguchi_usecases::{Actor, capabilities};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/capabilities",
        get(capabilities_page).post(switch_capability),
    )
}

/// One row of the page.
#[derive(Serialize)]
struct CapabilityRow {
    name: &'static str,
    built: bool,
    on: bool,
}

fn rows(city: &CityCapabilities) -> Vec<CapabilityRow> {
    Capability::ALL
        .into_iter()
        .map(|c| CapabilityRow {
            name: c.as_str(),
            built: c.is_built(),
            on: city.is_on(c),
        })
        .collect()
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn capabilities_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let city = capabilities::of_city(&*state.storage, ctx.tenant.id).await?;
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "admin/capabilities.html",
        &base,
        context! { rows => rows(&city), saved => query.saved.is_some() },
    )
}

#[derive(Deserialize)]
struct SwitchForm {
    #[serde(default)]
    capability: String,
    /// `on` or `off`.
    #[serde(default)]
    state: String,
}

async fn switch_capability(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<SwitchForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let switched = match (capabilities::parse(&form.capability), form.state.as_str()) {
        (Ok(capability), "on" | "off") => {
            let on = form.state == "on";
            capabilities::switch(&*state.storage, &state, &scope, capability, on).await
        }
        (Err(error), _) => Err(error),
        (Ok(_), _) => Err(madoguchi_domain::ErrorCode::ValidationFailed.into()),
    };
    match switched {
        Ok(_) => Ok(Redirect::to("/admin/capabilities?saved=1").into_response()),
        Err(error) => {
            let (status, _, alert) = form_errors(error.into(), ctx.lang)?;
            let city = capabilities::of_city(&*state.storage, ctx.tenant.id).await?;
            let base = staff_base(&ctx, &staff, &session).await?;
            let page = state.templates.page(
                "admin/capabilities.html",
                &base,
                context! { rows => rows(&city), alert },
            )?;
            Ok((status, page).into_response())
        }
    }
}
