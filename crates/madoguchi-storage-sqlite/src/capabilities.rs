//! A city's capability switches on SQLite.

use crate::{SqliteStorage, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_domain::{Capability, TenantId};
use madoguchi_storage::{CapabilityStore, StorageResult, to_unix_micros};
use time::OffsetDateTime;

#[async_trait]
impl CapabilityStore for SqliteStorage {
    async fn switched_capabilities(
        &self,
        tenant: TenantId,
    ) -> StorageResult<Vec<(Capability, bool)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT capability, enabled FROM city_capabilities WHERE tenant_id = ? ORDER BY capability",
        )
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, on)| Capability::parse(&name).map(|c| (c, on != 0)))
            .collect())
    }

    async fn switch_capability(
        &self,
        tenant: TenantId,
        capability: Capability,
        on: bool,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO city_capabilities (tenant_id, capability, enabled, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (tenant_id, capability) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(capability.as_str())
        .bind(i64::from(on))
        .bind(to_unix_micros(at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
