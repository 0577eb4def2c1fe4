//! The transactional outbox: what a change must tell someone is written as a job in the same
//! database transaction as the change, so a crash after the commit loses no notice and a
//! rolled-back change sends none.
//!
//! The API is generic: an [`OutboxEvent`] is a job kind, a payload of ids and a `dedupe_key`
//! that is unique per tenant (the database refuses a second row with the same key, and the
//! write skips it). Reservations use it through [`ReservationNotice`]; payments and
//! reconciliation will write their own event kinds the same way.

use crate::NewJob;
use madoguchi_domain::{ReservationId, SlotId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The job kind of a reservation event; its handler fans it out into one
/// `notify.reservation` delivery job per channel.
pub const RESERVATION_EVENT: &str = "notify.reservation_event";

/// Attempts per notice: transient mail or LINE outages are retried with backoff for hours.
pub const NOTICE_ATTEMPTS: i64 = 8;

/// An event for a background job, written in the transaction of the change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    /// The job kind whose handler delivers the event.
    pub kind: String,
    /// Ids only, never personal data: the handler reads the current data when it runs.
    pub payload: serde_json::Value,
    /// Unique per tenant: an event whose key was written before is not written again.
    pub dedupe_key: String,
    pub run_at: OffsetDateTime,
    pub max_attempts: i64,
}

impl OutboxEvent {
    /// The job row this event is written as.
    pub fn job(&self, tenant: TenantId) -> NewJob {
        NewJob {
            tenant_id: Some(tenant),
            kind: self.kind.clone(),
            payload: self.payload.clone(),
            run_at: self.run_at,
            max_attempts: self.max_attempts,
        }
    }
}

/// What happened to a reservation, by reference: the message is rendered from the current
/// reservation, slot, service, office and account when it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReservationNoticeEvent {
    /// Booked, or a hold confirmed.
    Confirmed,
    /// Moved to another slot.
    Changed,
    /// Cancelled; the reason staff gave is read from the reservation when sent.
    Cancelled { by_staff: bool },
    /// A waiting-list entry became a confirmed reservation.
    WaitlistPromoted,
    /// A waiting-list entry was offered a hold; its deadline is the hold's expiry.
    WaitlistOffer,
    /// The day before. Sent only while the reservation still holds a seat in `slot_id`.
    Reminder { slot_id: SlotId },
}

impl ReservationNoticeEvent {
    /// A stable name for dedupe keys, logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            ReservationNoticeEvent::Confirmed => "confirmed",
            ReservationNoticeEvent::Changed => "changed",
            ReservationNoticeEvent::Cancelled { .. } => "cancelled",
            ReservationNoticeEvent::WaitlistPromoted => "waitlist_promoted",
            ReservationNoticeEvent::WaitlistOffer => "waitlist_offer",
            ReservationNoticeEvent::Reminder { .. } => "reminder",
        }
    }
}

/// The payload of a [`RESERVATION_EVENT`] job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationEventPayload {
    pub tenant_id: TenantId,
    pub reservation_id: ReservationId,
    pub event: ReservationNoticeEvent,
}

/// A notice about one reservation, as the use case decides it. The storage call that makes the
/// change writes it, with the reservation's id, in the change's transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct ReservationNotice {
    pub event: ReservationNoticeEvent,
    /// Tells repeatable events apart (a change: a fresh id; a reminder: its slot). Empty for an
    /// event a reservation has at most once (its confirmation, its cancellation), so that event
    /// can never be written twice.
    pub occurrence: String,
    pub run_at: OffsetDateTime,
}

impl ReservationNotice {
    /// An event that happens now, at most once per reservation.
    pub fn once(event: ReservationNoticeEvent, now: OffsetDateTime) -> Self {
        Self {
            event,
            occurrence: String::new(),
            run_at: now,
        }
    }

    /// The reminder for a seat in `slot`, due at `run_at`; one per reservation and slot.
    pub fn reminder(slot: SlotId, run_at: OffsetDateTime) -> Self {
        Self {
            event: ReservationNoticeEvent::Reminder { slot_id: slot },
            occurrence: slot.0.to_string(),
            run_at,
        }
    }

    /// The dedupe key of this notice for `reservation`.
    pub fn dedupe_key(&self, reservation: ReservationId) -> String {
        let name = self.event.name();
        if self.occurrence.is_empty() {
            format!("reservation:{}:{name}", reservation.0)
        } else {
            format!("reservation:{}:{name}:{}", reservation.0, self.occurrence)
        }
    }

    /// The outbox row of this notice for `reservation`.
    pub fn outbox_event(&self, tenant: TenantId, reservation: ReservationId) -> OutboxEvent {
        let payload = ReservationEventPayload {
            tenant_id: tenant,
            reservation_id: reservation,
            event: self.event,
        };
        OutboxEvent {
            kind: RESERVATION_EVENT.to_owned(),
            // Ids and enums only: serialising cannot fail.
            payload: serde_json::to_value(payload).unwrap_or_default(),
            dedupe_key: self.dedupe_key(reservation),
            run_at: self.run_at,
            max_attempts: NOTICE_ATTEMPTS,
        }
    }
}

/// The outbox rows of `notices` for `reservation`.
pub fn outbox_events(
    tenant: TenantId,
    reservation: ReservationId,
    notices: &[ReservationNotice],
) -> Vec<OutboxEvent> {
    notices
        .iter()
        .map(|n| n.outbox_event(tenant, reservation))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_holds_ids_only_and_its_key_names_the_reservation_and_event() {
        let tenant = TenantId::new();
        let reservation = ReservationId::new();
        let now = OffsetDateTime::UNIX_EPOCH;
        let event =
            ReservationNotice::once(ReservationNoticeEvent::Cancelled { by_staff: true }, now)
                .outbox_event(tenant, reservation);
        assert_eq!(event.kind, RESERVATION_EVENT);
        assert_eq!(
            event.dedupe_key,
            format!("reservation:{}:cancelled", reservation.0)
        );
        let back: ReservationEventPayload = serde_json::from_value(event.payload).unwrap();
        assert_eq!(back.reservation_id, reservation);
        assert_eq!(
            back.event,
            ReservationNoticeEvent::Cancelled { by_staff: true }
        );
        let slot = SlotId::new();
        let reminder = ReservationNotice::reminder(slot, now).dedupe_key(reservation);
        assert_eq!(
            reminder,
            format!("reservation:{}:reminder:{}", reservation.0, slot.0)
        );
    }
}
