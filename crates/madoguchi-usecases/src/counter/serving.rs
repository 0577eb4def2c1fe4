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
    AuditStore, BookingStore, ConsultationRecord, CounterStore, SuspensionStore, Ticket, TicketMove,
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

/// The specialist records the consultation of `ticket` (in the call, or served): its result
/// (`resolved`, `follow_up`, `referred`, `other`) and notes (at most
/// [`madoguchi_counter::NOTES_MAX_CHARS`] characters, no control characters), replacing an
/// earlier record; with `finish`, a consultation still in the call then ends. The audit entry
/// carries the result, never the notes.
pub async fn record<S: CounterStore + AuditStore + BookingStore + SuspensionStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    ticket: TicketId,
    result: &str,
    notes: &str,
    finish: bool,
) -> UseCaseResult<Ticket> {
    let current = store.ticket(scope.tenant, ticket).await?;
    served_by(store, scope, access, current.queue).await?;
    let result = madoguchi_counter::ConsultationResult::parse(result)
        .ok_or_else(|| crate::UseCaseError::field("result", ErrorCode::ValidationFailed))?;
    let notes = madoguchi_domain::text::bounded_text(notes, madoguchi_counter::NOTES_MAX_CHARS)
        .map_err(|code| crate::UseCaseError::field("notes", code))?;
    let Some(me) = scope.actor.account() else {
        return Err(crate::UseCaseError::new(ErrorCode::Forbidden));
    };
    let record = ConsultationRecord {
        result,
        notes: notes.map(str::to_owned),
        by: me,
        at: scope.now(),
    };
    let entry = audit::entry(
        scope,
        "counter.outcome_recorded",
        Some(ticket.to_string()),
        serde_json::json!({"result": result.as_str()}),
    );
    let recorded = store
        .record_consultation(scope.tenant, ticket, &record, &entry)
        .await?;
    if finish && recorded.status == madoguchi_counter::TicketStatus::InCall {
        return follow_up(store, scope, access, ticket, FollowUp::Finish).await;
    }
    Ok(recorded)
}
