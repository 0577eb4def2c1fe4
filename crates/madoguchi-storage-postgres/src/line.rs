//! The tenant's LINE channel, residents' links and link codes on PostgreSQL.
//!
//! Redeeming a code is one transaction that spends the code, locks the account row (the usual
//! first lock of a resident's writes) and takes a transaction-scoped advisory lock on the LINE
//! user, so concurrent redemptions for the same account or the same LINE user queue up instead
//! of tripping over each other's unique constraints.

use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use madoguchi_storage::{
    LineChannel, LineLink, LineStore, NewLineChannel, NewLineLinkCode, StorageError, StorageResult,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

const CHANNEL_COLUMNS: &str = "tenant_id, channel_id, channel_secret, channel_access_token, \
     basic_id, api_base_url, enabled, updated_at";

fn channel_from_row(row: &PgRow) -> StorageResult<LineChannel> {
    Ok(LineChannel {
        tenant_id: TenantId(get(row, "tenant_id")?),
        channel_id: get(row, "channel_id")?,
        channel_secret: SecretString::from(get::<String>(row, "channel_secret")?),
        channel_access_token: SecretString::from(get::<String>(row, "channel_access_token")?),
        basic_id: get(row, "basic_id")?,
        api_base_url: get(row, "api_base_url")?,
        enabled: get(row, "enabled")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn link_from_row(row: &PgRow) -> StorageResult<LineLink> {
    Ok(LineLink {
        tenant_id: TenantId(get(row, "tenant_id")?),
        account_id: AccountId(get(row, "account_id")?),
        line_user_id: get(row, "line_user_id")?,
        linked_at: get(row, "linked_at")?,
    })
}

#[async_trait]
impl LineStore for PgStorage {
    async fn line_channel(&self, tenant: TenantId) -> StorageResult<Option<LineChannel>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM line_channels WHERE tenant_id = $1"
        )))
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(channel_from_row)
        .transpose()
    }

    async fn put_line_channel(
        &self,
        tenant: TenantId,
        channel: &NewLineChannel,
        now: OffsetDateTime,
    ) -> StorageResult<LineChannel> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO line_channels ({CHANNEL_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tenant_id) DO UPDATE SET
                channel_id = EXCLUDED.channel_id,
                channel_secret = EXCLUDED.channel_secret,
                channel_access_token = EXCLUDED.channel_access_token,
                basic_id = EXCLUDED.basic_id,
                api_base_url = EXCLUDED.api_base_url,
                enabled = EXCLUDED.enabled,
                updated_at = EXCLUDED.updated_at
             RETURNING {CHANNEL_COLUMNS}"
        )))
        .bind(tenant.0)
        .bind(&channel.channel_id)
        .bind(channel.channel_secret.expose_secret())
        .bind(channel.channel_access_token.expose_secret())
        .bind(&channel.basic_id)
        .bind(&channel.api_base_url)
        .bind(channel.enabled)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        channel_from_row(&row)
    }

    async fn create_line_link_code(
        &self,
        tenant: TenantId,
        new: &NewLineLinkCode,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Earlier codes of the account, and codes of the tenant that can no longer work, go.
        sqlx::query(
            "DELETE FROM line_link_codes
             WHERE tenant_id = $1 AND (account_id = $2 OR expires_at <= $3 OR used_at IS NOT NULL)",
        )
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // The EXISTS makes sure the code's account belongs to the tenant the code is for.
        let done = sqlx::query(
            "INSERT INTO line_link_codes (tenant_id, code_hash, account_id, expires_at)
             SELECT $1, $2, $3, $4
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND id = $3)",
        )
        .bind(tenant.0)
        .bind(&new.code_hash)
        .bind(new.account_id.0)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() != 1 {
            return Err(StorageError::NotFound);
        }
        tx.commit().await.map_err(map_err)
    }

    async fn redeem_line_link_code(
        &self,
        tenant: TenantId,
        code_hash: &[u8],
        line_user_id: &str,
        now: OffsetDateTime,
    ) -> StorageResult<LineLink> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Checks and spends the code; a second redemption of the same code waits for this row
        // lock, then sees `used_at` set and matches nothing.
        let account: Uuid = sqlx::query_scalar(
            "UPDATE line_link_codes SET used_at = $1
             WHERE tenant_id = $2 AND code_hash = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING account_id",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        // The account must still be the tenant's; its row lock serialises links of one account.
        sqlx::query("SELECT id FROM accounts WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(account)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("line_links:{}:{line_user_id}", tenant.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // One LINE user per account and one account per LINE user: the new link replaces both.
        sqlx::query(
            "DELETE FROM line_links WHERE tenant_id = $1 AND (account_id = $2 OR line_user_id = $3)",
        )
        .bind(tenant.0)
        .bind(account)
        .bind(line_user_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(
            "INSERT INTO line_links (tenant_id, account_id, line_user_id, linked_at)
             VALUES ($1, $2, $3, $4)
             RETURNING tenant_id, account_id, line_user_id, linked_at",
        )
        .bind(tenant.0)
        .bind(account)
        .bind(line_user_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let link = link_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(link)
    }

    async fn line_link(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Option<LineLink>> {
        sqlx::query(
            "SELECT tenant_id, account_id, line_user_id, linked_at
             FROM line_links WHERE tenant_id = $1 AND account_id = $2",
        )
        .bind(tenant.0)
        .bind(account.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(link_from_row)
        .transpose()
    }

    async fn delete_line_link(&self, tenant: TenantId, account: AccountId) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM line_links WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant.0)
            .bind(account.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_line_link_of_user(
        &self,
        tenant: TenantId,
        line_user_id: &str,
    ) -> StorageResult<Option<AccountId>> {
        let account: Option<Uuid> = sqlx::query_scalar(
            "DELETE FROM line_links WHERE tenant_id = $1 AND line_user_id = $2 RETURNING account_id",
        )
        .bind(tenant.0)
        .bind(line_user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(account.map(AccountId))
    }
}
