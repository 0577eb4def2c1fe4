//! The remote counter (リモート窓口): the queues' API for residents (taking a ticket, their
//! place in line), branch kiosks and HQ specialists (call next and what follows), as
//! ARCHITECTURE.md describes. Pages, signalling and rooms come next.

pub mod api;

use crate::state::AppState;
use axum::Router;

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    api::router()
}
