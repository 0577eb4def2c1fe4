//! The one place that knows Stripe's shapes: it builds async-stripe's request types from our
//! [`StartPayment`] and [`StartRefund`], and reads async-stripe's response, error and event
//! types into our [`PaymentSnapshot`], [`RefundSnapshot`], [`GatewayEvent`] and
//! [`GatewayError`]. No other module reads a field of an async-stripe type.
//!
//! How Stripe's states read in our terms (`PaymentSignal`):
//!
//! | Stripe                                                        | signal           |
//! | ------------------------------------------------------------- | ---------------- |
//! | session `expired`                                             | `Expired`        |
//! | PaymentIntent `succeeded`                                     | `Succeeded`      |
//! | PaymentIntent `processing` (or `requires_capture`)            | `Processing`     |
//! | PaymentIntent `requires_action` (3-D Secure, konbini voucher) | `RequiresAction` |
//! | PaymentIntent `canceled`                                      | `Canceled`       |
//! | `requires_payment_method` with a `last_payment_error`: card   | `Failed`         |
//! | … the same for konbini (its only failure: the voucher lapsed) | `Expired`        |
//! | session `complete` + `paid`, no PaymentIntent to hand         | `Succeeded`      |
//! | session `complete` + `unpaid` (an async method under way)     | `RequiresAction` |
//! | session `open`, nothing tried yet                             | none             |

use std::collections::HashMap;

use madoguchi_gateway::{
    EventSubject, GatewayError, GatewayEvent, KonbiniVoucher, PaymentSnapshot, RefundOutcome,
    RefundSnapshot, StartPayment, StartRefund, StartedPayment, WebhookError,
};
use madoguchi_payments::{Method, PaymentSignal};
use stripe::StripeError;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
    CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionPaymentMethodOptions,
    CreateCheckoutSessionPaymentMethodOptionsCard,
    CreateCheckoutSessionPaymentMethodOptionsCardRequestThreeDSecure,
    CreateCheckoutSessionPaymentMethodOptionsKonbini, ExpireCheckoutSession, ProductData,
    RetrieveCheckoutSession,
};
use stripe_core::payment_intent::{CancelPaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_shared::{
    ApiErrors, Charge, CheckoutSession, CheckoutSessionMode, CheckoutSessionPaymentStatus,
    CheckoutSessionStatus, PaymentIntent, PaymentIntentNextActionKonbini, PaymentIntentStatus,
    Refund,
};
use stripe_types::miniserde_helpers::FromValueOpt;
use stripe_types::{Currency, Expandable};
use time::OffsetDateTime;
use uuid::Uuid;

/// The metadata key that carries our payment id on the session and its PaymentIntent.
pub const PAYMENT_ID_KEY: &str = "madoguchi_payment_id";
/// The metadata key that carries our refund id on a refund.
pub const REFUND_ID_KEY: &str = "madoguchi_refund_id";

/// What a retrieval of a session expands: its PaymentIntent (status, `next_action` with the
/// konbini voucher) and the PaymentIntent's latest charge (the card brand).
const SESSION_EXPANSIONS: [&str; 2] = ["payment_intent", "payment_intent.latest_charge"];

// ---------------------------------------------------------------------------- requests

/// The Checkout Session for one payment: one line item, JPY, the payer's one method.
///
/// `expires_at` (Unix seconds) must already lie in Stripe's window (30 minutes to 24 hours from
/// now); `konbini_days` is the voucher's life in calendar days (1–60), used for konbini only.
pub fn checkout_session_request(
    request: &StartPayment,
    expires_at: i64,
    konbini_days: u32,
) -> CreateCheckoutSession {
    let metadata = HashMap::from([(PAYMENT_ID_KEY.to_owned(), request.payment_id.to_string())]);
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::JPY);
    // JPY is a zero-decimal currency: the unit amount is whole yen.
    price.unit_amount = Some(request.amount.get());
    price.product_data = Some(ProductData::new(request.description.clone()));
    let mut line = CreateCheckoutSessionLineItems::new();
    line.price_data = Some(price);
    line.quantity = Some(1);

    let mut intent_data = CreateCheckoutSessionPaymentIntentData::new();
    intent_data.metadata = Some(metadata.clone());
    intent_data.description = Some(request.description.clone());

    let mut options = CreateCheckoutSessionPaymentMethodOptions::new();
    let method = match request.method {
        Method::Paypay => CreateCheckoutSessionAllowedPaymentMethodTypes::Paypay,
        Method::Konbini => {
            let mut konbini = CreateCheckoutSessionPaymentMethodOptionsKonbini::new();
            konbini.expires_after_days = Some(konbini_days);
            options.konbini = Some(konbini);
            CreateCheckoutSessionAllowedPaymentMethodTypes::Konbini
        }
        // Card (Apple Pay and Google Pay come with it in Checkout). Counter and slip methods
        // never reach an online gateway (`Method::fits`); were one to, card is the safe reading
        // and the amount is still ours.
        Method::Card | Method::Counter(_) | Method::Cash | Method::KonbiniSlip => {
            let mut card = CreateCheckoutSessionPaymentMethodOptionsCard::new();
            // Always ask the issuer for 3-D Secure. `installments` stays unset: lump sum only.
            card.request_three_d_secure =
                Some(CreateCheckoutSessionPaymentMethodOptionsCardRequestThreeDSecure::Any);
            options.card = Some(card);
            CreateCheckoutSessionAllowedPaymentMethodTypes::Card
        }
    };

    let mut create = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .currency(Currency::JPY)
        .line_items(vec![line])
        .client_reference_id(request.payment_id.to_string())
        .metadata(metadata)
        .payment_intent_data(intent_data)
        .success_url(request.return_url.clone())
        .cancel_url(request.cancel_url.clone())
        .expires_at(expires_at)
        // API version 2026-09-30 has no `payment_method_types` on create: the allowed list
        // filters the account's methods down to the one the payer chose.
        .allowed_payment_method_types(vec![method])
        .payment_method_options(options);
    if let Some(email) = &request.payer_email {
        create = create.customer_email(email.clone());
    }
    create
}

