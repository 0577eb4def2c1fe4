//! The booking policy and no-show suspensions on PostgreSQL.

use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, OfficeId, TenantId};
use madoguchi_storage::{NewSuspension, StorageError, StorageResult, Suspension, SuspensionStore};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn suspension_from_row(row: &PgRow) -> StorageResult<Suspension> {
    Ok(Suspension {
        id: get(row, "id")?,
        tenant_id: TenantId(get(row, "tenant_id")?),
        account_id: AccountId(get(row, "account_id")?),
        office_id: get::<Option<Uuid>>(row, "office_id")?.map(OfficeId),
        starts_at: get(row, "starts_at")?,
        ends_at: get(row, "ends_at")?,
        no_shows: get(row, "no_shows")?,
        created_at: get(row, "created_at")?,
        lifted_at: get(row, "lifted_at")?,
        lifted_by: get::<Option<Uuid>>(row, "lifted_by")?.map(AccountId),
        lift_reason: get(row, "lift_reason")?,
    })
}

#[async_trait]
impl SuspensionStore for PgStorage {
    async fn booking_policy(&self, tenant: TenantId) -> StorageResult<Option<serde_json::Value>> {
        sqlx::query_scalar("SELECT policy FROM booking_policies WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn set_booking_policy(
        &self,
        tenant: TenantId,
        policy: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO booking_policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(policy)
        .bind(now)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // The account row lock serialises two staff marking no-shows of one resident at once.
        let owned: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        )
        .bind(tenant.0)
        .bind(new.account_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if owned.is_none() {
            return Err(StorageError::NotFound);
        }
        let existing = sqlx::query(
            "SELECT * FROM booking_suspensions WHERE tenant_id = $1 AND account_id = $2
               AND lifted_at IS NULL AND starts_at <= $3 AND ends_at > $3
             ORDER BY ends_at DESC LIMIT 1",
        )
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(row) = existing {
            return suspension_from_row(&row);
        }
        let row = sqlx::query(
            "INSERT INTO booking_suspensions (id, tenant_id, account_id, starts_at, ends_at, no_shows, created_at, office_id)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8
             WHERE $8::uuid IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = $2 AND id = $8)
             RETURNING *",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(new.starts_at)
        .bind(new.ends_at)
        .bind(new.no_shows)
        .bind(now)
        .bind(new.office_id.map(|o| o.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
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
        let row = sqlx::query(
            "SELECT * FROM booking_suspensions WHERE tenant_id = $1 AND account_id = $2
               AND lifted_at IS NULL AND starts_at <= $3 AND ends_at > $3
             ORDER BY ends_at DESC LIMIT 1",
        )
        .bind(tenant.0)
        .bind(account.0)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(suspension_from_row).transpose()
    }

    async fn suspension(&self, tenant: TenantId, id: uuid::Uuid) -> StorageResult<Suspension> {
        let row = sqlx::query("SELECT * FROM booking_suspensions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
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
             WHERE tenant_id = $1 AND lifted_at IS NULL AND starts_at <= $2 AND ends_at > $2
             ORDER BY created_at DESC",
        )
        .bind(tenant.0)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(suspension_from_row).collect()
    }

    async fn lift_suspension(
        &self,
        tenant: TenantId,
        id: Uuid,
        by: AccountId,
        reason: &str,
        now: OffsetDateTime,
    ) -> StorageResult<Suspension> {
        let row = sqlx::query(
            "UPDATE booking_suspensions SET lifted_at = $3, lifted_by = $4, lift_reason = $5
             WHERE tenant_id = $1 AND id = $2
               AND lifted_at IS NULL AND starts_at <= $3 AND ends_at > $3
               AND EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $4)
             RETURNING *",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(now)
        .bind(by.0)
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
