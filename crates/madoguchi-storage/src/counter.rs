//! The remote counter's queues and tickets: one queue per department, numbered tickets per
//! queue and day, who is on duty, and every ticket move under the queue's lock.
//!
//! Architecture invariant: what a move means is decided by `madoguchi-counter`
//! (`TicketStatus::on`, `serving_order`) inside the backend's transaction (PostgreSQL locks the
//! queue's row, SQLite writes under `BEGIN IMMEDIATE`), so two specialists pressing "call next"
//! at once never get the same resident, and the move's audit entry commits with it.

use crate::{NewAuditEntry, StorageResult};
use async_trait::async_trait;
use madoguchi_counter::{QueuePrefix, TicketEvent, TicketNumber, TicketSource, TicketStatus};
use madoguchi_domain::{
    AccountId, DepartmentId, OfficeId, QueueId, ReservationId, RoomId, TenantId, TicketId,
};
use time::{Date, Duration, OffsetDateTime};

/// A department's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterQueue {
    pub id: QueueId,
    pub tenant_id: TenantId,
    pub department: DepartmentId,
    pub prefix: QueuePrefix,
    pub name_ja: String,
    pub name_en: String,
    /// Whether it takes tickets now (staff close it at the end of the day).
    pub accepting: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCounterQueue {
    pub department: DepartmentId,
    pub prefix: QueuePrefix,
    pub name_ja: String,
    pub name_en: String,
}

/// A numbered ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub queue: QueueId,
    pub number: TicketNumber,
    /// The Tokyo day the number belongs to.
    pub service_day: Date,
    pub source: TicketSource,
    pub status: TicketStatus,
    /// The resident's account, when they took it signed in (web, appointment).
    pub resident: Option<AccountId>,
    /// The booked consultation it checks in.
    pub reservation: Option<ReservationId>,
    /// The branch whose kiosk issued it (or where the resident sits).
    pub office: Option<OfficeId>,
    pub appointment_at: Option<OffsetDateTime>,
    /// The specialist who called it last.
    pub called_by: Option<AccountId>,
    /// The room of the consultation, once the resident answered.
    pub room: Option<RoomId>,
    pub issued_at: OffsetDateTime,
    pub requeued_at: Option<OffsetDateTime>,
    pub called_at: Option<OffsetDateTime>,
    pub answered_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    /// What the specialist recorded of the consultation, once they did.
    pub record: Option<ConsultationRecord>,
}

/// A specialist's record of a consultation: its result and their notes. The notes are
/// personal data: `Debug` leaves them out.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsultationRecord {
    pub result: madoguchi_counter::ConsultationResult,
    pub notes: Option<String>,
    pub by: AccountId,
    pub at: OffsetDateTime,
}

impl std::fmt::Debug for ConsultationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsultationRecord")
            .field("result", &self.result)
            .field("notes", &self.notes.as_ref().map(|_| "[redacted]"))
            .field("by", &self.by)
            .field("at", &self.at)
            .finish()
    }
}

