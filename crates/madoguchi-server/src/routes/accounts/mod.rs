//! Accounts: signing up, in and out, the account page, password reset, API tokens and the
//! calling account.

pub mod api;
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
