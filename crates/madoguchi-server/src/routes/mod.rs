//! Every route of the server, grouped by audience.

pub mod accounts;
pub mod admin;
pub mod calendar_api;
pub mod calendar_pages;
pub mod feed;
pub mod line_pages;
pub mod ops;
pub mod org;
pub mod pages;
pub mod reservations;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(pages::router())
        .merge(accounts::router())
        .merge(org::router())
        .merge(admin::router())
        .merge(calendar_pages::router())
        .merge(reservations::router())
        .merge(line_pages::router())
        .merge(feed::router())
        .nest(
            "/api/v1",
            accounts::api_router()
                .merge(org::api_router())
                .merge(admin::api_router())
                .merge(reservations::api_router())
                .merge(calendar_api::router())
                .merge(feed::api_router()),
        )
        .merge(ops::router())
        .fallback(pages::not_found)
}
