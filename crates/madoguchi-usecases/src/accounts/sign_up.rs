//! Resident sign-up and email verification. A known address answers exactly like a new one, so
//! the form cannot be used to find out who is registered; the address's owner is mailed instead
//! ("someone tried to sign up with your address"), as the reset flow does.

use super::mail::{queue_mail, send_link};
use super::passwords::{client_key, hash, rate_limit};
use super::{AccountStores, Deps};
use crate::{Actor, FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_auth::one_time::{looks_like_token, token_hash};
use madoguchi_domain::password::check_new_password;
use madoguchi_domain::{AccountId, AccountKind, DisplayName, Email, ErrorCode, Lang, ReturnPath};
use madoguchi_storage::{Account, NewAccount, StorageError, TokenPurpose};
use std::net::IpAddr;

pub struct SignUpInput {
    pub display_name: String,
    pub email: String,
    pub password: String,
    pub locale: Lang,
    /// The client's address, for the per-address hourly limit (hashed, never stored).
    pub client: Option<IpAddr>,
    /// The page the resident was on before signing up; the verification link leads back.
    pub next: Option<ReturnPath>,
}

/// The parsed, validated sign-up, or every problem at once (so a form shows them together).
fn parse_sign_up(input: &SignUpInput) -> UseCaseResult<(DisplayName, Email)> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|code| errors.push(FieldError::new("display_name", code)))
        .ok();
    let email = Email::parse(&input.email)
        .map_err(|code| errors.push(FieldError::new("email", code)))
        .ok();
    let password_check = match &email {
        Some(email) => check_new_password(&input.password, email),
        // The address is wrong too; check the password against a placeholder so both show.
        None => check_new_password(&input.password, &Email::parse("x@invalid.example")?),
    };
    if let Err(code) = password_check {
        errors.push(FieldError::new("password", code));
    }
    match (name, email) {
        (Some(name), Some(email)) if errors.is_empty() => Ok((name, email)),
        _ => Err(UseCaseError::fields(errors)),
    }
}

/// Signs a resident up and mails the verification link; for a known address, mails its owner.
pub async fn sign_up<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    input: SignUpInput,
) -> UseCaseResult<()> {
    let (display_name, email) = parse_sign_up(&input)?;
    let key = client_key("signup", scope.tenant, input.client);
    let max = d.settings.sign_up_per_ip_per_hour;
    rate_limit(d.store, scope, key, 3600, max).await?;
    // Hashed for a known address too: the time taken must not tell the two apart.
    let password_hash = hash(d.hasher, input.password).await?;
    let new = NewAccount {
        kind: AccountKind::Resident,
        email: email.clone(),
        display_name,
        password_hash,
        locale: input.locale,
        email_verified_at: None,
        roles: vec![],
    };
    let account = match d.store.create_account(scope.tenant, &new).await {
        Ok(account) => account,
        Err(StorageError::Duplicate { constraint }) if constraint == "accounts_email" => {
            return warn_owner_of_sign_up(d, scope, &email).await;
        }
        Err(other) => return Err(other.into()),
    };
    let scope = scope.acting_as(Actor::Resident(account.id));
    let target = Some(account.id.to_string());
    let details = serde_json::json!({});
    audit::record(d.store, &scope, "resident.signed_up", target, details).await?;
    send_verification(d, &scope, &account, input.next.as_ref()).await
}

/// Someone signed up with a registered address: tell its owner how to sign in or reset the
/// password. No verification link: if the address was registered by someone else and never
/// verified, the reset (which verifies) gives it to its real owner with a password of their own.
async fn warn_owner_of_sign_up<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    email: &Email,
) -> UseCaseResult<()> {
    let found = d
        .store
        .account_by_email(scope.tenant, AccountKind::Resident, email)
        .await;
    let account = match found {
        Ok(account) if !account.disabled => account,
        Ok(_) | Err(StorageError::NotFound) => return Ok(()),
        Err(other) => return Err(other.into()),
    };
    let base = d.base_url();
    let values = serde_json::json!({
        "name": account.display_name.as_str(),
        "city": d.city.name(account.locale),
        "signin_link": format!("{base}/signin"),
        "reset_link": format!("{base}/password-reset"),
    });
    queue_mail(d, scope, &account, "sign_up_existing", values).await?;
    let scope = scope.acting_as(Actor::Anonymous);
    let target = Some(account.id.to_string());
    let details = serde_json::json!({});
    audit::record(
        d.store,
        &scope,
        "resident.sign_up_existing",
        target,
        details,
    )
    .await
}

/// Mails the account a fresh verification link, which carries `next` (the page to return to
/// after signing in) when there is one.
pub async fn send_verification<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    account: &Account,
    next: Option<&ReturnPath>,
) -> UseCaseResult<()> {
    let ttl_s = d.settings.verification_ttl_s;
    let purpose = TokenPurpose::VerifyEmail;
    send_link(
        d,
        scope,
        account,
        purpose,
        ttl_s,
        "verify_email",
        "/verify-email",
        next,
    )
    .await
}

/// Spends a verification token and marks the address verified.
pub async fn verify_email<S: AccountStores + ?Sized>(
    store: &S,
    scope: &Scope,
    token: &str,
) -> UseCaseResult<AccountId> {
    if !looks_like_token(token) {
        return Err(ErrorCode::TokenInvalid.into());
    }
    let purpose = TokenPurpose::VerifyEmail;
    let spent = store
        .consume_token(scope.tenant, purpose, &token_hash(token), scope.now())
        .await;
    let account_id = match spent {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(ErrorCode::TokenInvalid.into()),
        Err(other) => return Err(other.into()),
    };
    store
        .mark_email_verified(scope.tenant, account_id, scope.now())
        .await?;
    let scope = scope.acting_as(Actor::Resident(account_id));
    let target = Some(account_id.to_string());
    let details = serde_json::json!({});
    audit::record(store, &scope, "resident.email_verified", target, details).await?;
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str, password: &str) -> SignUpInput {
        SignUpInput {
            display_name: name.into(),
            email: email.into(),
            password: password.into(),
            locale: Lang::Ja,
            client: None,
            next: None,
        }
    }

    #[test]
    fn a_sign_up_with_every_input_wrong_reports_all_three_fields() {
        let error = parse_sign_up(&input("", "not-an-address", "x")).err();
        let fields: Vec<String> = error
            .map(|e| e.fields.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["display_name", "email", "password"]);
    }
}
