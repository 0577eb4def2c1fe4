//! `POST /hooks/line/{tenant_slug}`, which LINE calls with the official account's events.
//!
//! The webhook is the one unsafe route outside `/api/` that the CSRF guard lets through: LINE
//! has no session, and the request is authenticated by its `X-Line-Signature` instead (see
//! `madoguchi_usecases::line::handle_webhook`).

use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use madoguchi_domain::ErrorCode;
use madoguchi_notify::line_webhook::SIGNATURE_HEADER;
use madoguchi_storage::StorageError;
use madoguchi_usecases::{Actor, line};

pub fn router() -> Router<AppState> {
    Router::new().route("/hooks/line/{tenant_slug}", post(webhook))
}

/// LINE's webhook: 200 once the events are handled, 401 for a wrong signature, 404 for a city
/// without LINE.
async fn webhook(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let tenant = match state.storage.tenant_by_slug(&tenant_slug).await {
        Ok(tenant) => tenant,
        Err(StorageError::NotFound) => return Err(AppError::new(ErrorCode::NotFound)),
        Err(other) => return Err(other.into()),
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    // LINE signs the request; there is no session, and the events name who acts.
    let scope = state.scope(tenant.id, Actor::Anonymous);
    line::handle_webhook(&*state.storage, &scope, &tenant, signature, &body).await?;
    Ok(StatusCode::OK)
}
