//! The use cases of Madoguchi, by capability: what a resident, a staff member, a job, a webhook
//! or an operator at the command line can do. Each use case takes a [`Scope`] (which city, who
//! acts, which clock), asks only for the storage sub-traits it needs (`S: OrgStore + AuditStore
//! + ?Sized`, so `&dyn Storage` fits), and returns a [`UseCaseError`].
//!
//! Architecture invariant: this crate knows nothing of HTTP (no axum, no status codes, no
//! request context). The server maps [`UseCaseError`] to a response in one place.
//!
//! Architecture invariant: a use case reads the time from `Scope::now`, never from the
//! operating system, so tests can stand at any instant.
//!
//! Capabilities move here from `madoguchi-server` one at a time (`org` first, then
//! `reservations` and `calendar`); see ARCHITECTURE.md for where a new capability's parts go.

pub mod accounts;
pub mod audit;
pub mod cache;
pub mod calendar;
pub mod capabilities;
pub mod counter;
pub mod error;
pub mod feed;
pub mod line;
pub mod notices;
pub mod org;
pub mod payments;
pub mod reservations;
pub mod scope;
pub mod slip_imports;
pub mod slip_uploads;
pub mod slips;

pub use cache::NodeCaches;
pub use error::{FieldError, UseCaseError, UseCaseResult};
pub use scope::{Actor, Scope};
