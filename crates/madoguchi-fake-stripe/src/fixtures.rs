//! Stripe's example objects (`fixtures/stripe_objects.json`, from Stripe's OpenAPI fixtures), the
//! starting point of every object the fake creates. They are public so that the adapter's unit
//! tests read the same shapes the fake serves.

use serde_json::Value;

const OBJECTS: &str = include_str!("../fixtures/stripe_objects.json");

fn resource(name: &str) -> Value {
    // The file is part of this crate and checked by `every_fixture_is_an_object` below; a
    // missing key would give `null`, never a panic.
    serde_json::from_str::<Value>(OBJECTS)
        .ok()
        .and_then(|mut all| all.get_mut(name).map(Value::take))
        .unwrap_or(Value::Null)
}

/// `resources["checkout.session"]`: an open payment-mode session.
pub fn checkout_session() -> Value {
    resource("checkout.session")
}

/// `resources.payment_intent`: in `requires_payment_method`, currency usd.
pub fn payment_intent() -> Value {
    resource("payment_intent")
}

/// `resources.charge`: a succeeded card charge (visa), currency usd.
pub fn charge() -> Value {
    resource("charge")
}

/// `resources.refund`: a succeeded refund, currency usd.
pub fn refund() -> Value {
    resource("refund")
}

/// `resources.event`: a `plan.created` event.
pub fn event() -> Value {
    resource("event")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_is_an_object() {
        for (name, value) in [
            ("checkout.session", checkout_session()),
            ("payment_intent", payment_intent()),
            ("charge", charge()),
            ("refund", refund()),
            ("event", event()),
        ] {
            assert!(value.is_object(), "{name}");
        }
        assert_eq!(checkout_session()["object"], "checkout.session");
    }
}
