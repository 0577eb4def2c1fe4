//! Where reservations and receivables meet: a booking's fee is a receivable whose source is
//! `("reservation", <reservation id>)`. The maintenance sweep asks here which fees no longer
//! have a seat to pay for, so their receivables can be cancelled (調定取消).

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::{ReceivableId, ReservationId, TenantId};
use time::OffsetDateTime;

/// The source kind of a reservation's fee receivable.
pub const RESERVATION_SOURCE: &str = "reservation";

/// A reservation's fee that nobody will pay for a seat any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleasedFee {
    pub tenant: TenantId,
    pub receivable: ReceivableId,
    pub reservation: ReservationId,
}

#[async_trait]
pub trait FeeStore: Send + Sync {
    /// Fee receivables (source `reservation`) of every city with nothing paid on them
    /// (`open`) and no payment in flight, whose reservation no longer holds a seat: cancelled,
    /// expired, or a hold whose time ran out by `now` (before `expire_holds` got to it). At
    /// most `limit`, oldest first. A receivable with a payment still in flight is left until
    /// that payment ends (the recovery job cancels it at the provider once its time is up):
    /// if the money arrives meanwhile, the receivable shows it as paid.
    async fn released_fees(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<ReleasedFee>>;
}
