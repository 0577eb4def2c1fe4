//! The capabilities a city offers (reservations now; facilities, the remote counter and
//! payments as they land): administrators switch them on or off, and the home page offers
//! only what this build has and the city has on.

pub mod pages;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    pages::router()
}
