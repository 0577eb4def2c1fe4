//! Each tenant's calendar settings on SQLite: imported holidays, the year-end closure and the
//! offices' closing days. Dates are `YYYY-MM-DD` text, which sorts in calendar order. Every
//! write that replaces a set runs under `BEGIN IMMEDIATE`, so readers see the old set or the
//! new one.

use crate::{SqliteStorage, corrupt, get_string, get_uuid, map_err, uuid_text};
use async_trait::async_trait;
use madoguchi_calendar::{
    ClosingRule, ImportedHoliday, ImportedHolidays, MonthDay, OfficeClosingDays, YearEndClosure,
};
use madoguchi_domain::{OfficeId, TenantId};
use madoguchi_storage::{
    CalendarStore, ClosingRuleColumns, HolidayImport, OfficeCalendar, StorageError, StorageResult,
    StoredClosingRule, now_utc, to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use time::Date;
use uuid::Uuid;

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn date_text(date: Date) -> String {
    date.format(DATE_FORMAT)
        .unwrap_or_else(|_| date.to_string())
}

fn get_date(row: &SqliteRow, column: &str) -> StorageResult<Option<Date>> {
    let text: Option<String> = row.try_get(column).map_err(map_err)?;
    text.map(|t| Date::parse(&t, DATE_FORMAT).map_err(|_| corrupt(column)))
        .transpose()
}

/// The first and last day of `year`, for range deletes.
fn year_bounds(year: i32) -> StorageResult<(String, String)> {
    let first = Date::from_calendar_date(year, time::Month::January, 1)
        .map_err(|_| StorageError::Other(format!("year {year} out of range")))?;
    let last = Date::from_calendar_date(year, time::Month::December, 31)
        .map_err(|_| StorageError::Other(format!("year {year} out of range")))?;
    Ok((date_text(first), date_text(last)))
}

fn rule_from_row(row: &SqliteRow) -> StorageResult<StoredClosingRule> {
    let kind = get_string(row, "kind")?;
    let weekday: Option<String> = row.try_get("weekday").map_err(map_err)?;
    let on_holiday: Option<String> = row.try_get("on_holiday").map_err(map_err)?;
    let week: Option<String> = row.try_get("week").map_err(map_err)?;
    let rule = ClosingRuleColumns::rule(
        &kind,
        weekday.as_deref(),
        on_holiday.as_deref(),
        week.as_deref(),
        get_date(row, "first_date")?,
        get_date(row, "last_date")?,
        row.try_get("note").map_err(map_err)?,
    )
    .ok_or_else(|| corrupt("office closing rule"))?;
    Ok(StoredClosingRule {
        id: get_uuid(row, "id")?,
        rule,
    })
}

/// Whether the office is one of the tenant's.
async fn office_exists(
    executor: impl sqlx::SqliteExecutor<'_>,
    tenant: TenantId,
    office: OfficeId,
) -> StorageResult<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM offices WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(office.0))
            .fetch_optional(executor)
            .await
            .map_err(map_err)?;
    Ok(found.is_some())
}

/// Inserts one rule of an office already known to be the tenant's.
async fn insert_rule(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    office: OfficeId,
    rule: &ClosingRule,
    at: i64,
) -> StorageResult<StoredClosingRule> {
    let id = Uuid::now_v7();
    let columns = ClosingRuleColumns::of(rule);
    sqlx::query(
        "INSERT INTO office_closing_rules
            (id, tenant_id, office_id, kind, weekday, on_holiday, week, first_date, last_date, note, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(id))
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(office.0))
    .bind(columns.kind)
    .bind(columns.weekday)
    .bind(columns.on_holiday)
    .bind(columns.week)
    .bind(columns.first_date.map(date_text))
    .bind(columns.last_date.map(date_text))
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

async fn upsert_open_flag(
    executor: impl sqlx::SqliteExecutor<'_>,
    tenant: TenantId,
    office: OfficeId,
    open: bool,
    at: i64,
) -> StorageResult<u64> {
    // The office is checked to be the tenant's in the same statement; `WHERE` also keeps
    // SQLite from reading `ON CONFLICT` as part of the `SELECT`.
    let done = sqlx::query(
        "INSERT INTO office_calendars (office_id, tenant_id, open_on_weekends_and_holidays, updated_at)
         SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM offices WHERE tenant_id = ? AND id = ?)
         ON CONFLICT (office_id) DO UPDATE SET
            open_on_weekends_and_holidays = excluded.open_on_weekends_and_holidays,
            updated_at = excluded.updated_at",
    )
    .bind(uuid_text(office.0))
    .bind(uuid_text(tenant.0))
    .bind(i64::from(open))
    .bind(at)
    .bind(uuid_text(tenant.0))
    .bind(uuid_text(office.0))
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected())
}

