//! PostgreSQL implementation of the storage traits: for a city running several nodes, or a
//! prefecture hosting many towns on one database.
//!
//! It uses what PostgreSQL does well instead of imitating SQLite: `uuid`, `timestamptz` and
//! `jsonb` columns, `INSERT ... ON CONFLICT`, `UPDATE ... RETURNING`, row locks. Writes that
//! must not race are single statements that lock the rows they change (`FOR UPDATE`), and job
//! claims skip rows another node is claiming (`FOR UPDATE SKIP LOCKED`), so any number of
//! nodes can share one database without an application-level lock.

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
use sqlx::postgres::{PgDatabaseError, PgPool, PgPoolOptions, PgRow};
use sqlx::{Decode, Postgres, Row, Type};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Connections per node when the configuration does not say: enough for a town hall's peak
/// of concurrent requests plus the job worker, small enough that ten nodes stay well under
/// PostgreSQL's default `max_connections` of 100.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a request waits for a free connection before the node reports the database as
/// unavailable (and `/readyz` fails) instead of hanging.
const ACQUIRE_TIMEOUT_S: u64 = 10;

/// A Madoguchi database on a PostgreSQL server.
#[derive(Clone, Debug)]
pub struct PgStorage {
    pool: PgPool,
}

impl PgStorage {
    /// Connects to a `postgres://` URL with the default pool size.
    pub async fn connect(url: &str) -> StorageResult<Self> {
        Self::connect_with_max(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with at most `max_connections` pooled connections.
    pub async fn connect_with_max(url: &str, max_connections: u32) -> StorageResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(ACQUIRE_TIMEOUT_S))
            .connect(url)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
    }

    /// The pool, for benchmarks and tests that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn applied_version(&self) -> StorageResult<i64> {
        // `to_regclass` follows the search path like sqlx's migrator does, and is NULL
        // instead of an error when the table does not exist yet.
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if !exists {
            return Ok(0);
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
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
impl SchemaStore for PgStorage {
    async fn migrate(&self) -> StorageResult<MigrationReport> {
        let before = self.applied_version().await?;
        let binary = binary_schema_version();
        // Behind is what migrating fixes; newer is refused before anything runs.
        if let Err(too_new @ StorageError::SchemaTooNew { .. }) =
            madoguchi_storage::compare_schema(before, binary)
        {
            return Err(too_new);
        }
        // sqlx takes an advisory lock around the run, so two nodes starting together apply
        // each migration once.
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
        "postgres"
    }
}

/// Maps driver errors to [`StorageError`] by SQLSTATE. Unique violations carry the constraint
/// name from the schema (`accounts_email`, `tenants_slug`, ...), the same names the SQLite
/// crate derives, so callers handle both backends alike.
pub(crate) fn map_err(error: sqlx::Error) -> StorageError {
    match &error {
        sqlx::Error::RowNotFound => StorageError::NotFound,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StorageError::Unavailable(error.to_string()),
        sqlx::Error::Database(db) => {
            let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() else {
                return StorageError::Other(db.message().to_owned());
            };
            let constraint = || {
                pg.constraint()
                    .or(pg.column())
                    .unwrap_or("unknown")
                    .to_owned()
            };
            match pg.code() {
                "23505" => StorageError::Duplicate {
                    constraint: constraint(),
                },
                // Foreign key, check, not-null and exclusion violations.
                "23503" | "23514" | "23502" | "23P01" => StorageError::Constraint {
                    constraint: constraint(),
                },
                // Connection exceptions (08xxx), the server shutting down or refusing new
                // connections (57P0x), too many connections, a cancelled (timed-out)
                // statement, and lock conflicts: all worth retrying later.
                code if code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "53300"
                    || code == "57014"
                    || code == "55P03"
                    || code == "40001"
                    || code == "40P01" =>
                {
                    StorageError::Unavailable(pg.message().to_owned())
                }
                _ => StorageError::Other(pg.message().to_owned()),
            }
        }
        _ => StorageError::Other(error.to_string()),
    }
}

/// Reads one column, mapping a decode failure like any other driver error.
pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> StorageResult<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column).map_err(map_err)
}

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Other(format!("stored value is not valid: {what}"))
}
