//! A provider's webhook delivery: verified against the city's signing secret, recorded once
//! per event id, and applied to the payment it names. Deliveries may come late, twice or out
//! of order; the payment's state machine and the event record decide what still changes.
//! A genuine event for a payment we do not know is acknowledged and kept for the
//! reconciliation's exception queue.

use super::Gateways;
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{ErrorCode, PaymentId, RefundId};
use madoguchi_gateway::{EventSubject, GatewayEvent, PaymentSnapshot, RefundOutcome};
use madoguchi_payments::Provider;
use madoguchi_storage::{
    AuditStore, EventDisposition, PaymentStore, ProviderEventRecord, SignalOutcome, SignalReport,
    StorageError,
};
use secrecy::ExposeSecret;

/// The largest webhook body accepted (Stripe's events are a few KB).
pub const BODY_MAX_BYTES: usize = 256 * 1024;

/// What a delivery did, for the response and the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A payment or refund changed.
    Applied,
    /// The event was seen before, or said nothing new.
    Duplicate,
    /// Older than what is recorded: nothing changed.
    Stale,
    /// Genuine but about a payment we do not know: kept for reconciliation.
    Unknown,
    /// A type we do not act on: kept.
    Ignored,
}

/// What a delivery did, and the payment it reported succeeded (newly or again), so the
/// caller can settle what the payment was for (a booking's hold) — idempotently, since a
/// provider redelivers an event until it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub delivery: Delivery,
    pub succeeded: Option<PaymentId>,
}

/// Verifies and applies one delivery for the scope's city from `provider`.
pub async fn receive<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    provider: Provider,
    signature_header: &str,
    payload: &[u8],
) -> UseCaseResult<Delivery> {
    Ok(
        receive_reporting(store, gateways, scope, provider, signature_header, payload)
            .await?
            .delivery,
    )
}

/// [`receive`], also naming the payment the event says succeeded when it is ours and now
/// stands succeeded.
pub async fn receive_reporting<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    provider: Provider,
    signature_header: &str,
    payload: &[u8],
) -> UseCaseResult<Received> {
    let online = gateways
        .of_provider(scope.tenant, provider)
        .await
        .ok_or(UseCaseError::new(ErrorCode::NotFound))?;
    let now = scope.now();
    let event = online
        .gateway
        .read_webhook(
            signature_header,
            payload,
            online.webhook_secret.expose_secret(),
            now,
        )
        .map_err(|e| UseCaseError {
            internal: Some(e.to_string()),
            ..UseCaseError::new(ErrorCode::WebhookSignatureInvalid)
        })?;
    let record = ProviderEventRecord {
        provider,
        event_id: event.event_id.clone(),
        event_type: event.event_type.clone(),
        created_at: event.created_at,
        received_at: now,
        payload: serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null),
    };
    let delivery = apply(store, scope, provider, &event, &record).await?;
    let reported_paid = match &event.subject {
        EventSubject::Payment(PaymentSnapshot {
            payment_id: Some(id),
            signal: Some(madoguchi_payments::PaymentSignal::Succeeded),
            ..
        }) => Some(PaymentId(*id)),
        _ => None,
    };
    let succeeded = match reported_paid {
        Some(id) => match store.payment(scope.tenant, id).await {
            Ok(payment)
                if payment.provider == provider
                    && payment.status == madoguchi_payments::PaymentStatus::Succeeded =>
            {
                Some(id)
            }
            Ok(_) | Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    Ok(Received {
        delivery,
        succeeded,
    })
}

/// Applies a verified event (also what the recovery job does with what it asked for).
pub async fn apply<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    provider: Provider,
    event: &GatewayEvent,
    record: &ProviderEventRecord,
) -> UseCaseResult<Delivery> {
    match &event.subject {
        EventSubject::Payment(snapshot) => {
            payment_event(store, scope, provider, snapshot, event, record).await
        }
        EventSubject::Refund(refund) => {
            let known = match refund.refund_id {
                Some(id) => store.refund(scope.tenant, RefundId(id)).await.ok(),
                None => None,
            };
            let Some(ours) = known else {
                return keep(store, scope, record, EventDisposition::UnknownPayment, None).await;
            };
            let succeeded = match refund.outcome {
                RefundOutcome::Pending => {
                    return keep(
                        store,
                        scope,
                        record,
                        EventDisposition::Ignored,
                        Some(ours.payment),
                    )
                    .await;
                }
                RefundOutcome::Succeeded => true,
                RefundOutcome::Failed => false,
            };
            // The refund's own state machine makes a repeated report harmless, so it is applied
            // first and the event recorded after: a crash in between loses nothing.
            let entry = audit::entry(
                scope,
                if succeeded {
                    "refund.paid"
                } else {
                    "refund.failed"
                },
                Some(ours.id.to_string()),
                serde_json::json!({"event": event.event_id}),
            );
            let changed = match store
                .finish_refund(
                    scope.tenant,
                    ours.id,
                    succeeded,
                    Some(&refund.provider_refund_ref),
                    scope.now(),
                    &entry,
                )
                .await
            {
                Ok(after) => after.status != ours.status,
                // Decided the other way already, or never started: nothing to change.
                Err(StorageError::PaymentRule(_)) => false,
                Err(other) => return Err(other.into()),
            };
            let fresh = keep(
                store,
                scope,
                record,
                EventDisposition::Ignored,
                Some(ours.payment),
            )
            .await?
                != Delivery::Duplicate;
            Ok(match (changed, fresh) {
                (true, _) => Delivery::Applied,
                (false, true) => Delivery::Stale,
                (false, false) => Delivery::Duplicate,
            })
        }
        EventSubject::Other => keep(store, scope, record, EventDisposition::Ignored, None).await,
    }
}

