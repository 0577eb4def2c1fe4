//! `/api/v1` for accounts: bearer tokens, the calling account, resident sign-up and email
//! verification. Bearer tokens only (no cookies), errors as
//! `{"error": {"code", "message", "fields"}}` in the caller's `Accept-Language`.

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiCaller, ApiJson, Ctx};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_domain::{AccountId, AccountKind, ErrorCode, Lang, RoleAssignment};
use madoguchi_usecases::Actor;
use madoguchi_usecases::accounts::{self, SignIn, SignUpInput};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", post(create_token))
        .route("/me", get(me))
        .route("/residents", post(sign_up))
        .route("/residents/{id}", get(resident))
        .route("/email-verifications", post(verify_email))
}

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

/// Exchange email and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<TokenRequest>,
) -> AppResult<Json<TokenResponse>> {
    let request = accounts::TokenRequest {
        sign_in: SignIn {
            kind: body.kind,
            email: body.email,
            password: body.password,
            client: ctx.client_ip,
            next: None,
        },
        scopes: body.scopes,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    let deps = state.accounts(&ctx.tenant);
    let ttl_s = state.config.api_token_ttl_s;
    let issued = accounts::issue_api_token(&deps, &scope, &state.api_keys, ttl_s, request).await?;
    Ok(Json(TokenResponse {
        token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
        scopes: issued
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
        client: ctx.client_ip,
        next: None,
    };
    let email = input.email.clone();
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    accounts::sign_up(&state.accounts(&ctx.tenant), &scope, input).await?;
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
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    accounts::verify_email(&*state.storage, &scope, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
