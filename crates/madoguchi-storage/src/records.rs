//! Rows as the rest of the program sees them, already parsed into domain types.

use madoguchi_domain::{
    AccountId, AccountKind, AuditId, DepartmentId, DisplayName, Email, JobId, Lang, OfficeId,
    OfficeKind, OrgCode, RoleAssignment, TenantId, TenantSlug,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Result of [`crate::SchemaStore::migrate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call (empty when already up to date).
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub current: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name_ja: String,
    pub name_en: String,
    /// Host name this tenant is served on, for installations serving several cities.
    pub host: Option<String>,
    pub created_at: OffsetDateTime,
}

impl Tenant {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub name_ja: String,
    pub name_en: String,
    pub host: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Office {
    pub id: OfficeId,
    pub tenant_id: TenantId,
    pub code: OrgCode,
    pub kind: OfficeKind,
    pub name_ja: String,
    pub name_en: String,
    pub created_at: OffsetDateTime,
}

impl Office {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewOffice {
    pub code: OrgCode,
    pub kind: OfficeKind,
    pub name_ja: String,
    pub name_en: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Department {
    pub id: DepartmentId,
    pub tenant_id: TenantId,
    pub code: OrgCode,
    pub name_ja: String,
    pub name_en: String,
    /// The office the department sits in (usually headquarters).
    pub office_id: Option<OfficeId>,
    pub created_at: OffsetDateTime,
}

impl Department {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewDepartment {
    pub code: OrgCode,
    pub name_ja: String,
    pub name_en: String,
    pub office_id: Option<OfficeId>,
}

/// An argon2id hash in PHC string form. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub tenant_id: TenantId,
    pub kind: AccountKind,
    pub email: Email,
    pub display_name: DisplayName,
    pub password_hash: PasswordHash,
    /// Sessions and API tokens issued before this are no longer honoured.
    pub password_changed_at: OffsetDateTime,
    pub locale: Lang,
    pub email_verified_at: Option<OffsetDateTime>,
    pub failed_sign_ins: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
}

impl Account {
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub kind: AccountKind,
    pub email: Email,
    pub display_name: DisplayName,
    pub password_hash: PasswordHash,
    pub locale: Lang,
    /// When the address was proven; `None` until the owner opens the link mailed to it (residents
    /// at sign-up, staff through their invitation). The demo seed sets it.
    pub email_verified_at: Option<OffsetDateTime>,
    pub roles: Vec<RoleAssignment>,
}

/// What a one-time token is for; a token of one purpose never works for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewOneTimeToken {
    pub account_id: AccountId,
    pub purpose: TokenPurpose,
    /// SHA-256 of the token; the token itself is only ever in the mail.
    pub token_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// How many failed sign-ins within how long lock an account, and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub window_s: i64,
    pub lock_s: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        // Five tries in fifteen minutes, then a fifteen-minute lock: slows guessing to a crawl
        // while a resident who mistyped can still get in the same morning.
        Self {
            max_failures: 5,
            window_s: 15 * 60,
            lock_s: 15 * 60,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInFailureState {
    pub failed_sign_ins: i64,
    pub locked_until: Option<OffsetDateTime>,
}

/// Who did something recorded in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Resident,
    Staff,
    System,
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Resident => "resident",
            ActorKind::Staff => "staff",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }

    pub fn parse(raw: &str) -> Option<ActorKind> {
        match raw {
            "resident" => Some(ActorKind::Resident),
            "staff" => Some(ActorKind::Staff),
            "system" => Some(ActorKind::System),
            "anonymous" => Some(ActorKind::Anonymous),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub tenant_id: TenantId,
    pub at: OffsetDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<AccountId>,
    /// Dotted action name, e.g. `staff.sign_in`, `staff.roles_changed`, `office.created`.
    pub action: String,
    pub target: Option<String>,
    /// Structured details; never personal data such as names or addresses (ids only).
    pub details: serde_json::Value,
}

#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    pub at: OffsetDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<AccountId>,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
}

/// Filters for browsing the audit log, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Actions starting with this prefix (e.g. `staff.` or `staff.sign_in`).
    pub action_prefix: Option<String>,
    pub actor_id: Option<AccountId>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only entries strictly older than this (keyset paging).
    pub before: Option<OffsetDateTime>,
    pub limit: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<JobStatus> {
        match raw {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

/// A background job. Its payload can hold personal data (a mail's recipient and links), so
/// the storage clears it once the job is done or failed for good, and `Debug` leaves it out.
#[derive(Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: Option<TenantId>,
    /// What handler runs it, e.g. `mail.send`.
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub run_at: OffsetDateTime,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_until: Option<OffsetDateTime>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("run_at", &self.run_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewJob {
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: OffsetDateTime,
    pub max_attempts: i64,
}

impl fmt::Debug for NewJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewJob")
            .field("kind", &self.kind)
            .field("run_at", &self.run_at)
            .finish_non_exhaustive()
    }
}
