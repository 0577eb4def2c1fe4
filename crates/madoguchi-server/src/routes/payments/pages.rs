//! `/finance`: finance's own page. A placeholder that lists what is coming, marked as such,
//! with no figures and no links to pages that do not exist yet.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::page::staff_base;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use minijinja::context;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new().route("/finance", get(finance))
}

async fn finance(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    if !staff.access.may_read_finance() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let base = staff_base(&ctx, &staff, &session).await?;
    state
        .templates
        .page("payments/finance.html", &base, context! {})
}
