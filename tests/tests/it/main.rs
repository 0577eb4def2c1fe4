//! The one integration-test binary of the workspace (one binary keeps link times down).

// Test helpers may panic on broken fixtures: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_contract;
mod accounts;
mod admin;
mod audit_actions;
mod bad_input;
mod booking_contract;
mod booking_flows;
mod booking_pages;
mod booking_rush_contract;
mod browser;
mod calendar_admin;
mod calendar_contract;
mod calendar_usecases;
mod capabilities;
mod capabilities_contract;
mod clock;
mod contract;
mod counter_finance;
mod day_sheet_pages;
mod demo;
mod feed_contract;
mod flows_contract;
mod ical_feed;
mod jobs;
mod line;
mod line_contract;
mod line_usecases;
mod messages;
mod openapi;
mod operations_contract;
mod outbox;
mod outbox_pages;
mod payments_contract;
mod privacy;
mod probe_reservations;
mod questions;
mod reference_contract;
mod reservations;
mod restart;
mod return_path;
mod schemathesis;
mod scope;
mod staff_pages;
