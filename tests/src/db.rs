//! A fresh, migrated database for every test, so tests run in parallel and never see each
//! other's rows.
//!
//! SQLite databases live in a temporary directory removed with the [`TestDb`]. PostgreSQL
//! databases are created on the server named by `MADOGUCHI_TEST_POSTGRES_URL` (an admin URL,
//! default `postgres://postgres@127.0.0.1:5432/postgres`) as `madoguchi_test_<uuid>` and
//! dropped when the [`TestDb`] is dropped, even when the test panicked. Databases left behind
//! by a killed run are swept by the next run once they are [`STALE_AFTER_S`] old (the name's
//! UUIDv7 carries its creation time).
//!
//! When PostgreSQL cannot be reached, [`fresh_postgres`] returns `Ok(None)` and the test
//! passes with a notice, so a developer without PostgreSQL can still run the suite; with
//! `MADOGUCHI_REQUIRE_POSTGRES=1` (CI) it returns an error and the test fails.

use madoguchi_storage::{SchemaStore, Storage};
use madoguchi_storage_postgres::PgStorage;
use madoguchi_storage_sqlite::SqliteStorage;
use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;
use uuid::Uuid;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Every test database's name starts with this, and nothing else's should.
const DATABASE_PREFIX: &str = "madoguchi_test_";

/// How long a reachable server gets to accept the admin connection before the test treats
/// PostgreSQL as unavailable.
const CONNECT_TIMEOUT_S: u64 = 5;

/// Pool size of a test database: enough for the concurrency stories (20 tasks share it),
/// small enough that two parallel test threads stay far below `max_connections`.
const TEST_POOL_MAX_CONNECTIONS: u32 = 8;

/// Test databases older than this are leftovers of a killed run; no test runs this long.
const STALE_AFTER_S: u64 = 6 * 60 * 60;

/// A migrated database that exists as long as this value does. Derefs to the storage.
pub struct TestDb<S> {
    storage: S,
    url: String,
    // Declared after the storage so they are dropped after it: the pool goes first, then
    // the directory or the database is removed.
    _dir: Option<TempDir>,
    _database: Option<DropDatabase>,
}

impl<S> TestDb<S> {
    /// The URL the storage was opened with (`sqlite://...` or `postgres://...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }
}

impl<S> Deref for TestDb<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.storage
    }
}

/// Drops one PostgreSQL test database when dropped.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down, so the database is
        // dropped from a thread with its own small runtime. Joining it makes sure the drop
        // happened before the test binary exits. `WITH (FORCE)` ends the pool's connections.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                drop_database(&mut admin, &name).await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "warning: the thread dropping test database {} panicked",
                self.name
            ),
        }
    }
}

/// A new SQLite database file in a fresh temporary directory, migrated.
pub async fn fresh_sqlite() -> anyhow::Result<TestDb<SqliteStorage>> {
    let dir = tempfile::Builder::new()
        .prefix("madoguchi-test-")
        .tempdir()?;
    let path = dir.path().join("madoguchi.sqlite3");
    let storage = SqliteStorage::open_file(&path).await?;
    storage.migrate().await?;
    let url = format!("sqlite://{}", path.display());
    Ok(TestDb {
        storage,
        url,
        _dir: Some(dir),
        _database: None,
    })
}

/// Whether the PostgreSQL half of the suite must run (`MADOGUCHI_REQUIRE_POSTGRES=1`, as in CI).
pub fn postgres_required() -> bool {
    std::env::var("MADOGUCHI_REQUIRE_POSTGRES")
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// A new, migrated PostgreSQL database, or `Ok(None)` when the server cannot be reached and
/// [`postgres_required`] is false.
pub async fn fresh_postgres() -> anyhow::Result<Option<TestDb<PgStorage>>> {
    let admin_url = std::env::var("MADOGUCHI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let connected = tokio::time::timeout(
        Duration::from_secs(CONNECT_TIMEOUT_S),
        PgConnection::connect(&admin_url),
    )
    .await;
    let mut admin = match connected {
        Ok(Ok(admin)) => admin,
        Ok(Err(e)) => return unreachable(&admin_url, &e.to_string()),
        Err(_) => {
            return unreachable(
                &admin_url,
                &format!("no answer within {CONNECT_TIMEOUT_S} s"),
            );
        }
    };
    sweep_stale_databases_once(&mut admin).await;

    let name = format!("{DATABASE_PREFIX}{}", Uuid::now_v7().simple());
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await?;
    admin.close().await?;
    // From here on the database is dropped whatever happens, including a failed migration.
    let database = DropDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };

    let url = with_database(&admin_url, &name);
    let storage = PgStorage::connect_with_max(&url, TEST_POOL_MAX_CONNECTIONS).await?;
    storage.migrate().await?;
    Ok(Some(TestDb {
        storage,
        url,
        _dir: None,
        _database: Some(database),
    }))
}

