//! The job that resolves payments whose outcome is unknown: a call that timed out, a node that
//! crashed after the provider charged and before we recorded it, a webhook that never came.
//! For each payment still in flight and untouched for a while it asks the provider (with the
//! payment's own idempotency key where it must ask again) and applies the answer through the
//! same state machine as a webhook; a payment past its time is cancelled at the provider (so
//! a booking's hold, whose end is the payment's `pay_by`, is never paid after it ran out).

use super::{Gateways, checkout};
use crate::{Actor, Scope, UseCaseResult, audit};
use madoguchi_domain::Clock;
use madoguchi_gateway::GatewayError;
use madoguchi_payments::PaymentSignal;
use madoguchi_storage::{AuditStore, Payment, PaymentStore, SignalOutcome, SignalReport};
use std::sync::Arc;
use time::Duration;

/// A payment untouched this long is asked about (a webhook normally arrives within seconds).
pub const QUIET_FOR: Duration = Duration::minutes(2);

/// How long to wait before asking about an unchanged payment again: a quarter of its age,
/// between two minutes and an hour (a card payment is asked about soon, a konbini voucher
/// open for days about once an hour).
pub fn next_check_in(payment: &Payment, now: time::OffsetDateTime) -> Duration {
    let age: Duration = now - payment.created_at;
    (age / 4_i32).clamp(Duration::minutes(2), Duration::hours(1))
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub asked: u64,
    pub changed: u64,
    pub unreachable: u64,
}

/// Resolves up to `limit` payments of every city untouched since `quiet_for`.
pub async fn resolve_unknown<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    clock: Arc<dyn Clock>,
    quiet_for: Duration,
    limit: i64,
) -> UseCaseResult<RecoveryReport> {
    Ok(
        resolve_unknown_reporting(store, gateways, clock, quiet_for, limit)
            .await?
            .0,
    )
}

/// [`resolve_unknown`], also returning the payments it found succeeded, so the caller can
/// settle what they paid for (a booking's hold).
pub async fn resolve_unknown_reporting<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    clock: Arc<dyn Clock>,
    quiet_for: Duration,
    limit: i64,
) -> UseCaseResult<(RecoveryReport, Vec<Payment>)> {
    let now = clock.now();
    let mut report = RecoveryReport::default();
    let mut succeeded = Vec::new();
    for payment in store
        .payments_to_resolve(now - quiet_for, now, limit)
        .await?
    {
        let scope = Scope::new(payment.tenant_id, Actor::System, clock.clone());
        report.asked += 1;
        let unchanged = match resolve_one(store, gateways, &scope, &payment).await {
            Ok(Some(changed)) => {
                report.changed += 1;
                if changed.status == madoguchi_payments::PaymentStatus::Succeeded {
                    succeeded.push(changed);
                }
                false
            }
            Ok(None) => true,
            Err(error) => {
                report.unreachable += 1;
                tracing::warn!(payment = %payment.id, code = %error.code, "payment not resolved");
                true
            }
        };
        if unchanged {
            store
                .postpone_check(
                    payment.tenant_id,
                    payment.id,
                    now + next_check_in(&payment, now),
                )
                .await?;
        }
    }
    Ok((report, succeeded))
}

async fn resolve_one<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    payment: &Payment,
) -> UseCaseResult<Option<Payment>> {
    let Some(online) = gateways.of_provider(scope.tenant, payment.provider).await else {
        return Ok(None);
    };
    let now = scope.now();
    let mut payment = payment.clone();
    if payment.provider_ref.is_none() {
        // The first call got no answer: ask again with the same key (the provider returns
        // what it made, or makes it now).
        let receivable = store.receivable(scope.tenant, payment.receivable).await?;
        let request =
            checkout::start_request(&payment, &receivable, payment.pay_by.unwrap_or(now))?;
        if payment.pay_by.is_some_and(|by| by <= now) {
            // Too late to pay anyway: nothing was shown to the payer.
            return apply(store, scope, &payment, PaymentSignal::Expired, 0, None).await;
        }
        payment = checkout::open_at_gateway(store, &online, scope, &payment, &request).await?;
    }
    let Some(provider_ref) = payment.provider_ref.clone() else {
        return Ok(None);
    };
    let snapshot = match online.gateway.retrieve(&provider_ref).await {
        Ok(snapshot) => snapshot,
        Err(GatewayError::NotFound(_)) => {
            return apply(store, scope, &payment, PaymentSignal::Canceled, 0, None).await;
        }
        Err(other) => {
            return Err(crate::UseCaseError {
                internal: Some(other.to_string()),
                ..crate::UseCaseError::new(madoguchi_domain::ErrorCode::PaymentProviderUnavailable)
            });
        }
    };
    let konbini = snapshot.konbini.as_ref().map(super::webhooks::konbini_json);
    match snapshot.signal {
        Some(signal) => apply(store, scope, &payment, signal, snapshot.amount_yen, konbini).await,
        None if payment.pay_by.is_some_and(|by| by <= now) => {
            // Still open past its time: close it at the provider so it cannot be paid, then
            // record the expiry. If the provider says it was paid meanwhile, that wins.
            if let Err(error) = online.gateway.cancel(&provider_ref).await {
                tracing::warn!(payment = %payment.id, %error, "could not cancel at the provider");
                return Ok(None);
            }
            apply(store, scope, &payment, PaymentSignal::Expired, 0, None).await
        }
        None => Ok(None),
    }
}

async fn apply<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    payment: &Payment,
    signal: PaymentSignal,
    amount_yen: i64,
    konbini: Option<serde_json::Value>,
) -> UseCaseResult<Option<Payment>> {
    let report = SignalReport {
        signal,
        happened_at: scope.now(),
        source: "recovery",
        amount_yen,
        method_detail: None,
        konbini,
        at: scope.now(),
    };
    let entry = audit::entry(
        scope,
        "payment.status_changed",
        Some(payment.id.to_string()),
        serde_json::json!({"new_status": format!("{signal:?}"), "source": "recovery"}),
    );
    let outcome = store
        .apply_payment_signal(scope.tenant, payment.id, &report, None, &entry)
        .await?;
    Ok(match outcome {
        SignalOutcome::Applied(changed) => Some(changed),
        _ => None,
    })
}
