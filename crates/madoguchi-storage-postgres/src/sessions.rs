//! Browser session records on PostgreSQL.

use crate::{PgStorage, map_err};
use async_trait::async_trait;
use madoguchi_storage::{SessionRecordStore, StorageResult};
use time::OffsetDateTime;

#[async_trait]
impl SessionRecordStore for PgStorage {
    async fn session_insert(
        &self,
        id: &str,
        data_json: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<bool> {
        let done = sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data_json)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_save(
        &self,
        id: &str,
        data_json: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data_json)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn session_load(&self, id: &str, now: OffsetDateTime) -> StorageResult<Option<String>> {
        sqlx::query_scalar("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn session_delete(&self, id: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn session_delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
