//! Every route of the server, grouped by audience.

pub mod accounts;
pub mod admin;
pub mod booking_pages;
pub mod calendar_api;
pub mod calendar_pages;
pub mod feed;
pub mod line_pages;
pub mod ops;
pub mod org;
pub mod pages;
pub mod reservation_flows_api;
pub mod reservations_api;
pub mod staff_pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(pages::router())
        .merge(accounts::router())
        .merge(org::router())
        .merge(admin::router())
        .merge(calendar_pages::router())
        .merge(booking_pages::router())
        .merge(line_pages::router())
        .merge(staff_pages::router())
        .merge(feed::router())
        .nest(
            "/api/v1",
            accounts::api_router()
                .merge(org::api_router())
                .merge(admin::api_router())
                .merge(reservations_api::router())
                .merge(calendar_api::router())
                .merge(reservation_flows_api::router())
                .merge(feed::api_router()),
        )
        .merge(ops::router())
        .fallback(pages::not_found)
}
