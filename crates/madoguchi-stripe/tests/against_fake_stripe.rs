//! The Stripe adapter against the fake Stripe over real HTTP: the adapter is only pointed at
//! another API base, never told it is being tested.

// Test helpers outside `#[test]` functions panic on a broken set-up, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use madoguchi_fake_stripe::{FakeStripe, Outcome, RetryPolicy, konbini_expiry};
use madoguchi_gateway::signature::SignatureError;
use madoguchi_gateway::{
    EventSubject, GatewayError, PaymentGateway, RefundOutcome, StartPayment, StartRefund,
    WebhookError, payment_idempotency_key, refund_idempotency_key,
};
use madoguchi_payments::{Method, PaymentAmount, PaymentSignal};
use madoguchi_stripe::{StripeConfig, StripeGateway};
use secrecy::SecretString;
use time::{Duration as Span, OffsetDateTime};
use uuid::Uuid;

const WEBHOOK_SECRET: &str = "whsec_test_madoguchi";

async fn fake_and_gateway() -> (FakeStripe, StripeGateway) {
    let fake = FakeStripe::start().await.unwrap();
    let gateway = gateway_for(&fake, &fake.api_key);
    (fake, gateway)
}

fn gateway_for(fake: &FakeStripe, key: &str) -> StripeGateway {
    StripeGateway::new(StripeConfig {
        api_base: Some(fake.base_url.clone()),
        request_timeout: Duration::from_secs(5),
        ..StripeConfig::new(SecretString::from(key))
    })
    .unwrap()
}

fn payment(method: Method, amount_yen: i64, pay_by: OffsetDateTime) -> StartPayment {
    let payment_id = Uuid::now_v7();
    StartPayment {
        payment_id,
        idempotency_key: payment_idempotency_key(payment_id),
        amount: PaymentAmount::new(amount_yen).unwrap(),
        method,
        description: "住民票の写し 1通".to_owned(),
        return_url: "https://city.example/payments/return".to_owned(),
        cancel_url: "https://city.example/payments/cancel".to_owned(),
        tenant_slug: "sample-city".to_owned(),
        pay_by,
        payer_email: Some("taro@example.jp".to_owned()),
        requested_at: OffsetDateTime::now_utc(),
    }
}

fn in_hours(hours: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Span::hours(hours)
}

fn refund_of(provider_ref: &str, amount_yen: i64) -> StartRefund {
    let refund_id = Uuid::now_v7();
    StartRefund {
        refund_id,
        idempotency_key: refund_idempotency_key(refund_id),
        provider_ref: provider_ref.to_owned(),
        amount: PaymentAmount::new(amount_yen).unwrap(),
    }
}

#[tokio::test]
async fn a_card_payment_is_started_paid_and_retrieved_with_its_brand() {
    let (fake, gateway) = fake_and_gateway().await;
    let request = payment(Method::Card, 1_200, in_hours(2));
    let started = gateway.start(&request).await.unwrap();
    assert!(started.provider_ref.starts_with("cs_test_"));
    assert_eq!(
        started.redirect_url,
        format!("{}/pay/{}", fake.base_url, started.provider_ref)
    );

    let before = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(before.signal, None);
    assert_eq!(before.payment_id, Some(request.payment_id));

    fake.use_card("jcb", Some("apple_pay"));
    fake.pay(&started.provider_ref, Outcome::Succeed).unwrap();
    let after = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(after.signal, Some(PaymentSignal::Succeeded));
    assert_eq!(after.amount_yen, 1_200);
    assert_eq!(after.currency, "jpy");
    assert_eq!(after.method_detail.as_deref(), Some("jcb"));
    assert_eq!(after.payment_id, Some(request.payment_id));
    assert_eq!(after.konbini, None);
}

