//! Tests of the municipal calendar, in one test binary: holidays, the Cabinet Office CSV, the
//! municipal calendar and fiscal years.

// Test helpers may panic on broken fixtures: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cabinet_csv;
mod calendar;
mod fiscal;
mod holidays;

/// The hand-written Cabinet Office-format list of every holiday of 2020–2030.
pub const FIXTURE_2020_2030: &str = include_str!("../fixtures/holidays_2020_2030.csv");
