//! The agency's payment data on PostgreSQL: every chunk first locks the city's slip settings
//! row (`FOR UPDATE`), so chunks of one city run one after the other, and each receivable a
//! line pays is read `FOR UPDATE`; the unique identity makes a line apply once.

use crate::payment_rows::{
    accounting_date, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    receivable_from_row,
};
use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, PaymentId, ReceivableId, TenantId};
use madoguchi_konbini::apply::Exception;
use madoguchi_konbini::dsk::{PaymentRecord, RecordKind};
use madoguchi_payments::{Method, PaymentStatus, Provider};
use madoguchi_storage::konbini_chunk::{
    ChunkKeys, ChunkSnapshot, ChunkWrites, OwedRef, PostedRef, SlipRef, closure_text, plan_chunk,
    record_kind_of, record_kind_text,
};
use madoguchi_storage::{
    ChunkOutcome, ImportStart, KonbiniImport, KonbiniImportStore, KonbiniUpload, NewAuditEntry,
    NewKonbiniImport, NewKonbiniUpload, StorageError, StorageResult, StoredPaymentLine,
    UploadState,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn kind_of(raw: &str) -> StorageResult<RecordKind> {
    record_kind_of(raw).ok_or_else(|| corrupt("payment line kind"))
}

fn import_from_row(row: &PgRow) -> StorageResult<KonbiniImport> {
    Ok(KonbiniImport {
        id: get_uuid(row, "id")?,
        file_name: get_string(row, "file_name")?,
        checksum: get_string(row, "checksum")?,
        lines: get(row, "lines")?,
        done: get_string(row, "state")? == "done",
        applied: get(row, "applied")?,
        sokuho: get(row, "sokuho")?,
        kakuho: get(row, "kakuho")?,
        cancelled: get(row, "cancelled")?,
        exceptions: get(row, "exceptions")?,
        started_at: get_instant(row, "started_at")?,
        finished_at: get_opt_instant(row, "finished_at")?,
    })
}

fn line_from_row(row: &PgRow) -> StorageResult<StoredPaymentLine> {
    let exception: Option<String> = get(row, "exception")?;
    Ok(StoredPaymentLine {
        id: get_uuid(row, "id")?,
        import: get_uuid(row, "import_id")?,
        line_no: get(row, "line_no")?,
        kind: kind_of(&get_string(row, "kind")?)?,
        barcode: get_string(row, "barcode")?,
        slip: get_opt_uuid(row, "slip_id")?,
        receivable: get_opt_uuid(row, "receivable_id")?.map(ReceivableId),
        amount_yen: get(row, "amount_yen")?,
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
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> StorageResult<KonbiniImport> {
    let row = sqlx::query("SELECT * FROM konbini_imports WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    import_from_row(&row)
}

/// Reads what a chunk's lines name (see `madoguchi_storage::konbini_chunk`): each set in one
/// statement over an array of keys; the receivables `FOR UPDATE`, in id order.
async fn load_snapshot(
    conn: &mut PgConnection,
    tenant: TenantId,
    keys: &ChunkKeys,
    lock: bool,
) -> StorageResult<ChunkSnapshot> {
    let stored = sqlx::query_scalar(
        "SELECT identity FROM konbini_records WHERE tenant_id = $1 AND identity = ANY($2)",
    )
    .bind(tenant.0)
    .bind(&keys.identities)
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
         WHERE tenant_id = $1 AND barcode = ANY($2)",
    )
    .bind(tenant.0)
    .bind(&keys.barcodes)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        snapshot.slips.insert(
            get_string(&row, "barcode")?,
            SlipRef {
                id: get_uuid(&row, "id")?,
                receivable: ReceivableId(get_uuid(&row, "receivable_id")?),
                amount_yen: get(&row, "amount_yen")?,
            },
        );
    }
    let rows = sqlx::query(
        "SELECT payment_key, id, slip_id, receivable_id, payment_id, amount_yen, cancelled_at
         FROM konbini_records
         WHERE tenant_id = $1 AND payment_key = ANY($2)
           AND (payment_id IS NOT NULL OR entry_id IS NOT NULL)
         ORDER BY line_no, id",
    )
    .bind(tenant.0)
    .bind(&keys.payment_keys)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        let posted = PostedRef {
            id: get_uuid(&row, "id")?,
            slip: get_opt_uuid(&row, "slip_id")?,
            receivable: get_opt_uuid(&row, "receivable_id")?.map(ReceivableId),
            payment: get_opt_uuid(&row, "payment_id")?.map(PaymentId),
            amount_yen: get(&row, "amount_yen")?,
            cancelled: get::<Option<OffsetDateTime>>(&row, "cancelled_at")?.is_some(),
        };
        snapshot
            .posted
            .entry(get_string(&row, "payment_key")?)
            .or_insert(posted);
    }
    let named: Vec<Uuid> = snapshot
        .receivables_named()
        .into_iter()
        .map(|id| id.0)
        .collect();
    let rows = sqlx::query(if lock {
        "SELECT * FROM receivables WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE"
    } else {
        "SELECT * FROM receivables WHERE tenant_id = $1 AND id = ANY($2)"
    })
    .bind(tenant.0)
    .bind(&named)
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
    let rows = sqlx::query(
        "SELECT slip_id, count(*) AS live FROM konbini_records
         WHERE tenant_id = $1 AND slip_id = ANY($2) AND payment_id IS NOT NULL AND cancelled_at IS NULL
         GROUP BY slip_id",
    )
    .bind(tenant.0)
    .bind(snapshot.slip_ids())
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        snapshot
            .live_payments_of_slip
            .insert(get_uuid(&row, "slip_id")?, get(&row, "live")?);
    }
    Ok(snapshot)
}

/// Writes what `plan_chunk` decided, each table in one statement over arrays of its columns
/// (`UNNEST`), so the statement is the same, and prepared once, for every chunk.
async fn write_chunk(
    conn: &mut PgConnection,
    tenant: TenantId,
    import: Uuid,
    writes: &ChunkWrites,
    at: OffsetDateTime,
) -> StorageResult<()> {
    if !writes.payments.is_empty() {
        let rows = &writes.payments;
        sqlx::query(
            "INSERT INTO payments (id, tenant_id, receivable_id, provider, method, channel, amount_yen, status,
                idempotency_key, last_signal_at, payer_account_id, created_by_kind, created_at, updated_at)
             SELECT v.id, $1, v.receivable, $3, $4, $5, v.amount, $6,
                'madoguchi-payment-' || v.id::text, $2, v.payer, 'system', $2, $2
             FROM UNNEST($7::uuid[], $8::uuid[], $9::bigint[], $10::uuid[]) AS v(id, receivable, amount, payer)",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(Provider::KonbiniAgency.as_str())
        .bind(Method::KonbiniSlip.to_stored())
        .bind(Method::KonbiniSlip.channel(Provider::KonbiniAgency).as_str())
        .bind(PaymentStatus::Succeeded.as_str())
        .bind(rows.iter().map(|p| p.id.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.receivable.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.amount_yen).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.payer_account.map(|a| a.0)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !writes.transitions.is_empty() {
        let rows = &writes.transitions;
        sqlx::query(
            "INSERT INTO payment_transitions (id, tenant_id, payment_id, at, from_status, to_status, source)
             SELECT v.id, $1, v.payment, $2, v.from_status, v.to_status, v.source
             FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[])
                  AS v(id, payment, from_status, to_status, source)",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(rows.iter().map(|t| t.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|t| t.payment.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|t| t.from.map(PaymentStatus::as_str)).collect::<Vec<_>>())
        .bind(rows.iter().map(|t| t.to.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|t| t.source).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !writes.events.is_empty() {
        let rows = &writes.events;
        sqlx::query(
            "INSERT INTO receivable_events (id, tenant_id, receivable_id, at, kind, amount_yen, payment_id, reason)
             SELECT v.id, $1, v.receivable, $2, 'payment', v.amount, v.payment, v.reason
             FROM UNNEST($3::uuid[], $4::uuid[], $5::bigint[], $6::uuid[], $7::text[])
                  AS v(id, receivable, amount, payment, reason)",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(rows.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|e| e.receivable.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|e| e.amount_yen).collect::<Vec<_>>())
        .bind(rows.iter().map(|e| e.payment.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|e| e.reason).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !writes.postings.is_empty() {
        // The ledger: every entry's lines first, then the entries that seal them.
        let mut entry_ids = Vec::new();
        let mut line_nos = Vec::new();
        let mut accounts = Vec::new();
        let mut amounts = Vec::new();
        for posting in &writes.postings {
            for (line_no, line) in posting.posting.lines().iter().enumerate() {
                entry_ids.push(posting.id.0);
                line_nos.push(i32::try_from(line_no).unwrap_or(i32::MAX));
                accounts.push(line.account.name());
                amounts.push(line.amount_yen);
            }
        }
        sqlx::query(
            "INSERT INTO ledger_lines (entry_id, line_no, tenant_id, account, amount_yen)
             SELECT v.entry, v.line_no, $1, v.account, v.amount
             FROM UNNEST($2::uuid[], $3::int[], $4::text[], $5::bigint[]) AS v(entry, line_no, account, amount)",
        )
        .bind(tenant.0)
        .bind(entry_ids)
        .bind(line_nos)
        .bind(accounts)
        .bind(amounts)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        let rows = &writes.postings;
        sqlx::query(
            "INSERT INTO ledger_entries (id, tenant_id, posted_at, accounting_date, kind, receivable_id, payment_id)
             SELECT v.id, $1, $2, $3, v.kind, v.receivable, v.payment
             FROM UNNEST($4::uuid[], $5::text[], $6::uuid[], $7::uuid[]) AS v(id, kind, receivable, payment)",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(accounting_date(at))
        .bind(rows.iter().map(|p| p.id.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.posting.kind().as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.receivable.map(|r| r.0)).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.payment.map(|p| p.0)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !writes.records.is_empty() {
        let rows = &writes.records;
        sqlx::query(
            "INSERT INTO konbini_records (id, tenant_id, import_id, line_no, identity, payment_key, kind, barcode,
                slip_id, receivable_id, amount_yen, paid_at, chain, store_code, transfer_on, payment_id, entry_id,
                exception, confirmed_at, cancelled_at)
             SELECT v.id, $1, $3, v.line_no, v.identity, v.payment_key, v.kind, v.barcode,
                v.slip, v.receivable, v.amount, v.paid_at, v.chain, v.store_code, v.transfer_on, v.payment,
                v.entry, v.exception,
                CASE WHEN v.confirmed THEN $2::timestamptz END, CASE WHEN v.cancelled THEN $2::timestamptz END
             FROM UNNEST($4::uuid[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
                         $10::uuid[], $11::uuid[], $12::bigint[], $13::timestamptz[], $14::text[], $15::text[],
                         $16::date[], $17::uuid[], $18::uuid[], $19::text[], $20::bool[], $21::bool[])
                  AS v(id, line_no, identity, payment_key, kind, barcode, slip, receivable, amount, paid_at,
                       chain, store_code, transfer_on, payment, entry, exception, confirmed, cancelled)",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(import)
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.line_no).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.identity.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.payment_key.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| record_kind_text(r.kind)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.barcode.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.slip).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.receivable.map(|id| id.0)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.amount_yen).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.paid_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.chain.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.store_code.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.transfer_on).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.payment.map(|p| p.0)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.entry.map(|e| e.0)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.exception.map(Exception::code)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.confirmed).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cancelled).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !writes.receivables.is_empty() {
        let rows = &writes.receivables;
        sqlx::query(
            "UPDATE receivables r SET assessed_yen = v.assessed, paid_yen = v.paid, closure = v.closure,
                status = v.status, updated_at = $2
             FROM UNNEST($3::uuid[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
                  AS v(id, assessed, paid, closure, status)
             WHERE r.tenant_id = $1 AND r.id = v.id",
        )
        .bind(tenant.0)
        .bind(at)
        .bind(rows.iter().map(|(id, _)| id.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, s)| s.assessed_yen).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, s)| s.paid_yen).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, s)| closure_text(s)).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, s)| s.status().as_str()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    for (sql, ids) in [
        (
            "UPDATE konbini_records SET confirmed_at = $2
             WHERE tenant_id = $1 AND id = ANY($3) AND confirmed_at IS NULL",
            writes.confirm_stored.clone(),
        ),
        (
            "UPDATE konbini_records SET cancelled_at = $2 WHERE tenant_id = $1 AND id = ANY($3)",
            writes.cancel_stored.clone(),
        ),
        (
            "UPDATE payments SET status = 'canceled', updated_at = $2 WHERE tenant_id = $1 AND id = ANY($3)",
            writes.cancel_payments.iter().map(|p| p.0).collect(),
        ),
    ] {
        if ids.is_empty() {
            continue;
        }
        sqlx::query(sql)
            .bind(tenant.0)
            .bind(at)
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

const UPLOAD_COLUMNS: &str = "id, file_name, checksum, lines, uploaded_by, uploaded_at, state, claimed_at, import_id, problem";

fn upload_from_row(row: &PgRow) -> StorageResult<KonbiniUpload> {
    Ok(KonbiniUpload {
        id: get_uuid(row, "id")?,
        file_name: get_string(row, "file_name")?,
        checksum: get_string(row, "checksum")?,
        lines: get(row, "lines")?,
        uploaded_by: get_opt_uuid(row, "uploaded_by")?.map(AccountId),
        uploaded_at: get_instant(row, "uploaded_at")?,
        state: UploadState::parse(&get_string(row, "state")?)
            .ok_or_else(|| corrupt("upload state"))?,
        claimed_at: get_opt_instant(row, "claimed_at")?,
        import: get_opt_uuid(row, "import_id")?,
        problem: get(row, "problem")?,
    })
}

const LINE_COLUMNS: &str =
    "id, import_id, line_no, kind, barcode, slip_id, receivable_id, amount_yen, paid_at,
    chain, store_code, payment_id, exception, confirmed_at, cancelled_at";

#[async_trait]
impl KonbiniImportStore for PgStorage {
    async fn start_konbini_import(
        &self,
        tenant: TenantId,
        new: &NewKonbiniImport,
        audit: &NewAuditEntry,
    ) -> StorageResult<ImportStart> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let existing = sqlx::query(
            "SELECT * FROM konbini_imports WHERE tenant_id = $1 AND checksum = $2 FOR UPDATE",
        )
        .bind(tenant.0)
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
             VALUES ($1, $2, $3, $4, $5, $6, 'applying', $7)",
        )
        .bind(new.id)
        .bind(tenant.0)
        .bind(new.agency.as_str())
        .bind(&new.file_name)
        .bind(&new.checksum)
        .bind(new.lines)
        .bind(new.at)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // One city's chunks run one after the other: two imports at once cannot both decide
        // on the same slip.
        sqlx::query("SELECT 1 FROM konbini_settings WHERE tenant_id = $1 FOR UPDATE")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let current = import_in(&mut tx, tenant, import).await?;
        if current.done {
            return Err(StorageError::SlipRule(ErrorCode::Conflict));
        }
        let keys = ChunkKeys::of(records);
        let mut snapshot = load_snapshot(&mut tx, tenant, &keys, true).await?;
        let (writes, outcome) = plan_chunk(&mut snapshot, records)?;
        write_chunk(&mut tx, tenant, import, &writes, at).await?;
        sqlx::query(
            "UPDATE konbini_imports SET applied = applied + $1, sokuho = sokuho + $2, kakuho = kakuho + $3,
                cancelled = cancelled + $4, exceptions = exceptions + $5 WHERE id = $6",
        )
        .bind(outcome.applied)
        .bind(outcome.sokuho)
        .bind(outcome.kakuho)
        .bind(outcome.cancelled)
        .bind(outcome.exceptions)
        .bind(import)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "UPDATE konbini_imports SET state = 'done', finished_at = $1 WHERE tenant_id = $2 AND id = $3",
        )
        .bind(at)
        .bind(tenant.0)
        .bind(import)
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
        sqlx::query("SELECT * FROM konbini_imports WHERE tenant_id = $1 AND checksum = $2")
            .bind(tenant.0)
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
            "SELECT * FROM konbini_imports WHERE tenant_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.0)
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
            "SELECT {LINE_COLUMNS} FROM konbini_records WHERE tenant_id = $1 AND exception IS NOT NULL
             ORDER BY paid_at, line_no, id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
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
        let mut snapshot = load_snapshot(&mut tx, tenant, &keys, false).await?;
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'previewed')",
        )
        .bind(new.id)
        .bind(tenant.0)
        .bind(&new.file_name)
        .bind(&new.content)
        .bind(&new.checksum)
        .bind(new.lines)
        .bind(new.uploaded_by.map(|a| a.0))
        .bind(new.at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.konbini_upload(tenant, new.id).await
    }

    async fn konbini_upload(&self, tenant: TenantId, id: Uuid) -> StorageResult<KonbiniUpload> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM konbini_uploads WHERE tenant_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        upload_from_row(&row)
    }

    async fn konbini_upload_content(&self, tenant: TenantId, id: Uuid) -> StorageResult<Vec<u8>> {
        sqlx::query_scalar("SELECT content FROM konbini_uploads WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
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
            "SELECT {UPLOAD_COLUMNS} FROM konbini_uploads WHERE tenant_id = $1
             ORDER BY uploaded_at DESC, id DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
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
            "UPDATE konbini_uploads SET state = 'applying', problem = NULL, claimed_at = $3
             WHERE tenant_id = $1 AND id = $2
               AND (state IN ('previewed', 'failed') OR (state = 'applying' AND claimed_at < $4))",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(at)
        .bind(stale_before)
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
            "UPDATE konbini_uploads SET state = CASE WHEN $1::text IS NULL THEN 'applied' ELSE 'failed' END,
                problem = $1, import_id = coalesce($2, import_id)
             WHERE tenant_id = $3 AND id = $4 AND state = 'applying'",
        )
        .bind(problem)
        .bind(import)
        .bind(tenant.0)
        .bind(id)
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
            "SELECT {LINE_COLUMNS} FROM konbini_records WHERE tenant_id = $1 AND barcode = $2
             ORDER BY paid_at, line_no, id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
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
}