impl SqliteStorage {
    async fn office_rules(
        &self,
        tenant: TenantId,
        office: Option<OfficeId>,
    ) -> StorageResult<Vec<(OfficeId, StoredClosingRule)>> {
        let rows = sqlx::query(
            "SELECT * FROM office_closing_rules
             WHERE tenant_id = ? AND (? IS NULL OR office_id = ?)
             ORDER BY created_at, id",
        )
        .bind(uuid_text(tenant.0))
        .bind(office.map(|o| uuid_text(o.0)))
        .bind(office.map(|o| uuid_text(o.0)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| Ok((OfficeId(get_uuid(row, "office_id")?), rule_from_row(row)?)))
            .collect()
    }
}

#[async_trait]
impl CalendarStore for SqliteStorage {
    async fn imported_holidays(&self, tenant: TenantId) -> StorageResult<ImportedHolidays> {
        let rows = sqlx::query(
            "SELECT date, name FROM calendar_holidays WHERE tenant_id = ? ORDER BY date",
        )
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(ImportedHoliday {
                    date: get_date(row, "date")?.ok_or_else(|| corrupt("holiday date"))?,
                    name: get_string(row, "name")?,
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
        let at = to_unix_micros(now_utc());
        let mut tx = self.begin_immediate().await?;
        let mut removed = 0;
        for year in &years {
            let (first, last) = year_bounds(*year)?;
            removed += sqlx::query(
                "DELETE FROM calendar_holidays WHERE tenant_id = ? AND date BETWEEN ? AND ?",
            )
            .bind(uuid_text(tenant.0))
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        }
        let mut stored = 0;
        for entry in holidays.entries() {
            stored += sqlx::query(
                "INSERT INTO calendar_holidays (tenant_id, date, name, imported_at) VALUES (?, ?, ?, ?)",
            )
            .bind(uuid_text(tenant.0))
            .bind(date_text(entry.date))
            .bind(&entry.name)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        }
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
            "DELETE FROM calendar_holidays WHERE tenant_id = ? AND date BETWEEN ? AND ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(first)
        .bind(last)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn year_end_closure(&self, tenant: TenantId) -> StorageResult<Option<YearEndClosure>> {
        let row = sqlx::query(
            "SELECT first_month, first_day, last_month, last_day FROM calendar_year_end WHERE tenant_id = ?",
        )
        .bind(uuid_text(tenant.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(Some(YearEndClosure::default()));
        };
        let get = |column: &str| -> StorageResult<Option<u8>> {
            let value: Option<i64> = row.try_get(column).map_err(map_err)?;
            value
                .map(|v| u8::try_from(v).map_err(|_| corrupt("year-end closure")))
                .transpose()
        };
        match (
            get("first_month")?,
            get("first_day")?,
            get("last_month")?,
            get("last_day")?,
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
        let part = |f: fn(&YearEndClosure) -> u8| closure.as_ref().map(|c| i64::from(f(c)));
        sqlx::query(
            "INSERT INTO calendar_year_end (tenant_id, first_month, first_day, last_month, last_day, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id) DO UPDATE SET
                first_month = excluded.first_month, first_day = excluded.first_day,
                last_month = excluded.last_month, last_day = excluded.last_day,
                updated_at = excluded.updated_at",
        )
        .bind(uuid_text(tenant.0))
        .bind(part(|c| c.first().month()))
        .bind(part(|c| c.first().day()))
        .bind(part(|c| c.last().month()))
        .bind(part(|c| c.last().day()))
        .bind(to_unix_micros(now_utc()))
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
             WHERE o.tenant_id = ? ORDER BY CASE o.kind
                WHEN 'headquarters' THEN 0 WHEN 'branch' THEN 1 WHEN 'sub_office' THEN 2
                WHEN 'community_centre' THEN 3 WHEN 'hospital' THEN 4 ELSE 5 END, o.code",
        )
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut rules = self.office_rules(tenant, None).await?;
        let mut calendars = Vec::new();
        for row in &offices {
            let office_id = OfficeId(get_uuid(row, "office_id")?);
            let open: Option<i64> = row.try_get("open").map_err(map_err)?;
            let (own, rest): (Vec<_>, Vec<_>) = rules
                .into_iter()
                .partition(|(office, _)| *office == office_id);
            rules = rest;
            if open.is_none() && own.is_empty() {
                continue;
            }
            calendars.push(OfficeCalendar {
                office_id,
                open_on_weekends_and_holidays: open.is_some_and(|o| o != 0),
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
        if !office_exists(&self.pool, tenant, office).await? {
            return Err(StorageError::NotFound);
        }
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT open_on_weekends_and_holidays FROM office_calendars WHERE tenant_id = ? AND office_id = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(office.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let rules = self.office_rules(tenant, Some(office)).await?;
        Ok(OfficeCalendar {
            office_id: office,
            open_on_weekends_and_holidays: open.is_some_and(|o| o != 0),
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
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE EXISTS (SELECT 1 FROM offices WHERE tenant_id = ? AND id = ?)",
        )
        .bind(uuid_text(id))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(office.0))
        .bind(columns.kind)
        .bind(columns.weekday)
        .bind(columns.on_holiday)
        .bind(columns.week)
        .bind(columns.first_date.map(date_text))
        .bind(columns.last_date.map(date_text))
        .bind(columns.note)
        .bind(to_unix_micros(now_utc()))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(office.0))
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
            "DELETE FROM office_closing_rules WHERE tenant_id = ? AND office_id = ? AND id = ?",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(office.0))
        .bind(uuid_text(rule))
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
        let at = to_unix_micros(now_utc());
        if upsert_open_flag(&self.pool, tenant, office, open, at).await? == 0 {
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
        let at = to_unix_micros(now_utc());
        let mut tx = self.begin_immediate().await?;
        if upsert_open_flag(
            &mut *tx,
            tenant,
            office,
            closing_days.open_on_weekends_and_holidays,
            at,
        )
        .await?
            == 0
        {
            return Err(StorageError::NotFound);
        }
        sqlx::query("DELETE FROM office_closing_rules WHERE tenant_id = ? AND office_id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(office.0))
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
