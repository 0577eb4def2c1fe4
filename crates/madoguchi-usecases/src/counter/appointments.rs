//! Booked remote consultations at the counter: the resident checks in from ten minutes before
//! their time (from the reservation's page, the link in its mail), which puts a ticket in the
//! queue of the service's department, served at its time before walk-ins
//! (`madoguchi_counter::serving_order`). How the call ends is the reservation's attendance: a
//! consultation held marks it attended, a resident who never answered the calls is a no-show
//! counted by the city's no-show policy (`reservations::attendance`). The wall view shows the
//! day's booked consultations of a department and where each stands.

use super::tickets::{self, TakenAt};
use crate::reservations::attendance::mark_attendance;
use crate::{Actor, Scope, UseCaseError, UseCaseResult};
use madoguchi_booking::{ReservationStatus, ServiceKind};
use madoguchi_counter::{JoinWindow, Outcome, ParticipantRole, TicketStatus, join_window};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::{start_of_tokyo_day, to_tokyo};
use madoguchi_domain::{DepartmentId, ErrorCode, ReservationId, ServiceId};
use madoguchi_storage::{
    Attendance, AuditStore, BookingStore, CounterQueue, CounterStore, DaySheetFilter, OrgStore,
    Reservation, Service, Slot, SuspensionStore, Ticket, TicketIssue,
};
use std::collections::BTreeMap;

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

/// One booked consultation of today on the wall view, with its ticket once checked in (open
/// tickets only: how a finished one ended is the reservation's attendance).
#[derive(Clone, Debug)]
pub struct WallRow {
    pub reservation: Reservation,
    pub slot: Slot,
    pub service_name_ja: String,
    pub service_name_en: String,
    pub ticket: Option<Ticket>,
}

/// Today's booked consultations of one queue's department, by time.
#[derive(Clone, Debug)]
pub struct WallQueue {
    pub queue: CounterQueue,
    pub rows: Vec<WallRow>,
}

/// The wall view: today's (Tokyo) booked remote consultations of every queue the staff member
/// serves, each with where it stands.
pub async fn today<S: CounterStore + BookingStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
) -> UseCaseResult<Vec<WallQueue>> {
    let day = to_tokyo(scope.now()).date();
    let from = start_of_tokyo_day(day);
    let until = from + time::Duration::days(1);
    let mut remote: BTreeMap<ServiceId, bool> = BTreeMap::new();
    let mut wall = Vec::new();
    for queue in store.list_queues(scope.tenant).await? {
        if !access.may_serve_queue(queue.department) {
            continue;
        }
        let filter = DaySheetFilter {
            from,
            until,
            office: None,
            department: Some(queue.department),
        };
        let open = store.open_tickets(scope.tenant, queue.id).await?;
        let mut rows = Vec::new();
        for line in store.day_sheet(scope.tenant, &filter).await? {
            let service = line.reservation.service_id;
            let is_remote = match remote.get(&service) {
                Some(known) => *known,
                None => {
                    let kind = store.service(scope.tenant, service).await?.kind;
                    let is_remote = kind == ServiceKind::RemoteConsultation;
                    remote.insert(service, is_remote);
                    is_remote
                }
            };
            if !is_remote {
                continue;
            }
            let ticket = open
                .iter()
                .find(|t| t.reservation == Some(line.reservation.id))
                .cloned();
            rows.push(WallRow {
                reservation: line.reservation,
                slot: line.slot,
                service_name_ja: line.service_name_ja,
                service_name_en: line.service_name_en,
                ticket,
            });
        }
        rows.sort_by_key(|r| (r.slot.starts_at, r.reservation.reference.to_string()));
        wall.push(WallQueue { queue, rows });
    }
    Ok(wall)
}
