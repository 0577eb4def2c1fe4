//! Records and the storage capability for residents' secret "my reservations" calendar feeds.
//!
//! The database keeps a random nonce per feed and the SHA-256 of the feed URL's token. The
//! token is derived from the nonce with a key only the server holds, so a copy of the database
//! alone opens no feed; a new nonce retires the old URL at once.

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use time::OffsetDateTime;

/// A resident's feed. `Debug` leaves out the nonce and the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ReservationFeed {
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub nonce: Vec<u8>,
    pub token_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for ReservationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReservationFeed")
            .field("tenant_id", &self.tenant_id)
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewReservationFeed {
    pub account_id: AccountId,
    pub nonce: Vec<u8>,
    pub token_hash: Vec<u8>,
}

impl std::fmt::Debug for NewReservationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewReservationFeed")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait FeedStore: Send + Sync {
    /// The account's feed, if one was issued.
    async fn reservation_feed(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Option<ReservationFeed>>;
    /// Issues the account's feed unless it has one, and returns the feed that holds: `new` or
    /// the one issued before (two first visits at once agree on one URL). `NotFound` when the
    /// account is not the tenant's.
    async fn ensure_reservation_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
    ) -> StorageResult<ReservationFeed>;
    /// Replaces the account's feed: the old token stops working in the same statement.
    async fn replace_reservation_feed(
        &self,
        tenant: TenantId,
        new: &NewReservationFeed,
        now: OffsetDateTime,
    ) -> StorageResult<ReservationFeed>;
    /// The account whose feed token has this hash; `NotFound` for any other.
    async fn reservation_feed_account(
        &self,
        tenant: TenantId,
        token_hash: &[u8],
    ) -> StorageResult<AccountId>;
}
