//! What an operator does from the command line, outside any request: granting a staff member
//! a role, e.g. to give a city an administrator again (`madoguchi grant-role`). The storage
//! refuses to take the last administrator's role away, but a city seeded without one, or
//! whose administrators all left, needs a way in that does not depend on signing in.
//!
//! Unlike the other use cases it answers with [`OperatorError`], whose messages tell the
//! operator at a terminal what to correct (there is no page to translate a code for).

use crate::{Actor, Scope, UseCaseError, audit};
use madoguchi_domain::{AccountKind, Clock, Email, Role, RoleAssignment};
use madoguchi_storage::{AccountStore, AuditStore, OrgStore, StorageError, TenantStore};
use std::sync::Arc;

/// Why a grant was refused; each message tells the operator what to correct.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no tenant has the slug {0:?} (see the tenants table or `default_tenant`)")]
    UnknownTenant(String),
    #[error("the email address is not valid")]
    InvalidEmail,
    #[error("tenant {0:?} has no staff account with this email address")]
    UnknownStaff(String),
    #[error("unknown role {0:?}; roles are admin, hq_staff, branch_staff, facility_staff, finance")]
    UnknownRole(String),
    #[error("tenant {tenant:?} has no office with the code {code:?}")]
    UnknownOffice { tenant: String, code: String },
    #[error("tenant {tenant:?} has no department with the code {code:?}")]
    UnknownDepartment { tenant: String, code: String },
    #[error(
        "the role {0} needs its scope: --office for branch and facility staff, --department for HQ staff"
    )]
    ScopeMissing(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    UseCase(#[from] UseCaseError),
}

/// One role for one staff member, as the operator typed it.
#[derive(Clone, Debug)]
pub struct RoleGrant {
    pub tenant_slug: String,
    pub email: String,
    pub role: String,
    /// Office code (`kita-shisho`), for roles scoped to an office.
    pub office_code: Option<String>,
    /// Department code, for roles scoped to a department.
    pub department_code: Option<String>,
}

/// What the grant did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granted {
    Added,
    /// The staff member already held exactly this role; nothing was written.
    AlreadyHeld,
}

/// Adds the role to the staff member's roles and records it in the tenant's audit log as done
/// by the system (the operator), with the roles before and after. The tenant is named by the
/// operator, so the scope is built here once it is found.
pub async fn grant_role<S>(
    store: &S,
    clock: Arc<dyn Clock>,
    grant: &RoleGrant,
) -> Result<Granted, OperatorError>
where
    S: TenantStore + OrgStore + AccountStore + AuditStore + ?Sized,
{
    let slug = grant.tenant_slug.trim();
    let tenant = match store.tenant_by_slug(slug).await {
        Ok(tenant) => tenant,
        Err(StorageError::NotFound) => return Err(OperatorError::UnknownTenant(slug.to_owned())),
        Err(other) => return Err(other.into()),
    };
    let scope = Scope::new(tenant.id, Actor::Operator, clock);
    let email = Email::parse(&grant.email).map_err(|_| OperatorError::InvalidEmail)?;
    let role = Role::parse(grant.role.trim())
        .ok_or_else(|| OperatorError::UnknownRole(grant.role.clone()))?;
    let account = match store
        .account_by_email(tenant.id, AccountKind::Staff, &email)
        .await
    {
        Ok(account) => account,
        Err(StorageError::NotFound) => return Err(OperatorError::UnknownStaff(slug.to_owned())),
        Err(other) => return Err(other.into()),
    };
    let office_id = match &grant.office_code {
        Some(code) => Some(
            store
                .list_offices(tenant.id)
                .await?
                .into_iter()
                .find(|o| o.code.as_str() == code.trim())
                .ok_or_else(|| OperatorError::UnknownOffice {
                    tenant: slug.to_owned(),
                    code: code.clone(),
                })?
                .id,
        ),
        None => None,
    };
    let department_id = match &grant.department_code {
        Some(code) => Some(
            store
                .list_departments(tenant.id)
                .await?
                .into_iter()
                .find(|d| d.code.as_str() == code.trim())
                .ok_or_else(|| OperatorError::UnknownDepartment {
                    tenant: slug.to_owned(),
                    code: code.clone(),
                })?
                .id,
        ),
        None => None,
    };
    let assignment = RoleAssignment::new(role, office_id, department_id)
        .map_err(|_| OperatorError::ScopeMissing(role.as_str()))?;
    let before = store.roles(tenant.id, account.id).await?;
    if before.contains(&assignment) {
        return Ok(Granted::AlreadyHeld);
    }
    let mut after = before.clone();
    after.push(assignment);
    store.set_roles(tenant.id, account.id, &after).await?;
    let details = serde_json::json!({ "before": before, "after": after, "by": "operator" });
    let target = Some(account.id.to_string());
    audit::record(store, &scope, "staff.roles_changed", target, details).await?;
    Ok(Granted::Added)
}
