//! Sign-in: the per-address rate limit, the lockout after repeated failures, and the same
//! answer for an unknown address as for a wrong password. The server turns the account into a
//! session or a bearer token.

use super::passwords::{client_key, hashed_key, rate_limit, verify};
use super::sign_up::send_verification;
use super::{AccountStores, Deps};
use crate::{Actor, FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{AccountId, AccountKind, Email, ErrorCode, ReturnPath};
use madoguchi_storage::{Account, AuditStore, StorageError};
use std::net::IpAddr;

pub struct SignIn {
    pub kind: AccountKind,
    pub email: String,
    pub password: String,
    /// The client's address, for the per-address limit (hashed, never stored).
    pub client: Option<IpAddr>,
    /// The page to return to after signing in; a fresh verification link carries it.
    pub next: Option<ReturnPath>,
}

/// The actor an account of this kind is.
pub fn actor_for(kind: AccountKind, id: AccountId) -> Actor {
    match kind {
        AccountKind::Resident => Actor::Resident(id),
        AccountKind::Staff => Actor::Staff(id),
    }
}

fn acting(account: &Account) -> Actor {
    actor_for(account.kind, account.id)
}

/// Records that the scope's actor signed out; the server ends the session itself.
pub async fn sign_out<S: AuditStore + ?Sized>(store: &S, scope: &Scope) -> UseCaseResult<()> {
    let (kind, id) = match scope.actor {
        Actor::Resident(id) => (AccountKind::Resident, id),
        Actor::Staff(id) => (AccountKind::Staff, id),
        // Nobody was signed in: nothing to record.
        Actor::System | Actor::Operator | Actor::Anonymous => return Ok(()),
    };
    let action = format!("{}.signed_out", kind.as_str());
    let target = Some(id.to_string());
    audit::record(store, scope, &action, target, serde_json::json!({})).await
}

fn locked(retry_after_s: i64) -> UseCaseError {
    UseCaseError {
        retry_after_s: Some(retry_after_s.max(1) as u64),
        ..UseCaseError::new(ErrorCode::AccountLocked)
    }
}

/// Checks credentials. Unknown address and wrong password look the same to the caller.
pub async fn sign_in<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    input: SignIn,
) -> UseCaseResult<Account> {
    let key = client_key("signin", scope.tenant, input.client);
    let max = d.settings.sign_in_per_ip_per_minute;
    rate_limit(d.store, scope, key, 60, max).await?;
    // A field left empty is named, each of them, before anything is looked up: it says nothing
    // about which addresses are registered.
    let empty: Vec<FieldError> = [("email", input.email.trim()), ("password", &input.password)]
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(field, _)| FieldError::new(field, ErrorCode::Required))
        .collect();
    if !empty.is_empty() {
        return Err(UseCaseError::fields(empty));
    }
    let kind = input.kind;
    let account = match Email::parse(&input.email) {
        Ok(email) => match d.store.account_by_email(scope.tenant, kind, &email).await {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        Err(_) => None,
    };
    let lockout = &d.settings.lockout;
    let Some(account) = account.filter(|a| !a.disabled) else {
        verify(d.hasher, None, input.password).await?;
        // Unknown addresses "lock" after as many tries as real ones, so the lockout does not
        // tell an attacker which addresses are registered.
        let material = input.email.trim().to_lowercase();
        let key = hashed_key("signin-unknown", scope.tenant, &material);
        let within = d
            .store
            .rate_limit_hit(
                &key,
                scope.now(),
                lockout.window_s,
                lockout.max_failures - 1,
            )
            .await?;
        if !within {
            return Err(locked(lockout.lock_s));
        }
        let scope = scope.acting_as(Actor::Anonymous);
        let action = format!("{}.sign_in_failed", kind.as_str());
        let details = serde_json::json!({"reason": "unknown_account"});
        audit::record(d.store, &scope, &action, None, details).await?;
        return Err(ErrorCode::InvalidCredentials.into());
    };
    let now = scope.now();
    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        return Err(locked((until - now).whole_seconds()));
    }
    let stored = Some(account.password_hash.clone());
    let scope = scope.acting_as(acting(&account));
    let target = Some(account.id.to_string());
    if !verify(d.hasher, stored, input.password).await? {
        let failure = d
            .store
            .record_sign_in_failure(scope.tenant, account.id, now, lockout)
            .await?;
        let is_locked = failure.locked_until.is_some();
        let action = format!("{}.sign_in_failed", kind.as_str());
        let details = serde_json::json!({"reason": "wrong_password", "failures": failure.failed_sign_ins, "locked": is_locked});
        audit::record(d.store, &scope, &action, target, details).await?;
        return Err(if is_locked {
            locked(lockout.lock_s)
        } else {
            ErrorCode::InvalidCredentials.into()
        });
    }
    if account.email_verified_at.is_none() {
        // The owner knows the password but lost or never got the mail: send a fresh link.
        send_verification(d, &scope, &account, input.next.as_ref()).await?;
        return Err(ErrorCode::EmailNotVerified.into());
    }
    d.store
        .record_sign_in_success(scope.tenant, account.id, now)
        .await?;
    let action = format!("{}.signed_in", kind.as_str());
    audit::record(d.store, &scope, &action, target, serde_json::json!({})).await?;
    Ok(account)
}
