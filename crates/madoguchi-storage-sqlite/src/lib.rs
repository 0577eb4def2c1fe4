//! SQLite implementation of the storage traits: the embedded default for a town on one machine.
//!
//! Writes that must not race (sign-in failure counting, token use, job claims) run in
//! `BEGIN IMMEDIATE` transactions, which take SQLite's write lock up front so two writers can
//! never both read the old state. WAL mode lets readers continue meanwhile.

mod accounts;
mod audit;
mod booking;
mod calendar;
mod capabilities;
mod counter;
mod counter_rooms;
mod facilities;
mod feeds;
mod fees;
mod jobs;
mod konbini_imports;
mod line;
mod lotteries;
mod media_nodes;
mod org;
mod payment_rows;
mod payments;
mod sandbox;
mod sessions;
mod slips;
mod suspensions;
mod tenants;
mod waitlist;

use async_trait::async_trait;
use madoguchi_storage::{MigrationReport, SchemaStore, StorageError, StorageResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A Madoguchi database in one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens (creating if missing) the database file at `path`.
    pub async fn open_file(path: &Path) -> StorageResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::open_with(options).await
    }

    /// Opens a `sqlite:` URL such as `sqlite://data/madoguchi.sqlite3`.
    pub async fn open_url(url: &str) -> StorageResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StorageError::Other(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true);
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> StorageResult<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; only a power cut can
            // lose the last transactions, which is the usual trade for an embedded server.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
    }

    /// The pool, for benchmarks and tests that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a transaction holding SQLite's write lock from the first statement.
    pub(crate) async fn begin_immediate(&self) -> StorageResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)
    }

    async fn applied_version(&self) -> StorageResult<i64> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        if exists == 0 {
            return Ok(0);
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(version.unwrap_or(0))
    }
}

/// The newest migration this binary knows.
pub fn binary_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

#[async_trait]
impl SchemaStore for SqliteStorage {
    async fn migrate(&self) -> StorageResult<MigrationReport> {
        let before = self.applied_version().await?;
        let binary = binary_schema_version();
        // Behind is what migrating fixes; newer is refused before anything runs.
        if let Err(too_new @ StorageError::SchemaTooNew { .. }) =
            madoguchi_storage::compare_schema(before, binary)
        {
            return Err(too_new);
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StorageError::Other(format!("migration failed: {e}")))?;
        let applied = MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| *v > before)
            .collect();
        Ok(MigrationReport {
            applied,
            current: self.applied_version().await?,
        })
    }

    async fn check_schema(&self) -> StorageResult<()> {
        madoguchi_storage::compare_schema(self.applied_version().await?, binary_schema_version())
    }

    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

/// Maps driver errors to [`StorageError`], naming the violated unique constraint the way the
/// PostgreSQL schema names it, so callers handle both backends alike.
pub(crate) fn map_err(error: sqlx::Error) -> StorageError {
    match &error {
        sqlx::Error::RowNotFound => StorageError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StorageError::Unavailable(error.to_string())
        }
        sqlx::Error::Database(db) => {
            let message = db.message();
            if let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") {
                StorageError::Duplicate {
                    constraint: unique_constraint_name(columns),
                }
            } else if message.contains("constraint failed") {
                StorageError::Constraint {
                    constraint: message.to_owned(),
                }
            } else if message.contains("database is locked") || message.contains("busy") {
                StorageError::Unavailable(message.to_owned())
            } else {
                StorageError::Other(message.to_owned())
            }
        }
        _ => StorageError::Other(error.to_string()),
    }
}

/// `accounts.tenant_id, accounts.kind, accounts.email` → `accounts_email`, matching the
/// constraint names of the schema (which are the same on PostgreSQL).
fn unique_constraint_name(columns: &str) -> String {
    let table = columns.split('.').next().unwrap_or_default().trim();
    let last_column = columns.rsplit('.').next().unwrap_or_default().trim();
    match table {
        // `tenants.id` is the primary key, named `tenants_pkey` on PostgreSQL.
        "tenants" | "offices" | "departments" | "accounts" | "services" if last_column != "id" => {
            format!("{table}_{last_column}")
        }
        other => format!("{other}_pkey"),
    }
}

pub(crate) fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn get_uuid(row: &sqlx::sqlite::SqliteRow, column: &str) -> StorageResult<Uuid> {
    let text: String = row.try_get(column).map_err(map_err)?;
    Uuid::parse_str(&text).map_err(|e| StorageError::Other(format!("bad uuid in {column}: {e}")))
}

pub(crate) fn get_opt_uuid(
    row: &sqlx::sqlite::SqliteRow,
    column: &str,
) -> StorageResult<Option<Uuid>> {
    let text: Option<String> = row.try_get(column).map_err(map_err)?;
    text.map(|t| {
        Uuid::parse_str(&t).map_err(|e| StorageError::Other(format!("bad uuid in {column}: {e}")))
    })
    .transpose()
}

pub(crate) fn get_instant(
    row: &sqlx::sqlite::SqliteRow,
    column: &str,
) -> StorageResult<time::OffsetDateTime> {
    let micros: i64 = row.try_get(column).map_err(map_err)?;
    madoguchi_storage::from_unix_micros(micros)
}

pub(crate) fn get_opt_instant(
    row: &sqlx::sqlite::SqliteRow,
    column: &str,
) -> StorageResult<Option<time::OffsetDateTime>> {
    let micros: Option<i64> = row.try_get(column).map_err(map_err)?;
    micros.map(madoguchi_storage::from_unix_micros).transpose()
}

pub(crate) fn get_string(row: &sqlx::sqlite::SqliteRow, column: &str) -> StorageResult<String> {
    row.try_get(column).map_err(map_err)
}

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Other(format!("stored value is not valid: {what}"))
}
