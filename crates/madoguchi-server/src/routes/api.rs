//! `/api/v1`: the JSON API. Bearer tokens only (no cookies), errors as
//! `{"error": {"code", "message", "fields"}}` in the caller's `Accept-Language`.

use crate::accounts::{self, NewStaffInput, SignUpInput};
use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAdmin, ApiCaller, ApiJson, Ctx};
use crate::input::{RoleInput, parse_roles};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_domain::{
    AccountId, AccountKind, ErrorCode, Lang, OfficeId, OfficeKind, RoleAssignment,
};
use madoguchi_storage::{Account, AuditEntry, AuditFilter, Department, Office, now_utc};
use madoguchi_usecases::{Actor, org};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", post(create_token))
        .route("/me", get(me))
        .route("/residents", post(sign_up))
        .route("/residents/{id}", get(resident))
        .route("/email-verifications", post(verify_email))
        .route("/offices", get(list_offices).post(create_office))
        .route("/offices/{id}", get(office).put(update_office))
        .route("/offices/{id}/staff", get(office_staff))
        .route(
            "/departments",
            get(list_departments).post(create_department),
        )
        .route("/staff", get(list_staff).post(invite_staff))
        .route("/staff/{id}/roles", put(set_roles))
        .route("/audit", get(audit))
}

// ---- Wire types ----------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
    pub kind: AccountKind,
    /// Scopes wanted; defaults to everything the account may have.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: Uuid,
    pub kind: AccountKind,
    pub email: String,
    pub display_name: String,
    pub locale: Lang,
    pub email_verified: bool,
    pub roles: Vec<RoleAssignment>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    pub display_name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub locale: Option<Lang>,
}

