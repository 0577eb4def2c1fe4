//! LINE: residents link their account, administrators set the city's channel, and LINE calls
//! the signed webhook.

pub mod hook;
pub mod pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router().merge(hook::router())
}
