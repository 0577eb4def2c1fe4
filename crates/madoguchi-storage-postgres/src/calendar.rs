//! Each tenant's calendar settings on PostgreSQL: imported holidays, the year-end closure and
//! the offices' closing days, in `date` columns. An import is one transaction that deletes the
//! years it covers and inserts the list with one `unnest` statement; an import locks its
//! tenant's row and an office's replacement the office's row, so two of them run one after the
//! other.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_calendar::{
    ClosingRule, ImportedHoliday, ImportedHolidays, MonthDay, OfficeClosingDays, YearEndClosure,
};
use madoguchi_domain::{OfficeId, TenantId};
use madoguchi_storage::{
    CalendarStore, ClosingRuleColumns, HolidayImport, OfficeCalendar, StorageError, StorageResult,
    StoredClosingRule, now_utc,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn year_bounds(year: i32) -> StorageResult<(Date, Date)> {
    let first = Date::from_calendar_date(year, time::Month::January, 1)
        .map_err(|_| StorageError::Other(format!("year {year} out of range")))?;
    let last = Date::from_calendar_date(year, time::Month::December, 31)
        .map_err(|_| StorageError::Other(format!("year {year} out of range")))?;
    Ok((first, last))
}

fn rule_from_row(row: &PgRow) -> StorageResult<StoredClosingRule> {
    let kind: String = get(row, "kind")?;
    let weekday: Option<String> = get(row, "weekday")?;
    let on_holiday: Option<String> = get(row, "on_holiday")?;
    let week: Option<String> = get(row, "week")?;
    let rule = ClosingRuleColumns::rule(
        &kind,
        weekday.as_deref(),
        on_holiday.as_deref(),
        week.as_deref(),
        get(row, "first_date")?,
        get(row, "last_date")?,
        get(row, "note")?,
    )
    .ok_or_else(|| corrupt("office closing rule"))?;
    Ok(StoredClosingRule {
        id: get(row, "id")?,
        rule,
    })
}

async fn insert_rule(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    office: OfficeId,
    rule: &ClosingRule,
    at: OffsetDateTime,
) -> StorageResult<StoredClosingRule> {
    let id = Uuid::now_v7();
    let columns = ClosingRuleColumns::of(rule);
    sqlx::query(
        "INSERT INTO office_closing_rules
            (id, tenant_id, office_id, kind, weekday, on_holiday, week, first_date, last_date, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(office.0)
    .bind(columns.kind)
    .bind(columns.weekday)
    .bind(columns.on_holiday)
    .bind(columns.week)
    .bind(columns.first_date)
    .bind(columns.last_date)
    .bind(columns.note)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(StoredClosingRule {
        id,
        rule: rule.clone(),
    })
}

/// Sets the office's weekend-and-holiday flag; 0 rows when the office is not the tenant's
/// (checked in the same statement).
async fn upsert_open_flag(
    executor: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    office: OfficeId,
    open: bool,
    at: OffsetDateTime,
) -> StorageResult<u64> {
    let done = sqlx::query(
        "INSERT INTO office_calendars (office_id, tenant_id, open_on_weekends_and_holidays, updated_at)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM offices WHERE tenant_id = $2 AND id = $1)
         ON CONFLICT (office_id) DO UPDATE SET
            open_on_weekends_and_holidays = excluded.open_on_weekends_and_holidays,
            updated_at = excluded.updated_at",
    )
    .bind(office.0)
    .bind(tenant.0)
    .bind(open)
    .bind(at)
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected())
}

impl PgStorage {
    async fn office_rules(
        &self,
        tenant: TenantId,
        office: Option<OfficeId>,
    ) -> StorageResult<Vec<(OfficeId, StoredClosingRule)>> {
        let rows = sqlx::query(
            "SELECT * FROM office_closing_rules
             WHERE tenant_id = $1 AND ($2::uuid IS NULL OR office_id = $2)
             ORDER BY created_at, id",
        )
        .bind(tenant.0)
        .bind(office.map(|o| o.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| Ok((OfficeId(get(row, "office_id")?), rule_from_row(row)?)))
            .collect()
    }
}

#[async_trait]
impl CalendarStore for PgStorage {
    async fn imported_holidays(&self, tenant: TenantId) -> StorageResult<ImportedHolidays> {
        let rows = sqlx::query(
            "SELECT date, name FROM calendar_holidays WHERE tenant_id = $1 ORDER BY date",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(ImportedHoliday {
                    date: get(row, "date")?,
                    name: get(row, "name")?,
                })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        ImportedHolidays::new(entries).map_err(|_| corrupt("imported holidays"))
    }

    async fn replace_imported_holidays(
        &self,
        tenant: TenantId,
        holidays: &ImportedHolidays,
    ) -> StorageResult<HolidayImport> {
        let years: Vec<i32> = holidays.years().into_iter().collect();
        if years.is_empty() {
            return Ok(HolidayImport {
                years,
                removed: 0,
                stored: 0,
            });
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Two imports of one tenant run one after the other (the second then replaces the
        // first), instead of the second failing on the rows the first inserted.
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut removed = 0;
        for year in &years {
            let (first, last) = year_bounds(*year)?;
            removed += sqlx::query(
                "DELETE FROM calendar_holidays WHERE tenant_id = $1 AND date BETWEEN $2 AND $3",
            )
            .bind(tenant.0)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        }
        let dates: Vec<Date> = holidays.entries().iter().map(|e| e.date).collect();
        let names: Vec<String> = holidays.entries().iter().map(|e| e.name.clone()).collect();
        let stored = sqlx::query(
            "INSERT INTO calendar_holidays (tenant_id, date, name, imported_at)
             SELECT $1, d, n, $4 FROM unnest($2::date[], $3::text[]) AS t(d, n)",
        )
        .bind(tenant.0)
        .bind(dates)
        .bind(names)
        .bind(now_utc())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(HolidayImport {
            years,
            removed,
            stored,
        })
    }

    async fn remove_imported_holidays(&self, tenant: TenantId, year: i32) -> StorageResult<u64> {
        let (first, last) = year_bounds(year)?;
        let done = sqlx::query(
            "DELETE FROM calendar_holidays WHERE tenant_id = $1 AND date BETWEEN $2 AND $3",
        )
        .bind(tenant.0)
        .bind(first)
        .bind(last)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn year_end_closure(&self, tenant: TenantId) -> StorageResult<Option<YearEndClosure>> {
        let row = sqlx::query(
            "SELECT first_month, first_day, last_month, last_day FROM calendar_year_end WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(Some(YearEndClosure::default()));
        };
        let part = |column: &str| -> StorageResult<Option<u8>> {
            get::<Option<i16>>(&row, column)?
                .map(|v| u8::try_from(v).map_err(|_| corrupt("year-end closure")))
                .transpose()
        };
        match (
            part("first_month")?,
            part("first_day")?,
            part("last_month")?,
            part("last_day")?,
        ) {
            (Some(fm), Some(fd), Some(lm), Some(ld)) => {
                let first = MonthDay::new(fm, fd).map_err(|_| corrupt("year-end closure"))?;
                let last = MonthDay::new(lm, ld).map_err(|_| corrupt("year-end closure"))?;
                YearEndClosure::new(first, last)
                    .map(Some)
                    .map_err(|_| corrupt("year-end closure"))
            }
            _ => Ok(None),
        }
    }

    async fn set_year_end_closure(
        &self,
        tenant: TenantId,
        closure: Option<YearEndClosure>,
    ) -> StorageResult<()> {
        let part = |f: fn(&YearEndClosure) -> u8| closure.as_ref().map(|c| i16::from(f(c)));
        sqlx::query(
            "INSERT INTO calendar_year_end (tenant_id, first_month, first_day, last_month, last_day, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id) DO UPDATE SET
                first_month = excluded.first_month, first_day = excluded.first_day,
                last_month = excluded.last_month, last_day = excluded.last_day,
                updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(part(|c| c.first().month()))
        .bind(part(|c| c.first().day()))
        .bind(part(|c| c.last().month()))
        .bind(part(|c| c.last().day()))
        .bind(now_utc())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn office_calendars(&self, tenant: TenantId) -> StorageResult<Vec<OfficeCalendar>> {
        // Offices in the order `list_offices` gives them, each with its flag when stored.
        let offices = sqlx::query(
            "SELECT o.id AS office_id, c.open_on_weekends_and_holidays AS open
             FROM offices o LEFT JOIN office_calendars c ON c.office_id = o.id
             WHERE o.tenant_id = $1 ORDER BY CASE o.kind
                WHEN 'headquarters' THEN 0 WHEN 'branch' THEN 1 WHEN 'sub_office' THEN 2
                WHEN 'community_centre' THEN 3 WHEN 'hospital' THEN 4 ELSE 5 END, o.code",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut rules = self.office_rules(tenant, None).await?;
        let mut calendars = Vec::new();
        for row in &offices {
            let office_id = OfficeId(get(row, "office_id")?);
            let open: Option<bool> = get(row, "open")?;
            let (own, rest): (Vec<_>, Vec<_>) = rules
                .into_iter()
                .partition(|(office, _)| *office == office_id);
            rules = rest;
            if open.is_none() && own.is_empty() {
                continue;
            }
            calendars.push(OfficeCalendar {
                office_id,
                open_on_weekends_and_holidays: open.unwrap_or(false),
                rules: own.into_iter().map(|(_, rule)| rule).collect(),
            });
        }
        Ok(calendars)
    }

    async fn office_calendar(
        &self,
        tenant: TenantId,
        office: OfficeId,
    ) -> StorageResult<OfficeCalendar> {
        let row = sqlx::query(
            "SELECT c.open_on_weekends_and_holidays AS open
             FROM offices o LEFT JOIN office_calendars c ON c.office_id = o.id
             WHERE o.tenant_id = $1 AND o.id = $2",
        )
        .bind(tenant.0)
        .bind(office.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let open: Option<bool> = get(&row, "open")?;
        let rules = self.office_rules(tenant, Some(office)).await?;
        Ok(OfficeCalendar {
            office_id: office,
            open_on_weekends_and_holidays: open.unwrap_or(false),
            rules: rules.into_iter().map(|(_, rule)| rule).collect(),
        })
    }

    async fn add_office_closing_rule(
        &self,
        tenant: TenantId,
        office: OfficeId,
        rule: &ClosingRule,
    ) -> StorageResult<StoredClosingRule> {
        let id = Uuid::now_v7();
        let columns = ClosingRuleColumns::of(rule);
        // The office is checked to be the tenant's in the same statement.
        let done = sqlx::query(
            "INSERT INTO office_closing_rules
                (id, tenant_id, office_id, kind, weekday, on_holiday, week, first_date, last_date, note, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
             WHERE EXISTS (SELECT 1 FROM offices WHERE tenant_id = $2 AND id = $3)",
        )
        .bind(id)
        .bind(tenant.0)
        .bind(office.0)
        .bind(columns.kind)
        .bind(columns.weekday)
        .bind(columns.on_holiday)
        .bind(columns.week)
        .bind(columns.first_date)
        .bind(columns.last_date)
        .bind(columns.note)
        .bind(now_utc())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(StoredClosingRule {
            id,
            rule: rule.clone(),
        })
    }

    async fn remove_office_closing_rule(
        &self,
        tenant: TenantId,
        office: OfficeId,
        rule: Uuid,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "DELETE FROM office_closing_rules WHERE tenant_id = $1 AND office_id = $2 AND id = $3",
        )
        .bind(tenant.0)
        .bind(office.0)
        .bind(rule)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn set_office_open_on_weekends_and_holidays(
        &self,
        tenant: TenantId,
        office: OfficeId,
        open: bool,
    ) -> StorageResult<()> {
        if upsert_open_flag(&self.pool, tenant, office, open, now_utc()).await? == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn replace_office_calendar(
        &self,
        tenant: TenantId,
        office: OfficeId,
        closing_days: &OfficeClosingDays,
    ) -> StorageResult<OfficeCalendar> {
        let at = now_utc();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Locks the office row: a second replacement of the same office waits for this one,
        // instead of both deleting the old rules and both inserting theirs. `NO KEY` leaves
        // the key-share locks of inserts that reference the office (slots) unblocked.
        let locked: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM offices WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        )
        .bind(tenant.0)
        .bind(office.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if locked.is_none() {
            return Err(StorageError::NotFound);
        }
        upsert_open_flag(
            &mut *tx,
            tenant,
            office,
            closing_days.open_on_weekends_and_holidays,
            at,
        )
        .await?;
        sqlx::query("DELETE FROM office_closing_rules WHERE tenant_id = $1 AND office_id = $2")
            .bind(tenant.0)
            .bind(office.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut rules = Vec::with_capacity(closing_days.rules.len());
        for rule in &closing_days.rules {
            rules.push(insert_rule(&mut tx, tenant, office, rule, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(OfficeCalendar {
            office_id: office,
            open_on_weekends_and_holidays: closing_days.open_on_weekends_and_holidays,
            rules,
        })
    }
}