#[tokio::test]
async fn the_session_asks_for_3ds_never_instalments_and_carries_our_payment_id() {
    let (fake, gateway) = fake_and_gateway().await;
    let pay_by = in_hours(3);
    let request = payment(Method::Card, 300, pay_by);
    gateway.start(&request).await.unwrap();

    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/checkout/sessions")
        .unwrap();
    let id = request.payment_id.to_string();
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(request.idempotency_key.as_str())
    );
    assert_eq!(sent.param("mode"), Some("payment"));
    assert_eq!(sent.param("currency"), Some("jpy"));
    assert_eq!(
        sent.param("line_items[0][price_data][unit_amount]"),
        Some("300")
    );
    assert_eq!(
        sent.param("line_items[0][price_data][product_data][name]"),
        Some("住民票の写し 1通")
    );
    assert_eq!(sent.param("client_reference_id"), Some(id.as_str()));
    assert_eq!(
        sent.param("metadata[madoguchi_payment_id]"),
        Some(id.as_str())
    );
    assert_eq!(
        sent.param("payment_intent_data[metadata][madoguchi_payment_id]"),
        Some(id.as_str())
    );
    assert_eq!(
        sent.param("payment_method_options[card][request_three_d_secure]"),
        Some("any")
    );
    assert_eq!(
        sent.param("expires_at"),
        Some(pay_by.unix_timestamp().to_string().as_str())
    );
    assert_eq!(
        sent.param("success_url"),
        Some("https://city.example/payments/return")
    );
    assert_eq!(
        sent.param("cancel_url"),
        Some("https://city.example/payments/cancel")
    );
    assert!(
        sent.params.iter().all(|(k, _)| !k.contains("installments")),
        "{:?}",
        sent.params
    );
    let methods: Vec<_> = sent
        .params
        .iter()
        .filter(|(k, _)| k.starts_with("allowed_payment_method_types"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(methods, ["card"]);
}

#[tokio::test]
async fn starting_twice_with_one_key_creates_one_session() {
    let (fake, gateway) = fake_and_gateway().await;
    let request = payment(Method::Card, 1_200, in_hours(2));
    let first = gateway.start(&request).await.unwrap();
    let second = gateway.start(&request).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.sessions_created(), 1);
}

#[tokio::test]
async fn a_lost_answer_retried_with_the_same_key_still_makes_one_session() {
    let (fake, gateway) = fake_and_gateway().await;
    // A fifteen-minute seat hold: shorter than Stripe's minimum, so the session's expiry is
    // computed from "now", and the retry must send the same one.
    let request = payment(
        Method::Card,
        1_200,
        OffsetDateTime::now_utc() + Span::minutes(15),
    );
    fake.drop_next_responses(1);
    let lost = gateway.start(&request).await.unwrap_err();
    assert!(matches!(lost, GatewayError::Unavailable(_)), "{lost:?}");
    assert_eq!(fake.sessions_created(), 1);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = gateway.start(&request).await.unwrap();
    assert_eq!(fake.sessions_created(), 1);
    assert_eq!(fake.session_ids(), vec![again.provider_ref]);
}

#[tokio::test]
async fn a_lost_answer_retried_by_another_node_after_a_while_still_makes_one_session() {
    let (fake, first_node) = fake_and_gateway().await;
    // A fifteen-minute seat hold, as above; the retry comes from a gateway that never saw the
    // first request (another node, or this one after a restart) and some time later.
    let request = payment(
        Method::Card,
        1_200,
        OffsetDateTime::now_utc() + Span::minutes(15),
    );
    fake.drop_next_responses(1);
    let lost = first_node.start(&request).await.unwrap_err();
    assert!(matches!(lost, GatewayError::Unavailable(_)), "{lost:?}");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second_node = gateway_for(&fake, &fake.api_key);
    let again = second_node.start(&request).await.unwrap();
    assert_eq!(fake.sessions_created(), 1);
    assert_eq!(fake.session_ids(), vec![again.provider_ref]);
}

#[tokio::test]
async fn three_d_secure_requires_action_and_then_succeeds() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 5_000, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::ThreeDSecureThenSucceed)
        .unwrap();
    let waiting = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(waiting.signal, Some(PaymentSignal::RequiresAction));

    fake.complete_3ds(&started.provider_ref).unwrap();
    let done = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(done.signal, Some(PaymentSignal::Succeeded));
    assert_eq!(done.method_detail.as_deref(), Some("visa"));
}

#[tokio::test]
async fn a_declined_card_fails() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 800, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::Decline).unwrap();
    let snapshot = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Failed));
}

#[tokio::test]
async fn paypay_is_offered_alone_and_reported_by_name() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Paypay, 2_000, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::Succeed).unwrap();
    let snapshot = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Succeeded));
    assert_eq!(snapshot.method_detail.as_deref(), Some("paypay"));
}

