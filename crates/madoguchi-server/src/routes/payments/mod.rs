//! Payments and reconciliation: finance's pages, the providers' webhooks and the sandbox
//! gateway's payment page. Receivables, payments and refunds add their pages and API here
//! (`pages.rs`, `api.rs`), as ARCHITECTURE.md describes.

pub mod hooks;
pub mod pages;
pub mod sandbox;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router()
        .merge(hooks::router())
        .merge(sandbox::router())
}
