//! The remote counter's rooms: the video consultation a called resident answers into, which
//! department runs it (it changes on a transfer), who else was brought in (a second
//! department, an interpreter), and its state (lobby, live, ended).
//!
//! Architecture invariant: what a change may do is decided by `madoguchi-counter`
//! (`RoomState::apply`, through [`decide_room_change`]) inside the backend's transaction, with
//! the room's row locked (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), and the change's
//! audit entry commits with it. Answering creates the room and moves the ticket in one
//! transaction; ending the room finishes its ticket, and finishing a ticket ends its room.

use crate::{NewAuditEntry, StorageResult, Ticket};
use async_trait::async_trait;
use madoguchi_counter::{Action, ParticipantRole, RoomState, RoomTransitionError};
use madoguchi_domain::{
    AccountId, DepartmentId, ErrorCode, MediaNodeId, RoomId, TenantId, TicketId,
};
use time::OffsetDateTime;

/// A consultation room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub tenant_id: TenantId,
    /// The department running the consultation; a transfer changes it.
    pub department: DepartmentId,
    /// The ticket answered into it (walk-ins and checked-in appointments).
    pub ticket: Option<TicketId>,
    pub state: RoomState,
    /// Departments and interpreters brought in, in the order they were added.
    pub guests: Vec<RoomGuest>,
    /// The media node its call goes through, once someone was granted a join.
    pub media_node: Option<MediaNodeId>,
    pub created_at: OffsetDateTime,
    pub admitted_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

impl Room {
    /// Whether `department` takes part as a guest.
    pub fn has_guest_department(&self, department: DepartmentId) -> bool {
        self.guests
            .iter()
            .any(|g| matches!(g, RoomGuest::Department { department: d, .. } if *d == department))
    }

    /// The language `account` interprets in this room, when it was invited to.
    pub fn interpreter_language(&self, account: AccountId) -> Option<&str> {
        self.guests.iter().find_map(|g| match g {
            RoomGuest::Interpreter {
                account: a,
                language,
                ..
            } if *a == account => Some(language.as_str()),
            _ => None,
        })
    }
}

/// Someone brought into a room besides the resident and the running department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomGuest {
    /// A second department; its specialists join as guest specialists.
    Department {
        department: DepartmentId,
        added_at: OffsetDateTime,
    },
    /// A staff account invited to interpret; `language` is `sign` (sign language) or a
    /// language tag such as `en`, `zh`, `vi`.
    Interpreter {
        account: AccountId,
        language: String,
        added_at: OffsetDateTime,
    },
}

/// A room opened when a called resident answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoom {
    pub id: RoomId,
    pub department: DepartmentId,
    /// `Live` when the specialist's call was the admission (the queue); `Lobby` when the
    /// resident waits to be let in (an appointment joined early).
    pub state: RoomState,
}

/// A change made in a room by one of its participants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomChange {
    Admit,
    /// Ends the consultation for everyone; the ticket finishes as served.
    End,
    /// Hands the consultation to another department; nobody re-joins.
    Transfer(DepartmentId),
    /// Brings a second department in.
    AddDepartment(DepartmentId),
    /// Invites a staff account to interpret.
    AddInterpreter {
        account: AccountId,
        language: String,
    },
}

impl RoomChange {
    /// The room action the change is.
    pub fn action(&self) -> Action {
        match self {
            RoomChange::Admit => Action::Admit,
            RoomChange::End => Action::End,
            RoomChange::Transfer(_) => Action::Transfer,
            RoomChange::AddDepartment(_) | RoomChange::AddInterpreter { .. } => Action::Invite,
        }
    }
}

/// The state a room takes after `role` makes `change`, or the error code it is refused with.
/// Transferring to the running department is refused; adding a department or interpreter that
/// is already there changes nothing (a repeated press is harmless).
pub fn decide_room_change(
    room: &Room,
    role: ParticipantRole,
    change: &RoomChange,
) -> Result<RoomState, ErrorCode> {
    let next = room
        .state
        .apply(role, change.action())
        .map_err(|e| match e {
            RoomTransitionError::Ended => ErrorCode::RoomEnded,
            RoomTransitionError::AlreadyLive => ErrorCode::Conflict,
            RoomTransitionError::NotAllowed(..) => ErrorCode::Forbidden,
        })?;
    match change {
        RoomChange::Transfer(department) if *department == room.department => {
            Err(ErrorCode::Conflict)
        }
        _ => Ok(next),
    }
}

#[async_trait]
pub trait CounterRoomStore: Send + Sync {
    /// The called resident answers: their ticket goes into the call and `room` opens, in one
    /// transaction under the queue's lock. Refused with `ticket_state_conflict` when the ticket
    /// is not being called. The audit entry's target is set to the ticket.
    async fn answer_into_room(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        room: &NewRoom,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<(Ticket, Room)>;

    async fn room(&self, tenant: TenantId, id: RoomId) -> StorageResult<Room>;

    /// Applies `change`, made by a participant in `role`, under the room's lock. Refused with
    /// `StorageError::CounterRule`: `room_ended`, `forbidden` (the role may not), `conflict`
    /// (admitting a live room, transferring to the running department). Ending also finishes
    /// the room's ticket when it is in the call. The audit entry's target is set to the room.
    async fn change_room(
        &self,
        tenant: TenantId,
        id: RoomId,
        role: ParticipantRole,
        change: &RoomChange,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Room>;
}
