//! Fanning an outbox event out into one delivery job per channel the resident has now.

use super::{ReservationDelivery, retry};
use crate::{Scope, UseCaseResult};
use madoguchi_notify::{Channel, NOTIFY_RESERVATION};
use madoguchi_storage::{
    BookingStore, JobStore, LineStore, NOTICE_ATTEMPTS, NewJob, ReservationEventPayload,
    ReservationNoticeEvent, StorageError,
};

/// Writes the delivery jobs of one `notify.reservation_event` job (`event_job` is its id, which
/// makes the deliveries' dedupe keys). A reminder no longer due and a reservation nobody can
/// be told of write nothing. Storage failures are retried.
pub async fn fan_out<S: BookingStore + LineStore + JobStore + ?Sized>(
    store: &S,
    scope: &Scope,
    event_job: impl std::fmt::Display,
    event: &ReservationEventPayload,
) -> UseCaseResult<()> {
    let tenant = scope.tenant;
    let reservation = match store.reservation(tenant, event.reservation_id).await {
        Ok(reservation) => reservation,
        Err(StorageError::NotFound) => return Ok(()),
        Err(other) => return Err(retry(other)),
    };
    // A reminder whose reservation no longer holds a seat (cancelled, expired) or moved to
    // another slot is dropped instead of sent.
    if let ReservationNoticeEvent::Reminder { slot_id } = event.event
        && !(reservation.status.holds_a_seat() && reservation.slot_id == slot_id)
    {
        return Ok(());
    }
    // A proxy booking of a caller without an account has nobody to tell.
    let Some(account) = reservation.account_id else {
        return Ok(());
    };
    let mut channels = vec![Channel::Email];
    if crate::line::notices_go_by_line(store, scope, account).await? {
        channels.push(Channel::Line);
    }
    for channel in channels {
        let delivery = ReservationDelivery {
            delivery_id: uuid::Uuid::new_v4(),
            tenant_id: tenant,
            reservation_id: reservation.id,
            event: event.event,
            channel,
        };
        let payload = serde_json::to_value(delivery)
            .map_err(|e| crate::UseCaseError::internal(format!("delivery not written: {e}")))?;
        let new = NewJob {
            tenant_id: Some(tenant),
            kind: NOTIFY_RESERVATION.into(),
            payload,
            run_at: scope.now(),
            max_attempts: NOTICE_ATTEMPTS,
        };
        let key = format!("delivery:{event_job}:{}", channel.as_str());
        store.enqueue_job_once(&new, &key).await.map_err(retry)?;
    }
    Ok(())
}
