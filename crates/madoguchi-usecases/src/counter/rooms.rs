//! The consultation rooms: a called resident answers into a room, participants get join grants
//! for the role they may take, and participants change the room (admit, transfer, bring a
//! department or an interpreter in, end) as their role allows. Joins and leaves are audited;
//! nothing is recorded of the call itself.

use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_auth::join_grant::JoinGrantKeys;
use madoguchi_counter::{
    GRANT_MAX_LIFETIME, GrantClaims, GrantProblem, ParticipantRole, RoomState, TicketSource,
    TicketStatus, is_interpreting_language,
};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, AccountKind, DepartmentId, ErrorCode, RoomId, TicketId};
use madoguchi_storage::{
    AccountStore, AuditStore, BookingStore, CounterRoomStore, CounterStore, MediaNode,
    MediaNodeStore, NewRoom, OrgStore, Room, RoomChange, StorageError, SuspensionStore, Ticket,
};

/// What answering gives the resident's side: the ticket in the call and its room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    pub ticket: Ticket,
    pub room: Room,
}

/// Whether the actor may stand for the ticket's resident: the resident who took it, or the
/// staff of the branch whose kiosk issued it.
fn speaks_for_ticket(scope: &Scope, access: Option<&StaffAccess>, ticket: &Ticket) -> bool {
    match (scope.actor, access) {
        (Actor::Resident(id), _) => ticket.resident == Some(id),
        (Actor::Staff(_), Some(access)) => {
            ticket.source == TicketSource::Kiosk
                && ticket
                    .office
                    .is_some_and(|office| access.may_run_kiosk(office))
        }
        _ => false,
    }
}

/// The called resident (or the kiosk beside them) answers: the ticket goes into the call and
/// its room opens, run by the queue's department. Answering again returns the same room, so a
/// resident whose page reloaded gets back in.
pub async fn answer<S: CounterStore + CounterRoomStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    ticket: TicketId,
) -> UseCaseResult<Answered> {
    let current = store.ticket(scope.tenant, ticket).await?;
    if !speaks_for_ticket(scope, access, &current) {
        // Another resident's ticket is not disclosed.
        return Err(StorageError::NotFound.into());
    }
    if let (TicketStatus::InCall, Some(room)) = (current.status, current.room) {
        let room = store.room(scope.tenant, room).await?;
        return Ok(Answered {
            ticket: current,
            room,
        });
    }
    let queue = store.queue(scope.tenant, current.queue).await?;
    let new = NewRoom {
        id: RoomId::new(),
        department: queue.department,
        // The specialist chose to call this resident: the call is the admission.
        state: RoomState::Live,
    };
    let entry = audit::entry(
        scope,
        "counter.answered",
        None,
        serde_json::json!({"room": new.id, "number": current.number.to_string()}),
    );
    let (ticket, room) = store
        .answer_into_room(scope.tenant, ticket, &new, scope.now(), &entry)
        .await?;
    Ok(Answered { ticket, room })
}

/// Whether the actor may take `role` in `room` (whose ticket is `ticket`). Checked when a grant
/// is issued and again on every change a participant makes, so a specialist whose department
/// handed the resident over no longer runs the room.
fn may_take_role(
    scope: &Scope,
    access: Option<&StaffAccess>,
    room: &Room,
    ticket: Option<&Ticket>,
    role: ParticipantRole,
) -> bool {
    let staff = match (scope.actor, access) {
        (Actor::Staff(id), Some(access)) => Some((id, access)),
        _ => None,
    };
    match role {
        ParticipantRole::Resident => ticket.is_some_and(|t| speaks_for_ticket(scope, access, t)),
        ParticipantRole::Specialist => {
            staff.is_some_and(|(_, access)| access.may_serve_queue(room.department))
        }
        ParticipantRole::GuestSpecialist => staff.is_some_and(|(_, access)| {
            room.guests.iter().any(|g| match g {
                madoguchi_storage::RoomGuest::Department { department, .. } => {
                    access.may_serve_queue(*department)
                }
                madoguchi_storage::RoomGuest::Interpreter { .. } => false,
            })
        }),
        ParticipantRole::BranchStaff => staff.is_some_and(|(_, access)| {
            ticket
                .and_then(|t| t.office)
                .is_some_and(|office| access.may_run_kiosk(office))
        }),
        ParticipantRole::Interpreter => {
            staff.is_some_and(|(id, _)| room.interpreter_language(id).is_some())
        }
    }
}

