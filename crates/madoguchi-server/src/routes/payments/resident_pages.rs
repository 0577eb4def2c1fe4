//! The resident's side of payments: paying what they owe (`/receivables/{id}/pay`, which sends
//! them on to the gateway's page), the result page they come back to (`/payments/{id}`), their
//! receivables and payments (`/account/payments`) and the receipt
//! (`/payments/{id}/receipt.pdf`).
//!
//! They work without JavaScript: a radio fieldset and one submit button, redirects, and a
//! result page that reloads itself with `<meta http-equiv="refresh">` only while the payment
//! is in flight, says so, and offers a link that stops it (WCAG 2.2.1). Someone else's
//! receivable or payment is "not found", never "forbidden".

use super::pdf_response;
use crate::http::Ctx;
use crate::http::auth::{PageAuthRejection, ResidentSession, StaffSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::templates::PageBase;
use crate::view::page::{FormProblems, page_base, staff_base};
use crate::view::present::{date_label, instant_label};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountKind, ErrorCode, Lang, PaymentId, ReceivableId, Yen};
use madoguchi_payments::{Brand, Method, PaymentStatus, ReceivableStatus, RevenueCategory};
use madoguchi_storage::{Payment, PaymentFilter, Receivable};
use madoguchi_usecases::Actor;
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::payments::{receipts, receivables, visible_receivable};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;
use uuid::Uuid;

/// How often the result page reloads itself while the payment is in flight.
pub const REFRESH_EVERY_S: u32 = 5;

/// How many receivables and payments the resident's list shows (newest first).
const LIST_MAX: i64 = 200;

/// The online methods a resident may choose, in the order offered.
const ONLINE_METHODS: [Method; 3] = [Method::Card, Method::Paypay, Method::Konbini];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receivables/{id}/pay", get(pay_page).post(pay))
        .route("/payments/{id}", get(result_page))
        .route("/payments/{id}/receipt.pdf", get(receipt))
        .route("/receivables/{id}/slip.pdf", get(payer_slip))
        .route("/account/payments", get(my_payments))
}

/// An id in a path; anything that is no id is simply not found.
fn path_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorCode::NotFound))
}

/// `3,000円` or `¥3,000`.
pub(crate) fn amount_label(yen: i64, lang: Lang) -> String {
    let with_sign = Yen(yen).to_string();
    match lang {
        Lang::Ja => format!("{}円", with_sign.replacen('¥', "", 1)),
        Lang::En => with_sign,
    }
}

/// The revenue category's name in `lang` (its code when the city no longer lists it).
fn category_name(categories: &[RevenueCategory], receivable: &Receivable, lang: Lang) -> String {
    categories
        .iter()
        .find(|c| c.code == receivable.category)
        .map(|c| match lang {
            Lang::Ja => c.name_ja.clone(),
            Lang::En => c.name_en.clone(),
        })
        .unwrap_or_else(|| receivable.category.to_string())
}

/// The method as the payer reads it, with the card brand when the provider told us.
fn method_label(payment: &Payment, lang: Lang) -> String {
    let english = lang == Lang::En;
    let label = payment.method.label(english);
    match payment.method_detail.as_deref().and_then(Brand::parse) {
        Some(brand) if english => format!("{label} ({})", brand.label(true)),
        Some(brand) => format!("{label}（{}）", brand.label(false)),
        None => label,
    }
}

/// The payment's state in the words the pages use: every status before a final one reads
/// "in progress" (処理中) to the payer.
fn payment_state(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Created | PaymentStatus::RequiresAction | PaymentStatus::Processing => {
            "in_flight"
        }
        PaymentStatus::Succeeded => "succeeded",
        PaymentStatus::Failed => "failed",
        PaymentStatus::Expired => "expired",
        PaymentStatus::Canceled => "canceled",
    }
}

