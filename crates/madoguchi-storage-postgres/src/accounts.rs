//! Accounts, role assignments, one-time tokens, lockout and rate limits on PostgreSQL.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, DisplayName, Email, Lang, OfficeId, Role, RoleAssignment,
    TenantId,
};
use madoguchi_storage::{
    Account, AccountStore, LockoutPolicy, NewAccount, NewOneTimeToken, PasswordHash,
    SignInFailureState, StorageError, StorageResult, TokenPurpose, now_utc,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn account_from_row(row: &PgRow) -> StorageResult<Account> {
    Ok(Account {
        id: AccountId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        kind: AccountKind::parse(&get::<String>(row, "kind")?)
            .ok_or_else(|| corrupt("account kind"))?,
        email: Email::parse(&get::<String>(row, "email")?).map_err(|_| corrupt("email"))?,
        display_name: DisplayName::from_stored(&get::<String>(row, "display_name")?)
            .map_err(|_| corrupt("display name"))?,
        password_hash: PasswordHash(get(row, "password_hash")?),
        password_changed_at: get(row, "password_changed_at")?,
        locale: Lang::from_tag(&get::<String>(row, "locale")?).unwrap_or_default(),
        email_verified_at: get(row, "email_verified_at")?,
        failed_sign_ins: get(row, "failed_sign_ins")?,
        locked_until: get(row, "locked_until")?,
        disabled: get(row, "disabled")?,
        created_at: get(row, "created_at")?,
    })
}

/// Inserts every role row in one statement, after checking that each scope belongs to the same
/// tenant: a role can never point at another municipality's office or department. A refused
/// scope inserts nothing, so the caller's transaction rolls back whole.
async fn insert_roles(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    account: AccountId,
    roles: &[RoleAssignment],
) -> StorageResult<()> {
    if roles.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.role.as_str()).collect();
    let offices: Vec<Option<Uuid>> = roles.iter().map(|r| r.office_id.map(|o| o.0)).collect();
    let departments: Vec<Option<Uuid>> =
        roles.iter().map(|r| r.department_id.map(|d| d.0)).collect();
    let inserted = sqlx::query(
        "INSERT INTO role_assignments (tenant_id, account_id, role, office_id, department_id)
         SELECT $1, $2, r.role, r.office_id, r.department_id
         FROM unnest($3::text[], $4::uuid[], $5::uuid[]) AS r (role, office_id, department_id)
         WHERE (r.office_id IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = $1 AND id = r.office_id))
           AND (r.department_id IS NULL
                OR EXISTS (SELECT 1 FROM departments WHERE tenant_id = $1 AND id = r.department_id))",
    )
    .bind(tenant.0)
    .bind(account.0)
    .bind(names)
    .bind(offices)
    .bind(departments)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    if inserted.rows_affected() != roles.len() as u64 {
        return Err(StorageError::Constraint {
            constraint: "role_assignments_scope".into(),
        });
    }
    Ok(())
}

/// What [`lock_account_and_admins`] found about the account it locked.
struct LockedAccount {
    /// `staff` or `resident`; `None` when the tenant has no such account.
    kind: Option<String>,
    /// Whether it was an active administrator before the change.
    was_admin: bool,
}

