//! Taking a ticket (on the web, signed in, or at a branch's kiosk for a walk-in), seeing one's
//! place in line and expected wait, and leaving the queue.

use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_counter::{
    TicketEvent, TicketSource, TicketStatus, WaitEstimate, estimate_wait, mean_handling,
    serving_order,
};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::to_tokyo;
use madoguchi_domain::{ErrorCode, OfficeId, QueueId, ReservationId, TicketId};
use madoguchi_storage::{
    AuditStore, CounterStore, NewTicket, OrgStore, StorageError, Ticket, TicketIssue, TicketMove,
};

/// How many recent consultations the wait estimate averages.
const HANDLING_SAMPLES: i64 = 20;

/// Where a ticket is taken.
#[derive(Clone, Copy, Debug)]
pub enum TakenAt<'a> {
    /// By the signed-in resident of the scope, on the web.
    Web,
    /// At the kiosk of `office`, by its staff (or the kiosk device signed in as them).
    Kiosk {
        office: OfficeId,
        access: &'a StaffAccess,
    },
    /// By the signed-in resident of the scope, checking in for their booked consultation
    /// (`super::appointments::check_in` decides whether they may).
    Appointment {
        reservation: ReservationId,
        starts_at: time::OffsetDateTime,
    },
}

/// Takes the next number of the queue for today (Tokyo). A resident who already holds an open
/// ticket in the queue gets it back.
pub async fn take<S: CounterStore + OrgStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    queue: QueueId,
    at: TakenAt<'_>,
) -> UseCaseResult<TicketIssue> {
    let new = match (at, scope.actor) {
        (TakenAt::Web, Actor::Resident(resident)) => NewTicket {
            queue,
            source: TicketSource::Web,
            resident: Some(resident),
            reservation: None,
            office: None,
            appointment_at: None,
        },
        (TakenAt::Kiosk { office, access }, Actor::Staff(_)) if access.may_run_kiosk(office) => {
            NewTicket {
                queue,
                source: TicketSource::Kiosk,
                resident: None,
                reservation: None,
                office: Some(office),
                appointment_at: None,
            }
        }
        (
            TakenAt::Appointment {
                reservation,
                starts_at,
            },
            Actor::Resident(resident),
        ) => NewTicket {
            queue,
            source: TicketSource::Appointment,
            resident: Some(resident),
            reservation: Some(reservation),
            office: None,
            appointment_at: Some(starts_at),
        },
        _ => return Err(UseCaseError::new(ErrorCode::Forbidden)),
    };
    if let Some(office) = new.office {
        // An administrator may run any kiosk, so the office must be checked to be one of the
        // city's: the database's reference would refuse it only as an internal error.
        match store.office(scope.tenant, office).await {
            Ok(_) => {}
            Err(StorageError::NotFound) => {
                return Err(UseCaseError::field(
                    "office_id",
                    ErrorCode::ValidationFailed,
                ));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let now = scope.now();
    let entry = audit::entry(
        scope,
        "counter.ticket_issued",
        None,
        serde_json::json!({"queue": queue, "source": new.source.as_str()}),
    );
    Ok(store
        .issue_ticket(scope.tenant, &new, to_tokyo(now).date(), now, &entry)
        .await?)
}

/// Where a ticket stands, for the resident's live page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub ticket: Ticket,
    /// Place in line from 1 while waiting.
    pub position: Option<usize>,
    pub on_duty: usize,
    pub estimate: Option<WaitEstimate>,
}

/// A ticket as its holder may see it: the resident's own, or any for staff who may see the
/// queue. Another resident's ticket is not found (its existence is not disclosed).
pub async fn own_ticket<S: CounterStore + ?Sized>(
    store: &S,
    scope: &Scope,
    ticket: TicketId,
) -> UseCaseResult<Ticket> {
    let ticket = store.ticket(scope.tenant, ticket).await?;
    match scope.actor {
        Actor::Resident(id) if ticket.resident == Some(id) => Ok(ticket),
        Actor::Staff(_) | Actor::System | Actor::Operator => Ok(ticket),
        Actor::Resident(_) | Actor::Anonymous => Err(StorageError::NotFound.into()),
    }
}

/// The ticket's place in line and expected wait.
pub async fn standing<S: CounterStore + ?Sized>(
    store: &S,
    scope: &Scope,
    ticket: TicketId,
) -> UseCaseResult<Standing> {
    let ticket = own_ticket(store, scope, ticket).await?;
    if !matches!(ticket.status, TicketStatus::Waiting { .. }) {
        return Ok(Standing {
            ticket,
            position: None,
            on_duty: 0,
            estimate: None,
        });
    }
    let open = store.open_tickets(scope.tenant, ticket.queue).await?;
    let waiting: Vec<_> = open
        .iter()
        .filter(|t| matches!(t.status, TicketStatus::Waiting { .. }))
        .map(Ticket::queue_entry)
        .collect();
    let position = serving_order(&waiting, scope.now()).position(ticket.id);
    let on_duty = store.on_duty(scope.tenant, ticket.queue).await?.len();
    let handling = mean_handling(
        &store
            .recent_handling(scope.tenant, ticket.queue, HANDLING_SAMPLES)
            .await?,
    );
    Ok(Standing {
        estimate: position.map(|p| estimate_wait(p, on_duty, handling)),
        ticket,
        position,
        on_duty,
    })
}

/// The resident leaves the queue (until the call starts).
pub async fn leave<S: CounterStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    ticket: TicketId,
) -> UseCaseResult<Ticket> {
    let ticket = own_ticket(store, scope, ticket).await?;
    let entry = audit::entry(
        scope,
        "counter.ticket_left",
        Some(ticket.id.to_string()),
        serde_json::json!({}),
    );
    let change = TicketMove {
        event: TicketEvent::Cancel,
        by: None,
        room: None,
    };
    Ok(store
        .move_ticket(scope.tenant, ticket.id, &change, scope.now(), &entry)
        .await?)
}
