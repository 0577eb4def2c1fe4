//! The sandbox gateway's records on SQLite (see `madoguchi_storage::sandbox`).

use crate::{SqliteStorage, corrupt, get_instant, get_string, get_uuid, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_storage::{
    NewSandboxIntent, NewSandboxRefund, SandboxIntent, SandboxRefund, SandboxStatus, SandboxStore,
    StorageError, StorageResult, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

fn intent_from_row(row: &SqliteRow) -> StorageResult<SandboxIntent> {
    Ok(SandboxIntent {
        id: get_uuid(row, "id")?,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        idempotency_key: get_string(row, "idempotency_key")?,
        payment_id: get_uuid(row, "payment_id")?,
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        method: get_string(row, "method")?,
        description: get_string(row, "description")?,
        return_url: get_string(row, "return_url")?,
        cancel_url: get_string(row, "cancel_url")?,
        status: SandboxStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("sandbox status"))?,
        pay_by: get_instant(row, "pay_by")?,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

fn refund_from_row(row: &SqliteRow) -> StorageResult<SandboxRefund> {
    Ok(SandboxRefund {
        id: get_uuid(row, "id")?,
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        idempotency_key: get_string(row, "idempotency_key")?,
        intent_id: get_uuid(row, "intent_id")?,
        refund_id: get_uuid(row, "refund_id")?,
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        status: get_string(row, "status")?,
        created_at: get_instant(row, "created_at")?,
    })
}

async fn intent_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: Uuid,
) -> StorageResult<SandboxIntent> {
    let row = sqlx::query("SELECT * FROM sandbox_intents WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    intent_from_row(&row)
}

#[async_trait]
impl SandboxStore for SqliteStorage {
    async fn sandbox_create_intent(
        &self,
        tenant: TenantId,
        new: &NewSandboxIntent,
    ) -> StorageResult<SandboxIntent> {
        let mut tx = self.begin_immediate().await?;
        let existing = sqlx::query(
            "SELECT * FROM sandbox_intents WHERE tenant_id = ? AND idempotency_key = ?",
        )
        .bind(uuid_text(tenant.0))
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
        )
        .bind(uuid_text(new.id))
        .bind(uuid_text(tenant.0))
        .bind(&new.idempotency_key)
        .bind(uuid_text(new.payment_id))
        .bind(new.amount_yen)
        .bind(&new.method)
        .bind(&new.description)
        .bind(&new.return_url)
        .bind(&new.cancel_url)
        .bind(to_unix_micros(new.pay_by))
        .bind(to_unix_micros(new.at))
        .bind(to_unix_micros(new.at))
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
        let mut tx = self.begin_immediate().await?;
        let intent = intent_in(&mut tx, tenant, id).await?;
        if !intent.status.may_become(to) {
            return Err(StorageError::PaymentRule(ErrorCode::Conflict));
        }
        sqlx::query(
            "UPDATE sandbox_intents SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
        )
        .bind(to.as_str())
        .bind(to_unix_micros(at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
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
        let mut tx = self.begin_immediate().await?;
        let existing = sqlx::query(
            "SELECT * FROM sandbox_refunds WHERE tenant_id = ? AND idempotency_key = ?",
        )
        .bind(uuid_text(tenant.0))
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
            "SELECT coalesce(sum(amount_yen), 0) FROM sandbox_refunds WHERE intent_id = ? AND status <> 'failed'",
        )
        .bind(uuid_text(new.intent_id))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if new.amount_yen <= 0 || refunded.saturating_add(new.amount_yen) > intent.amount_yen {
            return Err(StorageError::PaymentRule(ErrorCode::RefundExceedsPaid));
        }
        sqlx::query(
            "INSERT INTO sandbox_refunds (id, tenant_id, idempotency_key, intent_id, refund_id, amount_yen, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?)",
        )
        .bind(uuid_text(new.id))
        .bind(uuid_text(tenant.0))
        .bind(&new.idempotency_key)
        .bind(uuid_text(new.intent_id))
        .bind(uuid_text(new.refund_id))
        .bind(new.amount_yen)
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query("SELECT * FROM sandbox_refunds WHERE id = ?")
            .bind(uuid_text(new.id))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let refund = refund_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(refund)
    }
}
