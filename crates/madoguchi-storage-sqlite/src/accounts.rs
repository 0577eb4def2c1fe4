//! Accounts, role assignments, one-time tokens, lockout and rate limits on SQLite.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, DisplayName, Email, Lang, OfficeId, Role, RoleAssignment,
    TenantId,
};
use madoguchi_storage::{
    Account, AccountStore, LockoutPolicy, NewAccount, NewOneTimeToken, PasswordHash,
    SignInFailureState, StorageError, StorageResult, TokenPurpose, from_unix_micros, now_utc,
    to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use time::OffsetDateTime;

fn account_from_row(row: &SqliteRow) -> StorageResult<Account> {
    Ok(Account {
        id: AccountId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        kind: AccountKind::parse(&get_string(row, "kind")?)
            .ok_or_else(|| corrupt("account kind"))?,
        email: Email::parse(&get_string(row, "email")?).map_err(|_| corrupt("email"))?,
        display_name: DisplayName::from_stored(&get_string(row, "display_name")?)
            .map_err(|_| corrupt("display name"))?,
        password_hash: PasswordHash(get_string(row, "password_hash")?),
        password_changed_at: get_instant(row, "password_changed_at")?,
        locale: Lang::from_tag(&get_string(row, "locale")?).unwrap_or_default(),
        email_verified_at: get_opt_instant(row, "email_verified_at")?,
        failed_sign_ins: row.try_get("failed_sign_ins").map_err(map_err)?,
        locked_until: get_opt_instant(row, "locked_until")?,
        disabled: row.try_get::<i64, _>("disabled").map_err(map_err)? != 0,
        created_at: get_instant(row, "created_at")?,
    })
}

/// Inserts role rows after checking that every scope belongs to the same tenant: a role can
/// never point at another municipality's office.
async fn insert_roles(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    account: AccountId,
    roles: &[RoleAssignment],
) -> StorageResult<()> {
    for role in roles {
        let inserted = sqlx::query(
            "INSERT INTO role_assignments (tenant_id, account_id, role, office_id, department_id)
             SELECT ?1, ?2, ?3, ?4, ?5
             WHERE (?4 IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = ?1 AND id = ?4))
               AND (?5 IS NULL OR EXISTS (SELECT 1 FROM departments WHERE tenant_id = ?1 AND id = ?5))",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(account.0))
        .bind(role.role.as_str())
        .bind(role.office_id.map(|o| uuid_text(o.0)))
        .bind(role.department_id.map(|d| uuid_text(d.0)))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() != 1 {
            return Err(StorageError::Constraint {
                constraint: "role_assignments_scope".into(),
            });
        }
    }
    Ok(())
}

/// Whether the account is an active administrator of the tenant.
async fn is_active_admin(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    account: AccountId,
) -> StorageResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM role_assignments r JOIN accounts a ON a.tenant_id = r.tenant_id AND a.id = r.account_id
         WHERE r.tenant_id = ? AND r.account_id = ? AND r.role = 'admin' AND a.disabled = 0 LIMIT 1",
    )
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(account.0))
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(found.is_some())
}

/// Refuses the transaction's change when it took the last active administrator's role away.
/// Runs inside the `BEGIN IMMEDIATE` transaction after the write: SQLite has one writer at a
/// time, so no other change can slip in between the write and this count.
async fn keep_an_admin(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    was_admin: bool,
) -> StorageResult<()> {
    if !was_admin {
        return Ok(());
    }
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM role_assignments r JOIN accounts a ON a.tenant_id = r.tenant_id AND a.id = r.account_id
         WHERE r.tenant_id = ? AND r.role = 'admin' AND a.disabled = 0",
    )
    .bind(uuid_text(tenant.0))
    .fetch_one(&mut **tx)
    .await
    .map_err(map_err)?;
    if admins == 0 {
        Err(StorageError::LastAdmin)
    } else {
        Ok(())
    }
}

