//! Fixtures of the storage contract stories: tenants and residents written straight through the
//! storage traits, fixed instants, and the assertions on `StorageError` the stories share.

use crate::db::Backend;
use madoguchi_domain::{
    AccountKind, DisplayName, Email, Lang, OrgCode, RoleAssignment, TenantId, TenantSlug,
};
use madoguchi_storage::{
    Account, NewAccount, NewTenant, PasswordHash, StorageError, StorageResult, Tenant,
};
use std::fmt::Debug;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A fixed instant on a whole minute, far from any test machine's clock.
pub const T0: OffsetDateTime = datetime!(2030-04-01 09:00:00 UTC);

/// `s` seconds.
pub fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

/// An office or department code the test knows to be valid.
pub fn code(raw: &str) -> OrgCode {
    OrgCode::parse(raw).unwrap_or_else(|e| panic!("code {raw:?}: {e:?}"))
}

/// Service rules written as the JSON an administrator posts; the shape must be one the booking
/// crate reads (unknown fields are refused).
pub fn rules(value: serde_json::Value) -> madoguchi_booking::ServiceRules {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("service rules: {e}"))
}

/// A tenant named after its slug (`<slug>市`), with `host` if given.
pub fn new_tenant(raw_slug: &str, host: Option<&str>) -> NewTenant {
    NewTenant {
        slug: TenantSlug::parse(raw_slug).unwrap_or_else(|e| panic!("slug {raw_slug:?}: {e:?}")),
        name_ja: format!("{raw_slug}市"),
        name_en: format!("{raw_slug} City"),
        host: host.map(str::to_owned),
    }
}

/// Creates a tenant without a host of its own.
pub async fn tenant<S: Backend>(s: &S, raw_slug: &str) -> anyhow::Result<Tenant> {
    Ok(s.create_tenant(&new_tenant(raw_slug, None)).await?)
}

/// An unverified account of `kind` at `address`, named 山田 花子, with a placeholder hash
/// (the stories never check a password).
pub fn new_account(kind: AccountKind, address: &str, roles: Vec<RoleAssignment>) -> NewAccount {
    NewAccount {
        kind,
        email: Email::parse(address).unwrap_or_else(|e| panic!("email {address:?}: {e:?}")),
        display_name: DisplayName::parse("山田 花子")
            .unwrap_or_else(|e| panic!("display name: {e:?}")),
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        locale: Lang::Ja,
        email_verified_at: None,
        roles,
    }
}

/// Creates a resident account at `address` in `tenant`.
pub async fn resident<S: Backend>(
    s: &S,
    tenant: TenantId,
    address: &str,
) -> anyhow::Result<Account> {
    Ok(
        s.create_account(tenant, &new_account(AccountKind::Resident, address, vec![]))
            .await?,
    )
}

/// The result is `StorageError::NotFound`.
#[track_caller]
pub fn assert_not_found<T: Debug>(result: StorageResult<T>) {
    match result {
        Err(StorageError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// The result is the refusal of the check constraint named `constraint`.
#[track_caller]
pub fn assert_constraint<T: Debug>(result: StorageResult<T>, constraint: &str) {
    match result {
        Err(StorageError::Constraint { constraint: actual }) if actual == constraint => {}
        other => panic!("expected Constraint {{ constraint: {constraint:?} }}, got {other:?}"),
    }
}

/// The result is the refusal of some check constraint (which one differs between the
/// databases).
#[track_caller]
pub fn assert_any_constraint<T: Debug>(result: StorageResult<T>) {
    match result {
        Err(StorageError::Constraint { .. }) => {}
        other => panic!("expected Constraint, got {other:?}"),
    }
}
