//! What operators of a city look at: the administrator's index, the audit log, the mail outbox
//! and background jobs.

pub mod api;
mod audit_page;
pub mod pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router()
}

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    api::router()
}
