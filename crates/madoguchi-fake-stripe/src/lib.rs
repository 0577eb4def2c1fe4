//! A Stripe-compatible HTTP server for tests and demos: the Checkout Session, PaymentIntent,
//! refund and event endpoints Madoguchi's Stripe adapter calls, answered in Stripe's shapes
//! (started from Stripe's own example objects, [`fixtures`]), with Stripe's form-encoded
//! requests, Bearer keys, `Idempotency-Key` replays and signed webhook deliveries.
//!
//! The code under test is never changed to talk to it: it is pointed at [`FakeStripe::base_url`]
//! instead of `https://api.stripe.com`, exactly as it would be at Stripe. Tests play the payer
//! through plain methods ([`FakeStripe::pay`], [`FakeStripe::complete_3ds`], …) and the network
//! through [`FakeStripe::fail_next_requests`] and [`FakeStripe::drop_next_responses`].
//!
//! Not a Stripe: one account, test mode, no Price or Customer objects, no time passing by
//! itself (sessions and vouchers expire when a test says so).

mod account;
pub mod fixtures;
mod http;
pub mod params;
mod webhook;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use account::{ApiError, Card, Outcome, konbini_expiry};
pub use webhook::{Delivery, Endpoint, RetryPolicy};

use account::Account;

/// The secret key the fake accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sk_test_madoguchi_fake_0000";

/// One request as the fake received it, for tests that check what the adapter sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// Decoded form or query pairs, in the order sent.
    pub params: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The value of one decoded key, `payment_method_options[card][request_three_d_secure]`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeEvent {
    pub id: String,
    pub event_type: String,
    pub created: i64,
    /// The JSON body a delivery carries.
    pub payload: String,
}

/// What a test control refused (paying a session that is not open, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeError(pub String);

impl std::fmt::Display for FakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FakeError {}

/// Shared by the HTTP handlers, the webhook sender and [`FakeStripe`].
pub(crate) struct Inner {
    api_key: String,
    account: Mutex<Account>,
    requests: Mutex<Vec<RecordedRequest>>,
    endpoint: Mutex<Option<Endpoint>>,
    retry: Mutex<RetryPolicy>,
    deliveries: Mutex<Vec<Delivery>>,
    pending_deliveries: AtomicUsize,
    fail_next: AtomicU32,
    drop_next: AtomicU32,
    webhook_client: reqwest::Client,
}

/// A poisoned lock only means a test thread panicked while holding it; the data is still the
/// fake's best knowledge, so it is used rather than panicking again.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    pub(crate) fn lock_account(&self) -> MutexGuard<'_, Account> {
        lock(&self.account)
    }
    pub(crate) fn lock_requests(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        lock(&self.requests)
    }
    pub(crate) fn lock_endpoint(&self) -> MutexGuard<'_, Option<Endpoint>> {
        lock(&self.endpoint)
    }
    pub(crate) fn lock_retry(&self) -> MutexGuard<'_, RetryPolicy> {
        lock(&self.retry)
    }
    pub(crate) fn lock_deliveries(&self) -> MutexGuard<'_, Vec<Delivery>> {
        lock(&self.deliveries)
    }
}

