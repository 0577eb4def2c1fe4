//! Payments and reconciliation, for finance (会計課). Today only the page that says what the
//! payments issue will bring; receivables, payments, refunds, the ledger and reconciliation will
//! add their pages and API here (`pages.rs`, `api.rs`), as ARCHITECTURE.md describes.

pub mod pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router()
}
