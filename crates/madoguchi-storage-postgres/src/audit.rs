//! The append-only audit log on PostgreSQL: details are `jsonb`, and a trigger refuses every
//! UPDATE, DELETE and TRUNCATE.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, AuditId, TenantId};
use madoguchi_storage::{
    ActorKind, AuditEntry, AuditFilter, AuditStore, NewAuditEntry, StorageResult,
};
use sqlx::postgres::PgRow;
use uuid::Uuid;

fn entry_from_row(row: &PgRow) -> StorageResult<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        at: get(row, "at")?,
        actor_kind: ActorKind::parse(&get::<String>(row, "actor_kind")?)
            .ok_or_else(|| corrupt("actor kind"))?,
        actor_id: get::<Option<Uuid>>(row, "actor_id")?.map(AccountId),
        action: get(row, "action")?,
        target: get(row, "target")?,
        details: get(row, "details")?,
    })
}

/// Appends `entry` through `executor`: the pool, or the transaction of a change that is
/// recorded with it (a booking).
pub(crate) async fn insert_audit<'e, E>(
    executor: E,
    tenant: TenantId,
    entry: &NewAuditEntry,
) -> StorageResult<AuditEntry>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let row = sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor_kind, actor_id, action, target, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING *",
    )
    .bind(AuditId::new().0)
    .bind(tenant.0)
    .bind(entry.at)
    .bind(entry.actor_kind.as_str())
    .bind(entry.actor_id.map(|a| a.0))
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.details)
    .fetch_one(executor)
    .await
    .map_err(map_err)?;
    entry_from_row(&row)
}

#[async_trait]
impl AuditStore for PgStorage {
    async fn append_audit(
        &self,
        tenant: TenantId,
        entry: &NewAuditEntry,
    ) -> StorageResult<AuditEntry> {
        insert_audit(&self.pool, tenant, entry).await
    }

    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
    ) -> StorageResult<Vec<AuditEntry>> {
        // Optional filters are written as `($n IS NULL OR ...)` so one prepared statement serves
        // every combination.
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE tenant_id = $1
               AND ($2 IS NULL OR starts_with(action, $2))
               AND ($3 IS NULL OR actor_id = $3)
               AND ($4 IS NULL OR at >= $4)
               AND ($5 IS NULL OR at < $5)
               AND ($6 IS NULL OR at < $6)
             ORDER BY at DESC, id DESC
             LIMIT $7",
        )
        .bind(tenant.0)
        .bind(&filter.action_prefix)
        .bind(filter.actor_id.map(|a| a.0))
        .bind(filter.from)
        .bind(filter.until)
        .bind(filter.before)
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }
}
