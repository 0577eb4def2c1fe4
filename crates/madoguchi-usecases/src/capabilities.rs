//! The capabilities a city offers its residents (reservations now; facilities, the remote
//! counter and payments as they land): read for the home page, switched by administrators and
//! audited. Only administrators reach [`switch`]; the caller checks the role.

use crate::cache::NodeCaches;
use crate::{FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{Capability, CityCapabilities, ErrorCode, TenantId};
use madoguchi_storage::{AuditStore, CapabilityStore};

/// The city's settings, with the defaults for what it never switched.
pub async fn of_city<S: CapabilityStore + ?Sized>(
    store: &S,
    tenant: TenantId,
) -> UseCaseResult<CityCapabilities> {
    let switched = store.switched_capabilities(tenant).await?;
    Ok(CityCapabilities::from_switched(switched))
}

/// Parses a capability's name from a form or the API.
pub fn parse(raw: &str) -> UseCaseResult<Capability> {
    Capability::parse(raw.trim()).ok_or_else(|| {
        UseCaseError::fields(vec![FieldError::new(
            "capability",
            ErrorCode::ValidationFailed,
        )])
    })
}

/// Turns one capability on or off for the scope's city and records who did it. Turning on a
/// capability this build lacks is refused with `capability_not_built`. Switching to what is
/// already set changes nothing and records nothing.
pub async fn switch<S: CapabilityStore + AuditStore + ?Sized>(
    store: &S,
    caches: &dyn NodeCaches,
    scope: &Scope,
    capability: Capability,
    on: bool,
) -> UseCaseResult<CityCapabilities> {
    CityCapabilities::check_switch(capability, on)?;
    let before = of_city(store, scope.tenant).await?;
    if before.is_on(capability) == on {
        return Ok(before);
    }
    store
        .switch_capability(scope.tenant, capability, on, scope.now())
        .await?;
    audit::record(
        store,
        scope,
        "city.capability_switched",
        Some(capability.as_str().to_owned()),
        serde_json::json!({"capability": capability.as_str(), "on": on}),
    )
    .await?;
    caches.capabilities_changed(scope.tenant);
    of_city(store, scope.tenant).await
}
