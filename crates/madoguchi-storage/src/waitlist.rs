//! Records and the storage capability for the waiting list of full slots.
//!
//! An entry only records who waits, in which order, with which answers. Promotion books through
//! `BookingStore::reserve` with the idempotency key `waitlist:<entry id>`, so two nodes promoting
//! the same entry at once book it once, and capacity stays the database's decision.

use crate::{ReservationNotice, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ReservationId, ServiceId, SlotId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitlistStatus {
    Waiting,
    /// Booked a confirmed seat.
    Promoted,
    /// Offered a seat as a hold the resident must confirm before it expires.
    Offered,
    /// Passed over: the resident could no longer book (for example the personal limit).
    Skipped,
    Withdrawn,
}

impl WaitlistStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitlistStatus::Waiting => "waiting",
            WaitlistStatus::Promoted => "promoted",
            WaitlistStatus::Offered => "offered",
            WaitlistStatus::Skipped => "skipped",
            WaitlistStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<WaitlistStatus> {
        [
            WaitlistStatus::Waiting,
            WaitlistStatus::Promoted,
            WaitlistStatus::Offered,
            WaitlistStatus::Skipped,
            WaitlistStatus::Withdrawn,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// The key `reserve` is called with when an entry is promoted.
pub fn waitlist_idempotency_key(entry: uuid::Uuid) -> String {
    format!("waitlist:{entry}")
}

#[derive(Clone, PartialEq, Serialize)]
pub struct WaitlistEntry {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub slot_id: SlotId,
    pub service_id: ServiceId,
    pub account_id: AccountId,
    pub status: WaitlistStatus,
    pub reservation_id: Option<ReservationId>,
    /// The answers given when joining; the promoted reservation gets them. Personal data.
    pub details: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub settled_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for WaitlistEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitlistEntry")
            .field("id", &self.id)
            .field("slot_id", &self.slot_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct NewWaitlistEntry {
    pub slot_id: SlotId,
    pub account_id: AccountId,
    pub details: serde_json::Value,
}

/// An entry with its place in the queue (1 = next).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaitlistPlace {
    pub entry: WaitlistEntry,
    pub position: i64,
}

#[async_trait]
pub trait WaitlistStore: Send + Sync {
    /// Puts the account in the queue of a full slot. Refused with `SeatsLeft` while the slot
    /// has seats and `AlreadyBooked` when the account holds a seat there; a second entry of
    /// the same account is a `Duplicate` (`waitlist_one_per_resident`).
    async fn join_waitlist(
        &self,
        tenant: TenantId,
        new: &NewWaitlistEntry,
        now: OffsetDateTime,
    ) -> StorageResult<WaitlistPlace>;
    /// The waiting entries of a slot, first in line first.
    async fn waiting_for_slot(
        &self,
        tenant: TenantId,
        slot: SlotId,
    ) -> StorageResult<Vec<WaitlistEntry>>;
    /// The account's entries that are still waiting, with their places.
    async fn waitlist_of_account(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Vec<WaitlistPlace>>;
    async fn waitlist_entry(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
    ) -> StorageResult<WaitlistEntry>;
    /// Ends a waiting entry: `Ok(false)` when it was no longer waiting (someone else settled
    /// it first). `reservation` must be given for promoted and offered.
    async fn settle_waitlist_entry(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        status: WaitlistStatus,
        reservation: Option<ReservationId>,
        now: OffsetDateTime,
    ) -> StorageResult<bool> {
        self.settle_waitlist_entry_with_notices(tenant, id, status, reservation, now, &[])
            .await
    }
    /// [`WaitlistStore::settle_waitlist_entry`], writing `notices` about `reservation` in the
    /// same transaction when the entry is settled: whoever settles it tells the resident, once.
    async fn settle_waitlist_entry_with_notices(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        status: WaitlistStatus,
        reservation: Option<ReservationId>,
        now: OffsetDateTime,
        notices: &[ReservationNotice],
    ) -> StorageResult<bool>;
    /// Slots (all tenants) that start after `now`, have a free seat and someone waiting: the
    /// sweeper promotes these, so a crash between a cancellation and its promotion loses
    /// nothing.
    async fn slots_to_promote(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<(TenantId, SlotId)>>;
}
