//! Webhook delivery as Stripe does it: each event POSTed as JSON to the configured endpoint with
//! a `Stripe-Signature` header made by `madoguchi_gateway::signature::sign` at the moment of the
//! attempt, retried with doubling delays until a 2xx answer or the last attempt. Deliveries run
//! concurrently, so (as with Stripe) their order is not guaranteed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use time::OffsetDateTime;

use crate::Inner;

/// Where events go.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
}

/// How often and how soon a failed delivery is tried again. Stripe retries for three days; the
/// fake's default is short so that tests finish.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(20),
        }
    }
}

/// One delivery attempt, as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub attempt: u32,
    /// The endpoint's answer, or `None` when there was none (connection refused, timeout).
    pub status: Option<u16>,
}

impl Delivery {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Starts delivering `event_ids` (already stored) in the background, if an endpoint is set.
pub(crate) fn send(inner: &Arc<Inner>, event_ids: Vec<String>) {
    let Some(endpoint) = inner.lock_endpoint().clone() else {
        return;
    };
    for event_id in event_ids {
        let payload = {
            let account = inner.lock_account();
            match account.event(&event_id) {
                Some(event) => event.to_string(),
                None => continue,
            }
        };
        inner.pending_deliveries.fetch_add(1, Ordering::SeqCst);
        let inner = Arc::clone(inner);
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            deliver(&inner, &endpoint, &event_id, payload).await;
            inner.pending_deliveries.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn deliver(inner: &Inner, endpoint: &Endpoint, event_id: &str, payload: String) {
    let policy = *inner.lock_retry();
    let mut delay = policy.first_delay;
    for attempt in 1..=policy.attempts.max(1) {
        let t = OffsetDateTime::now_utc().unix_timestamp();
        let header = madoguchi_gateway::signature::sign(&endpoint.secret, t, payload.as_bytes());
        let answer = inner
            .webhook_client
            .post(&endpoint.url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", header)
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .body(payload.clone())
            .send()
            .await;
        let status = answer.ok().map(|r| r.status().as_u16());
        let delivery = Delivery {
            event_id: event_id.to_owned(),
            attempt,
            status,
        };
        let done = delivery.succeeded();
        inner.lock_deliveries().push(delivery);
        if done {
            return;
        }
        if attempt < policy.attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    tracing::debug!(event_id, "fake Stripe gave up delivering an event");
}
