//! Facilities and their bookings on SQLite. A booking and its occupancy rows are written in
//! one `BEGIN IMMEDIATE` transaction; the `facility_unit_taken` trigger (migration 0020)
//! refuses an occupancy row that overlaps another of the same unit, so two bookings racing
//! for one unit cannot both commit.

use crate::payment_rows::{date_text, parse_date};
use crate::{
    SqliteStorage, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid, map_err,
    uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_facilities::{FacilityBookingId, FacilityId, Range, UnitId, UserClass};
use madoguchi_storage::{
    Facility, FacilityBooking, FacilityBookingStatus, FacilityColumns, FacilityStore,
    NewAuditEntry, NewFacilityBooking, StorageError, StorageResult, facility_rules_json,
    is_unit_taken, stored_range, to_unix_micros, unit_taken,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

fn facility_from_row(row: &SqliteRow) -> StorageResult<Facility> {
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

fn booking_from_row(row: &SqliteRow) -> StorageResult<FacilityBooking> {
    let corrupt =
        |what: &str| StorageError::Other(format!("stored facility booking {what} invalid"));
    Ok(FacilityBooking {
        id: FacilityBookingId(get_uuid(row, "id")?),
        facility: FacilityId(get_uuid(row, "facility_id")?),
        unit: UnitId(get_uuid(row, "unit_id")?),
        date: parse_date(&get_string(row, "use_date")?)?,
        used: stored_range(get_instant(row, "starts_at")?, get_instant(row, "ends_at")?)?,
        occupied: stored_range(
            get_instant(row, "starts_at")?,
            get_instant(row, "occupied_until")?,
        )?,
        holder: get_opt_uuid(row, "holder_account_id")?.map(AccountId),
        holder_name: get_string(row, "holder_name")?,
        class: UserClass::parse(&get_string(row, "user_class")?).ok_or_else(|| corrupt("class"))?,
        fee_yen: row.try_get("fee_yen").map_err(map_err)?,
        status: FacilityBookingStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        pay_by: get_opt_instant(row, "pay_by")?,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
    })
}

/// `NotFound` unless the facility is the city's (checked inside the caller's transaction).
pub(crate) async fn require_facility(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    facility: FacilityId,
) -> StorageResult<()> {
    let known: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM facilities WHERE id = ? AND tenant_id = ?")
            .bind(uuid_text(facility.0))
            .bind(uuid_text(tenant.0))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
    known.map(|_| ()).ok_or(StorageError::NotFound)
}

async fn booking_in(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    id: FacilityBookingId,
) -> StorageResult<FacilityBooking> {
    let row = sqlx::query("SELECT * FROM facility_bookings WHERE id = ? AND tenant_id = ?")
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    booking_from_row(&row)
}

#[async_trait]
impl FacilityStore for SqliteStorage {
    async fn save_facility(
        &self,
        tenant: TenantId,
        facility: &Facility,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()> {
        let [layout, time_rules, fee_table, refund_rule] = facility_rules_json(facility)?;
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query(
            "INSERT INTO facilities (id, tenant_id, code, name_ja, name_en, office_id, layout,
                time_rules, fee_table, refund_rule, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
             ON CONFLICT (id) DO UPDATE SET code = excluded.code, name_ja = excluded.name_ja,
                name_en = excluded.name_en, office_id = excluded.office_id, layout = excluded.layout,
                time_rules = excluded.time_rules, fee_table = excluded.fee_table,
                refund_rule = excluded.refund_rule, updated_at = excluded.updated_at
             WHERE facilities.tenant_id = excluded.tenant_id",
        )
        .bind(uuid_text(facility.id.0))
        .bind(uuid_text(tenant.0))
        .bind(&facility.code)
        .bind(&facility.name_ja)
        .bind(&facility.name_en)
        .bind(facility.office.map(|o| uuid_text(o.0)))
        .bind(layout)
        .bind(time_rules)
        .bind(fee_table)
        .bind(refund_rule)
        .bind(to_unix_micros(at))
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
        let row = sqlx::query("SELECT * FROM facilities WHERE id = ? AND tenant_id = ?")
            .bind(uuid_text(id.0))
            .bind(uuid_text(tenant.0))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        facility_from_row(&row)
    }

    async fn facilities(&self, tenant: TenantId) -> StorageResult<Vec<Facility>> {
        sqlx::query("SELECT * FROM facilities WHERE tenant_id = ? ORDER BY code")
            .bind(uuid_text(tenant.0))
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
        let mut tx = self.begin_immediate().await?;
        require_facility(&mut tx, tenant, new.facility).await?;
        sqlx::query(
            "INSERT INTO facility_bookings (id, tenant_id, facility_id, unit_id, use_date, starts_at,
                ends_at, occupied_until, holder_account_id, holder_name, user_class, fee_yen, status,
                pay_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
        )
        .bind(uuid_text(new.id.0))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(new.facility.0))
        .bind(uuid_text(new.unit.0))
        .bind(date_text(new.date))
        .bind(to_unix_micros(new.used.start()))
        .bind(to_unix_micros(new.used.end()))
        .bind(to_unix_micros(new.occupied.end()))
        .bind(new.holder.map(|a| uuid_text(a.0)))
        .bind(&new.holder_name)
        .bind(new.class.code())
        .bind(new.fee_yen)
        .bind(new.status.as_str())
        .bind(new.pay_by.map(to_unix_micros))
        .bind(to_unix_micros(new.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        for unit in &new.occupied_units {
            sqlx::query(
                "INSERT INTO facility_occupancy (booking_id, facility_id, unit_id, starts_at, ends_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(uuid_text(new.id.0))
            .bind(uuid_text(new.facility.0))
            .bind(uuid_text(unit.0))
            .bind(to_unix_micros(new.occupied.start()))
            .bind(to_unix_micros(new.occupied.end()))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                let error = map_err(e);
                if is_unit_taken(&error) { unit_taken() } else { error }
            })?;
        }
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let booking = booking_in(&mut tx, tenant, new.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(booking)
    }

    async fn facility_booking(
        &self,
        tenant: TenantId,
        id: FacilityBookingId,
    ) -> StorageResult<FacilityBooking> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        booking_in(&mut conn, tenant, id).await
    }

    async fn facility_bookings(
        &self,
        tenant: TenantId,
        facility: FacilityId,
        window: Range,
    ) -> StorageResult<Vec<FacilityBooking>> {
        // Holding bookings are exactly those with occupancy rows.
        sqlx::query(
            "SELECT b.* FROM facility_bookings b
             WHERE b.facility_id = ? AND b.tenant_id = ?
               AND b.starts_at < ? AND b.occupied_until > ?
               AND b.status IN ('provisional', 'confirmed', 'checked_in', 'no_show')
             ORDER BY b.starts_at, b.id",
        )
        .bind(uuid_text(facility.0))
        .bind(uuid_text(tenant.0))
        .bind(to_unix_micros(window.end()))
        .bind(to_unix_micros(window.start()))
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
        let mut tx = self.begin_immediate().await?;
        let booking = booking_in(&mut tx, tenant, id).await?;
        if !booking.status.holds_unit() {
            return Err(StorageError::FacilityRule(
                ErrorCode::FacilityBookingNotHolding,
            ));
        }
        sqlx::query(
            "UPDATE facility_bookings SET status = ?, pay_by = NULL, updated_at = ?
             WHERE id = ? AND tenant_id = ?",
        )
        .bind(to.as_str())
        .bind(to_unix_micros(at))
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM facility_occupancy WHERE booking_id = ?")
            .bind(uuid_text(id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        crate::audit::insert_audit(&mut *tx, tenant, audit).await?;
        let released = booking_in(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(released)
    }
}
