//! Who may read the Prometheus metrics, and the separate listener that serves them.
//!
//! Metrics name routes and counts, not people, but they still tell an outsider how busy the
//! city is and which endpoints fail. So the public router serves `/metrics` only with the
//! configured bearer token (`metrics_token`); without one it answers 404, as if absent. An
//! operator who scrapes from inside the network sets `metrics_addr` instead, and the binary
//! serves [`router`] there, without a token, on an address the public cannot reach.

use crate::http::error::AppError;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The exposition text.
pub fn render(handle: &PrometheusHandle) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// `/metrics` on the public router: 404 without a configured token (and without a recorder),
/// 401 with a missing or wrong bearer token.
pub fn public_answer(
    handle: Option<&PrometheusHandle>,
    token: Option<&SecretString>,
    headers: &HeaderMap,
) -> Response {
    let (Some(handle), Some(token)) = (handle, token) else {
        return AppError::new(ErrorCode::NotFound).into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Comparing digests rather than the strings: the time taken says nothing about the token.
    if Sha256::digest(offered.as_bytes()) != Sha256::digest(token.expose_secret().as_bytes())
        || offered.is_empty()
    {
        return AppError::new(ErrorCode::Unauthenticated).into_response();
    }
    render(handle)
}

/// The router of the separate metrics listener: `/metrics` only, no token.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || async move { render(&handle) }))
        .fallback(|| async { StatusCode::NOT_FOUND })
}

/// Serves [`router`] on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(handle))
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
}
