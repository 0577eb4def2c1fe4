//! The fake's Stripe account: every object it holds (Checkout Sessions, PaymentIntents, charges,
//! refunds, events), the API operations on them and the test controls that play the payer's
//! part. No I/O here: the HTTP layer (`http.rs`) calls in under one lock, and the events this
//! produces are handed to the webhook sender (`webhook.rs`) afterwards.
//!
//! Objects are kept as Stripe's JSON, each started from Stripe's own example object
//! ([`crate::fixtures`]) with our values set, so what the adapter reads has Stripe's shape.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::offset;

use crate::params::Params;

mod refunds;

/// An error answer in Stripe's shape: `{"error": {"type", "code", "message", "param"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error_type: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn invalid(code: &'static str, param: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            error_type: "invalid_request_error",
            code: Some(code),
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    pub fn missing_param(param: &str) -> Self {
        Self::invalid(
            "parameter_missing",
            Some(param),
            format!("Missing required param: {param}."),
        )
    }

    pub fn no_such(object: &str, id: &str) -> Self {
        ApiError {
            status: 404,
            error_type: "invalid_request_error",
            code: Some("resource_missing"),
            message: format!("No such {object}: '{id}'"),
            param: Some("id".to_owned()),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut error = json!({ "type": self.error_type, "message": self.message });
        if let Some(code) = self.code {
            error["code"] = json!(code);
            error["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{code}"));
        }
        if let Some(param) = &self.param {
            error["param"] = json!(param);
        }
        json!({ "error": error })
    }
}

/// What the payer does on the Checkout page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Pays at once (card, Apple Pay / Google Pay, or PayPay, whichever the session offers).
    Succeed,
    /// The card asks for 3-D Secure: the PaymentIntent waits in `requires_action` until
    /// [`crate::FakeStripe::complete_3ds`].
    ThreeDSecureThenSucceed,
    /// The card is declined: the PaymentIntent goes back to `requires_payment_method` with a
    /// `last_payment_error`; the session stays open for another try.
    Decline,
    /// The payer chooses konbini: the session completes unpaid and the PaymentIntent waits in
    /// `requires_action` with the voucher (`konbini_display_details`).
    KonbiniPending,
}

/// The card the next card payment is made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// `visa`, `mastercard`, `jcb`, `amex` …
    pub brand: String,
    /// `apple_pay`, `google_pay`, or none for a card typed in.
    pub wallet: Option<String>,
}

/// A stored answer to a request with an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct Replay {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
    pub body: Value,
}

/// What caused a change, for the event's `request` field.
#[derive(Clone, Debug, Default)]
pub struct Cause {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

struct Session {
    json: Value,
    /// `payment_intent_data[…]` of the create request: the PaymentIntent gets them.
    intent_metadata: BTreeMap<String, String>,
    intent_description: Option<String>,
}

/// The account's state.
pub struct Account {
    base_url: String,
    sessions: BTreeMap<String, Session>,
    intents: BTreeMap<String, Value>,
    charges: BTreeMap<String, Value>,
    refunds: BTreeMap<String, Value>,
    events: Vec<Value>,
    /// Event ids created since the sender last took them.
    unsent: Vec<String>,
    pub idempotency: HashMap<String, Replay>,
    pub sessions_created: usize,
    pub refunds_created: usize,
    last_event_created: i64,
    pub card: Card,
}

/// Payment method types the fake knows (Stripe has more; these are the ones Japan uses here).
const KNOWN_METHODS: [&str; 4] = ["card", "konbini", "paypay", "link"];

/// Stripe's minimum charge in yen.
const MIN_JPY: i64 = 50;

fn new_id(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &random[..24])
}

fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

fn str_of<'a>(object: &'a Value, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Konbini instructions expire at 23:59:59 JST `days` calendar days after today in Tokyo.
pub fn konbini_expiry(now: OffsetDateTime, days: i64) -> i64 {
    let tokyo = now.to_offset(offset!(+9));
    let last_day = tokyo.date() + time::Duration::days(days);
    last_day
        .with_hms(23, 59, 59)
        .map(|t| t.assume_offset(offset!(+9)).unix_timestamp())
        .unwrap_or_else(|_| now.unix_timestamp() + days * 86_400)
}

impl Account {
    pub fn new(base_url: String) -> Self {
        Account {
            base_url,
            sessions: BTreeMap::new(),
            intents: BTreeMap::new(),
            charges: BTreeMap::new(),
            refunds: BTreeMap::new(),
            events: Vec::new(),
            unsent: Vec::new(),
            idempotency: HashMap::new(),
            sessions_created: 0,
            refunds_created: 0,
            last_event_created: 0,
            card: Card {
                brand: "visa".to_owned(),
                wallet: None,
            },
        }
    }

