//! The remote counter's rooms on SQLite. Answering and every room change run under
//! `BEGIN IMMEDIATE`: SQLite's one writer is the room's lock.

use crate::audit::insert_audit;
use crate::counter::{ticket_in, write_move};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_counter::{ParticipantRole, RoomState, TicketEvent, TicketStatus};
use madoguchi_domain::{AccountId, DepartmentId, MediaNodeId, RoomId, TenantId, TicketId};
use madoguchi_storage::to_unix_micros;
use madoguchi_storage::{
    CounterRoomStore, NewAuditEntry, NewRoom, Room, RoomChange, RoomGuest, StorageError,
    StorageResult, Ticket, TicketMove, decide_room_change, decide_ticket_move,
};
use sqlx::SqliteConnection;

fn rule(code: madoguchi_domain::ErrorCode) -> StorageError {
    StorageError::CounterRule(code)
}

fn targeted(audit: &NewAuditEntry, target: String) -> NewAuditEntry {
    NewAuditEntry {
        target: Some(target),
        ..audit.clone()
    }
}

/// Reads a room with its guests.
pub(crate) async fn room_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: RoomId,
) -> StorageResult<Room> {
    let row = sqlx::query("SELECT * FROM counter_rooms WHERE tenant_id = ?1 AND id = ?2")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    let guests = sqlx::query(
        "SELECT department_id, account_id, language, added_at FROM counter_room_guests
         WHERE room_id = ?1 ORDER BY added_at, department_id, account_id",
    )
    .bind(uuid_text(id.0))
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(|g| {
        let added_at = get_instant(g, "added_at")?;
        match (
            get_opt_uuid(g, "department_id")?,
            get_opt_uuid(g, "account_id")?,
        ) {
            (Some(department), None) => Ok(RoomGuest::Department {
                department: DepartmentId(department),
                added_at,
            }),
            (None, Some(account)) => Ok(RoomGuest::Interpreter {
                account: AccountId(account),
                language: get_string(g, "language")?,
                added_at,
            }),
            _ => Err(corrupt("room guest")),
        }
    })
    .collect::<StorageResult<Vec<_>>>()?;
    Ok(Room {
        id: RoomId(get_uuid(&row, "id")?),
        tenant_id: TenantId(get_uuid(&row, "tenant_id")?),
        department: DepartmentId(get_uuid(&row, "department_id")?),
        ticket: get_opt_uuid(&row, "ticket_id")?.map(TicketId),
        state: RoomState::parse(&get_string(&row, "state")?)
            .ok_or_else(|| corrupt("room state"))?,
        guests,
        media_node: get_opt_uuid(&row, "media_node_id")?.map(MediaNodeId),
        created_at: get_instant(&row, "created_at")?,
        admitted_at: get_opt_instant(&row, "admitted_at")?,
        ended_at: get_opt_instant(&row, "ended_at")?,
        updated_at: get_instant(&row, "updated_at")?,
    })
}

/// A department of another city is refused as not found, before the foreign key would see it.
async fn own_department(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    department: DepartmentId,
) -> StorageResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM departments WHERE tenant_id = ?1 AND id = ?2")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(department.0))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
    found.map(|_| ()).ok_or(StorageError::NotFound)
}

#[async_trait]
impl CounterRoomStore for SqliteStorage {
    async fn answer_into_room(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        room: &NewRoom,
        at: time::OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<(Ticket, Room)> {
        let mut tx = self.begin_immediate().await?;
        let current = ticket_in(&mut tx, tenant, ticket).await?;
        own_department(&mut tx, tenant, room.department).await?;
        let change = TicketMove {
            event: TicketEvent::Answer,
            by: None,
            room: Some(room.id),
        };
        let (status, columns) = decide_ticket_move(&current, &change, at).map_err(rule)?;
        let admitted_at = (room.state == RoomState::Live).then_some(at);
        let ended_at = (room.state == RoomState::Ended).then_some(at);
        sqlx::query(
            "INSERT INTO counter_rooms (id, tenant_id, department_id, ticket_id, state, created_at,
                 admitted_at, ended_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6)",
        )
        .bind(uuid_text(room.id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(room.department.0))
        .bind(uuid_text(ticket.0))
        .bind(room.state.as_str())
        .bind(to_unix_micros(at))
        .bind(admitted_at.map(to_unix_micros))
        .bind(ended_at.map(to_unix_micros))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        write_move(&mut tx, &current, status, &columns, at).await?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket.to_string())).await?;
        let moved = ticket_in(&mut tx, tenant, ticket).await?;
        let opened = room_in(&mut tx, tenant, room.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok((moved, opened))
    }

    async fn room(&self, tenant: TenantId, id: RoomId) -> StorageResult<Room> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        room_in(&mut conn, tenant, id).await
    }

    async fn change_room(
        &self,
        tenant: TenantId,
        id: RoomId,
        role: ParticipantRole,
        change: &RoomChange,
        at: time::OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Room> {
        let mut tx = self.begin_immediate().await?;
        let current = room_in(&mut tx, tenant, id).await?;
        let next = decide_room_change(&current, role, change).map_err(rule)?;
        match change {
            RoomChange::Admit => {
                sqlx::query(
                    "UPDATE counter_rooms SET state = ?1, admitted_at = ?2, updated_at = ?2 WHERE id = ?3",
                )
                .bind(next.as_str())
                .bind(to_unix_micros(at))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            RoomChange::End => {
                if let Some(ticket) = current.ticket {
                    let held = ticket_in(&mut tx, tenant, ticket).await?;
                    if held.status == TicketStatus::InCall {
                        let finish = TicketMove {
                            event: TicketEvent::Finish,
                            by: None,
                            room: None,
                        };
                        let (status, columns) =
                            decide_ticket_move(&held, &finish, at).map_err(rule)?;
                        write_move(&mut tx, &held, status, &columns, at).await?;
                    }
                }
                sqlx::query(
                    "UPDATE counter_rooms SET state = 'ended', ended_at = ?1, updated_at = ?1
                     WHERE id = ?2 AND state <> 'ended'",
                )
                .bind(to_unix_micros(at))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            RoomChange::Transfer(department) => {
                own_department(&mut tx, tenant, *department).await?;
                sqlx::query(
                    "UPDATE counter_rooms SET department_id = ?1, updated_at = ?2 WHERE id = ?3",
                )
                .bind(uuid_text(department.0))
                .bind(to_unix_micros(at))
                .bind(uuid_text(id.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                // The new department runs the room now; as a guest it would appear twice.
                sqlx::query(
                    "DELETE FROM counter_room_guests WHERE room_id = ?1 AND department_id = ?2",
                )
                .bind(uuid_text(id.0))
                .bind(uuid_text(department.0))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            RoomChange::AddDepartment(department) => {
                own_department(&mut tx, tenant, *department).await?;
                if *department != current.department {
                    sqlx::query(
                        "INSERT INTO counter_room_guests (room_id, tenant_id, department_id, added_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )
                    .bind(uuid_text(id.0))
                    .bind(uuid_text(tenant.0))
                    .bind(uuid_text(department.0))
                    .bind(to_unix_micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
            }
            RoomChange::AddInterpreter { account, language } => {
                sqlx::query(
                    "INSERT INTO counter_room_guests (room_id, tenant_id, account_id, language, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )
                .bind(uuid_text(id.0))
                .bind(uuid_text(tenant.0))
                .bind(uuid_text(account.0))
                .bind(language)
                .bind(to_unix_micros(at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
        }
        insert_audit(&mut *tx, tenant, &targeted(audit, id.to_string())).await?;
        let changed = room_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }
}