pub fn session_retrieval(session_id: &str) -> RetrieveCheckoutSession {
    RetrieveCheckoutSession::new(session_id).expand(SESSION_EXPANSIONS.map(str::to_owned).to_vec())
}

pub fn intent_retrieval(intent_id: &str) -> RetrievePaymentIntent {
    RetrievePaymentIntent::new(intent_id).expand(vec!["latest_charge".to_owned()])
}

pub fn session_expiry(session_id: &str) -> ExpireCheckoutSession {
    ExpireCheckoutSession::new(session_id)
}

pub fn intent_cancellation(intent_id: &str) -> CancelPaymentIntent {
    CancelPaymentIntent::new(intent_id)
}

pub fn refund_request(request: &StartRefund, payment_intent_id: &str) -> CreateRefund {
    CreateRefund::new()
        .payment_intent(payment_intent_id)
        .amount(request.amount.get())
        .metadata(HashMap::from([(
            REFUND_ID_KEY.to_owned(),
            request.refund_id.to_string(),
        )]))
}

// ---------------------------------------------------------------------------- responses

pub fn started_payment(session: &CheckoutSession) -> Result<StartedPayment, GatewayError> {
    let redirect_url = session.url.clone().ok_or_else(|| {
        GatewayError::Refused(format!(
            "Stripe created session {} without a payment page (status {})",
            session.id.as_str(),
            session
                .status
                .as_ref()
                .map_or("unknown", CheckoutSessionStatus::as_str)
        ))
    })?;
    Ok(StartedPayment {
        provider_ref: session.id.as_str().to_owned(),
        redirect_url,
    })
}

/// Where a session stands, for deciding how to cancel it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// Still open: it can be expired.
    Open,
    /// Already expired.
    Expired,
    /// Complete and its PaymentIntent can still be canceled (a konbini voucher not yet paid).
    AwaitingPayment { intent_id: String },
    /// Complete, and nothing is left to cancel (the voucher lapsed, or was canceled).
    Settled,
    /// Complete and paid (or being paid): only a refund undoes it.
    Paid,
}

