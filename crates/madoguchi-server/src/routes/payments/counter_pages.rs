//! Counter checkout (窓口収納) for staff who take payments at a counter: find an open
//! receivable or assess one on the spot, then record what the counter's terminal approved or
//! the cash taken, print the receipt, or show the resident a QR code that opens online
//! checkout on their phone.
//!
//! Each rendered checkout form carries its own idempotency key, so a double click records one
//! payment. The municipal rules (one method, lump sum only, no tax through the cashless
//! terminal, no top-up) are the use case's; this module shows its refusals beside the field.

use super::staff_view::{
    Books, PaymentView, ReceivableView, path_id, payment_view, receivable_view, staff_scope,
};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::i18n::text;
use crate::state::AppState;
use crate::view::page::{FormProblems, staff_base};
use crate::view::qr::{QrSvg, qr_svg};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang, OfficeId, PaymentId, ReceivableId};
use madoguchi_payments::{Brand, MethodFamily, ReceivableStatus};
use madoguchi_storage::Receivable;
use madoguchi_usecases::payments::{checkout, counter, receipts, receivables, visible_receivable};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;
use uuid::Uuid;

/// How many open receivables the counter's list shows of each status.
const OPEN_LISTED_MAX: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/payments/counter", get(counter_home).post(assess))
        .route(
            "/staff/payments/counter/{id}",
            get(checkout_page).post(take),
        )
        .route("/staff/payments/{id}", get(taken))
        .route("/staff/payments/{id}/receipt.pdf", get(receipt))
}

