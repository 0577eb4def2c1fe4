//! Offices and departments on PostgreSQL.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{DepartmentId, OfficeId, OfficeKind, OrgCode, TenantId};
use madoguchi_storage::{
    Department, NewDepartment, NewOffice, Office, OrgStore, StorageError, StorageResult, now_utc,
};
use sqlx::postgres::PgRow;

fn office_from_row(row: &PgRow) -> StorageResult<Office> {
    Ok(Office {
        id: OfficeId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        code: OrgCode::parse(&get::<String>(row, "code")?).map_err(|_| corrupt("office code"))?,
        kind: OfficeKind::parse(&get::<String>(row, "kind")?)
            .ok_or_else(|| corrupt("office kind"))?,
        name_ja: get(row, "name_ja")?,
        name_en: get(row, "name_en")?,
        created_at: get(row, "created_at")?,
    })
}

fn department_from_row(row: &PgRow) -> StorageResult<Department> {
    Ok(Department {
        id: DepartmentId(get(row, "id")?),
        tenant_id: TenantId(get(row, "tenant_id")?),
        code: OrgCode::parse(&get::<String>(row, "code")?)
            .map_err(|_| corrupt("department code"))?,
        name_ja: get(row, "name_ja")?,
        name_en: get(row, "name_en")?,
        office_id: get::<Option<uuid::Uuid>>(row, "office_id")?.map(OfficeId),
        created_at: get(row, "created_at")?,
    })
}

#[async_trait]
impl OrgStore for PgStorage {
    async fn create_office(&self, tenant: TenantId, new: &NewOffice) -> StorageResult<Office> {
        let row = sqlx::query(
            "INSERT INTO offices (id, tenant_id, code, kind, name_ja, name_en, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING *",
        )
        .bind(OfficeId::new().0)
        .bind(tenant.0)
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(now_utc())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        office_from_row(&row)
    }

    async fn update_office(
        &self,
        tenant: TenantId,
        id: OfficeId,
        new: &NewOffice,
    ) -> StorageResult<Office> {
        let row = sqlx::query(
            "UPDATE offices SET code = $1, kind = $2, name_ja = $3, name_en = $4
             WHERE tenant_id = $5 AND id = $6
             RETURNING *",
        )
        .bind(new.code.as_str())
        .bind(new.kind.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        office_from_row(&row)
    }

    async fn office(&self, tenant: TenantId, id: OfficeId) -> StorageResult<Office> {
        let row = sqlx::query("SELECT * FROM offices WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        office_from_row(&row)
    }

    async fn list_offices(&self, tenant: TenantId) -> StorageResult<Vec<Office>> {
        // Headquarters first, then branches, sub-offices and the rest: the order staff expect.
        // Codes sort bytewise ("C"), as on SQLite, whatever the database's collation.
        let rows = sqlx::query(
            "SELECT * FROM offices WHERE tenant_id = $1 ORDER BY CASE kind
                WHEN 'headquarters' THEN 0 WHEN 'branch' THEN 1 WHEN 'sub_office' THEN 2
                WHEN 'community_centre' THEN 3 WHEN 'hospital' THEN 4 ELSE 5 END, code COLLATE \"C\"",
        )
        .bind(tenant.0)
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
        // The foreign key only proves the office exists; the EXISTS also proves it is this
        // tenant's, so a department can never sit in another municipality's office.
        let row = sqlx::query(
            "INSERT INTO departments (id, tenant_id, code, name_ja, name_en, office_id, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7
             WHERE $6 IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = $2 AND id = $6)
             RETURNING *",
        )
        .bind(DepartmentId::new().0)
        .bind(tenant.0)
        .bind(new.code.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.office_id.map(|o| o.0))
        .bind(now_utc())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StorageError::Constraint {
            constraint: "departments_office".into(),
        })?;
        department_from_row(&row)
    }

    async fn update_department(
        &self,
        tenant: TenantId,
        id: DepartmentId,
        new: &NewDepartment,
    ) -> StorageResult<Department> {
        let row = sqlx::query(
            "UPDATE departments SET code = $1, name_ja = $2, name_en = $3, office_id = $4
             WHERE tenant_id = $5 AND id = $6
               AND ($4 IS NULL OR EXISTS (SELECT 1 FROM offices WHERE tenant_id = $5 AND id = $4))
             RETURNING *",
        )
        .bind(new.code.as_str())
        .bind(&new.name_ja)
        .bind(&new.name_en)
        .bind(new.office_id.map(|o| o.0))
        .bind(tenant.0)
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        department_from_row(&row)
    }

    async fn department(&self, tenant: TenantId, id: DepartmentId) -> StorageResult<Department> {
        let row = sqlx::query("SELECT * FROM departments WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        department_from_row(&row)
    }

    async fn list_departments(&self, tenant: TenantId) -> StorageResult<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT * FROM departments WHERE tenant_id = $1 ORDER BY code COLLATE \"C\"",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(department_from_row).collect()
    }
}