fn unreachable<T>(admin_url: &str, error: &str) -> anyhow::Result<Option<T>> {
    let server = without_credentials(admin_url);
    if postgres_required() {
        anyhow::bail!(
            "PostgreSQL at {server} is unreachable ({error}) but MADOGUCHI_REQUIRE_POSTGRES=1: \
             start it or point MADOGUCHI_TEST_POSTGRES_URL at a server where CREATE DATABASE is allowed"
        )
    }
    eprintln!(
        "notice: PostgreSQL at {server} is unreachable ({error}); skipping the PostgreSQL half"
    );
    Ok(None)
}

/// `postgres://user:pw@host:5432/postgres?sslmode=disable` with the database replaced.
fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The URL without user and password, for messages.
fn without_credentials(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    match url[scheme_end..].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &url[scheme_end + at + 1..]),
        None => url.to_owned(),
    }
}

async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .await?;
    Ok(())
}

/// Drops test databases a killed run left behind, once per test binary. Best effort: a
/// failure here never fails a test.
async fn sweep_stale_databases_once(admin: &mut PgConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let names: Vec<String> = match sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind(DATABASE_PREFIX)
    .fetch_all(&mut *admin)
    .await
    {
        Ok(names) => names,
        Err(e) => {
            eprintln!("warning: could not list old test databases: {e}");
            return;
        }
    };
    for name in names {
        let created_s = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| ts.to_unix().0);
        let stale = created_s.is_some_and(|created| now_s.saturating_sub(created) > STALE_AFTER_S);
        if stale && let Err(e) = drop_database(admin, &name).await {
            eprintln!("warning: could not drop stale test database {name}: {e}");
        }
    }
}

/// What the contract suite needs beyond the storage traits: raw SQL, to do what the program
/// itself never does (fake a newer schema, try to rewrite the audit log).
pub trait Backend: Storage + Clone + 'static {
    /// Runs one statement through the backend's own pool and returns the rows it affected.
    fn execute_raw(
        &self,
        sql: &'static str,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Runs a query returning one integer, such as `SELECT count(*) FROM ...`.
    fn query_i64(&self, sql: &'static str)
    -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    /// Runs several statements in one transaction (committed only if all succeed).
    fn execute_script(
        &self,
        sql: &'static str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// The newest migration the backend's crate ships.
    fn binary_schema_version(&self) -> i64;
}

impl Backend for SqliteStorage {
    async fn execute_raw(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(sql).execute(self.pool()).await?.rows_affected())
    }

    async fn execute_script(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        tx.commit().await
    }

    async fn query_i64(&self, sql: &'static str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sql).fetch_one(self.pool()).await
    }

    fn binary_schema_version(&self) -> i64 {
        madoguchi_storage_sqlite::binary_schema_version()
    }
}

impl Backend for PgStorage {
    async fn execute_raw(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(sql).execute(self.pool()).await?.rows_affected())
    }

    async fn execute_script(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        tx.commit().await
    }

    async fn query_i64(&self, sql: &'static str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sql).fetch_one(self.pool()).await
    }

    fn binary_schema_version(&self) -> i64 {
        madoguchi_storage_postgres::binary_schema_version()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_admin_database_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u:p@db:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@db:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
    }

    #[test]
    fn messages_never_show_the_password() {
        assert_eq!(
            without_credentials("postgres://u:secret@db:5432/postgres"),
            "postgres://db:5432/postgres"
        );
    }
}
