//! What a node must forget after a change so that it shows the change at once. The caches
//! themselves belong to the node (the server holds them); other nodes catch up when their
//! entries expire.

use madoguchi_domain::TenantId;

pub trait NodeCaches: Send + Sync {
    /// A tenant's offices or departments changed.
    fn offices_changed(&self, tenant: TenantId);
}

/// For callers without caches: the command line, jobs that run on their own.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCaches;

impl NodeCaches for NoCaches {
    fn offices_changed(&self, _tenant: TenantId) {}
}
