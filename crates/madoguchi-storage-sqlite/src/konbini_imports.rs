//! The agency's payment data on SQLite: every chunk runs in `BEGIN IMMEDIATE`, so the slips,
//! receivables and earlier lines a line is decided on cannot change before its payment, its
//! posting and its record are written; the unique identity makes a line apply once.

use crate::payment_rows::{accounting_date, date_text, receivable_from_row};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, PaymentId, ReceivableId, TenantId};
use madoguchi_konbini::apply::Exception;
use madoguchi_konbini::dsk::{PaymentRecord, RecordKind};
use madoguchi_payments::PaymentStatus;
use madoguchi_storage::konbini_chunk::{
    ChunkKeys, ChunkSnapshot, ChunkWrites, OwedRef, PostedRef, SlipRef, closure_text, plan_chunk,
    record_kind_of, record_kind_text,
};
use madoguchi_storage::{
    ChunkOutcome, ImportStart, KonbiniImport, KonbiniImportStore, KonbiniUpload, NewAuditEntry,
    NewKonbiniImport, NewKonbiniUpload, StorageError, StorageResult, StoredPaymentLine,
    UploadState, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

fn kind_of(raw: &str) -> StorageResult<RecordKind> {
    record_kind_of(raw).ok_or_else(|| corrupt("payment line kind"))
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

/// Reads what a chunk's lines name (see `madoguchi_storage::konbini_chunk`): each set in one
/// statement, its keys passed as one JSON array. Where a row is found by its own id, the
/// tenant is checked with `+tenant_id`, which keeps SQLite's planner (no statistics) from
/// walking the city's tenant index instead of the key: one lookup per key, not a scan.
async fn load_snapshot(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    keys: &ChunkKeys,
) -> StorageResult<ChunkSnapshot> {
    let tenant_text = uuid_text(tenant.0);
    let identities = json_text(&keys.identities)?;
    let stored = sqlx::query_scalar(
        "SELECT identity FROM konbini_records
         WHERE tenant_id = ? AND identity IN (SELECT value FROM json_each(?))",
    )
    .bind(&tenant_text)
    .bind(identities)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .into_iter()
    .collect();
    let mut snapshot = ChunkSnapshot {
        stored,
        ..ChunkSnapshot::default()
    };
    let rows = sqlx::query(
        "SELECT barcode, id, receivable_id, amount_yen FROM konbini_slips
         WHERE tenant_id = ? AND barcode IN (SELECT value FROM json_each(?))",
    )
    .bind(&tenant_text)
    .bind(json_text(&keys.barcodes)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        snapshot.slips.insert(
            get_string(&row, "barcode")?,
            SlipRef {
                id: get_uuid(&row, "id")?,
                receivable: ReceivableId(get_uuid(&row, "receivable_id")?),
                amount_yen: row.try_get("amount_yen").map_err(map_err)?,
            },
        );
    }
    let rows = sqlx::query(
        "SELECT payment_key, id, slip_id, receivable_id, payment_id, amount_yen, cancelled_at
         FROM konbini_records
         WHERE tenant_id = ? AND payment_key IN (SELECT value FROM json_each(?))
           AND (payment_id IS NOT NULL OR entry_id IS NOT NULL)
         ORDER BY line_no, id",
    )
    .bind(&tenant_text)
    .bind(json_text(&keys.payment_keys)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        let posted = PostedRef {
            id: get_uuid(&row, "id")?,
            slip: get_opt_uuid(&row, "slip_id")?,
            receivable: get_opt_uuid(&row, "receivable_id")?.map(ReceivableId),
            payment: get_opt_uuid(&row, "payment_id")?.map(PaymentId),
            amount_yen: row.try_get("amount_yen").map_err(map_err)?,
            cancelled: row
                .try_get::<Option<i64>, _>("cancelled_at")
                .map_err(map_err)?
                .is_some(),
        };
        snapshot
            .posted
            .entry(get_string(&row, "payment_key")?)
            .or_insert(posted);
    }
    let named: Vec<String> = snapshot
        .receivables_named()
        .into_iter()
        .map(|id| uuid_text(id.0))
        .collect();
    let rows = sqlx::query(
        "SELECT * FROM receivables WHERE +tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
    )
    .bind(&tenant_text)
    .bind(json_text(&named)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        let receivable = receivable_from_row(&row)?;
        snapshot.receivables.insert(
            receivable.id,
            OwedRef {
                state: receivable.state(),
                payer_account: receivable.payer_account,
            },
        );
    }
    let slips: Vec<String> = snapshot.slip_ids().into_iter().map(uuid_text).collect();
    let rows = sqlx::query(
        "SELECT slip_id, count(*) AS live FROM konbini_records
         WHERE +tenant_id = ? AND slip_id IN (SELECT value FROM json_each(?))
           AND payment_id IS NOT NULL AND cancelled_at IS NULL
         GROUP BY slip_id",
    )
    .bind(&tenant_text)
    .bind(json_text(&slips)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        snapshot.live_payments_of_slip.insert(
            get_uuid(&row, "slip_id")?,
            row.try_get("live").map_err(map_err)?,
        );
    }
    Ok(snapshot)
}

fn json_text<T: ?Sized + serde::Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(|_| corrupt("a chunk's keys"))
}

/// Writes what `plan_chunk` decided, each table in one statement whose rows are one JSON
/// array (so the statement's text, and its prepared form, is the same for every chunk).
async fn write_chunk(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    import: Uuid,
    writes: &ChunkWrites,
    at: OffsetDateTime,
) -> StorageResult<()> {
    use serde_json::{Value, json};
    let tenant_text = uuid_text(tenant.0);
    let micros = to_unix_micros(at);
    async fn run(
        conn: &mut SqliteConnection,
        sql: &'static str,
        tenant: &str,
        micros: i64,
        rows: Vec<Value>,
    ) -> StorageResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(sql)
            .bind(tenant)
            .bind(micros)
            .bind(json_text(&rows)?)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }
    let payments = writes
        .payments
        .iter()
        .map(|p| {
            json!([
                uuid_text(p.id.0),
                uuid_text(p.receivable.0),
                p.amount_yen,
                p.payer_account.map(|a| uuid_text(a.0))
            ])
        })
        .collect();
    // ?1 tenant, ?2 the instant, ?3 the rows.
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO payments (id, tenant_id, receivable_id, provider, method, channel, amount_yen, status,
            idempotency_key, last_signal_at, payer_account_id, created_by_kind, created_at, updated_at)
         SELECT r->>0, ?1, r->>1, 'konbini_agency', 'konbini_slip', 'konbini', r->>2, 'succeeded',
            'madoguchi-payment-' || (r->>0), ?2, r->>3, 'system', ?2, ?2
         FROM j",
        &tenant_text,
        micros,
        payments,
    )
    .await?;
    let transitions = writes
        .transitions
        .iter()
        .map(|t| {
            json!([
                uuid_text(t.id),
                uuid_text(t.payment.0),
                t.from.map(PaymentStatus::as_str),
                t.to.as_str(),
                t.source
            ])
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO payment_transitions (id, tenant_id, payment_id, at, from_status, to_status, source)
         SELECT r->>0, ?1, r->>1, ?2, r->>2, r->>3, r->>4 FROM j",
        &tenant_text,
        micros,
        transitions,
    )
    .await?;
    let events = writes
        .events
        .iter()
        .map(|e| {
            json!([
                uuid_text(e.id),
                uuid_text(e.receivable.0),
                e.amount_yen,
                uuid_text(e.payment.0),
                e.reason
            ])
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO receivable_events (id, tenant_id, receivable_id, at, kind, amount_yen, payment_id, reason)
         SELECT r->>0, ?1, r->>1, ?2, 'payment', r->>2, r->>3, r->>4 FROM j",
        &tenant_text,
        micros,
        events,
    )
    .await?;
    // The ledger: every entry's lines first, then the entries that seal them.
    let lines = writes
        .postings
        .iter()
        .flat_map(|p| {
            p.posting
                .lines()
                .iter()
                .enumerate()
                .map(|(line_no, line)| {
                    json!([
                        uuid_text(p.id.0),
                        line_no,
                        line.account.name(),
                        line.amount_yen
                    ])
                })
                .collect::<Vec<_>>()
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
         SELECT r->>0, r->>1, ?1, r->>2, r->>3 FROM j WHERE ?2 IS NOT NULL",
        &tenant_text,
        micros,
        lines,
    )
    .await?;
    let day = date_text(accounting_date(at));
    let entries = writes
        .postings
        .iter()
        .map(|p| {
            json!([
                uuid_text(p.id.0),
                p.posting.kind().as_str(),
                p.receivable.map(|r| uuid_text(r.0)),
                p.payment.map(|p| uuid_text(p.0)),
                day
            ])
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO ledger_entries (id, tenant_id, posted_at, accounting_date, kind, receivable_id, payment_id)
         SELECT r->>0, ?1, ?2, r->>4, r->>1, r->>2, r->>3 FROM j",
        &tenant_text,
        micros,
        entries,
    )
    .await?;
    let import_text = uuid_text(import);
    let records = writes
        .records
        .iter()
        .map(|r| {
            json!([
                uuid_text(r.id),
                import_text,
                r.line_no,
                r.identity,
                r.payment_key,
                record_kind_text(r.kind),
                r.barcode,
                r.slip.map(uuid_text),
                r.receivable.map(|id| uuid_text(id.0)),
                r.amount_yen,
                to_unix_micros(r.paid_at),
                r.chain,
                r.store_code,
                r.transfer_on.map(date_text),
                r.payment.map(|p| uuid_text(p.0)),
                r.entry.map(|e| uuid_text(e.0)),
                r.exception.map(Exception::code),
                r.confirmed,
                r.cancelled
            ])
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         INSERT INTO konbini_records (id, tenant_id, import_id, line_no, identity, payment_key, kind, barcode,
            slip_id, receivable_id, amount_yen, paid_at, chain, store_code, transfer_on, payment_id, entry_id,
            exception, confirmed_at, cancelled_at)
         SELECT r->>0, ?1, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6,
            r->>7, r->>8, r->>9, r->>10, r->>11, r->>12, r->>13, r->>14,
            r->>15, r->>16,
            CASE WHEN r->>17 THEN ?2 END, CASE WHEN r->>18 THEN ?2 END
         FROM j",
        &tenant_text,
        micros,
        records,
    )
    .await?;
    let receivables = writes
        .receivables
        .iter()
        .map(|(id, state)| {
            json!([
                uuid_text(id.0),
                state.assessed_yen,
                state.paid_yen,
                closure_text(state),
                state.status().as_str()
            ])
        })
        .collect();
    run(
        conn,
        "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?3))
         UPDATE receivables SET assessed_yen = v.assessed, paid_yen = v.paid, closure = v.closure,
            status = v.status, updated_at = ?2
         FROM (SELECT r->>0 AS id, r->>1 AS assessed, r->>2 AS paid, r->>3 AS closure,
                      r->>4 AS status
               FROM j) AS v
         WHERE +receivables.tenant_id = ?1 AND receivables.id = v.id",
        &tenant_text,
        micros,
        receivables,
    )
    .await?;
    let ids = |ids: &[Uuid]| ids.iter().map(|id| json!(uuid_text(*id))).collect();
    run(
        conn,
        "UPDATE konbini_records SET confirmed_at = ?2
         WHERE +tenant_id = ?1 AND id IN (SELECT value FROM json_each(?3)) AND confirmed_at IS NULL",
        &tenant_text,
        micros,
        ids(&writes.confirm_stored),
    )
    .await?;
    run(
        conn,
        "UPDATE konbini_records SET cancelled_at = ?2
         WHERE +tenant_id = ?1 AND id IN (SELECT value FROM json_each(?3))",
        &tenant_text,
        micros,
        ids(&writes.cancel_stored),
    )
    .await?;
    let cancelled: Vec<Uuid> = writes.cancel_payments.iter().map(|p| p.0).collect();
    run(
        conn,
        "UPDATE payments SET status = 'canceled', updated_at = ?2
         WHERE +tenant_id = ?1 AND id IN (SELECT value FROM json_each(?3))",
        &tenant_text,
        micros,
        ids(&cancelled),
    )
    .await?;
    Ok(())
}

const UPLOAD_COLUMNS: &str = "id, file_name, checksum, lines, uploaded_by, uploaded_at, state, claimed_at, import_id, problem";

fn upload_from_row(row: &SqliteRow) -> StorageResult<KonbiniUpload> {
    Ok(KonbiniUpload {
        id: get_uuid(row, "id")?,
        file_name: get_string(row, "file_name")?,
        checksum: get_string(row, "checksum")?,
        lines: row.try_get("lines").map_err(map_err)?,
        uploaded_by: get_opt_uuid(row, "uploaded_by")?.map(AccountId),
        uploaded_at: get_instant(row, "uploaded_at")?,
        state: UploadState::parse(&get_string(row, "state")?)
            .ok_or_else(|| corrupt("upload state"))?,
        claimed_at: get_opt_instant(row, "claimed_at")?,
        import: get_opt_uuid(row, "import_id")?,
        problem: row.try_get("problem").map_err(map_err)?,
    })
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
        let keys = ChunkKeys::of(records);
        let mut snapshot = load_snapshot(&mut tx, tenant, &keys).await?;
        let (writes, outcome) = plan_chunk(&mut snapshot, records)?;
        write_chunk(&mut tx, tenant, import, &writes, at).await?;
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

    async fn konbini_import_by_checksum(
        &self,
        tenant: TenantId,
        checksum: &str,
    ) -> StorageResult<Option<KonbiniImport>> {
        sqlx::query("SELECT * FROM konbini_imports WHERE tenant_id = ? AND checksum = ?")
            .bind(uuid_text(tenant.0))
            .bind(checksum)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(import_from_row)
            .transpose()
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

    async fn preview_konbini_records(
        &self,
        tenant: TenantId,
        records: &[(u64, PaymentRecord)],
    ) -> StorageResult<ChunkOutcome> {
        // A read transaction: one consistent view, nothing written.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let keys = ChunkKeys::of(records);
        let mut snapshot = load_snapshot(&mut tx, tenant, &keys).await?;
        let (_, outcome) = plan_chunk(&mut snapshot, records)?;
        tx.rollback().await.map_err(map_err)?;
        Ok(outcome)
    }

    async fn save_konbini_upload(
        &self,
        tenant: TenantId,
        new: &NewKonbiniUpload,
    ) -> StorageResult<KonbiniUpload> {
        sqlx::query(
            "INSERT INTO konbini_uploads (id, tenant_id, file_name, content, checksum, lines, uploaded_by,
                uploaded_at, state)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'previewed')",
        )
        .bind(uuid_text(new.id))
        .bind(uuid_text(tenant.0))
        .bind(&new.file_name)
        .bind(&new.content)
        .bind(&new.checksum)
        .bind(new.lines)
        .bind(new.uploaded_by.map(|a| uuid_text(a.0)))
        .bind(to_unix_micros(new.at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.konbini_upload(tenant, new.id).await
    }

    async fn konbini_upload(&self, tenant: TenantId, id: Uuid) -> StorageResult<KonbiniUpload> {
        let sql =
            format!("SELECT {UPLOAD_COLUMNS} FROM konbini_uploads WHERE tenant_id = ? AND id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        upload_from_row(&row)
    }

    async fn konbini_upload_content(&self, tenant: TenantId, id: Uuid) -> StorageResult<Vec<u8>> {
        sqlx::query_scalar("SELECT content FROM konbini_uploads WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)
    }

    async fn konbini_uploads(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<KonbiniUpload>> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM konbini_uploads WHERE tenant_id = ?
             ORDER BY uploaded_at DESC, id DESC LIMIT ?"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid_text(tenant.0))
            .bind(limit.clamp(1, 500))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(upload_from_row)
            .collect()
    }

    async fn claim_konbini_upload(
        &self,
        tenant: TenantId,
        id: Uuid,
        at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StorageResult<bool> {
        let claimed = sqlx::query(
            "UPDATE konbini_uploads SET state = 'applying', problem = NULL, claimed_at = ?3
             WHERE tenant_id = ?1 AND id = ?2
               AND (state IN ('previewed', 'failed') OR (state = 'applying' AND claimed_at < ?4))",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .bind(to_unix_micros(at))
        .bind(to_unix_micros(stale_before))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn settle_konbini_upload(
        &self,
        tenant: TenantId,
        id: Uuid,
        import: Option<Uuid>,
        problem: Option<&str>,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE konbini_uploads SET state = CASE WHEN ? IS NULL THEN 'applied' ELSE 'failed' END,
                problem = ?, import_id = coalesce(?, import_id)
             WHERE tenant_id = ? AND id = ? AND state = 'applying'",
        )
        .bind(problem)
        .bind(problem)
        .bind(import.map(uuid_text))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
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
            assert_eq!(kind_of(record_kind_text(kind)).ok(), Some(kind));
        }
    }

    /// The bulk payment insert writes these as literals.
    #[test]
    fn the_bulk_payment_insert_names_the_agency_as_stored() {
        use madoguchi_payments::{Method, Provider};
        assert_eq!(Provider::KonbiniAgency.as_str(), "konbini_agency");
        assert_eq!(Method::KonbiniSlip.to_stored(), "konbini_slip");
        assert_eq!(
            Method::KonbiniSlip
                .channel(Provider::KonbiniAgency)
                .as_str(),
            "konbini"
        );
        assert_eq!(PaymentStatus::Succeeded.as_str(), "succeeded");
    }
}
