//! The order in which a department's queue is served, and how long a resident should expect
//! to wait.
//!
//! One queue per department, served by whichever specialist on duty presses "call next": a
//! specialist never idles while someone waits, so residents spread evenly over the specialists
//! by construction. The order:
//! 1. residents handed over by another department (they are already in a room, waiting);
//! 2. booked consultations whose time has come (from [`APPOINTMENT_EARLY_CALL`] before it), by
//!    their time;
//! 3. everyone else in line order: walk-ins by when they took their ticket, those sent to the
//!    back for not answering by when they were sent;
//! 4. booked residents who checked in early, at their time (called earlier only when no one
//!    else waits).

use crate::ticket::TicketSource;
use madoguchi_domain::TicketId;
use time::{Duration, OffsetDateTime};

/// How early before its time a booked consultation goes to the front of the queue.
pub const APPOINTMENT_EARLY_CALL: Duration = Duration::minutes(5);

/// The handling time assumed until a queue has served enough residents to measure its own.
pub const DEFAULT_HANDLING: Duration = Duration::minutes(10);

/// How many recent consultations a measured mean needs.
pub const MIN_SAMPLES: usize = 3;

/// A waiting ticket, as the order needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub ticket: TicketId,
    pub source: TicketSource,
    pub issued_at: OffsetDateTime,
    /// When it was sent to the back for not answering (then it lost any priority).
    pub requeued_at: Option<OffsetDateTime>,
    /// The booked time, for an appointment.
    pub appointment_at: Option<OffsetDateTime>,
}

/// A queue's waiting tickets in serving order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueOrder(Vec<QueueEntry>);

impl QueueOrder {
    /// The next ticket to call.
    pub fn next(&self) -> Option<&QueueEntry> {
        self.0.first()
    }

    /// A ticket's place in line, from 1; `None` when it is not waiting.
    pub fn position(&self, ticket: TicketId) -> Option<usize> {
        self.0
            .iter()
            .position(|e| e.ticket == ticket)
            .map(|i| i + 1)
    }

    pub fn entries(&self) -> &[QueueEntry] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Which group of the order an entry belongs to, and the time that orders it within the group.
fn rank(entry: &QueueEntry, now: OffsetDateTime) -> (u8, OffsetDateTime) {
    if let Some(requeued_at) = entry.requeued_at {
        return (2, requeued_at);
    }
    match (entry.source, entry.appointment_at) {
        (TicketSource::Transfer, _) => (0, entry.issued_at),
        (TicketSource::Appointment, Some(at)) if at - APPOINTMENT_EARLY_CALL <= now => (1, at),
        (TicketSource::Appointment, Some(at)) => (3, at),
        (TicketSource::Appointment | TicketSource::Kiosk | TicketSource::Web, _) => {
            (2, entry.issued_at)
        }
    }
}

/// Orders the waiting `entries` of one queue for serving at `now`.
pub fn serving_order(entries: &[QueueEntry], now: OffsetDateTime) -> QueueOrder {
    let mut ordered = entries.to_vec();
    ordered.sort_by_key(|e| {
        let (group, at) = rank(e, now);
        (group, at, e.ticket)
    });
    QueueOrder(ordered)
}

/// What a resident is told about their wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEstimate {
    /// No specialist is on duty: no estimate can be honest.
    NoOneOnDuty,
    /// About this many minutes (a multiple of 5; 0 means "you are next").
    Minutes(i64),
}

/// The mean handling time of a queue from its recent consultations' lengths: the default until
/// there are [`MIN_SAMPLES`], and never below 3 or above 60 minutes (one forgotten call must not
/// make every estimate absurd).
pub fn mean_handling(recent: &[Duration]) -> Duration {
    if recent.len() < MIN_SAMPLES {
        return DEFAULT_HANDLING;
    }
    let total: Duration = recent.iter().copied().sum();
    let count = i32::try_from(recent.len()).unwrap_or(i32::MAX);
    (total / count).clamp(Duration::minutes(3), Duration::minutes(60))
}

