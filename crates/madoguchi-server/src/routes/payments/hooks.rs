//! `POST /hooks/stripe/{tenant_slug}` and `POST /hooks/sandbox/{tenant_slug}`: the payment
//! providers' webhooks. Like LINE's, they pass the CSRF guard (no session) and prove themselves
//! by their signature (`Stripe-Signature`, checked with the city's secret). A bad, stale or
//! missing signature answers 400 and changes nothing; a genuine event answers 200 even when it
//! changes nothing (a duplicate, a payment we do not know), so the provider stops retrying.
//! A payment reported succeeded that paid a booking's fee confirms the booking's hold here,
//! before the answer: should that fail, the provider's redelivery confirms it (idempotently).

use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use madoguchi_domain::ErrorCode;
use madoguchi_payments::Provider;
use madoguchi_storage::StorageError;
use madoguchi_usecases::Actor;
use madoguchi_usecases::payments::webhooks::{self, Delivery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/stripe/{tenant_slug}", post(stripe))
        .route("/hooks/sandbox/{tenant_slug}", post(sandbox))
}

async fn stripe(
    state: State<AppState>,
    slug: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<serde_json::Value>> {
    receive(state, slug, headers, body, Provider::Stripe).await
}

async fn sandbox(
    state: State<AppState>,
    slug: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<serde_json::Value>> {
    receive(state, slug, headers, body, Provider::Sandbox).await
}

async fn receive(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    provider: Provider,
) -> AppResult<Json<serde_json::Value>> {
    if body.len() > webhooks::BODY_MAX_BYTES {
        return Err(AppError::new(ErrorCode::PayloadTooLarge));
    }
    // From the node's tenant cache (a city's id never changes under its slug): a provider
    // delivers in bursts, and this saves each delivery a round trip.
    let key = format!("slug:{tenant_slug}");
    let tenant = match state.tenants.get(&key) {
        Some(tenant) => tenant,
        None => match state.storage.tenant_by_slug(&tenant_slug).await {
            Ok(tenant) => {
                let tenant = std::sync::Arc::new(tenant);
                state.tenants.put(&key, tenant.clone());
                tenant
            }
            Err(StorageError::NotFound) => return Err(AppError::new(ErrorCode::NotFound)),
            Err(other) => return Err(other.into()),
        },
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope = state.scope(tenant.id, Actor::System);
    let received = webhooks::receive_reporting(
        &*state.storage,
        &*state.gateways,
        &scope,
        provider,
        signature,
        &body,
    )
    .await?;
    if let Some(payment) = received.succeeded {
        let newly = received.delivery == Delivery::Applied;
        madoguchi_usecases::reservations::fees::payment_succeeded(
            &state.reservations(),
            &scope,
            payment,
            newly,
        )
        .await?;
    }
    let outcome = match received.delivery {
        Delivery::Applied => "applied",
        Delivery::Duplicate => "duplicate",
        Delivery::Stale => "stale",
        Delivery::Unknown => "unknown",
        Delivery::Ignored => "ignored",
    };
    metrics::counter!("madoguchi_payment_webhooks_total", "provider" => provider.as_str(), "outcome" => outcome)
        .increment(1);
    Ok(Json(
        serde_json::json!({ "received": true, "outcome": outcome }),
    ))
}
