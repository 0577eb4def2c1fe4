//! Every route of the server, grouped by audience.

pub mod account_pages;
pub mod admin_pages;
pub mod api;
pub mod booking_pages;
pub mod calendar_api;
pub mod calendar_pages;
pub mod feed;
pub mod line_pages;
pub mod ops;
pub mod pages;
pub mod reservation_flows_api;
pub mod reservations_api;
pub mod staff_pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(pages::router())
        .merge(account_pages::router())
        .merge(admin_pages::router())
        .merge(calendar_pages::router())
        .merge(booking_pages::router())
        .merge(line_pages::router())
        .merge(staff_pages::router())
        .merge(feed::router())
        .nest(
            "/api/v1",
            api::router()
                .merge(reservations_api::router())
                .merge(calendar_api::router())
                .merge(reservation_flows_api::router())
                .merge(feed::api_router()),
        )
        .merge(ops::router())
        .fallback(pages::not_found)
}
