//! The one integration-test binary of the workspace (one binary keeps link times down).

mod accounts;
mod bad_input;
mod browser;
mod contract;
mod jobs;
mod scope;
mod support;