pub fn session_stage(session: &CheckoutSession) -> SessionStage {
    match session.status {
        Some(CheckoutSessionStatus::Open) => return SessionStage::Open,
        Some(CheckoutSessionStatus::Expired) => return SessionStage::Expired,
        _ => {}
    }
    if session.payment_status == CheckoutSessionPaymentStatus::Paid {
        return SessionStage::Paid;
    }
    match session.payment_intent.as_ref() {
        Some(Expandable::Object(pi)) => match pi.status {
            PaymentIntentStatus::RequiresAction
            | PaymentIntentStatus::RequiresConfirmation
            | PaymentIntentStatus::RequiresCapture => SessionStage::AwaitingPayment {
                intent_id: pi.id.as_str().to_owned(),
            },
            PaymentIntentStatus::Succeeded | PaymentIntentStatus::Processing => SessionStage::Paid,
            // Canceled, a lapsed attempt, or a status newer than this client.
            _ => SessionStage::Settled,
        },
        // Not expanded (the caller always expands) or no PaymentIntent: nothing to cancel.
        Some(Expandable::Id(_)) | None => SessionStage::Settled,
    }
}

/// The PaymentIntent a refund is made against.
pub fn payment_intent_id(session: &CheckoutSession) -> Option<String> {
    session
        .payment_intent
        .as_ref()
        .map(|pi| pi.id().as_str().to_owned())
}

fn payment_id_in(metadata: Option<&HashMap<String, String>>) -> Option<Uuid> {
    metadata
        .and_then(|m| m.get(PAYMENT_ID_KEY))
        .and_then(|raw| Uuid::parse_str(raw).ok())
}

fn only_konbini(methods: &[String]) -> bool {
    !methods.is_empty() && methods.iter().all(|m| m == "konbini")
}

fn intent_signal(pi: &PaymentIntent) -> Option<PaymentSignal> {
    match pi.status {
        PaymentIntentStatus::Succeeded => Some(PaymentSignal::Succeeded),
        // We capture automatically: an authorised, not yet captured charge is under way.
        PaymentIntentStatus::Processing | PaymentIntentStatus::RequiresCapture => {
            Some(PaymentSignal::Processing)
        }
        PaymentIntentStatus::RequiresAction => Some(PaymentSignal::RequiresAction),
        PaymentIntentStatus::Canceled => Some(PaymentSignal::Canceled),
        // A konbini payment cannot be declined at the store; its only failure is the voucher
        // running out unpaid, which is our `Expired`.
        PaymentIntentStatus::RequiresPaymentMethod if pi.last_payment_error.is_some() => {
            if only_konbini(&pi.payment_method_types) {
                Some(PaymentSignal::Expired)
            } else {
                Some(PaymentSignal::Failed)
            }
        }
        // Nothing tried yet, or a status newer than this client (the enum is non-exhaustive).
        _ => None,
    }
}

fn session_signal(session: &CheckoutSession, pi: Option<&PaymentIntent>) -> Option<PaymentSignal> {
    if session.status == Some(CheckoutSessionStatus::Expired) {
        return Some(PaymentSignal::Expired);
    }
    if let Some(signal) = pi.and_then(intent_signal) {
        return Some(signal);
    }
    match (&session.status, &session.payment_status) {
        (
            Some(CheckoutSessionStatus::Complete),
            CheckoutSessionPaymentStatus::Paid | CheckoutSessionPaymentStatus::NoPaymentRequired,
        ) => Some(PaymentSignal::Succeeded),
        (Some(CheckoutSessionStatus::Complete), _) => Some(PaymentSignal::RequiresAction),
        _ => None,
    }
}

