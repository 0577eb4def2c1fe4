//! The agency's payment data on SQLite: every chunk runs in `BEGIN IMMEDIATE`, so the slips,
//! receivables and earlier lines a line is decided on cannot change before its payment, its
//! posting and its record are written; the unique identity makes a line apply once.

use crate::payment_rows::{date_text, receivable_in, rule};
use crate::payments::{
    EntryRefs, Transition, insert_payment, insert_posting, insert_transition,
    save_receivable_change,
};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, PaymentId, ReceivableId, TenantId};
use madoguchi_konbini::apply::{Action, Exception, SlipSeen, SokuhoSeen, decide};
use madoguchi_konbini::dsk::{PaymentRecord, RecordKind};
use madoguchi_payments::{
    Channel, LedgerAccount, Method, PaymentAmount, PaymentStatus, Posting, PostingKind, Provider,
};
use madoguchi_storage::{
    ActorKind, ChunkOutcome, ImportStart, Initiator, KonbiniImport, KonbiniImportStore,
    NewAuditEntry, NewKonbiniImport, NewPayment, Receivable, StorageError, StorageResult,
    StoredPaymentLine, paid_at, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

fn kind_text(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Sokuho => "sokuho",
        RecordKind::Kakuho => "kakuho",
        RecordKind::SokuhoCancel => "sokuho_cancel",
    }
}

fn kind_of(raw: &str) -> StorageResult<RecordKind> {
    match raw {
        "sokuho" => Ok(RecordKind::Sokuho),
        "kakuho" => Ok(RecordKind::Kakuho),
        "sokuho_cancel" => Ok(RecordKind::SokuhoCancel),
        _ => Err(corrupt("payment line kind")),
    }
}

fn import_from_row(row: &SqliteRow) -> StorageResult<KonbiniImport> {
    Ok(KonbiniImport {
        id: get_uuid(row, "id")?,
        file_name: get_string(row, "file_name")?,
        checksum: get_string(row, "checksum")?,
        lines: row.try_get("lines").map_err(map_err)?,
        done: get_string(row, "state")? == "done",
        applied: row.try_get("applied").map_err(map_err)?,
        sokuho: row.try_get("sokuho").map_err(map_err)?,
        kakuho: row.try_get("kakuho").map_err(map_err)?,
        cancelled: row.try_get("cancelled").map_err(map_err)?,
        exceptions: row.try_get("exceptions").map_err(map_err)?,
        started_at: get_instant(row, "started_at")?,
        finished_at: get_opt_instant(row, "finished_at")?,
    })
}

fn line_from_row(row: &SqliteRow) -> StorageResult<StoredPaymentLine> {
    let exception: Option<String> = row.try_get("exception").map_err(map_err)?;
    Ok(StoredPaymentLine {
        id: get_uuid(row, "id")?,
        import: get_uuid(row, "import_id")?,
        line_no: row.try_get("line_no").map_err(map_err)?,
        kind: kind_of(&get_string(row, "kind")?)?,
        barcode: get_string(row, "barcode")?,
        slip: get_opt_uuid(row, "slip_id")?,
        receivable: get_opt_uuid(row, "receivable_id")?.map(ReceivableId),
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        paid_at: get_instant(row, "paid_at")?,
        chain: get_string(row, "chain")?,
        store_code: get_string(row, "store_code")?,
        payment: get_opt_uuid(row, "payment_id")?.map(PaymentId),
        exception: exception
            .map(|code| Exception::parse(&code).ok_or_else(|| corrupt("payment line exception")))
            .transpose()?,
        confirmed_at: get_opt_instant(row, "confirmed_at")?,
        cancelled_at: get_opt_instant(row, "cancelled_at")?,
    })
}

async fn import_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: Uuid,
) -> StorageResult<KonbiniImport> {
    let row = sqlx::query("SELECT * FROM konbini_imports WHERE tenant_id = ? AND id = ?")
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    import_from_row(&row)
}

/// The slip a barcode names: its id, receivable and amount.
struct SlipRow {
    id: Uuid,
    receivable: ReceivableId,
    amount_yen: i64,
}

/// The stored line that took a payment's money in (its 速報, or a 確報 standing in for it).
struct PostedRow {
    id: Uuid,
    receivable: Option<ReceivableId>,
    payment: Option<PaymentId>,
    amount_yen: i64,
    cancelled: bool,
}

/// What a line did, for its record.
#[derive(Default)]
struct Outcome {
    slip: Option<Uuid>,
    receivable: Option<ReceivableId>,
    payment: Option<PaymentId>,
    entry: Option<Uuid>,
    exception: Option<Exception>,
    confirmed: bool,
}

