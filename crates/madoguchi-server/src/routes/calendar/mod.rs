//! The municipal calendar: holidays and their import, the year-end closure and offices' closing
//! days, as administrator pages and as API.

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
