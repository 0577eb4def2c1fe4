//! The remote counter's queues and tickets on PostgreSQL. Every write that reads before it
//! decides (issuing a number, calling the next resident, moving a ticket) first locks the
//! queue's row (`FOR UPDATE`), so the nodes serving one queue take turns while other queues go
//! on in parallel.

use crate::audit::insert_audit;
use crate::payment_rows::{get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid};
use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_counter::{
    QueuePrefix, TicketEvent, TicketNumber, TicketSource, TicketStatus, serving_order,
};
use madoguchi_domain::{
    AccountId, DepartmentId, ErrorCode, OfficeId, QueueId, ReservationId, RoomId, TenantId,
    TicketId,
};
use madoguchi_storage::{
    ConsultationRecord, CounterQueue, CounterStore, NewAuditEntry, NewCounterQueue, NewTicket,
    StorageError, StorageResult, Ticket, TicketIssue, TicketMove, TicketMoveColumns,
    decide_ticket_move, ticket_status_columns, ticket_status_from_columns,
};
use sqlx::PgConnection;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::{Date, Duration, OffsetDateTime};

fn rule(code: ErrorCode) -> StorageError {
    StorageError::CounterRule(code)
}

fn queue_from_row(row: &PgRow) -> StorageResult<CounterQueue> {
    Ok(CounterQueue {
        id: QueueId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        department: DepartmentId(get_uuid(row, "department_id")?),
        prefix: QueuePrefix::try_from(get_string(row, "prefix")?)
            .map_err(|_| corrupt("queue prefix"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        accepting: get(row, "accepting")?,
        created_at: get_instant(row, "created_at")?,
    })
}

fn ticket_from_row(row: &PgRow, prefix: QueuePrefix) -> StorageResult<Ticket> {
    let sequence: i32 = get(row, "sequence")?;
    let calls: i16 = get(row, "calls")?;
    let requeued_at = get_opt_instant(row, "requeued_at")?;
    let outcome: Option<String> = get(row, "outcome")?;
    Ok(Ticket {
        id: TicketId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        queue: QueueId(get_uuid(row, "queue_id")?),
        number: u16::try_from(sequence)
            .ok()
            .and_then(|s| TicketNumber::new(prefix, s))
            .ok_or_else(|| corrupt("ticket number"))?,
        service_day: get(row, "service_day")?,
        source: TicketSource::parse(&get_string(row, "source")?)
            .ok_or_else(|| corrupt("ticket source"))?,
        status: ticket_status_from_columns(
            &get_string(row, "status")?,
            i64::from(calls),
            requeued_at.is_some(),
            outcome.as_deref(),
        )
        .ok_or_else(|| corrupt("ticket status"))?,
        resident: get_opt_uuid(row, "resident_account_id")?.map(AccountId),
        reservation: get_opt_uuid(row, "reservation_id")?.map(ReservationId),
        office: get_opt_uuid(row, "office_id")?.map(OfficeId),
        appointment_at: get_opt_instant(row, "appointment_at")?,
        called_by: get_opt_uuid(row, "called_by")?.map(AccountId),
        room: get_opt_uuid(row, "room_id")?.map(RoomId),
        issued_at: get_instant(row, "issued_at")?,
        requeued_at,
        called_at: get_opt_instant(row, "called_at")?,
        answered_at: get_opt_instant(row, "answered_at")?,
        finished_at: get_opt_instant(row, "finished_at")?,
        updated_at: get_instant(row, "updated_at")?,
        record: record_from_row(row)?,
    })
}

/// The specialist's record of the consultation, when one was written.
fn record_from_row(row: &PgRow) -> StorageResult<Option<ConsultationRecord>> {
    let result: Option<String> = row.try_get("result").map_err(map_err)?;
    let (Some(result), Some(by), Some(at)) = (
        result,
        get_opt_uuid(row, "recorded_by")?,
        get_opt_instant(row, "recorded_at")?,
    ) else {
        return Ok(None);
    };
    Ok(Some(ConsultationRecord {
        result: madoguchi_counter::ConsultationResult::parse(&result)
            .ok_or_else(|| corrupt("consultation result"))?,
        notes: row.try_get("notes").map_err(map_err)?,
        by: AccountId(by),
        at,
    }))
}

/// Reads a queue, locking its row for the rest of the transaction when `lock`.
pub(crate) async fn queue_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: QueueId,
    lock: bool,
) -> StorageResult<CounterQueue> {
    let sql = if lock {
        "SELECT * FROM counter_queues WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT * FROM counter_queues WHERE tenant_id = $1 AND id = $2"
    };
    let row = sqlx::query(sql)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    queue_from_row(&row)
}

pub(crate) async fn ticket_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: TicketId,
) -> StorageResult<Ticket> {
    let row = sqlx::query(
        "SELECT t.*, q.prefix FROM counter_tickets t JOIN counter_queues q ON q.id = t.queue_id
         WHERE t.tenant_id = $1 AND t.id = $2",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let prefix =
        QueuePrefix::try_from(get_string(&row, "prefix")?).map_err(|_| corrupt("queue prefix"))?;
    ticket_from_row(&row, prefix)
}

async fn open_tickets_in(
    conn: &mut PgConnection,
    queue: &CounterQueue,
) -> StorageResult<Vec<Ticket>> {
    let rows = sqlx::query(
        "SELECT * FROM counter_tickets WHERE tenant_id = $1 AND queue_id = $2 AND status <> 'finished'
         ORDER BY issued_at, id",
    )
    .bind(queue.tenant_id.0)
    .bind(queue.id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| ticket_from_row(row, queue.prefix))
        .collect()
}

pub(crate) async fn write_move(
    conn: &mut PgConnection,
    ticket: &Ticket,
    status: TicketStatus,
    columns: &TicketMoveColumns,
    at: OffsetDateTime,
) -> StorageResult<()> {
    let (name, calls, outcome) = ticket_status_columns(status);
    sqlx::query(
        "UPDATE counter_tickets SET status = $1, calls = $2, outcome = $3, called_by = $4, called_at = $5,
             requeued_at = $6, answered_at = $7, finished_at = $8, room_id = $9, updated_at = $10
         WHERE id = $11",
    )
    .bind(name)
    .bind(i16::try_from(calls).unwrap_or(0))
    .bind(outcome)
    .bind(columns.called_by.map(|a| a.0))
    .bind(columns.called_at)
    .bind(columns.requeued_at)
    .bind(columns.answered_at)
    .bind(columns.finished_at)
    .bind(columns.room.map(|r| r.0))
    .bind(at)
    .bind(ticket.id.0)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    // A finished ticket's consultation is over: its room ends with it.
    if let (TicketStatus::Finished { .. }, Some(room)) = (status, columns.room) {
        sqlx::query(
            "UPDATE counter_rooms SET state = 'ended', ended_at = $1, updated_at = $1
             WHERE id = $2 AND state <> 'ended'",
        )
        .bind(at)
        .bind(room.0)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

fn targeted(audit: &NewAuditEntry, target: String) -> NewAuditEntry {
    NewAuditEntry {
        target: Some(target),
        ..audit.clone()
    }
}

#[async_trait]
impl CounterStore for PgStorage {
    async fn create_queue(
        &self,
        tenant: TenantId,
        new: &NewCounterQueue,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<CounterQueue> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let id = QueueId::new();
        let inserted = sqlx::query(
            "INSERT INTO counter_queues (id, tenant_id, department_id, prefix, name_ja, name_en, accepting, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, true, $7)",
        )
        .bind(id.0)
        .bind(tenant.0)
        .bind(new.department.0)
        .bind(String::from(new.prefix))
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err);
        // The unique constraints decide between two simultaneous creations; their names say
        // which rule was broken.
        match inserted {
            Err(StorageError::Duplicate { constraint })
                if constraint == "counter_queues_prefix" =>
            {
                return Err(rule(ErrorCode::QueuePrefixTaken));
            }
            Err(StorageError::Duplicate { constraint })
                if constraint == "counter_queues_department" =>
            {
                return Err(rule(ErrorCode::QueueExists));
            }
            other => {
                other?;
            }
        }
        insert_audit(&mut *tx, tenant, &targeted(audit, id.to_string())).await?;
        let queue = queue_in(&mut tx, tenant, id, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(queue)
    }

    async fn queue(&self, tenant: TenantId, id: QueueId) -> StorageResult<CounterQueue> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        queue_in(&mut conn, tenant, id, false).await
    }

    async fn list_queues(&self, tenant: TenantId) -> StorageResult<Vec<CounterQueue>> {
        let rows = sqlx::query("SELECT * FROM counter_queues WHERE tenant_id = $1 ORDER BY prefix")
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(queue_from_row).collect()
    }

    async fn set_queue_accepting(
        &self,
        tenant: TenantId,
        id: QueueId,
        accepting: bool,
        audit: &NewAuditEntry,
    ) -> StorageResult<CounterQueue> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let updated = sqlx::query(
            "UPDATE counter_queues SET accepting = $1 WHERE tenant_id = $2 AND id = $3 AND accepting <> $1",
        )
        .bind(accepting)
        .bind(tenant.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let queue = queue_in(&mut tx, tenant, id, false).await?;
        if updated.rows_affected() > 0 {
            insert_audit(&mut *tx, tenant, audit).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(queue)
    }

    async fn issue_ticket(
        &self,
        tenant: TenantId,
        new: &NewTicket,
        service_day: Date,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<TicketIssue> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let queue = queue_in(&mut tx, tenant, new.queue, true).await?;
        let existing = open_tickets_in(&mut tx, &queue)
            .await?
            .into_iter()
            .find(|t| {
                (new.resident.is_some() && t.resident == new.resident)
                    || (new.reservation.is_some() && t.reservation == new.reservation)
            });
        if let Some(ticket) = existing {
            return Ok(TicketIssue::Existing(ticket));
        }
        if !queue.accepting {
            return Err(rule(ErrorCode::QueueClosed));
        }
        let last: Option<i32> = sqlx::query_scalar(
            "SELECT last_sequence FROM counter_ticket_counters WHERE queue_id = $1 AND service_day = $2",
        )
        .bind(queue.id.0)
        .bind(service_day)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let sequence = last.unwrap_or(0) + 1;
        let Some(number) = u16::try_from(sequence)
            .ok()
            .and_then(|s| TicketNumber::new(queue.prefix, s))
        else {
            return Err(rule(ErrorCode::QueueFullToday));
        };
        sqlx::query(
            "INSERT INTO counter_ticket_counters (queue_id, service_day, last_sequence) VALUES ($1, $2, $3)
             ON CONFLICT (queue_id, service_day) DO UPDATE SET last_sequence = excluded.last_sequence",
        )
        .bind(queue.id.0)
        .bind(service_day)
        .bind(sequence)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let id = TicketId::new();
        sqlx::query(
            "INSERT INTO counter_tickets (id, tenant_id, queue_id, service_day, sequence, source, status,
                 calls, resident_account_id, reservation_id, office_id, appointment_at, issued_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'waiting', 0, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id.0)
        .bind(tenant.0)
        .bind(queue.id.0)
        .bind(service_day)
        .bind(i32::from(number.sequence()))
        .bind(new.source.as_str())
        .bind(new.resident.map(|a| a.0))
        .bind(new.reservation.map(|r| r.0))
        .bind(new.office.map(|o| o.0))
        .bind(new.appointment_at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, tenant, &targeted(audit, id.to_string())).await?;
        let ticket = ticket_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(TicketIssue::Issued(ticket))
    }

    async fn ticket(&self, tenant: TenantId, id: TicketId) -> StorageResult<Ticket> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        ticket_in(&mut conn, tenant, id).await
    }

    async fn open_tickets(&self, tenant: TenantId, queue: QueueId) -> StorageResult<Vec<Ticket>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let queue = queue_in(&mut conn, tenant, queue, false).await?;
        open_tickets_in(&mut conn, &queue).await
    }

    async fn call_next(
        &self,
        tenant: TenantId,
        queue: QueueId,
        specialist: AccountId,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Option<Ticket>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let queue = queue_in(&mut tx, tenant, queue, true).await?;
        let open = open_tickets_in(&mut tx, &queue).await?;
        let waiting: Vec<_> = open
            .iter()
            .filter(|t| matches!(t.status, TicketStatus::Waiting { .. }))
            .map(Ticket::queue_entry)
            .collect();
        let order = serving_order(&waiting, at);
        let Some(ticket) = order
            .next()
            .and_then(|next| open.iter().find(|t| t.id == next.ticket))
        else {
            return Ok(None);
        };
        let change = TicketMove {
            event: TicketEvent::Call,
            by: Some(specialist),
            room: None,
        };
        let (status, columns) = decide_ticket_move(ticket, &change, at).map_err(rule)?;
        write_move(&mut tx, ticket, status, &columns, at).await?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket.id.to_string())).await?;
        let called = ticket_in(&mut tx, tenant, ticket.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(called))
    }

    async fn move_ticket(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        change: &TicketMove,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<Ticket> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let unlocked = ticket_in(&mut tx, tenant, ticket).await?;
        // The queue's lock first, then the ticket read again under it.
        queue_in(&mut tx, tenant, unlocked.queue, true).await?;
        let current = ticket_in(&mut tx, tenant, ticket).await?;
        let (status, columns) = decide_ticket_move(&current, change, at).map_err(rule)?;
        write_move(&mut tx, &current, status, &columns, at).await?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket.to_string())).await?;
        let moved = ticket_in(&mut tx, tenant, ticket).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(moved)
    }

    async fn record_consultation(
        &self,
        tenant: TenantId,
        ticket: TicketId,
        record: &ConsultationRecord,
        audit: &NewAuditEntry,
    ) -> StorageResult<Ticket> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // The ticket's row is locked, so a finish and a record never cross.
        sqlx::query("SELECT 1 FROM counter_tickets WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.0)
            .bind(ticket.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let current = ticket_in(&mut tx, tenant, ticket).await?;
        if !madoguchi_counter::may_record(current.status) {
            return Err(rule(ErrorCode::TicketStateConflict));
        }
        sqlx::query(
            "UPDATE counter_tickets SET result = $1, notes = $2, recorded_by = $3, recorded_at = $4,
                 updated_at = $4
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(record.result.as_str())
        .bind(record.notes.as_deref())
        .bind(record.by.0)
        .bind(record.at)
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket.to_string())).await?;
        let recorded = ticket_in(&mut tx, tenant, ticket).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(recorded)
    }

    async fn set_on_duty(
        &self,
        tenant: TenantId,
        queue: QueueId,
        account: AccountId,
        on: bool,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        // The queue must be the tenant's: a foreign queue id is not found, not written.
        queue_in(&mut conn, tenant, queue, false).await?;
        let query = if on {
            sqlx::query(
                "INSERT INTO counter_duty (tenant_id, queue_id, account_id, since) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (queue_id, account_id) DO NOTHING",
            )
            .bind(tenant.0)
            .bind(queue.0)
            .bind(account.0)
            .bind(at)
        } else {
            sqlx::query(
                "DELETE FROM counter_duty WHERE tenant_id = $1 AND queue_id = $2 AND account_id = $3",
            )
            .bind(tenant.0)
            .bind(queue.0)
            .bind(account.0)
        };
        query.execute(&mut *conn).await.map_err(map_err)?;
        Ok(())
    }

    async fn on_duty(&self, tenant: TenantId, queue: QueueId) -> StorageResult<Vec<AccountId>> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT account_id FROM counter_duty WHERE tenant_id = $1 AND queue_id = $2 ORDER BY since, account_id",
        )
        .bind(tenant.0)
        .bind(queue.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(ids.into_iter().map(AccountId).collect())
    }

    async fn recent_handling(
        &self,
        tenant: TenantId,
        queue: QueueId,
        limit: i64,
    ) -> StorageResult<Vec<Duration>> {
        let spans: Vec<(OffsetDateTime, OffsetDateTime)> = sqlx::query_as(
            "SELECT answered_at, finished_at FROM counter_tickets
             WHERE tenant_id = $1 AND queue_id = $2 AND outcome = 'done' AND answered_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT $3",
        )
        .bind(tenant.0)
        .bind(queue.0)
        .bind(limit.clamp(0, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(spans
            .into_iter()
            .map(|(from, to)| (to - from).max(Duration::ZERO))
            .collect())
    }
}