/// Locks the account and every administrator account of the tenant, in id order. Two changes
/// that could each take away "the other" last administrator (two admins removing their own
/// role at once) both need these rows, so the second waits for the first to commit; its count
/// in [`keep_an_admin`] is a new statement and sees that commit. One statement in id order, so
/// two such changes never lock in opposite orders.
async fn lock_account_and_admins(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    account: AccountId,
) -> StorageResult<LockedAccount> {
    let rows: Vec<(Uuid, String, bool, bool)> = sqlx::query_as(
        "SELECT a.id, a.kind, a.disabled,
                EXISTS (SELECT 1 FROM role_assignments r
                        WHERE r.tenant_id = a.tenant_id AND r.account_id = a.id AND r.role = 'admin') AS admin
         FROM accounts a
         WHERE a.tenant_id = $1
           AND (a.id = $2 OR EXISTS (SELECT 1 FROM role_assignments r
                                     WHERE r.tenant_id = a.tenant_id AND r.account_id = a.id AND r.role = 'admin'))
         ORDER BY a.id
         FOR UPDATE OF a",
    )
    .bind(tenant.0)
    .bind(account.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(map_err)?;
    let target = rows.into_iter().find(|(id, ..)| *id == account.0);
    Ok(LockedAccount {
        kind: target.as_ref().map(|(_, kind, ..)| kind.clone()),
        was_admin: target.is_some_and(|(_, _, disabled, admin)| admin && !disabled),
    })
}

/// Refuses the transaction's change when it took the last active administrator's role away;
/// runs after the write, with the administrators locked.
async fn keep_an_admin(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    was_admin: bool,
) -> StorageResult<()> {
    if !was_admin {
        return Ok(());
    }
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM role_assignments r
         JOIN accounts a ON a.tenant_id = r.tenant_id AND a.id = r.account_id
         WHERE r.tenant_id = $1 AND r.role = 'admin' AND NOT a.disabled",
    )
    .bind(tenant.0)
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
impl AccountStore for PgStorage {
    async fn create_account(&self, tenant: TenantId, new: &NewAccount) -> StorageResult<Account> {
        let id = AccountId::new();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(
            "INSERT INTO accounts (id, tenant_id, kind, email, display_name, password_hash, locale,
                                   email_verified_at, created_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             RETURNING *",
        )
        .bind(id.0)
        .bind(tenant.0)
        .bind(new.kind.as_str())
        .bind(new.email.as_str())
        .bind(new.display_name.as_str())
        .bind(&new.password_hash.0)
        .bind(new.locale.tag())
        .bind(new.email_verified_at)
        .bind(now_utc())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_roles(&mut tx, tenant, id, &new.roles).await?;
        tx.commit().await.map_err(map_err)?;
        account_from_row(&row)
    }

    async fn account(&self, tenant: TenantId, id: AccountId) -> StorageResult<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
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
            sqlx::query("SELECT * FROM accounts WHERE tenant_id = $1 AND kind = $2 AND email = $3")
                .bind(tenant.0)
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
        let rows = sqlx::query(
            "SELECT * FROM accounts WHERE tenant_id = $1 AND kind = $2 ORDER BY email COLLATE \"C\"",
        )
        .bind(tenant.0)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Locking the account row serialises concurrent replacements of its roles; without it
        // two administrators saving at once could both delete and both insert. The tenant's
        // administrators are locked with it (see `lock_account_and_admins`).
        let locked = lock_account_and_admins(&mut tx, tenant, id).await?;
        if locked.kind.as_deref() != Some("staff") {
            return Err(StorageError::NotFound);
        }
        sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_roles(&mut tx, tenant, id, roles).await?;
        // Dropping the transaction on refusal rolls the replacement back.
        keep_an_admin(&mut tx, tenant, locked.was_admin).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn roles(&self, tenant: TenantId, id: AccountId) -> StorageResult<Vec<RoleAssignment>> {
        // uuid columns sort bytewise, like the UUID text SQLite sorts, so both backends list
        // roles in the same order.
        let rows = sqlx::query(
            "SELECT role, office_id, department_id FROM role_assignments
             WHERE tenant_id = $1 AND account_id = $2
             ORDER BY role COLLATE \"C\", office_id NULLS FIRST, department_id NULLS FIRST",
        )
        .bind(tenant.0)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(RoleAssignment {
                    role: Role::parse(&get::<String>(row, "role")?)
                        .ok_or_else(|| corrupt("role"))?,
                    office_id: get::<Option<Uuid>>(row, "office_id")?.map(OfficeId),
                    department_id: get::<Option<Uuid>>(row, "department_id")?.map(DepartmentId),
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
            "UPDATE accounts SET password_hash = $1, password_changed_at = $4, failed_sign_ins = 0,
                                 locked_until = NULL
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(&hash.0)
        .bind(tenant.0)
        .bind(id.0)
        .bind(at)
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
            "UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $1) WHERE tenant_id = $2 AND id = $3",
        )
        .bind(at)
        .bind(tenant.0)
        .bind(id.0)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let locked = lock_account_and_admins(&mut tx, tenant, id).await?;
        if locked.kind.is_none() {
            return Err(StorageError::NotFound);
        }
        sqlx::query("UPDATE accounts SET disabled = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(disabled)
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        keep_an_admin(&mut tx, tenant, disabled && locked.was_admin).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn create_token(&self, tenant: TenantId, new: &NewOneTimeToken) -> StorageResult<()> {
        // The EXISTS makes sure the token's account belongs to the tenant the token is for.
        let done = sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, tenant_id, account_id, purpose, expires_at)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $2 AND id = $3)",
        )
        .bind(&new.token_hash)
        .bind(tenant.0)
        .bind(new.account_id.0)
        .bind(new.purpose.as_str())
        .bind(new.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StorageError::NotFound)
        }
    }

    async fn consume_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId> {
        // One UPDATE both checks and spends the token. A second click waits for the first's
        // row lock, then re-checks `used_at IS NULL` on the committed row and matches nothing.
        let account: Uuid = sqlx::query_scalar(
            "UPDATE one_time_tokens SET used_at = $1
             WHERE token_hash = $2 AND tenant_id = $3 AND purpose = $4 AND used_at IS NULL AND expires_at > $1
             RETURNING account_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(tenant.0)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(account))
    }

    async fn peek_token(
        &self,
        tenant: TenantId,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> StorageResult<AccountId> {
        let account: Uuid = sqlx::query_scalar(
            "SELECT account_id FROM one_time_tokens
             WHERE token_hash = $1 AND tenant_id = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4",
        )
        .bind(token_hash)
        .bind(tenant.0)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(AccountId(account))
    }

    async fn record_sign_in_failure(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> StorageResult<SignInFailureState> {
        let out_of_range = || StorageError::Other("lockout policy out of range".into());
        let window_start = now
            .checked_sub(Duration::seconds(policy.window_s))
            .ok_or_else(out_of_range)?;
        let lock_until = now
            .checked_add(Duration::seconds(policy.lock_s))
            .ok_or_else(out_of_range)?;
        // One statement: the CTE locks the account row (waiting for a concurrent failure to
        // commit, then reading its result), counts this failure — failures older than the
        // window start a new count — and the UPDATE stores the count, or locks the account
        // and starts over when the count reaches the maximum.
        let row = sqlx::query(
            "WITH counted AS (
                 SELECT id, CASE WHEN last_failed_at IS NULL OR last_failed_at < $2
                                 THEN 1 ELSE failed_sign_ins + 1 END AS failures
                 FROM accounts WHERE tenant_id = $3 AND id = $4
                 FOR UPDATE)
             UPDATE accounts SET
                 failed_sign_ins = CASE WHEN counted.failures >= $5 THEN 0 ELSE counted.failures END,
                 locked_until = CASE WHEN counted.failures >= $5 THEN $6 ELSE accounts.locked_until END,
                 last_failed_at = $1
             FROM counted WHERE accounts.id = counted.id
             RETURNING counted.failures AS failures,
                       CASE WHEN counted.failures >= $5 THEN accounts.locked_until END AS locked_until",
        )
        .bind(now)
        .bind(window_start)
        .bind(tenant.0)
        .bind(id.0)
        .bind(policy.max_failures)
        .bind(lock_until)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        Ok(SignInFailureState {
            failed_sign_ins: get(&row, "failures")?,
            locked_until: get(&row, "locked_until")?,
        })
    }

    async fn record_sign_in_success(
        &self,
        tenant: TenantId,
        id: AccountId,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE accounts SET failed_sign_ins = 0, last_failed_at = NULL, locked_until = NULL, last_sign_in_at = $1
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
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
        // Windows are whole multiples of `window_s` seconds since the epoch, so every node
        // puts the same hit in the same window.
        let window_s = window_s.max(1);
        let window_start = now.unix_timestamp().div_euclid(window_s) * window_s;
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
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
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(now.unix_timestamp() - 86_400)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(hits <= max_hits)
    }
}
