//! Every route of the server, grouped by audience.

pub mod account_pages;
pub mod admin_pages;
pub mod api;
pub mod booking_pages;
pub mod ops;
pub mod pages;
pub mod reservations_api;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(pages::router())
        .merge(account_pages::router())
        .merge(admin_pages::router())
        .merge(booking_pages::router())
        .nest("/api/v1", api::router().merge(reservations_api::router()))
        .merge(ops::router())
        .fallback(pages::not_found)
}
