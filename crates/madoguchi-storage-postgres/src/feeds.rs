//! Residents' calendar feeds on PostgreSQL.

use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use madoguchi_storage::{
    FeedStore, NewReservationFeed, ReservationFeed, StorageError, StorageResult,
};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

const COLUMNS: &str = "tenant_id, account_id, nonce, token_hash, created_at";

fn feed_from_row(row: &PgRow) -> StorageResult<ReservationFeed> {
    Ok(ReservationFeed {
        tenant_id: TenantId(get(row, "tenant_id")?),
        account_id: AccountId(get(row, "account_id")?),
        nonce: get(row, "nonce")?,
        token_hash: get(row, "token_hash")?,
        created_at: get(row, "created_at")?,
    })
}

#[async_trait]
impl FeedStore for PgStorage {
    async fn reservation_feed(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Option<ReservationFeed>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reservation_feeds WHERE tenant_id = $1 AND account_id = $2"
        )))
        .bind(tenant.0)
        .bind(account.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(feed_from_row)
        .transpose()
    }

    async fn ensure_reservation_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
    ) -> StorageResult<ReservationFeed> {
        // Insert-or-nothing, then read what holds: a concurrent first visit that won the race
        // is what both see. The EXISTS keeps the feed within the account's tenant.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO reservation_feeds ({COLUMNS})
             SELECT $1, $2, $3, $4, $5
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $2)
             ON CONFLICT (tenant_id, account_id) DO NOTHING"
        )))
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(&new.nonce)
        .bind(&new.token_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.reservation_feed(tenant, new.account_id)
            .await?
            .ok_or(StorageError::NotFound)
    }

    async fn replace_reservation_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
    ) -> StorageResult<ReservationFeed> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO reservation_feeds ({COLUMNS})
             SELECT $1, $2, $3, $4, $5
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $2)
             ON CONFLICT (tenant_id, account_id) DO UPDATE SET
                nonce = EXCLUDED.nonce, token_hash = EXCLUDED.token_hash,
                created_at = EXCLUDED.created_at
             RETURNING {COLUMNS}"
        )))
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(&new.nonce)
        .bind(&new.token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        feed_from_row(&row)
    }

    async fn reservation_feed_account(
        &self,
        tenant: TenantId,
        token_hash: &[u8],
    ) -> StorageResult<AccountId> {
        let account: Uuid = sqlx::query_scalar(
            "SELECT account_id FROM reservation_feeds WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant.0)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(account))
    }
}
