//! The sandbox gateway's records on PostgreSQL (rows locked with `FOR UPDATE`) (see `madoguchi_storage::sandbox`).

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_storage::{
    NewSandboxIntent, NewSandboxRefund, SandboxIntent, SandboxRefund, SandboxStatus, SandboxStore,
    StorageError, StorageResult,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn intent_from_row(row: &PgRow) -> StorageResult<SandboxIntent> {
    Ok(SandboxIntent {
        id: get(row, "id")?,
        tenant_id: TenantId(get(row, "tenant_id")?),
        idempotency_key: get::<String>(row, "idempotency_key")?,
        payment_id: get(row, "payment_id")?,
        amount_yen: get(row, "amount_yen")?,
        method: get::<String>(row, "method")?,
        description: get::<String>(row, "description")?,
        return_url: get::<String>(row, "return_url")?,
        cancel_url: get::<String>(row, "cancel_url")?,
        status: SandboxStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("sandbox status"))?,
        pay_by: get(row, "pay_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn refund_from_row(row: &PgRow) -> StorageResult<SandboxRefund> {
    Ok(SandboxRefund {
        id: get(row, "id")?,
        tenant_id: TenantId(get(row, "tenant_id")?),
        idempotency_key: get::<String>(row, "idempotency_key")?,
        intent_id: get(row, "intent_id")?,
        refund_id: get(row, "refund_id")?,
        amount_yen: get(row, "amount_yen")?,
        status: get::<String>(row, "status")?,
        created_at: get(row, "created_at")?,
    })
}

async fn intent_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> StorageResult<SandboxIntent> {
    let row =
        sqlx::query("SELECT * FROM sandbox_intents WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_err)?;
    intent_from_row(&row)
}

#[async_trait]
impl SandboxStore for PgStorage {
    async fn sandbox_create_intent(
        &self,
        tenant: TenantId,
        new: &NewSandboxIntent,
    ) -> StorageResult<SandboxIntent> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let existing = sqlx::query(
            "SELECT * FROM sandbox_intents WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant.0)
        .bind(&new.idempotency_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(row) = existing {
            let intent = intent_from_row(&row)?;
            if intent.payment_id != new.payment_id || intent.amount_yen != new.amount_yen {
                return Err(StorageError::PaymentRule(ErrorCode::IdempotencyKeyReused));
            }
            return Ok(intent);
        }
        sqlx::query(
            "INSERT INTO sandbox_intents (id, tenant_id, idempotency_key, payment_id, amount_yen, method, description,
                return_url, cancel_url, status, pay_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12)",
        )
        .bind(new.id)
        .bind(tenant.0)
        .bind(&new.idempotency_key)
        .bind(new.payment_id)
        .bind(new.amount_yen)
        .bind(&new.method)
        .bind(&new.description)
        .bind(&new.return_url)
        .bind(&new.cancel_url)
        .bind(new.pay_by)
        .bind(new.at)
        .bind(new.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let intent = intent_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(intent)
    }

    async fn sandbox_intent(&self, tenant: TenantId, id: Uuid) -> StorageResult<SandboxIntent> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        intent_in(&mut conn, tenant, id).await
    }

    async fn sandbox_set_status(
        &self,
        tenant: TenantId,
        id: Uuid,
        to: SandboxStatus,
        at: OffsetDateTime,
    ) -> StorageResult<SandboxIntent> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let intent = intent_in(&mut tx, tenant, id).await?;
        if !intent.status.may_become(to) {
            return Err(StorageError::PaymentRule(ErrorCode::Conflict));
        }
        sqlx::query(
            "UPDATE sandbox_intents SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(to.as_str())
        .bind(at)
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let intent = intent_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(intent)
    }

    async fn sandbox_create_refund(
        &self,
        tenant: TenantId,
        new: &NewSandboxRefund,
    ) -> StorageResult<SandboxRefund> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let existing = sqlx::query(
            "SELECT * FROM sandbox_refunds WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant.0)
        .bind(&new.idempotency_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(row) = existing {
            let refund = refund_from_row(&row)?;
            if refund.refund_id != new.refund_id || refund.amount_yen != new.amount_yen {
                return Err(StorageError::PaymentRule(ErrorCode::IdempotencyKeyReused));
            }
            return Ok(refund);
        }
        let intent = intent_in(&mut tx, tenant, new.intent_id).await?;
        if intent.status != SandboxStatus::Succeeded {
            return Err(StorageError::PaymentRule(ErrorCode::PaymentNotRefundable));
        }
        let refunded: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(amount_yen), 0)::bigint FROM sandbox_refunds WHERE intent_id = $1 AND status <> 'failed'",
        )
        .bind(new.intent_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if new.amount_yen <= 0 || refunded.saturating_add(new.amount_yen) > intent.amount_yen {
            return Err(StorageError::PaymentRule(ErrorCode::RefundExceedsPaid));
        }
        sqlx::query(
            "INSERT INTO sandbox_refunds (id, tenant_id, idempotency_key, intent_id, refund_id, amount_yen, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7)",
        )
        .bind(new.id)
        .bind(tenant.0)
        .bind(&new.idempotency_key)
        .bind(new.intent_id)
        .bind(new.refund_id)
        .bind(new.amount_yen)
        .bind(new.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query("SELECT * FROM sandbox_refunds WHERE id = $1")
            .bind(new.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let refund = refund_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }
}
