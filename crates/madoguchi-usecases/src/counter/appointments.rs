//! Booked remote consultations at the counter: the resident checks in from ten minutes before
//! their time (from the reservation's page, the link in its mail), which puts a ticket in the
//! queue of the service's department, served at its time before walk-ins
//! (`madoguchi_counter::serving_order`). How the call ends is the reservation's attendance: a
//! consultation held marks it attended, a resident who never answered the calls is a no-show
//! counted by the city's no-show policy (`reservations::attendance`).

use super::tickets::{self, TakenAt};
use crate::reservations::attendance::mark_attendance;
use crate::{Actor, Scope, UseCaseError, UseCaseResult};
use madoguchi_booking::{ReservationStatus, ServiceKind};
use madoguchi_counter::{JoinWindow, Outcome, ParticipantRole, TicketStatus, join_window};
use madoguchi_domain::{DepartmentId, ErrorCode, ReservationId};
use madoguchi_storage::{
    Attendance, AuditStore, BookingStore, CounterStore, OrgStore, Reservation, Service, Slot,
    SuspensionStore, Ticket, TicketIssue,
};

/// A resident's booked consultation as its check-in page shows it.
#[derive(Clone, Debug)]
pub struct Appointment {
    pub reservation: Reservation,
    pub service: Service,
    pub slot: Slot,
    /// When the resident may check in.
    pub window: JoinWindow,
    /// The department whose queue serves it, when it may be checked in at all (a confirmed
    /// remote consultation of a department).
    pub department: Option<DepartmentId>,
}

impl Appointment {
    /// Why it cannot be checked in at `now`, if it cannot.
    pub fn refusal(&self, now: time::OffsetDateTime) -> Option<ErrorCode> {
        if self.department.is_none() {
            Some(ErrorCode::NotJoinable)
        } else if self.window.is_before(now) {
            Some(ErrorCode::JoinNotOpenYet)
        } else if !self.window.contains(now) {
            Some(ErrorCode::JoinClosed)
        } else {
            None
        }
    }
}

/// The signed-in resident's own booked consultation; another's is not found.
pub async fn appointment<S: BookingStore + ?Sized>(
    store: &S,
    scope: &Scope,
    reservation: ReservationId,
) -> UseCaseResult<Appointment> {
    let Actor::Resident(me) = scope.actor else {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    };
    let reservation = store.reservation(scope.tenant, reservation).await?;
    if reservation.account_id != Some(me) {
        return Err(UseCaseError::new(ErrorCode::NotFound));
    }
    let service = store.service(scope.tenant, reservation.service_id).await?;
    let slot = store.slot(scope.tenant, reservation.slot_id).await?;
    let department = match (reservation.status, service.kind) {
        (ReservationStatus::Confirmed, ServiceKind::RemoteConsultation) => service.department_id,
        _ => None,
    };
    Ok(Appointment {
        window: join_window(slot.starts_at, slot.ends_at, ParticipantRole::Resident),
        reservation,
        service,
        slot,
        department,
    })
}

/// The resident checks in for their booked remote consultation: a ticket in the department's
/// queue (the same one again when they check in twice). Refused as `not_joinable` for a
/// reservation that is not a confirmed remote consultation, `join_not_open_yet` before the
/// join window and `join_closed` after it; another resident's reservation is not found.
pub async fn check_in<S: CounterStore + OrgStore + AuditStore + BookingStore + ?Sized>(
    store: &S,
    scope: &Scope,
    reservation: ReservationId,
) -> UseCaseResult<TicketIssue> {
    let booked = appointment(store, scope, reservation).await?;
    if let Some(refusal) = booked.refusal(scope.now()) {
        return Err(UseCaseError::new(refusal));
    }
    // A department has one queue; without one its consultations cannot be served remotely.
    let queue = store
        .list_queues(scope.tenant)
        .await?
        .into_iter()
        .find(|q| Some(q.department) == booked.department)
        .ok_or_else(|| UseCaseError::new(ErrorCode::QueueClosed))?;
    tickets::take(
        store,
        scope,
        queue.id,
        TakenAt::Appointment {
            reservation: booked.reservation.id,
            starts_at: booked.slot.starts_at,
        },
    )
    .await
}

/// Records how a booked consultation's ticket ended as its reservation's attendance, by the
/// specialist of the scope: held (finished as done) is attended, never answered is a no-show
/// (which may suspend the resident's online booking). Walk-in tickets, other outcomes and a
/// reservation already marked are left alone.
pub async fn record_attendance<S: BookingStore + SuspensionStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    ticket: &Ticket,
) -> UseCaseResult<()> {
    let (Some(reservation), TicketStatus::Finished { outcome }, Some(staff)) =
        (ticket.reservation, ticket.status, scope.actor.account())
    else {
        return Ok(());
    };
    let attendance = match outcome {
        Outcome::Done => Attendance::Attended,
        Outcome::NoShow => Attendance::NoShow,
        Outcome::Cancelled | Outcome::Transferred => return Ok(()),
    };
    let reservation = store.reservation(scope.tenant, reservation).await?;
    if reservation.status != ReservationStatus::Confirmed {
        return Ok(());
    }
    mark_attendance(store, scope, staff, &reservation, attendance).await?;
    Ok(())
}
