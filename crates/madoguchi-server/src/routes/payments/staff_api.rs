//! `/api/v1` for staff and finance: assessing a receivable, counter checkout, requesting a
//! refund, approving or rejecting one, and the trial balance. Bearer tokens of staff accounts
//! (`org:read`); each operation's guard refuses a caller whose roles do not allow it before the
//! body is read, and the use cases decide the rest (which receivable, four eyes).

use super::staff_view::Books;
use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::{ApiCounterStaff, ApiFinance, ApiJson, ApiPaymentStaff, ApiRefundApprover, Ctx};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use madoguchi_domain::{ErrorCode, OfficeId, PaymentId, ReceivableId, RefundId};
use madoguchi_storage::{Payment, Receivable, Refund};
use madoguchi_usecases::Actor;
use madoguchi_usecases::payments::{counter, receipts, receivables, refunds};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/receivables", post(assess))
        .route("/receivables/{id}/counter-payments", post(counter_payment))
        .route("/payments/{id}/refunds", post(request_refund))
        .route("/refunds/{id}/approve", post(approve))
        .route("/refunds/{id}/reject", post(reject))
        .route("/ledger/trial-balance", get(trial_balance))
}

fn parse_date(field: &str, raw: &str) -> AppResult<Date> {
    let date = Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::field(field, ErrorCode::ValidationFailed))?;
    madoguchi_domain::tokyo::supported_date(date).map_err(|code| AppError::field(field, code))
}

// ---------------------------------------------------------------------------------------------
// Receivables

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessRequest {
    /// A revenue category code of the city (`certificate_fee`).
    pub category: String,
    /// What it is for (1–200 characters).
    pub description: String,
    /// Who pays (1–100 characters).
    pub payer_name: String,
    /// 1 to 99,999,999 yen.
    pub amount_yen: i64,
    /// The office whose counter takes it; none: any counter.
    #[serde(default)]
    pub office_id: Option<Uuid>,
    /// The due date (Tokyo, `YYYY-MM-DD`); 30 days from today when absent.
    #[serde(default)]
    pub due_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceivableResponse {
    pub id: Uuid,
    pub category: String,
    pub description: String,
    pub payer_name: String,
    pub office_id: Option<Uuid>,
    /// The fiscal year (April to March) it was assessed in.
    pub fiscal_year: i32,
    /// `YYYY-MM-DD`, Tokyo.
    pub due_on: String,
    pub assessed_yen: i64,
    pub paid_yen: i64,
    pub outstanding_yen: i64,
    /// open, partly_paid, paid, overpaid, cancelled or written_off.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn receivable_response(r: &Receivable) -> ReceivableResponse {
    ReceivableResponse {
        id: r.id.0,
        category: r.category.to_string(),
        description: r.description.clone(),
        payer_name: r.payer_name.clone(),
        office_id: r.office.map(|o| o.0),
        fiscal_year: r.fiscal_year,
        due_on: r.due_on.to_string(),
        assessed_yen: r.assessed_yen,
        paid_yen: r.paid_yen,
        outstanding_yen: r.outstanding_yen(),
        status: r.status.as_str(),
        created_at: r.created_at,
    }
}

/// Assess a receivable (調定): finance anywhere, counter staff at an office where they take
/// payments. Every problem with the input is reported at once.
#[utoipa::path(post, path = "/api/v1/receivables", tag = "payments", security(("bearer" = [])),
    request_body = AssessRequest,
    responses((status = 201, body = ReceivableResponse),
        (status = 422, body = ErrorBody, description = "invalid_revenue_category, amount_not_positive, amount_over_limit, required, text_too_long, date_out_of_range: each at its field")))]