/// Whether a new payment may be started for the receivable (something is still owed on it).
fn is_payable(receivable: &Receivable) -> bool {
    matches!(
        receivable.status,
        ReceivableStatus::Open | ReceivableStatus::PartlyPaid
    ) && receivable.outstanding_yen() > 0
}

/// Whether the result page should reload itself: while the payer or the provider is still
/// working on it. A konbini voucher waits days for the payer to go to a store, so its page
/// does not reload every few seconds for nothing once the voucher is issued.
fn reloads(payment: &Payment) -> bool {
    match payment.status {
        PaymentStatus::Processing => true,
        PaymentStatus::Created | PaymentStatus::RequiresAction => payment.method != Method::Konbini,
        PaymentStatus::Succeeded
        | PaymentStatus::Failed
        | PaymentStatus::Expired
        | PaymentStatus::Canceled => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Who looks

/// Who looks at a payment or its receipt: a resident (its payer), or staff who may see it.
enum Viewer {
    Resident(ResidentSession),
    Staff(StaffSession),
}

impl Viewer {
    /// The signed-in resident or staff member; nobody signed in goes to the resident's sign-in
    /// (payers are residents), which brings them back here.
    fn of(
        resident: Result<ResidentSession, PageAuthRejection>,
        staff: Result<StaffSession, PageAuthRejection>,
    ) -> Result<Viewer, PageAuthRejection> {
        match (resident, staff) {
            (Ok(resident), _) => Ok(Viewer::Resident(resident)),
            (_, Ok(staff)) => Ok(Viewer::Staff(staff)),
            (Err(PageAuthRejection::Error(error)), _)
            | (_, Err(PageAuthRejection::Error(error))) => Err(PageAuthRejection::Error(error)),
            (Err(sign_in), Err(_)) => Err(sign_in),
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Viewer::Resident(r) => Actor::Resident(r.account.id),
            Viewer::Staff(s) => Actor::Staff(s.account.id),
        }
    }

    fn access(&self) -> Option<&StaffAccess> {
        match self {
            Viewer::Resident(_) => None,
            Viewer::Staff(s) => Some(&s.access),
        }
    }

    async fn base(&self, ctx: &Ctx, session: &Session) -> AppResult<PageBase> {
        match self {
            Viewer::Resident(_) => {
                page_base(ctx, Some(AccountKind::Resident), Some(session), false).await
            }
            Viewer::Staff(staff) => staff_base(ctx, staff, session).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paying a receivable

#[derive(Serialize)]
struct ReceivableView {
    id: String,
    description: String,
    category: String,
    /// What is still owed.
    amount: String,
    /// What was paid already, when something was (a receivable paid in part).
    paid: Option<String>,
    due_on: String,
    /// open, partly_paid, paid, overpaid, cancelled or written_off.
    status: &'static str,
    payable: bool,
}

fn receivable_view(
    receivable: &Receivable,
    categories: &[RevenueCategory],
    lang: Lang,
) -> ReceivableView {
    ReceivableView {
        id: receivable.id.to_string(),
        description: receivable.description.clone(),
        category: category_name(categories, receivable, lang),
        amount: amount_label(receivable.outstanding_yen(), lang),
        paid: (receivable.paid_yen > 0).then(|| amount_label(receivable.paid_yen, lang)),
        due_on: date_label(receivable.due_on, lang),
        status: receivable.status.as_str(),
        payable: is_payable(receivable),
    }
}

#[derive(Serialize)]
struct MethodOption {
    value: String,
    label_key: String,
}

/// The payments of one receivable, newest first.
async fn payments_of(
    state: &AppState,
    ctx: &Ctx,
    receivable: ReceivableId,
) -> AppResult<Vec<Payment>> {
    Ok(state
        .storage
        .list_payments(
            ctx.tenant.id,
            &PaymentFilter {
                receivable: Some(receivable),
                limit: 50,
                ..PaymentFilter::default()
            },
        )
        .await?)
}

/// What the pay form is shown again with.
#[derive(Default)]
struct PayFormState {
    method: String,
    problems: Option<FormProblems>,
}

async fn render_pay(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    resident: &ResidentSession,
    id: ReceivableId,
    form: PayFormState,
) -> AppResult<Response> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let receivable = visible_receivable(&*state.storage, &scope, None, id).await?;
    let categories = state.storage.revenue_categories(ctx.tenant.id).await?;
    let payments = payments_of(state, ctx, receivable.id).await?;
    let paid_by = payments
        .iter()
        .find(|p| p.status == PaymentStatus::Succeeded)
        .map(|p| context! { id => p.id.to_string() });
    let under_way = payments.iter().find(|p| p.status.is_in_flight()).map(|p| {
        context! {
            id => p.id.to_string(),
            continue_url => p.redirect_url.clone(),
        }
    });
    let base = page_base(ctx, Some(AccountKind::Resident), Some(session), false).await?;
    let methods: Vec<MethodOption> = ONLINE_METHODS
        .iter()
        .map(|m| MethodOption {
            value: m.to_stored(),
            label_key: format!("pay_method_{}", m.to_stored()),
        })
        .collect();
    let (status, errors, alert) = match form.problems {
        Some(p) => (p.status, p.errors, Some(p.alert)),
        None => (axum::http::StatusCode::OK, BTreeMap::new(), None),
    };
    let html = state.templates.page(
        "payments/pay.html",
        &base,
        context! {
            receivable => receivable_view(&receivable, &categories, ctx.lang),
            paid_by,
            under_way,
            methods,
            chosen => form.method,
            errors,
            alert,
        },
    )?;
    Ok((status, html).into_response())
}

async fn pay_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = ReceivableId(path_id(&id)?);
    render_pay(
        &state,
        &ctx,
        &session,
        &resident,
        id,
        PayFormState::default(),
    )
    .await
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    method: String,
}

async fn pay(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<PayForm>,
) -> AppResult<Response> {
    let id = ReceivableId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let public_url = state.config.public_url.trim_end_matches('/').to_owned();
    let chosen = if form.method.trim().is_empty() {
        Err(madoguchi_usecases::UseCaseError::field(
            "method",
            ErrorCode::Required,
        ))
    } else {
        checkout::parse_online_method(&form.method)
    };
    let started = match chosen {
        Ok(method) => {
            checkout::start(
                &*state.storage,
                &*state.gateways,
                &scope,
                id,
                method,
                |payment| ReturnUrls {
                    result_url: format!("{public_url}/payments/{payment}"),
                    cancel_url: format!("{public_url}/receivables/{id}/pay"),
                },
                None,
                None,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(payment) => {
            let to = payment
                .redirect_url
                .clone()
                .unwrap_or_else(|| format!("/payments/{}", payment.id));
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => {
            let error = AppError::from(error);
            if error.status.is_server_error() || error.code == ErrorCode::NotFound {
                return Err(error);
            }
            let problems = FormProblems::refused(&error, ctx.lang, |f| {
                (f.field.clone(), f.code.message(ctx.lang).to_owned())
            });
            let form = PayFormState {
                method: form.method,
                problems: Some(problems),
            };
            render_pay(&state, &ctx, &session, &resident, id, form).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The result page

#[derive(Deserialize)]
struct ResultQuery {
    /// `1`: do not reload (the payer stopped it).
    #[serde(default)]
    norefresh: Option<String>,
}

/// Konbini instructions as the provider gave them (`webhooks::konbini_json`).
#[derive(Deserialize, Default)]
struct StoredVoucher {
    #[serde(default)]
    payment_code: Option<String>,
    #[serde(default)]
    confirmation_number: Option<String>,
    #[serde(default)]
    hosted_voucher_url: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    expires_at: Option<i64>,
}

#[derive(Serialize)]
struct VoucherView {
    payment_code: Option<String>,
    confirmation_number: Option<String>,
    url: Option<String>,
    pay_by: Option<String>,
}

fn voucher_view(payment: &Payment, lang: Lang) -> VoucherView {
    let stored: StoredVoucher = payment
        .konbini
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let deadline = stored
        .expires_at
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .or(payment.pay_by);
    VoucherView {
        payment_code: stored.payment_code,
        confirmation_number: stored.confirmation_number,
        // The provider's voucher, or its payment page, which shows it.
        url: stored
            .hosted_voucher_url
            .or_else(|| payment.redirect_url.clone()),
        pay_by: deadline.map(|d| instant_label(d, lang)),
    }
}

async fn result_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: Result<ResidentSession, PageAuthRejection>,
    staff: Result<StaffSession, PageAuthRejection>,
    Path(id): Path<String>,
    Query(query): Query<ResultQuery>,
) -> Result<Response, PageAuthRejection> {
    let viewer = Viewer::of(resident, staff)?;
    let id = PaymentId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, viewer.actor());
    let (payment, receivable) =
        checkout::visible_payment(&*state.storage, &scope, viewer.access(), id)
            .await
            .map_err(AppError::from)?;
    let lang = ctx.lang;
    let categories = state
        .storage
        .revenue_categories(ctx.tenant.id)
        .await
        .map_err(AppError::from)?;
    let in_flight = payment.status.is_in_flight();
    let stopped = query.norefresh.as_deref() == Some("1");
    let reload = reloads(&payment);
    let is_payer = matches!(viewer, Viewer::Resident(_));
    let view = context! {
        id => payment.id.to_string(),
        state => payment_state(payment.status),
        amount => amount_label(payment.amount_yen, lang),
        method => method_label(&payment, lang),
        is_konbini => payment.method == Method::Konbini,
        started_at => instant_label(payment.created_at, lang),
        description => receivable.description.clone(),
        category => category_name(&categories, &receivable, lang),
    };
    let base = viewer.base(&ctx, &session).await?;
    let html = state.templates.page(
        "payments/result.html",
        &base,
        context! {
            payment => view,
            voucher => (in_flight && payment.method == Method::Konbini).then(|| voucher_view(&payment, lang)),
            // The gateway's page, while the payer still has something to do there.
            continue_url => matches!(payment.status, PaymentStatus::Created | PaymentStatus::RequiresAction)
                .then(|| payment.redirect_url.clone())
                .flatten()
                .filter(|_| payment.method != Method::Konbini),
            refresh_s => (reload && !stopped).then_some(REFRESH_EVERY_S),
            refresh_stopped => reload && stopped,
            pay_again => (is_payer
                && matches!(payment.status, PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Canceled)
                && is_payable(&receivable))
                .then(|| receivable.id.to_string()),
            has_receipt => payment.status == PaymentStatus::Succeeded,
            is_payer,
        },
    )?;
    Ok(html.into_response())
}

// ---------------------------------------------------------------------------------------------
// The receipt

async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: Result<ResidentSession, PageAuthRejection>,
    staff: Result<StaffSession, PageAuthRejection>,
    Path(id): Path<String>,
) -> Result<Response, PageAuthRejection> {
    let viewer = Viewer::of(resident, staff)?;
    let id = PaymentId(path_id(&id)?);
    let scope = state.scope(ctx.tenant.id, viewer.actor());
    let pdf = receipts::pdf(
        &*state.storage,
        &scope,
        viewer.access(),
        id,
        ctx.tenant.name(ctx.lang),
        ctx.lang,
    )
    .await
    .map_err(AppError::from)?;
    Ok(pdf_response(pdf, id).into_response())
}

// ---------------------------------------------------------------------------------------------
// The resident's receivables and payments

#[derive(Serialize)]
struct PaymentRow {
    id: String,
    started_at: String,
    description: String,
    amount: String,
    method: String,
    state: &'static str,
    has_receipt: bool,
}

#[derive(Serialize)]
struct ReceivableRow {
    #[serde(flatten)]
    receivable: ReceivableView,
    /// The payment under way for it, to follow.
    under_way: Option<String>,
    /// The payment that paid it, whose receipt the payer may download.
    paid_by: Option<String>,
    /// Whether a convenience-store slip is in force for it, to print again.
    has_slip: bool,
}

/// The resident's own convenience-store slip, printed again (a PDF no cache keeps).
async fn payer_slip(
    State(state): State<AppState>,
    ctx: Ctx,
    resident: ResidentSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let receivable =
        ReceivableId(Uuid::parse_str(&id).map_err(|_| AppError::new(ErrorCode::NotFound))?);
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let slip = madoguchi_usecases::slips::payer_slip(&*state.storage, &scope, receivable).await?;
    let filename = format!("slip-{}.pdf", slip.slip_number());
    let today = madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date();
    let documents = super::render_slips(&state, &ctx, vec![slip], today).await?;
    Ok(super::private_download(
        "application/pdf",
        filename,
        documents.pdf,
    ))
}

async fn my_payments(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let owed = receivables::search(&*state.storage, &scope, None, None, None, LIST_MAX).await?;
    let payments = state
        .storage
        .list_payments(
            ctx.tenant.id,
            &PaymentFilter {
                payer_account: Some(resident.account.id),
                limit: LIST_MAX,
                ..PaymentFilter::default()
            },
        )
        .await?;
    let categories = state.storage.revenue_categories(ctx.tenant.id).await?;
    // The slips in force of what is still owed (a resident owes a handful of fees at most).
    let mut with_slip = std::collections::HashSet::new();
    for r in owed.iter().filter(|r| {
        matches!(
            r.status,
            ReceivableStatus::Open | ReceivableStatus::PartlyPaid
        )
    }) {
        if madoguchi_usecases::slips::payer_slip(&*state.storage, &scope, r.id)
            .await
            .is_ok()
        {
            with_slip.insert(r.id);
        }
    }
    let receivable_rows: Vec<ReceivableRow> = owed
        .iter()
        .map(|r| {
            let of_this = || payments.iter().filter(move |p| p.receivable == r.id);
            ReceivableRow {
                has_slip: with_slip.contains(&r.id),
                receivable: receivable_view(r, &categories, lang),
                under_way: of_this()
                    .find(|p| p.status.is_in_flight())
                    .map(|p| p.id.to_string()),
                paid_by: of_this()
                    .find(|p| p.status == PaymentStatus::Succeeded)
                    .map(|p| p.id.to_string()),
            }
        })
        .collect();
    let payment_rows: Vec<PaymentRow> = payments
        .iter()
        .map(|p| PaymentRow {
            id: p.id.to_string(),
            started_at: instant_label(p.created_at, lang),
            description: owed
                .iter()
                .find(|r| r.id == p.receivable)
                .map(|r| r.description.clone())
                .unwrap_or_default(),
            amount: amount_label(p.amount_yen, lang),
            method: method_label(p, lang),
            state: payment_state(p.status),
            has_receipt: p.status == PaymentStatus::Succeeded,
        })
        .collect();
    let base = page_base(&ctx, Some(AccountKind::Resident), Some(&session), false).await?;
    state.templates.page(
        "payments/my_payments.html",
        &base,
        context! { receivables => receivable_rows, payments => payment_rows },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_yen_the_japanese_and_the_english_way() {
        assert_eq!(amount_label(300, Lang::Ja), "300円");
        assert_eq!(amount_label(3000, Lang::Ja), "3,000円");
        assert_eq!(amount_label(3000, Lang::En), "¥3,000");
    }

    #[test]
    fn every_status_before_a_final_one_reads_in_progress() {
        for status in PaymentStatus::ALL {
            assert_eq!(
                payment_state(status) == "in_flight",
                status.is_in_flight(),
                "{status:?}"
            );
        }
    }
}
