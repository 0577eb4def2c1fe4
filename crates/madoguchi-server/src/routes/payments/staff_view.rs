//! What the staff's payment pages (the counter's and finance's) write alike: revenue
//! categories, offices, statuses, methods and ledger accounts in words, and the rows of
//! receivables, payments and refunds their tables show.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::i18n::text;
use crate::state::AppState;
use crate::view::present::instant_label;
use madoguchi_domain::{ErrorCode, Lang, OfficeId};
use madoguchi_payments::{LedgerAccount, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{Office, Payment, Receivable, Refund};
use madoguchi_usecases::{Actor, Scope};
use serde::Serialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A path's id; anything that is not one is a page that does not exist.
pub(super) fn path_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorCode::NotFound))
}

/// Convenience-store slips and their payment data are finance's and administrators'.
pub(super) fn require_slips(staff: &StaffSession) -> AppResult<()> {
    if staff.access.may_issue_slips() {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// The scope of a staff member acting in this request's city.
pub(super) fn staff_scope(state: &AppState, ctx: &Ctx, staff: &StaffSession) -> Scope {
    state.scope(ctx.tenant.id, Actor::Staff(staff.account.id))
}

/// The city's revenue categories and offices, read once per page.
pub(super) struct Books {
    pub(super) categories: Vec<RevenueCategory>,
    pub(super) offices: Arc<Vec<Office>>,
    pub(super) lang: Lang,
}

impl Books {
    pub(super) async fn load(state: &AppState, ctx: &Ctx) -> AppResult<Books> {
        Ok(Books {
            categories: state.storage.revenue_categories(ctx.tenant.id).await?,
            offices: state.offices(ctx.tenant.id).await?,
            lang: ctx.lang,
        })
    }

    pub(super) fn category(&self, code: &RevenueCategoryCode) -> Option<&RevenueCategory> {
        self.categories.iter().find(|c| &c.code == code)
    }

    /// The category's name in the page's language (its code when it was since removed).
    pub(super) fn category_name(&self, code: &RevenueCategoryCode) -> String {
        match (self.category(code), self.lang) {
            (Some(c), Lang::Ja) => c.name_ja.clone(),
            (Some(c), Lang::En) => c.name_en.clone(),
            (None, _) => code.to_string(),
        }
    }

    pub(super) fn is_tax(&self, code: &RevenueCategoryCode) -> bool {
        self.category(code).is_some_and(|c| c.is_tax)
    }

    /// The office's name, or "no particular office".
    pub(super) fn office_name(&self, office: Option<OfficeId>) -> String {
        office
            .and_then(|id| self.offices.iter().find(|o| o.id == id))
            .map(|o| o.name(self.lang).to_owned())
            .unwrap_or_else(|| text(self.lang, "fin_no_office"))
    }

    /// A ledger account in words: 未収金（証明手数料）, 決済代行（Stripe）, 仮受金 …
    pub(super) fn account_name(&self, stored: &str) -> String {
        let lang = self.lang;
        let with_category = |key: &str, code: &RevenueCategoryCode| {
            text(lang, key).replace("{category}", &self.category_name(code))
        };
        match LedgerAccount::parse(stored) {
            Some(LedgerAccount::Receivable(code)) => with_category("fin_account_receivable", &code),
            Some(LedgerAccount::Revenue(code)) => with_category("fin_account_revenue", &code),
            Some(LedgerAccount::Clearing(channel)) => {
                text(lang, &format!("fin_account_clearing_{}", channel.as_str()))
            }
            Some(LedgerAccount::Bank) => text(lang, "fin_account_bank"),
            Some(LedgerAccount::ProviderFees) => text(lang, "fin_account_provider_fees"),
            Some(LedgerAccount::RefundsPayable) => text(lang, "fin_account_refunds_payable"),
            Some(LedgerAccount::Suspense) => text(lang, "fin_account_suspense"),
            Some(LedgerAccount::WriteOffs) => text(lang, "fin_account_write_offs"),
            None => stored.to_owned(),
        }
    }
}

/// A receivable as the tables and summaries show it.
#[derive(Serialize)]
pub(super) struct ReceivableView {
    pub(super) id: String,
    pub(super) description: String,
    pub(super) payer_name: String,
    pub(super) category: String,
    pub(super) is_tax: bool,
    pub(super) office: String,
    pub(super) fiscal_year: i32,
    pub(super) due_on: String,
    pub(super) assessed_yen: i64,
    pub(super) paid_yen: i64,
    pub(super) outstanding_yen: i64,
    pub(super) status: String,
    pub(super) status_code: &'static str,
    /// Still owed and open: a counter may take a payment for it.
    pub(super) payable: bool,
    pub(super) created: String,
}

pub(super) fn receivable_view(receivable: &Receivable, books: &Books) -> ReceivableView {
    let lang = books.lang;
    let status = receivable.status.as_str();
    let outstanding_yen = receivable.outstanding_yen();
    ReceivableView {
        id: receivable.id.to_string(),
        description: receivable.description.clone(),
        payer_name: receivable.payer_name.clone(),
        category: books.category_name(&receivable.category),
        is_tax: books.is_tax(&receivable.category),
        office: books.office_name(receivable.office),
        fiscal_year: receivable.fiscal_year,
        due_on: crate::view::present::date_label(receivable.due_on, lang),
        assessed_yen: receivable.assessed_yen,
        paid_yen: receivable.paid_yen,
        outstanding_yen,
        status: text(lang, &format!("fin_status_receivable_{status}")),
        status_code: status,
        payable: outstanding_yen > 0
            && matches!(
                receivable.status,
                madoguchi_payments::ReceivableStatus::Open
                    | madoguchi_payments::ReceivableStatus::PartlyPaid
            ),
        created: instant_label(receivable.created_at, lang),
    }
}

/// A payment as the tables show it.
#[derive(Serialize)]
pub(super) struct PaymentView {
    pub(super) id: String,
    pub(super) receivable: String,
    pub(super) method: String,
    pub(super) amount_yen: i64,
    pub(super) status: String,
    pub(super) status_code: &'static str,
    pub(super) succeeded: bool,
    pub(super) slip_number: Option<String>,
    pub(super) at: String,
    /// The number printed on its receipt (`R-…`).
    pub(super) receipt_number: String,
}

pub(super) fn payment_view(payment: &Payment, lang: Lang) -> PaymentView {
    let status = payment.status.as_str();
    PaymentView {
        id: payment.id.to_string(),
        receivable: payment.receivable.to_string(),
        method: method_label(payment, lang),
        amount_yen: payment.amount_yen,
        status: text(lang, &format!("fin_status_payment_{status}")),
        status_code: status,
        succeeded: payment.status == madoguchi_payments::PaymentStatus::Succeeded,
        slip_number: payment.slip_number.clone(),
        at: instant_label(payment.created_at, lang),
        receipt_number: madoguchi_usecases::payments::receipts::receipt_number(payment.id),
    }
}

/// How a payment was made, with the card brand an online payment reported.
pub(super) fn method_label(payment: &Payment, lang: Lang) -> String {
    let english = lang == Lang::En;
    let label = payment.method.label(english);
    match payment
        .method_detail
        .as_deref()
        .and_then(madoguchi_payments::Brand::parse)
    {
        Some(brand) if !matches!(payment.method, madoguchi_payments::Method::Counter(_)) => {
            match lang {
                Lang::Ja => format!("{label}（{}）", brand.label(false)),
                Lang::En => format!("{label} ({})", brand.label(true)),
            }
        }
        _ => label,
    }
}

/// A refund as the queue and the receivable's page show it.
#[derive(Serialize)]
pub(super) struct RefundView {
    pub(super) id: String,
    pub(super) payment: String,
    pub(super) amount_yen: i64,
    pub(super) reason: String,
    pub(super) status: String,
    pub(super) status_code: &'static str,
    pub(super) requested_by: String,
    pub(super) requested_at: String,
    pub(super) age: String,
    pub(super) decided_by: Option<String>,
    pub(super) decided_at: Option<String>,
    pub(super) note: Option<String>,
}

/// Staff names by account, read once each per page.
#[derive(Default)]
pub(super) struct StaffNames {
    known: Vec<(madoguchi_domain::AccountId, String)>,
}

impl StaffNames {
    pub(super) async fn name(
        &mut self,
        state: &AppState,
        ctx: &Ctx,
        account: Option<madoguchi_domain::AccountId>,
    ) -> AppResult<String> {
        let Some(account) = account else {
            return Ok(text(ctx.lang, "fin_by_system"));
        };
        if let Some((_, name)) = self.known.iter().find(|(id, _)| *id == account) {
            return Ok(name.clone());
        }
        let name = match state.storage.account(ctx.tenant.id, account).await {
            Ok(found) => found.display_name.as_str().to_owned(),
            Err(madoguchi_storage::StorageError::NotFound) => text(ctx.lang, "fin_unknown_staff"),
            Err(other) => return Err(other.into()),
        };
        self.known.push((account, name.clone()));
        Ok(name)
    }
}

pub(super) async fn refund_view(
    state: &AppState,
    ctx: &Ctx,
    names: &mut StaffNames,
    refund: &Refund,
    now: OffsetDateTime,
) -> AppResult<RefundView> {
    let lang = ctx.lang;
    let status = refund.status.as_str();
    let decided_by = match refund.decided_by {
        Some(account) => Some(names.name(state, ctx, Some(account)).await?),
        None => None,
    };
    Ok(RefundView {
        id: refund.id.to_string(),
        payment: refund.payment.to_string(),
        amount_yen: refund.amount_yen,
        reason: refund.reason.clone(),
        status: text(lang, &format!("fin_status_refund_{status}")),
        status_code: status,
        requested_by: names.name(state, ctx, refund.requested_by.account).await?,
        requested_at: instant_label(refund.created_at, lang),
        age: age_label(now - refund.created_at, lang),
        decided_by,
        decided_at: refund.decided_at.map(|at| instant_label(at, lang)),
        note: refund.decision_note.clone(),
    })
}

/// How long something has waited: 5分, 3時間, 2日 (or 5 min, 3 h, 2 days).
pub(super) fn age_label(age: Duration, lang: Lang) -> String {
    let minutes = age.whole_minutes().max(0);
    let (count, unit) = if minutes < 60 {
        (minutes, "minutes")
    } else if minutes < 24 * 60 {
        (minutes / 60, "hours")
    } else {
        (minutes / (24 * 60), "days")
    };
    text(lang, &format!("fin_age_{unit}")).replace("{n}", &count.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(age_label(Duration::minutes(5), Lang::Ja), "5分");
        assert_eq!(age_label(Duration::minutes(150), Lang::Ja), "2時間");
        assert_eq!(age_label(Duration::days(3), Lang::En), "3 days");
        assert_eq!(age_label(Duration::seconds(-4), Lang::En), "0 min");
    }
}
