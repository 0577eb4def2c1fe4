//! Tenants on PostgreSQL.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{TenantId, TenantSlug};
use madoguchi_storage::{NewTenant, StorageResult, Tenant, TenantStore, now_utc};
use sqlx::postgres::PgRow;

fn tenant_from_row(row: &PgRow) -> StorageResult<Tenant> {
    Ok(Tenant {
        id: TenantId(get(row, "id")?),
        slug: TenantSlug::parse(&get::<String>(row, "slug")?)
            .map_err(|_| corrupt("tenant slug"))?,
        name_ja: get(row, "name_ja")?,
        name_en: get(row, "name_en")?,
        host: get(row, "host")?,
        created_at: get(row, "created_at")?,
    })
}

#[async_trait]
impl TenantStore for PgStorage {
    async fn create_tenant(&self, new: &NewTenant) -> StorageResult<Tenant> {
        let row = sqlx::query(
            "INSERT INTO tenants (id, slug, name_ja, name_en, host, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING *",
        )
        .bind(TenantId::new().0)
        .bind(new.slug.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(&new.host)
        .bind(now_utc())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn tenant_by_slug(&self, slug: &str) -> StorageResult<Tenant> {
        let row = sqlx::query("SELECT * FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn tenant_by_host(&self, host: &str) -> StorageResult<Tenant> {
        let row = sqlx::query("SELECT * FROM tenants WHERE host = $1")
            .bind(host)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn list_tenants(&self) -> StorageResult<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY slug COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(tenant_from_row).collect()
    }
}
