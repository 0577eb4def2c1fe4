//! `/api/v1` for what residents owe and pay: their receivables, starting an online payment of
//! one (with a required `Idempotency-Key`, so a retried request never starts a second payment),
//! a payment's state and its receipt as PDF.
//!
//! Residents see their own; staff tokens see what their roles let them see
//! (`madoguchi_usecases::payments::may_see_receivable`). Anything else is 404, never 403: the
//! answer must not tell that it exists.

use super::pdf_response;
use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiAccount, ApiJson, ApiResident, Ctx};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use madoguchi_domain::{ErrorCode, IdempotencyKey, Lang, PaymentId, ReceivableId};
use madoguchi_payments::{Method, PaymentStatus, RevenueCategory};
use madoguchi_storage::{Payment, Receivable};
use madoguchi_usecases::Actor;
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::payments::{receipts, receivables, visible_receivable};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// How many receivables the list answers (newest first).
const LIST_MAX: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receivables", get(list_receivables))
        .route("/receivables/{id}", get(receivable))
        .route("/receivables/{id}/payments", post(start_payment))
        .route("/payments/{id}", get(payment))
        .route("/payments/{id}/receipt", get(receipt))
}

/// Something owed to the city (調定).
#[derive(Serialize, ToSchema)]
pub struct ReceivableResponse {
    pub id: Uuid,
    /// The revenue category's code (歳入科目), e.g. `certificate_fee`.
    pub category: String,
    /// The category's name in the language of the request.
    pub category_name: String,
    pub description: String,
    /// What was assessed, in yen.
    pub amount_yen: i64,
    pub paid_yen: i64,
    /// What is still owed, in yen (0 when paid, cancelled or written off).
    pub outstanding_yen: i64,
    /// The due date (納期限), `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date, example = "2026-07-31")]
    pub due_on: String,
    /// open, partly_paid, paid, overpaid, cancelled or written_off.
    pub status: &'static str,
    /// The fiscal year (April to March) it belongs to.
    pub fiscal_year: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Konbini payment instructions, as the provider gave them.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct KonbiniVoucherResponse {
    pub payment_code: Option<String>,
    pub confirmation_number: Option<String>,
    pub hosted_voucher_url: Option<String>,
    /// Pay before this (Unix seconds).
    pub expires_at: Option<i64>,
}

/// One payment of a receivable.
#[derive(Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: Uuid,
    pub receivable_id: Uuid,
    /// created, requires_action, processing, succeeded, failed, expired or canceled.
    pub status: &'static str,
    /// card, paypay or konbini online; `counter:<brand>`, cash or konbini_slip otherwise.
    pub method: String,
    /// The card brand, when the provider told us.
    pub method_detail: Option<String>,
    pub amount_yen: i64,
    /// The page the payer pays on (the gateway's), while there is one.
    pub redirect_url: Option<String>,
    /// Until when the payer may pay.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pay_by: Option<OffsetDateTime>,
    pub konbini: Option<KonbiniVoucherResponse>,
    /// The receipt's number (`R-…`) once the payment succeeded.
    pub receipt_number: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPaymentRequest {
    /// card (Apple Pay and Google Pay included), paypay or konbini.
    #[schema(example = "card")]
    pub method: String,
}

fn receivable_response(
    r: &Receivable,
    categories: &[RevenueCategory],
    lang: Lang,
) -> ReceivableResponse {
    let category_name = categories
        .iter()
        .find(|c| c.code == r.category)
        .map(|c| match lang {
            Lang::Ja => c.name_ja.clone(),
            Lang::En => c.name_en.clone(),
        })
        .unwrap_or_else(|| r.category.to_string());
    ReceivableResponse {
        id: r.id.0,
        category: r.category.to_string(),
        category_name,
        description: r.description.clone(),
        amount_yen: r.assessed_yen,
        paid_yen: r.paid_yen,
        outstanding_yen: r.outstanding_yen(),
        due_on: r.due_on.to_string(),
        status: r.status.as_str(),
        fiscal_year: r.fiscal_year,
        created_at: r.created_at,
    }
}

fn payment_response(p: &Payment) -> PaymentResponse {
    PaymentResponse {
        id: p.id.0,
        receivable_id: p.receivable.0,
        status: p.status.as_str(),
        method: p.method.to_stored(),
        method_detail: p.method_detail.clone(),
        amount_yen: p.amount_yen,
        redirect_url: p.redirect_url.clone().filter(|_| p.status.is_in_flight()),
        pay_by: p.pay_by,
        konbini: p
            .konbini
            .clone()
            .filter(|_| p.method == Method::Konbini)
            .and_then(|v| serde_json::from_value(v).ok()),
        receipt_number: (p.status == PaymentStatus::Succeeded)
            .then(|| receipts::receipt_number(p.id)),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn actor_of(caller: &crate::http::ApiCaller) -> Actor {
    match caller.account.kind {
        madoguchi_domain::AccountKind::Resident => Actor::Resident(caller.account.id),
        madoguchi_domain::AccountKind::Staff => Actor::Staff(caller.account.id),
    }
}

/// Receivables: a resident's own, or what a staff member's roles let them see; newest first.
#[utoipa::path(get, path = "/api/v1/receivables", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = [ReceivableResponse])))]
pub async fn list_receivables(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
) -> AppResult<Json<Vec<ReceivableResponse>>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let found = receivables::search(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        None,
        None,
        LIST_MAX,
    )
    .await?;
    let categories = state.storage.revenue_categories(ctx.tenant.id).await?;
    Ok(Json(
        found
            .iter()
            .map(|r| receivable_response(r, &categories, ctx.lang))
            .collect(),
    ))
}

/// One receivable.
#[utoipa::path(get, path = "/api/v1/receivables/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ReceivableResponse)))]
pub async fn receivable(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<Json<ReceivableResponse>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let found = visible_receivable(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        ReceivableId(id),
    )
    .await?;
    let categories = state.storage.revenue_categories(ctx.tenant.id).await?;
    Ok(Json(receivable_response(&found, &categories, ctx.lang)))
}

/// Start paying what a receivable still owes (residents, their own). Send the payer to
/// `redirect_url`; they come back to the result page. A payment already under way with the same
/// method is answered again rather than doubled. The `Idempotency-Key` is required: a retried
/// request answers 200 with the payment it made, whatever became of it since; the same key
/// with another receivable or method is refused (422 `idempotency_key_reused`).
#[utoipa::path(post, path = "/api/v1/receivables/{id}/payments", tag = "payments", security(("bearer" = [])),
    request_body = StartPaymentRequest,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "1-100 visible ASCII characters, chosen by the client per payment")),
    responses((status = 201, body = PaymentResponse), (status = 200, body = PaymentResponse, description = "replayed"),
        (status = 409, body = ErrorBody, description = "receivable_already_paid, receivable_closed, payment_in_progress (another method's payment is under way)"),
        (status = 422, body = ErrorBody, description = "payment_method_not_offered (at `method`), invalid_idempotency_key, idempotency_key_reused, or `Idempotency-Key` missing (`required`)"),
        (status = 502, body = ErrorBody, description = "payment_provider_unavailable: the gateway did not answer; retry with the same key")))]