/// The grant's identity: who joins, in which role (one account may hold two roles, e.g. an
/// administrator testing the kiosk, and each is its own participant).
pub fn identity_of(role: ParticipantRole, account: AccountId) -> String {
    format!("{}.{}", role.as_str(), account)
}

/// The account an identity of [`identity_of`] names.
pub fn account_of(identity: &str) -> Option<AccountId> {
    let (_, account) = identity.split_once('.')?;
    uuid::Uuid::parse_str(account).ok().map(AccountId)
}

/// The room and its ticket, when the actor takes some part in it; a room the actor has no
/// part in is not disclosed.
async fn room_for<S: CounterStore + CounterRoomStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    room: RoomId,
) -> UseCaseResult<(Room, Option<Ticket>)> {
    let room = store.room(scope.tenant, room).await?;
    let ticket = match room.ticket {
        Some(id) => Some(store.ticket(scope.tenant, id).await?),
        None => None,
    };
    let any_role = ParticipantRole::ALL
        .into_iter()
        .any(|role| may_take_role(scope, access, &room, ticket.as_ref(), role));
    if any_role {
        Ok((room, ticket))
    } else {
        Err(StorageError::NotFound.into())
    }
}

/// A room as a participant may see it.
pub async fn view<S: CounterStore + CounterRoomStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    room: RoomId,
) -> UseCaseResult<Room> {
    Ok(room_for(store, scope, access, room).await?.0)
}

/// A signed join grant, what it says, and the media node the room's call goes through (every
/// participant is sent to the same one).
#[derive(Clone, Debug)]
pub struct IssuedGrant {
    pub token: String,
    pub claims: GrantClaims,
    pub node: MediaNode,
}

/// How placement treats media nodes: one silent for `lost_after` is lost and its rooms move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaPlacement {
    pub lost_after: time::Duration,
}

impl Default for MediaPlacement {
    fn default() -> Self {
        Self {
            lost_after: madoguchi_counter::NODE_LOST_AFTER,
        }
    }
}

/// What a grant needs besides the store: the keys that sign it and how rooms are placed.
#[derive(Clone, Copy)]
pub struct GrantIssuer<'a> {
    pub keys: &'a JoinGrantKeys,
    pub placement: MediaPlacement,
}

/// Issues a grant to join `room` as `role`, valid for ten minutes (a reconnecting client asks
/// again). Refused when the room has ended or the actor may not take the role; a room the
/// actor has no part in is not disclosed.
pub async fn grant<S: CounterStore + CounterRoomStore + MediaNodeStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    room: RoomId,
    role: ParticipantRole,
    issuer: GrantIssuer<'_>,
) -> UseCaseResult<IssuedGrant> {
    grant_first(store, scope, access, room, &[role], issuer).await
}

/// [`grant`] for the first of `roles` (in order of preference) the actor may take, e.g. a
/// staff member who opens a call page: the specialist if they run the room, else a guest.
/// The room is placed on a media node first (it stays on its node while that node lives);
/// with no live node the grant is refused as `media_unavailable`.
pub async fn grant_first<
    S: CounterStore + CounterRoomStore + MediaNodeStore + AuditStore + ?Sized,