/// The expected wait of the resident at `position` (from 1) with `on_duty` specialists each
/// taking `handling` per resident: the rounds before theirs, rounded up to 5 minutes.
pub fn estimate_wait(position: usize, on_duty: usize, handling: Duration) -> WaitEstimate {
    if on_duty == 0 {
        return WaitEstimate::NoOneOnDuty;
    }
    let rounds_before = i64::try_from(position.saturating_sub(1) / on_duty).unwrap_or(i64::MAX);
    let minutes = rounds_before.saturating_mul(handling.whole_minutes().max(1));
    WaitEstimate::Minutes(minutes.saturating_add(4) / 5 * 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 01:00 UTC);

    fn entry(source: TicketSource, issued_min_ago: i64) -> QueueEntry {
        QueueEntry {
            ticket: TicketId::new(),
            source,
            issued_at: NOW - Duration::minutes(issued_min_ago),
            requeued_at: None,
            appointment_at: None,
        }
    }

    fn booked(at_in_min: i64, checked_in_min_ago: i64) -> QueueEntry {
        QueueEntry {
            appointment_at: Some(NOW + Duration::minutes(at_in_min)),
            ..entry(TicketSource::Appointment, checked_in_min_ago)
        }
    }

    #[test]
    fn walk_ins_are_served_in_the_order_they_took_their_tickets() {
        let first = entry(TicketSource::Kiosk, 30);
        let second = entry(TicketSource::Web, 20);
        let third = entry(TicketSource::Kiosk, 10);
        let order = serving_order(&[third, first, second], NOW);
        assert_eq!(order.next(), Some(&first));
        assert_eq!(order.position(second.ticket), Some(2));
        assert_eq!(order.position(third.ticket), Some(3));
    }

    #[test]
    fn a_booked_resident_goes_first_at_their_time_not_before() {
        let walk_in = entry(TicketSource::Kiosk, 30);
        let due = booked(3, 1);
        let early = booked(40, 2);
        let order = serving_order(&[walk_in, early, due], NOW);
        assert_eq!(
            order.entries().iter().map(|e| e.ticket).collect::<Vec<_>>(),
            [due.ticket, walk_in.ticket, early.ticket]
        );
    }

    #[test]
    fn a_resident_handed_over_by_another_department_is_called_first() {
        let walk_in = entry(TicketSource::Kiosk, 30);
        let due = booked(0, 10);
        let handed_over = entry(TicketSource::Transfer, 0);
        let order = serving_order(&[walk_in, due, handed_over], NOW);
        assert_eq!(order.next(), Some(&handed_over));
    }

    #[test]
    fn one_who_did_not_answer_goes_behind_everyone_already_waiting() {
        let mut silent = booked(-10, 20);
        silent.requeued_at = Some(NOW - Duration::minutes(1));
        let walk_in = entry(TicketSource::Web, 5);
        let order = serving_order(&[silent, walk_in], NOW);
        assert_eq!(order.position(silent.ticket), Some(2));
        assert_eq!(order.position(TicketId::new()), None);
    }

    #[test]
    fn the_wait_counts_the_rounds_before_yours_in_steps_of_five_minutes() {
        let ten = Duration::minutes(10);
        assert_eq!(estimate_wait(1, 2, ten), WaitEstimate::Minutes(0));
        assert_eq!(estimate_wait(2, 2, ten), WaitEstimate::Minutes(0));
        assert_eq!(estimate_wait(3, 2, ten), WaitEstimate::Minutes(10));
        assert_eq!(
            estimate_wait(4, 1, Duration::minutes(7)),
            WaitEstimate::Minutes(25)
        );
        assert_eq!(estimate_wait(5, 0, ten), WaitEstimate::NoOneOnDuty);
    }

    #[test]
    fn the_handling_time_is_measured_once_there_are_enough_calls_and_kept_sensible() {
        assert_eq!(mean_handling(&[]), DEFAULT_HANDLING);
        assert_eq!(
            mean_handling(&[Duration::minutes(20), Duration::minutes(20)]),
            DEFAULT_HANDLING
        );
        let three = [6, 8, 10].map(Duration::minutes);
        assert_eq!(mean_handling(&three), Duration::minutes(8));
        let forgotten = [Duration::hours(9), Duration::hours(9), Duration::hours(9)];
        assert_eq!(mean_handling(&forgotten), Duration::minutes(60));
        let seconds = [Duration::seconds(5); 3];
        assert_eq!(mean_handling(&seconds), Duration::minutes(3));
    }
}
