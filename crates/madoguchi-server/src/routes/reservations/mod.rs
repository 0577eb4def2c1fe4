//! Reservations: the resident's booking pages, the staff pages (day sheet, booking for a caller,
//! a reservation's handling, suspensions, the booking policy), and their API.

pub mod api;
pub mod flows_api;
pub mod resident_pages;
pub mod staff_pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    resident_pages::router().merge(staff_pages::router())
}

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    api::router().merge(flows_api::router())
}