/// The counter pages are for staff who take payments at some counter (not finance alone);
/// which receivables is decided by each receivable's office.
fn require_counter(staff: &StaffSession) -> AppResult<()> {
    // A receivable of no particular office may be taken at any counter, so this asks whether
    // the staff member stands at one at all.
    if staff.access.may_take_counter_payment(None) {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

// ---------------------------------------------------------------------------------------------
// GET/POST /staff/payments/counter: find a receivable, or assess one on the spot

#[derive(Deserialize, Default)]
struct FindQuery {
    #[serde(default)]
    q: String,
}

#[derive(Deserialize, Default, Serialize, Clone)]
struct AssessForm {
    #[serde(default)]
    office_id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    payer_name: String,
    #[serde(default)]
    amount_yen: String,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

/// The offices where this staff member may take payments: where a new receivable may be
/// assessed.
fn counter_offices(books: &Books, access: &StaffAccess) -> Vec<Choice> {
    books
        .offices
        .iter()
        .filter(|o| access.may_take_counter_payment(Some(o.id)))
        .map(|o| Choice {
            value: o.id.to_string(),
            label: o.name(books.lang).to_owned(),
        })
        .collect()
}

fn category_choices(books: &Books) -> Vec<Choice> {
    books
        .categories
        .iter()
        .map(|c| {
            let name = match books.lang {
                Lang::Ja => c.name_ja.as_str(),
                Lang::En => c.name_en.as_str(),
            };
            Choice {
                value: c.code.to_string(),
                label: if c.is_tax {
                    format!("{name}{}", text(books.lang, "counter_tax_mark"))
                } else {
                    name.to_owned()
                },
            }
        })
        .collect()
}

/// The staff member's own office, the default of the assessment form.
fn own_office(access: &StaffAccess, offered: &[Choice]) -> String {
    access
        .assignments
        .iter()
        .filter_map(|a| a.office_id)
        .map(|o| o.to_string())
        .find(|o| offered.iter().any(|c| &c.value == o))
        .or_else(|| offered.first().map(|c| c.value.clone()))
        .unwrap_or_default()
}

async fn render_home(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    q: &str,
    form: AssessForm,
    problems: Option<&FormProblems>,
) -> AppResult<Html<String>> {
    let books = Books::load(state, ctx).await?;
    let scope = staff_scope(state, ctx, staff);
    let query = Some(q.trim()).filter(|q| !q.is_empty());
    let mut open: Vec<Receivable> = Vec::new();
    let mut search_error = None;
    for status in [ReceivableStatus::Open, ReceivableStatus::PartlyPaid] {
        match receivables::search(
            &*state.storage,
            &scope,
            Some(&staff.access),
            query,
            Some(status),
            OPEN_LISTED_MAX,
        )
        .await
        {
            Ok(found) => open.extend(found),
            Err(error) if error.fields.iter().any(|f| f.field == "q") => {
                search_error = Some(error.code.message(ctx.lang).to_owned());
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    open.retain(|r| staff.access.may_take_counter_payment(r.office));
    open.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let rows: Vec<ReceivableView> = open.iter().map(|r| receivable_view(r, &books)).collect();
    let offices = counter_offices(&books, &staff.access);
    let mut form = form;
    if form.office_id.is_empty() {
        form.office_id = own_office(&staff.access, &offices);
    }
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "payments/counter.html",
        &base,
        context! {
            q => q,
            searched => query.is_some(),
            search_error,
            rows,
            offices,
            categories => category_choices(&books),
            values => form,
            errors => problems.map(|p| p.errors.clone()).unwrap_or_default(),
            alert => problems.map(|p| p.alert.clone()),
        },
    )
}

async fn counter_home(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<FindQuery>,
) -> AppResult<Html<String>> {
    require_counter(&staff)?;
    render_home(
        &state,
        &ctx,
        &session,
        &staff,
        &query.q,
        AssessForm::default(),
        None,
    )
    .await
}

async fn assess(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<AssessForm>,
) -> AppResult<Response> {
    require_counter(&staff)?;
    let office = match form.office_id.trim() {
        "" => None,
        raw => match Uuid::parse_str(raw) {
            Ok(id) => Some(OfficeId(id)),
            Err(_) => {
                let problems = FormProblems::invalid(
                    BTreeMap::from([(
                        "office_id".to_owned(),
                        ErrorCode::ValidationFailed.message(ctx.lang).to_owned(),
                    )]),
                    ctx.lang,
                );
                let html =
                    render_home(&state, &ctx, &session, &staff, "", form, Some(&problems)).await?;
                return Ok(problems.respond(html));
            }
        },
    };
    let input = receivables::AssessInput {
        category: form.category.clone(),
        description: form.description.clone(),
        payer_name: form.payer_name.clone(),
        office,
        amount_yen: form.amount_yen.clone(),
        ..receivables::AssessInput::default()
    };
    let scope = staff_scope(&state, &ctx, &staff);
    match receivables::assess(&*state.storage, &scope, Some(&staff.access), &input).await {
        Ok(receivable) => {
            Ok(Redirect::to(&format!("/staff/payments/counter/{}", receivable.id)).into_response())
        }
        Err(error) => {
            let error = AppError::from(error);
            if error.status.is_server_error() || error.code == ErrorCode::Forbidden {
                return Err(error);
            }
            let problems = FormProblems::refused(&error, ctx.lang, |f| {
                (f.field.clone(), f.code.message(ctx.lang).to_owned())
            });
            let html =
                render_home(&state, &ctx, &session, &staff, "", form, Some(&problems)).await?;
            Ok(problems.respond(html))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GET/POST /staff/payments/counter/{id}: the checkout form

#[derive(Serialize)]
struct BrandGroup {
    family: &'static str,
    label: String,
    brands: Vec<Choice>,
}

/// Every counter brand of PRODUCT.md, grouped as the terminal groups them.
fn brand_groups(lang: Lang) -> Vec<BrandGroup> {
    [
        (MethodFamily::Card, "card"),
        (MethodFamily::Emoney, "emoney"),
        (MethodFamily::Qr, "qr"),
    ]
    .into_iter()
    .map(|(family, name)| BrandGroup {
        family: name,
        label: text(lang, &format!("counter_family_{name}")),
        brands: Brand::ALL
            .into_iter()
            .filter(|b| b.family() == family)
            .map(|b| Choice {
                value: b.as_str().to_owned(),
                label: b.label(lang == Lang::En).to_owned(),
            })
            .collect(),
    })
    .collect()
}

/// What the clerk entered, kept for showing the form again.
#[derive(Serialize, Default)]
struct CheckoutValues {
    method: String,
    slip_number: String,
    amount_yen: String,
    client_key: String,
}

/// A fresh idempotency key for one rendering of the checkout form.
fn new_form_key() -> String {
    format!("counter-form-{}", Uuid::new_v4().simple())
}

/// The resident's phone opens online checkout of this receivable.
fn pay_on_phone(state: &AppState, ctx: &Ctx, receivable: ReceivableId) -> Option<QrSvg> {
    let base = madoguchi_usecases::accounts::base_url_for(
        &state.config.public_url,
        ctx.tenant.host.as_deref(),
    );
    qr_svg(&format!("{base}/receivables/{receivable}/pay"))
}

/// The receivable a counter clerk may take a payment for: one they may see at an office where
/// they take payments. Anything else does not exist for them.
async fn counter_receivable(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    raw_id: &str,
) -> AppResult<Receivable> {
    let id = ReceivableId(path_id(raw_id)?);
    let scope = staff_scope(state, ctx, staff);
    let receivable = visible_receivable(&*state.storage, &scope, Some(&staff.access), id).await?;
    if staff.access.may_take_counter_payment(receivable.office) {
        Ok(receivable)
    } else {
        Err(AppError::new(ErrorCode::NotFound))
    }
}

async fn render_checkout(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    receivable: &Receivable,
    values: CheckoutValues,
    problems: Option<&FormProblems>,
) -> AppResult<Html<String>> {
    let books = Books::load(state, ctx).await?;
    let view = receivable_view(receivable, &books);
    let qr = view
        .payable
        .then(|| pay_on_phone(state, ctx, receivable.id))
        .flatten();
    let values = CheckoutValues {
        amount_yen: if values.amount_yen.is_empty() {
            view.outstanding_yen.to_string()
        } else {
            values.amount_yen
        },
        client_key: if values.client_key.is_empty() {
            new_form_key()
        } else {
            values.client_key
        },
        ..values
    };
    let base = staff_base(ctx, staff, session).await?;
    state.templates.page(
        "payments/counter_checkout.html",
        &base,
        context! {
            receivable => view,
            brand_groups => brand_groups(ctx.lang),
            values,
            qr,
            errors => problems.map(|p| p.errors.clone()).unwrap_or_default(),
            alert => problems.map(|p| p.alert.clone()),
        },
    )
}

async fn checkout_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    require_counter(&staff)?;
    let receivable = counter_receivable(&state, &ctx, &staff, &id).await?;
    render_checkout(
        &state,
        &ctx,
        &session,
        &staff,
        &receivable,
        CheckoutValues::default(),
        None,
    )
    .await
}

/// Every value posted under `name` (a form may post a radio group's name twice if tampered
/// with, or checkboxes): the counter rule refuses more than one method.
fn all_of(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn one_of(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

async fn take(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_counter(&staff)?;
    let receivable = counter_receivable(&state, &ctx, &staff, &id).await?;
    let entered = counter::CounterForm {
        methods: all_of(&form, "method"),
        instalments: one_of(&form, "instalments"),
        slip_number: one_of(&form, "slip_number"),
        amount_yen: one_of(&form, "amount_yen"),
        client_key: one_of(&form, "client_key"),
    };
    let scope = staff_scope(&state, &ctx, &staff);
    match counter::take(
        &*state.storage,
        &scope,
        &staff.access,
        receivable.id,
        &entered,
    )
    .await
    {
        Ok(payment) => Ok(Redirect::to(&format!("/staff/payments/{}", payment.id)).into_response()),
        Err(error) => {
            let error = AppError::from(error);
            if error.status.is_server_error()
                || matches!(error.code, ErrorCode::Forbidden | ErrorCode::NotFound)
            {
                return Err(error);
            }
            let lang = ctx.lang;
            let problems = FormProblems::refused(&error, lang, |f| {
                // A bad form key is the page's fault, not the clerk's: shown on the button.
                let field = if f.field == "client_key" {
                    "method".to_owned()
                } else {
                    f.field.clone()
                };
                (field, f.code.message(lang).to_owned())
            });
            let values = CheckoutValues {
                method: entered.methods.first().cloned().unwrap_or_default(),
                slip_number: entered.slip_number.unwrap_or_default(),
                amount_yen: entered.amount_yen.unwrap_or_default(),
                // The same key again: nothing was stored under it, and a second click of the
                // corrected form must still count once.
                client_key: entered
                    .client_key
                    .filter(|k| madoguchi_domain::IdempotencyKey::parse(k).is_ok())
                    .unwrap_or_default(),
            };
            // The receivable as it is now (a colleague may have taken its payment meanwhile).
            let receivable = counter_receivable(&state, &ctx, &staff, &id).await?;
            let html = render_checkout(
                &state,
                &ctx,
                &session,
                &staff,
                &receivable,
                values,
                Some(&problems),
            )
            .await?;
            Ok(problems.respond(html))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GET /staff/payments/{id}: what was taken; GET /staff/payments/{id}/receipt.pdf

async fn taken(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let id = PaymentId(path_id(&id)?);
    let scope = staff_scope(&state, &ctx, &staff);
    let (payment, receivable) =
        checkout::visible_payment(&*state.storage, &scope, Some(&staff.access), id).await?;
    let books = Books::load(&state, &ctx).await?;
    let payment: PaymentView = payment_view(&payment, ctx.lang);
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "payments/counter_taken.html",
        &base,
        context! {
            payment,
            receivable => receivable_view(&receivable, &books),
            at_counter => staff.access.may_take_counter_payment(None),
        },
    )
}

async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = PaymentId(path_id(&id)?);
    let scope = staff_scope(&state, &ctx, &staff);
    let pdf = receipts::pdf(
        &*state.storage,
        &scope,
        Some(&staff.access),
        id,
        ctx.tenant.name(ctx.lang),
        ctx.lang,
    )
    .await?;
    let file = format!("{}.pdf", receipts::receipt_number(id));
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file}\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
