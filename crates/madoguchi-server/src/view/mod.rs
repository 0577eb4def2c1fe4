//! What pages share: the page frame, form errors (and showing a posted form again), the
//! booking form of residents and staff, a reservation's fee, and how reservations, dates and
//! names are written. Route modules use these instead of importing one another.

pub mod booking_form;
pub mod calendar;
pub mod fee;
pub mod feed;
pub mod line;
pub mod month_calendar;
pub mod page;
pub mod present;
pub mod qr;
pub mod stylesheets;