impl Ticket {
    /// The ticket as the serving order needs it.
    pub fn queue_entry(&self) -> madoguchi_counter::QueueEntry {
        madoguchi_counter::QueueEntry {
            ticket: self.id,
            source: self.source,
            issued_at: self.issued_at,
            requeued_at: self.requeued_at,
            appointment_at: self.appointment_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTicket {
    pub queue: QueueId,
    pub source: TicketSource,
    pub resident: Option<AccountId>,
    pub reservation: Option<ReservationId>,
    pub office: Option<OfficeId>,
    pub appointment_at: Option<OffsetDateTime>,
}

/// What taking a ticket did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketIssue {
    Issued(Ticket),
    /// The resident (or the reservation) already holds an open ticket in this queue: that one.
    Existing(Ticket),
}

impl TicketIssue {
    pub fn ticket(&self) -> &Ticket {
        match self {
            TicketIssue::Issued(t) | TicketIssue::Existing(t) => t,
        }
    }
}

/// A move of one ticket, with what it records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketMove {
    pub event: TicketEvent,
    /// The specialist making it (a call); kept as `called_by`.
    pub by: Option<AccountId>,
    /// The room the resident answered into.
    pub room: Option<RoomId>,
}

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Creates a queue. Refused with `StorageError::CounterRule`: `queue_prefix_taken` when
    /// another queue of the city has the letter, `queue_exists` when the department has one.
    async fn create_queue(
        &self,
        tenant: TenantId,
        new: &NewCounterQueue,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<CounterQueue>;

    async fn queue(&self, tenant: TenantId, id: QueueId) -> StorageResult<CounterQueue>;

    async fn list_queues(&self, tenant: TenantId) -> StorageResult<Vec<CounterQueue>>;

    /// Opens or closes a queue for new tickets (tickets already taken stay).
    async fn set_queue_accepting(
        &self,
        tenant: TenantId,
        id: QueueId,
        accepting: bool,
        audit: &NewAuditEntry,
    ) -> StorageResult<CounterQueue>;

    /// Takes the next number of `service_day` in the queue. A resident or reservation with an
    /// open ticket in the queue gets that one back ([`TicketIssue::Existing`]). Refused with
    /// `queue_closed` when the queue takes no tickets and `queue_full_today` after number 999.
    /// The audit entry's target is set to the new ticket.
    async fn issue_ticket(
        &self,
        tenant: TenantId,
        new: &NewTicket,
        service_day: Date,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<TicketIssue>;

    async fn ticket(&self, tenant: TenantId, id: TicketId) -> StorageResult<Ticket>;

    /// The queue's tickets not finished (waiting, called, in a call), oldest first.
    async fn open_tickets(&self, tenant: TenantId, queue: QueueId) -> StorageResult<Vec<Ticket>>;

    /// Calls the first waiting ticket in serving order at `at` for `specialist`; `None` when no
    /// one waits. The audit entry's target is set to the ticket called.
    async fn call_next(
        &self,
        tenant: TenantId,
        queue: QueueId,
        specialist: AccountId,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Option<Ticket>>;

    /// Applies one move to a ticket under the queue's lock. Refused with
    /// `ticket_state_conflict` when the ticket's state does not take it.
    async fn move_ticket(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        change: &TicketMove,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Ticket>;

    /// Writes the specialist's record of the consultation (replacing an earlier one), with its
    /// audit entry (target: the ticket). Refused with `ticket_state_conflict` unless the ticket
    /// is in the call or was served (`madoguchi_counter::may_record`).
    async fn record_consultation(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        record: &ConsultationRecord,
        audit: &NewAuditEntry,
    ) -> StorageResult<Ticket>;

    /// Puts `account` on or off duty at the queue.
    async fn set_on_duty(
        &self,
        tenant: TenantId,
        queue: QueueId,
        account: AccountId,
        on: bool,
        at: OffsetDateTime,
    ) -> StorageResult<()>;

    /// Who is on duty at the queue.
    async fn on_duty(&self, tenant: TenantId, queue: QueueId) -> StorageResult<Vec<AccountId>>;

    /// How long the queue's last `limit` served consultations took (answer to finish).
    async fn recent_handling(
        &self,
        tenant: TenantId,
        queue: QueueId,
        limit: i64,
    ) -> StorageResult<Vec<Duration>>;
}

/// A ticket status as stored: the state's name, this turn's calls and the outcome (whether it
/// was sent to the back is the `requeued_at` column being set).
pub fn ticket_status_columns(status: TicketStatus) -> (&'static str, i64, Option<&'static str>) {
    match status {
        TicketStatus::Waiting { .. } => ("waiting", 0, None),
        TicketStatus::Called { calls, .. } => ("called", i64::from(calls), None),
        TicketStatus::InCall => ("in_call", 0, None),
        TicketStatus::Finished { outcome } => ("finished", 0, Some(outcome.as_str())),
    }
}

/// The inverse of [`ticket_status_columns`]; `None` for a combination no write produces.
pub fn ticket_status_from_columns(
    status: &str,
    calls: i64,
    requeued: bool,
    outcome: Option<&str>,
) -> Option<TicketStatus> {
    match (status, outcome) {
        ("waiting", None) => Some(TicketStatus::Waiting { requeued }),
        ("called", None) => Some(TicketStatus::Called {
            calls: u8::try_from(calls).ok().filter(|c| (1..=2).contains(c))?,
            requeued,
        }),
        ("in_call", None) => Some(TicketStatus::InCall),
        ("finished", Some(outcome)) => Some(TicketStatus::Finished {
            outcome: madoguchi_counter::Outcome::parse(outcome)?,
        }),
        _ => None,
    }
}

/// What a move writes besides the status: the timestamps and people it records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TicketMoveColumns {
    pub called_by: Option<AccountId>,
    pub called_at: Option<OffsetDateTime>,
    pub requeued_at: Option<OffsetDateTime>,
    pub answered_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub room: Option<RoomId>,
}

/// Decides a move of `ticket` at `at`: its new status and columns (the unchanged ones kept),
/// or `ticket_state_conflict`. Shared by both backends, which run it under their lock.
pub fn decide_ticket_move(
    ticket: &Ticket,
    change: &TicketMove,
    at: OffsetDateTime,
) -> Result<(TicketStatus, TicketMoveColumns), madoguchi_domain::ErrorCode> {
    let next = ticket
        .status
        .on(change.event)
        .map_err(|_| madoguchi_domain::ErrorCode::TicketStateConflict)?;
    let mut columns = TicketMoveColumns {
        called_by: ticket.called_by,
        called_at: ticket.called_at,
        requeued_at: ticket.requeued_at,
        answered_at: ticket.answered_at,
        finished_at: ticket.finished_at,
        room: ticket.room,
    };
    match change.event {
        TicketEvent::Call | TicketEvent::Recall => {
            columns.called_by = change.by.or(ticket.called_by);
            columns.called_at = Some(at);
        }
        TicketEvent::NoAnswer => {
            if matches!(next, TicketStatus::Waiting { .. }) {
                columns.requeued_at = Some(at);
            }
        }
        TicketEvent::Answer => {
            columns.answered_at = Some(at);
            columns.room = change.room.or(ticket.room);
        }
        TicketEvent::Finish | TicketEvent::Transfer | TicketEvent::Cancel => {}
    }
    if matches!(next, TicketStatus::Finished { .. }) {
        columns.finished_at = Some(at);
    }
    Ok((next, columns))
}
