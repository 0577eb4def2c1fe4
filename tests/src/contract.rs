//! The storage contract suite's one macro: every story runs on a fresh SQLite database and on a
//! fresh PostgreSQL database, as two tests named `<story>::on_sqlite` and `<story>::on_postgres`.

/// Pool size of the PostgreSQL storage the concurrency stories use (`wide:`): far more
/// connections than the 8 of an ordinary test database, so up to 24 transactions really contend
/// for one row at the same moment, while three such stories running at once still stay under
/// PostgreSQL's default `max_connections` of 100.
pub const CONCURRENT_PG_CONNECTIONS: u32 = 24;

/// Generates `mod <story> { on_sqlite, on_postgres }` for each story, a `async fn(&S)` taking
/// the storage. After `wide:`, the PostgreSQL half runs on a pool of
/// [`CONCURRENT_PG_CONNECTIONS`]. Without PostgreSQL the second half prints a notice and passes,
/// unless `MADOGUCHI_REQUIRE_POSTGRES=1` (as in CI) makes it fail.
#[macro_export]
macro_rules! on_both_databases {
    (@pool $pool:expr; $($story:ident),+) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() -> anyhow::Result<()> {
                let db = $crate::db::fresh_sqlite().await?;
                assert_eq!(madoguchi_storage::SchemaStore::backend_name(&*db), "sqlite");
                super::$story(&*db).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() -> anyhow::Result<()> {
                let Some(db) = $crate::db::fresh_postgres().await? else {
                    eprintln!("notice: PostgreSQL not available; story skipped (MADOGUCHI_REQUIRE_POSTGRES=1 makes this fail)");
                    return Ok(());
                };
                assert_eq!(madoguchi_storage::SchemaStore::backend_name(&*db), "postgres");
                let pool: Option<u32> = $pool;
                match pool {
                    None => super::$story(&*db).await,
                    Some(max) => {
                        let wide =
                            madoguchi_storage_postgres::PgStorage::connect_with_max(db.url(), max).await?;
                        let result = super::$story(&wide).await;
                        wide.pool().close().await;
                        result
                    }
                }
            }
        }
    )+};
    (wide: $($story:ident),+ $(,)?) => {
        $crate::on_both_databases!(@pool Some($crate::contract::CONCURRENT_PG_CONNECTIONS); $($story),+);
    };
    ($($story:ident),+ $(,)?) => {
        $crate::on_both_databases!(@pool None; $($story),+);
    };
}
