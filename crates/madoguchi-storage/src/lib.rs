//! The storage boundary of Madoguchi: records, the capability traits every backend implements,
//! and the one error type they return.
//!
//! Architecture invariant: nothing above this crate knows which database it talks to. The
//! SQLite and PostgreSQL crates implement exactly these traits, and the contract suite in
//! `tests/` runs the same stories against both.
//!
//! Every method that touches tenant data takes the `TenantId` explicitly, so a query can never
//! forget the tenant scope.

pub mod booking;
pub mod calendar;
pub mod capabilities;
pub mod counter;
pub mod counter_rooms;
pub mod facilities;
pub mod feeds;
pub mod fees;
pub mod konbini_chunk;
pub mod konbini_imports;
pub mod line;
pub mod lotteries;
pub mod media_nodes;
pub mod outbox;
pub mod payments;
pub mod records;
pub mod sandbox;
pub mod slips;
pub mod suspensions;
pub mod waitlist;

use async_trait::async_trait;
pub use booking::*;
pub use calendar::*;
pub use capabilities::*;
pub use counter::*;
pub use counter_rooms::*;
pub use facilities::*;
pub use feeds::*;
pub use fees::*;
pub use konbini_imports::*;
pub use line::*;
pub use lotteries::*;
use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, Email, JobId, OfficeId, RoleAssignment, TenantId,
};
pub use media_nodes::*;
pub use outbox::*;
pub use payments::*;
pub use records::*;
pub use sandbox::*;
pub use slips::*;
pub use suspensions::*;
use time::OffsetDateTime;
pub use waitlist::*;

