//! A city's capability switches on PostgreSQL.

use crate::{PgStorage, map_err};
use async_trait::async_trait;
use madoguchi_domain::{Capability, TenantId};
use madoguchi_storage::{CapabilityStore, StorageResult};
use time::OffsetDateTime;

#[async_trait]
impl CapabilityStore for PgStorage {
    async fn switched_capabilities(
        &self,
        tenant: TenantId,
    ) -> StorageResult<Vec<(Capability, bool)>> {
        let rows: Vec<(String, bool)> = sqlx::query_as(
            "SELECT capability, enabled FROM city_capabilities WHERE tenant_id = $1 ORDER BY capability",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, on)| Capability::parse(&name).map(|c| (c, on)))
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
            "INSERT INTO city_capabilities (tenant_id, capability, enabled, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, capability) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(capability.as_str())
        .bind(on)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
