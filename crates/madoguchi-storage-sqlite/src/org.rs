//! Offices and departments on SQLite.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_uuid, get_string, get_uuid, map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{DepartmentId, OfficeId, OfficeKind, OrgCode, TenantId};
use madoguchi_storage::{
    Department, NewDepartment, NewOffice, Office, OrgStore, StorageError, StorageResult, now_utc,
    to_unix_micros,
};
use sqlx::sqlite::SqliteRow;

fn office_from_row(row: &SqliteRow) -> StorageResult<Office> {
    Ok(Office {
        id: OfficeId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        code: OrgCode::parse(&get_string(row, "code")?).map_err(|_| corrupt("office code"))?,
        kind: OfficeKind::parse(&get_string(row, "kind")?).ok_or_else(|| corrupt("office kind"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        created_at: get_instant(row, "created_at")?,
    })
}

fn department_from_row(row: &SqliteRow) -> StorageResult<Department> {
    Ok(Department {
        id: DepartmentId(get_uuid(row, "id")?),
        tenant_id: TenantId(get_uuid(row, "tenant_id")?),
        code: OrgCode::parse(&get_string(row, "code")?).map_err(|_| corrupt("department code"))?,
        name_ja: get_string(row, "name_ja")?,
        name_en: get_string(row, "name_en")?,
        office_id: get_opt_uuid(row, "office_id")?.map(OfficeId),
        created_at: get_instant(row, "created_at")?,
    })
}

#[async_trait]
impl OrgStore for SqliteStorage {
    async fn create_office(&self, tenant: TenantId, new: &NewOffice) -> StorageResult<Office> {
        let id = OfficeId::new();
        let now = now_utc();
        sqlx::query(
            "INSERT INTO offices (id, tenant_id, code, kind, name_ja, name_en, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(to_unix_micros(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Office {
            id,
            tenant_id: tenant,
            code: new.code.clone(),
            kind: new.kind,
            name_ja: new.name_ja.clone(),
            name_en: new.name_en.clone(),
            created_at: now,
        })
    }

    async fn update_office(
        &self,
        tenant: TenantId,
        id: OfficeId,
        new: &NewOffice,
    ) -> StorageResult<Office> {
        let done = sqlx::query(
            "UPDATE offices SET code = ?, kind = ?, name_ja = ?, name_en = ? WHERE tenant_id = ? AND id = ?",
        )
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        self.office(tenant, id).await
    }

    async fn office(&self, tenant: TenantId, id: OfficeId) -> StorageResult<Office> {
        let row = sqlx::query("SELECT * FROM offices WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        office_from_row(&row)
    }

    async fn list_offices(&self, tenant: TenantId) -> StorageResult<Vec<Office>> {
        // Headquarters first, then branches, sub-offices and the rest: the order staff expect.
        let rows = sqlx::query(
            "SELECT * FROM offices WHERE tenant_id = ? ORDER BY CASE kind
                WHEN 'headquarters' THEN 0 WHEN 'branch' THEN 1 WHEN 'sub_office' THEN 2
                WHEN 'community_centre' THEN 3 WHEN 'hospital' THEN 4 ELSE 5 END, code",
        )
        .bind(uuid_text(tenant.0))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(office_from_row).collect()
    }

    async fn create_department(
        &self,
        tenant: TenantId,
        new: &NewDepartment,
    ) -> StorageResult<Department> {
        let id = DepartmentId::new();
        let now = now_utc();
        sqlx::query(
            "INSERT INTO departments (id, tenant_id, code, name_ja, name_en, office_id, created_at)
             SELECT ?, ?, ?, ?, ?, ?, ?
             WHERE ? IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = ? AND id = ?)",
        )
        .bind(uuid_text(id.0))
        .bind(uuid_text(tenant.0))
        .bind(new.code.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .bind(to_unix_micros(now))
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .bind(uuid_text(tenant.0))
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .execute(&self.pool)
        .await
        .map_err(map_err)
        .and_then(|done| {
            if done.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StorageError::Constraint {
                    constraint: "departments_office".into(),
                })
            }
        })?;
        Ok(Department {
            id,
            tenant_id: tenant,
            code: new.code.clone(),
            name_ja: new.name_ja.clone(),
            name_en: new.name_en.clone(),
            office_id: new.office_id,
            created_at: now,
        })
    }

    async fn update_department(
        &self,
        tenant: TenantId,
        id: DepartmentId,
        new: &NewDepartment,
    ) -> StorageResult<Department> {
        let done = sqlx::query(
            "UPDATE departments SET code = ?, name_ja = ?, name_en = ?, office_id = ?
             WHERE tenant_id = ? AND id = ?
               AND (? IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = ? AND id = ?))",
        )
        .bind(new.code.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(id.0))
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .bind(uuid_text(tenant.0))
        .bind(new.office_id.map(|o| uuid_text(o.0)))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        self.department(tenant, id).await
    }

    async fn department(&self, tenant: TenantId, id: DepartmentId) -> StorageResult<Department> {
        let row = sqlx::query("SELECT * FROM departments WHERE tenant_id = ? AND id = ?")
            .bind(uuid_text(tenant.0))
            .bind(uuid_text(id.0))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        department_from_row(&row)
    }

    async fn list_departments(&self, tenant: TenantId) -> StorageResult<Vec<Department>> {
        let rows = sqlx::query("SELECT * FROM departments WHERE tenant_id = ? ORDER BY code")
            .bind(uuid_text(tenant.0))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(department_from_row).collect()
    }
}