/// Why a storage call failed. Backends map their driver errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` names it (e.g. `accounts_email`).
    #[error("unique constraint {constraint} violated")]
    Duplicate { constraint: String },
    /// A foreign key or check constraint refused the write.
    #[error("constraint {constraint} violated")]
    Constraint { constraint: String },
    /// The database was migrated by a newer Madoguchi than this binary.
    #[error(
        "database schema version {database} is newer than this binary's {binary}; upgrade Madoguchi"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    /// The database was not migrated to this binary's version yet; run `madoguchi migrate`.
    #[error(
        "database schema version {database} is older than this binary's {binary}; run `madoguchi migrate`"
    )]
    SchemaBehind { database: i64, binary: i64 },
    /// The change would leave the tenant without an active administrator (decided inside the
    /// write's transaction, so two simultaneous changes cannot both pass).
    #[error("the tenant's last administrator would be lost")]
    LastAdmin,
    /// The database refused a booking change for a business reason (full, over the limit, …).
    #[error("refused: {0}")]
    Refused(#[from] booking::Refusal),
    /// The database could not be reached or timed out; worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A service's stored rules no longer decode into `ServiceRules` (written by an older
    /// version in another shape). Only reads of that one service fail with it;
    /// `list_services` skips such a row and logs its id, so one bad row cannot hide the others.
    #[error("the stored rules of service {0} no longer decode")]
    UnreadableRules(madoguchi_domain::ServiceId),
    /// The database refused a payment change for a municipal or bookkeeping rule, decided by
    /// `madoguchi-payments` under the row lock (the code says which); nothing was written.
    #[error("payment refused: {0}")]
    PaymentRule(madoguchi_domain::ErrorCode),
    /// The database refused a remote-counter change for a rule decided under the queue's lock
    /// (the code says which: a closed queue, a ticket that moved on, …); nothing was written.
    #[error("counter refused: {0}")]
    CounterRule(madoguchi_domain::ErrorCode),
    /// The database refused a convenience-store slip change (no settings, nothing to issue,
    /// the reissue limit, …); nothing was written.
    #[error("slip refused: {0}")]
    SlipRule(madoguchi_domain::ErrorCode),
    /// The database refused a facility booking change (the unit is taken at that time, the
    /// booking no longer holds it); nothing was written.
    #[error("facility refused: {0}")]
    FacilityRule(madoguchi_domain::ErrorCode),
    #[error("database error: {0}")]
    Other(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Schema management and liveness.
#[async_trait]
pub trait SchemaStore: Send + Sync {
    /// Applies pending migrations. Idempotent. Refuses a database migrated by a newer binary.
    async fn migrate(&self) -> StorageResult<MigrationReport>;
    /// Refuses to run on a database that is behind or ahead of this binary.
    async fn check_schema(&self) -> StorageResult<()>;
    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> StorageResult<()>;
    /// `sqlite` or `postgres`, for logs and metrics.
    fn backend_name(&self) -> &'static str;
}

/// Tenants (municipalities).
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create_tenant(&self, new: &NewTenant) -> StorageResult<Tenant>;
    async fn tenant_by_slug(&self, slug: &str) -> StorageResult<Tenant>;
    async fn tenant_by_host(&self, host: &str) -> StorageResult<Tenant>;
    async fn list_tenants(&self) -> StorageResult<Vec<Tenant>>;
}

/// Offices and departments.
#[async_trait]
pub trait OrgStore: Send + Sync {
    async fn create_office(&self, tenant: TenantId, new: &NewOffice) -> StorageResult<Office>;
    async fn update_office(
        &self,
        tenant: TenantId,
        id: OfficeId,
        new: &NewOffice,
    ) -> StorageResult<Office>;
    async fn office(&self, tenant: TenantId, id: OfficeId) -> StorageResult<Office>;
    async fn list_offices(&self, tenant: TenantId) -> StorageResult<Vec<Office>>;
    async fn create_department(
        &self,
        tenant: TenantId,
        new: &NewDepartment,
    ) -> StorageResult<Department>;
    async fn update_department(
        &self,
        tenant: TenantId,
        id: DepartmentId,
        new: &NewDepartment,
    ) -> StorageResult<Department>;
    async fn department(&self, tenant: TenantId, id: DepartmentId) -> StorageResult<Department>;
    async fn list_departments(&self, tenant: TenantId) -> StorageResult<Vec<Department>>;
}

/// Accounts, roles, one-time tokens and sign-in failure accounting.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the account and its role assignments in one transaction.
    async fn create_account(&self, tenant: TenantId, new: &NewAccount) -> StorageResult<Account>;
    async fn account(&self, tenant: TenantId, id: AccountId) -> StorageResult<Account>;
    async fn account_by_email(
        &self,
        tenant: TenantId,
        kind: AccountKind,
        email: &Email,
    ) -> StorageResult<Account>;
    async fn list_accounts(
        &self,
        tenant: TenantId,
        kind: AccountKind,
    ) -> StorageResult<Vec<Account>>;
    /// Replaces every role assignment of a staff account. Refuses with `LastAdmin` to take
    /// the role from the tenant's last active administrator.
    async fn set_roles(
        &self,
        tenant: TenantId,
        id: AccountId,
        roles: &[RoleAssignment],
    ) -> StorageResult<()>;
    async fn roles(&self, tenant: TenantId, id: AccountId) -> StorageResult<Vec<RoleAssignment>>;
    /// Sets a new password hash at `at`, which also ends every session and API token issued
    /// before (see `Account::password_changed_at`) and lifts a lockout.
    async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: AccountId,
        hash: &PasswordHash,
        at: OffsetDateTime,
    ) -> StorageResult<()>;
    async fn mark_email_verified(
        &self,
        tenant: TenantId,
        id: AccountId,
        at: OffsetDateTime,
    ) -> StorageResult<()>;
    /// Disables or enables an account; refuses with `LastAdmin` to disable the tenant's last
    /// active administrator.
    async fn set_disabled(
        &self,
        tenant: TenantId,
        id: AccountId,
        disabled: bool,
    ) -> StorageResult<()>;

    /// Stores a one-time token (only its hash) for email verification or password reset.
    async fn create_token(&self, tenant: TenantId, new: &NewOneTimeToken) -> StorageResult<()>;
    /// Marks the token used and returns its account, atomically: a token works exactly once,
    /// and only before it expires.
    async fn consume_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId>;

    /// The account a token belongs to if it is still usable, without spending it (to validate
    /// a form before the token is consumed).
    async fn peek_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId>;

    /// Counts a failed sign-in and locks the account when the policy says so, atomically.
    async fn record_sign_in_failure(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> StorageResult<SignInFailureState>;
    /// Clears the failure count after a successful sign-in.
    async fn record_sign_in_success(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
    ) -> StorageResult<()>;

    /// Fixed-window rate limit shared by every node: counts one hit on `key` and says whether it
    /// is within `max_hits` for the window of `window_s` seconds that `now` falls in.
    async fn rate_limit_hit(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_s: i64,
        max_hits: i64,
    ) -> StorageResult<bool>;
}

