//! API tokens: an account exchanges its email and password for a signed bearer token holding
//! the scopes it may have (all of them by default, or those it asks for). Only the signature
//! is kept: a token is checked by its signature and its tenant, never looked up.

use super::sign_in::{SignIn, sign_in};
use super::{AccountStores, Deps};
use crate::{Scope, UseCaseError, UseCaseResult};
use madoguchi_auth::{ApiScope, ApiTokenKeys};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountKind, ErrorCode, RoleAssignment};
use time::OffsetDateTime;

pub struct TokenRequest {
    pub sign_in: SignIn,
    /// Scopes wanted, as the caller spelt them; `None` for everything the account may have.
    pub scopes: Option<Vec<String>>,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub scopes: Vec<ApiScope>,
}

/// The scopes an account of this kind holding these roles may have.
pub fn scopes_allowed(kind: AccountKind, roles: Vec<RoleAssignment>) -> Vec<ApiScope> {
    match kind {
        AccountKind::Resident => vec![ApiScope::AccountRead],
        AccountKind::Staff => {
            let access = StaffAccess::new(roles);
            let mut scopes = vec![ApiScope::AccountRead, ApiScope::OrgRead];
            if access.may_manage_organisation() {
                scopes.push(ApiScope::OrgWrite);
            }
            if access.may_read_audit_log() {
                scopes.push(ApiScope::AuditRead);
            }
            scopes
        }
    }
}

/// The scopes asked for, each one allowed; an unknown name is invalid input, a scope beyond
/// the account's is forbidden.
fn scopes_granted(
    allowed: Vec<ApiScope>,
    requested: Option<Vec<String>>,
) -> UseCaseResult<Vec<ApiScope>> {
    let Some(requested) = requested else {
        return Ok(allowed);
    };
    let mut granted = Vec::new();
    for raw in requested {
        let scope = ApiScope::parse(&raw)
            .ok_or_else(|| UseCaseError::field("scopes", ErrorCode::ValidationFailed))?;
        if !allowed.contains(&scope) {
            return Err(ErrorCode::Forbidden.into());
        }
        granted.push(scope);
    }
    Ok(granted)
}

/// Signs the account in (with the same limits and lockout as the pages) and issues a token
/// valid `ttl_s` seconds from the scope's now.
pub async fn issue_api_token<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    keys: &ApiTokenKeys,
    ttl_s: i64,
    request: TokenRequest,
) -> UseCaseResult<IssuedToken> {
    let account = sign_in(d, scope, request.sign_in).await?;
    let roles = match account.kind {
        AccountKind::Resident => Vec::new(),
        AccountKind::Staff => d.store.roles(scope.tenant, account.id).await?,
    };
    let allowed = scopes_allowed(account.kind, roles);
    let scopes = scopes_granted(allowed, request.scopes)?;
    let (token, claims) = keys
        .issue(
            account.id,
            scope.tenant,
            account.kind,
            scopes,
            scope.now(),
            ttl_s,
        )
        .map_err(UseCaseError::internal)?;
    let expires_at =
        OffsetDateTime::from_unix_timestamp(claims.exp).map_err(UseCaseError::internal)?;
    Ok(IssuedToken {
        token,
        expires_at,
        scopes: claims.scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resident_may_only_read_their_account() {
        let allowed = scopes_allowed(AccountKind::Resident, Vec::new());
        assert_eq!(allowed, vec![ApiScope::AccountRead]);
    }

    #[test]
    fn asking_for_a_scope_beyond_the_account_is_forbidden() {
        let allowed = vec![ApiScope::AccountRead];
        let asked = Some(vec![ApiScope::OrgWrite.as_str().to_owned()]);
        let error = scopes_granted(allowed, asked).err().map(|e| e.code);
        assert_eq!(error, Some(ErrorCode::Forbidden));
    }

    #[test]
    fn an_unknown_scope_name_is_invalid_input_of_the_scopes_field() {
        let error = scopes_granted(vec![ApiScope::AccountRead], Some(vec!["root".into()])).err();
        let fields: Vec<String> = error
            .map(|e| e.fields.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["scopes"]);
    }
}
