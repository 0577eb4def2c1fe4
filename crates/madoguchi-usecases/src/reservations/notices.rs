//! What a change tells the resident: the event itself and, when the change leaves a confirmed
//! seat, the reminder the day before. The storage call that makes the change writes them in its
//! own transaction (the outbox); the job runner renders and sends them later.

use madoguchi_storage::{ReservationNotice, ReservationNoticeEvent, ReservationStatus, Slot};
use time::OffsetDateTime;

/// What to write in the transaction of a change that leaves the reservation with `status` in
/// `slot`: the event itself and, when it leaves a confirmed seat more than an hour before the
/// day before, the reminder for the (new) time. A reminder for an earlier time finds the
/// reservation moved and is dropped.
pub fn notices(
    event: ReservationNoticeEvent,
    status: ReservationStatus,
    slot: &Slot,
    now: OffsetDateTime,
) -> Vec<ReservationNotice> {
    let mut notices = vec![match event {
        // A reservation may move many times; each move is told.
        ReservationNoticeEvent::Changed => ReservationNotice {
            event,
            occurrence: uuid::Uuid::new_v4().to_string(),
            run_at: now,
        },
        _ => ReservationNotice::once(event, now),
    }];
    let confirmed_seat = matches!(
        event,
        ReservationNoticeEvent::Confirmed
            | ReservationNoticeEvent::WaitlistPromoted
            | ReservationNoticeEvent::Changed
    ) && status == ReservationStatus::Confirmed;
    let reminder_at = slot.starts_at - time::Duration::days(1);
    if confirmed_seat && reminder_at > now + time::Duration::hours(1) {
        notices.push(ReservationNotice::reminder(slot.id, reminder_at));
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_domain::{OfficeId, ServiceId, SlotId};
    use madoguchi_domain::{ReservationId, TenantId};
    use madoguchi_storage::now_utc;

    fn slot_in(days: i64, now: OffsetDateTime) -> Slot {
        Slot {
            id: SlotId::new(),
            tenant_id: TenantId::new(),
            service_id: ServiceId::new(),
            office_id: OfficeId::new(),
            starts_at: now + time::Duration::days(days),
            ends_at: now + time::Duration::days(days) + time::Duration::minutes(30),
            capacity: 1,
            taken: 1,
        }
    }

    #[test]
    fn a_confirmed_seat_a_week_ahead_gets_its_reminder_the_day_before() {
        let now = now_utc();
        let slot = slot_in(7, now);
        let written = notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &slot,
            now,
        );
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].event, ReservationNoticeEvent::Confirmed);
        assert_eq!(
            written[1].event,
            ReservationNoticeEvent::Reminder { slot_id: slot.id }
        );
        assert_eq!(written[1].run_at, slot.starts_at - time::Duration::days(1));
    }

    #[test]
    fn a_hold_a_cancellation_or_a_seat_tomorrow_gets_no_reminder() {
        let now = now_utc();
        let week = slot_in(7, now);
        let offer = notices(
            ReservationNoticeEvent::WaitlistOffer,
            ReservationStatus::Held,
            &week,
            now,
        );
        let cancelled = notices(
            ReservationNoticeEvent::Cancelled { by_staff: false },
            ReservationStatus::Cancelled,
            &week,
            now,
        );
        let soon = notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &slot_in(1, now),
            now,
        );
        assert_eq!((offer.len(), cancelled.len(), soon.len()), (1, 1, 1));
    }

    #[test]
    fn every_change_is_its_own_notice() {
        let now = now_utc();
        let slot = slot_in(7, now);
        let reservation = ReservationId::new();
        let first = notices(
            ReservationNoticeEvent::Changed,
            ReservationStatus::Confirmed,
            &slot,
            now,
        );
        let second = notices(
            ReservationNoticeEvent::Changed,
            ReservationStatus::Confirmed,
            &slot,
            now,
        );
        assert_ne!(
            first[0].dedupe_key(reservation),
            second[0].dedupe_key(reservation)
        );
        // The reminder for the same seat is one, however often it is written.
        assert_eq!(
            first[1].dedupe_key(reservation),
            second[1].dedupe_key(reservation)
        );
    }
}
