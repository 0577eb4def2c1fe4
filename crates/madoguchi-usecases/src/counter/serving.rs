//! Serving a queue: going on or off duty, "call next", and what follows a call (recall, no
//! answer, the resident answering, finishing; a booked consultation's end is its reservation's
//! attendance). Only staff who may serve the queue's department
//! ([`StaffAccess::may_serve_queue`]) do any of it.

use super::queues::served_by;
use crate::{Scope, UseCaseResult, audit};
use madoguchi_counter::TicketEvent;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, QueueId, TicketId};
use madoguchi_storage::{
    AuditStore, BookingStore, CounterStore, SuspensionStore, Ticket, TicketMove,
};

/// Puts the acting staff member on or off duty at the queue (the wait estimate counts them).
pub async fn set_duty<S: CounterStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    queue: QueueId,
    on: bool,
) -> UseCaseResult<()> {
    let queue = served_by(store, scope, access, queue).await?;
    let Some(me) = scope.actor.account() else {
        return Err(crate::UseCaseError::new(ErrorCode::Forbidden));
    };
    store
        .set_on_duty(scope.tenant, queue.id, me, on, scope.now())
        .await?;
    Ok(())
}

/// Calls the next resident in serving order; `None` when no one waits. Calling puts the caller
/// on duty.
pub async fn call_next<S: CounterStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    queue: QueueId,
) -> UseCaseResult<Option<Ticket>> {
    let queue = served_by(store, scope, access, queue).await?;
    let Some(me) = scope.actor.account() else {
        return Err(crate::UseCaseError::new(ErrorCode::Forbidden));
    };
    store
        .set_on_duty(scope.tenant, queue.id, me, true, scope.now())
        .await?;
    let entry = audit::entry(
        scope,
        "counter.called",
        None,
        serde_json::json!({"queue": queue.id}),
    );
    Ok(store
        .call_next(scope.tenant, queue.id, me, scope.now(), &entry)
        .await?)
}

/// What a specialist does with a called ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUp {
    Recall,
    NoAnswer,
    Finish,
    /// Staff take the ticket out of the queue (a resident who left the branch).
    Remove,
}

impl FollowUp {
    fn event(self) -> TicketEvent {
        match self {
            FollowUp::Recall => TicketEvent::Recall,
            FollowUp::NoAnswer => TicketEvent::NoAnswer,
            FollowUp::Finish => TicketEvent::Finish,
            FollowUp::Remove => TicketEvent::Cancel,
        }
    }

    fn action(self) -> &'static str {
        match self {
            FollowUp::Recall => "counter.recalled",
            FollowUp::NoAnswer => "counter.no_answer",
            FollowUp::Finish => "counter.finished",
            FollowUp::Remove => "counter.removed",
        }
    }
}

/// Applies a specialist's follow-up to a ticket of a queue they serve.
pub async fn follow_up<S: CounterStore + AuditStore + BookingStore + SuspensionStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    ticket: TicketId,
    what: FollowUp,
) -> UseCaseResult<Ticket> {
    let current = store.ticket(scope.tenant, ticket).await?;
    served_by(store, scope, access, current.queue).await?;
    let entry = audit::entry(
        scope,
        what.action(),
        Some(ticket.to_string()),
        serde_json::json!({"number": current.number.to_string()}),
    );
    let change = TicketMove {
        event: what.event(),
        by: scope.actor.account(),
        room: None,
    };
    let moved = store
        .move_ticket(scope.tenant, ticket, &change, scope.now(), &entry)
        .await?;
    super::appointments::record_attendance(store, scope, &moved).await?;
    Ok(moved)
}