pub async fn assess(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiPaymentStaff,
    ApiJson(body): ApiJson<AssessRequest>,
) -> AppResult<(StatusCode, Json<ReceivableResponse>)> {
    let due_on = body
        .due_on
        .as_deref()
        .map(|raw| parse_date("due_on", raw))
        .transpose()?;
    let input = receivables::AssessInput {
        category: body.category,
        description: body.description,
        payer_name: body.payer_name,
        office: body.office_id.map(OfficeId),
        amount_yen: body.amount_yen.to_string(),
        due_on,
        ..receivables::AssessInput::default()
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let receivable =
        receivables::assess(&*state.storage, &scope, caller.access.as_ref(), &input).await?;
    Ok((StatusCode::CREATED, Json(receivable_response(&receivable))))
}

// ---------------------------------------------------------------------------------------------
// Counter checkout

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterPaymentRequest {
    /// `cash`, or the terminal's brand: visa, mastercard, jcb, amex, id, quicpay, transit,
    /// paypay, dbarai, aupay, rakuten_pay, merpay, yucho_pay. One payment has one method.
    pub method: String,
    /// 支払回数: only 1 (lump sum) is accepted; absent means 1.
    #[serde(default)]
    pub instalments: Option<i64>,
    /// The terminal's slip number (1–20 letters and digits), required for cashless.
    #[serde(default)]
    pub slip_number: Option<String>,
    /// The amount taken, as the terminal or the till shows it: at most what is still owed (no
    /// top-up). Required, so that a retry with the same `Idempotency-Key` after the payment
    /// settled the receivable is the same request and answers the recorded payment.
    pub amount_yen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: Uuid,
    pub receivable_id: Uuid,
    /// stripe, sandbox, counter or konbini_agency.
    pub provider: &'static str,
    /// `cash`, `counter:visa`, `card`, `paypay`, `konbini` …
    pub method: String,
    pub amount_yen: i64,
    /// created, requires_action, processing, succeeded, failed, expired or canceled.
    pub status: &'static str,
    pub slip_number: Option<String>,
    /// The number printed on its receipt.
    pub receipt_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn payment_response(p: &Payment) -> PaymentResponse {
    PaymentResponse {
        id: p.id.0,
        receivable_id: p.receivable.0,
        provider: p.provider.as_str(),
        method: p.method.to_stored(),
        amount_yen: p.amount_yen,
        status: p.status.as_str(),
        slip_number: p.slip_number.clone(),
        receipt_number: receipts::receipt_number(p.id),
        created_at: p.created_at,
    }
}

/// Record a payment taken at a counter (cash, or what the counter's terminal approved).
/// Municipal rules: one method, lump sum only, no taxes through the cashless terminal, no
/// top-up. Send an `Idempotency-Key` header: a retry answers the payment it recorded.
#[utoipa::path(post, path = "/api/v1/receivables/{id}/counter-payments", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "1-100 visible ASCII characters")),
    request_body = CounterPaymentRequest,
    responses((status = 201, body = PaymentResponse),
        (status = 404, body = ErrorBody, description = "no such receivable, or one of an office where the caller takes no payments"),
        (status = 409, body = ErrorBody, description = "receivable_already_paid, receivable_closed, payment_in_progress"),
        (status = 422, body = ErrorBody, description = "payment_method_not_offered, instalments_not_allowed, slip_number_required, invalid_slip_number, tax_not_payable_at_counter, payment_exceeds_outstanding, amount_not_positive: each at its field")))]
pub async fn counter_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCounterStaff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CounterPaymentRequest>,
) -> AppResult<(StatusCode, Json<PaymentResponse>)> {
    let access = caller.staff()?;
    let client_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| AppError::new(ErrorCode::InvalidIdempotencyKey))
        })
        .transpose()?;
    let form = counter::CounterForm {
        methods: vec![body.method],
        instalments: body.instalments.map(|n| n.to_string()),
        slip_number: body.slip_number,
        amount_yen: Some(body.amount_yen.to_string()),
        client_key,
    };
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let payment = counter::take(&*state.storage, &scope, access, ReceivableId(id), &form)
        .await
        .map_err(|error| {
            // The header is not a field of the body.
            if error.fields.iter().any(|f| f.field == "client_key") {
                AppError::new(ErrorCode::InvalidIdempotencyKey)
            } else {
                error.into()
            }
        })?;
    Ok((StatusCode::CREATED, Json(payment_response(&payment))))
}

// ---------------------------------------------------------------------------------------------
// Refunds

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestBody {
    /// What to refund; absent means the whole payment.
    #[serde(default)]
    pub amount_yen: Option<i64>,
    /// Why (required, one line, up to 200 characters).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RefundResponse {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub amount_yen: i64,
    pub reason: String,
    /// requested, approved, rejected, processing, succeeded (paid out) or failed.
    pub status: &'static str,
    /// The staff account that requested it.
    pub requested_by: Option<Uuid>,
    /// The finance user who approved or rejected it.
    pub decided_by: Option<Uuid>,
    pub decision_note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

fn refund_response(r: &Refund) -> RefundResponse {
    RefundResponse {
        id: r.id.0,
        payment_id: r.payment.0,
        amount_yen: r.amount_yen,
        reason: r.reason.clone(),
        status: r.status.as_str(),
        requested_by: r.requested_by.account.map(|a| a.0),
        decided_by: r.decided_by.map(|a| a.0),
        decision_note: r.decision_note.clone(),
        created_at: r.created_at,
        decided_at: r.decided_at,
    }
}

/// Request a refund (還付) of a succeeded payment the caller may see; a finance user who is not
/// the requester approves it.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RefundRequestBody,
    responses((status = 201, body = RefundResponse),
        (status = 404, body = ErrorBody, description = "no such payment, or one the caller may not see"),
        (status = 409, body = ErrorBody, description = "payment_not_refundable"),
        (status = 422, body = ErrorBody, description = "refund_exceeds_paid, amount_not_positive, amount_over_limit, required, text_too_long: each at its field")))]