/// Receives `amount_yen` against the slip's receivable (`found`, read in this transaction): a
/// succeeded payment through the convenience-store channel, its transition and the
/// receivable's change with its posting.
async fn receive(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    found: &Receivable,
    amount_yen: i64,
    at: OffsetDateTime,
) -> StorageResult<PaymentId> {
    let receivable = found.id;
    let change = found
        .state()
        .receive(Channel::Konbini, amount_yen)
        .map_err(rule)?;
    let new = NewPayment {
        id: PaymentId::new(),
        receivable,
        provider: Provider::KonbiniAgency,
        method: Method::KonbiniSlip,
        amount: PaymentAmount::new(amount_yen).map_err(rule)?,
        payer_account: found.payer_account,
        initiator: Initiator {
            kind: ActorKind::System,
            account: None,
        },
        office: None,
        client_key: None,
        pay_by: None,
        slip_number: None,
        return_url: None,
        cancel_url: None,
        at,
    };
    insert_payment(conn, tenant, &new, PaymentStatus::Succeeded).await?;
    insert_transition(
        conn,
        tenant,
        new.id,
        Transition {
            from: None,
            to: PaymentStatus::Succeeded,
            source: "konbini_agency",
            event_id: None,
            at,
        },
    )
    .await?;
    save_receivable_change(
        conn,
        tenant,
        found,
        &change,
        "payment",
        amount_yen,
        Some(new.id),
        None,
        None,
        at,
    )
    .await?;
    Ok(new.id)
}

