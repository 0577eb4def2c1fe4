//! Convenience-store slips on PostgreSQL: issuing and reissuing first lock the city's settings
//! row (`FOR UPDATE`), which holds the reference counter, so issues and reissues of one city
//! run one after the other; the partial unique index `konbini_slips_current` keeps one slip in
//! force per receivable whatever happens.

use crate::payment_rows::{get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid};
use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, ReceivableId, TenantId};
use madoguchi_konbini::{CompanyCode, SlipBarcode};
use madoguchi_payments::RevenueCategoryCode;
use madoguchi_storage::{
    Agency, IssuedBatch, IssuedSlip, KonbiniSettings, NewAuditEntry, NewSlipBatch, SlipBatch,
    SlipReissue, SlipStore, StorageError, StorageResult, plan_batch, slip_barcode,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

const SLIP_COLUMNS: &str =
    "s.id, s.receivable_id, s.reference_no, s.reissue, s.barcode, s.amount_yen, s.due_on,
    s.batch_id, s.issued_at, s.superseded_at, r.category, r.description, r.payer_name";

fn slip_from_row(row: &PgRow) -> StorageResult<IssuedSlip> {
    let reissue: i32 = get(row, "reissue")?;
    Ok(IssuedSlip {
        id: get_uuid(row, "id")?,
        receivable: ReceivableId(get_uuid(row, "receivable_id")?),
        reference_no: get(row, "reference_no")?,
        reissue: u8::try_from(reissue).map_err(|_| corrupt("slip reissue"))?,
        barcode: SlipBarcode::parse(&get_string(row, "barcode")?)
            .map_err(|_| corrupt("slip barcode"))?,
        amount_yen: get(row, "amount_yen")?,
        due_on: get(row, "due_on")?,
        batch: get_opt_uuid(row, "batch_id")?,
        issued_at: get_instant(row, "issued_at")?,
        superseded_at: get_opt_instant(row, "superseded_at")?,
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        description: get_string(row, "description")?,
        payer_name: get_string(row, "payer_name")?,
    })
}

fn batch_from_row(row: &PgRow) -> StorageResult<SlipBatch> {
    Ok(SlipBatch {
        id: get_uuid(row, "id")?,
        category: RevenueCategoryCode::parse(&get_string(row, "category")?)
            .map_err(|_| corrupt("revenue category"))?,
        cycle: get_string(row, "cycle")?,
        slips: i64::from(get::<i32>(row, "slips")?),
        total_yen: get(row, "total_yen")?,
        created_at: get_instant(row, "created_at")?,
    })
}

async fn settings_in(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> StorageResult<Option<KonbiniSettings>> {
    let row = sqlx::query(
        "SELECT company_code, agency FROM konbini_settings WHERE tenant_id = $1 FOR UPDATE",
    )
    .bind(tenant.0)
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
    conn: &mut PgConnection,
    tenant: TenantId,
    count: i64,
) -> StorageResult<i64> {
    let next: i64 = sqlx::query_scalar(
        "UPDATE konbini_settings SET next_reference = next_reference + $1 WHERE tenant_id = $2
         RETURNING next_reference",
    )
    .bind(count)
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(next - count)
}

/// The slips matching `condition` (always one of this module's literals, never input) on the
/// value bound after the tenant.
async fn slip_where(
    conn: &mut PgConnection,
    tenant: TenantId,
    condition: &str,
    value: Uuid,
) -> StorageResult<Vec<IssuedSlip>> {
    let sql = format!(
        "SELECT {SLIP_COLUMNS} FROM konbini_slips s JOIN receivables r ON r.id = s.receivable_id
         WHERE s.tenant_id = $1 AND {condition} ORDER BY s.reference_no, s.reissue"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
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
    conn: &mut PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(receivable.0)
    .bind(reference_no)
    .bind(i32::from(fields.reissue))
    .bind(barcode.to_string())
    .bind(amount_yen)
    .bind(due_on)
    .bind(batch)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl SlipStore for PgStorage {
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO konbini_settings (tenant_id, company_code, agency, next_reference, updated_at)
             VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (tenant_id) DO UPDATE SET company_code = excluded.company_code,
                 agency = excluded.agency, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(settings.company_code.to_string())
        .bind(settings.agency.as_str())
        .bind(at)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let settings = settings_in(&mut tx, tenant)
            .await?
            .ok_or(StorageError::SlipRule(ErrorCode::SlipsNotConfigured))?;
        let candidates = sqlx::query(
            "SELECT r.id, r.assessed_yen - r.paid_yen AS outstanding, r.due_on
             FROM receivables r
             WHERE r.tenant_id = $1 AND r.category = $2 AND r.due_on BETWEEN $3 AND $4
               AND r.status IN ('open', 'partly_paid') AND r.assessed_yen > r.paid_yen
               AND NOT EXISTS (SELECT 1 FROM konbini_slips s
                               WHERE s.receivable_id = r.id AND s.superseded_at IS NULL)
             ORDER BY r.due_on, r.created_at, r.id
             FOR UPDATE OF r",
        )
        .bind(tenant.0)
        .bind(batch.category.as_str())
        .bind(batch.cycle.first_day())
        .bind(batch.cycle.last_day())
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|row| {
            Ok((
                ReceivableId(get_uuid(row, "id")?),
                get::<i64>(row, "outstanding")?,
                get(row, "due_on")?,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(batch.id)
        .bind(tenant.0)
        .bind(batch.category.as_str())
        .bind(batch.cycle.to_string())
        .bind(i32::try_from(count).map_err(|_| corrupt("batch size"))?)
        .bind(plan.total_yen)
        .bind(batch.at)
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
        let slips = slip_where(&mut tx, tenant, "s.batch_id = $2", batch.id).await?;
        let row = sqlx::query("SELECT * FROM slip_batches WHERE id = $1")
            .bind(batch.id)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let settings = settings_in(&mut tx, tenant)
            .await?
            .ok_or(StorageError::SlipRule(ErrorCode::SlipsNotConfigured))?;
        let current = slip_where(
            &mut tx,
            tenant,
            "s.receivable_id = $2 AND s.superseded_at IS NULL",
            reissue.receivable.0,
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
        sqlx::query("UPDATE konbini_slips SET superseded_at = $1 WHERE id = $2")
            .bind(reissue.at)
            .bind(current.id)
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
        let slip = slip_where(&mut tx, tenant, "s.id = $2", reissue.id)
            .await?
            .pop()
            .ok_or(StorageError::NotFound)?;
        tx.commit().await.map_err(map_err)?;
        Ok(slip)
    }

    async fn slip_by_barcode(&self, tenant: TenantId, barcode: &str) -> StorageResult<IssuedSlip> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let sql = format!(
            "SELECT {SLIP_COLUMNS} FROM konbini_slips s JOIN receivables r ON r.id = s.receivable_id
             WHERE s.tenant_id = $1 AND s.barcode = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(barcode)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        slip_from_row(&row)
    }

    async fn slips_of_receivable(
        &self,
        tenant: TenantId,
        receivable: ReceivableId,
    ) -> StorageResult<Vec<IssuedSlip>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        slip_where(&mut conn, tenant, "s.receivable_id = $2", receivable.0).await
    }

    async fn slips_of_batch(
        &self,
        tenant: TenantId,
        batch: Uuid,
    ) -> StorageResult<Vec<IssuedSlip>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        slip_where(&mut conn, tenant, "s.batch_id = $2", batch).await
    }

    async fn slip_batch(&self, tenant: TenantId, batch: Uuid) -> StorageResult<SlipBatch> {
        let row = sqlx::query("SELECT * FROM slip_batches WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(batch)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        batch_from_row(&row)
    }

    async fn slip_batches(&self, tenant: TenantId, limit: i64) -> StorageResult<Vec<SlipBatch>> {
        sqlx::query(
            "SELECT * FROM slip_batches WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.0)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(batch_from_row)
        .collect()
    }
}
