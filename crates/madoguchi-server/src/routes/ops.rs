//! Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers and its schema matches this binary.
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = async {
        state.storage.ping().await?;
        state.storage.check_schema().await
    };
    match ready.await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

/// Prometheus metrics, only with the configured token (see `crate::metrics_endpoint`).
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    crate::metrics_endpoint::public_answer(
        state.metrics.as_ref(),
        state.config.metrics_token.as_ref(),
        &headers,
    )
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
