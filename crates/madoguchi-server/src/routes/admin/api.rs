//! `/api/v1/audit`: the append-only audit log, for those who may read it.

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiCaller, Ctx};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_domain::{AccountId, ErrorCode};
use madoguchi_storage::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
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
