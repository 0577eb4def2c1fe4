//! Organisation flows shared by the pages and the API: offices and departments are parsed the
//! same way, written, forgotten by this node's caches, and audited in one place.

use crate::accounts::audit;
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::state::AppState;
use madoguchi_domain::org::parse_org_name;
use madoguchi_domain::{AccountId, ErrorCode, OfficeId, OfficeKind, OrgCode};
use madoguchi_storage::{ActorKind, Department, NewDepartment, NewOffice, Office, StorageError};
use uuid::Uuid;

fn field(name: &str, code: ErrorCode) -> FieldError {
    FieldError {
        field: name.to_owned(),
        code,
    }
}

/// Parses an office from its four inputs, reporting every problem at once.
pub fn parse_office(code: &str, kind: &str, name_ja: &str, name_en: &str) -> AppResult<NewOffice> {
    let mut errors = Vec::new();
    let code = OrgCode::parse(code)
        .map_err(|c| errors.push(field("code", c)))
        .ok();
    let kind = OfficeKind::parse(kind);
    if kind.is_none() {
        errors.push(field("kind", ErrorCode::ValidationFailed));
    }
    let name_ja = parse_org_name(name_ja)
        .map_err(|c| errors.push(field("name_ja", c)))
        .ok();
    let name_en = parse_org_name(name_en)
        .map_err(|c| errors.push(field("name_en", c)))
        .ok();
    match (code, kind, name_ja, name_en) {
        (Some(code), Some(kind), Some(name_ja), Some(name_en)) => Ok(NewOffice {
            code,
            kind,
            name_ja,
            name_en,
        }),
        _ => Err(AppError::fields(errors)),
    }
}

/// Parses a department, reporting every problem at once.
pub fn parse_department(
    code: &str,
    name_ja: &str,
    name_en: &str,
    office_id: Option<Uuid>,
) -> AppResult<NewDepartment> {
    let mut errors = Vec::new();
    let code = OrgCode::parse(code)
        .map_err(|c| errors.push(field("code", c)))
        .ok();
    let name_ja = parse_org_name(name_ja)
        .map_err(|c| errors.push(field("name_ja", c)))
        .ok();
    let name_en = parse_org_name(name_en)
        .map_err(|c| errors.push(field("name_en", c)))
        .ok();
    match (code, name_ja, name_en) {
        (Some(code), Some(name_ja), Some(name_en)) => Ok(NewDepartment {
            code,
            name_ja,
            name_en,
            office_id: office_id.map(OfficeId),
        }),
        _ => Err(AppError::fields(errors)),
    }
}

pub async fn create_office(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    new: &NewOffice,
) -> AppResult<Office> {
    let office = state.storage.create_office(ctx.tenant.id, new).await?;
    state.offices_changed(ctx.tenant.id);
    let details = serde_json::json!({"code": office.code.as_str()});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "office.created",
        Some(office.id.to_string()),
        details,
    )
    .await?;
    Ok(office)
}

pub async fn update_office(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    id: OfficeId,
    new: &NewOffice,
) -> AppResult<Office> {
    let office = state.storage.update_office(ctx.tenant.id, id, new).await?;
    state.offices_changed(ctx.tenant.id);
    let details = serde_json::json!({"code": office.code.as_str()});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "office.updated",
        Some(office.id.to_string()),
        details,
    )
    .await?;
    Ok(office)
}

pub async fn create_department(
    state: &AppState,
    ctx: &Ctx,
    admin: AccountId,
    new: &NewDepartment,
) -> AppResult<Department> {
    let department = state
        .storage
        .create_department(ctx.tenant.id, new)
        .await
        .map_err(|e| match e {
            // The office named is not one of this tenant's.
            StorageError::Constraint { .. } => {
                AppError::field("office_id", ErrorCode::ValidationFailed)
            }
            other => other.into(),
        })?;
    let details = serde_json::json!({"code": department.code.as_str()});
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin),
        "department.created",
        Some(department.id.to_string()),
        details,
    )
    .await?;
    Ok(department)
}
