//! Paying when booking, over HTTP and the sandbox gateway, on both databases: a paid checkup is
//! a hold with its receivable until the sandbox payment (with a 3-D Secure challenge) confirms
//! it; an abandoned payment lets the hold run out, the seat goes to the waiting list and the
//! fee is cancelled; money that arrives after the seat was released never takes it back;
//! exemptions and paying at the counter book at once; nobody books or pays twice.

use madoguchi_domain::{AccountId, AccountKind, Email, ManualClock, ReservationId, Role};
use madoguchi_payments::{PaymentStatus, ReceivableStatus};
use madoguchi_storage::{
    PaymentFilter, RESERVATION_SOURCE, Receivable, RefundFilter, Reservation, ReservationStatus,
};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use madoguchi_usecases::payments::recovery;
use madoguchi_usecases::reservations::{fees, waitlist};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// A group cancer screening of 500 yen (at the counter too; free from 70 at the fiscal year's
/// end and for households on public assistance), once a fiscal year, held 15 minutes for an
/// online payment, with one session of `capacity` a week ahead and a waiting list that books
/// at once. Its slot id.
async fn paid_screening(app: &TestApp, code: &str, capacity: u16) -> anyhow::Result<String> {
    let admin = admin_token(app).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": code, "kind": "checkup", "name_ja": "がん検診（集団）", "name_en": "Cancer screening",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 48},
                "limit": {"max": 1, "period": {"kind": "fiscal_year"}},
                "hold_minutes": 15,
                "waitlist": {"mode": "promote"},
                "fee": {
                    "amount_yen": 500, "revenue_category": "checkup_fee", "counter_allowed": true,
                    "exemptions": [
                        {"code": "age70", "label_ja": "70歳以上の方", "label_en": "Aged 70 or over",
                         "rule": {"type": "age_at_least", "years": 70, "reference": "fiscal_year_end"}},
                        {"code": "welfare", "label_ja": "生活保護を受けている方", "label_en": "On public assistance",
                         "rule": {"type": "self_declared"}}
                    ]
                }
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id: uuid::Uuid = service["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|_| anyhow::anyhow!("service not created: {service}"))?;
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let start = madoguchi_tests::days::open_instant_ahead(7);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(
            &json!({"slots": [{"office_id": office, "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::hours(2)), "capacity": capacity}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot not added: {added}");
    let slots = app
        .storage
        .slots(
            app.tenant.id,
            madoguchi_domain::ServiceId(service_id),
            start,
            start + time::Duration::hours(1),
        )
        .await?;
    Ok(slots
        .first()
        .ok_or_else(|| anyhow::anyhow!("no slot"))?
        .id
        .to_string())
}

async fn account_of(app: &TestApp, email: &str) -> anyhow::Result<AccountId> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(app
        .storage
        .account_by_email(app.tenant.id, AccountKind::Resident, &email)
        .await?
        .id)
}

/// The one reservation of `account`.
async fn only_reservation(app: &TestApp, account: AccountId) -> anyhow::Result<Reservation> {
    let mut list = app
        .storage
        .reservations_of_account(app.tenant.id, account)
        .await?;
    anyhow::ensure!(list.len() == 1, "one reservation, not {}", list.len());
    Ok(list.remove(0))
}

async fn receivable_of(app: &TestApp, reservation: ReservationId) -> anyhow::Result<Receivable> {
    Ok(app
        .storage
        .receivable_by_source(app.tenant.id, RESERVATION_SOURCE, &reservation.to_string())
        .await?)
}

/// Books `slot` through the resident's form, paying online by card: the answer is the
/// redirect to the sandbox's payment page.
async fn book_paying_by_card(
    app: &TestApp,
    client: &reqwest::Client,
    slot: &str,
) -> anyhow::Result<reqwest::Response> {
    Ok(book_paying_by_card_twice(app, client, slot, false).await?.0)
}

/// [`book_paying_by_card`], and with `twice` the same form sent a second time (a double
/// click, a reload): both answers.
async fn book_paying_by_card_twice(
    app: &TestApp,
    client: &reqwest::Client,
    slot: &str,
    twice: bool,
) -> anyhow::Result<(reqwest::Response, Option<reqwest::Response>)> {
    let form = client
        .get(app.at(&format!("/reservations/book/{slot}")))
        .send()
        .await?
        .text()
        .await?;
    anyhow::ensure!(form.contains("¥500"), "the form shows the fee");
    anyhow::ensure!(
        form.contains("name=\"payment\" value=\"card\"") && form.contains("value=\"counter\""),
        "the form asks how to pay"
    );
    let fields = [
        ("csrf_token", csrf_from(&form)),
        ("idempotency_key", hidden(&form, "idempotency_key")),
        ("payment", "card".to_owned()),
    ];
    let send = || {
        client
            .post(app.at(&format!("/reservations/book/{slot}")))
            .form(&fields)
            .send()
    };
    let first = send().await?;
    let second = if twice { Some(send().await?) } else { None };
    Ok((first, second))
}

/// Chooses `outcome` on the sandbox's payment page at `page_url`; the redirect it answers.
async fn sandbox_choose(
    client: &reqwest::Client,
    page_url: &str,
    outcome: &str,
) -> anyhow::Result<reqwest::Response> {
    let page = client.get(page_url).send().await?;
    anyhow::ensure!(page.status() == 200, "sandbox page: {}", page.status());
    let html = page.text().await?;
    Ok(client
        .post(page_url)
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("outcome", outcome),
        ])
        .send()
        .await?)
}

/// Waits (the job runner delivers the sandbox's webhook) until `done` holds.
async fn eventually<F, Fut>(what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    for _ in 0..150 {
        if done().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

/// Every account's debits equal its credits over the whole ledger.
async fn ledger_balances(app: &TestApp) -> anyhow::Result<()> {
    let through = madoguchi_domain::tokyo::to_tokyo(OffsetDateTime::now_utc()).date()
        + time::Duration::days(1);
    let rows = app
        .storage
        .trial_balance(app.tenant.id, None, through)
        .await?;
    let debits: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credits: i64 = rows.iter().map(|r| r.credit_yen).sum();
    anyhow::ensure!(debits == credits && debits > 0, "trial balance: {rows:?}");
    Ok(())
}

async fn actions(
    app: &TestApp,
    prefix: &str,
) -> anyhow::Result<Vec<madoguchi_storage::AuditEntry>> {
    Ok(app
        .storage
        .list_audit(
            app.tenant.id,
            &madoguchi_storage::AuditFilter {
                action_prefix: Some(prefix.to_owned()),
                limit: 100,
                ..madoguchi_storage::AuditFilter::default()
            },
        )
        .await?)
}

/// A later instant for the sweeps, as the maintenance pass would see it then.
fn later_clock(minutes: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
    ))
}

async fn a_paid_checkup_is_held_until_its_sandbox_payment_confirms_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let slot = paid_screening(&app, "gan-paid", 2).await?;
    let (email, client) = signed_in_resident(&app).await?;
    let account = account_of(&app, &email).await?;

    // Booking sends the resident straight on to the payment page; the seat is a hold. The same
    // form sent twice books once and goes on to the same payment.
    let (booked, again) = book_paying_by_card_twice(&app, &client, &slot, true).await?;
    assert_eq!(booked.status(), 303);
    let pay_page = location(&booked);
    assert!(
        pay_page.starts_with(&app.at("/sandbox/pay/")),
        "to the sandbox: {pay_page}"
    );
    let again = again.expect("sent twice");
    assert_eq!(location(&again), pay_page, "the same payment page");
    let held = only_reservation(&app, account).await?;
    assert_eq!(held.status, ReservationStatus::Held);
    let until = held.hold_expires_at.expect("a hold has an end");
    let minutes = (until - held.created_at).whole_minutes();
    assert_eq!(minutes, 15, "held for the service's hold_minutes");
    let receivable = receivable_of(&app, held.id).await?;
    assert_eq!(receivable.status, ReceivableStatus::Open);
    assert_eq!(receivable.assessed_yen, 500);
    assert_eq!(receivable.payer_account, Some(account));
    let payments = app
        .storage
        .list_payments(
            app.tenant.id,
            &PaymentFilter {
                receivable: Some(receivable.id),
                limit: 10,
                ..PaymentFilter::default()
            },
        )
        .await?;
    assert_eq!(payments.len(), 1, "one payment in flight");
    assert_eq!(
        payments[0].pay_by,
        Some(until),
        "payable while the hold lasts"
    );

    // The reservation's page says what is owed, and offers no "confirm" for a paid hold.
    let detail = client
        .get(app.at(&format!("/my/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        detail.contains("お支払いをお待ちしています"),
        "awaiting payment"
    );
    assert!(!detail.contains(&format!("/my/reservations/{}/confirm", held.id)));

    // The card asks for 3-D Secure; passed, the provider sends the payer to the result page.
    let challenged = sandbox_choose(&client, &pay_page, "challenge").await?;
    assert_eq!(challenged.status(), 303);
    let passed = sandbox_choose(&client, &pay_page, "pass_challenge").await?;
    assert_eq!(passed.status(), 303);
    assert_eq!(
        location(&passed),
        app.at(&format!("/payments/{}", payments[0].id)),
        "back to the payment's result page"
    );

    // The sandbox's webhook (delivered by the job runner) confirms the hold.
    eventually("the hold confirmed", || async {
        Ok(app
            .storage
            .reservation(app.tenant.id, held.id)
            .await?
            .status
            == ReservationStatus::Confirmed)
    })
    .await?;
    let paid = receivable_of(&app, held.id).await?;
    assert_eq!(paid.status, ReceivableStatus::Paid);
    assert_eq!(paid.paid_yen, 500);
    ledger_balances(&app).await?;
    let confirmed = actions(&app, "reservation.hold_confirmed").await?;
    assert_eq!(confirmed.len(), 1, "confirmed once");
    let booked_entry = actions(&app, "reservation.booked").await?;
    assert_eq!(booked_entry[0].details["fee"], "online");

    // A second report of the same success changes nothing.
    let scope = app
        .state
        .scope(app.tenant.id, madoguchi_usecases::Actor::System);
    let again =
        fees::payment_succeeded(&app.state.reservations(), &scope, payments[0].id, true).await?;
    assert_eq!(again, fees::FeePaid::AlreadyConfirmed);
    assert_eq!(actions(&app, "reservation.hold_confirmed").await?.len(), 1);

    // Paying twice is refused, and so is booking the same session again.
    let detail = client
        .get(app.at(&format!("/my/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(detail.contains("¥500のお支払いを受け付けました"), "paid");
    let twice = client
        .post(app.at(&format!("/my/reservations/{}/pay", held.id)))
        .form(&[
            ("csrf_token", csrf_from(&detail).as_str()),
            ("method", "card"),
        ])
        .send()
        .await?;
    assert_eq!(twice.status(), 409);
    let rebooked = book_paying_by_card(&app, &client, &slot).await?;
    assert_eq!(rebooked.status(), 409, "once a fiscal year");
    assert!(
        rebooked.text().await?.contains("上限"),
        "the limit is named"
    );
    let receivables = app
        .storage
        .list_receivables(
            app.tenant.id,
            &madoguchi_storage::ReceivableFilter {
                payer_account: Some(account),
                limit: 10,
                ..madoguchi_storage::ReceivableFilter::default()
            },
        )
        .await?;
    assert_eq!(receivables.len(), 1, "one receivable for one reservation");
    assert_eq!(
        app.storage
            .list_payments(
                app.tenant.id,
                &PaymentFilter {
                    receivable: Some(paid.id),
                    limit: 10,
                    ..PaymentFilter::default()
                },
            )
            .await?
            .len(),
        1,
        "one payment"
    );

    // Cancelling before the deadline keeps the money for the office to refund, and says so.
    let ask = client
        .get(app.at(&format!("/my/reservations/{}/cancel", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(ask.contains("返金は窓口または会計課からご連絡します"));
    let cancelled = client
        .post(app.at(&format!("/my/reservations/{}/cancel", held.id)))
        .form(&[("csrf_token", csrf_from(&ask).as_str())])
        .send()
        .await?;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(
        receivable_of(&app, held.id).await?.status,
        ReceivableStatus::Paid,
        "paid stays paid until refunded"
    );
    Ok(())
}
on_both_backends!(
    a_paid_checkup_is_held_until_its_sandbox_payment_confirms_it,
    a_paid_checkup_is_held_until_its_sandbox_payment_confirms_it
);

async fn an_abandoned_payment_gives_the_seat_to_the_waiting_list_and_cancels_the_fee(
    app: TestApp,
) -> anyhow::Result<()> {
    let slot = paid_screening(&app, "gan-abandoned", 1).await?;
    let (email, client) = signed_in_resident(&app).await?;
    let account = account_of(&app, &email).await?;
    let booked = book_paying_by_card(&app, &client, &slot).await?;
    assert_eq!(booked.status(), 303);
    let held = only_reservation(&app, account).await?;

    // Someone waits for the full session.
    let waiting = resident(&app).await?;
    let joined = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/slots/{slot}/waitlist")))
        .bearer_auth(&waiting.token)
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(joined.status(), 201);

    // One payment in flight: another method is refused while the first is under way.
    let detail = client
        .get(app.at(&format!("/my/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    let other = client
        .post(app.at(&format!("/my/reservations/{}/pay", held.id)))
        .form(&[
            ("csrf_token", csrf_from(&detail).as_str()),
            ("method", "paypay"),
        ])
        .send()
        .await?;
    assert_eq!(other.status(), 409, "a payment is in progress");

    // The resident leaves the payment page. Sixteen minutes later, as the maintenance sweep
    // runs: the hold expires, the provider's page is closed, then the fee is cancelled.
    let later = later_clock(16);
    let r = app.state.reservations();
    assert_eq!(
        fees::release_unpaid(&r, later.clone(), 100).await?,
        0,
        "not while a payment is in flight"
    );
    assert_eq!(app.storage.expire_holds(later_now(&later)).await?, 1);
    let (_, succeeded) = recovery::resolve_unknown_reporting(
        &*app.storage,
        &*app.state.gateways,
        later.clone(),
        recovery::QUIET_FOR,
        100,
    )
    .await?;
    assert!(succeeded.is_empty());
    let receivable = receivable_of(&app, held.id).await?;
    let payment = &app
        .storage
        .list_payments(
            app.tenant.id,
            &PaymentFilter {
                receivable: Some(receivable.id),
                limit: 10,
                ..PaymentFilter::default()
            },
        )
        .await?[0];
    assert_eq!(
        payment.status,
        PaymentStatus::Expired,
        "closed at the provider"
    );
    assert_eq!(fees::release_unpaid(&r, later.clone(), 100).await?, 1);
    assert_eq!(
        receivable_of(&app, held.id).await?.status,
        ReceivableStatus::Cancelled
    );
    assert_eq!(
        fees::release_unpaid(&r, later.clone(), 100).await?,
        0,
        "once"
    );
    let cancelled = actions(&app, "receivable.cancelled").await?;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].details["reservation"], held.id.to_string());

    // The seat goes to the one waiting, who owes the fee (online or at the counter).
    assert_eq!(waitlist::promote_due(&r, later.clone()).await?, 1);
    let promoted = only_reservation(&app, waiting.id).await?;
    assert_eq!(promoted.status, ReservationStatus::Confirmed);
    let owed = receivable_of(&app, promoted.id).await?;
    assert_eq!(owed.status, ReceivableStatus::Open);
    assert_eq!(owed.assessed_yen, 500);
    let first = app.storage.reservation(app.tenant.id, held.id).await?;
    assert_eq!(first.status, ReservationStatus::Expired);
    let seat = app.storage.slot(app.tenant.id, promoted.slot_id).await?;
    assert_eq!(seat.taken, 1, "one seat, one reservation");
    ledger_balances(&app).await?;

    // The expired reservation's page says nothing is owed, and offers no payment.
    let page = client
        .get(app.at(&format!("/my/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("お支払いの必要はありません"));
    assert!(!page.contains("/pay\""));
    Ok(())
}
on_both_backends!(
    an_abandoned_payment_gives_the_seat_to_the_waiting_list_and_cancels_the_fee,
    an_abandoned_payment_gives_the_seat_to_the_waiting_list_and_cancels_the_fee
);

fn later_now(clock: &ManualClock) -> OffsetDateTime {
    madoguchi_domain::Clock::now(clock)
}

async fn money_arriving_after_the_seat_was_released_never_takes_it_back(
    app: TestApp,
) -> anyhow::Result<()> {
    let slot = paid_screening(&app, "gan-late", 1).await?;
    let (email, client) = signed_in_resident(&app).await?;
    let account = account_of(&app, &email).await?;
    let booked = book_paying_by_card(&app, &client, &slot).await?;
    let pay_page = location(&booked);
    let held = only_reservation(&app, account).await?;
    let waiting = resident(&app).await?;
    let joined = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/slots/{slot}/waitlist")))
        .bearer_auth(&waiting.token)
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(joined.status(), 201);

    // The hold runs out and the seat goes to the one waiting while the payment page is open.
    let later = later_clock(16);
    let r = app.state.reservations();
    assert_eq!(app.storage.expire_holds(later_now(&later)).await?, 1);
    assert_eq!(waitlist::promote_due(&r, later.clone()).await?, 1);
    assert_eq!(fees::release_unpaid(&r, later.clone(), 100).await?, 0);

    // Then the provider reports the payment (a slow card network): the money is kept on the
    // receivable, the seat stays with the other resident, finance is told by the audit log.
    let paid = sandbox_choose(&client, &pay_page, "succeed").await?;
    assert_eq!(paid.status(), 303);
    eventually("the late payment recorded", || async {
        Ok(receivable_of(&app, held.id).await?.status == ReceivableStatus::Paid)
    })
    .await?;
    eventually("the late payment audited", || async {
        Ok(!actions(&app, "reservation.paid_after_release")
            .await?
            .is_empty())
    })
    .await?;
    let first = app.storage.reservation(app.tenant.id, held.id).await?;
    assert_eq!(first.status, ReservationStatus::Expired, "not taken back");
    let promoted = only_reservation(&app, waiting.id).await?;
    assert_eq!(promoted.status, ReservationStatus::Confirmed);
    let seat = app.storage.slot(app.tenant.id, promoted.slot_id).await?;
    assert_eq!(seat.taken, 1, "the seat is not double-booked");
    ledger_balances(&app).await?;
    let page = client
        .get(app.at(&format!("/my/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("返金は、窓口または会計課からご連絡します"));

    // Staff see it as a refund to request, and request it (finance decides).
    let staff = staff_client(&app, Role::Admin).await?;
    let detail = staff
        .get(app.at(&format!("/staff/reservations/{}", held.id)))
        .send()
        .await?
        .text()
        .await?;
    assert!(detail.contains(&format!("/staff/reservations/{}/refund", held.id)));
    let requested = staff
        .post(app.at(&format!("/staff/reservations/{}/refund", held.id)))
        .form(&[
            ("csrf_token", csrf_from(&detail).as_str()),
            ("reason", "支払期限後の入金のため"),
        ])
        .send()
        .await?;
    assert_eq!(requested.status(), 303);
    let refunds = app
        .storage
        .list_refunds(
            app.tenant.id,
            &RefundFilter {
                limit: 10,
                ..RefundFilter::default()
            },
        )
        .await?;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount_yen, 500);
    Ok(())
}
on_both_backends!(
    money_arriving_after_the_seat_was_released_never_takes_it_back,
    money_arriving_after_the_seat_was_released_never_takes_it_back
);

async fn reserve(app: &TestApp, token: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

async fn exemptions_and_the_counter_book_at_once_and_a_paid_hold_is_confirmed_only_by_paying(
    app: TestApp,
) -> anyhow::Result<()> {
    let slot = paid_screening(&app, "gan-api", 5).await?;

    // 70 or older at the end of the fiscal year: exempt, booked, nothing to pay.
    let senior = resident(&app).await?;
    let (status, body) = reserve(
        &app,
        &senior.token,
        json!({"slot_id": slot, "applicant": {"birth_date": "1950-01-01"},
               "payment": {"settle": "exempt", "exemption": "age70"}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "confirmed");
    let id = ReservationId(body["id"].as_str().unwrap_or_default().parse()?);
    assert!(
        app.storage
            .receivable_by_source(app.tenant.id, RESERVATION_SOURCE, &id.to_string())
            .await
            .is_err(),
        "no receivable"
    );

    // A declared exemption books too, marked for staff to check; the audit names its code.
    let declared = resident(&app).await?;
    let (status, body) = reserve(
        &app,
        &declared.token,
        json!({"slot_id": slot, "payment": {"settle": "exempt", "exemption": "welfare"}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let stored = only_reservation(&app, declared.id).await?;
    assert_eq!(stored.details["fee"]["staff_check"], true);
    let booked = actions(&app, "reservation.booked").await?;
    assert!(
        booked
            .iter()
            .any(|e| e.details["exemption"] == "welfare" && e.details["staff_check"] == true),
        "{booked:?}"
    );

    // Too young for the age exemption, or without a date of birth: refused, nothing booked.
    let young = resident(&app).await?;
    let (status, body) = reserve(
        &app,
        &young.token,
        json!({"slot_id": slot, "applicant": {"birth_date": "1990-01-01"},
               "payment": {"settle": "exempt", "exemption": "age70"}}),
    )
    .await?;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "exemption_not_eligible");
    let (status, body) = reserve(
        &app,
        &young.token,
        json!({"slot_id": slot, "payment": {"settle": "exempt", "exemption": "age70"}}),
    )
    .await?;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "birth_date_required");
    let (status, body) = reserve(
        &app,
        &young.token,
        json!({"slot_id": slot, "payment": {"settle": "exempt", "exemption": "mayor"}}),
    )
    .await?;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "payment_method_not_offered");
    assert!(
        app.storage
            .reservations_of_account(app.tenant.id, young.id)
            .await?
            .is_empty()
    );

    // At the counter: booked at once, the receivable open for the day; cancelled with it.
    let (status, body) = reserve(
        &app,
        &young.token,
        json!({"slot_id": slot, "payment": {"settle": "counter"}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "confirmed");
    let counter = ReservationId(body["id"].as_str().unwrap_or_default().parse()?);
    assert_eq!(
        receivable_of(&app, counter).await?.status,
        ReceivableStatus::Open
    );
    let cancelled = reqwest::Client::new()
        .delete(app.at(&format!("/api/v1/reservations/{counter}")))
        .bearer_auth(&young.token)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        receivable_of(&app, counter).await?.status,
        ReceivableStatus::Cancelled,
        "nothing paid: cancelled with the seat"
    );

    // Online (the default): a hold that asking cannot confirm; only its payment can.
    let online = resident(&app).await?;
    let (status, body) = reserve(&app, &online.token, json!({"slot_id": slot})).await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "held");
    let hold = body["id"].as_str().unwrap_or_default().to_owned();
    let confirm = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/reservations/{hold}/confirm")))
        .bearer_auth(&online.token)
        .send()
        .await?;
    assert_eq!(confirm.status(), 409);
    let refused: Value = confirm.json().await?;
    assert_eq!(refused["error"]["code"], "payment_required");
    ledger_balances(&app).await?;
    Ok(())
}
on_both_backends!(
    exemptions_and_the_counter_book_at_once_and_a_paid_hold_is_confirmed_only_by_paying,
    exemptions_and_the_counter_book_at_once_and_a_paid_hold_is_confirmed_only_by_paying
);
