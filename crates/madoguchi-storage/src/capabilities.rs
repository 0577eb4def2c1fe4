//! Which capabilities each city has switched on or off (`madoguchi_domain::CityCapabilities`
//! decides what that means, with defaults for what it never switched).

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::{Capability, TenantId};
use time::OffsetDateTime;

#[async_trait]
pub trait CapabilityStore: Send + Sync {
    /// What the city switched, one entry per capability. A stored name this binary does not
    /// know (written by a newer version) is left out.
    async fn switched_capabilities(
        &self,
        tenant: TenantId,
    ) -> StorageResult<Vec<(Capability, bool)>>;

    /// Switches one capability on or off at `at` (the last switch wins).
    async fn switch_capability(
        &self,
        tenant: TenantId,
        capability: Capability,
        on: bool,
        at: OffsetDateTime,
    ) -> StorageResult<()>;
}
