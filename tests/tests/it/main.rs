//! The one integration-test binary of the workspace (one binary keeps link times down).

// Test helpers may panic on broken fixtures: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_contract;
mod accounts;
mod admin;
mod bad_input;
mod booking_contract;
mod booking_flows;
mod booking_pages;
mod booking_rush_contract;
mod browser;
mod calendar_admin;
mod calendar_contract;
mod calendar_usecases;
mod clock;
mod contract;
mod day_sheet_pages;
mod demo;
mod feed_contract;
mod flows_contract;
mod ical_feed;
mod jobs;
mod line;
mod line_contract;
mod line_usecases;
mod openapi;
mod operations_contract;
mod outbox;
mod privacy;
mod probe_reservations;
mod reservations;
mod restart;
mod schemathesis;
mod scope;
mod staff_pages;