#[async_trait]
impl AccountStore for SqliteStorage {
    async fn create_account(&self, tenant: TenantId, new: &NewAccount) -> StorageResult<Account> {
        let id = AccountId::new();
        let now = now_utc();
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO accounts (id, tenant_id, kind, email, display_name, password_hash, locale,
                                   email_verified_at, created_at, password_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(new.kind.as_str())
        .bind(new.email.as_str())
        .bind(new.display_name.as_str())
        .bind(&new.password_hash.0)
        .bind(new.locale.tag())
        .bind(new.email_verified_at.map(to_unix_micros))
        .bind(to_unix_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_roles(&mut tx, tenant, id, &new.roles).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Account {
            id,
            tenant_id: tenant,
            kind: new.kind,
            email: new.email.clone(),
            display_name: new.display_name.clone(),
            password_hash: new.password_hash.clone(),
            password_changed_at: now,
            locale: new.locale,
            email_verified_at: new
                .email_verified_at
                .map(to_unix_micros)
                .map(from_unix_micros)
                .transpose()?,
            failed_sign_ins: 0,
            locked_until: None,
            disabled: false,
            created_at: now,
        })
    }

    async fn account(&self, tenant: TenantId, id: AccountId) -> StorageResult<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        account_from_row(&row)
    }