    /// Event ids created since the last call, oldest first.
    pub fn take_unsent(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unsent)
    }

    pub fn events(&self) -> &[Value] {
        &self.events
    }

    pub fn event(&self, id: &str) -> Option<&Value> {
        self.events.iter().find(|e| str_of(e, "id") == id)
    }

    pub fn session_ids(&self) -> Vec<String> {
        self.sessions.keys().cloned().collect()
    }

    fn emit(&mut self, event_type: &str, object: Value, cause: &Cause, now: OffsetDateTime) {
        // Strictly increasing, so "newer" is always decidable, even within one second.
        let created = now
            .unix_timestamp()
            .max(self.last_event_created.saturating_add(1));
        self.last_event_created = created;
        let mut event = crate::fixtures::event();
        let id = new_id("evt");
        set(&mut event, "id", json!(id));
        set(&mut event, "created", json!(created));
        set(&mut event, "type", json!(event_type));
        set(&mut event, "data", json!({ "object": object }));
        set(&mut event, "pending_webhooks", json!(1));
        set(
            &mut event,
            "request",
            json!({ "id": cause.request_id, "idempotency_key": cause.idempotency_key }),
        );
        self.events.push(event);
        self.unsent.push(id);
    }

    // ---------------------------------------------------------------- rendering, expansion

    fn raw(&self, id: &str) -> Option<Value> {
        let found = if id.starts_with("cs_") {
            self.sessions.get(id).map(|s| &s.json)
        } else if id.starts_with("pi_") {
            self.intents.get(id)
        } else if id.starts_with("ch_") {
            self.charges.get(id)
        } else if id.starts_with("re_") {
            self.refunds.get(id)
        } else {
            self.event(id)
        };
        found.cloned()
    }

    /// The object `id` with the `expand` paths (`payment_intent.latest_charge`) replaced by the
    /// objects they name, as Stripe's `expand[]` does.
    pub fn render(&self, id: &str, expand: &[String]) -> Option<Value> {
        let mut object = self.raw(id)?;
        for path in expand {
            self.expand(&mut object, path.split('.').collect::<Vec<_>>().as_slice());
        }
        Some(object)
    }

    fn expand(&self, object: &mut Value, path: &[&str]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let Some(field) = object.get_mut(*first) else {
            return;
        };
        if let Some(id) = field.as_str().map(str::to_owned)
            && let Some(inner) = self.raw(&id)
        {
            *field = inner;
        }
        self.expand(field, rest);
    }

    // ---------------------------------------------------------------- Checkout Sessions

    pub fn create_session(&mut self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        match p.get("mode") {
            Some("payment") => {}
            Some(other) => {
                return Err(ApiError::invalid(
                    "parameter_invalid_empty",
                    Some("mode"),
                    format!("The fake Stripe serves payment mode only, not {other}."),
                ));
            }
            None => return Err(ApiError::missing_param("mode")),
        }
        let (amount_total, currency) = line_items_total(p)?;
        if currency == "jpy" && amount_total < MIN_JPY {
            return Err(ApiError::invalid(
                "amount_too_small",
                None,
                format!(
                    "The Checkout Session's total amount due must add up to at least ¥{MIN_JPY} jpy"
                ),
            ));
        }
        let success_url = p
            .get("success_url")
            .ok_or_else(|| ApiError::missing_param("success_url"))?;
        let mut methods = p.list("payment_method_types");
        let allowed = p.list("allowed_payment_method_types");
        methods.extend(allowed.iter().cloned());
        if methods.is_empty() {
            methods.push("card".to_owned());
        }
        for m in &methods {
            if !KNOWN_METHODS.contains(&m.as_str()) {
                return Err(ApiError::invalid(
                    "parameter_invalid_empty",
                    Some("payment_method_types"),
                    format!("Invalid payment_method_types[0]: must be one of {KNOWN_METHODS:?}"),
                ));
            }
            if (m == "konbini" || m == "paypay") && currency != "jpy" {
                return Err(ApiError::invalid(
                    "payment_method_currency_mismatch",
                    Some("payment_method_types"),
                    format!("The payment method `{m}` only supports jpy."),
                ));
            }
        }
        let created = now.unix_timestamp();
        let expires_at = match p.get("expires_at") {
            None => created + 86_400,
            Some(raw) => {
                let at = raw.parse::<i64>().map_err(|_| {
                    ApiError::invalid(
                        "parameter_invalid_integer",
                        Some("expires_at"),
                        "Invalid integer: expires_at",
                    )
                })?;
                if at < created + 1_800 || at > created + 86_400 {
                    return Err(ApiError::invalid(
                        "parameter_invalid_integer",
                        Some("expires_at"),
                        "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                    ));
                }
                at
            }
        };
        let mut method_options = serde_json::Map::new();
        if methods.iter().any(|m| m == "card") {
            let three_d_secure = p
                .get("payment_method_options[card][request_three_d_secure]")
                .unwrap_or("automatic");
            if !["any", "automatic", "challenge"].contains(&three_d_secure) {
                return Err(ApiError::invalid(
                    "parameter_invalid_empty",
                    Some("payment_method_options[card][request_three_d_secure]"),
                    "Invalid request_three_d_secure",
                ));
            }
            let installments = p
                .get("payment_method_options[card][installments][enabled]")
                .map(|v| json!({ "enabled": v == "true" }))
                .unwrap_or(Value::Null);
            method_options.insert(
                "card".to_owned(),
                json!({ "request_three_d_secure": three_d_secure, "installments": installments }),
            );
        }
        if methods.iter().any(|m| m == "konbini") {
            let days = match p.get("payment_method_options[konbini][expires_after_days]") {
                None => 3,
                Some(raw) => match raw.parse::<i64>() {
                    Ok(d) if (1..=60).contains(&d) => d,
                    _ => {
                        return Err(ApiError::invalid(
                            "parameter_invalid_integer",
                            Some("payment_method_options[konbini][expires_after_days]"),
                            "expires_after_days must be between 1 and 60.",
                        ));
                    }
                },
            };
            method_options.insert("konbini".to_owned(), json!({ "expires_after_days": days }));
        }

        let id = new_id("cs_test");
        let mut s = crate::fixtures::checkout_session();
        for (key, value) in [
            ("id", json!(id)),
            ("created", json!(created)),
            ("expires_at", json!(expires_at)),
            ("amount_subtotal", json!(amount_total)),
            ("amount_total", json!(amount_total)),
            ("currency", json!(currency)),
            ("client_reference_id", json!(p.get("client_reference_id"))),
            ("customer_email", json!(p.get("customer_email"))),
            ("customer_details", Value::Null),
            ("metadata", json!(p.map("metadata"))),
            ("mode", json!("payment")),
            ("payment_intent", Value::Null),
            ("payment_method_types", json!(methods)),
            (
                "allowed_payment_method_types",
                if allowed.is_empty() {
                    Value::Null
                } else {
                    json!(allowed)
                },
            ),
            ("payment_method_options", Value::Object(method_options)),
            ("payment_method_configuration_details", Value::Null),
            ("payment_status", json!("unpaid")),
            ("status", json!("open")),
            ("success_url", json!(success_url)),
            ("cancel_url", json!(p.get("cancel_url"))),
            ("url", json!(format!("{}/pay/{id}", self.base_url))),
            ("after_expiration", Value::Null),
            ("adaptive_pricing", json!({ "enabled": false })),
            (
                "automatic_tax",
                json!({ "enabled": false, "liability": null, "status": null, "provider": null }),
            ),
            ("collected_information", Value::Null),
            ("consent", Value::Null),
            ("consent_collection", Value::Null),
            ("currency_conversion", Value::Null),
            (
                "custom_text",
                json!({ "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null }),
            ),
            ("invoice_creation", Value::Null),
            ("managed_payments", Value::Null),
            ("shipping_address_collection", Value::Null),
            ("shipping_cost", Value::Null),
            (
                "total_details",
                json!({ "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 }),
            ),
        ] {
            set(&mut s, key, value);
        }
        self.sessions.insert(
            id.clone(),
            Session {
                json: s.clone(),
                intent_metadata: p.map("payment_intent_data[metadata]"),
                intent_description: p.get("payment_intent_data[description]").map(str::to_owned),
            },
        );
        self.sessions_created += 1;
        Ok(s)
    }

    fn session_mut(&mut self, id: &str) -> Result<&mut Session, ApiError> {
        self.sessions
            .get_mut(id)
            .ok_or_else(|| ApiError::no_such("checkout.session", id))
    }

    /// `POST /v1/checkout/sessions/{id}/expire` and the test control of the same name.
    pub fn expire_session(
        &mut self,
        id: &str,
        cause: &Cause,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        let session = self.session_mut(id)?;
        let status = str_of(&session.json, "status").to_owned();
        if status != "open" {
            return Err(ApiError::invalid(
                "checkout_session_not_open",
                None,
                format!(
                    "Only Checkout Sessions with a status in [\"open\"] can be expired. This session has status \"{status}\"."
                ),
            ));
        }
        set(&mut session.json, "status", json!("expired"));
        set(&mut session.json, "url", Value::Null);
        let intent_id = session
            .json
            .get("payment_intent")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let session_json = session.json.clone();
        // Stripe cancels the PaymentIntent of an expired session (after a declined try, say).
        if let Some(pi) = intent_id
            && let Some(intent) = self.intents.get_mut(&pi)
            && str_of(intent, "status") != "succeeded"
        {
            set(intent, "status", json!("canceled"));
            set(intent, "canceled_at", json!(now.unix_timestamp()));
            set(intent, "cancellation_reason", json!("abandoned"));
            set(intent, "next_action", Value::Null);
            let intent = intent.clone();
            self.emit("payment_intent.canceled", intent, cause, now);
        }
        self.emit("checkout.session.expired", session_json.clone(), cause, now);
        Ok(session_json)
    }

    // ---------------------------------------------------------------- PaymentIntents

    /// `POST /v1/payment_intents/{id}/cancel`: allowed until the money is in (a konbini voucher
    /// not yet paid, a declined card); the voucher can no longer be paid afterwards.
    pub fn cancel_intent(
        &mut self,
        id: &str,
        cause: &Cause,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        let intent = self
            .intents
            .get_mut(id)
            .ok_or_else(|| ApiError::no_such("payment_intent", id))?;
        let status = str_of(intent, "status").to_owned();
        if matches!(status.as_str(), "succeeded" | "canceled" | "processing") {
            return Err(ApiError::invalid(
                "payment_intent_unexpected_state",
                None,
                format!(
                    "You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action."
                ),
            ));
        }
        set(intent, "status", json!("canceled"));
        set(intent, "canceled_at", json!(now.unix_timestamp()));
        set(
            intent,
            "cancellation_reason",
            json!("requested_by_customer"),
        );
        set(intent, "next_action", Value::Null);
        let intent = intent.clone();
        self.emit("payment_intent.canceled", intent.clone(), cause, now);
        Ok(intent)
    }

    /// The session's PaymentIntent, created on the first attempt (as Checkout does when the
    /// payer submits), paid with `method`.
    fn intent_for(
        &mut self,
        session_id: &str,
        method: &str,
        now: OffsetDateTime,
    ) -> Result<(String, bool), String> {
        let session = self
            .sessions
            .get(session_id)
            .ok_or_else(|| format!("no session {session_id}"))?;
        if let Some(existing) = session.json.get("payment_intent").and_then(Value::as_str) {
            let existing = existing.to_owned();
            if let Some(intent) = self.intents.get_mut(&existing) {
                set(intent, "payment_method_types", json!([method]));
                set(intent, "last_payment_error", Value::Null);
            }
            return Ok((existing, false));
        }
        let id = new_id("pi");
        let mut pi = crate::fixtures::payment_intent();
        for (key, value) in [
            ("id", json!(id)),
            ("amount", session.json["amount_total"].clone()),
            ("amount_capturable", json!(0)),
            ("amount_received", json!(0)),
            ("automatic_payment_methods", Value::Null),
            ("canceled_at", Value::Null),
            ("cancellation_reason", Value::Null),
            (
                "client_secret",
                json!(format!("{id}_secret_{}", &new_id("s")[2..])),
            ),
            ("created", json!(now.unix_timestamp())),
            ("currency", session.json["currency"].clone()),
            ("description", json!(session.intent_description)),
            ("last_payment_error", Value::Null),
            ("latest_charge", Value::Null),
            ("metadata", json!(session.intent_metadata)),
            ("next_action", Value::Null),
            ("payment_method", Value::Null),
            ("payment_method_configuration_details", Value::Null),
            ("payment_method_options", json!({})),
            ("payment_method_types", json!([method])),
            ("processing", Value::Null),
            ("receipt_email", session.json["customer_email"].clone()),
            ("status", json!("requires_payment_method")),
            ("transfer_data", Value::Null),
            ("managed_payments", Value::Null),
        ] {
            set(&mut pi, key, value);
        }
        self.intents.insert(id.clone(), pi);
        if let Some(session) = self.sessions.get_mut(session_id) {
            set(&mut session.json, "payment_intent", json!(id));
        }
        Ok((id, true))
    }

    fn new_charge(
        &mut self,
        intent_id: &str,
        method: &str,
        paid: bool,
        now: OffsetDateTime,
    ) -> String {
        let intent = self.intents.get(intent_id).cloned().unwrap_or(Value::Null);
        let id = new_id("ch");
        let amount = intent["amount"].as_i64().unwrap_or_default();
        let mut ch = crate::fixtures::charge();
        let details = match method {
            "card" => {
                let mut card = crate::fixtures::charge()["payment_method_details"]["card"].clone();
                set(&mut card, "brand", json!(self.card.brand));
                set(&mut card, "network", json!(self.card.brand));
                set(&mut card, "country", json!("JP"));
                set(&mut card, "installments", Value::Null);
                set(&mut card, "three_d_secure", Value::Null);
                set(
                    &mut card,
                    "wallet",
                    match &self.card.wallet {
                        Some(w) => json!({ "type": w, w.clone(): {}, "dynamic_last4": "4242" }),
                        None => Value::Null,
                    },
                );
                json!({ "type": "card", "card": card })
            }
            "konbini" => {
                json!({ "type": "konbini", "konbini": { "store": { "chain": "lawson" } } })
            }
            other => json!({ "type": other, other: {} }),
        };
        let outcome = if paid {
            json!({ "type": "authorized", "network_status": "approved_by_network", "reason": null,
                    "risk_level": "normal", "seller_message": "Payment complete.",
                    "advice_code": null, "network_advice_code": null, "network_decline_code": null })
        } else {
            json!({ "type": "issuer_declined", "network_status": "declined_by_network",
                    "reason": "generic_decline", "risk_level": "normal",
                    "seller_message": "The bank did not return any further details with this decline.",
                    "advice_code": "try_again_later", "network_advice_code": null, "network_decline_code": null })
        };
        for (key, value) in [
            ("id", json!(id)),
            ("amount", json!(amount)),
            ("amount_captured", json!(if paid { amount } else { 0 })),
            ("amount_refunded", json!(0)),
            (
                "balance_transaction",
                if paid {
                    json!(new_id("txn"))
                } else {
                    Value::Null
                },
            ),
            ("captured", json!(paid)),
            ("created", json!(now.unix_timestamp())),
            ("currency", intent["currency"].clone()),
            ("description", intent["description"].clone()),
            (
                "failure_code",
                if paid {
                    Value::Null
                } else {
                    json!("card_declined")
                },
            ),
            (
                "failure_message",
                if paid {
                    Value::Null
                } else {
                    json!("Your card was declined.")
                },
            ),
            ("metadata", intent["metadata"].clone()),
            ("outcome", outcome),
            ("paid", json!(paid)),
            ("receipt_email", intent["receipt_email"].clone()),
            ("payment_intent", json!(intent_id)),
            ("payment_method", json!(new_id("pm"))),
            ("payment_method_details", details),
            (
                "receipt_url",
                json!(format!("{}/receipts/{id}", self.base_url)),
            ),
            (
                "refunds",
                json!({ "object": "list", "data": [], "has_more": false, "total_count": 0,
                        "url": format!("/v1/charges/{id}/refunds") }),
            ),
            ("source", Value::Null),
            ("status", json!(if paid { "succeeded" } else { "failed" })),
            ("transfer_data", Value::Null),
        ] {
            set(&mut ch, key, value);
        }
        self.charges.insert(id.clone(), ch);
        id
    }

    fn open_session(&self, session_id: &str) -> Result<&Session, String> {
        let session = self
            .sessions
            .get(session_id)
            .ok_or_else(|| format!("no session {session_id}"))?;
        match str_of(&session.json, "status") {
            "open" => Ok(session),
            other => Err(format!("session {session_id} is {other}, not open")),
        }
    }

    fn offers(&self, session_id: &str, method: &str) -> bool {
        self.sessions.get(session_id).is_some_and(|s| {
            s.json["payment_method_types"]
                .as_array()
                .is_some_and(|list| list.iter().any(|m| m == method))
        })
    }

    /// The payer acts on the Checkout page.
    pub fn pay(
        &mut self,
        session_id: &str,
        outcome: Outcome,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        self.open_session(session_id)?;
        let cause = Cause::default();
        match outcome {
            Outcome::KonbiniPending => {
                if !self.offers(session_id, "konbini") {
                    return Err(format!("session {session_id} does not offer konbini"));
                }
                let (pi, created) = self.intent_for(session_id, "konbini", now)?;
                if created {
                    self.emit_intent("payment_intent.created", &pi, &cause, now);
                }
                let days = self.sessions[session_id].json["payment_method_options"]["konbini"]
                    ["expires_after_days"]
                    .as_i64()
                    .unwrap_or(3);
                let voucher = json!({
                    "type": "konbini_display_details",
                    "konbini_display_details": {
                        "expires_at": konbini_expiry(now, days),
                        "hosted_voucher_url": format!("{}/konbini/voucher/{pi}", self.base_url),
                        "stores": {
                            "familymart": { "confirmation_number": "58581", "payment_code": "123456789012" },
                            "lawson": { "confirmation_number": "58581", "payment_code": "123456" },
                            "ministop": { "confirmation_number": "58581", "payment_code": "123456" },
                            "seicomart": { "confirmation_number": "58581", "payment_code": "123456" }
                        }
                    }
                });
                if let Some(intent) = self.intents.get_mut(&pi) {
                    set(intent, "status", json!("requires_action"));
                    set(intent, "next_action", voucher);
                    set(intent, "payment_method", json!(new_id("pm")));
                }
                self.emit_intent("payment_intent.requires_action", &pi, &cause, now);
                self.complete_session(session_id, false, &cause, now);
                Ok(())
            }
            Outcome::Succeed | Outcome::ThreeDSecureThenSucceed | Outcome::Decline => {
                let method = if self.offers(session_id, "card") {
                    "card"
                } else if self.offers(session_id, "paypay") {
                    "paypay"
                } else {
                    return Err(format!(
                        "session {session_id} offers neither card nor paypay"
                    ));
                };
                let (pi, created) = self.intent_for(session_id, method, now)?;
                if created {
                    self.emit_intent("payment_intent.created", &pi, &cause, now);
                }
                match outcome {
                    Outcome::ThreeDSecureThenSucceed => {
                        if let Some(intent) = self.intents.get_mut(&pi) {
                            set(intent, "status", json!("requires_action"));
                            set(
                                intent,
                                "next_action",
                                json!({
                                    "type": "redirect_to_url",
                                    "redirect_to_url": {
                                        "url": format!("{}/3ds/{pi}", self.base_url),
                                        "return_url": null
                                    }
                                }),
                            );
                        }
                        self.emit_intent("payment_intent.requires_action", &pi, &cause, now);
                        Ok(())
                    }
                    Outcome::Decline => {
                        let charge = self.new_charge(&pi, method, false, now);
                        if let Some(intent) = self.intents.get_mut(&pi) {
                            set(intent, "status", json!("requires_payment_method"));
                            set(intent, "latest_charge", json!(charge));
                            set(
                                intent,
                                "last_payment_error",
                                json!({
                                    "type": "card_error",
                                    "code": "card_declined",
                                    "decline_code": "generic_decline",
                                    "charge": charge,
                                    "message": "Your card was declined.",
                                    "payment_method_type": method,
                                    "doc_url": "https://stripe.com/docs/error-codes/card-declined"
                                }),
                            );
                        }
                        let charge_json = self.charges[&charge].clone();
                        self.emit("charge.failed", charge_json, &cause, now);
                        self.emit_intent("payment_intent.payment_failed", &pi, &cause, now);
                        Ok(())
                    }
                    _ => {
                        self.succeed_intent(&pi, method, &cause, now);
                        self.complete_session(session_id, true, &cause, now);
                        Ok(())
                    }
                }
            }
        }
    }

    /// The payer passes 3-D Secure: the waiting PaymentIntent succeeds.
    pub fn complete_3ds(&mut self, session_id: &str, now: OffsetDateTime) -> Result<(), String> {
        self.open_session(session_id)?;
        let pi = self.waiting_intent(session_id, "redirect_to_url")?;
        let cause = Cause::default();
        self.succeed_intent(&pi, "card", &cause, now);
        if let Some(charge) = self.intents[&pi]["latest_charge"]
            .as_str()
            .map(str::to_owned)
            && let Some(ch) = self.charges.get_mut(&charge)
        {
            ch["payment_method_details"]["card"]["three_d_secure"] = json!({
                "authentication_flow": "challenge", "electronic_commerce_indicator": "05",
                "exemption_indicator": null, "result": "authenticated", "result_reason": null,
                "transaction_id": null, "version": "2.2.0"
            });
        }
        self.complete_session(session_id, true, &cause, now);
        Ok(())
    }

    /// The payer pays the konbini voucher at the store.
    pub fn konbini_paid(&mut self, session_id: &str, now: OffsetDateTime) -> Result<(), String> {
        let pi = self.waiting_intent(session_id, "konbini_display_details")?;
        let cause = Cause::default();
        self.succeed_intent(&pi, "konbini", &cause, now);
        if let Some(session) = self.sessions.get_mut(session_id) {
            set(&mut session.json, "payment_status", json!("paid"));
            let json = session.json.clone();
            self.emit(
                "checkout.session.async_payment_succeeded",
                json,
                &cause,
                now,
            );
        }
        Ok(())
    }

    /// The konbini voucher runs out unpaid.
    pub fn konbini_voucher_expired(
        &mut self,
        session_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        let pi = self.waiting_intent(session_id, "konbini_display_details")?;
        let cause = Cause::default();
        if let Some(intent) = self.intents.get_mut(&pi) {
            set(intent, "status", json!("requires_payment_method"));
            set(intent, "next_action", Value::Null);
            set(
                intent,
                "last_payment_error",
                json!({
                    "type": "invalid_request_error",
                    "code": "payment_intent_payment_attempt_expired",
                    "message": "The payment attempt expired: the customer did not pay the konbini voucher in time.",
                    "payment_method_type": "konbini"
                }),
            );
        }
        self.emit_intent("payment_intent.payment_failed", &pi, &cause, now);
        if let Some(session) = self.sessions.get(session_id) {
            let json = session.json.clone();
            self.emit("checkout.session.async_payment_failed", json, &cause, now);
        }
        Ok(())
    }

    fn waiting_intent(&self, session_id: &str, action: &str) -> Result<String, String> {
        let session = self
            .sessions
            .get(session_id)
            .ok_or_else(|| format!("no session {session_id}"))?;
        let pi = session.json["payment_intent"]
            .as_str()
            .ok_or_else(|| format!("session {session_id} has no payment yet"))?;
        let intent = &self.intents[pi];
        if str_of(intent, "status") == "requires_action" && intent["next_action"]["type"] == action
        {
            Ok(pi.to_owned())
        } else {
            Err(format!("payment {pi} is not waiting for {action}"))
        }
    }

    fn emit_intent(&mut self, event_type: &str, pi: &str, cause: &Cause, now: OffsetDateTime) {
        if let Some(intent) = self.intents.get(pi).cloned() {
            self.emit(event_type, intent, cause, now);
        }
    }

    fn succeed_intent(&mut self, pi: &str, method: &str, cause: &Cause, now: OffsetDateTime) {
        let charge = self.new_charge(pi, method, true, now);
        let payment_method = self.charges[&charge]["payment_method"].clone();
        if let Some(intent) = self.intents.get_mut(pi) {
            let amount = intent["amount"].clone();
            set(intent, "status", json!("succeeded"));
            set(intent, "amount_received", amount);
            set(intent, "latest_charge", json!(charge));
            set(intent, "payment_method", payment_method);
            set(intent, "next_action", Value::Null);
            set(intent, "last_payment_error", Value::Null);
        }
        let charge_json = self.charges[&charge].clone();
        self.emit("charge.succeeded", charge_json, cause, now);
        self.emit_intent("payment_intent.succeeded", pi, cause, now);
    }

    fn complete_session(
        &mut self,
        session_id: &str,
        paid: bool,
        cause: &Cause,
        now: OffsetDateTime,
    ) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            set(&mut session.json, "status", json!("complete"));
            set(&mut session.json, "url", Value::Null);
            set(
                &mut session.json,
                "payment_status",
                json!(if paid { "paid" } else { "unpaid" }),
            );
            let email = session.json["customer_email"].clone();
            set(
                &mut session.json,
                "customer_details",
                json!({ "address": null, "email": email, "name": null, "phone": null,
                        "tax_exempt": "none", "tax_ids": [] }),
            );
            let json = session.json.clone();
            self.emit("checkout.session.completed", json, cause, now);
        }
    }
}

/// The total and currency of `line_items[i][price_data]…` (inline prices only).
fn line_items_total(p: &Params) -> Result<(i64, String), ApiError> {
    let mut total: i64 = 0;
    let mut currency: Option<String> = None;
    let mut index = 0;
    loop {
        let key = |field: &str| format!("line_items[{index}]{field}");
        let has_item = p
            .pairs()
            .iter()
            .any(|(k, _)| k.starts_with(&format!("line_items[{index}]")));
        if !has_item {
            break;
        }
        if p.get(&key("[price]")).is_some() {
            return Err(ApiError::invalid(
                "parameter_unknown",
                Some("line_items[0][price]"),
                "The fake Stripe knows no Price objects; send price_data.",
            ));
        }
        let item_currency = p
            .get(&key("[price_data][currency]"))
            .ok_or_else(|| ApiError::missing_param(&key("[price_data][currency]")))?;
        let unit_amount = p
            .get(&key("[price_data][unit_amount]"))
            .ok_or_else(|| ApiError::missing_param(&key("[price_data][unit_amount]")))?
            .parse::<i64>()
            .map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    Some(&key("[price_data][unit_amount]")),
                    "Invalid integer",
                )
            })?;
        p.get(&key("[price_data][product_data][name]"))
            .ok_or_else(|| ApiError::missing_param(&key("[price_data][product_data][name]")))?;
        let quantity = p
            .get(&key("[quantity]"))
            .ok_or_else(|| ApiError::missing_param(&key("[quantity]")))?
            .parse::<i64>()
            .map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    Some(&key("[quantity]")),
                    "Invalid integer",
                )
            })?;
        if unit_amount < 0 || quantity < 1 {
            return Err(ApiError::invalid(
                "parameter_invalid_integer",
                Some(&key("[price_data][unit_amount]")),
                "Invalid non-negative integer",
            ));
        }
        match &currency {
            Some(c) if c != item_currency => {
                return Err(ApiError::invalid(
                    "parameter_invalid_empty",
                    Some(&key("[price_data][currency]")),
                    "All line items must use the same currency.",
                ));
            }
            _ => currency = Some(item_currency.to_owned()),
        }
        total = total.saturating_add(unit_amount.saturating_mul(quantity));
        index += 1;
    }
    match currency {
        Some(c) => Ok((total, c)),
        None => Err(ApiError::missing_param("line_items")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn konbini_vouchers_run_to_the_end_of_the_day_in_tokyo() {
        // Monday 2026-06-01 10:00 JST, two days → Wednesday 23:59:59 JST.
        let now = datetime!(2026-06-01 01:00 UTC);
        assert_eq!(
            konbini_expiry(now, 2),
            datetime!(2026-06-03 23:59:59 +9).unix_timestamp()
        );
        // 23:30 JST Monday is already Tuesday in nothing but UTC terms; still Monday in Tokyo.
        let late = datetime!(2026-06-01 14:30 UTC);
        assert_eq!(
            konbini_expiry(late, 1),
            datetime!(2026-06-02 23:59:59 +9).unix_timestamp()
        );
    }

    fn session_params(extra: &str) -> Params {
        Params::parse(
            format!(
                "mode=payment&success_url=https%3A%2F%2Fcity.example%2Fok\
                 &line_items[0][quantity]=1&line_items[0][price_data][currency]=jpy\
                 &line_items[0][price_data][unit_amount]=300\
                 &line_items[0][price_data][product_data][name]=Copy{extra}"
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_session_is_open_with_its_total_in_yen() {
        let mut a = Account::new("http://fake".into());
        let s = a
            .create_session(&session_params(""), OffsetDateTime::now_utc())
            .unwrap();
        assert_eq!(s["status"], "open");
        assert_eq!(s["amount_total"], 300);
        assert_eq!(s["currency"], "jpy");
        assert_eq!(s["payment_method_types"], json!(["card"]));
    }

    #[test]
    fn an_expiry_outside_half_an_hour_to_a_day_is_refused() {
        let mut a = Account::new("http://fake".into());
        let now = OffsetDateTime::now_utc();
        let soon = format!("&expires_at={}", now.unix_timestamp() + 60);
        let err = a.create_session(&session_params(&soon), now).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("expires_at"));
    }

    #[test]
    fn expiring_a_declined_session_cancels_its_payment_intent() {
        let mut a = Account::new("http://fake".into());
        let now = OffsetDateTime::now_utc();
        let s = a.create_session(&session_params(""), now).unwrap();
        let id = s["id"].as_str().unwrap().to_owned();
        a.pay(&id, Outcome::Decline, now).unwrap();
        a.expire_session(&id, &Cause::default(), now).unwrap();
        let types: Vec<_> = a.events().iter().map(|e| e["type"].clone()).collect();
        assert_eq!(
            types,
            vec![
                json!("payment_intent.created"),
                json!("charge.failed"),
                json!("payment_intent.payment_failed"),
                json!("payment_intent.canceled"),
                json!("checkout.session.expired"),
            ]
        );
        let created: Vec<i64> = a
            .events()
            .iter()
            .map(|e| e["created"].as_i64().unwrap())
            .collect();
        assert!(created.windows(2).all(|w| w[0] < w[1]), "{created:?}");
    }
}