/// Browser sessions (tower-sessions records), stored in our database so any node can serve any request.
#[async_trait]
pub trait SessionRecordStore: Send + Sync {
    /// Inserts a new session; `Ok(false)` when the id is already taken (the caller picks another).
    async fn session_insert(
        &self,
        id: &str,
        data_json: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<bool>;
    async fn session_save(
        &self,
        id: &str,
        data_json: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<()>;
    async fn session_load(&self, id: &str, now: OffsetDateTime) -> StorageResult<Option<String>>;
    async fn session_delete(&self, id: &str) -> StorageResult<()>;
    async fn session_delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64>;
}

/// The append-only audit log. There is deliberately no update or delete; the databases refuse
/// them too (triggers), so not even a bug can rewrite history.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(
        &self,
        tenant: TenantId,
        entry: &NewAuditEntry,
    ) -> StorageResult<AuditEntry>;
    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
    ) -> StorageResult<Vec<AuditEntry>>;
}

/// Background jobs, claimed with leases so several nodes can share one database and a crashed
/// worker's job is taken over when its lease runs out.
#[async_trait]
pub trait JobStore: Send + Sync {
    async fn enqueue_job(&self, new: &NewJob) -> StorageResult<JobId>;
    /// Enqueues a job unless one with `dedupe_key` exists in its tenant (a unique index
    /// decides, not a check first): `Ok(None)` when it existed. A handler that fans out and
    /// runs again after a crash writes nothing twice.
    async fn enqueue_job_once(
        &self,
        new: &NewJob,
        dedupe_key: &str,
    ) -> StorageResult<Option<JobId>>;
    /// Claims up to `limit` due jobs (queued and due, or running with an expired lease).
    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_s: i64,
        limit: i64,
    ) -> StorageResult<Vec<Job>>;
    /// Marks a job done; only the worker holding the lease may.
    async fn complete_job(&self, id: JobId, worker: &str, now: OffsetDateTime)
    -> StorageResult<()>;
    /// Records a failure: retried at `retry_at`, or failed for good when `retry_at` is `None`.
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StorageResult<()>;
    async fn job(&self, id: JobId) -> StorageResult<Job>;
    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        status: Option<JobStatus>,
        limit: i64,
    ) -> StorageResult<Vec<Job>>;
}

/// Everything a Madoguchi node needs from its database.
pub trait Storage:
    SchemaStore
    + TenantStore
    + OrgStore
    + AccountStore
    + SessionRecordStore
    + AuditStore
    + JobStore
    + BookingStore
    + LineStore
    + FeedStore
    + CalendarStore
    + WaitlistStore
    + SuspensionStore
    + CapabilityStore
    + PaymentStore
    + SandboxStore
    + FeeStore
    + CounterStore
    + CounterRoomStore
    + MediaNodeStore
    + SlipStore
    + KonbiniImportStore
    + FacilityStore
    + LotteryStore
{
}

impl<T> Storage for T where
    T: SchemaStore
        + TenantStore
        + OrgStore
        + AccountStore
        + SessionRecordStore
        + AuditStore
        + JobStore
        + BookingStore
        + LineStore
        + FeedStore
        + CalendarStore
        + WaitlistStore
        + SuspensionStore
        + CapabilityStore
        + PaymentStore
        + SandboxStore
        + FeeStore
        + CounterStore
        + CounterRoomStore
        + MediaNodeStore
        + SlipStore
        + KonbiniImportStore
        + FacilityStore
        + LotteryStore
{
}

/// Whether a database at schema version `database` may be used by a binary that knows up to
/// `binary`: never when the database is newer; `SchemaBehind` when it still needs migrating.
pub fn compare_schema(database: i64, binary: i64) -> StorageResult<()> {
    if database > binary {
        Err(StorageError::SchemaTooNew { database, binary })
    } else if database < binary {
        Err(StorageError::SchemaBehind { database, binary })
    } else {
        Ok(())
    }
}

/// Microseconds since the Unix epoch: the SQLite encoding of instants (integers sort correctly,
/// RFC 3339 text does not across offsets).
pub fn to_unix_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The inverse of [`to_unix_micros`].
pub fn from_unix_micros(micros: i64) -> StorageResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| StorageError::Other(format!("stored instant out of range: {e}")))
}

/// The current instant truncated to whole microseconds, the precision both databases keep, so
/// a record returned from a write equals the same record read back.
pub fn now_utc() -> OffsetDateTime {
    madoguchi_domain::clock::to_microseconds(OffsetDateTime::now_utc())
}

/// The operating system's clock, for use cases (`madoguchi_domain::Clock`); tests use a
/// `ManualClock` instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl madoguchi_domain::Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        now_utc()
    }
}
