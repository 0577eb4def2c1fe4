//! Every route of the server, one folder (or file) per capability, pages and API side by side.
//! Each capability exposes `router()` (and `api_router()` for `/api/v1`); this module merges
//! them.
//!
//! Architecture invariant: no route module imports another capability's module. What several
//! need lives outside `routes/` (`crate::view`, `crate::input`, `crate::day_sheet`); the test
//! below keeps it so.

pub mod accounts;
pub mod admin;
pub mod calendar;
pub mod feed;
pub mod home;
pub mod line;
pub mod ops;
pub mod org;
pub mod reservations;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(accounts::router())
        .merge(org::router())
        .merge(admin::router())
        .merge(calendar::router())
        .merge(reservations::router())
        .merge(line::router())
        .merge(feed::router())
        .nest(
            "/api/v1",
            accounts::api_router()
                .merge(org::api_router())
                .merge(admin::api_router())
                .merge(reservations::api_router())
                .merge(calendar::api_router())
                .merge(feed::api_router()),
        )
        .merge(ops::router())
        .fallback(home::not_found)
}
