//! `/api/v1` for the organisation: offices, departments, and staff with their roles.

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAdmin, ApiCaller, ApiJson, Ctx};
use crate::input::{RoleInput, parse_roles};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_domain::{
    AccountId, AccountKind, ErrorCode, Lang, OfficeId, OfficeKind, RoleAssignment,
};
use madoguchi_storage::{Account, Department, Office};
use madoguchi_usecases::accounts::{self, NewStaffInput};
use madoguchi_usecases::{Actor, org};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/offices", get(list_offices).post(create_office))
        .route("/offices/{id}", get(office).put(update_office))
        .route("/offices/{id}/staff", get(office_staff))
        .route(
            "/departments",
            get(list_departments).post(create_department),
        )
        .route("/staff", get(list_staff).post(invite_staff))
        .route("/staff/{id}/roles", put(set_roles))
}

// ---- Wire types ----------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct OfficeResponse {
    pub id: Uuid,
    pub code: String,
    pub kind: OfficeKind,
    pub name_ja: String,
    pub name_en: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeRequest {
    pub code: String,
    pub kind: String,
    pub name_ja: String,
    pub name_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentResponse {
    pub id: Uuid,
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub office_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    #[serde(default)]
    pub office_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffResponse {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub disabled: bool,
    pub roles: Vec<RoleAssignment>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteStaffRequest {
    pub display_name: String,
    pub email: String,
    #[serde(default)]
    pub locale: Option<Lang>,
    pub roles: Vec<RoleInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    pub roles: Vec<RoleInput>,
}

// ---- Mapping -------------------------------------------------------------------------------

fn office_response(o: Office) -> OfficeResponse {
    OfficeResponse {
        id: o.id.0,
        code: o.code.as_str().to_owned(),
        kind: o.kind,
        name_ja: o.name_ja,
        name_en: o.name_en,
    }
}

fn department_response(d: Department) -> DepartmentResponse {
    DepartmentResponse {
        id: d.id.0,
        code: d.code.as_str().to_owned(),
        name_ja: d.name_ja,
        name_en: d.name_en,
        office_id: d.office_id.map(|o| o.0),
    }
}

async fn staff_response(state: &AppState, ctx: &Ctx, account: Account) -> AppResult<StaffResponse> {
    let roles = state.storage.roles(ctx.tenant.id, account.id).await?;
    Ok(StaffResponse {
        id: account.id.0,
        email: account.email.as_str().to_owned(),
        display_name: account.display_name.as_str().to_owned(),
        disabled: account.disabled,
        roles,
    })
}

// ---- Handlers ------------------------------------------------------------------------------

/// Offices of the city (public information).
#[utoipa::path(get, path = "/api/v1/offices", tag = "organisation", responses((status = 200, body = [OfficeResponse])))]
pub async fn list_offices(
    State(state): State<AppState>,
    ctx: Ctx,
) -> AppResult<Json<Vec<OfficeResponse>>> {
    Ok(Json(
        state
            .storage
            .list_offices(ctx.tenant.id)
            .await?
            .into_iter()
            .map(office_response)
            .collect(),
    ))
}

/// One office (public information).
#[utoipa::path(get, path = "/api/v1/offices/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    responses((status = 200, body = OfficeResponse), (status = 404, body = ErrorBody)))]
pub async fn office(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<OfficeResponse>> {
    Ok(Json(office_response(
        state.storage.office(ctx.tenant.id, OfficeId(id)).await?,
    )))
}

/// Add an office (administrators).
#[utoipa::path(post, path = "/api/v1/offices", tag = "organisation", security(("bearer" = [])), request_body = OfficeRequest,
    responses((status = 201, body = OfficeResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_office(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<OfficeRequest>,
) -> AppResult<(StatusCode, Json<OfficeResponse>)> {
    let new = org::parse_office(&body.code, &body.kind, &body.name_ja, &body.name_en)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let office = org::create_office(&*state.storage, &state, &scope, &new).await?;
    Ok((StatusCode::CREATED, Json(office_response(office))))
}

/// Change an office (administrators).
#[utoipa::path(put, path = "/api/v1/offices/{id}", tag = "organisation", security(("bearer" = [])), request_body = OfficeRequest,
    params(("id" = Uuid, Path)), responses((status = 200, body = OfficeResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_office(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<OfficeRequest>,
) -> AppResult<Json<OfficeResponse>> {
    let new = org::parse_office(&body.code, &body.kind, &body.name_ja, &body.name_en)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let office = org::update_office(&*state.storage, &state, &scope, OfficeId(id), &new).await?;
    Ok(Json(office_response(office)))
}

/// Staff working at an office. Branch and facility staff see only their own offices.
#[utoipa::path(get, path = "/api/v1/offices/{id}/staff", tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = [StaffResponse]), (status = 403, body = ErrorBody)))]
pub async fn office_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<StaffResponse>>> {
    caller.require(ApiScope::OrgRead)?;
    let office = OfficeId(id);
    if !caller.staff()?.may_read_office(office) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    state.storage.office(ctx.tenant.id, office).await?;
    let mut staff = Vec::new();
    for account in state
        .storage
        .list_accounts(ctx.tenant.id, AccountKind::Staff)
        .await?
    {
        let response = staff_response(&state, &ctx, account).await?;
        if response.roles.iter().any(|r| r.office_id == Some(office)) {
            staff.push(response);
        }
    }
    Ok(Json(staff))
}

/// Departments of the city (public information).
#[utoipa::path(get, path = "/api/v1/departments", tag = "organisation", responses((status = 200, body = [DepartmentResponse])))]
pub async fn list_departments(
    State(state): State<AppState>,
    ctx: Ctx,
) -> AppResult<Json<Vec<DepartmentResponse>>> {
    Ok(Json(
        state
            .storage
            .list_departments(ctx.tenant.id)
            .await?
            .into_iter()
            .map(department_response)
            .collect(),
    ))
}

/// Add a department (administrators).
#[utoipa::path(post, path = "/api/v1/departments", tag = "organisation", security(("bearer" = [])), request_body = DepartmentRequest,
    responses((status = 201, body = DepartmentResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_department(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<DepartmentRequest>,
) -> AppResult<(StatusCode, Json<DepartmentResponse>)> {
    let new = org::parse_department(&body.code, &body.name_ja, &body.name_en, body.office_id)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let department = org::create_department(&*state.storage, &scope, &new).await?;
    Ok((StatusCode::CREATED, Json(department_response(department))))
}

/// All staff with their roles (administrators).
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), responses((status = 200, body = [StaffResponse])))]
pub async fn list_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<Vec<StaffResponse>>> {
    caller.require_admin(ApiScope::OrgRead)?;
    let mut staff = Vec::new();
    for account in state
        .storage
        .list_accounts(ctx.tenant.id, AccountKind::Staff)
        .await?
    {
        staff.push(staff_response(&state, &ctx, account).await?);
    }
    Ok(Json(staff))
}

/// Invite a staff member; they receive a link to choose a password (administrators).
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), request_body = InviteStaffRequest,
    responses((status = 201, body = StaffResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    ApiJson(body): ApiJson<InviteStaffRequest>,
) -> AppResult<(StatusCode, Json<StaffResponse>)> {
    let roles = parse_roles(&body.roles)?;
    let input = NewStaffInput {
        display_name: body.display_name,
        email: body.email,
        locale: body.locale.unwrap_or(ctx.lang),
        roles,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let account = accounts::invite_staff(&state.accounts(&ctx.tenant), &scope, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(staff_response(&state, &ctx, account).await?),
    ))
}

/// Replace a staff member's roles (administrators).
#[utoipa::path(put, path = "/api/v1/staff/{id}/roles", tag = "staff", security(("bearer" = [])), request_body = RolesRequest,
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "last_admin: the city's last administrator keeps the role"), (status = 422, body = ErrorBody)))]
pub async fn set_roles(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAdmin,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RolesRequest>,
) -> AppResult<StatusCode> {
    let roles = parse_roles(&body.roles)?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    accounts::change_roles(&*state.storage, &scope, AccountId(id), roles).await?;
    Ok(StatusCode::NO_CONTENT)
}