    async fn account_by_email(
        &self,
        tenant: TenantId,
        kind: AccountKind,
        email: &Email,
    ) -> StorageResult<Account> {
        let row =
            sqlx::query("SELECT * FROM accounts WHERE tenant_id = ? AND kind = ? AND email = ?")
                .bind(uuid_text(tenant.0))
                .bind(kind.as_str())
                .bind(email.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        account_from_row(&row)
    }

    async fn list_accounts(
        &self,
        tenant: TenantId,
        kind: AccountKind,
    ) -> StorageResult<Vec<Account>> {
        let rows =
            sqlx::query("SELECT * FROM accounts WHERE tenant_id = ? AND kind = ? ORDER BY email")
                .bind(uuid_text(tenant.0))
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter().map(account_from_row).collect()
    }

    async fn set_roles(
        &self,
        tenant: TenantId,
        id: AccountId,
        roles: &[RoleAssignment],
    ) -> StorageResult<()> {
        let mut tx = self.begin_immediate().await?;
        let staff: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM accounts WHERE tenant_id = ? AND id = ? AND kind = 'staff'",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if staff.is_none() {
            return Err(StorageError::NotFound);
        }
        let was_admin = is_active_admin(&mut tx, tenant, id).await?;
        sqlx::query("DELETE FROM role_assignments WHERE tenant_id = ? AND account_id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_roles(&mut tx, tenant, id, roles).await?;
        // Dropping the transaction on refusal rolls the replacement back.
        keep_an_admin(&mut tx, tenant, was_admin).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn roles(&self, tenant: TenantId, id: AccountId) -> StorageResult<Vec<RoleAssignment>> {
        let rows = sqlx::query(
            "SELECT role, office_id, department_id FROM role_assignments
             WHERE tenant_id = ? AND account_id = ? ORDER BY role, office_id, department_id",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(RoleAssignment {
                    role: Role::parse(&get_string(row, "role")?).ok_or_else(|| corrupt("role"))?,
                    office_id: get_opt_uuid(row, "office_id")?.map(OfficeId),
                    department_id: get_opt_uuid(row, "department_id")?.map(DepartmentId),
                })
            })
            .collect()
    }

    async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: AccountId,
        hash: &PasswordHash,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        // A new password also lifts a lockout: the owner proved control of the mailbox.
        let done = sqlx::query(
            "UPDATE accounts SET password_hash = ?1, password_changed_at = ?4, failed_sign_ins = 0,
                                 locked_until = NULL
             WHERE tenant_id = ?2 AND id = ?3",
        )
        .bind(&hash.0)
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .bind(to_unix_micros(at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StorageError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn mark_email_verified(
        &self,
        tenant: TenantId,
        id: AccountId,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE accounts SET email_verified_at = coalesce(email_verified_at, ?) WHERE tenant_id = ? AND id = ?",
        )
        .bind(to_unix_micros(at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StorageError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn set_disabled(
        &self,
        tenant: TenantId,
        id: AccountId,
        disabled: bool,
    ) -> StorageResult<()> {
        let mut tx = self.begin_immediate().await?;
        let was_admin = disabled && is_active_admin(&mut tx, tenant, id).await?;
        let done = sqlx::query("UPDATE accounts SET disabled = ? WHERE tenant_id = ? AND id = ?")
            .bind(i64::from(disabled))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        keep_an_admin(&mut tx, tenant, was_admin).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn create_token(&self, tenant: TenantId, new: &NewOneTimeToken) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, tenant_id, account_id, purpose, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = ?2 AND id = ?3)",
        )
        .bind(&new.token_hash)
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.account_id.0))
        .bind(new.purpose.as_str())
        .bind(to_unix_micros(new.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)
        .and_then(|done| if done.rows_affected() == 1 { Ok(()) } else { Err(StorageError::NotFound) })
    }

    async fn consume_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId> {
        // One UPDATE both checks and spends the token, so two clicks on the same link cannot
        // both succeed.
        let row = sqlx::query(
            "UPDATE one_time_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND tenant_id = ?3 AND purpose = ?4 AND used_at IS NULL AND expires_at > ?1
             RETURNING account_id",
        )
        .bind(to_unix_micros(now))
        .bind(token_hash)
        .bind(uuid_text(tenant.0))
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(get_uuid(&row, "account_id")?))
    }

    async fn peek_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId> {
        let row = sqlx::query(
            "SELECT account_id FROM one_time_tokens
             WHERE token_hash = ?1 AND tenant_id = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?4",
        )
        .bind(token_hash)
        .bind(uuid_text(tenant.0))
        .bind(purpose.as_str())
        .bind(to_unix_micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(get_uuid(&row, "account_id")?))
    }

    async fn record_sign_in_failure(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> StorageResult<SignInFailureState> {
        let now_us = to_unix_micros(now);
        let window_start = now_us - policy.window_s * 1_000_000;
        let lock_until = now_us + policy.lock_s * 1_000_000;
        // Failures older than the window start a new count; reaching the maximum locks. Both
        // statements run under one write lock: otherwise a failure counted between them sees
        // the count past the maximum (6, 7, ...) instead of starting over after the lock.
        let mut tx = self.begin_immediate().await?;
        let row = sqlx::query(
            "UPDATE accounts SET
                failed_sign_ins = CASE WHEN last_failed_at IS NULL OR last_failed_at < ?2
                                       THEN 1 ELSE failed_sign_ins + 1 END,
                last_failed_at = ?1
             WHERE tenant_id = ?3 AND id = ?4
             RETURNING failed_sign_ins",
        )
        .bind(now_us)
        .bind(window_start)
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let failed: i64 = row.try_get("failed_sign_ins").map_err(map_err)?;
        let locked_until = if failed >= policy.max_failures {
            sqlx::query("UPDATE accounts SET locked_until = ?, failed_sign_ins = 0 WHERE tenant_id = ? AND id = ?")
                .bind(lock_until)
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Some(from_unix_micros(lock_until)?)
        } else {
            None
        };
        tx.commit().await.map_err(map_err)?;
        Ok(SignInFailureState {
            failed_sign_ins: failed,
            locked_until,
        })
    }

    async fn record_sign_in_success(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE accounts SET failed_sign_ins = 0, last_failed_at = NULL, locked_until = NULL, last_sign_in_at = ?
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(to_unix_micros(now))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn rate_limit_hit(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_s: i64,
        max_hits: i64,
    ) -> StorageResult<bool> {
        // A zero or negative window would divide by zero; div_euclid keeps windows aligned
        // for instants before 1970 too.
        let window_s = window_s.max(1);
        let window_start = now.unix_timestamp().div_euclid(window_s) * window_s;
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1
             RETURNING hits",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        if hits == 1 {
            // First hit of a new window: forget windows older than a day (the longest window
            // any limit uses), so the table stays small.
            sqlx::query("DELETE FROM rate_limits WHERE window_start < ?")
                .bind(now.unix_timestamp() - 86_400)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(hits <= max_hits)
    }
}