/// One payment code and confirmation number for the page. Lawson, Ministop and Seicomart share
/// theirs; FamilyMart has its own, and the hosted voucher lists every chain's.
fn voucher(details: &PaymentIntentNextActionKonbini) -> Option<KonbiniVoucher> {
    let stores = &details.stores;
    let (payment_code, confirmation_number) = if let Some(s) = &stores.lawson {
        (s.payment_code.clone(), s.confirmation_number.clone())
    } else if let Some(s) = &stores.familymart {
        (s.payment_code.clone(), s.confirmation_number.clone())
    } else if let Some(s) = &stores.ministop {
        (s.payment_code.clone(), s.confirmation_number.clone())
    } else if let Some(s) = &stores.seicomart {
        (s.payment_code.clone(), s.confirmation_number.clone())
    } else {
        return None;
    };
    Some(KonbiniVoucher {
        payment_code,
        confirmation_number,
        hosted_voucher_url: details.hosted_voucher_url.clone(),
        expires_at: OffsetDateTime::from_unix_timestamp(details.expires_at).ok(),
    })
}

/// The brand of a card charge (`visa`), else the method (`paypay`, `konbini`).
fn charge_method(charge: &Charge) -> Option<String> {
    let details = charge.payment_method_details.as_ref()?;
    details
        .card
        .as_ref()
        .and_then(|card| card.brand.clone())
        .or_else(|| Some(details.type_.clone()))
}

fn intent_method(pi: &PaymentIntent) -> Option<String> {
    match &pi.latest_charge {
        Some(Expandable::Object(charge)) => charge_method(charge),
        // Without the charge, a single non-card method still says what was used.
        _ => match pi.payment_method_types.as_slice() {
            [only] if only != "card" => Some(only.clone()),
            _ => None,
        },
    }
}

fn intent_voucher(pi: &PaymentIntent) -> Option<KonbiniVoucher> {
    pi.next_action
        .as_ref()
        .and_then(|action| action.konbini_display_details.as_ref())
        .and_then(voucher)
}

/// A session (retrieved with its PaymentIntent expanded, or as a webhook sends it, with the
/// PaymentIntent's id only) in our terms.
pub fn session_snapshot(session: &CheckoutSession) -> PaymentSnapshot {
    let pi = match &session.payment_intent {
        Some(Expandable::Object(pi)) => Some(pi.as_ref()),
        _ => None,
    };
    PaymentSnapshot {
        provider_ref: session.id.as_str().to_owned(),
        payment_id: payment_id_in(session.metadata.as_ref())
            .or_else(|| pi.and_then(|pi| payment_id_in(Some(&pi.metadata))))
            .or_else(|| {
                session
                    .client_reference_id
                    .as_deref()
                    .and_then(|raw| Uuid::parse_str(raw).ok())
            }),
        signal: session_signal(session, pi),
        amount_yen: session
            .amount_total
            .or(pi.map(|pi| pi.amount))
            .unwrap_or_default(),
        currency: session
            .currency
            .as_ref()
            .or(pi.map(|pi| &pi.currency))
            .map(ToString::to_string)
            .unwrap_or_default(),
        method_detail: pi.and_then(intent_method),
        konbini: pi.and_then(intent_voucher),
    }
}

/// A PaymentIntent in our terms. Its `provider_ref` is the PaymentIntent's id: a PaymentIntent
/// does not name its Checkout Session, so the caller finds the payment by `payment_id`.
pub fn intent_snapshot(pi: &PaymentIntent) -> PaymentSnapshot {
    PaymentSnapshot {
        provider_ref: pi.id.as_str().to_owned(),
        payment_id: payment_id_in(Some(&pi.metadata)),
        signal: intent_signal(pi),
        amount_yen: pi.amount,
        currency: pi.currency.to_string(),
        method_detail: intent_method(pi),
        konbini: intent_voucher(pi),
    }
}