#[tokio::test]
async fn konbini_shows_code_confirmation_voucher_and_expiry_then_is_paid() {
    let (fake, gateway) = fake_and_gateway().await;
    let now = OffsetDateTime::now_utc();
    let started = gateway
        .start(&payment(Method::Konbini, 3_300, now + Span::days(3)))
        .await
        .unwrap();
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .unwrap();
    let days = sent
        .param("payment_method_options[konbini][expires_after_days]")
        .unwrap();
    assert!(days == "3" || days == "4", "{days}");

    fake.pay(&started.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    let waiting = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(waiting.signal, Some(PaymentSignal::RequiresAction));
    let voucher = waiting.konbini.unwrap();
    assert_eq!(voucher.payment_code, "123456");
    assert_eq!(voucher.confirmation_number.as_deref(), Some("58581"));
    assert!(
        voucher
            .hosted_voucher_url
            .unwrap()
            .contains("/konbini/voucher/pi_")
    );
    let expected = konbini_expiry(OffsetDateTime::now_utc(), days.parse().unwrap());
    assert_eq!(
        voucher.expires_at.map(OffsetDateTime::unix_timestamp),
        Some(expected)
    );

    fake.konbini_paid(&started.provider_ref).unwrap();
    let paid = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(paid.signal, Some(PaymentSignal::Succeeded));
    assert_eq!(paid.konbini, None);
}

#[tokio::test]
async fn a_lapsed_konbini_voucher_is_expired() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    fake.konbini_voucher_expired(&started.provider_ref).unwrap();
    let snapshot = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Expired));
}

#[tokio::test]
async fn an_expired_session_is_expired() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.expire(&started.provider_ref).unwrap();
    let snapshot = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Expired));
}

#[tokio::test]
async fn cancel_expires_an_open_session_and_is_fine_twice() {
    let (_fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    gateway.cancel(&started.provider_ref).await.unwrap();
    let snapshot = gateway.retrieve(&started.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Expired));
    gateway.cancel(&started.provider_ref).await.unwrap();
}

#[tokio::test]
async fn cancel_stops_an_unpaid_konbini_voucher_and_refuses_a_paid_session() {
    let (fake, gateway) = fake_and_gateway().await;
    let konbini = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&konbini.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    gateway.cancel(&konbini.provider_ref).await.unwrap();
    let snapshot = gateway.retrieve(&konbini.provider_ref).await.unwrap();
    assert_eq!(snapshot.signal, Some(PaymentSignal::Canceled));
    assert!(
        fake.konbini_paid(&konbini.provider_ref).is_err(),
        "the voucher can no longer be paid"
    );

    let card = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&card.provider_ref, Outcome::Succeed).unwrap();
    let refused = gateway.cancel(&card.provider_ref).await.unwrap_err();
    assert!(matches!(refused, GatewayError::Refused(_)), "{refused:?}");
}

#[tokio::test]
async fn a_card_refund_succeeds_once_however_often_it_is_asked() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::Succeed).unwrap();

    let request = refund_of(&started.provider_ref, 500);
    let refund = gateway.refund(&request).await.unwrap();
    assert_eq!(refund.outcome, RefundOutcome::Succeeded);
    assert_eq!(refund.amount_yen, 500);
    assert_eq!(refund.refund_id, Some(request.refund_id));
    let again = gateway.refund(&request).await.unwrap();
    assert_eq!(again, refund);
    assert_eq!(fake.refunds_created(), 1);

    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/refunds")
        .unwrap();
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(request.idempotency_key.as_str())
    );
    assert_eq!(sent.param("amount"), Some("500"));

    let too_much = gateway
        .refund(&refund_of(&started.provider_ref, 800))
        .await
        .unwrap_err();
    assert!(
        matches!(&too_much, GatewayError::Refused(m) if m.contains("amount_too_large")),
        "{too_much:?}"
    );
}

#[tokio::test]
async fn a_konbini_refund_waits_for_the_payers_bank_details() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    fake.konbini_paid(&started.provider_ref).unwrap();
    let refund = gateway
        .refund(&refund_of(&started.provider_ref, 3_300))
        .await
        .unwrap();
    assert_eq!(refund.outcome, RefundOutcome::Pending);
}

#[tokio::test]
async fn nothing_paid_means_nothing_to_refund() {
    let (_fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    let refused = gateway
        .refund(&refund_of(&started.provider_ref, 100))
        .await
        .unwrap_err();
    assert!(matches!(refused, GatewayError::Refused(_)), "{refused:?}");
}

#[tokio::test]
async fn server_errors_and_silence_are_unavailable() {
    let (fake, gateway) = fake_and_gateway().await;
    fake.fail_next_requests(1);
    let failed = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap_err();
    assert!(matches!(failed, GatewayError::Unavailable(_)), "{failed:?}");
    assert_eq!(fake.sessions_created(), 0);

    // Nobody listens on this port any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let nowhere = StripeGateway::new(StripeConfig {
        api_base: Some(closed),
        ..StripeConfig::new(SecretString::from(fake.api_key.as_str()))
    })
    .unwrap();
    let silent = nowhere.retrieve("cs_test_1").await.unwrap_err();
    assert!(matches!(silent, GatewayError::Unavailable(_)), "{silent:?}");
}

