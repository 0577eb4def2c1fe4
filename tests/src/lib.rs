//! Test support for Madoguchi's black-box tests: fresh databases per test, the app on port 0,
//! a real SMTP listener, the browser-test runner, and the helpers the tests share (signed-in
//! clients and API tokens, storage fixtures, reading pages and mail).

pub mod app;
pub mod clients;
pub mod contract;
pub mod days;
pub mod db;
pub mod fixtures;
pub mod pages;
pub mod signal_ws;
pub mod smtp;
