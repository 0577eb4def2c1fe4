//! Counter checkout (窓口キャッシュレス): a clerk records a payment the counter's terminal
//! approved (card, e-money or a QR wallet, with the terminal's slip number) or cash taken at
//! the register. The municipal rules are checked before anything is stored: one method per
//! payment, lump sum only, no taxes through the cashless terminal, no top-up.

use super::hidden;
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, PaymentId, ReceivableId};
use madoguchi_payments::{
    Brand, CounterCheckout, Method, PaymentAmount, Provider, check_counter_checkout,
};
use madoguchi_storage::{AuditStore, NewPayment, Payment, PaymentStore};

/// What the clerk entered.
#[derive(Clone, Debug, Default)]
pub struct CounterForm {
    /// Every method ticked: `cash`, or a brand (`visa`, `id`, `paypay` …).
    pub methods: Vec<String>,
    /// 支払回数 as entered (only 1 is accepted); empty means 1.
    pub instalments: Option<String>,
    pub slip_number: Option<String>,
    /// The amount taken; empty means what is still owed.
    pub amount_yen: Option<String>,
    /// The form's own idempotency key, so a double click records one payment.
    pub client_key: Option<String>,
}

fn parse_method(raw: &str) -> UseCaseResult<Method> {
    let raw = raw.trim();
    if raw == "cash" {
        return Ok(Method::Cash);
    }
    Brand::parse(raw)
        .map(Method::Counter)
        .ok_or_else(|| UseCaseError::field("method", ErrorCode::PaymentMethodNotOffered))
}

/// Records a counter payment for `receivable`.
pub async fn take<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    receivable: ReceivableId,
    form: &CounterForm,
) -> UseCaseResult<Payment> {
    let Actor::Staff(clerk) = scope.actor else {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    };
    let receivable = store.receivable(scope.tenant, receivable).await?;
    if !access.may_take_counter_payment(receivable.office) {
        return Err(hidden());
    }
    let methods = form
        .methods
        .iter()
        .filter(|m| !m.trim().is_empty())
        .map(|m| parse_method(m))
        .collect::<UseCaseResult<Vec<_>>>()?;
    let instalments = match form.instalments.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(raw) => raw
            .parse::<u32>()
            .map_err(|_| UseCaseError::field("instalments", ErrorCode::InstalmentsNotAllowed))?,
    };
    let slip_number = form
        .slip_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let checkout = CounterCheckout {
        methods,
        instalments,
        slip_number: slip_number.clone(),
    };
    let method = check_counter_checkout(&checkout).map_err(|code| {
        let field = match code {
            ErrorCode::InstalmentsNotAllowed => "instalments",
            ErrorCode::SlipNumberRequired | ErrorCode::InvalidSlipNumber => "slip_number",
            _ => "method",
        };
        UseCaseError::field(field, code)
    })?;
    let amount = match form.amount_yen.as_deref().map(str::trim) {
        None | Some("") => PaymentAmount::new(receivable.outstanding_yen()).map_err(|_| {
            UseCaseError::new(match receivable.status {
                madoguchi_payments::ReceivableStatus::Cancelled
                | madoguchi_payments::ReceivableStatus::WrittenOff => ErrorCode::ReceivableClosed,
                _ => ErrorCode::ReceivableAlreadyPaid,
            })
        })?,
        Some(raw) => {
            let yen = raw
                .replace([',', '，', '¥', '円'], "")
                .parse::<i64>()
                .map_err(|_| UseCaseError::field("amount_yen", ErrorCode::AmountNotPositive))?;
            PaymentAmount::new(yen).map_err(|code| UseCaseError::field("amount_yen", code))?
        }
    };
    let client_key = match form.client_key.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            madoguchi_domain::IdempotencyKey::parse(raw)
                .map_err(|code| UseCaseError::field("client_key", code))?
                .as_str()
                .to_owned(),
        ),
    };
    let id = PaymentId::new();
    let new = NewPayment {
        id,
        receivable: receivable.id,
        provider: Provider::Counter,
        method,
        amount,
        payer_account: receivable.payer_account,
        initiator: super::initiator(scope),
        office: receivable.office,
        client_key,
        pay_by: None,
        slip_number,
        return_url: None,
        cancel_url: None,
        at: scope.now(),
    };
    let entry = audit::entry(
        scope,
        "payment.counter_taken",
        Some(id.to_string()),
        serde_json::json!({
            "receivable": receivable.id.to_string(),
            "method": method.to_stored(),
            "amount_yen": amount.get(),
            "clerk": clerk.to_string(),
        }),
    );
    store
        .record_counter_payment(scope.tenant, &new, &entry)
        .await
        .map_err(|error| on_the_form(error.into()))
}

/// The rules the database checks under the receivable's lock (a tax through the cashless
/// terminal, a top-up beyond what is owed) name the field the clerk must change, like the
/// rules checked above, so the form shows them beside it.
fn on_the_form(error: UseCaseError) -> UseCaseError {
    let field = match error.code {
        ErrorCode::TaxNotPayableAtCounter | ErrorCode::PaymentMethodNotOffered => "method",
        ErrorCode::PaymentExceedsOutstanding => "amount_yen",
        _ => return error,
    };
    if error.fields.is_empty() {
        UseCaseError::field(field, error.code)
    } else {
        error
    }
}