/// Takes the money a cancelled 速報 posted back out.
async fn reverse(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    posted: &PostedRow,
    at: OffsetDateTime,
) -> StorageResult<()> {
    match (posted.receivable, posted.payment) {
        (Some(receivable), Some(payment)) => {
            let found = receivable_in(conn, tenant, receivable).await?;
            let change = found
                .state()
                .reverse_payment(Channel::Konbini, posted.amount_yen)
                .map_err(rule)?;
            // A 'payment' event of a negative amount: the receivable's events record money in
            // and out; this one never arrived after all.
            save_receivable_change(
                conn,
                tenant,
                &found,
                &change,
                "payment",
                -posted.amount_yen,
                Some(payment),
                None,
                Some("速報取消"),
                at,
            )
            .await?;
            sqlx::query("UPDATE payments SET status = 'canceled', updated_at = ? WHERE id = ?")
                .bind(to_unix_micros(at))
                .bind(uuid_text(payment.0))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            insert_transition(
                conn,
                tenant,
                payment,
                Transition {
                    from: Some(PaymentStatus::Succeeded),
                    to: PaymentStatus::Canceled,
                    source: "konbini_cancel",
                    event_id: None,
                    at,
                },
            )
            .await?;
        }
        _ => {
            let posting = Posting::transfer(
                PostingKind::PaymentReversed,
                LedgerAccount::Suspense,
                LedgerAccount::Clearing(Channel::Konbini),
                posted.amount_yen,
            )
            .map_err(|_| rule(ErrorCode::AmountOverLimit))?;
            insert_posting(conn, tenant, &posting, EntryRefs::default(), at).await?;
        }
    }
    sqlx::query("UPDATE konbini_records SET cancelled_at = ? WHERE id = ?")
        .bind(to_unix_micros(at))
        .bind(uuid_text(posted.id))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Decides and applies one line; `None` when it was stored before.
async fn apply_line(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    import: Uuid,
    line_no: u64,
    record: &PaymentRecord,
    at: OffsetDateTime,
) -> StorageResult<Option<Option<Exception>>> {
    let identity = record.identity();
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM konbini_records WHERE tenant_id = ? AND identity = ?")
            .bind(uuid_text(tenant.0))
            .bind(&identity)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
    if stored.is_some() {
        return Ok(None);
    }
    let barcode = record.barcode.to_string();
    let amount_yen = i64::from(record.amount_yen);
    let slip = sqlx::query(
        "SELECT id, receivable_id, amount_yen FROM konbini_slips WHERE tenant_id = ? AND barcode = ?",
    )
    .bind(uuid_text(tenant.0))
    .bind(&barcode)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?
    .map(|row| {
        Ok::<_, StorageError>(SlipRow {
            id: get_uuid(&row, "id")?,
            receivable: ReceivableId(get_uuid(&row, "receivable_id")?),
            amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        })
    })
    .transpose()?;
    let posted = sqlx::query(
        "SELECT id, receivable_id, payment_id, amount_yen, cancelled_at FROM konbini_records
         WHERE tenant_id = ? AND payment_key = ? AND (payment_id IS NOT NULL OR entry_id IS NOT NULL)
         LIMIT 1",
    )
    .bind(uuid_text(tenant.0))
    .bind(record.payment_key())
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?
    .map(|row| {
        Ok::<_, StorageError>(PostedRow {
            id: get_uuid(&row, "id")?,
            receivable: get_opt_uuid(&row, "receivable_id")?.map(ReceivableId),
            payment: get_opt_uuid(&row, "payment_id")?.map(PaymentId),
            amount_yen: row.try_get("amount_yen").map_err(map_err)?,
            cancelled: row
                .try_get::<Option<i64>, _>("cancelled_at")
                .map_err(map_err)?
                .is_some(),
        })
    })
    .transpose()?;
    // The slip's receivable, read once: what it owes decides the line, and it is what a
    // receipt changes.
    let mut owed_by = None;
    let seen = match &slip {
        Some(slip) => {
            let receivable = receivable_in(conn, tenant, slip.receivable).await?;
            let paid_with_slip: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM konbini_records WHERE tenant_id = ? AND slip_id = ?
                   AND payment_id IS NOT NULL AND cancelled_at IS NULL LIMIT 1",
            )
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(slip.id))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
            let seen = SlipSeen {
                amount_yen: slip.amount_yen,
                outstanding_yen: receivable.outstanding_yen(),
                already_paid_with_slip: paid_with_slip.is_some(),
            };
            owed_by = Some(receivable);
            Some(seen)
        }
        None => None,
    };
    let sokuho = posted.as_ref().map(|p| SokuhoSeen {
        cancelled: p.cancelled,
    });
    let mut outcome = Outcome {
        slip: slip.as_ref().map(|s| s.id),
        receivable: slip.as_ref().map(|s| s.receivable),
        ..Outcome::default()
    };
    match decide(record.kind, amount_yen, seen, sokuho) {
        Action::Receive {
            exception,
            confirmed,
        } => {
            let receivable = owed_by
                .as_ref()
                .ok_or_else(|| corrupt("a receipt without its slip"))?;
            outcome.payment = Some(receive(conn, tenant, receivable, amount_yen, at).await?);
            outcome.exception = exception;
            outcome.confirmed = confirmed;
        }
        Action::Suspense {
            exception,
            confirmed,
        } => {
            let posting = Posting::transfer(
                PostingKind::PaymentReceived,
                LedgerAccount::Clearing(Channel::Konbini),
                LedgerAccount::Suspense,
                amount_yen,
            )
            .map_err(|_| rule(ErrorCode::AmountOverLimit))?;
            let entry = insert_posting(conn, tenant, &posting, EntryRefs::default(), at).await?;
            outcome.entry = Some(entry.0);
            outcome.exception = Some(exception);
            outcome.confirmed = confirmed;
        }
        Action::Confirm => {
            if let Some(posted) = &posted {
                sqlx::query(
                    "UPDATE konbini_records SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL",
                )
                .bind(to_unix_micros(at))
                .bind(uuid_text(posted.id))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            }
        }
        Action::Reverse => {
            if let Some(posted) = &posted {
                reverse(conn, tenant, posted, at).await?;
            }
        }
        Action::Flag { exception } => outcome.exception = Some(exception),
        Action::Record => {}
    }
    sqlx::query(
        "INSERT INTO konbini_records (id, tenant_id, import_id, line_no, identity, payment_key, kind, barcode,
            slip_id, receivable_id, amount_yen, paid_at, chain, store_code, transfer_on, payment_id, entry_id,
            exception, confirmed_at, cancelled_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(uuid_text(Uuid::now_v7()))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(import))
    .bind(i64::try_from(line_no).map_err(|_| corrupt("line number"))?)
    .bind(&identity)
    .bind(record.payment_key())
    .bind(kind_text(record.kind))
    .bind(&barcode)
    .bind(outcome.slip.map(uuid_text))
    .bind(outcome.receivable.map(|r| uuid_text(r.0)))
    .bind(amount_yen)
    .bind(to_unix_micros(paid_at(record)))
    .bind(record.chain.code())
    .bind(&record.store_code)
    .bind(record.transfer_on.map(date_text))
    .bind(outcome.payment.map(|p| uuid_text(p.0)))
    .bind(outcome.entry.map(uuid_text))
    .bind(outcome.exception.map(Exception::code))
    .bind(outcome.confirmed.then(|| to_unix_micros(at)))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(Some(outcome.exception))
}

const LINE_COLUMNS: &str =
    "id, import_id, line_no, kind, barcode, slip_id, receivable_id, amount_yen, paid_at,
    chain, store_code, payment_id, exception, confirmed_at, cancelled_at";

