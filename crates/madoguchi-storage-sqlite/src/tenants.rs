//! Tenants on SQLite.

use crate::{SqliteStorage, corrupt, get_instant, get_string, get_uuid, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_domain::{TenantId, TenantSlug};
use madoguchi_storage::{NewTenant, StorageResult, Tenant, TenantStore, to_unix_micros};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn tenant_from_row(row: &SqliteRow) -> StorageResult<Tenant> {
    Ok(Tenant {
        id: TenantId(get_uuid(row, "id")?),
        slug: TenantSlug::parse(&get_string(row, "slug")?).map_err(|_| corrupt("tenant slug"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        host: row.try_get("host").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
    })
}

const COLUMNS: &str = "id, slug, name_ja, name_en, host, created_at";

#[async_trait]
impl TenantStore for SqliteStorage {
    async fn create_tenant(&self, new: &NewTenant) -> StorageResult<Tenant> {
        let id = TenantId::new();
        let now = madoguchi_storage::now_utc();
        sqlx::query("INSERT INTO tenants (id, slug, name_ja, name_en, host, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(uuid_text(id.0))
            .bind(new.slug.as_str())
            .bind(&new.name_ja)
            .bind(&new.name_en)
            .bind(&new.host)
            .bind(to_unix_micros(now))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(Tenant {
            id,
            slug: new.slug.clone(),
            name_ja: new.name_ja.clone(),
            name_en: new.name_en.clone(),
            host: new.host.clone(),
            created_at: now,
        })
    }

    async fn tenant_by_slug(&self, slug: &str) -> StorageResult<Tenant> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenants WHERE slug = ?"
        )))
        .bind(slug)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn tenant_by_host(&self, host: &str) -> StorageResult<Tenant> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenants WHERE host = ?"
        )))
        .bind(host)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn list_tenants(&self) -> StorageResult<Vec<Tenant>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenants ORDER BY slug"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(tenant_from_row).collect()
    }
}
