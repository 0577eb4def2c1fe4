//! Finance's pages (会計課): the search over receivables with their payments, one receivable
//! with its payments, refunds and ledger entries (where staff request a refund and finance
//! cancels or writes off), the refund approval queue with four eyes, and the trial balance of
//! a day.
//!
//! The search, the queue and the trial balance are for finance and administrators. A
//! receivable's own page is for whoever may see it (counter staff of its office too), since
//! any staff member may request a refund of a payment they can see.

use super::staff_view::{
    Books, RefundView, StaffNames, path_id, payment_view, receivable_view, refund_view, staff_scope,
};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::i18n::text;
use crate::state::AppState;
use crate::view::page::{FormProblems, staff_base};
use crate::view::present::{date_label, instant_label};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::{ErrorCode, PaymentId, ReceivableId, RefundId};
use madoguchi_payments::{PaymentStatus, ReceivableStatus, RefundStatus};
use madoguchi_storage::{PaymentFilter, RefundFilter, TrialBalanceRow};
use madoguchi_usecases::payments::{receivables, refunds, visible_receivable};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use tower_sessions::Session;

/// Receivables one search shows.
const SEARCH_LISTED_MAX: i64 = 100;
/// Payments shown per receivable in the search.
const PAYMENTS_PER_RECEIVABLE_MAX: i64 = 20;
/// Requested refunds the queue shows (oldest first).
const QUEUE_LISTED_MAX: i64 = 200;
/// Decided refunds listed under the queue.
const DECIDED_LISTED_MAX: i64 = 20;
/// Ledger entries shown on a receivable's page.
const ENTRIES_LISTED_MAX: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance", get(search))
        .route("/finance/receivables/{id}", get(receivable_page))
        .route("/finance/receivables/{id}/close", post(close))
        .route("/finance/payments/{id}/refunds", post(request_refund))
        .route("/finance/refunds", get(queue))
        .route("/finance/refunds/{id}", post(decide))
        .route("/finance/ledger", get(ledger))
}

