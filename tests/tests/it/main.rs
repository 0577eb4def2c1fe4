//! The one integration-test binary of the workspace (one binary keeps link times down).

// Test helpers may panic on broken fixtures: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod bad_input;
mod booking_contract;
mod booking_pages;
mod browser;
mod contract;
mod demo;
mod jobs;
mod reservations;
mod scope;
mod support;