async fn keep<S: PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    record: &ProviderEventRecord,
    disposition: EventDisposition,
    payment: Option<PaymentId>,
) -> UseCaseResult<Delivery> {
    let fresh = store
        .record_provider_event(scope.tenant, record, disposition, payment)
        .await?;
    Ok(match (fresh, disposition) {
        (false, _) => Delivery::Duplicate,
        (true, EventDisposition::UnknownPayment) => Delivery::Unknown,
        (true, EventDisposition::Ignored) => Delivery::Ignored,
    })
}

async fn payment_event<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    provider: Provider,
    snapshot: &PaymentSnapshot,
    event: &GatewayEvent,
    record: &ProviderEventRecord,
) -> UseCaseResult<Delivery> {
    let payment = match snapshot.payment_id {
        Some(id) => store.payment(scope.tenant, PaymentId(id)).await.ok(),
        None => None,
    }
    .filter(|p| p.provider == provider);
    let Some(payment) = payment else {
        return keep(store, scope, record, EventDisposition::UnknownPayment, None).await;
    };
    let Some(signal) = snapshot.signal else {
        return keep(
            store,
            scope,
            record,
            EventDisposition::Ignored,
            Some(payment.id),
        )
        .await;
    };
    if madoguchi_payments::amount::check_currency(&snapshot.currency).is_err() {
        // Never converted: kept for finance, the payment unchanged.
        return keep(
            store,
            scope,
            record,
            EventDisposition::UnknownPayment,
            Some(payment.id),
        )
        .await;
    }
    let report = SignalReport {
        signal,
        happened_at: event.created_at,
        source: "webhook",
        amount_yen: snapshot.amount_yen,
        method_detail: snapshot.method_detail.clone(),
        konbini: snapshot.konbini.as_ref().map(konbini_json),
        at: scope.now(),
    };
    let entry = audit::entry(
        scope,
        "payment.status_changed",
        Some(payment.id.to_string()),
        serde_json::json!({"new_status": format!("{signal:?}"), "event": event.event_id, "source": "webhook"}),
    );
    let outcome = store
        .apply_payment_signal(scope.tenant, payment.id, &report, Some(record), &entry)
        .await?;
    Ok(match outcome {
        SignalOutcome::Applied(_) => Delivery::Applied,
        SignalOutcome::AlreadyThere(_) | SignalOutcome::DuplicateEvent => Delivery::Duplicate,
        SignalOutcome::Stale(_) => Delivery::Stale,
    })
}

/// How konbini instructions are kept on the payment (shown on the result page).
pub fn konbini_json(v: &madoguchi_gateway::KonbiniVoucher) -> serde_json::Value {
    serde_json::json!({
        "payment_code": v.payment_code,
        "confirmation_number": v.confirmation_number,
        "hosted_voucher_url": v.hosted_voucher_url,
        "expires_at": v.expires_at.map(|t| t.unix_timestamp()),
    })
}