#[tokio::test]
async fn a_wrong_key_is_refused_without_showing_the_key() {
    let (fake, _gateway) = fake_and_gateway().await;
    let wrong = gateway_for(&fake, "sk_test_wrong_secret_9999");
    let refused = wrong
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap_err();
    let GatewayError::Refused(message) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        !message.contains("9999") && !message.contains("sk_test"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_sessions_are_not_found_and_small_amounts_refused() {
    let (_fake, gateway) = fake_and_gateway().await;
    let missing = gateway.retrieve("cs_test_nothing_here").await.unwrap_err();
    assert!(matches!(missing, GatewayError::NotFound(_)), "{missing:?}");
    // Stripe's smallest JPY charge is ¥50.
    let small = gateway
        .start(&payment(Method::Card, 10, in_hours(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(&small, GatewayError::Refused(m) if m.contains("amount_too_small")),
        "{small:?}"
    );
}

// ------------------------------------------------------------------------------- webhooks

/// One delivery as the endpoint saw it: the `Stripe-Signature` header and the body.
type Received = (String, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers 500 to this many deliveries first.
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut fail = receiver.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    receiver
        .received
        .lock()
        .unwrap()
        .push((signature, body.to_vec()));
    StatusCode::OK
}

async fn webhook_receiver(fail_first: u32) -> (String, Receiver) {
    let receiver = Receiver {
        fail_first: Arc::new(Mutex::new(fail_first)),
        ..Receiver::default()
    };
    let app = axum::Router::new()
        .route("/hooks/stripe", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/stripe", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

#[tokio::test]
async fn a_genuine_delivery_reads_and_a_tampered_one_is_refused() {
    let (fake, gateway) = fake_and_gateway().await;
    let (url, receiver) = webhook_receiver(0).await;
    fake.configure_webhook(&url, WEBHOOK_SECRET);
    let request = payment(Method::Card, 1_200, in_hours(1));
    let started = gateway.start(&request).await.unwrap();
    fake.pay(&started.provider_ref, Outcome::Succeed).unwrap();
    assert!(fake.webhooks_idle(Duration::from_secs(5)).await);

    let now = OffsetDateTime::now_utc();
    let received = receiver.received.lock().unwrap().clone();
    let mut types = Vec::new();
    for (header, body) in &received {
        let event = gateway
            .read_webhook(header, body, WEBHOOK_SECRET, now)
            .unwrap();
        types.push(event.event_type.clone());
        if event.event_type == "checkout.session.completed" {
            let EventSubject::Payment(snapshot) = &event.subject else {
                panic!("{event:?}")
            };
            assert_eq!(snapshot.signal, Some(PaymentSignal::Succeeded));
            assert_eq!(snapshot.provider_ref, started.provider_ref);
            assert_eq!(snapshot.payment_id, Some(request.payment_id));
        }
        if event.event_type == "payment_intent.succeeded" {
            let EventSubject::Payment(snapshot) = &event.subject else {
                panic!("{event:?}")
            };
            assert!(snapshot.provider_ref.starts_with("pi_"));
            assert_eq!(snapshot.payment_id, Some(request.payment_id));
        }
        if event.event_type == "payment_intent.created" {
            assert_eq!(event.subject, EventSubject::Other, "not acted on");
        }
    }
    types.sort();
    assert_eq!(
        types,
        [
            "charge.succeeded",
            "checkout.session.completed",
            "payment_intent.created",
            "payment_intent.succeeded"
        ]
    );

    let (header, body) = &received[0];
    let mut changed = body.clone();
    changed.extend_from_slice(b" ");
    assert_eq!(
        gateway.read_webhook(header, &changed, WEBHOOK_SECRET, now),
        Err(WebhookError::Signature(SignatureError::Mismatch))
    );
    assert_eq!(
        gateway.read_webhook(header, body, "whsec_someone_else", now),
        Err(WebhookError::Signature(SignatureError::Mismatch))
    );
    assert_eq!(
        gateway.read_webhook(header, body, WEBHOOK_SECRET, now + Span::seconds(301)),
        Err(WebhookError::Signature(SignatureError::Stale))
    );
}

#[tokio::test]
async fn refused_deliveries_are_retried_and_events_can_be_sent_again() {
    let (fake, gateway) = fake_and_gateway().await;
    let (url, receiver) = webhook_receiver(1).await;
    fake.set_retry_policy(RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
    });
    fake.configure_webhook(&url, WEBHOOK_SECRET);
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.expire(&started.provider_ref).unwrap();
    assert!(fake.webhooks_idle(Duration::from_secs(5)).await);

    let events = fake.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "checkout.session.expired");
    let attempts: Vec<_> = fake
        .deliveries()
        .into_iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(200))]);

    fake.resend(&[&events[0].id]);
    assert!(fake.webhooks_idle(Duration::from_secs(5)).await);
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let now = OffsetDateTime::now_utc();
    let first = gateway
        .read_webhook(&received[0].0, &received[0].1, WEBHOOK_SECRET, now)
        .unwrap();
    let duplicate = gateway
        .read_webhook(&received[1].0, &received[1].1, WEBHOOK_SECRET, now)
        .unwrap();
    assert_eq!(
        first, duplicate,
        "the same event id and content: deduplicated downstream"
    );
    let EventSubject::Payment(snapshot) = first.subject else {
        panic!()
    };
    assert_eq!(snapshot.signal, Some(PaymentSignal::Expired));
}

#[tokio::test]
async fn a_refund_event_carries_our_refund_id() {
    let (fake, gateway) = fake_and_gateway().await;
    let started = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&started.provider_ref, Outcome::Succeed).unwrap();
    let request = refund_of(&started.provider_ref, 1_200);
    gateway.refund(&request).await.unwrap();

    let t = OffsetDateTime::now_utc().unix_timestamp();
    for event in fake
        .events()
        .iter()
        .filter(|e| e.event_type.contains("refund"))
    {
        let (body, header) = fake.signed_event(&event.id, WEBHOOK_SECRET, t).unwrap();
        let read = gateway
            .read_webhook(
                &header,
                body.as_bytes(),
                WEBHOOK_SECRET,
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        let EventSubject::Refund(refund) = read.subject else {
            panic!("{read:?}")
        };
        assert_eq!(
            refund.refund_id,
            Some(request.refund_id),
            "{}",
            event.event_type
        );
        assert_eq!(refund.outcome, RefundOutcome::Succeeded);
    }
}

#[tokio::test]
async fn every_event_the_fake_sends_reads() {
    let (fake, gateway) = fake_and_gateway().await;
    let card = gateway
        .start(&payment(Method::Card, 1_200, in_hours(1)))
        .await
        .unwrap();
    fake.pay(&card.provider_ref, Outcome::Decline).unwrap();
    fake.pay(&card.provider_ref, Outcome::ThreeDSecureThenSucceed)
        .unwrap();
    fake.complete_3ds(&card.provider_ref).unwrap();
    gateway
        .refund(&refund_of(&card.provider_ref, 200))
        .await
        .unwrap();

    let konbini = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&konbini.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    fake.konbini_paid(&konbini.provider_ref).unwrap();
    let pending = gateway
        .refund(&refund_of(&konbini.provider_ref, 3_300))
        .await
        .unwrap();
    fake.settle_refund(&pending.provider_refund_ref, true)
        .unwrap();

    let lapsed = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&lapsed.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    fake.konbini_voucher_expired(&lapsed.provider_ref).unwrap();

    let stopped = gateway
        .start(&payment(Method::Konbini, 3_300, in_hours(30)))
        .await
        .unwrap();
    fake.pay(&stopped.provider_ref, Outcome::KonbiniPending)
        .unwrap();
    gateway.cancel(&stopped.provider_ref).await.unwrap();

    let abandoned = gateway
        .start(&payment(Method::Paypay, 900, in_hours(1)))
        .await
        .unwrap();
    gateway.cancel(&abandoned.provider_ref).await.unwrap();

    let t = OffsetDateTime::now_utc().unix_timestamp();
    let mut seen = std::collections::BTreeSet::new();
    for event in fake.events() {
        let (body, header) = fake.signed_event(&event.id, WEBHOOK_SECRET, t).unwrap();
        let read = gateway.read_webhook(
            &header,
            body.as_bytes(),
            WEBHOOK_SECRET,
            OffsetDateTime::now_utc(),
        );
        let read = read.unwrap_or_else(|e| panic!("{}: {e}", event.event_type));
        assert_eq!(read.event_id, event.id);
        if read.subject != EventSubject::Other {
            seen.insert(read.event_type);
        }
    }
    let acted_on: Vec<_> = seen.iter().map(String::as_str).collect();
    assert_eq!(
        acted_on,
        [
            "charge.refunded",
            "checkout.session.async_payment_failed",
            "checkout.session.async_payment_succeeded",
            "checkout.session.completed",
            "checkout.session.expired",
            "payment_intent.canceled",
            "payment_intent.payment_failed",
            "payment_intent.requires_action",
            "payment_intent.succeeded",
            "refund.created",
            "refund.updated",
        ]
    );
}
