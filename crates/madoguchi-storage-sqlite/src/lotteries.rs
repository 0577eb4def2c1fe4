//! The facility lottery on SQLite: filing and drawing run in `BEGIN IMMEDIATE`, so a cap is
//! counted and a record checked against the stored applications with no writer in between.

use crate::{
    SqliteStorage, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid, map_err,
    uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_facilities::lottery::Commitment;
use madoguchi_facilities::{
    ApplicantId, Application, ApplicationId, AuditRecord, FacilityId, Seed, UserClass,
};
use madoguchi_storage::{
    DrawnRecord, FiledApplication, LotteryDraw, LotteryStore, NewAuditEntry, NewLottery,
    StorageError, StorageResult, lottery_json, lottery_rule, record_matches, served_places,
    to_json, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

const DRAW_COLUMNS: &str = "id, facility_id, use_month, rules, slots, commitment, state, record,
    record_sha256, opened_at, drawn_at";

fn draw_from_row(row: &SqliteRow) -> StorageResult<LotteryDraw> {
    let record: Option<Vec<u8>> = row.try_get("record").map_err(map_err)?;
    let sha256: Option<String> = row.try_get("record_sha256").map_err(map_err)?;
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
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: Uuid,
) -> StorageResult<LotteryDraw> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DRAW_COLUMNS} FROM lottery_draws WHERE id = ? AND tenant_id = ?"
    )))
    .bind(uuid_text(id))
    .bind(uuid_text(tenant.0))
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    draw_from_row(&row)
}

fn application_from_row(row: &SqliteRow) -> StorageResult<FiledApplication> {
    let won: Option<String> = row.try_get("won").map_err(map_err)?;
    let rank: Option<i64> = row.try_get("served_rank").map_err(map_err)?;
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
impl LotteryStore for SqliteStorage {
    async fn open_lottery(
        &self,
        tenant: TenantId,
        new: &NewLottery,
        audit: &NewAuditEntry,
    ) -> StorageResult<LotteryDraw> {
        let mut tx = self.begin_immediate().await?;
        crate::facilities::require_facility(&mut tx, tenant, new.facility).await?;
        sqlx::query(
            "INSERT INTO lottery_draws (id, tenant_id, facility_id, use_month, rules, slots,
                commitment, seed, state, opened_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
        )
        .bind(uuid_text(new.id))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.facility.0))
        .bind(&new.use_month)
        .bind(to_json(&new.rules)?)
        .bind(to_json(&new.slots)?)
        .bind(new.seed.commitment().to_hex())
        .bind(new.seed.to_hex())
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let draw = draw_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(draw)
    }

    async fn lottery(&self, tenant: TenantId, id: Uuid) -> StorageResult<LotteryDraw> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        draw_in(&mut conn, tenant, id).await
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
        let mut tx = self.begin_immediate().await?;
        if draw_in(&mut tx, tenant, draw).await?.drawn.is_some() {
            return Err(lottery_rule(ErrorCode::LotteryDrawn));
        }
        let filed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM lottery_applications WHERE draw_id = ? AND applicant_id = ?",
        )
        .bind(uuid_text(draw))
        .bind(uuid_text(application.applicant.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if filed >= i64::from(applications_max) {
            return Err(lottery_rule(ErrorCode::LotteryOverCap));
        }
        sqlx::query(
            "INSERT INTO lottery_applications (id, tenant_id, draw_id, applicant_id,
                holder_account_id, user_class, choices, filed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(application.id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(draw))
        .bind(uuid_text(application.applicant.0))
        .bind(holder.map(|a| uuid_text(a.0)))
        .bind(application.class.code())
        .bind(to_json(&application.choices)?)
        .bind(to_unix_micros(at))
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
            "SELECT * FROM lottery_applications WHERE draw_id = ? AND tenant_id = ? ORDER BY id",
        )
        .bind(uuid_text(draw))
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(application_from_row)
        .collect()
    }

    async fn lottery_seed(&self, tenant: TenantId, draw: Uuid) -> StorageResult<Seed> {
        let raw: String =
            sqlx::query_scalar("SELECT seed FROM lottery_draws WHERE id = ? AND tenant_id = ?")
                .bind(uuid_text(draw))
                .bind(uuid_text(tenant.0))
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
        let mut tx = self.begin_immediate().await?;
        if draw_in(&mut tx, tenant, draw).await?.drawn.is_some() {
            return Err(lottery_rule(ErrorCode::LotteryDrawn));
        }
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT id FROM lottery_applications WHERE draw_id = ?")
                .bind(uuid_text(draw))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        let stored: Vec<Uuid> = stored
            .iter()
            .map(|id| Uuid::parse_str(id).map_err(|_| StorageError::Other("stored id".into())))
            .collect::<StorageResult<_>>()?;
        if !record_matches(record, &stored) {
            return Err(lottery_rule(ErrorCode::LotteryInputsChanged));
        }
        let places: Vec<serde_json::Value> = served_places(record)
            .into_iter()
            .map(|(id, rank, won)| {
                Ok(serde_json::json!([
                    uuid_text(id),
                    rank,
                    won.map(|slot| to_json(&slot)).transpose()?
                ]))
            })
            .collect::<StorageResult<_>>()?;
        sqlx::query(
            "WITH j(r) AS MATERIALIZED (SELECT value FROM json_each(?1))
             UPDATE lottery_applications SET served_rank = v.rank, won = v.won
             FROM (SELECT r->>0 AS id, r->>1 AS rank, r->>2 AS won FROM j) AS v
             WHERE lottery_applications.id = v.id AND lottery_applications.draw_id = ?2",
        )
        .bind(to_json(&places)?)
        .bind(uuid_text(draw))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE lottery_draws SET state = 'drawn', record = ?, record_sha256 = ?, drawn_at = ?
             WHERE id = ? AND tenant_id = ?",
        )
        .bind(record.to_bytes())
        .bind(record.sha256_hex())
        .bind(to_unix_micros(at))
        .bind(uuid_text(draw))
        .bind(uuid_text(tenant.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let drawn = draw_in(&mut tx, tenant, draw).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(drawn)
    }
}
