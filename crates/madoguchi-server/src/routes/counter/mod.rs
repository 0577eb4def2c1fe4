//! The remote counter (リモート窓口): the queues' API for residents (taking a ticket, their
//! place in line), branch kiosks and HQ specialists (call next and what follows), and the
//! pages for residents and specialists, as ARCHITECTURE.md describes. Signalling and rooms come
//! next.

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
