//! The HTTP face of Madoguchi: server-rendered pages for residents and staff, the `/api/v1`
//! JSON API with its OpenAPI document, and operations endpoints.
//!
//! Architecture invariant: the server keeps no state in memory that another node would need.
//! Sessions, rate limits, lockouts and jobs live in the database; the only in-process state is
//! caches that any node can rebuild (templates, the tenant lookup).

pub mod app;
pub mod config;
pub mod day_sheet;
pub mod demo;
pub mod gateways;
pub mod http;
pub mod i18n;
pub mod input;
pub mod jobs;
pub mod media;
pub mod media_node;
pub mod metrics_endpoint;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod templates;
pub mod view;

pub use app::{build_media_router, build_router, serve, serve_media};
pub use config::{CounterConfig, PaymentsConfig, ServerConfig, StripeCityConfig, TurnConfig};
pub use state::AppState;
