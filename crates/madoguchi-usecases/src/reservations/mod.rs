//! Reservations of consultations, checkups and lectures: admission (may this booking be made
//! now?), booking, changing and cancelling, attendance and no-show suspensions, and the waiting
//! list, and the fee of a paid service. Pages, the API, the maintenance sweep and the job
//! runner all call these.
//!
//! Architecture invariant: capacity and personal limits are decided by the database inside
//! `BookingStore::reserve` (and `move_reservation`); nothing here checks a seat first and books
//! after. What a change tells the resident is written in the change's own transaction.

pub mod admission;
pub mod attendance;
pub mod book;
pub mod fees;
pub mod manage;
pub mod notices;
pub mod waitlist;

pub use admission::{
    Bookable, admit, bookable, ensure_not_suspended, ensure_open, limit_for, policy_of,
    remote_join_for, slot_is_closed,
};
pub use attendance::{AttendanceOutcome, lift_suspension, mark_attendance};
pub use book::{Booked, BookingRequest, book, request_fingerprint};
pub use manage::{
    By, REASON_MAX_CHARS, cancel, change, confirm_hold, find_by_reference, staff_may_handle,
};

use crate::cache::Catalogue;
use madoguchi_jobs::JobQueue;
use madoguchi_storage::{
    AccountStore, AuditStore, BookingStore, CalendarStore, FeeStore, PaymentStore, SuspensionStore,
    WaitlistStore,
};

/// The storage the reservation use cases need: bookings, suspensions, the waiting list, the
/// calendar settings and the audit log, and for a fee its receivable and the payer's name.
pub trait ReservationStores:
    BookingStore
    + SuspensionStore
    + WaitlistStore
    + CalendarStore
    + AuditStore
    + PaymentStore
    + FeeStore
    + AccountStore
{
}

impl<T> ReservationStores for T where
    T: BookingStore
        + SuspensionStore
        + WaitlistStore
        + CalendarStore
        + AuditStore
        + PaymentStore
        + FeeStore
        + AccountStore
        + ?Sized
{
}

/// What the reservation use cases work with besides the scope: the storage, this node's
/// cached services and calendars, and the job queue to wake when a notice was written.
pub struct Deps<'a, S: ?Sized> {
    pub store: &'a S,
    pub catalogue: &'a Catalogue,
    pub jobs: &'a JobQueue,
}
