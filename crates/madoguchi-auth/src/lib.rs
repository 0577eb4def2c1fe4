//! Credentials for Madoguchi: argon2id password hashes, one-time tokens for mail links,
//! signed API bearer tokens (JWT), CSRF tokens, the remote counter's join grants (JWT) and
//! time-limited TURN credentials.
//!
//! Architecture invariant: this crate does no I/O; storing and checking state (lockouts, token
//! use) is the storage layer's job, so every function here is a pure transformation.

pub mod api_token;
pub mod csrf;
pub mod join_grant;
pub mod one_time;
pub mod password;
pub mod turn;

pub use api_token::{ApiClaims, ApiScope, ApiTokenError, ApiTokenKeys};
pub use password::{PasswordHasher, hash_password, verify_password};