pub async fn start_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiResident,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<StartPaymentRequest>,
) -> AppResult<impl IntoResponse> {
    let key = match headers.get("idempotency-key") {
        None => return Err(AppError::field("Idempotency-Key", ErrorCode::Required)),
        Some(value) => value
            .to_str()
            .map_err(|_| ErrorCode::InvalidIdempotencyKey)
            .and_then(IdempotencyKey::parse)
            .map_err(|code| AppError::field("Idempotency-Key", code))?,
    };
    let method = checkout::parse_online_method(&body.method)?;
    // The storage scopes keys by who made them: another resident's "retry-1" never answers
    // this one's payment.
    let client_key = format!("api:{}", key.as_str());
    let scope = state.scope(ctx.tenant.id, Actor::Resident(caller.account.id));
    let receivable = ReceivableId(id);
    // Not found first: the key of another's receivable tells nothing.
    visible_receivable(&*state.storage, &scope, None, receivable).await?;
    if let Some(made) =
        checkout::replayed(&*state.storage, &scope, receivable, method, &client_key).await?
    {
        return Ok((StatusCode::OK, Json(payment_response(&made))));
    }
    let public_url = state.config.public_url.trim_end_matches('/').to_owned();
    let payment = checkout::start(
        &*state.storage,
        &*state.gateways,
        &scope,
        receivable,
        method,
        |payment| ReturnUrls {
            result_url: format!("{public_url}/payments/{payment}"),
            cancel_url: format!("{public_url}/receivables/{id}/pay"),
        },
        None,
        Some(client_key),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(payment_response(&payment))))
}

/// One payment (its payer, or staff who may see its receivable).
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = PaymentResponse)))]
pub async fn payment(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<Json<PaymentResponse>> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let (payment, _) = checkout::visible_payment(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        PaymentId(id),
    )
    .await?;
    Ok(Json(payment_response(&payment)))
}

/// The receipt (領収書) of a succeeded payment as PDF, in the language of `Accept-Language`.
/// A payment that has not succeeded has none (404).
#[utoipa::path(get, path = "/api/v1/payments/{id}/receipt", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>, description = "the receipt, as an attachment")))]
pub async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiAccount,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let scope = state.scope(ctx.tenant.id, actor_of(&caller));
    let id = PaymentId(id);
    let pdf = receipts::pdf(
        &*state.storage,
        &scope,
        caller.access.as_ref(),
        id,
        ctx.tenant.name(ctx.lang),
        ctx.lang,
    )
    .await?;
    Ok(pdf_response(pdf, id))
}
