//! Facilities and their bookings on PostgreSQL. A booking and its occupancy rows are written
//! in one transaction; the exclusion constraint `facility_unit_taken` (migration 0020) refuses
//! an occupancy row overlapping another of the same unit, whichever transaction commits first.
//! Bookings of one facility take its row lock first, so they queue rather than deadlock.

use crate::payment_rows::{get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid};
use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_facilities::{FacilityBookingId, FacilityId, Range, UnitId, UserClass};
use madoguchi_storage::{
    Facility, FacilityBooking, FacilityBookingStatus, FacilityColumns, FacilityStore,
    NewAuditEntry, NewFacilityBooking, StorageError, StorageResult, facility_rules_json,
    is_unit_taken, stored_range, unit_taken,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

const FACILITY_COLUMNS: &str = "id, code, name_ja, name_en, office_id, layout::text AS layout,
    time_rules::text AS time_rules, fee_table::text AS fee_table, refund_rule::text AS refund_rule";

fn facility_from_row(row: &PgRow) -> StorageResult<Facility> {
    FacilityColumns {
        id: get_uuid(row, "id")?,
        code: get_string(row, "code")?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        office: get_opt_uuid(row, "office_id")?,
        layout: get_string(row, "layout")?,
        time_rules: get_string(row, "time_rules")?,
        fee_table: get_string(row, "fee_table")?,
        refund_rule: get_string(row, "refund_rule")?,
    }
    .decode()
}

fn booking_from_row(row: &PgRow) -> StorageResult<FacilityBooking> {
    let corrupt =
        |what: &str| StorageError::Other(format!("stored facility booking {what} invalid"));
    Ok(FacilityBooking {
        id: FacilityBookingId(get_uuid(row, "id")?),
        facility: FacilityId(get_uuid(row, "facility_id")?),
        unit: UnitId(get_uuid(row, "unit_id")?),
        date: get(row, "use_date")?,
        used: stored_range(get_instant(row, "starts_at")?, get_instant(row, "ends_at")?)?,
        occupied: stored_range(
            get_instant(row, "starts_at")?,
            get_instant(row, "occupied_until")?,
        )?,
        holder: get_opt_uuid(row, "holder_account_id")?.map(AccountId),
        holder_name: get_string(row, "holder_name")?,
        class: UserClass::parse(&get_string(row, "user_class")?).ok_or_else(|| corrupt("class"))?,
        fee_yen: get(row, "fee_yen")?,
        status: FacilityBookingStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        pay_by: get_opt_instant(row, "pay_by")?,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

/// `NotFound` unless the facility is the city's; `lock` takes its row (`FOR NO KEY UPDATE`).
pub(crate) async fn require_facility(
    conn: &mut PgConnection,
    tenant: TenantId,
    facility: FacilityId,
    lock: bool,
) -> StorageResult<()> {
    let sql = if lock {
        "SELECT 1 FROM facilities WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE"
    } else {
        "SELECT 1 FROM facilities WHERE id = $1 AND tenant_id = $2"
    };
    let known: Option<i32> = sqlx::query_scalar(sql)
        .bind(facility.0)
        .bind(tenant.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    known.map(|_| ()).ok_or(StorageError::NotFound)
}

async fn booking_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: FacilityBookingId,
    lock: bool,
) -> StorageResult<FacilityBooking> {
    let sql = if lock {
        "SELECT * FROM facility_bookings WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
    } else {
        "SELECT * FROM facility_bookings WHERE id = $1 AND tenant_id = $2"
    };
    let row = sqlx::query(sql)
        .bind(id.0)
        .bind(tenant.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    booking_from_row(&row)
}

#[async_trait]
impl FacilityStore for PgStorage {
    async fn save_facility(
        &self,
        tenant: TenantId,
        facility: &Facility,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()> {
        let [layout, time_rules, fee_table, refund_rule] = facility_rules_json(facility)?;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "INSERT INTO facilities (id, tenant_id, code, name_ja, name_en, office_id, layout,
                time_rules, fee_table, refund_rule, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, $11, $11)
             ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name_ja = EXCLUDED.name_ja,
                name_en = EXCLUDED.name_en, office_id = EXCLUDED.office_id, layout = EXCLUDED.layout,
                time_rules = EXCLUDED.time_rules, fee_table = EXCLUDED.fee_table,
                refund_rule = EXCLUDED.refund_rule, updated_at = EXCLUDED.updated_at
             WHERE facilities.tenant_id = EXCLUDED.tenant_id",
        )
        .bind(facility.id.0)
        .bind(tenant.0)
        .bind(&facility.code)
        .bind(&facility.name_ja)
        .bind(&facility.name_en)
        .bind(facility.office.map(|o| o.0))
        .bind(layout)
        .bind(time_rules)
        .bind(fee_table)
        .bind(refund_rule)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Another city's facility with this id is not touched (nor named).
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn facility(&self, tenant: TenantId, id: FacilityId) -> StorageResult<Facility> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FACILITY_COLUMNS} FROM facilities WHERE id = $1 AND tenant_id = $2"
        )))
        .bind(id.0)
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        facility_from_row(&row)
    }

    async fn facilities(&self, tenant: TenantId) -> StorageResult<Vec<Facility>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FACILITY_COLUMNS} FROM facilities WHERE tenant_id = $1 ORDER BY code"
        )))
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(facility_from_row)
        .collect()
    }

    async fn book_facility(
        &self,
        tenant: TenantId,
        new: &NewFacilityBooking,
        audit: &NewAuditEntry,
    ) -> StorageResult<FacilityBooking> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // One booking of a facility at a time: two transactions inserting conflicting rows
        // under an exclusion constraint each insert, then each waits for the other, and one is
        // aborted as a deadlock. The facility's row lock queues them instead; the constraint
        // still decides (and guards any writer that forgets the lock).
        require_facility(&mut tx, tenant, new.facility, true).await?;
        sqlx::query(
            "INSERT INTO facility_bookings (id, tenant_id, facility_id, unit_id, use_date, starts_at,
                ends_at, occupied_until, holder_account_id, holder_name, user_class, fee_yen, status,
                pay_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(new.id.0)
        .bind(tenant.0)
        .bind(new.facility.0)
        .bind(new.unit.0)
        .bind(new.date)
        .bind(new.used.start())
        .bind(new.used.end())
        .bind(new.occupied.end())
        .bind(new.holder.map(|a| a.0))
        .bind(&new.holder_name)
        .bind(new.class.code())
        .bind(new.fee_yen)
        .bind(new.status.as_str())
        .bind(new.pay_by)
        .bind(new.at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let units: Vec<Uuid> = new.occupied_units.iter().map(|u| u.0).collect();
        sqlx::query(
            "INSERT INTO facility_occupancy (booking_id, facility_id, unit_id, during)
             SELECT $1, $2, unit, tstzrange($3, $4, '[)') FROM UNNEST($5::uuid[]) AS unit",
        )
        .bind(new.id.0)
        .bind(new.facility.0)
        .bind(new.occupied.start())
        .bind(new.occupied.end())
        .bind(units)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            let error = map_err(e);
            if is_unit_taken(&error) {
                unit_taken()
            } else {
                error
            }
        })?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let booking = booking_in(&mut tx, tenant, new.id, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(booking)
    }

    async fn facility_booking(
        &self,
        tenant: TenantId,
        id: FacilityBookingId,
    ) -> StorageResult<FacilityBooking> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        booking_in(&mut conn, tenant, id, false).await
    }

    async fn facility_bookings(
        &self,
        tenant: TenantId,
        facility: FacilityId,
        window: Range,
    ) -> StorageResult<Vec<FacilityBooking>> {
        sqlx::query(
            "SELECT * FROM facility_bookings
             WHERE facility_id = $1 AND tenant_id = $2
               AND starts_at < $3 AND occupied_until > $4
               AND status IN ('provisional', 'confirmed', 'checked_in', 'no_show')
             ORDER BY starts_at, id",
        )
        .bind(facility.0)
        .bind(tenant.0)
        .bind(window.end())
        .bind(window.start())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(booking_from_row)
        .collect()
    }

    async fn release_facility_booking(
        &self,
        tenant: TenantId,
        id: FacilityBookingId,
        to: FacilityBookingStatus,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<FacilityBooking> {
        if to.holds_unit() {
            return Err(StorageError::Other(format!(
                "releasing a booking to {}, which holds its unit",
                to.as_str()
            )));
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let booking = booking_in(&mut tx, tenant, id, true).await?;
        if !booking.status.holds_unit() {
            return Err(StorageError::FacilityRule(
                ErrorCode::FacilityBookingNotHolding,
            ));
        }
        sqlx::query(
            "UPDATE facility_bookings SET status = $1, pay_by = NULL, updated_at = $2
             WHERE id = $3 AND tenant_id = $4",
        )
        .bind(to.as_str())
        .bind(at)
        .bind(id.0)
        .bind(tenant.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM facility_occupancy WHERE booking_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let released = booking_in(&mut tx, tenant, id, false).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(released)
    }
}
