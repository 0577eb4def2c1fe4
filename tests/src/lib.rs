//! Test support for Madoguchi's black-box tests: fresh databases per test, the app on port 0,
//! a real SMTP listener, and the browser-test runner.

pub mod app;
pub mod contract;
pub mod days;
pub mod db;
pub mod smtp;