>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    room: RoomId,
    roles: &[ParticipantRole],
    issuer: GrantIssuer<'_>,
) -> UseCaseResult<IssuedGrant> {
    let (room, ticket) = room_for(store, scope, access, room).await?;
    let role = roles
        .iter()
        .copied()
        .find(|role| may_take_role(scope, access, &room, ticket.as_ref(), *role))
        .ok_or_else(|| UseCaseError::new(ErrorCode::Forbidden))?;
    if room.state == RoomState::Ended {
        return Err(UseCaseError::new(ErrorCode::RoomEnded));
    }
    let account = scope
        .actor
        .account()
        .ok_or_else(|| UseCaseError::new(ErrorCode::Forbidden))?;
    let claims = GrantClaims::new(
        scope.tenant,
        room.id,
        role,
        &identity_of(role, account),
        scope.now(),
        GRANT_MAX_LIFETIME,
    )
    .map_err(|problem| UseCaseError::internal(format!("grant claims: {problem}")))?;
    let placed = place(store, scope, room.id, issuer.placement).await?;
    let token = issuer
        .keys
        .sign(&claims)
        .map_err(|e| UseCaseError::internal(format!("grant signing: {e}")))?;
    Ok(IssuedGrant {
        token,
        claims,
        node: placed,
    })
}

/// Places `room` on a media node (see [`MediaNodeStore::place_room`]); a move off a lost or
/// stopped node is audited as `counter.room_moved`.
pub async fn place<S: MediaNodeStore + ?Sized>(
    store: &S,
    scope: &Scope,
    room: RoomId,
    placement: MediaPlacement,
) -> UseCaseResult<MediaNode> {
    let moved = audit::entry(scope, "counter.room_moved", None, serde_json::json!({}));
    let placed = store
        .place_room(
            scope.tenant,
            room,
            scope.now(),
            placement.lost_after,
            &moved,
        )
        .await?;
    Ok(placed.node)
}

