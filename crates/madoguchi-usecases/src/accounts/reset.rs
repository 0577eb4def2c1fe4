//! Password reset: a link by mail, then a new password. The request answers the same whether
//! or not the address has an account, so the form cannot be used to find out who is registered.

use super::mail::send_link;
use super::passwords::{client_key, hash, rate_limit};
use super::sign_in::actor_for;
use super::{AccountStores, Deps};
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_auth::one_time::{looks_like_token, token_hash};
use madoguchi_domain::password::check_new_password;
use madoguchi_domain::{AccountKind, Email, ErrorCode};
use madoguchi_storage::{Account, StorageError, TokenPurpose};
use std::net::IpAddr;

/// Sends a reset link if the address has an (enabled) account of this kind.
pub async fn request_password_reset<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    kind: AccountKind,
    email: &str,
    client: Option<IpAddr>,
) -> UseCaseResult<()> {
    let email = Email::parse(email).map_err(|code| UseCaseError::field("email", code))?;
    let key = client_key("reset", scope.tenant, client);
    let max = d.settings.sign_up_per_ip_per_hour;
    rate_limit(d.store, scope, key, 3600, max).await?;
    let account = match d.store.account_by_email(scope.tenant, kind, &email).await {
        Ok(account) if !account.disabled => account,
        Ok(_) | Err(StorageError::NotFound) => return Ok(()),
        Err(other) => return Err(other.into()),
    };
    let ttl_s = d.settings.reset_ttl_s;
    let purpose = TokenPurpose::ResetPassword;
    let path = "/password-reset/confirm";
    send_link(
        d,
        scope,
        &account,
        purpose,
        ttl_s,
        "reset_password",
        path,
        None,
    )
    .await?;
    let scope = scope.acting_as(actor_for(kind, account.id));
    let action = format!("{}.password_reset_requested", kind.as_str());
    let target = Some(account.id.to_string());
    audit::record(d.store, &scope, &action, target, serde_json::json!({})).await
}

/// Spends a reset token and sets the new password; also verifies the address (the mail arrived).
pub async fn reset_password<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    token: &str,
    new_password: String,
) -> UseCaseResult<Account> {
    if !looks_like_token(token) {
        return Err(ErrorCode::TokenInvalid.into());
    }
    // Validate before spending the token, so a weak password does not burn the link.
    let hash_of_token = token_hash(token);
    let purpose = TokenPurpose::ResetPassword;
    let tenant = scope.tenant;
    let owner = match d
        .store
        .peek_token(tenant, purpose, &hash_of_token, scope.now())
        .await
    {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(ErrorCode::TokenInvalid.into()),
        Err(other) => return Err(other.into()),
    };
    let account = d.store.account(tenant, owner).await?;
    check_new_password(&new_password, &account.email)
        .map_err(|code| UseCaseError::field("password", code))?;
    // Hash before spending the token: a failure here leaves the link usable.
    let password_hash = hash(d.hasher, new_password).await?;
    let account_id = match d
        .store
        .consume_token(tenant, purpose, &hash_of_token, scope.now())
        .await
    {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(ErrorCode::TokenInvalid.into()),
        Err(other) => return Err(other.into()),
    };
    d.store
        .set_password_hash(tenant, account_id, &password_hash, scope.now())
        .await?;
    d.store
        .mark_email_verified(tenant, account_id, scope.now())
        .await?;
    let scope = scope.acting_as(actor_for(account.kind, account.id));
    let action = format!("{}.password_reset", account.kind.as_str());
    let target = Some(account_id.to_string());
    audit::record(d.store, &scope, &action, target, serde_json::json!({})).await?;
    Ok(account)
}
