//! Paying online: a resident (or staff, for a QR code the resident opens on their phone) starts
//! a payment of what a receivable still owes through the city's gateway, and is sent to the
//! gateway's page. The payment row is stored first, so its idempotency key exists before any
//! call: a crash or a timeout after the gateway answered is resolved later with the same key
//! and can never charge twice.

use super::{Gateways, OnlineGateway, hidden, initiator};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{ErrorCode, PaymentId, ReceivableId};
use madoguchi_gateway::{GatewayError, StartPayment, payment_idempotency_key};
use madoguchi_payments::{Method, PaymentAmount};
use madoguchi_storage::{AuditStore, NewPayment, Payment, PaymentFilter, PaymentStore};
use time::Duration;

/// How long a payer has on the gateway's page when nothing else says (a booking's hold does).
pub const DEFAULT_PAY_WINDOW: Duration = Duration::minutes(30);

/// Konbini vouchers are paid at a store within days, not minutes.
pub const KONBINI_PAY_WINDOW: Duration = Duration::days(3);

/// Where the gateway sends the payer back.
#[derive(Clone, Debug)]
pub struct ReturnUrls {
    /// The page that shows the result (`…/payments/{id}`).
    pub result_url: String,
    /// Where "give up" goes.
    pub cancel_url: String,
}

/// Parses an online method from a form or the API (`card`, `paypay`, `konbini`).
pub fn parse_online_method(raw: &str) -> UseCaseResult<Method> {
    match Method::from_stored(raw.trim()) {
        Some(m @ (Method::Card | Method::Paypay | Method::Konbini)) => Ok(m),
        _ => Err(UseCaseError::field(
            "method",
            ErrorCode::PaymentMethodNotOffered,
        )),
    }
}

/// Starts paying what `receivable` still owes with `method`, or continues the payment already
/// under way for it. Returns the payment with the page to send the payer to.
#[allow(clippy::too_many_arguments)]
pub async fn start<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    gateways: &dyn Gateways,
    scope: &Scope,
    receivable: ReceivableId,
    method: Method,
    urls: impl Fn(PaymentId) -> ReturnUrls,
    pay_by: Option<time::OffsetDateTime>,
    client_key: Option<String>,
) -> UseCaseResult<Payment> {
    let receivable = store.receivable(scope.tenant, receivable).await?;
    let payer = match scope.actor {
        Actor::Resident(id) if receivable.payer_account == Some(id) => Some(id),
        Actor::Resident(_) | Actor::Anonymous => return Err(hidden()),
        Actor::Staff(_) | Actor::System | Actor::Operator => receivable.payer_account,
    };
    // A retried request answers what it made, even if the payment has moved on since (paid,
    // failed): checked before the rules below, which would now refuse a new payment.
    if let Some(key) = client_key.as_deref()
        && let Some(made) = replayed(store, scope, receivable.id, method, key).await?
    {
        return Ok(made);
    }
    let online = gateways
        .online(scope.tenant)
        .await
        .ok_or(UseCaseError::new(ErrorCode::PaymentMethodNotOffered))?;
    // A payment already under way for this receivable: continue it rather than refuse.
    let under_way = store
        .list_payments(
            scope.tenant,
            &PaymentFilter {
                receivable: Some(receivable.id),
                limit: 20,
                ..PaymentFilter::default()
            },
        )
        .await?
        .into_iter()
        .find(|p| p.status.is_in_flight());
    if let Some(payment) = under_way {
        if payment.redirect_url.is_some() && payment.method == method {
            return Ok(payment);
        }
        return Err(UseCaseError::new(ErrorCode::PaymentInProgress));
    }
    let amount = PaymentAmount::new(receivable.outstanding_yen())
        .map_err(|_| UseCaseError::new(ErrorCode::ReceivableAlreadyPaid))?;
    let now = scope.now();
    let window = if method == Method::Konbini {
        KONBINI_PAY_WINDOW
    } else {
        DEFAULT_PAY_WINDOW
    };
    let pay_by = pay_by.unwrap_or(now + window);
    let id = PaymentId::new();
    // Stored with the payment: a retry of the call below asks with the very same request.
    let urls = urls(id);
    let new = NewPayment {
        id,
        receivable: receivable.id,
        provider: online.provider(),
        method,
        amount,
        payer_account: payer,
        initiator: initiator(scope),
        office: receivable.office,
        client_key,
        pay_by: Some(pay_by),
        slip_number: None,
        return_url: Some(urls.result_url.clone()),
        cancel_url: Some(urls.cancel_url.clone()),
        at: now,
    };
    let entry = audit::entry(
        scope,
        "payment.started",
        Some(id.to_string()),
        serde_json::json!({
            "receivable": receivable.id.to_string(),
            "provider": online.provider().as_str(),
            "method": method.to_stored(),
            "amount_yen": amount.get(),
        }),
    );
    let payment = store.create_payment(scope.tenant, &new, &entry).await?;
    if payment.id != id {
        // A retried request: it made its payment before.
        return Ok(payment);
    }
    let request = start_request(&payment, &receivable, pay_by)?;
    open_at_gateway(store, &online, scope, &payment, &request).await
}