pub async fn request_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiPaymentStaff,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RefundRequestBody>,
) -> AppResult<(StatusCode, Json<RefundResponse>)> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let amount = body.amount_yen.map(|yen| yen.to_string());
    let refund = refunds::request(
        &*state.storage,
        &scope,
        access,
        PaymentId(id),
        amount.as_deref(),
        &body.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(refund_response(&refund))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundDecisionRequest {
    /// A note for the record (up to 200 characters).
    #[serde(default)]
    pub note: Option<String>,
}

async fn decide(
    state: AppState,
    ctx: Ctx,
    caller: ApiRefundApprover,
    id: Uuid,
    approve: bool,
    note: Option<String>,
) -> AppResult<Json<RefundResponse>> {
    let access = caller.staff()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(caller.account.id));
    let refund = refunds::decide(
        &*state.storage,
        &*state.gateways,
        &scope,
        access,
        RefundId(id),
        approve,
        note.as_deref(),
    )
    .await?;
    Ok(Json(refund_response(&refund)))
}

/// Approve a requested refund (finance users, never the requester) and pay it out through the
/// payment's provider: the answer says whether it was paid (`succeeded`) or `failed`.
#[utoipa::path(post, path = "/api/v1/refunds/{id}/approve", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RefundDecisionRequest,
    responses((status = 200, body = RefundResponse),
        (status = 403, body = ErrorBody, description = "refund_self_approval: the requester may not approve; forbidden: not a finance user"),
        (status = 409, body = ErrorBody, description = "refund_not_pending")))]
pub async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiRefundApprover,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RefundDecisionRequest>,
) -> AppResult<Json<RefundResponse>> {
    decide(state, ctx, caller, id, true, body.note).await
}

/// Reject a requested refund (finance users, never the requester).
#[utoipa::path(post, path = "/api/v1/refunds/{id}/reject", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RefundDecisionRequest,
    responses((status = 200, body = RefundResponse),
        (status = 403, body = ErrorBody, description = "refund_self_approval: the requester may not reject; forbidden: not a finance user"),
        (status = 409, body = ErrorBody, description = "refund_not_pending")))]
pub async fn reject(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiRefundApprover,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RefundDecisionRequest>,
) -> AppResult<Json<RefundResponse>> {
    decide(state, ctx, caller, id, false, body.note).await
}

// ---------------------------------------------------------------------------------------------
// The trial balance

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrialBalanceQuery {
    /// First accounting day (Tokyo, `YYYY-MM-DD`), inclusive; absent: since the beginning.
    pub from: Option<String>,
    /// Last accounting day, inclusive; absent: today in Tokyo.
    pub through: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalanceAccount {
    /// The account's stable name (`receivable:certificate_fee`, `clearing:stripe`, `suspense`).
    pub account: String,
    /// The account in words, in the language of `Accept-Language`.
    pub name: String,
    pub debit_yen: i64,
    pub credit_yen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalanceResponse {
    pub from: Option<String>,
    pub through: String,
    pub accounts: Vec<TrialBalanceAccount>,
    pub debit_total_yen: i64,
    pub credit_total_yen: i64,
    /// Debits equal credits (always, unless the books are broken).
    pub balanced: bool,
}

/// Each ledger account's debits and credits over the accounting days `from` through
/// `through` (finance and administrators).
#[utoipa::path(get, path = "/api/v1/ledger/trial-balance", tag = "payments", security(("bearer" = [])),
    params(TrialBalanceQuery),
    responses((status = 200, body = TrialBalanceResponse),
        (status = 422, body = ErrorBody, description = "a date that is not `YYYY-MM-DD` or out of range, at `from` or `through`")))]
pub async fn trial_balance(
    State(state): State<AppState>,
    ctx: Ctx,
    _caller: ApiFinance,
    Query(query): Query<TrialBalanceQuery>,
) -> AppResult<Json<TrialBalanceResponse>> {
    let from = query
        .from
        .as_deref()
        .map(|raw| parse_date("from", raw))
        .transpose()?;
    let through = match query.through.as_deref() {
        Some(raw) => parse_date("through", raw)?,
        None => madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date(),
    };
    let rows = state
        .storage
        .trial_balance(ctx.tenant.id, from, through)
        .await?;
    let books = Books::load(&state, &ctx).await?;
    let mut accounts: Vec<TrialBalanceAccount> = rows
        .iter()
        .map(|r| TrialBalanceAccount {
            account: r.account.clone(),
            name: books.account_name(&r.account),
            debit_yen: r.debit_yen,
            credit_yen: r.credit_yen,
        })
        .collect();
    accounts.sort_by(|a, b| a.account.cmp(&b.account));
    let debit_total_yen = accounts.iter().map(|a| a.debit_yen).sum();
    let credit_total_yen = accounts.iter().map(|a| a.credit_yen).sum();
    Ok(Json(TrialBalanceResponse {
        from: from.map(|d| d.to_string()),
        through: through.to_string(),
        accounts,
        debit_total_yen,
        credit_total_yen,
        balanced: debit_total_yen == credit_total_yen,
    }))
}
