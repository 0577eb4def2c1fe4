//! Residents' calendar feeds on SQLite.

use crate::{SqliteStorage, get_instant, get_uuid, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use madoguchi_storage::{
    FeedStore, NewReservationFeed, ReservationFeed, StorageError, StorageResult, to_unix_micros,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

const COLUMNS: &str = "tenant_id, account_id, nonce, token_hash, created_at";

fn feed_from_row(row: &SqliteRow) -> StorageResult<ReservationFeed> {
    Ok(ReservationFeed {
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        account_id: AccountId(get_uuid(row, "account_id")?),
        nonce: row.try_get("nonce").map_err(map_err)?,
        token_hash: row.try_get("token_hash").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
    })
}

impl SqliteStorage {
    /// Inserts the feed if the account is the tenant's; `replace` overwrites an existing one,
    /// otherwise the existing one stays and is returned.
    async fn write_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
        replace: bool,
    ) -> StorageResult<ReservationFeed> {
        let on_conflict = if replace {
            "DO UPDATE SET nonce = excluded.nonce, token_hash = excluded.token_hash,
                           created_at = excluded.created_at"
        } else {
            "DO NOTHING"
        };
        let mut tx = self.begin_immediate().await?;
        let known: i64 =
            sqlx::query_scalar("SELECT count(*) FROM accounts WHERE tenant_id = ? AND id = ?")
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(new.account_id.0))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        if known == 0 {
            return Err(StorageError::NotFound);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO reservation_feeds ({COLUMNS}) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, account_id) {on_conflict}"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .bind(&new.nonce)
        .bind(&new.token_hash)
        .bind(to_unix_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reservation_feeds WHERE tenant_id = ? AND account_id = ?"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let feed = feed_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(feed)
    }
}

#[async_trait]
impl FeedStore for SqliteStorage {
    async fn reservation_feed(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Option<ReservationFeed>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reservation_feeds WHERE tenant_id = ? AND account_id = ?"
        )))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
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
        self.write_feed(tenant, new, now, false).await
    }

    async fn replace_reservation_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
    ) -> StorageResult<ReservationFeed> {
        self.write_feed(tenant, new, now, true).await
    }

    async fn reservation_feed_account(
        &self,
        tenant: TenantId,
        token_hash: &[u8],
    ) -> StorageResult<AccountId> {
        let row = sqlx::query(
            "SELECT account_id FROM reservation_feeds WHERE tenant_id = ? AND token_hash = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(get_uuid(&row, "account_id")?))
    }
}
