//! The append-only audit log on SQLite.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_uuid, get_string, get_uuid, map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, AuditId, TenantId};
use madoguchi_storage::{
    ActorKind, AuditEntry, AuditFilter, AuditStore, NewAuditEntry, StorageError, StorageResult,
    to_unix_micros,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn entry_from_row(row: &SqliteRow) -> StorageResult<AuditEntry> {
    let details: String = get_string(row, "details")?;
    Ok(AuditEntry {
        id: AuditId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        at: get_instant(row, "at")?,
        actor_kind: ActorKind::parse(&get_string(row, "actor_kind")?)
            .ok_or_else(|| corrupt("actor kind"))?,
        actor_id: get_opt_uuid(row, "actor_id")?.map(AccountId),
        action: get_string(row, "action")?,
        target: row.try_get("target").map_err(map_err)?,
        details: serde_json::from_str(&details).map_err(|_| corrupt("audit details"))?,
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
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let id = AuditId::new();
    let details =
        serde_json::to_string(&entry.details).map_err(|e| StorageError::Other(e.to_string()))?;
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor_kind, actor_id, action, target, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(id.0))
    .bind(uuid_text(tenant.0))
    .bind(to_unix_micros(entry.at))
    .bind(entry.actor_kind.as_str())
    .bind(entry.actor_id.map(|a| uuid_text(a.0)))
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(details)
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(AuditEntry {
        id,
        tenant_id: tenant,
        at: madoguchi_storage::from_unix_micros(to_unix_micros(entry.at))?,
        actor_kind: entry.actor_kind,
        actor_id: entry.actor_id,
        action: entry.action.clone(),
        target: entry.target.clone(),
        details: entry.details.clone(),
    })
}

#[async_trait]
impl AuditStore for SqliteStorage {
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
        // Optional filters are written as `(? IS NULL OR ...)` so one prepared statement serves
        // every combination.
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE tenant_id = ?1
               AND (?2 IS NULL OR substr(action, 1, length(?2)) = ?2)
               AND (?3 IS NULL OR actor_id = ?3)
               AND (?4 IS NULL OR at >= ?4)
               AND (?5 IS NULL OR at < ?5)
               AND (?6 IS NULL OR at < ?6)
             ORDER BY at DESC, id DESC
             LIMIT ?7",
        )
        .bind(uuid_text(tenant.0))
        .bind(&filter.action_prefix)
        .bind(filter.actor_id.map(|a| uuid_text(a.0)))
        .bind(filter.from.map(to_unix_micros))
        .bind(filter.until.map(to_unix_micros))
        .bind(filter.before.map(to_unix_micros))
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }
}
