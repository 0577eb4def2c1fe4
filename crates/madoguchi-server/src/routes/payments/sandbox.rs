//! The built-in sandbox gateway's payment page (`/sandbox/pay/{id}`): what Stripe's hosted page
//! is for a real city. The payer sees the amount and chooses what happens: pay, a declined
//! card, a 3-D Secure challenge, a delayed payment, or giving up. The choice reaches our books
//! only through the sandbox's signed webhook, exactly like a real provider's.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::page::page_base;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use madoguchi_storage::{SandboxIntent, SandboxStatus};
use madoguchi_usecases::payments::sandbox::{self, Outcome};
use minijinja::context;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new().route("/sandbox/pay/{id}", get(page).post(choose))
}

fn intent_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorCode::NotFound))
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    intent: &SandboxIntent,
    alert: Option<String>,
) -> AppResult<Html<String>> {
    let base = page_base(ctx, None, Some(session), false).await?;
    let voucher = sandbox::voucher(intent, &state.config.public_url).map(|v| {
        context! {
            payment_code => v.payment_code,
            confirmation_number => v.confirmation_number,
            pay_by => madoguchi_domain::tokyo::format_tokyo_minutes(intent.pay_by),
        }
    });
    state.templates.page(
        "payments/sandbox_pay.html",
        &base,
        context! {
            intent_id => intent.id.to_string(),
            amount => madoguchi_domain::Yen(intent.amount_yen).to_string(),
            description => intent.description,
            method => intent.method,
            status => intent.status.as_str(),
            open => matches!(intent.status, SandboxStatus::Open | SandboxStatus::Failed),
            challenge => intent.status == SandboxStatus::RequiresAction,
            done => !matches!(intent.status, SandboxStatus::Open | SandboxStatus::Failed | SandboxStatus::RequiresAction),
            return_url => intent.return_url,
            cancel_url => intent.cancel_url,
            voucher,
            alert,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let intent = state
        .storage
        .sandbox_intent(ctx.tenant.id, intent_id(&id)?)
        .await?;
    render(&state, &ctx, &session, &intent, None).await
}

#[derive(Deserialize)]
struct ChooseForm {
    #[serde(default)]
    outcome: String,
}

async fn choose(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<ChooseForm>,
) -> AppResult<Response> {
    let id = intent_id(&id)?;
    let outcome =
        Outcome::parse(&form.outcome).ok_or(AppError::new(ErrorCode::ValidationFailed))?;
    let chosen = sandbox::choose(
        &*state.storage,
        ctx.tenant.id,
        id,
        outcome,
        state.clock.now(),
    )
    .await;
    match chosen {
        Ok(intent) => match intent.status {
            // A challenge is the next step on this same page.
            SandboxStatus::RequiresAction => {
                Ok(Redirect::to(&format!("/sandbox/pay/{id}")).into_response())
            }
            SandboxStatus::Canceled => Ok(Redirect::to(&intent.cancel_url).into_response()),
            _ => Ok(Redirect::to(&intent.return_url).into_response()),
        },
        Err(error) => {
            let (status, _, alert) = crate::view::page::form_errors(error.into(), ctx.lang)?;
            let intent = state.storage.sandbox_intent(ctx.tenant.id, id).await?;
            let page = render(&state, &ctx, &session, &intent, Some(alert)).await?;
            Ok((status, page).into_response())
        }
    }
}
