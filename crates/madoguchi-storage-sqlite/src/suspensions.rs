//! The booking policy and no-show suspensions on SQLite.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_uuid, map_err,
    uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, OfficeId, TenantId};
use madoguchi_storage::{
    NewSuspension, StorageError, StorageResult, Suspension, SuspensionStore, to_unix_micros,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

fn suspension_from_row(row: &SqliteRow) -> StorageResult<Suspension> {
    Ok(Suspension {
        id: get_uuid(row, "id")?,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        account_id: AccountId(get_uuid(row, "account_id")?),
        office_id: get_opt_uuid(row, "office_id")?.map(OfficeId),
        starts_at: get_instant(row, "starts_at")?,
        ends_at: get_instant(row, "ends_at")?,
        no_shows: row.try_get("no_shows").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
        lifted_at: get_opt_instant(row, "lifted_at")?,
        lifted_by: get_opt_uuid(row, "lifted_by")?.map(AccountId),
        lift_reason: row.try_get("lift_reason").map_err(map_err)?,
    })
}

const IN_FORCE: &str = "lifted_at IS NULL AND starts_at <= ?3 AND ends_at > ?3";

#[async_trait]
impl SuspensionStore for SqliteStorage {
    async fn booking_policy(&self, tenant: TenantId) -> StorageResult<Option<serde_json::Value>> {
        let policy: Option<String> =
            sqlx::query_scalar("SELECT policy FROM booking_policies WHERE tenant_id = ?")
                .bind(uuid_text(tenant.0))
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        policy
            .map(|p| serde_json::from_str(&p).map_err(|_| corrupt("booking policy")))
            .transpose()
    }

    async fn set_booking_policy(
        &self,
        tenant: TenantId,
        policy: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let text = serde_json::to_string(policy).map_err(|e| StorageError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO booking_policies (tenant_id, policy, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(text)
        .bind(to_unix_micros(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn suspend(
        &self,
        tenant: TenantId,
        new: &NewSuspension,
        now: OffsetDateTime,
    ) -> StorageResult<Suspension> {
        let mut tx = self.begin_immediate().await?;
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM booking_suspensions WHERE tenant_id = ?1 AND account_id = ?2 AND {IN_FORCE}"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .bind(to_unix_micros(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(row) = existing {
            return suspension_from_row(&row);
        }
        let id = uuid::Uuid::new_v4();
        let inserted = sqlx::query(
            "INSERT INTO booking_suspensions (id, tenant_id, account_id, starts_at, ends_at, no_shows, created_at, office_id)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?2 AND id = ?3)
               AND (?8 IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = ?2 AND id = ?8))",
        )
        .bind(uuid_text(id))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .bind(to_unix_micros(new.starts_at))
        .bind(to_unix_micros(new.ends_at))
        .bind(new.no_shows)
        .bind(to_unix_micros(now))
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM booking_suspensions WHERE id = ?")
            .bind(uuid_text(id))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let suspension = suspension_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(suspension)
    }

    async fn suspension_in_force(
        &self,
        tenant: TenantId,
        account: AccountId,
        now: OffsetDateTime,
    ) -> StorageResult<Option<Suspension>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM booking_suspensions WHERE tenant_id = ?1 AND account_id = ?2 AND {IN_FORCE}
             ORDER BY ends_at DESC LIMIT 1"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
        .bind(to_unix_micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(suspension_from_row).transpose()
    }

    async fn suspension(&self, tenant: TenantId, id: uuid::Uuid) -> StorageResult<Suspension> {
        let row = sqlx::query("SELECT * FROM booking_suspensions WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(suspension_from_row)
            .transpose()?
            .ok_or(StorageError::NotFound)
    }

    async fn suspensions_in_force(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> StorageResult<Vec<Suspension>> {
        let rows = sqlx::query(
            "SELECT * FROM booking_suspensions
             WHERE tenant_id = ?1 AND lifted_at IS NULL AND starts_at <= ?2 AND ends_at > ?2
             ORDER BY created_at DESC",
        )
        .bind(uuid_text(tenant.0))
        .bind(to_unix_micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(suspension_from_row).collect()
    }

    async fn lift_suspension(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        by: AccountId,
        reason: &str,
        now: OffsetDateTime,
    ) -> StorageResult<Suspension> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE booking_suspensions SET lifted_at = ?3, lifted_by = ?4, lift_reason = ?5
             WHERE tenant_id = ?1 AND id = ?2 AND {IN_FORCE}
               AND EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?1 AND id = ?4)
             RETURNING *"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .bind(to_unix_micros(now))
        .bind(uuid_text(by.0))
        .bind(reason)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref()
            .map(suspension_from_row)
            .transpose()?
            .ok_or(StorageError::NotFound)
    }
}
