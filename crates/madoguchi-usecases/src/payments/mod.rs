//! Payments: what residents owe (receivables, 調定), paying online through a gateway (Stripe or
//! the built-in sandbox), paying at a counter, webhooks, the job that resolves payments whose
//! outcome is unknown, refunds with four eyes, and receipts.
//!
//! Every change is decided by `madoguchi-payments` and written by `PaymentStore` in one
//! transaction with its ledger posting and audit entry; this layer checks who may act, talks
//! to the gateways, and turns input into the pure crate's types.

pub mod checkout;
pub mod counter;
pub mod gateways;
pub mod receipts;
pub mod receivables;
pub mod recovery;
pub mod refunds;
pub mod sandbox;
pub mod webhooks;

pub use gateways::{Gateways, OnlineGateway};

use crate::{Actor, Scope, UseCaseError, UseCaseResult};
use madoguchi_domain::ErrorCode;
use madoguchi_domain::account::StaffAccess;
use madoguchi_storage::{Initiator, Payment, Receivable};

/// Who started something, for the payment and refund rows.
pub(crate) fn initiator(scope: &Scope) -> Initiator {
    Initiator {
        kind: scope.actor.kind(),
        account: scope.actor.account(),
    }
}

/// May the scope's actor see this receivable? Its payer, finance and administrators, and
/// staff who may take payments at its office. Anyone else is told it does not exist.
pub fn may_see_receivable(
    scope: &Scope,
    access: Option<&StaffAccess>,
    receivable: &Receivable,
) -> bool {
    match scope.actor {
        Actor::Resident(id) => receivable.payer_account == Some(id),
        Actor::Staff(_) => access
            .is_some_and(|a| a.may_read_finance() || a.may_take_counter_payment(receivable.office)),
        Actor::System | Actor::Operator => true,
        Actor::Anonymous => false,
    }
}

/// The same for a payment (through its receivable).
pub fn may_see_payment(
    scope: &Scope,
    access: Option<&StaffAccess>,
    payment: &Payment,
    receivable: &Receivable,
) -> bool {
    match scope.actor {
        Actor::Resident(id) => {
            payment.payer_account == Some(id) || receivable.payer_account == Some(id)
        }
        _ => may_see_receivable(scope, access, receivable),
    }
}

/// A resident asking for someone else's receivable gets "not found", not "forbidden": the
/// answer must not tell them it exists.
pub(crate) fn hidden() -> UseCaseError {
    UseCaseError::new(ErrorCode::NotFound)
}

/// Reads a receivable the scope may see.
pub async fn visible_receivable<S: madoguchi_storage::PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: madoguchi_domain::ReceivableId,
) -> UseCaseResult<Receivable> {
    let receivable = store.receivable(scope.tenant, id).await?;
    if may_see_receivable(scope, access, &receivable) {
        Ok(receivable)
    } else {
        Err(hidden())
    }
}
