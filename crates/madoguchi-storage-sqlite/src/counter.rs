//! The remote counter's queues and tickets on SQLite. Every write that reads before it decides
//! (issuing a number, calling the next resident, moving a ticket) runs under `BEGIN IMMEDIATE`:
//! SQLite's one writer is the queue's lock.

use crate::audit::insert_audit;
use crate::payment_rows::{date_text, parse_date};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_counter::{QueuePrefix, TicketNumber, TicketSource, serving_order};
use madoguchi_domain::{
    AccountId, DepartmentId, ErrorCode, OfficeId, QueueId, ReservationId, RoomId, TenantId,
    TicketId,
};
use madoguchi_storage::{
    ConsultationRecord, CounterQueue, CounterStore, NewAuditEntry, NewCounterQueue, NewTicket,
    StorageError, StorageResult, Ticket, TicketIssue, TicketMove, decide_ticket_move,
    ticket_status_columns, ticket_status_from_columns, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::{Date, Duration, OffsetDateTime};

fn rule(code: ErrorCode) -> StorageError {
    StorageError::CounterRule(code)
}

fn queue_from_row(row: &SqliteRow) -> StorageResult<CounterQueue> {
    Ok(CounterQueue {
        id: QueueId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        department: DepartmentId(get_uuid(row, "department_id")?),
        prefix: QueuePrefix::try_from(get_string(row, "prefix")?)
            .map_err(|_| corrupt("queue prefix"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        accepting: row.try_get::<i64, _>("accepting").map_err(map_err)? != 0,
        created_at: get_instant(row, "created_at")?,
    })
}

fn ticket_from_row(row: &SqliteRow, prefix: QueuePrefix) -> StorageResult<Ticket> {
    let sequence: i64 = row.try_get("sequence").map_err(map_err)?;
    let requeued_at = get_opt_instant(row, "requeued_at")?;
    let outcome: Option<String> = row.try_get("outcome").map_err(map_err)?;
    Ok(Ticket {
        id: TicketId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        queue: QueueId(get_uuid(row, "queue_id")?),
        number: u16::try_from(sequence)
            .ok()
            .and_then(|s| TicketNumber::new(prefix, s))
            .ok_or_else(|| corrupt("ticket number"))?,
        service_day: parse_date(&get_string(row, "service_day")?)?,
        source: TicketSource::parse(&get_string(row, "source")?)
            .ok_or_else(|| corrupt("ticket source"))?,
        status: ticket_status_from_columns(
            &get_string(row, "status")?,
            row.try_get("calls").map_err(map_err)?,
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
fn record_from_row(row: &SqliteRow) -> StorageResult<Option<ConsultationRecord>> {
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

pub(crate) async fn queue_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: QueueId,
) -> StorageResult<CounterQueue> {
    let row = sqlx::query("SELECT * FROM counter_queues WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    queue_from_row(&row)
}

pub(crate) async fn ticket_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: TicketId,
) -> StorageResult<Ticket> {
    let row = sqlx::query(
        "SELECT t.*, q.prefix FROM counter_tickets t JOIN counter_queues q ON q.id = t.queue_id
         WHERE t.tenant_id = ? AND t.id = ?",
    )
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(id.0))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let prefix =
        QueuePrefix::try_from(get_string(&row, "prefix")?).map_err(|_| corrupt("queue prefix"))?;
    ticket_from_row(&row, prefix)
}

async fn open_tickets_in(
    conn: &mut SqliteConnection,
    queue: &CounterQueue,
) -> StorageResult<Vec<Ticket>> {
    let rows = sqlx::query(
        "SELECT * FROM counter_tickets WHERE tenant_id = ? AND queue_id = ? AND status <> 'finished'
         ORDER BY issued_at, id",
    )
    .bind(uuid_text(queue.tenant_id.0))
    .bind(uuid_text(queue.id.0))
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| ticket_from_row(row, queue.prefix))
        .collect()
}

/// Writes a ticket's status and move columns.
pub(crate) async fn write_move(
    conn: &mut SqliteConnection,
    ticket: &Ticket,
    status: madoguchi_counter::TicketStatus,
    columns: &madoguchi_storage::TicketMoveColumns,
    at: OffsetDateTime,
) -> StorageResult<()> {
    let (name, calls, outcome) = ticket_status_columns(status);
    sqlx::query(
        "UPDATE counter_tickets SET status = ?, calls = ?, outcome = ?, called_by = ?, called_at = ?,
             requeued_at = ?, answered_at = ?, finished_at = ?, room_id = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(name)
    .bind(calls)
    .bind(outcome)
    .bind(columns.called_by.map(|a| uuid_text(a.0)))
    .bind(columns.called_at.map(to_unix_micros))
    .bind(columns.requeued_at.map(to_unix_micros))
    .bind(columns.answered_at.map(to_unix_micros))
    .bind(columns.finished_at.map(to_unix_micros))
    .bind(columns.room.map(|r| uuid_text(r.0)))
    .bind(to_unix_micros(at))
    .bind(uuid_text(ticket.id.0))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    // A finished ticket's consultation is over: its room ends with it.
    if let (madoguchi_counter::TicketStatus::Finished { .. }, Some(room)) = (status, columns.room) {
        sqlx::query(
            "UPDATE counter_rooms SET state = 'ended', ended_at = ?1, updated_at = ?1
             WHERE id = ?2 AND state <> 'ended'",
        )
        .bind(to_unix_micros(at))
        .bind(uuid_text(room.0))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

fn targeted(audit: &NewAuditEntry, ticket: TicketId) -> NewAuditEntry {
    NewAuditEntry {
        target: Some(ticket.to_string()),
        ..audit.clone()
    }
}

#[async_trait]
impl CounterStore for SqliteStorage {
    async fn create_queue(
        &self,
        tenant: TenantId,
        new: &NewCounterQueue,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<CounterQueue> {
        let mut tx = self.begin_immediate().await?;
        let (prefix_taken, department_has): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM counter_queues WHERE tenant_id = ?1 AND prefix = ?2),
                    (SELECT count(*) FROM counter_queues WHERE tenant_id = ?1 AND department_id = ?3)",
        )
        .bind(uuid_text(tenant.0))
        .bind(String::from(new.prefix))
        .bind(uuid_text(new.department.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if department_has > 0 {
            return Err(rule(ErrorCode::QueueExists));
        }
        if prefix_taken > 0 {
            return Err(rule(ErrorCode::QueuePrefixTaken));
        }
        let id = QueueId::new();
        sqlx::query(
            "INSERT INTO counter_queues (id, tenant_id, department_id, prefix, name_ja, name_en, accepting, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.department.0))
        .bind(String::from(new.prefix))
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(to_unix_micros(at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let audit = NewAuditEntry {
            target: Some(id.to_string()),
            ..audit.clone()
        };
        insert_audit(&mut *tx, tenant, &audit).await?;
        let queue = queue_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(queue)
    }

    async fn queue(&self, tenant: TenantId, id: QueueId) -> StorageResult<CounterQueue> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        queue_in(&mut conn, tenant, id).await
    }

    async fn list_queues(&self, tenant: TenantId) -> StorageResult<Vec<CounterQueue>> {
        let rows = sqlx::query("SELECT * FROM counter_queues WHERE tenant_id = ? ORDER BY prefix")
            .bind(uuid_text(tenant.0))
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
        let mut tx = self.begin_immediate().await?;
        let updated = sqlx::query(
            "UPDATE counter_queues SET accepting = ? WHERE tenant_id = ? AND id = ? AND accepting <> ?",
        )
        .bind(i64::from(accepting))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .bind(i64::from(accepting))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let queue = queue_in(&mut tx, tenant, id).await?;
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
        let mut tx = self.begin_immediate().await?;
        let queue = queue_in(&mut tx, tenant, new.queue).await?;
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
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT last_sequence FROM counter_ticket_counters WHERE queue_id = ? AND service_day = ?",
        )
        .bind(uuid_text(queue.id.0))
        .bind(date_text(service_day))
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
            "INSERT INTO counter_ticket_counters (queue_id, service_day, last_sequence) VALUES (?, ?, ?)
             ON CONFLICT (queue_id, service_day) DO UPDATE SET last_sequence = excluded.last_sequence",
        )
        .bind(uuid_text(queue.id.0))
        .bind(date_text(service_day))
        .bind(sequence)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let id = TicketId::new();
        sqlx::query(
            "INSERT INTO counter_tickets (id, tenant_id, queue_id, service_day, sequence, source, status,
                 calls, resident_account_id, reservation_id, office_id, appointment_at, issued_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'waiting', 0, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(queue.id.0))
        .bind(date_text(service_day))
        .bind(i64::from(number.sequence()))
        .bind(new.source.as_str())
        .bind(new.resident.map(|a| uuid_text(a.0)))
        .bind(new.reservation.map(|r| uuid_text(r.0)))
        .bind(new.office.map(|o| uuid_text(o.0)))
        .bind(new.appointment_at.map(to_unix_micros))
        .bind(to_unix_micros(at))
        .bind(to_unix_micros(at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, tenant, &targeted(audit, id)).await?;
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
        let queue = queue_in(&mut conn, tenant, queue).await?;
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
        let mut tx = self.begin_immediate().await?;
        let queue = queue_in(&mut tx, tenant, queue).await?;
        let open = open_tickets_in(&mut tx, &queue).await?;
        let waiting: Vec<_> = open
            .iter()
            .filter(|t| matches!(t.status, madoguchi_counter::TicketStatus::Waiting { .. }))
            .map(Ticket::queue_entry)
            .collect();
        let order = serving_order(&waiting, at);
        let Some(next) = order.next() else {
            return Ok(None);
        };
        let Some(ticket) = open.iter().find(|t| t.id == next.ticket) else {
            return Ok(None);
        };
        let change = TicketMove {
            event: madoguchi_counter::TicketEvent::Call,
            by: Some(specialist),
            room: None,
        };
        let (status, columns) = decide_ticket_move(ticket, &change, at).map_err(rule)?;
        write_move(&mut tx, ticket, status, &columns, at).await?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket.id)).await?;
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
        let mut tx = self.begin_immediate().await?;
        let current = ticket_in(&mut tx, tenant, ticket).await?;
        let (status, columns) = decide_ticket_move(&current, change, at).map_err(rule)?;
        write_move(&mut tx, &current, status, &columns, at).await?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket)).await?;
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
        let mut tx = self.begin_immediate().await?;
        let current = ticket_in(&mut tx, tenant, ticket).await?;
        if !madoguchi_counter::may_record(current.status) {
            return Err(rule(ErrorCode::TicketStateConflict));
        }
        sqlx::query(
            "UPDATE counter_tickets SET result = ?1, notes = ?2, recorded_by = ?3, recorded_at = ?4,
                 updated_at = ?4
             WHERE tenant_id = ?5 AND id = ?6",
        )
        .bind(record.result.as_str())
        .bind(record.notes.as_deref())
        .bind(uuid_text(record.by.0))
        .bind(to_unix_micros(record.at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(ticket.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut *tx, tenant, &targeted(audit, ticket)).await?;
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
        queue_in(&mut conn, tenant, queue).await?;
        let query = if on {
            sqlx::query(
                "INSERT INTO counter_duty (tenant_id, queue_id, account_id, since) VALUES (?, ?, ?, ?)
                 ON CONFLICT (queue_id, account_id) DO NOTHING",
            )
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(queue.0))
            .bind(uuid_text(account.0))
            .bind(to_unix_micros(at))
        } else {
            sqlx::query(
                "DELETE FROM counter_duty WHERE tenant_id = ? AND queue_id = ? AND account_id = ?",
            )
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(queue.0))
            .bind(uuid_text(account.0))
        };
        query.execute(&mut *conn).await.map_err(map_err)?;
        Ok(())
    }

    async fn on_duty(&self, tenant: TenantId, queue: QueueId) -> StorageResult<Vec<AccountId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM counter_duty WHERE tenant_id = ? AND queue_id = ? ORDER BY since, account_id",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(queue.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        ids.iter()
            .map(|id| {
                uuid::Uuid::parse_str(id)
                    .map(AccountId)
                    .map_err(|_| corrupt("account id"))
            })
            .collect()
    }

    async fn recent_handling(
        &self,
        tenant: TenantId,
        queue: QueueId,
        limit: i64,
    ) -> StorageResult<Vec<Duration>> {
        let spans: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT answered_at, finished_at FROM counter_tickets
             WHERE tenant_id = ? AND queue_id = ? AND outcome = 'done' AND answered_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(queue.0))
        .bind(limit.clamp(0, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(spans
            .into_iter()
            .map(|(from, to)| Duration::microseconds(to.saturating_sub(from).max(0)))
            .collect())
    }
}
