//! The city's organisation: offices and departments are parsed the same way whichever page,
//! API call or command asks, written, forgotten by this node's caches, and audited in one place.
//! Only administrators reach these use cases; the caller checks the role.

use crate::cache::NodeCaches;
use crate::{FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::org::parse_org_name;
use madoguchi_domain::{ErrorCode, OfficeId, OfficeKind, OrgCode};
use madoguchi_storage::{
    AuditStore, Department, NewDepartment, NewOffice, Office, OrgStore, StorageError,
};
use uuid::Uuid;

/// Parses an office from its four inputs, reporting every problem at once.
pub fn parse_office(
    code: &str,
    kind: &str,
    name_ja: &str,
    name_en: &str,
) -> UseCaseResult<NewOffice> {
    let mut errors = Vec::new();
    let code = OrgCode::parse(code)
        .map_err(|c| errors.push(FieldError::new("code", c)))
        .ok();
    let kind = OfficeKind::parse(kind);
    if kind.is_none() {
        errors.push(FieldError::new("kind", ErrorCode::ValidationFailed));
    }
    let name_ja = parse_org_name(name_ja)
        .map_err(|c| errors.push(FieldError::new("name_ja", c)))
        .ok();
    let name_en = parse_org_name(name_en)
        .map_err(|c| errors.push(FieldError::new("name_en", c)))
        .ok();
    match (code, kind, name_ja, name_en) {
        (Some(code), Some(kind), Some(name_ja), Some(name_en)) => Ok(NewOffice {
            code,
            kind,
            name_ja,
            name_en,
        }),
        _ => Err(UseCaseError::fields(errors)),
    }
}

/// Parses a department, reporting every problem at once.
pub fn parse_department(
    code: &str,
    name_ja: &str,
    name_en: &str,
    office_id: Option<Uuid>,
) -> UseCaseResult<NewDepartment> {
    let mut errors = Vec::new();
    let code = OrgCode::parse(code)
        .map_err(|c| errors.push(FieldError::new("code", c)))
        .ok();
    let name_ja = parse_org_name(name_ja)
        .map_err(|c| errors.push(FieldError::new("name_ja", c)))
        .ok();
    let name_en = parse_org_name(name_en)
        .map_err(|c| errors.push(FieldError::new("name_en", c)))
        .ok();
    match (code, name_ja, name_en) {
        (Some(code), Some(name_ja), Some(name_en)) => Ok(NewDepartment {
            code,
            name_ja,
            name_en,
            office_id: office_id.map(OfficeId),
        }),
        _ => Err(UseCaseError::fields(errors)),
    }
}

pub async fn create_office<S: OrgStore + AuditStore + ?Sized>(
    store: &S,
    caches: &dyn NodeCaches,
    scope: &Scope,
    new: &NewOffice,
) -> UseCaseResult<Office> {
    let office = store.create_office(scope.tenant, new).await?;
    caches.offices_changed(scope.tenant);
    let details = serde_json::json!({"code": office.code.as_str()});
    audit::record(
        store,
        scope,
        "office.created",
        Some(office.id.to_string()),
        details,
    )
    .await?;
    Ok(office)
}

pub async fn update_office<S: OrgStore + AuditStore + ?Sized>(
    store: &S,
    caches: &dyn NodeCaches,
    scope: &Scope,
    id: OfficeId,
    new: &NewOffice,
) -> UseCaseResult<Office> {
    let office = store.update_office(scope.tenant, id, new).await?;
    caches.offices_changed(scope.tenant);
    let details = serde_json::json!({"code": office.code.as_str()});
    audit::record(
        store,
        scope,
        "office.updated",
        Some(office.id.to_string()),
        details,
    )
    .await?;
    Ok(office)
}

pub async fn create_department<S: OrgStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    new: &NewDepartment,
) -> UseCaseResult<Department> {
    let department = store
        .create_department(scope.tenant, new)
        .await
        .map_err(|e| match e {
            // The office named is not one of this tenant's.
            StorageError::Constraint { .. } => {
                UseCaseError::field("office_id", ErrorCode::ValidationFailed)
            }
            other => other.into(),
        })?;
    let details = serde_json::json!({"code": department.code.as_str()});
    let target = Some(department.id.to_string());
    audit::record(store, scope, "department.created", target, details).await?;
    Ok(department)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_office_with_every_input_wrong_reports_all_four_fields() {
        let error = parse_office("", "castle", "", "").err();
        let fields: Vec<String> = error
            .map(|e| e.fields.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["code", "kind", "name_ja", "name_en"]);
    }
}