fn require_finance(staff: &StaffSession) -> AppResult<()> {
    if staff.access.may_read_finance() {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// Requested refunds waiting for a decision, for the count in finance's navigation.
async fn waiting_refunds(state: &AppState, ctx: &Ctx) -> AppResult<usize> {
    Ok(state
        .storage
        .list_refunds(
            ctx.tenant.id,
            &RefundFilter {
                status: Some(RefundStatus::Requested),
                payment: None,
                limit: QUEUE_LISTED_MAX,
            },
        )
        .await?
        .len())
}

// ---------------------------------------------------------------------------------------------
// GET /finance: receivables with their payments

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

#[derive(Serialize)]
struct StatusChoice {
    value: &'static str,
    label: String,
}

async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<SearchQuery>,
) -> AppResult<Html<String>> {
    require_finance(&staff)?;
    let lang = ctx.lang;
    let books = Books::load(&state, &ctx).await?;
    let scope = staff_scope(&state, &ctx, &staff);
    let status = ReceivableStatus::parse(query.status.trim());
    let text_query = Some(query.q.trim()).filter(|q| !q.is_empty());
    let (found, search_error) = match receivables::search(
        &*state.storage,
        &scope,
        Some(&staff.access),
        text_query,
        status,
        SEARCH_LISTED_MAX,
    )
    .await
    {
        Ok(found) => (found, None),
        Err(error) if error.fields.iter().any(|f| f.field == "q") => {
            (Vec::new(), Some(error.code.message(lang).to_owned()))
        }
        Err(error) => return Err(error.into()),
    };
    let mut rows = Vec::with_capacity(found.len());
    for receivable in &found {
        let payments = state
            .storage
            .list_payments(
                ctx.tenant.id,
                &PaymentFilter {
                    receivable: Some(receivable.id),
                    limit: PAYMENTS_PER_RECEIVABLE_MAX,
                    ..PaymentFilter::default()
                },
            )
            .await?;
        rows.push(context! {
            receivable => receivable_view(receivable, &books),
            payments => payments.iter().map(|p| payment_view(p, lang)).collect::<Vec<_>>(),
        });
    }
    let statuses: Vec<StatusChoice> = ReceivableStatus::ALL
        .into_iter()
        .map(|s| StatusChoice {
            value: s.as_str(),
            label: text(lang, &format!("fin_status_receivable_{}", s.as_str())),
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "payments/finance.html",
        &base,
        context! {
            section => "search",
            waiting => waiting_refunds(&state, &ctx).await?,
            q => query.q,
            status => status.map(ReceivableStatus::as_str).unwrap_or_default(),
            statuses,
            searched => text_query.is_some() || status.is_some(),
            search_error,
            rows,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// GET /finance/receivables/{id}; POST …/close; POST /finance/payments/{id}/refunds

/// A refund request form shown again: the payment it is for, what was entered, its problems.
#[derive(Default)]
struct RefundFormState {
    payment: Option<PaymentId>,
    amount_yen: String,
    reason: String,
    problems: Option<FormProblems>,
}

/// The close form shown again.
#[derive(Default)]
struct CloseFormState {
    action: String,
    reason: String,
    problems: Option<FormProblems>,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_receivable(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    id: ReceivableId,
    notice: Option<String>,
    refund_form: RefundFormState,
    close_form: CloseFormState,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let scope = staff_scope(state, ctx, staff);
    let receivable = visible_receivable(&*state.storage, &scope, Some(&staff.access), id).await?;
    let books = Books::load(state, ctx).await?;
    let payments = state
        .storage
        .list_payments(
            ctx.tenant.id,
            &PaymentFilter {
                receivable: Some(id),
                limit: 200,
                ..PaymentFilter::default()
            },
        )
        .await?;
    let now = state.clock.now();
    let mut names = StaffNames::default();
    let mut refund_rows: Vec<RefundView> = Vec::new();
    let mut payment_rows = Vec::with_capacity(payments.len());
    for payment in &payments {
        let refunds = state
            .storage
            .list_refunds(
                ctx.tenant.id,
                &RefundFilter {
                    status: None,
                    payment: Some(payment.id),
                    limit: 200,
                },
            )
            .await?;
        // What is left to refund: refunds not rejected or failed count against the payment.
        let committed: i64 = refunds
            .iter()
            .filter(|r| !matches!(r.status, RefundStatus::Rejected | RefundStatus::Failed))
            .map(|r| r.amount_yen)
            .sum();
        for refund in &refunds {
            refund_rows.push(refund_view(state, ctx, &mut names, refund, now).await?);
        }
        let refundable_yen = if payment.status == PaymentStatus::Succeeded {
            (payment.amount_yen - committed).max(0)
        } else {
            0
        };
        let this_form = refund_form.payment == Some(payment.id);
        payment_rows.push(context! {
            payment => payment_view(payment, lang),
            refundable_yen,
            amount_yen => if this_form { refund_form.amount_yen.clone() } else { refundable_yen.to_string() },
            reason => if this_form { refund_form.reason.clone() } else { String::new() },
            errors => refund_form.problems.as_ref().filter(|_| this_form).map(|p| p.errors.clone()).unwrap_or_default(),
        });
    }
    let entries = state
        .storage
        .ledger_entries(ctx.tenant.id, Some(id), ENTRIES_LISTED_MAX)
        .await?;
    let entry_rows: Vec<_> = entries
        .iter()
        .map(|e| {
            context! {
                date => date_label(e.accounting_date, lang),
                kind => text(lang, &format!("fin_kind_{}", e.kind.as_str())),
                lines => e.lines.iter().map(|(account, yen)| context! {
                    account => books.account_name(account),
                    debit_yen => (*yen > 0).then_some(*yen),
                    credit_yen => (*yen < 0).then_some(-*yen),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let alert = refund_form
        .problems
        .as_ref()
        .or(close_form.problems.as_ref())
        .map(|p| p.alert.clone());
    let view = receivable_view(&receivable, &books);
    let closable = staff.access.may_read_finance()
        && matches!(
            receivable.status,
            ReceivableStatus::Open | ReceivableStatus::PartlyPaid
        );
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "payments/finance_receivable.html",
        &base,
        context! {
            section => "search",
            finance => staff.access.may_read_finance(),
            may_request_refund => staff.access.may_request_refund(),
            at_counter => view.payable && staff.access.may_take_counter_payment(receivable.office),
            receivable => view,
            payments => payment_rows,
            refunds => refund_rows,
            entries => entry_rows,
            closable,
            never_paid => receivable.paid_yen == 0,
            close => context! {
                action => close_form.action,
                reason => close_form.reason,
                errors => close_form.problems.as_ref().map(|p| p.errors.clone()).unwrap_or_default(),
            },
            notice,
            alert,
        },
    )
}

async fn receivable_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> AppResult<Html<String>> {
    let id = ReceivableId(path_id(&id)?);
    let notice = match query.done.as_str() {
        "refund_requested" => Some(text(ctx.lang, "fin_refund_requested")),
        "cancelled" => Some(text(ctx.lang, "fin_closed_cancelled")),
        "written_off" => Some(text(ctx.lang, "fin_closed_written_off")),
        _ => None,
    };
    render_receivable(
        &state,
        &ctx,
        &session,
        &staff,
        id,
        notice,
        RefundFormState::default(),
        CloseFormState::default(),
    )
    .await
}

#[derive(Deserialize, Default)]
struct CloseForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

async fn close(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<CloseForm>,
) -> AppResult<Response> {
    require_finance(&staff)?;
    let id = ReceivableId(path_id(&id)?);
    let lang = ctx.lang;
    let write_off = match form.action.as_str() {
        "cancel" => Some(false),
        "write_off" => Some(true),
        _ => None,
    };
    let outcome = match write_off {
        Some(write_off) => {
            let scope = staff_scope(&state, &ctx, &staff);
            receivables::close(
                &*state.storage,
                &scope,
                &staff.access,
                id,
                write_off,
                &form.reason,
            )
            .await
            .map_err(AppError::from)
        }
        None => Err(AppError::field("action", ErrorCode::Required)),
    };
    match outcome {
        Ok(closed) => {
            let done = if closed.status == ReceivableStatus::WrittenOff {
                "written_off"
            } else {
                "cancelled"
            };
            Ok(Redirect::to(&format!("/finance/receivables/{id}?done={done}")).into_response())
        }
        Err(error)
            if error.status.is_client_error()
                && !matches!(error.code, ErrorCode::Forbidden | ErrorCode::NotFound) =>
        {
            let problems = FormProblems::refused(&error, lang, |f| {
                (f.field.clone(), f.code.message(lang).to_owned())
            });
            let status = problems.status;
            let html = render_receivable(
                &state,
                &ctx,
                &session,
                &staff,
                id,
                None,
                RefundFormState::default(),
                CloseFormState {
                    action: form.action,
                    reason: form.reason,
                    problems: Some(problems),
                },
            )
            .await?;
            Ok((status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
struct RefundRequestForm {
    #[serde(default)]
    amount_yen: String,
    #[serde(default)]
    reason: String,
}

async fn request_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<RefundRequestForm>,
) -> AppResult<Response> {
    let payment_id = PaymentId(path_id(&id)?);
    let lang = ctx.lang;
    let scope = staff_scope(&state, &ctx, &staff);
    let requested = refunds::request(
        &*state.storage,
        &scope,
        &staff.access,
        payment_id,
        Some(form.amount_yen.as_str()),
        &form.reason,
    )
    .await
    .map_err(AppError::from);
    match requested {
        Ok(_) => {
            let payment = state.storage.payment(ctx.tenant.id, payment_id).await?;
            Ok(Redirect::to(&format!(
                "/finance/receivables/{}?done=refund_requested",
                payment.receivable
            ))
            .into_response())
        }
        Err(error)
            if error.status.is_client_error()
                && !matches!(error.code, ErrorCode::Forbidden | ErrorCode::NotFound) =>
        {
            let payment = state.storage.payment(ctx.tenant.id, payment_id).await?;
            let problems = FormProblems::refused(&error, lang, |f| {
                (f.field.clone(), f.code.message(lang).to_owned())
            });
            let status = problems.status;
            let html = render_receivable(
                &state,
                &ctx,
                &session,
                &staff,
                payment.receivable,
                None,
                RefundFormState {
                    payment: Some(payment_id),
                    amount_yen: form.amount_yen,
                    reason: form.reason,
                    problems: Some(problems),
                },
                CloseFormState::default(),
            )
            .await?;
            Ok((status, html).into_response())
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// GET /finance/refunds, POST /finance/refunds/{id}: the approval queue

#[derive(Deserialize, Default)]
struct QueueQuery {
    #[serde(default)]
    decided: String,
}

/// A decision form shown again (a note too long).
struct DecisionFormState {
    refund: RefundId,
    note: String,
    error: String,
}

async fn render_queue(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    outcome: Option<(String, &'static str)>,
    form: Option<DecisionFormState>,
    alert: Option<String>,
) -> AppResult<Html<String>> {
    let lang = ctx.lang;
    let books = Books::load(state, ctx).await?;
    let now = state.clock.now();
    let mut requested = state
        .storage
        .list_refunds(
            ctx.tenant.id,
            &RefundFilter {
                status: Some(RefundStatus::Requested),
                payment: None,
                limit: QUEUE_LISTED_MAX,
            },
        )
        .await?;
    // Oldest first: the one waiting longest is decided first.
    requested.sort_by_key(|r| r.created_at);
    let mut names = StaffNames::default();
    let mut waiting = Vec::with_capacity(requested.len());
    for refund in &requested {
        let payment = state.storage.payment(ctx.tenant.id, refund.payment).await?;
        let receivable = state
            .storage
            .receivable(ctx.tenant.id, payment.receivable)
            .await?;
        let own = refund.requested_by.account == Some(staff.account.id);
        let this_form = form.as_ref().filter(|f| f.refund == refund.id);
        waiting.push(context! {
            refund => refund_view(state, ctx, &mut names, refund, now).await?,
            payment => payment_view(&payment, lang),
            receivable => receivable_view(&receivable, &books),
            own,
            note => this_form.map(|f| f.note.clone()).unwrap_or_default(),
            error => this_form.map(|f| f.error.clone()),
        });
    }
    let mut decided = Vec::new();
    for status in [
        RefundStatus::Succeeded,
        RefundStatus::Failed,
        RefundStatus::Rejected,
        RefundStatus::Processing,
        RefundStatus::Approved,
    ] {
        decided.extend(
            state
                .storage
                .list_refunds(
                    ctx.tenant.id,
                    &RefundFilter {
                        status: Some(status),
                        payment: None,
                        limit: DECIDED_LISTED_MAX,
                    },
                )
                .await?,
        );
    }
    decided.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    decided.truncate(DECIDED_LISTED_MAX as usize);
    let mut decided_rows = Vec::with_capacity(decided.len());
    for refund in &decided {
        decided_rows.push(refund_view(state, ctx, &mut names, refund, now).await?);
    }
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "payments/finance_refunds.html",
        &base,
        context! {
            section => "refunds",
            waiting => waiting.len(),
            items => waiting,
            decided => decided_rows,
            may_decide => staff.access.may_decide_refund(),
            outcome => outcome.map(|(message, kind)| context! { message, kind }),
            alert,
        },
    )
}

async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<QueueQuery>,
) -> AppResult<Html<String>> {
    require_finance(&staff)?;
    let outcome = match uuid::Uuid::parse_str(&query.decided).ok().map(RefundId) {
        Some(id) => match state.storage.refund(ctx.tenant.id, id).await {
            Ok(refund) => Some(outcome_of(refund.status, ctx.lang)),
            Err(madoguchi_storage::StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    render_queue(&state, &ctx, &session, &staff, outcome, None, None).await
}

/// What became of a decided refund, in words, with the alert's kind.
fn outcome_of(status: RefundStatus, lang: madoguchi_domain::Lang) -> (String, &'static str) {
    let (key, kind) = match status {
        RefundStatus::Succeeded => ("fin_outcome_paid", "success"),
        RefundStatus::Failed => ("fin_outcome_failed", "error"),
        RefundStatus::Rejected => ("fin_outcome_rejected", "info"),
        RefundStatus::Approved | RefundStatus::Processing => ("fin_outcome_pending", "info"),
        RefundStatus::Requested => ("fin_outcome_waiting", "info"),
    };
    (text(lang, key), kind)
}

#[derive(Deserialize, Default)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<DecisionForm>,
) -> AppResult<Response> {
    require_finance(&staff)?;
    let id = RefundId(path_id(&id)?);
    let lang = ctx.lang;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::new(ErrorCode::ValidationFailed)),
    };
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    let scope = staff_scope(&state, &ctx, &staff);
    let decided = refunds::decide(
        &*state.storage,
        &*state.gateways,
        &scope,
        &staff.access,
        id,
        approve,
        note,
    )
    .await
    .map_err(AppError::from);
    match decided {
        Ok(refund) => {
            Ok(Redirect::to(&format!("/finance/refunds?decided={}", refund.id)).into_response())
        }
        // A note too long: the form again with it.
        Err(error) if error.fields.iter().any(|f| f.field == "note") => {
            let message = error
                .fields
                .iter()
                .find(|f| f.field == "note")
                .map(|f| f.code.message(lang).to_owned())
                .unwrap_or_default();
            let form = DecisionFormState {
                refund: id,
                note: form.note,
                error: message,
            };
            let alert = Some(ErrorCode::ValidationFailed.message(lang).to_owned());
            let html =
                render_queue(&state, &ctx, &session, &staff, None, Some(form), alert).await?;
            Ok((error.status, html).into_response())
        }
        // Decided meanwhile by a colleague: the queue shows it is gone.
        Err(error) if error.code == ErrorCode::RefundNotPending => {
            let alert = Some(error.code.message(lang).to_owned());
            let html = render_queue(&state, &ctx, &session, &staff, None, None, alert).await?;
            Ok((error.status, html).into_response())
        }
        // Self-approval (403 refund_self_approval), someone else's city (404): the error page.
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// GET /finance/ledger?date=YYYY-MM-DD: the trial balance

#[derive(Deserialize, Default)]
struct LedgerQuery {
    #[serde(default)]
    date: String,
}

/// One trial balance: its rows in words, the totals and whether they agree.
fn balance_view(rows: &[TrialBalanceRow], books: &Books) -> minijinja::Value {
    let debit_total: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credit_total: i64 = rows.iter().map(|r| r.credit_yen).sum();
    let mut lines: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.account.clone(),
                context! {
                    account => books.account_name(&r.account),
                    code => r.account.clone(),
                    debit_yen => r.debit_yen,
                    credit_yen => r.credit_yen,
                },
            )
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    context! {
        rows => lines.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        debit_total,
        credit_total,
        balanced => debit_total == credit_total,
    }
}

async fn ledger(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<LedgerQuery>,
) -> AppResult<Response> {
    require_finance(&staff)?;
    let lang = ctx.lang;
    let today = madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date();
    let (date, date_error) = match query.date.trim() {
        "" => (today, None),
        raw => match Date::parse(
            raw,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| ErrorCode::ValidationFailed)
        .and_then(madoguchi_domain::tokyo::supported_date)
        {
            Ok(date) => (date, None),
            Err(code) => (today, Some(code.message(lang).to_owned())),
        },
    };
    let books = Books::load(&state, &ctx).await?;
    let day = state
        .storage
        .trial_balance(ctx.tenant.id, Some(date), date)
        .await?;
    let cumulative = state
        .storage
        .trial_balance(ctx.tenant.id, None, date)
        .await?;
    let base = staff_base(&ctx, &staff, &session).await?;
    let problems = date_error.as_ref().map(|message| {
        FormProblems::invalid(BTreeMap::from([("date".to_owned(), message.clone())]), lang)
    });
    let html = state.templates.page(
        "payments/finance_ledger.html",
        &base,
        context! {
            section => "ledger",
            waiting => waiting_refunds(&state, &ctx).await?,
            date => date.to_string(),
            date_label => date_label(date, lang),
            entered => query.date,
            day => balance_view(&day, &books),
            cumulative => balance_view(&cumulative, &books),
            errors => problems.as_ref().map(|p| p.errors.clone()).unwrap_or_default(),
            alert => problems.as_ref().map(|p| p.alert.clone()),
            generated_at => instant_label(state.clock.now(), lang),
        },
    )?;
    Ok(match problems {
        Some(problems) => problems.respond(html),
        None => html.into_response(),
    })
}