/// Moves the open rooms of lost or stopped media nodes to live ones before anyone asks (at
/// most `limit` per pass; the next grant would move them anyway). Returns how many moved.
pub async fn move_off_lost_nodes<S: MediaNodeStore + ?Sized>(
    store: &S,
    clock: std::sync::Arc<dyn madoguchi_domain::Clock>,
    placement: MediaPlacement,
    limit: u32,
) -> UseCaseResult<usize> {
    let now = clock.now();
    let rooms = store
        .rooms_on_lost_nodes(now, placement.lost_after, limit)
        .await?;
    let mut moved = 0;
    for (tenant, room) in rooms {
        let scope = Scope::new(tenant, Actor::System, clock.clone());
        match place(store, &scope, room, placement).await {
            Ok(_) => moved += 1,
            // No live node now: the room waits for one (its next grant tries again).
            Err(e) if e.code == ErrorCode::MediaUnavailable => break,
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// Checks a grant token presented to the signalling: genuine, for `room`, not expired.
pub fn verify_grant(
    keys: &JoinGrantKeys,
    token: &str,
    room: RoomId,
    now: time::OffsetDateTime,
) -> UseCaseResult<GrantClaims> {
    let claims = keys
        .verify(token)
        .map_err(|_| UseCaseError::new(ErrorCode::GrantInvalid))?;
    claims.check(room, now).map_err(|problem| match problem {
        GrantProblem::Expired => UseCaseError::new(ErrorCode::GrantExpired),
        GrantProblem::WrongRoom
        | GrantProblem::NotYetValid
        | GrantProblem::TooLong
        | GrantProblem::BadIdentity => UseCaseError::new(ErrorCode::GrantInvalid),
    })?;
    Ok(claims)
}

/// The scope a grant's holder acts in: the resident (or the kiosk's staff account standing for
/// them) or the staff member it names.
pub fn actor_of(claims: &GrantClaims, kiosk: bool) -> Option<Actor> {
    let account = account_of(&claims.identity)?;
    Some(match claims.role {
        ParticipantRole::Resident if !kiosk => Actor::Resident(account),
        _ => Actor::Staff(account),
    })
}

/// A change a participant asks for over the signalling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeRequest {
    Admit,
    End,
    Transfer(DepartmentId),
    AddDepartment(DepartmentId),
    InviteInterpreter {
        account: AccountId,
        language: String,
    },
}

impl ChangeRequest {
    fn action(&self) -> madoguchi_counter::Action {
        use madoguchi_counter::Action;
        match self {
            ChangeRequest::Admit => Action::Admit,
            ChangeRequest::End => Action::End,
            ChangeRequest::Transfer(_) => Action::Transfer,
            ChangeRequest::AddDepartment(_) | ChangeRequest::InviteInterpreter { .. } => {
                Action::Invite
            }
        }
    }
}

/// Applies a participant's change to the room, after checking that the grant's holder still
/// holds its role (their roles are read again) and that what the change names exists in the
/// city. The room's state machine decides the rest under the room's lock.
pub async fn change<
    S: CounterStore
        + CounterRoomStore
        + AccountStore
        + OrgStore
        + AuditStore
        + BookingStore
        + SuspensionStore
        + ?Sized,
>(
    store: &S,
    scope: &Scope,
    claims: &GrantClaims,
    request: ChangeRequest,
) -> UseCaseResult<Room> {
    let room = store.room(scope.tenant, claims.room).await?;
    let ticket = match room.ticket {
        Some(id) => Some(store.ticket(scope.tenant, id).await?),
        None => None,
    };
    let access = match scope.actor {
        Actor::Staff(id) => Some(StaffAccess::new(store.roles(scope.tenant, id).await?)),
        _ => None,
    };
    if !may_take_role(scope, access.as_ref(), &room, ticket.as_ref(), claims.role)
        || !madoguchi_counter::may(claims.role, request.action())
    {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let (change, action, details) = match request {
        ChangeRequest::Admit => (
            RoomChange::Admit,
            "counter.room_admitted",
            serde_json::json!({}),
        ),
        ChangeRequest::End => (RoomChange::End, "counter.room_ended", serde_json::json!({})),
        ChangeRequest::Transfer(department) => {
            known_department(store, scope, department).await?;
            (
                RoomChange::Transfer(department),
                "counter.transferred",
                serde_json::json!({"from": room.department, "to": department}),
            )
        }
        ChangeRequest::AddDepartment(department) => {
            known_department(store, scope, department).await?;
            (
                RoomChange::AddDepartment(department),
                "counter.department_added",
                serde_json::json!({"department": department}),
            )
        }
        ChangeRequest::InviteInterpreter { account, language } => {
            if !is_interpreting_language(&language) {
                return Err(UseCaseError::field("language", ErrorCode::ValidationFailed));
            }
            let staff = match store.account(scope.tenant, account).await {
                Ok(found) => found.kind == AccountKind::Staff && !found.disabled,
                Err(StorageError::NotFound) => false,
                Err(other) => return Err(other.into()),
            };
            if !staff {
                return Err(UseCaseError::field(
                    "account_id",
                    ErrorCode::ValidationFailed,
                ));
            }
            (
                RoomChange::AddInterpreter {
                    account,
                    language: language.clone(),
                },
                "counter.interpreter_invited",
                serde_json::json!({"interpreter": account, "language": language}),
            )
        }
    };
    let entry = audit::entry(scope, action, None, details);
    let ended = matches!(change, RoomChange::End);
    let changed = store
        .change_room(
            scope.tenant,
            room.id,
            claims.role,
            &change,
            scope.now(),
            &entry,
        )
        .await?;
    // Ending the call finishes a booked consultation's ticket: its reservation is attended.
    if let (true, Some(ticket)) = (ended, changed.ticket) {
        let ticket = store.ticket(scope.tenant, ticket).await?;
        super::appointments::record_attendance(store, scope, &ticket).await?;
    }
    Ok(changed)
}

async fn known_department<S: OrgStore + ?Sized>(
    store: &S,
    scope: &Scope,
    department: DepartmentId,
) -> UseCaseResult<()> {
    match store.department(scope.tenant, department).await {
        Ok(_) => Ok(()),
        Err(StorageError::NotFound) => Err(UseCaseError::field(
            "department_id",
            ErrorCode::ValidationFailed,
        )),
        Err(other) => Err(other.into()),
    }
}

/// Records that a participant joined or left the call (the audit trail the city keeps; no
/// media is recorded).
pub async fn record_presence<S: AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    claims: &GrantClaims,
    joined: bool,
) -> UseCaseResult<()> {
    let action = if joined {
        "counter.joined"
    } else {
        "counter.left"
    };
    audit::record(
        store,
        scope,
        action,
        Some(claims.room.to_string()),
        serde_json::json!({"role": claims.role.as_str()}),
    )
    .await
}
