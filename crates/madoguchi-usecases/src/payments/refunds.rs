//! Refunds (還付): requested by staff, approved or rejected by a finance user who is not the
//! requester (the pure rules and the database both refuse self-approval), then paid out
//! through the payment's provider with an idempotency key derived from the refund's row.
//! Cashless payments are otherwise never cancelled.

use super::{Gateways, hidden};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, PaymentId, RefundId};
use madoguchi_gateway::{GatewayError, RefundOutcome, StartRefund, refund_idempotency_key};
use madoguchi_payments::{PaymentAmount, Provider, RefundStatus};
use madoguchi_storage::{AuditStore, NewRefund, PaymentStore, Refund};

/// A refund's reason: required, one line of visible text.
pub const REASON_MAX_CHARS: usize = 200;

fn staff(scope: &Scope) -> UseCaseResult<madoguchi_domain::AccountId> {
    match scope.actor {
        Actor::Staff(id) => Ok(id),
        _ => Err(UseCaseError::new(ErrorCode::Forbidden)),
    }
}

/// Requests a refund of `amount_yen` (what was paid when empty) of a payment.
pub async fn request<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    payment: PaymentId,
    amount_yen: Option<&str>,
    reason: &str,
) -> UseCaseResult<Refund> {
    staff(scope)?;
    if !access.may_request_refund() {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let paid = store.payment(scope.tenant, payment).await?;
    let receivable = store.receivable(scope.tenant, paid.receivable).await?;
    if !super::may_see_payment(scope, Some(access), &paid, &receivable) {
        return Err(hidden());
    }
    let reason = madoguchi_domain::text::bounded_text(reason, REASON_MAX_CHARS)
        .map_err(|code| UseCaseError::field("reason", code))?
        .ok_or_else(|| UseCaseError::field("reason", ErrorCode::Required))?
        .to_owned();
    let amount = match amount_yen.map(str::trim) {
        None | Some("") => PaymentAmount::new(paid.amount_yen)?,
        Some(raw) => {
            let yen = raw
                .replace([',', '，', '¥', '円'], "")
                .parse::<i64>()
                .map_err(|_| UseCaseError::field("amount_yen", ErrorCode::AmountNotPositive))?;
            PaymentAmount::new(yen).map_err(|code| UseCaseError::field("amount_yen", code))?
        }
    };
    let id = RefundId::new();
    let entry = audit::entry(
        scope,
        "refund.requested",
        Some(id.to_string()),
        serde_json::json!({"payment": payment.to_string(), "amount_yen": amount.get()}),
    );
    let new = NewRefund {
        id,
        payment,
        amount,
        reason,
        requested_by: super::initiator(scope),
        at: scope.now(),
    };
    store
        .request_refund(scope.tenant, &new, &entry)
        .await
        .map_err(|e| match UseCaseError::from(e) {
            error if error.code == ErrorCode::RefundExceedsPaid => {
                UseCaseError::field("amount_yen", ErrorCode::RefundExceedsPaid)
            }
            error => error,
        })
}

/// Approves (and pays out) or rejects a requested refund.
pub async fn decide<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    access: &StaffAccess,
    id: RefundId,
    approve: bool,
    note: Option<&str>,
) -> UseCaseResult<Refund> {
    let by = staff(scope)?;
    if !access.may_decide_refund() {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let note = match note {
        Some(n) => madoguchi_domain::text::bounded_text(n, REASON_MAX_CHARS)
            .map_err(|code| UseCaseError::field("note", code))?
            .map(str::to_owned),
        None => None,
    };
    let entry = audit::entry(
        scope,
        if approve {
            "refund.approved"
        } else {
            "refund.rejected"
        },
        Some(id.to_string()),
        serde_json::json!({}),
    );
    let decided = store
        .decide_refund(
            scope.tenant,
            id,
            &madoguchi_storage::RefundVerdict {
                approve,
                by,
                note,
                at: scope.now(),
            },
            &entry,
        )
        .await?;
    if decided.status == RefundStatus::Approved {
        return pay_out(store, gateways, scope, id).await;
    }
    Ok(decided)
}

/// Sends an approved (or earlier failed) refund to the provider and records the answer.
pub async fn pay_out<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    id: RefundId,
) -> UseCaseResult<Refund> {
    let refund = store.start_refund(scope.tenant, id, scope.now()).await?;
    let payment = store.payment(scope.tenant, refund.payment).await?;
    let finish = |succeeded: bool, provider_ref: Option<String>, how: &'static str| {
        let entry = audit::entry(
            scope,
            if succeeded {
                "refund.paid"
            } else {
                "refund.failed"
            },
            Some(id.to_string()),
            serde_json::json!({"via": how}),
        );
        async move {
            Ok::<Refund, UseCaseError>(
                store
                    .finish_refund(
                        scope.tenant,
                        id,
                        succeeded,
                        provider_ref.as_deref(),
                        scope.now(),
                        &entry,
                    )
                    .await?,
            )
        }
    };
    match payment.provider {
        // Paid back at the counter or by the agency's bank transfer: recorded as done.
        Provider::Counter | Provider::KonbiniAgency => finish(true, None, "counter").await,
        Provider::Stripe | Provider::Sandbox => {
            let Some(online) = gateways.of_provider(scope.tenant, payment.provider).await else {
                return finish(false, None, "no_gateway").await;
            };
            let Some(provider_ref) = payment.provider_ref.clone() else {
                return finish(false, None, "no_provider_ref").await;
            };
            let request = StartRefund {
                refund_id: id.0,
                idempotency_key: refund_idempotency_key(id.0),
                provider_ref,
                amount: PaymentAmount::new(refund.amount_yen)?,
            };
            match online.gateway.refund(&request).await {
                Ok(answer) => match answer.outcome {
                    RefundOutcome::Succeeded => {
                        finish(true, Some(answer.provider_refund_ref), "provider").await
                    }
                    RefundOutcome::Failed => {
                        finish(false, Some(answer.provider_refund_ref), "provider").await
                    }
                    // The webhook finishes it (konbini refunds wait for the payer's bank).
                    RefundOutcome::Pending => Ok(store.refund(scope.tenant, id).await?),
                },
                Err(GatewayError::Unavailable(detail)) => {
                    // Failed for now; paying out again uses the same key, so never twice.
                    tracing::warn!(refund = %id, %detail, "refund not sent");
                    finish(false, None, "unavailable").await
                }
                Err(GatewayError::Refused(detail) | GatewayError::NotFound(detail)) => {
                    tracing::warn!(refund = %id, %detail, "refund refused by the provider");
                    finish(false, None, "refused").await
                }
            }
        }
    }
}
