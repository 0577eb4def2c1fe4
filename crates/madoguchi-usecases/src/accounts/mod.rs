//! Accounts: resident sign-up with email verification, sign-in with lockout and rate limits,
//! password reset, staff invitations and roles, and the operator's role grant for recovery.
//! Pages, the API and the command line call these; sessions, cookies, CSRF and reading the
//! client address from headers stay in the server, which passes what it read as plain values.
//!
//! Every use case validates all its input before writing anything, answers with stable error
//! codes, and records what staff and sign-ins did in the audit log (ids only).

pub mod mail;
pub mod operator;
pub mod passwords;
pub mod reset;
pub mod sign_in;
pub mod sign_up;
pub mod staff;
pub mod tokens;

pub use mail::{Letters, MAIL_SEND, base_url_for};
pub use operator::{Granted, OperatorError, RoleGrant, grant_role};
pub use reset::{request_password_reset, reset_password};
pub use sign_in::{SignIn, actor_for, sign_in, sign_out};
pub use sign_up::{SignUpInput, send_verification, sign_up, verify_email};
pub use staff::{NewStaffInput, add_roles, change_roles, invite_staff, remove_role};
pub use tokens::{IssuedToken, TokenRequest, issue_api_token};

use madoguchi_auth::PasswordHasher;
use madoguchi_jobs::JobQueue;
use madoguchi_storage::{AccountStore, AuditStore, LockoutPolicy, Tenant};
use std::sync::Arc;

/// The storage the account use cases need: accounts (with their tokens and rate limits) and
/// the audit log.
pub trait AccountStores: AccountStore + AuditStore {}

impl<T> AccountStores for T where T: AccountStore + AuditStore + ?Sized {}

/// The limits and lifetimes an installation configures for accounts.
#[derive(Clone, Debug)]
pub struct AccountSettings {
    /// The installation's address, for links in mail when the city has no host of its own.
    pub public_url: String,
    pub lockout: LockoutPolicy,
    pub sign_in_per_ip_per_minute: i64,
    /// Also bounds password-reset requests per address and hour.
    pub sign_up_per_ip_per_hour: i64,
    pub verification_ttl_s: i64,
    pub reset_ttl_s: i64,
}

/// What the account use cases work with besides the scope: the storage, the (slow, blocking)
/// password hasher, the job queue that sends mail, the mail texts, the settings, and the city
/// the scope names (its names and host go into the mail).
pub struct Deps<'a, S: ?Sized> {
    pub store: &'a S,
    pub hasher: &'a Arc<PasswordHasher>,
    pub jobs: &'a JobQueue,
    pub letters: &'a dyn Letters,
    pub settings: AccountSettings,
    pub city: &'a Tenant,
}