#[async_trait]
impl KonbiniImportStore for SqliteStorage {
    async fn start_konbini_import(
        &self,
        tenant: TenantId,
        new: &NewKonbiniImport,
        audit: &NewAuditEntry,
    ) -> StorageResult<ImportStart> {
        let mut tx = self.begin_immediate().await?;
        let existing =
            sqlx::query("SELECT * FROM konbini_imports WHERE tenant_id = ? AND checksum = ?")
                .bind(uuid_text(tenant.0))
                .bind(&new.checksum)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if let Some(row) = existing {
            let found = import_from_row(&row)?;
            tx.commit().await.map_err(map_err)?;
            return Ok(if found.done {
                ImportStart::AlreadyDone(found)
            } else {
                ImportStart::Resume(found)
            });
        }
        sqlx::query(
            "INSERT INTO konbini_imports (id, tenant_id, agency, file_name, checksum, lines, state, started_at)
             VALUES (?, ?, ?, ?, ?, ?, 'applying', ?)",
        )
        .bind(uuid_text(new.id))
        .bind(uuid_text(tenant.0))
        .bind(new.agency.as_str())
        .bind(&new.file_name)
        .bind(&new.checksum)
        .bind(new.lines)
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let created = import_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(ImportStart::Fresh(created))
    }

    async fn apply_konbini_records(
        &self,
        tenant: TenantId,
        import: Uuid,
        records: &[(u64, PaymentRecord)],
        at: OffsetDateTime,
    ) -> StorageResult<ChunkOutcome> {
        let mut tx = self.begin_immediate().await?;
        let current = import_in(&mut tx, tenant, import).await?;
        if current.done {
            return Err(StorageError::SlipRule(ErrorCode::Conflict));
        }
        let mut outcome = ChunkOutcome::default();
        for (line_no, record) in records {
            match apply_line(&mut tx, tenant, import, *line_no, record, at).await? {
                Some(exception) => outcome.count(record.kind, exception),
                None => outcome.skipped += 1,
            }
        }
        sqlx::query(
            "UPDATE konbini_imports SET applied = applied + ?, sokuho = sokuho + ?, kakuho = kakuho + ?,
                cancelled = cancelled + ?, exceptions = exceptions + ? WHERE id = ?",
        )
        .bind(outcome.applied)
        .bind(outcome.sokuho)
        .bind(outcome.kakuho)
        .bind(outcome.cancelled)
        .bind(outcome.exceptions)
        .bind(uuid_text(import))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(outcome)
    }

    async fn finish_konbini_import(
        &self,
        tenant: TenantId,
        import: Uuid,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<KonbiniImport> {
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "UPDATE konbini_imports SET state = 'done', finished_at = ? WHERE tenant_id = ? AND id = ?",
        )
        .bind(to_unix_micros(at))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(import))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let done = import_in(&mut tx, tenant, import).await?;
        let mut audit = audit.clone();
        audit.details["applied"] = serde_json::json!(done.applied);
        audit.details["exceptions"] = serde_json::json!(done.exceptions);
        crate::audit::insert_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done)
    }

    async fn konbini_import(&self, tenant: TenantId, import: Uuid) -> StorageResult<KonbiniImport> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        import_in(&mut conn, tenant, import).await
    }

    async fn konbini_imports(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<KonbiniImport>> {
        sqlx::query(
            "SELECT * FROM konbini_imports WHERE tenant_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(import_from_row)
        .collect()
    }

    async fn konbini_exceptions(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<StoredPaymentLine>> {
        let sql = format!(
            "SELECT {LINE_COLUMNS} FROM konbini_records WHERE tenant_id = ? AND exception IS NOT NULL
             ORDER BY paid_at, line_no, id LIMIT ?"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid_text(tenant.0))
            .bind(limit.clamp(1, 1_000))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(line_from_row)
            .collect()
    }

    async fn konbini_lines_of_barcode(
        &self,
        tenant: TenantId,
        barcode: &str,
    ) -> StorageResult<Vec<StoredPaymentLine>> {
        let sql = format!(
            "SELECT {LINE_COLUMNS} FROM konbini_records WHERE tenant_id = ? AND barcode = ?
             ORDER BY paid_at, line_no, id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid_text(tenant.0))
            .bind(barcode)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(line_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [
            RecordKind::Sokuho,
            RecordKind::Kakuho,
            RecordKind::SokuhoCancel,
        ] {
            assert_eq!(kind_of(kind_text(kind)).ok(), Some(kind));
        }
    }
}