/// A running fake Stripe. Dropping it stops the server.
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`: give it to the client as its API base.
    pub base_url: String,
    /// The secret key requests must carry (`Authorization: Bearer …`).
    pub api_key: String,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeStripe {
    /// Serves on a free port of 127.0.0.1 with [`DEFAULT_API_KEY`].
    pub async fn start() -> std::io::Result<FakeStripe> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), DEFAULT_API_KEY).await
    }

    /// Serves on `addr` (port 0 for any free one), accepting `api_key`.
    pub async fn start_on(addr: SocketAddr, api_key: &str) -> std::io::Result<FakeStripe> {
        let listener = TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let webhook_client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            api_key: api_key.to_owned(),
            account: Mutex::new(Account::new(base_url.clone())),
            requests: Mutex::new(Vec::new()),
            endpoint: Mutex::new(None),
            retry: Mutex::new(RetryPolicy::default()),
            deliveries: Mutex::new(Vec::new()),
            pending_deliveries: AtomicUsize::new(0),
            fail_next: AtomicU32::new(0),
            drop_next: AtomicU32::new(0),
            webhook_client,
        });
        let app = http::router(Arc::clone(&inner));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "fake Stripe stopped");
            }
        });
        Ok(FakeStripe {
            base_url,
            api_key: api_key.to_owned(),
            inner,
            server,
        })
    }

    /// Runs a test control under the lock, then sends the events it created.
    fn control(
        &self,
        change: impl FnOnce(&mut Account, OffsetDateTime) -> Result<(), String>,
    ) -> Result<(), FakeError> {
        let (result, unsent) = {
            let mut account = self.inner.lock_account();
            let result = change(&mut account, OffsetDateTime::now_utc());
            (result, account.take_unsent())
        };
        webhook::send(&self.inner, unsent);
        result.map_err(FakeError)
    }

    // ------------------------------------------------------------ the payer

    /// The payer acts on the Checkout page of `session_id` (which must be open).
    pub fn pay(&self, session_id: &str, outcome: Outcome) -> Result<(), FakeError> {
        self.control(|a, now| a.pay(session_id, outcome, now))
    }

    /// The card the next card payment uses (default: visa, typed in).
    pub fn use_card(&self, brand: &str, wallet: Option<&str>) {
        self.inner.lock_account().card = Card {
            brand: brand.to_owned(),
            wallet: wallet.map(str::to_owned),
        };
    }

    /// The payer passes the 3-D Secure challenge started by
    /// [`Outcome::ThreeDSecureThenSucceed`].
    pub fn complete_3ds(&self, session_id: &str) -> Result<(), FakeError> {
        self.control(|a, now| a.complete_3ds(session_id, now))
    }

    /// The payer pays the konbini voucher at the store.
    pub fn konbini_paid(&self, session_id: &str) -> Result<(), FakeError> {
        self.control(|a, now| a.konbini_paid(session_id, now))
    }

    /// The konbini voucher's date passes unpaid.
    pub fn konbini_voucher_expired(&self, session_id: &str) -> Result<(), FakeError> {
        self.control(|a, now| a.konbini_voucher_expired(session_id, now))
    }

    /// The session's time runs out (as at its `expires_at`).
    pub fn expire(&self, session_id: &str) -> Result<(), FakeError> {
        self.control(|a, now| {
            a.expire_session(session_id, &account::Cause::default(), now)
                .map(|_| ())
                .map_err(|e| e.message)
        })
    }

    /// A refund waiting in `requires_action` (konbini: the payer's bank details) is paid out,
    /// or fails.
    pub fn settle_refund(&self, refund_id: &str, succeed: bool) -> Result<(), FakeError> {
        self.control(|a, now| a.settle_refund(refund_id, succeed, now))
    }

    // ------------------------------------------------------------ what happened

    /// How many Checkout Sessions were created (replays of an idempotent request not counted):
    /// the proof that a retried start never makes a second payment.
    pub fn sessions_created(&self) -> usize {
        self.inner.lock_account().sessions_created
    }

    /// How many refunds were created (replays not counted).
    pub fn refunds_created(&self) -> usize {
        self.inner.lock_account().refunds_created
    }

    pub fn session_ids(&self) -> Vec<String> {
        self.inner.lock_account().session_ids()
    }

    /// Any stored object (`cs_…`, `pi_…`, `ch_…`, `re_…`, `evt_…`) as the API would return it.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.inner.lock_account().render(id, &[])
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock_requests().clone()
    }

    // ------------------------------------------------------------ the network

    /// The next `n` API requests are answered 500 before anything is done (not stored for
    /// idempotency, as at Stripe).
    pub fn fail_next_requests(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// The next `n` API requests are carried out (and stored for idempotency) but their answer
    /// is lost: the connection ends mid-response.
    pub fn drop_next_responses(&self, n: u32) {
        self.inner.drop_next.store(n, Ordering::SeqCst);
    }

    // ------------------------------------------------------------ webhooks

    /// From now on, each new event is POSTed to `url`, signed with `secret`.
    pub fn configure_webhook(&self, url: &str, secret: &str) {
        *self.inner.lock_endpoint() = Some(Endpoint {
            url: url.to_owned(),
            secret: secret.to_owned(),
        });
    }

    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        *self.inner.lock_retry() = policy;
    }

    /// Every event, oldest first.
    pub fn events(&self) -> Vec<FakeEvent> {
        self.inner
            .lock_account()
            .events()
            .iter()
            .map(|e| FakeEvent {
                id: e["id"].as_str().unwrap_or_default().to_owned(),
                event_type: e["type"].as_str().unwrap_or_default().to_owned(),
                created: e["created"].as_i64().unwrap_or_default(),
                payload: e.to_string(),
            })
            .collect()
    }

    /// Sends stored events again, in the order given (duplicates, or shuffled deliveries).
    pub fn resend(&self, event_ids: &[&str]) {
        webhook::send(
            &self.inner,
            event_ids.iter().map(|id| (*id).to_owned()).collect(),
        );
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock_deliveries().clone()
    }

    /// Waits until no delivery is in flight; false if `timeout` passed first.
    pub async fn webhooks_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.inner.pending_deliveries.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// The body and `Stripe-Signature` header a delivery of `event_id` signed with `secret` at
    /// `t` would carry, for tests that call a webhook reader directly.
    pub fn signed_event(&self, event_id: &str, secret: &str, t: i64) -> Option<(String, String)> {
        let payload = self.inner.lock_account().event(event_id)?.to_string();
        let header = madoguchi_gateway::signature::sign(secret, t, payload.as_bytes());
        Some((payload, header))
    }
}
