//! The tenant's LINE channel, residents' links and link codes on SQLite.
//!
//! Redeeming a code runs under `BEGIN IMMEDIATE`: spending the code, removing the links it
//! replaces and inserting the new one happen under one write lock, so two redemptions can
//! never both see the old state.

use crate::{SqliteStorage, get_instant, get_string, get_uuid, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use madoguchi_storage::{
    LineChannel, LineLink, LineStore, NewLineChannel, NewLineLinkCode, StorageError, StorageResult,
    to_unix_micros,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

fn channel_from_row(row: &SqliteRow) -> StorageResult<LineChannel> {
    Ok(LineChannel {
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        channel_id: get_string(row, "channel_id")?,
        channel_secret: SecretString::from(get_string(row, "channel_secret")?),
        channel_access_token: SecretString::from(get_string(row, "channel_access_token")?),
        basic_id: row.try_get("basic_id").map_err(map_err)?,
        api_base_url: get_string(row, "api_base_url")?,
        enabled: row.try_get::<i64, _>("enabled").map_err(map_err)? != 0,
        updated_at: get_instant(row, "updated_at")?,
    })
}

fn link_from_row(row: &SqliteRow) -> StorageResult<LineLink> {
    Ok(LineLink {
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        account_id: AccountId(get_uuid(row, "account_id")?),
        line_user_id: get_string(row, "line_user_id")?,
        linked_at: get_instant(row, "linked_at")?,
    })
}

#[async_trait]
impl LineStore for SqliteStorage {
    async fn line_channel(&self, tenant: TenantId) -> StorageResult<Option<LineChannel>> {
        sqlx::query(
            "SELECT tenant_id, channel_id, channel_secret, channel_access_token, basic_id,
                    api_base_url, enabled, updated_at
             FROM line_channels WHERE tenant_id = ?",
        )
        .bind(uuid_text(tenant.0))
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
        let row = sqlx::query(
            "INSERT INTO line_channels (tenant_id, channel_id, channel_secret, channel_access_token,
                                        basic_id, api_base_url, enabled, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (tenant_id) DO UPDATE SET
                channel_id = excluded.channel_id,
                channel_secret = excluded.channel_secret,
                channel_access_token = excluded.channel_access_token,
                basic_id = excluded.basic_id,
                api_base_url = excluded.api_base_url,
                enabled = excluded.enabled,
                updated_at = excluded.updated_at
             RETURNING tenant_id, channel_id, channel_secret, channel_access_token, basic_id,
                       api_base_url, enabled, updated_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(&channel.channel_id)
        .bind(channel.channel_secret.expose_secret())
        .bind(channel.channel_access_token.expose_secret())
        .bind(&channel.basic_id)
        .bind(&channel.api_base_url)
        .bind(i64::from(channel.enabled))
        .bind(to_unix_micros(now))
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
        let mut tx = self.begin_immediate().await?;
        // Earlier codes of the account, and codes of the tenant that can no longer work, go.
        sqlx::query(
            "DELETE FROM line_link_codes
             WHERE tenant_id = ?1 AND (account_id = ?2 OR expires_at <= ?3 OR used_at IS NOT NULL)",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .bind(to_unix_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // The EXISTS makes sure the code's account belongs to the tenant the code is for.
        let done = sqlx::query(
            "INSERT INTO line_link_codes (tenant_id, code_hash, account_id, expires_at)
             SELECT ?1, ?2, ?3, ?4
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?1 AND id = ?3)",
        )
        .bind(uuid_text(tenant.0))
        .bind(&new.code_hash)
        .bind(uuid_text(new.account_id.0))
        .bind(to_unix_micros(new.expires_at))
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
        let tenant_text = uuid_text(tenant.0);
        let now_us = to_unix_micros(now);
        let mut tx = self.begin_immediate().await?;
        let row = sqlx::query(
            "UPDATE line_link_codes SET used_at = ?1
             WHERE tenant_id = ?2 AND code_hash = ?3 AND used_at IS NULL AND expires_at > ?1
             RETURNING account_id",
        )
        .bind(now_us)
        .bind(&tenant_text)
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let account = get_uuid(&row, "account_id")?;
        // One LINE user per account and one account per LINE user: the new link replaces both.
        sqlx::query(
            "DELETE FROM line_links WHERE tenant_id = ?1 AND (account_id = ?2 OR line_user_id = ?3)",
        )
        .bind(&tenant_text)
        .bind(uuid_text(account))
        .bind(line_user_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(
            "INSERT INTO line_links (tenant_id, account_id, line_user_id, linked_at)
             SELECT ?1, ?2, ?3, ?4
             WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?1 AND id = ?2)
             RETURNING tenant_id, account_id, line_user_id, linked_at",
        )
        .bind(&tenant_text)
        .bind(uuid_text(account))
        .bind(line_user_id)
        .bind(now_us)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
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
             FROM line_links WHERE tenant_id = ? AND account_id = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(link_from_row)
        .transpose()
    }

    async fn delete_line_link(&self, tenant: TenantId, account: AccountId) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM line_links WHERE tenant_id = ? AND account_id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(account.0))
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
        let row = sqlx::query(
            "DELETE FROM line_links WHERE tenant_id = ? AND line_user_id = ? RETURNING account_id",
        )
        .bind(uuid_text(tenant.0))
        .bind(line_user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| get_uuid(&row, "account_id").map(AccountId))
            .transpose()
    }
}
