//! Records and the storage capability for the city's booking policy and the suspensions it
//! imposes (online booking stopped after repeated no-shows; staff may lift one early).

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::{AccountId, OfficeId, TenantId};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suspension {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    /// The office of the reservation whose no-show imposed it; `None` for suspensions imposed
    /// before the office was recorded (only an administrator lifts those).
    pub office_id: Option<OfficeId>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// No-shows counted when it was imposed.
    pub no_shows: i64,
    pub created_at: OffsetDateTime,
    pub lifted_at: Option<OffsetDateTime>,
    pub lifted_by: Option<AccountId>,
    pub lift_reason: Option<String>,
}

impl Suspension {
    pub fn in_force(&self, now: OffsetDateTime) -> bool {
        self.lifted_at.is_none() && self.starts_at <= now && now < self.ends_at
    }
}

#[derive(Clone, Copy, Debug)]
pub struct NewSuspension {
    pub account_id: AccountId,
    /// The office of the no-show that imposes it (checked to belong to the tenant).
    pub office_id: Option<OfficeId>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub no_shows: i64,
}

#[async_trait]
pub trait SuspensionStore: Send + Sync {
    /// The tenant's policy JSON, `None` when it never set one (defaults apply).
    async fn booking_policy(&self, tenant: TenantId) -> StorageResult<Option<serde_json::Value>>;
    async fn set_booking_policy(
        &self,
        tenant: TenantId,
        policy: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StorageResult<()>;
    /// Imposes a suspension unless one is already in force for the account at `now`; returns
    /// the one in force either way.
    async fn suspend(
        &self,
        tenant: TenantId,
        new: &NewSuspension,
        now: OffsetDateTime,
    ) -> StorageResult<Suspension>;
    /// The suspension in force for the account at `now`, if any.
    async fn suspension_in_force(
        &self,
        tenant: TenantId,
        account: AccountId,
        now: OffsetDateTime,
    ) -> StorageResult<Option<Suspension>>;
    /// One suspension, lifted or not; `NotFound` when the tenant has no such suspension.
    async fn suspension(&self, tenant: TenantId, id: uuid::Uuid) -> StorageResult<Suspension>;
    /// Suspensions in force at `now`, newest first, for the staff list.
    async fn suspensions_in_force(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> StorageResult<Vec<Suspension>>;
    /// Lifts a suspension early; `NotFound` when it is not in force.
    async fn lift_suspension(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        by: AccountId,
        reason: &str,
        now: OffsetDateTime,
    ) -> StorageResult<Suspension>;
}
