//! Request input that pages and the API read the same way.

use crate::http::error::{AppError, AppResult};
use madoguchi_domain::{DepartmentId, ErrorCode, OfficeId, Role, RoleAssignment};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

// One role as a form or a JSON body names it; `parse_roles` checks it. (A plain comment: a
// doc comment would become the schema's description in the OpenAPI document.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: String,
    #[serde(default)]
    pub office_id: Option<Uuid>,
    #[serde(default)]
    pub department_id: Option<Uuid>,
}

/// Parses role inputs, collecting every problem.
pub fn parse_roles(inputs: &[RoleInput]) -> AppResult<Vec<RoleAssignment>> {
    inputs
        .iter()
        .map(|input| {
            let role = Role::parse(&input.role)
                .ok_or_else(|| AppError::field("roles", ErrorCode::ValidationFailed))?;
            RoleAssignment::new(
                role,
                input.office_id.map(OfficeId),
                input.department_id.map(DepartmentId),
            )
            .map_err(|code| AppError::field("roles", code))
        })
        .collect()
}