/// What the gateway is asked for a stored payment, built from the payment's row alone (and its
/// receivable's description), so that the first call and every retry of it, by the recovery
/// job on any node and after a restart, send the very same request with the same key.
pub(crate) fn start_request(
    payment: &Payment,
    receivable: &madoguchi_storage::Receivable,
    pay_by: time::OffsetDateTime,
) -> UseCaseResult<StartPayment> {
    Ok(StartPayment {
        payment_id: payment.id.0,
        idempotency_key: payment_idempotency_key(payment.id.0),
        amount: PaymentAmount::new(payment.amount_yen)?,
        method: payment.method,
        description: receivable.description.clone(),
        return_url: payment.return_url.clone().unwrap_or_default(),
        cancel_url: payment.cancel_url.clone().unwrap_or_default(),
        tenant_slug: payment.tenant_id.to_string(),
        pay_by,
        payer_email: None,
        requested_at: payment.created_at,
    })
}

/// The payment the scope's actor already started with its own idempotency key `client_key`
/// (`None`: not yet). The same key for another receivable or another method is a client's
/// mistake, refused with `idempotency_key_reused` rather than answered with the wrong payment.
pub async fn replayed<S: PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    receivable: ReceivableId,
    method: Method,
    client_key: &str,
) -> UseCaseResult<Option<Payment>> {
    let made = store
        .payment_by_client_key(scope.tenant, &initiator(scope), client_key)
        .await?;
    match made {
        Some(payment) if payment.receivable != receivable || payment.method != method => {
            Err(UseCaseError::new(ErrorCode::IdempotencyKeyReused))
        }
        other => Ok(other),
    }
}

/// Asks the gateway for the payer's page and stores it. Used by [`start`] and by the recovery
/// job for a payment whose first call got no answer (same idempotency key, same page).
pub(crate) async fn open_at_gateway<S: PaymentStore + ?Sized>(
    store: &S,
    online: &OnlineGateway,
    scope: &Scope,
    payment: &Payment,
    request: &StartPayment,
) -> UseCaseResult<Payment> {
    match online.gateway.start(request).await {
        Ok(started) => Ok(store
            .set_provider_ref(
                scope.tenant,
                payment.id,
                &started.provider_ref,
                &started.redirect_url,
                scope.now(),
            )
            .await?),
        Err(GatewayError::Unavailable(detail)) => {
            // The payment stays `created`; the recovery job asks again with the same key.
            Err(UseCaseError {
                internal: Some(detail),
                retry_after_s: Some(30),
                ..UseCaseError::new(ErrorCode::PaymentProviderUnavailable)
            })
        }
        Err(GatewayError::Refused(detail) | GatewayError::NotFound(detail)) => Err(UseCaseError {
            internal: Some(detail),
            ..UseCaseError::new(ErrorCode::PaymentProviderUnavailable)
        }),
    }
}

/// A payment the scope may see, with its receivable.
pub async fn visible_payment<S: PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&madoguchi_domain::account::StaffAccess>,
    id: PaymentId,
) -> UseCaseResult<(Payment, madoguchi_storage::Receivable)> {
    let payment = store.payment(scope.tenant, id).await?;
    let receivable = store.receivable(scope.tenant, payment.receivable).await?;
    if super::may_see_payment(scope, access, &payment, &receivable) {
        Ok((payment, receivable))
    } else {
        Err(hidden())
    }
}
