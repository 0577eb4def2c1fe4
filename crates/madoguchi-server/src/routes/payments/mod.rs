//! Payments and reconciliation: the resident's pages (paying what they owe, the result, their
//! payments and receipts) and API, the counter's checkout and finance's pages for staff with
//! their API, finance's convenience-store slip pages, the providers' webhooks and the sandbox gateway's payment page, as
//! ARCHITECTURE.md describes.

pub mod api;
pub mod counter_pages;
pub mod finance_pages;
pub mod hooks;
pub mod pages;
pub mod resident_pages;
pub mod sandbox;
pub mod slip_import_pages;
pub mod slip_pages;
pub mod staff_api;
mod staff_view;

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use madoguchi_domain::PaymentId;
use madoguchi_usecases::payments::receipts;

pub fn router() -> Router<AppState> {
    pages::router()
        .merge(resident_pages::router())
        .merge(counter_pages::router())
        .merge(finance_pages::router())
        .merge(slip_pages::router())
        .merge(slip_import_pages::router())
        .merge(hooks::router())
        .merge(sandbox::router())
}

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    api::router().merge(staff_api::api_router())
}

/// A receipt as a download (`receipt-R-XXXXXXXXXXXX.pdf`): it names the payer. The page and
/// the API answer it alike.
fn pdf_response(pdf: Vec<u8>, id: PaymentId) -> Response {
    let filename = format!("receipt-{}.pdf", receipts::receipt_number(id));
    private_download("application/pdf", filename, pdf)
}

/// A file as a download that no cache keeps: receipts and slips name their payers.
fn private_download(content_type: &str, filename: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// Renders `issued` in Japanese as the city's slips, off the async workers (thousands of pages
/// take seconds).
pub(super) async fn render_slips(
    state: &AppState,
    ctx: &Ctx,
    issued: Vec<madoguchi_storage::IssuedSlip>,
    issued_on: time::Date,
) -> AppResult<madoguchi_usecases::slips::Documents> {
    let books = staff_view::Books::load(state, ctx).await?;
    let city_name = ctx.tenant.name_ja.clone();
    tokio::task::spawn_blocking(move || {
        let category_name = |code: &madoguchi_payments::RevenueCategoryCode| {
            books
                .category(code)
                .map_or_else(|| code.to_string(), |c| c.name_ja.clone())
        };
        madoguchi_usecases::slips::documents(
            &issued,
            &madoguchi_usecases::slips::PrintContext {
                city_name: &city_name,
                category_name: &category_name,
                issued_on,
                lang: madoguchi_domain::Lang::Ja,
            },
        )
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
    .map_err(AppError::from)
}
