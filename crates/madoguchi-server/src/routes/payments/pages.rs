//! The residents' payment pages. Staff pages live beside them: the counter's in
//! `counter_pages.rs`, finance's (which replaced the `/finance` placeholder) in
//! `finance_pages.rs`.

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
