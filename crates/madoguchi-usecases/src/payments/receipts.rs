//! Receipts (領収書): a PDF in Japanese (or English) for a succeeded payment, with the city's
//! name, the revenue category, the amount and how it was paid. Only who may see the payment
//! may have its receipt.

use super::checkout::visible_payment;
use crate::{Scope, UseCaseError, UseCaseResult};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang, PaymentId};
use madoguchi_payments::PaymentStatus;
use madoguchi_pdf::{Receipt, ReceiptLine, render_receipt};
use madoguchi_storage::{OrgStore, PaymentStore};

/// The number printed on a receipt: `R-` and the payment id's first twelve hex digits, which
/// are unique enough to find the payment and short enough to read out.
pub fn receipt_number(payment: PaymentId) -> String {
    let hex: String = payment.0.simple().to_string().chars().take(12).collect();
    format!("R-{}", hex.to_uppercase())
}

/// Renders the receipt of a succeeded payment.
pub async fn pdf<S: PaymentStore + OrgStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: PaymentId,
    city_name: &str,
    lang: Lang,
) -> UseCaseResult<Vec<u8>> {
    let (payment, receivable) = visible_payment(store, scope, access, id).await?;
    if payment.status != PaymentStatus::Succeeded {
        return Err(UseCaseError::new(ErrorCode::NotFound));
    }
    let categories = store.revenue_categories(scope.tenant).await?;
    let category = categories
        .iter()
        .find(|c| c.code == receivable.category)
        .map(|c| match lang {
            Lang::Ja => c.name_ja.clone(),
            Lang::En => c.name_en.clone(),
        })
        .unwrap_or_else(|| receivable.category.to_string());
    let office_name = match payment.office {
        Some(office) => store
            .office(scope.tenant, office)
            .await
            .ok()
            .map(|o| match lang {
                Lang::Ja => o.name_ja,
                Lang::En => o.name_en,
            }),
        None => None,
    };
    let mut method_label = payment.method.label(lang == Lang::En);
    if let Some(detail) = payment
        .method_detail
        .as_deref()
        .and_then(madoguchi_payments::Brand::parse)
    {
        method_label = format!("{method_label}（{}）", detail.label(lang == Lang::En));
    }
    let receipt = Receipt {
        city_name: city_name.to_owned(),
        receipt_number: receipt_number(payment.id),
        issued_on: madoguchi_domain::tokyo::to_tokyo(scope.now()).date(),
        payer_name: receivable.payer_name.clone(),
        lines: vec![ReceiptLine {
            revenue_category: category,
            description: receivable.description.clone(),
            amount_yen: payment.amount_yen,
        }],
        method_label,
        paid_at: payment.updated_at,
        office_name,
        note: None,
        lang,
    };
    render_receipt(&receipt).map_err(UseCaseError::internal)
}