pub fn refund_snapshot(refund: &Refund) -> RefundSnapshot {
    // Konbini refunds wait in `requires_action` until the payer gives bank details (Stripe
    // e-mails them): still pending for us.
    let outcome = match refund.status.as_deref() {
        Some("succeeded") => RefundOutcome::Succeeded,
        Some("failed" | "canceled") => RefundOutcome::Failed,
        _ => RefundOutcome::Pending,
    };
    RefundSnapshot {
        provider_refund_ref: refund.id.as_str().to_owned(),
        refund_id: refund
            .metadata
            .as_ref()
            .and_then(|m| m.get(REFUND_ID_KEY))
            .and_then(|raw| Uuid::parse_str(raw).ok()),
        outcome,
        amount_yen: refund.amount,
    }
}

// ---------------------------------------------------------------------------- errors

/// Removes anything that looks like a key from a text Stripe sent back (its 401 message names
/// the key, masked; we keep even the mask out of our logs).
fn scrub(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if ["sk_", "rk_", "pk_", "whsec_"]
                .iter()
                .any(|prefix| bare.starts_with(prefix))
            {
                "[key]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(error: &ApiErrors) -> String {
    let code = error
        .code
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_else(|| error.type_.as_str().to_owned());
    let message = error.message.as_deref().unwrap_or("no message");
    scrub(&format!("{code}: {message}"))
}

/// How a failed call reads in our terms: no answer or a 5xx (or 409 / 429, "try again") is
/// `Unavailable`, 404 is `NotFound`, any other 4xx is `Refused` with Stripe's code and message.
pub fn gateway_error(error: StripeError) -> GatewayError {
    match error {
        StripeError::Stripe(api_error, status) => match status {
            404 => GatewayError::NotFound(describe(&api_error)),
            409 | 429 | 500..=599 => GatewayError::Unavailable(format!(
                "Stripe answered {status}: {}",
                describe(&api_error)
            )),
            401 | 403 => GatewayError::Refused(format!(
                "Stripe refused the API key ({status}): {}",
                describe(&api_error)
            )),
            _ => GatewayError::Refused(format!(
                "Stripe answered {status}: {}",
                describe(&api_error)
            )),
        },
        // An answer we cannot read (a proxy's HTML error page, a cut body): outcome unknown.
        StripeError::JSONDeserialize(message) => GatewayError::Unavailable(format!(
            "unreadable answer from Stripe: {}",
            scrub(&message)
        )),
        StripeError::ClientError(message) => {
            GatewayError::Unavailable(format!("no answer from Stripe: {}", scrub(&message)))
        }
        StripeError::Timeout => {
            GatewayError::Unavailable("Stripe did not answer in time".to_owned())
        }
        StripeError::ConfigError(message) => {
            GatewayError::Refused(format!("Stripe client misconfigured: {}", scrub(&message)))
        }
    }
}

// ---------------------------------------------------------------------------- webhook events

fn object<T: FromValueOpt>(
    value: miniserde::json::Value,
    event_type: &str,
) -> Result<T, WebhookError> {
    T::from_value(value).ok_or_else(|| {
        WebhookError::Malformed(format!("the object of a {event_type} event is unreadable"))
    })
}

/// Reads a (verified) webhook body. Event types we do not act on become
/// [`EventSubject::Other`]; an event of a type we act on whose object does not read is refused.
pub fn read_event(payload: &[u8]) -> Result<GatewayEvent, WebhookError> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| WebhookError::Malformed("the body is not UTF-8".to_owned()))?;
    let event: stripe_shared::Event = miniserde::json::from_str(text)
        .map_err(|_| WebhookError::Malformed("the body is not a Stripe event".to_owned()))?;
    let event_type = event.type_.as_str().to_owned();
    let created_at = OffsetDateTime::from_unix_timestamp(event.created)
        .map_err(|_| WebhookError::Malformed(format!("created {} is no instant", event.created)))?;
    let data = event.data.object;
    let subject = match event_type.as_str() {
        "checkout.session.completed" | "checkout.session.expired" => {
            let session: CheckoutSession = object(data, &event_type)?;
            EventSubject::Payment(session_snapshot(&session))
        }
        "checkout.session.async_payment_succeeded" => {
            let session: CheckoutSession = object(data, &event_type)?;
            let mut snapshot = session_snapshot(&session);
            snapshot.signal = Some(PaymentSignal::Succeeded);
            EventSubject::Payment(snapshot)
        }
        "checkout.session.async_payment_failed" => {
            let session: CheckoutSession = object(data, &event_type)?;
            let mut snapshot = session_snapshot(&session);
            // Konbini is our only asynchronous method; its failure is a lapsed voucher.
            snapshot.signal = Some(
                if session.payment_method_types.iter().any(|m| m == "konbini") {
                    PaymentSignal::Expired
                } else {
                    PaymentSignal::Failed
                },
            );
            EventSubject::Payment(snapshot)
        }
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.processing"
        | "payment_intent.requires_action"
        | "payment_intent.canceled" => {
            let pi: PaymentIntent = object(data, &event_type)?;
            EventSubject::Payment(intent_snapshot(&pi))
        }
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            let refund: Refund = object(data, &event_type)?;
            EventSubject::Refund(refund_snapshot(&refund))
        }
        "charge.refunded" => {
            let charge: Charge = object(data, &event_type)?;
            // The newest refund on the charge (Stripe lists newest first); `refund.updated`
            // names its refund exactly, and a repeated report changes nothing downstream.
            match charge.refunds.as_ref().and_then(|list| list.data.first()) {
                Some(refund) => EventSubject::Refund(refund_snapshot(refund)),
                None => EventSubject::Other,
            }
        }
        _ => EventSubject::Other,
    };
    Ok(GatewayEvent {
        event_id: event.id.as_str().to_owned(),
        created_at,
        event_type,
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_payments::PaymentAmount;
    use serde_json::{Value, json};

    const PAYMENT: &str = "0190a5c8-0000-7000-8000-000000000001";

    fn parse<T: miniserde::Deserialize>(value: &Value) -> T {
        miniserde::json::from_str(&value.to_string()).expect("Stripe's shape reads")
    }

    fn merged(mut base: Value, changes: Value) -> Value {
        for (k, v) in changes.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn jpy_intent(changes: Value) -> Value {
        merged(
            madoguchi_fake_stripe::fixtures::payment_intent(),
            merged(
                json!({ "currency": "jpy", "amount": 1200, "last_payment_error": null,
                        "next_action": null, "metadata": { PAYMENT_ID_KEY: PAYMENT } }),
                changes,
            ),
        )
    }

    fn jpy_session(changes: Value) -> Value {
        merged(
            madoguchi_fake_stripe::fixtures::checkout_session(),
            merged(
                json!({ "currency": "jpy", "amount_total": 1200, "currency_conversion": null,
                        "metadata": { PAYMENT_ID_KEY: PAYMENT } }),
                changes,
            ),
        )
    }

    #[test]
    fn an_open_session_without_a_payment_intent_signals_nothing() {
        let session: CheckoutSession = parse(&jpy_session(json!({ "payment_intent": null })));
        let snapshot = session_snapshot(&session);
        assert_eq!(snapshot.signal, None);
        assert_eq!(snapshot.amount_yen, 1200);
        assert_eq!(snapshot.currency, "jpy");
        assert_eq!(snapshot.payment_id, Uuid::parse_str(PAYMENT).ok());
        assert_eq!(snapshot.provider_ref, session.id.as_str());
    }

    #[test]
    fn a_paid_session_with_its_card_charge_gives_the_brand() {
        let charge = merged(
            madoguchi_fake_stripe::fixtures::charge(),
            json!({ "currency": "jpy" }),
        );
        let pi = jpy_intent(json!({ "status": "succeeded", "latest_charge": charge }));
        let session: CheckoutSession = parse(&jpy_session(json!({
            "status": "complete", "payment_status": "paid", "payment_intent": pi })));
        let snapshot = session_snapshot(&session);
        assert_eq!(snapshot.signal, Some(PaymentSignal::Succeeded));
        assert_eq!(snapshot.method_detail.as_deref(), Some("visa"));
    }

    #[test]
    fn a_session_in_another_currency_is_reported_as_it_is() {
        let session: CheckoutSession = parse(&jpy_session(json!({ "currency": "usd" })));
        assert_eq!(session_snapshot(&session).currency, "usd");
    }

    #[test]
    fn payment_intent_states_map_to_signals() {
        for (status, error, signal) in [
            (
                "requires_action",
                Value::Null,
                Some(PaymentSignal::RequiresAction),
            ),
            ("processing", Value::Null, Some(PaymentSignal::Processing)),
            ("succeeded", Value::Null, Some(PaymentSignal::Succeeded)),
            ("canceled", Value::Null, Some(PaymentSignal::Canceled)),
            ("requires_payment_method", Value::Null, None),
            (
                "requires_payment_method",
                json!({ "type": "card_error", "code": "card_declined" }),
                Some(PaymentSignal::Failed),
            ),
        ] {
            let pi: PaymentIntent = parse(&jpy_intent(
                json!({ "status": status, "last_payment_error": error }),
            ));
            assert_eq!(intent_snapshot(&pi).signal, signal, "{status}");
        }
    }

    #[test]
    fn a_lapsed_konbini_voucher_is_expired_not_failed() {
        let pi: PaymentIntent = parse(&jpy_intent(json!({
            "status": "requires_payment_method", "payment_method_types": ["konbini"],
            "last_payment_error": { "type": "invalid_request_error",
                                    "code": "payment_intent_payment_attempt_expired" } })));
        assert_eq!(intent_snapshot(&pi).signal, Some(PaymentSignal::Expired));
    }

    #[test]
    fn an_expired_session_is_expired_whatever_its_payment_intent_says() {
        let pi = jpy_intent(json!({ "status": "canceled" }));
        let session: CheckoutSession = parse(&jpy_session(
            json!({ "status": "expired", "payment_intent": pi }),
        ));
        assert_eq!(
            session_snapshot(&session).signal,
            Some(PaymentSignal::Expired)
        );
    }

    #[test]
    fn a_konbini_voucher_shows_code_confirmation_link_and_expiry() {
        let pi: PaymentIntent = parse(&jpy_intent(json!({
            "status": "requires_action", "payment_method_types": ["konbini"],
            "next_action": { "type": "konbini_display_details", "konbini_display_details": {
                "expires_at": 1_780_000_000, "hosted_voucher_url": "https://payments.stripe.com/konbini/voucher/x",
                "stores": { "familymart": { "payment_code": "223344556677", "confirmation_number": "11" },
                            "lawson": { "payment_code": "123456", "confirmation_number": "58581" },
                            "ministop": null, "seicomart": null } } } })));
        let snapshot = intent_snapshot(&pi);
        assert_eq!(snapshot.signal, Some(PaymentSignal::RequiresAction));
        assert_eq!(snapshot.method_detail.as_deref(), Some("konbini"));
        let voucher = snapshot.konbini.unwrap();
        assert_eq!(voucher.payment_code, "123456");
        assert_eq!(voucher.confirmation_number.as_deref(), Some("58581"));
        assert_eq!(
            voucher.hosted_voucher_url.as_deref(),
            Some("https://payments.stripe.com/konbini/voucher/x")
        );
        assert_eq!(
            voucher.expires_at.map(OffsetDateTime::unix_timestamp),
            Some(1_780_000_000)
        );
    }

    #[test]
    fn refund_states_map_to_outcomes_and_carry_our_id() {
        let refund_id = "0190a5c8-0000-7000-8000-0000000000aa";
        for (status, outcome) in [
            ("succeeded", RefundOutcome::Succeeded),
            ("pending", RefundOutcome::Pending),
            ("requires_action", RefundOutcome::Pending),
            ("failed", RefundOutcome::Failed),
            ("canceled", RefundOutcome::Failed),
        ] {
            let refund: Refund = parse(&merged(
                madoguchi_fake_stripe::fixtures::refund(),
                json!({ "status": status, "currency": "jpy", "amount": 500,
                        "metadata": { REFUND_ID_KEY: refund_id } }),
            ));
            let snapshot = refund_snapshot(&refund);
            assert_eq!(snapshot.outcome, outcome, "{status}");
            assert_eq!(snapshot.amount_yen, 500);
            assert_eq!(snapshot.refund_id, Uuid::parse_str(refund_id).ok());
        }
    }

    fn event(event_type: &str, object: Value) -> Vec<u8> {
        merged(
            madoguchi_fake_stripe::fixtures::event(),
            json!({ "type": event_type, "created": 1_780_000_000, "data": { "object": object } }),
        )
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_payment_intent_event_carries_our_payment_id_and_the_intent_id() {
        let pi = jpy_intent(json!({ "status": "succeeded" }));
        let read = read_event(&event("payment_intent.succeeded", pi.clone())).unwrap();
        assert_eq!(read.created_at.unix_timestamp(), 1_780_000_000);
        assert_eq!(read.event_type, "payment_intent.succeeded");
        let EventSubject::Payment(snapshot) = read.subject else {
            panic!("{read:?}")
        };
        assert_eq!(snapshot.payment_id, Uuid::parse_str(PAYMENT).ok());
        assert_eq!(snapshot.provider_ref, pi["id"].as_str().unwrap());
        assert_eq!(snapshot.signal, Some(PaymentSignal::Succeeded));
    }

    #[test]
    fn a_completed_konbini_session_waits_and_its_async_failure_is_expiry() {
        let session = jpy_session(json!({ "status": "complete", "payment_status": "unpaid",
                                           "payment_method_types": ["konbini"] }));
        let completed = read_event(&event("checkout.session.completed", session.clone())).unwrap();
        let EventSubject::Payment(snapshot) = completed.subject else {
            panic!()
        };
        assert_eq!(snapshot.signal, Some(PaymentSignal::RequiresAction));
        assert_eq!(snapshot.provider_ref, session["id"].as_str().unwrap());
        let failed = read_event(&event("checkout.session.async_payment_failed", session)).unwrap();
        let EventSubject::Payment(snapshot) = failed.subject else {
            panic!()
        };
        assert_eq!(snapshot.signal, Some(PaymentSignal::Expired));
    }

    #[test]
    fn events_we_do_not_act_on_are_other_and_broken_ones_are_malformed() {
        // The fixture event as Stripe published it: a `plan.created`.
        let plan = madoguchi_fake_stripe::fixtures::event().to_string();
        assert_eq!(
            read_event(plan.as_bytes()).unwrap().subject,
            EventSubject::Other
        );
        assert!(matches!(
            read_event(b"{\"id\":1}"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            read_event(&event("payment_intent.succeeded", json!({ "id": "pi_1" }))),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn the_session_request_never_enables_instalments_and_asks_for_3ds() {
        let request = StartPayment {
            payment_id: Uuid::parse_str(PAYMENT).unwrap(),
            idempotency_key: "k".into(),
            amount: PaymentAmount::new(1200).unwrap(),
            method: Method::Card,
            description: "住民票の写し".into(),
            return_url: "https://city.example/ok".into(),
            cancel_url: "https://city.example/back".into(),
            tenant_slug: "city".into(),
            pay_by: OffsetDateTime::now_utc(),
            payer_email: None,
            requested_at: OffsetDateTime::now_utc(),
        };
        let create = checkout_session_request(&request, 1_780_000_000, 3);
        let form = stripe::StripeRequest::build(&create)
            .body
            .unwrap_or_default();
        let form = form.replace("%5B", "[").replace("%5D", "]");
        assert!(form.contains("request_three_d_secure]=any"), "{form}");
        assert!(!form.contains("installments"), "{form}");
        assert!(!form.contains("konbini"), "{form}");
        assert!(form.contains("unit_amount]=1200"), "{form}");
    }

    #[test]
    fn keys_never_reach_an_error_message() {
        assert_eq!(
            scrub("Invalid API Key provided: sk_test_****abcd."),
            "Invalid API Key provided: [key]"
        );
    }
}
