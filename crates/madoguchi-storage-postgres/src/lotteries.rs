//! The facility lottery on PostgreSQL: filing and drawing lock the draw's row first
//! (`FOR UPDATE`), so a cap is counted and a record checked against the stored applications
//! with no filing in between.

use crate::payment_rows::{get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid};
use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_facilities::lottery::Commitment;
use madoguchi_facilities::{
    ApplicantId, Application, ApplicationId, AuditRecord, FacilityId, Seed, UserClass,
};
use madoguchi_storage::{
    DrawnRecord, FiledApplication, LotteryDraw, LotteryStore, NewAuditEntry, NewLottery,
    StorageError, StorageResult, lottery_json, lottery_rule, record_matches, served_places,
    to_json,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

const DRAW_COLUMNS: &str = "id, facility_id, use_month, rules::text AS rules, slots::text AS slots,
    commitment, state, record, record_sha256, opened_at, drawn_at";

fn draw_from_row(row: &PgRow) -> StorageResult<LotteryDraw> {
    let record: Option<Vec<u8>> = get(row, "record")?;
    let sha256: Option<String> = get(row, "record_sha256")?;
    let drawn_at = get_opt_instant(row, "drawn_at")?;
    Ok(LotteryDraw {
        id: get_uuid(row, "id")?,
        facility: FacilityId(get_uuid(row, "facility_id")?),
        use_month: get_string(row, "use_month")?,
        rules: lottery_json(&get_string(row, "rules")?, "rules")?,
        slots: lottery_json(&get_string(row, "slots")?, "slots")?,
        commitment: Commitment::from_hex(&get_string(row, "commitment")?)
            .ok_or_else(|| StorageError::Other("stored lottery commitment invalid".into()))?,
        opened_at: get_instant(row, "opened_at")?,
        drawn: match (record, sha256, drawn_at) {
            (Some(bytes), Some(sha256), Some(at)) => Some(DrawnRecord { bytes, sha256, at }),
            _ => None,
        },
    })
}

async fn draw_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    lock: bool,
) -> StorageResult<LotteryDraw> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DRAW_COLUMNS} FROM lottery_draws WHERE id = $1 AND tenant_id = $2{lock}"
    )))
    .bind(id)
    .bind(tenant.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    draw_from_row(&row)
}

fn application_from_row(row: &PgRow) -> StorageResult<FiledApplication> {
    let won: Option<String> = get(row, "won")?;
    let rank: Option<i32> = get(row, "served_rank")?;
    Ok(FiledApplication {
        application: Application {
            id: ApplicationId(get_uuid(row, "id")?),
            applicant: ApplicantId(get_uuid(row, "applicant_id")?),
            class: UserClass::parse(&get_string(row, "user_class")?)
                .ok_or_else(|| StorageError::Other("stored application class invalid".into()))?,
            choices: lottery_json(&get_string(row, "choices")?, "choices")?,
        },
        holder: get_opt_uuid(row, "holder_account_id")?.map(AccountId),
        filed_at: get_instant(row, "filed_at")?,
        served_rank: rank.and_then(|r| u32::try_from(r).ok()),
        won: won.map(|raw| lottery_json(&raw, "win")).transpose()?,
    })
}