/// A sign-up was accepted: a mail is on its way to `email`.
#[derive(Serialize, ToSchema)]
pub struct SignUpAccepted {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResidentResponse {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub email_verified: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    pub token: String,
}

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

#[derive(Serialize, ToSchema)]
pub struct AuditResponse {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Actions starting with this, e.g. `staff.`.
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// RFC 3339 instant, inclusive.
    pub from: Option<String>,
    /// RFC 3339 instant, exclusive.
    pub until: Option<String>,
    /// Entries older than this RFC 3339 instant (paging).
    pub before: Option<String>,
    pub limit: Option<i64>,
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

fn audit_response(e: AuditEntry) -> AuditResponse {
    AuditResponse {
        id: e.id.0,
        at: e.at,
        actor_kind: e.actor_kind.as_str().to_owned(),
        actor_id: e.actor_id.map(|a| a.0),
        action: e.action,
        target: e.target,
        details: e.details,
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

/// Exchange email and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<TokenRequest>,
) -> AppResult<Json<TokenResponse>> {
    let account = accounts::sign_in(&state, &ctx, body.kind, &body.email, body.password).await?;
    let allowed: Vec<ApiScope> = match account.kind {
        AccountKind::Resident => vec![ApiScope::AccountRead],
        AccountKind::Staff => {
            let access = madoguchi_domain::account::StaffAccess::new(
                state.storage.roles(ctx.tenant.id, account.id).await?,
            );
            let mut scopes = vec![ApiScope::AccountRead, ApiScope::OrgRead];
            if access.may_manage_organisation() {
                scopes.push(ApiScope::OrgWrite);
            }
            if access.may_read_audit_log() {
                scopes.push(ApiScope::AuditRead);
            }
            scopes
        }
    };
    let scopes = match body.scopes {
        None => allowed,
        Some(requested) => {
            let mut granted = Vec::new();
            for raw in requested {
                let scope = ApiScope::parse(&raw)
                    .ok_or_else(|| AppError::field("scopes", ErrorCode::ValidationFailed))?;
                if !allowed.contains(&scope) {
                    return Err(AppError::new(ErrorCode::Forbidden));
                }
                granted.push(scope);
            }
            granted
        }
    };
    let (token, claims) = state
        .api_keys
        .issue(
            account.id,
            ctx.tenant.id,
            account.kind,
            scopes,
            now_utc(),
            state.config.api_token_ttl_s,
        )
        .map_err(AppError::internal)?;
    Ok(Json(TokenResponse {
        token,
        token_type: "Bearer",
        expires_at: OffsetDateTime::from_unix_timestamp(claims.exp).map_err(AppError::internal)?,
        scopes: claims
            .scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    }))
}

/// The calling account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(caller: ApiCaller) -> AppResult<Json<MeResponse>> {
    caller.require(ApiScope::AccountRead)?;
    let a = &caller.account;
    Ok(Json(MeResponse {
        id: a.id.0,
        kind: a.kind,
        email: a.email.as_str().to_owned(),
        display_name: a.display_name.as_str().to_owned(),
        locale: a.locale,
        email_verified: a.email_verified_at.is_some(),
        roles: caller
            .access
            .as_ref()
            .map(|s| s.assignments.clone())
            .unwrap_or_default(),
    }))
}

/// Register a resident account: a verification mail is sent. The answer is the same whether
/// the address is new or already registered (its owner is mailed instead), so it reveals
/// nobody's registration; the account exists once its address is verified.
#[utoipa::path(post, path = "/api/v1/residents", tag = "residents", request_body = SignUpRequest,
    responses((status = 202, body = SignUpAccepted), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many sign-ups from this address this hour")))]
pub async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<SignUpRequest>,
) -> AppResult<(StatusCode, Json<SignUpAccepted>)> {
    let input = SignUpInput {
        display_name: body.display_name,
        email: body.email,
        password: body.password,
        locale: body.locale.unwrap_or(ctx.lang),
    };
    let email = input.email.clone();
    accounts::sign_up(&state, &ctx, input).await?;
    // The address as parsed (it was, or sign-up would have failed), never the account's id.
    let email = madoguchi_domain::Email::parse(&email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or(email);
    Ok((StatusCode::ACCEPTED, Json(SignUpAccepted { email })))
}

/// A resident: the resident themself, or an administrator.
#[utoipa::path(get, path = "/api/v1/residents/{id}", tag = "residents", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ResidentResponse), (status = 404, body = ErrorBody)))]
pub async fn resident(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Path(id): Path<Uuid>,
) -> AppResult<Json<ResidentResponse>> {
    caller.require(ApiScope::AccountRead)?;
    let id = AccountId(id);
    let allowed = match caller.account.kind {
        AccountKind::Resident => caller.account.id == id,
        AccountKind::Staff => caller.staff()?.is_admin(),
    };
    if !allowed {
        // Not 403: whether another resident exists is itself private.
        return Err(AppError::new(ErrorCode::NotFound));
    }
    let account = state.storage.account(ctx.tenant.id, id).await?;
    if account.kind != AccountKind::Resident {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    Ok(Json(ResidentResponse {
        id: account.id.0,
        email: account.email.as_str().to_owned(),
        display_name: account.display_name.as_str().to_owned(),
        email_verified: account.email_verified_at.is_some(),
    }))
}

/// Spend an email-verification token.
#[utoipa::path(post, path = "/api/v1/email-verifications", tag = "residents", request_body = VerifyEmailRequest,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn verify_email(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> AppResult<StatusCode> {
    accounts::verify_email(&state, &ctx, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
    let account = accounts::invite_staff(&state, &ctx, &caller.account, input).await?;
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
    accounts::change_roles(&state, &ctx, &caller.account, AccountId(id), roles).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_instant(field_name: &str, raw: &Option<String>) -> AppResult<Option<OffsetDateTime>> {
    raw.as_deref()
        .map(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| AppError::field(field_name, ErrorCode::ValidationFailed))
        })
        .transpose()
}

/// Browse the audit log, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = [AuditResponse]), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
    Query(query): Query<AuditQuery>,
) -> AppResult<Json<Vec<AuditResponse>>> {
    caller.require(ApiScope::AuditRead)?;
    if !caller.staff()?.may_read_audit_log() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let filter = AuditFilter {
        action_prefix: query.action.filter(|a| !a.is_empty()),
        actor_id: query.actor_id.map(AccountId),
        from: parse_instant("from", &query.from)?,
        until: parse_instant("until", &query.until)?,
        before: parse_instant("before", &query.before)?,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(Json(
        state
            .storage
            .list_audit(ctx.tenant.id, &filter)
            .await?
            .into_iter()
            .map(audit_response)
            .collect(),
    ))
}
