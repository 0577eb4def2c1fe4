//! Staff accounts: an administrator invites a colleague and changes roles. The caller has
//! checked that the acting staff member may manage staff; the storage refuses to take the last
//! administrator's role away (`last_admin`).

use super::mail::send_link;
use super::passwords::hash;
use super::{AccountStores, Deps};
use crate::{FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_auth::one_time::new_token;
use madoguchi_domain::{
    AccountId, AccountKind, DisplayName, Email, ErrorCode, Lang, RoleAssignment,
};
use madoguchi_storage::{
    Account, AccountStore, AuditStore, NewAccount, StorageError, TokenPurpose,
};

/// How long an invitation link stays valid: three days, a long weekend.
const INVITE_TTL_S: i64 = 3 * 86_400;

pub struct NewStaffInput {
    pub display_name: String,
    pub email: String,
    pub locale: Lang,
    pub roles: Vec<RoleAssignment>,
}

/// Adds a staff member: the account starts with an unusable password and the new colleague
/// receives a link to choose one.
pub async fn invite_staff<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    input: NewStaffInput,
) -> UseCaseResult<Account> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|code| errors.push(FieldError::new("display_name", code)))
        .ok();
    let email = Email::parse(&input.email)
        .map_err(|code| errors.push(FieldError::new("email", code)))
        .ok();
    if input.roles.is_empty() {
        errors.push(FieldError::new("roles", ErrorCode::InvalidRoleScope));
    }
    let (Some(display_name), Some(email)) = (name, email) else {
        return Err(UseCaseError::fields(errors));
    };
    if !errors.is_empty() {
        return Err(UseCaseError::fields(errors));
    }
    // Nobody knows this password; the invitation link replaces it.
    let password_hash = hash(d.hasher, new_token()).await?;
    let new = NewAccount {
        kind: AccountKind::Staff,
        email,
        display_name,
        password_hash,
        locale: input.locale,
        email_verified_at: None,
        roles: input.roles.clone(),
    };
    let account = d
        .store
        .create_account(scope.tenant, &new)
        .await
        .map_err(role_write_error)?;
    let details = serde_json::json!({ "roles": input.roles });
    let target = Some(account.id.to_string());
    audit::record(d.store, scope, "staff.created", target, details).await?;
    let purpose = TokenPurpose::ResetPassword;
    let path = "/password-reset/confirm";
    send_link(
        d,
        scope,
        &account,
        purpose,
        INVITE_TTL_S,
        "staff_invite",
        path,
        None,
    )
    .await?;
    Ok(account)
}

/// Replaces a staff member's roles, recording before and after.
pub async fn change_roles<S: AccountStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    staff: AccountId,
    roles: Vec<RoleAssignment>,
) -> UseCaseResult<()> {
    let before = store.roles(scope.tenant, staff).await?;
    store
        .set_roles(scope.tenant, staff, &roles)
        .await
        .map_err(role_write_error)?;
    let details = serde_json::json!({ "before": before, "after": roles });
    let target = Some(staff.to_string());
    audit::record(store, scope, "staff.roles_changed", target, details).await
}

/// Adds roles to those a staff member holds (a role already held is not added twice).
pub async fn add_roles<S: AccountStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    staff: AccountId,
    added: Vec<RoleAssignment>,
) -> UseCaseResult<()> {
    let mut roles = store.roles(scope.tenant, staff).await?;
    for role in added {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    change_roles(store, scope, staff, roles).await
}

/// Removes the staff member's role at `index` (as listed by `AccountStore::roles`); an index
/// past the end changes nothing (the list changed since the page was shown).
pub async fn remove_role<S: AccountStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    staff: AccountId,
    index: usize,
) -> UseCaseResult<()> {
    let mut roles = store.roles(scope.tenant, staff).await?;
    if index >= roles.len() {
        return Ok(());
    }
    roles.remove(index);
    change_roles(store, scope, staff, roles).await
}

/// Storage errors of role writes: a scope pointing outside the tenant is the caller's mistake.
fn role_write_error(error: StorageError) -> UseCaseError {
    match error {
        StorageError::Constraint { .. } => {
            UseCaseError::field("roles", ErrorCode::InvalidRoleScope)
        }
        other => other.into(),
    }
}
