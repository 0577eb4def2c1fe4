//! Payments and reconciliation: the counter's checkout and finance's pages for staff, their
//! API, the providers' webhooks and the sandbox gateway's payment page. Receivables, payments
//! and refunds add their pages and API here, as ARCHITECTURE.md describes.

pub mod counter_pages;
pub mod finance_pages;
pub mod hooks;
pub mod pages;
pub mod sandbox;
pub mod staff_api;
mod staff_view;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router()
        .merge(counter_pages::router())
        .merge(finance_pages::router())
        .merge(hooks::router())
        .merge(sandbox::router())
}

/// The payment operations of `/api/v1`.
pub fn api_router() -> Router<AppState> {
    staff_api::api_router()
}