#[async_trait]
impl LotteryStore for PgStorage {
    async fn open_lottery(
        &self,
        tenant: TenantId,
        new: &NewLottery,
        audit: &NewAuditEntry,
    ) -> StorageResult<LotteryDraw> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        crate::facilities::require_facility(&mut tx, tenant, new.facility, false).await?;
        sqlx::query(
            "INSERT INTO lottery_draws (id, tenant_id, facility_id, use_month, rules, slots,
                commitment, seed, state, opened_at)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, 'open', $9)",
        )
        .bind(new.id)
        .bind(tenant.0)
        .bind(new.facility.0)
        .bind(&new.use_month)
        .bind(to_json(&new.rules)?)
        .bind(to_json(&new.slots)?)
        .bind(new.seed.commitment().to_hex())
        .bind(new.seed.to_hex())
        .bind(new.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let draw = draw_in(&mut tx, tenant, new.id, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(draw)
    }

    async fn lottery(&self, tenant: TenantId, id: Uuid) -> StorageResult<LotteryDraw> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        draw_in(&mut conn, tenant, id, false).await
    }

    async fn file_lottery_application(
        &self,
        tenant: TenantId,
        draw: Uuid,
        application: &Application,
        holder: Option<AccountId>,
        applications_max: u16,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        if draw_in(&mut tx, tenant, draw, true).await?.drawn.is_some() {
            return Err(lottery_rule(ErrorCode::LotteryDrawn));
        }
        let filed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM lottery_applications WHERE draw_id = $1 AND applicant_id = $2",
        )
        .bind(draw)
        .bind(application.applicant.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if filed >= i64::from(applications_max) {
            return Err(lottery_rule(ErrorCode::LotteryOverCap));
        }
        sqlx::query(
            "INSERT INTO lottery_applications (id, tenant_id, draw_id, applicant_id,
                holder_account_id, user_class, choices, filed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
        )
        .bind(application.id.0)
        .bind(tenant.0)
        .bind(draw)
        .bind(application.applicant.0)
        .bind(holder.map(|a| a.0))
        .bind(application.class.code())
        .bind(to_json(&application.choices)?)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn lottery_applications(
        &self,
        tenant: TenantId,
        draw: Uuid,
    ) -> StorageResult<Vec<FiledApplication>> {
        sqlx::query(
            "SELECT id, applicant_id, holder_account_id, user_class, choices::text AS choices,
                filed_at, served_rank, won::text AS won
             FROM lottery_applications WHERE draw_id = $1 AND tenant_id = $2 ORDER BY id",
        )
        .bind(draw)
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(application_from_row)
        .collect()
    }

    async fn lottery_seed(&self, tenant: TenantId, draw: Uuid) -> StorageResult<Seed> {
        let raw: String =
            sqlx::query_scalar("SELECT seed FROM lottery_draws WHERE id = $1 AND tenant_id = $2")
                .bind(draw)
                .bind(tenant.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?
                .ok_or(StorageError::NotFound)?;
        Seed::from_hex(&raw)
            .ok_or_else(|| StorageError::Other("stored lottery seed invalid".into()))
    }

    async fn record_lottery_draw(
        &self,
        tenant: TenantId,
        draw: Uuid,
        record: &AuditRecord,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<LotteryDraw> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        if draw_in(&mut tx, tenant, draw, true).await?.drawn.is_some() {
            return Err(lottery_rule(ErrorCode::LotteryDrawn));
        }
        let stored: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM lottery_applications WHERE draw_id = $1")
                .bind(draw)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        if !record_matches(record, &stored) {
            return Err(lottery_rule(ErrorCode::LotteryInputsChanged));
        }
        let places = served_places(record);
        let ids: Vec<Uuid> = places.iter().map(|(id, _, _)| *id).collect();
        let ranks: Vec<i32> = places
            .iter()
            .map(|(_, rank, _)| i32::try_from(*rank).unwrap_or(i32::MAX))
            .collect();
        let won: Vec<Option<String>> = places
            .iter()
            .map(|(_, _, won)| won.as_ref().map(to_json).transpose())
            .collect::<StorageResult<_>>()?;
        sqlx::query(
            "UPDATE lottery_applications a SET served_rank = v.rank, won = v.won::jsonb
             FROM UNNEST($1::uuid[], $2::int4[], $3::text[]) AS v(id, rank, won)
             WHERE a.id = v.id AND a.draw_id = $4",
        )
        .bind(ids)
        .bind(ranks)
        .bind(won)
        .bind(draw)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE lottery_draws SET state = 'drawn', record = $1, record_sha256 = $2, drawn_at = $3
             WHERE id = $4 AND tenant_id = $5",
        )
        .bind(record.to_bytes())
        .bind(record.sha256_hex())
        .bind(at)
        .bind(draw)
        .bind(tenant.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let drawn = draw_in(&mut tx, tenant, draw, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(drawn)
    }
}
