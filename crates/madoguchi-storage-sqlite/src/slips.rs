//! Convenience-store slips on SQLite: issuing and reissuing run in `BEGIN IMMEDIATE`, so the
//! reference counter, the receivables read and the slips in force cannot change before the new
//! slips are written; the partial unique index `konbini_slips_current` keeps one slip in force
//! per receivable whatever happens.

use crate::payment_rows::{date_text, parse_date};
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, ReceivableId, TenantId};
use madoguchi_konbini::{CompanyCode, SlipBarcode};
use madoguchi_payments::RevenueCategoryCode;
use madoguchi_storage::{
    Agency, IssuedBatch, IssuedSlip, KonbiniSettings, NewAuditEntry, NewSlipBatch, SlipBatch,
    SlipReissue, SlipStore, StorageError, StorageResult, plan_batch, slip_barcode, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

const SLIP_COLUMNS: &str =
    "s.id, s.receivable_id, s.reference_no, s.reissue, s.barcode, s.amount_yen, s.due_on,
    s.batch_id, s.issued_at, s.superseded_at, r.category, r.description, r.payer_name";

fn slip_from_row(row: &SqliteRow) -> StorageResult<IssuedSlip> {
    let reissue: i64 = row.try_get("reissue").map_err(map_err)?;
    Ok(IssuedSlip {
        id: get_uuid(row, "id")?,
        receivable: ReceivableId(get_uuid(row, "receivable_id")?),
        reference_no: row.try_get("reference_no").map_err(map_err)?,
        reissue: u8::try_from(reissue).map_err(|_| corrupt("slip reissue"))?,
        barcode: SlipBarcode::parse(&get_string(row, "barcode")?)
            .map_err(|_| corrupt("slip barcode"))?,
        amount_yen: row.try_get("amount_yen").map_err(map_err)?,
        due_on: parse_date(&get_string(row, "due_on")?)?,
        batch: get_opt_uuid(row, "batch_id")?,
        issued_at: get_instant(row, "issued_at")?,
        superseded_at: get_opt_instant(row, "superseded_at")?,
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        description: get_string(row, "description")?,
        payer_name: get_string(row, "payer_name")?,
    })
}

fn batch_from_row(row: &SqliteRow) -> StorageResult<SlipBatch> {
    Ok(SlipBatch {
        id: get_uuid(row, "id")?,
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        cycle: get_string(row, "cycle")?,
        slips: row.try_get("slips").map_err(map_err)?,
        total_yen: row.try_get("total_yen").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
    })
}

async fn settings_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
) -> StorageResult<Option<KonbiniSettings>> {
    let row = sqlx::query("SELECT company_code, agency FROM konbini_settings WHERE tenant_id = ?")
        .bind(uuid_text(tenant.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    row.map(|row| {
        Ok(KonbiniSettings {
            company_code: CompanyCode::parse(&get_string(&row, "company_code")?)
                .map_err(|_| corrupt("company code"))?,
            agency: Agency::parse(&get_string(&row, "agency")?).ok_or_else(|| corrupt("agency"))?,
        })
    })
    .transpose()
}

/// Takes `count` references from the city's counter; answers the first.
async fn draw_references(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    count: i64,
) -> StorageResult<i64> {
    let next: i64 = sqlx::query_scalar(
        "UPDATE konbini_settings SET next_reference = next_reference + ? WHERE tenant_id = ?
         RETURNING next_reference",
    )
    .bind(count)
    .bind(uuid_text(tenant.0))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(next - count)
}

/// The slips matching `condition` (always one of this module's literals, never input) on the
/// value bound after the tenant.
async fn slip_where(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    condition: &str,
    value: String,
) -> StorageResult<Vec<IssuedSlip>> {
    let sql = format!(
        "SELECT {SLIP_COLUMNS} FROM konbini_slips s JOIN receivables r ON r.id = s.receivable_id
         WHERE s.tenant_id = ? AND {condition} ORDER BY s.reference_no, s.reissue"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(uuid_text(tenant.0))
        .bind(value)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?
        .iter()
        .map(slip_from_row)
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn insert_slip(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: Uuid,
    receivable: ReceivableId,
    reference_no: i64,
    barcode: &SlipBarcode,
    amount_yen: i64,
    batch: Option<Uuid>,
    at: time::OffsetDateTime,
) -> StorageResult<()> {
    let fields = barcode.fields();
    let due_on = fields.due.ok_or_else(|| corrupt("slip due date"))?;
    sqlx::query(
        "INSERT INTO konbini_slips (id, tenant_id, receivable_id, reference_no, reissue, barcode, amount_yen,
            due_on, batch_id, issued_at, superseded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(uuid_text(id))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(receivable.0))
    .bind(reference_no)
    .bind(i64::from(fields.reissue))
    .bind(barcode.to_string())
    .bind(amount_yen)
    .bind(date_text(due_on))
    .bind(batch.map(uuid_text))
    .bind(to_unix_micros(at))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl SlipStore for SqliteStorage {
    async fn konbini_settings(&self, tenant: TenantId) -> StorageResult<Option<KonbiniSettings>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        settings_in(&mut conn, tenant).await
    }

    async fn save_konbini_settings(
        &self,
        tenant: TenantId,
        settings: &KonbiniSettings,
        at: time::OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()> {
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO konbini_settings (tenant_id, company_code, agency, next_reference, updated_at)
             VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (tenant_id) DO UPDATE SET company_code = excluded.company_code,
                 agency = excluded.agency, updated_at = excluded.updated_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(settings.company_code.to_string())
        .bind(settings.agency.as_str())
        .bind(to_unix_micros(at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn issue_slips(
        &self,
        tenant: TenantId,
        batch: &NewSlipBatch,
        audit: &NewAuditEntry,
    ) -> StorageResult<IssuedBatch> {
        let mut tx = self.begin_immediate().await?;
        let settings = settings_in(&mut tx, tenant)
            .await?
            .ok_or(StorageError::SlipRule(ErrorCode::SlipsNotConfigured))?;
        let candidates = sqlx::query(
            "SELECT r.id, r.assessed_yen - r.paid_yen AS outstanding, r.due_on
             FROM receivables r
             WHERE r.tenant_id = ? AND r.category = ? AND r.due_on BETWEEN ? AND ?
               AND r.status IN ('open', 'partly_paid') AND r.assessed_yen > r.paid_yen
               AND NOT EXISTS (SELECT 1 FROM konbini_slips s
                               WHERE s.receivable_id = r.id AND s.superseded_at IS NULL)
             ORDER BY r.due_on, r.created_at, r.id",
        )
        .bind(uuid_text(tenant.0))
        .bind(batch.category.as_str())
        .bind(date_text(batch.cycle.first_day()))
        .bind(date_text(batch.cycle.last_day()))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|row| {
            Ok((
                ReceivableId(get_uuid(row, "id")?),
                row.try_get::<i64, _>("outstanding").map_err(map_err)?,
                parse_date(&get_string(row, "due_on")?)?,
            ))
        })
        .collect::<StorageResult<Vec<_>>>()?;
        let plan = plan_batch(&candidates);
        if plan.slips.is_empty() {
            return Err(StorageError::SlipRule(ErrorCode::SlipNothingToIssue));
        }
        let count = i64::try_from(plan.slips.len()).map_err(|_| corrupt("batch size"))?;
        sqlx::query(
            "INSERT INTO slip_batches (id, tenant_id, category, cycle, slips, total_yen, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(batch.id))
        .bind(uuid_text(tenant.0))
        .bind(batch.category.as_str())
        .bind(batch.cycle.to_string())
        .bind(count)
        .bind(plan.total_yen)
        .bind(to_unix_micros(batch.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let first = draw_references(&mut tx, tenant, count).await?;
        for (reference_no, planned) in (first..).zip(&plan.slips) {
            let barcode = slip_barcode(
                &settings,
                reference_no,
                0,
                planned.due_on,
                planned.amount_yen,
            )?;
            insert_slip(
                &mut tx,
                tenant,
                Uuid::now_v7(),
                planned.receivable,
                reference_no,
                &barcode,
                planned.amount_yen,
                Some(batch.id),
                batch.at,
            )
            .await?;
        }
        let mut audit = audit.clone();
        audit.details["slips"] = serde_json::json!(count);
        audit.details["total_yen"] = serde_json::json!(plan.total_yen);
        audit.details["skipped"] = serde_json::json!(plan.skipped.len());
        crate::audit::insert_audit(&mut *tx, tenant, &audit).await?;
        let slips = slip_where(&mut tx, tenant, "s.batch_id = ?", uuid_text(batch.id)).await?;
        let row = sqlx::query("SELECT * FROM slip_batches WHERE id = ?")
            .bind(uuid_text(batch.id))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let stored = batch_from_row(&row)?;
        tx.commit().await.map_err(map_err)?;
        Ok(IssuedBatch {
            batch: stored,
            slips,
            skipped: plan.skipped,
        })
    }

    async fn reissue_slip(
        &self,
        tenant: TenantId,
        reissue: &SlipReissue,
        audit: &NewAuditEntry,
    ) -> StorageResult<IssuedSlip> {
        let mut tx = self.begin_immediate().await?;
        let settings = settings_in(&mut tx, tenant)
            .await?
            .ok_or(StorageError::SlipRule(ErrorCode::SlipsNotConfigured))?;
        let current = slip_where(
            &mut tx,
            tenant,
            "s.receivable_id = ? AND s.superseded_at IS NULL",
            uuid_text(reissue.receivable.0),
        )
        .await?
        .pop()
        .ok_or(StorageError::SlipRule(ErrorCode::SlipNotReissuable))?;
        let receivable =
            crate::payment_rows::receivable_in(&mut tx, tenant, reissue.receivable).await?;
        let planned = madoguchi_storage::plan_reissue(&current, &receivable, reissue)?;
        let barcode = slip_barcode(
            &settings,
            current.reference_no,
            planned.reissue,
            reissue.due_on,
            planned.amount_yen,
        )?;
        sqlx::query("UPDATE konbini_slips SET superseded_at = ? WHERE id = ?")
            .bind(to_unix_micros(reissue.at))
            .bind(uuid_text(current.id))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_slip(
            &mut tx,
            tenant,
            reissue.id,
            reissue.receivable,
            current.reference_no,
            &barcode,
            planned.amount_yen,
            None,
            reissue.at,
        )
        .await?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let slip = slip_where(&mut tx, tenant, "s.id = ?", uuid_text(reissue.id))
            .await?
            .pop()
            .ok_or(StorageError::NotFound)?;
        tx.commit().await.map_err(map_err)?;
        Ok(slip)
    }

    async fn slip_by_barcode(&self, tenant: TenantId, barcode: &str) -> StorageResult<IssuedSlip> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        slip_where(&mut conn, tenant, "s.barcode = ?", barcode.to_owned())
            .await?
            .pop()
            .ok_or(StorageError::NotFound)
    }

    async fn slips_of_receivable(
        &self,
        tenant: TenantId,
        receivable: ReceivableId,
    ) -> StorageResult<Vec<IssuedSlip>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        slip_where(
            &mut conn,
            tenant,
            "s.receivable_id = ?",
            uuid_text(receivable.0),
        )
        .await
    }

    async fn slips_of_batch(
        &self,
        tenant: TenantId,
        batch: Uuid,
    ) -> StorageResult<Vec<IssuedSlip>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        slip_where(&mut conn, tenant, "s.batch_id = ?", uuid_text(batch)).await
    }

    async fn slip_batch(&self, tenant: TenantId, batch: Uuid) -> StorageResult<SlipBatch> {
        let row = sqlx::query("SELECT * FROM slip_batches WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(batch))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        batch_from_row(&row)
    }

    async fn slip_batches(&self, tenant: TenantId, limit: i64) -> StorageResult<Vec<SlipBatch>> {
        sqlx::query(
            "SELECT * FROM slip_batches WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(batch_from_row)
        .collect()
    }
}
