//! What happens around and after booking, over HTTP on both backends: the waiting list
//! (promotion and offers), changing a reservation, staff booking for a caller, the day sheet,
//! attendance and the no-show suspension, and where a remote consultation is joined from.

use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{AccountId, ReservationId, Role, SlotId};
use madoguchi_storage::{NewReservation, RemoteJoin};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Creates a service with `rules` (merged over a plain window and deadline) and returns its id.
async fn service(
    app: &TestApp,
    admin: &str,
    code: &str,
    kind: &str,
    extra: Value,
) -> anyhow::Result<String> {
    let mut rules = json!({
        "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
        "cancellation": {"deadline_hours_before": 24}
    });
    if let (Some(rules), Some(extra)) = (rules.as_object_mut(), extra.as_object()) {
        rules.extend(extra.clone());
    }
    let created: Value = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({"code": code, "kind": kind, "name_ja": "子育て相談", "name_en": "Parenting consultation", "rules": rules}))
        .send()
        .await?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("service not created: {created}"))
}

/// Adds one slot `days` ahead at the first office; returns its id.
async fn slot(
    app: &TestApp,
    admin: &str,
    service: &str,
    start: OffsetDateTime,
    capacity: u16,
) -> anyhow::Result<String> {
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let client = reqwest::Client::new();
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service}/slots")))
        .bearer_auth(admin)
        .json(
            &json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::minutes(30)), "capacity": capacity}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot added: {added}");
    let service_id = madoguchi_domain::ServiceId(uuid::Uuid::parse_str(service)?);
    let slots = app
        .storage
        .slots(
            app.tenant.id,
            service_id,
            start,
            start + time::Duration::seconds(1),
        )
        .await?;
    slots
        .first()
        .map(|s| s.id.to_string())
        .ok_or_else(|| anyhow::anyhow!("slot not stored"))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(app.at(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn get(app: &TestApp, token: &str, path: &str) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .get(app.at(path))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn cancel(app: &TestApp, token: &str, id: &str) -> anyhow::Result<u16> {
    Ok(reqwest::Client::new()
        .delete(app.at(&format!("/api/v1/reservations/{id}")))
        .bearer_auth(token)
        .send()
        .await?
        .status()
        .as_u16())
}

/// Waits for a mail to `to` whose subject contains `subject`.
async fn mail_with_subject(app: &TestApp, to: &str, subject: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(mail) = app.mail.wait_for(to, Duration::from_millis(200)).await
            && mail.subject().contains(subject)
        {
            return Ok(mail.text());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no mail to {to} with “{subject}”"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stable error code of an error answer.
fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

async fn a_cancellation_promotes_the_first_in_line_and_tells_them(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = service(
        &app,
        &admin,
        "kosodate",
        "consultation",
        json!({"waitlist": {"mode": "promote"}}),
    )
    .await?;
    let slot = slot(
        &app,
        &admin,
        &service,
        madoguchi_tests::days::open_instant_ahead(5),
        1,
    )
    .await?;
    let holder = resident(&app).await?.token;
    let Resident {
        email: first_email,
        token: first,
        ..
    } = resident(&app).await?;
    let second = resident(&app).await?.token;

    let (status, body) = post(
        &app,
        &first,
        &format!("/api/v1/slots/{slot}/waitlist"),
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, code(&body)),
        (409, Some("waitlist_seats_left")),
        "a slot with seats is booked, not waited for"
    );
    let (status, booked) = post(
        &app,
        &holder,
        "/api/v1/reservations",
        json!({"slot_id": slot}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let (status, place) = post(
        &app,
        &first,
        &format!("/api/v1/slots/{slot}/waitlist"),
        json!({}),
    )
    .await?;
    assert_eq!(
        (status, place["position"].as_i64()),
        (201, Some(1)),
        "{place}"
    );
    let (status, again) = post(
        &app,
        &first,
        &format!("/api/v1/slots/{slot}/waitlist"),
        json!({}),
    )
    .await?;
    assert_eq!((status, code(&again)), (409, Some("already_waiting")));
    let (status, place) = post(
        &app,
        &second,
        &format!("/api/v1/slots/{slot}/waitlist"),
        json!({}),
    )
    .await?;
    assert_eq!((status, place["position"].as_i64()), (201, Some(2)));

    assert_eq!(cancel(&app, &holder, &id_of(&booked)).await?, 200);
    let (_, mine) = get(&app, &first, "/api/v1/me/reservations").await?;
    let promoted = mine
        .as_array()
        .and_then(|list| list.first())
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(promoted["slot_id"], slot.as_str());
    assert_eq!(promoted["status"], "confirmed", "booked at once: {mine}");
    let text = mail_with_subject(&app, &first_email, "キャンセル待ち").await?;
    assert!(text.contains("確定"), "{text}");
    let (_, waiting) = get(&app, &second, "/api/v1/me/waitlist").await?;
    assert_eq!(waiting[0]["position"], 1, "the second moved up: {waiting}");
    let stored = app
        .storage
        .slot(app.tenant.id, SlotId(uuid::Uuid::parse_str(&slot)?))
        .await?;
    assert_eq!(
        stored.taken, 1,
        "the seat went to the waiting list, not beyond"
    );
    Ok(())
}
on_both_backends!(
    a_cancellation_promotes_the_first_in_line_and_tells_them,
    a_cancellation_promotes_the_first_in_line_and_tells_them
);

async fn an_offered_seat_is_held_until_the_resident_takes_it(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = service(
        &app,
        &admin,
        "kosodate-offer",
        "consultation",
        json!({"waitlist": {"mode": "offer", "respond_hours": 12}}),
    )
    .await?;
    let slot = slot(
        &app,
        &admin,
        &service,
        madoguchi_tests::days::open_instant_ahead(5),
        1,
    )
    .await?;
    let holder = resident(&app).await?.token;
    let Resident {
        email,
        token: waiting,
        ..
    } = resident(&app).await?;
    let (_, booked) = post(
        &app,
        &holder,
        "/api/v1/reservations",
        json!({"slot_id": slot}),
    )
    .await?;
    let (status, _) = post(
        &app,
        &waiting,
        &format!("/api/v1/slots/{slot}/waitlist"),
        json!({}),
    )
    .await?;
    assert_eq!(status, 201);
    assert_eq!(cancel(&app, &holder, &id_of(&booked)).await?, 200);
    let (_, mine) = get(&app, &waiting, "/api/v1/me/reservations").await?;
    let offer = mine[0].clone();
    assert_eq!(offer["status"], "held", "{mine}");
    let until = OffsetDateTime::parse(offer["hold_expires_at"].as_str().unwrap_or(""), &Rfc3339)?;
    let hours = (until - OffsetDateTime::now_utc()).whole_minutes() as f64 / 60.0;
    assert!((11.9..=12.0).contains(&hours), "held for 12 hours: {hours}");
    mail_with_subject(&app, &email, "空き").await?;
    let (status, taken) = post(
        &app,
        &waiting,
        &format!("/api/v1/reservations/{}/confirm", id_of(&offer)),
        json!({}),
    )
    .await?;
    assert_eq!((status, taken["status"].as_str()), (200, Some("confirmed")));
    Ok(())
}
on_both_backends!(
    an_offered_seat_is_held_until_the_resident_takes_it,
    an_offered_seat_is_held_until_the_resident_takes_it
);

async fn a_resident_changes_the_time_and_the_old_seat_is_freed(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service_id = service(&app, &admin, "soudan", "consultation", json!({})).await?;
    let other_service = service(&app, &admin, "soudan2", "consultation", json!({})).await?;
    let base = madoguchi_tests::days::open_instant_ahead(6);
    let first = slot(&app, &admin, &service_id, base, 1).await?;
    let second = slot(
        &app,
        &admin,
        &service_id,
        base + time::Duration::hours(2),
        1,
    )
    .await?;
    let full = slot(
        &app,
        &admin,
        &service_id,
        base + time::Duration::hours(4),
        1,
    )
    .await?;
    let elsewhere = slot(&app, &admin, &other_service, base, 1).await?;
    let Resident { email, token, .. } = resident(&app).await?;
    let other = resident(&app).await?.token;
    let (_, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": first}),
    )
    .await?;
    post(
        &app,
        &other,
        "/api/v1/reservations",
        json!({"slot_id": full}),
    )
    .await?;
    let path = format!("/api/v1/reservations/{}/change", id_of(&booked));

    let (status, body) = post(&app, &token, &path, json!({"slot_id": full})).await?;
    assert_eq!((status, code(&body)), (409, Some("slot_full")));
    let (status, body) = post(&app, &token, &path, json!({"slot_id": elsewhere})).await?;
    assert_eq!(
        (status, code(&body)),
        (409, Some("change_to_other_service"))
    );
    let (status, moved) = post(&app, &token, &path, json!({"slot_id": second})).await?;
    assert_eq!(
        (status, moved["slot_id"].as_str()),
        (200, Some(second.as_str())),
        "{moved}"
    );
    let seats = |id: &str| {
        let storage = app.storage.clone();
        let tenant = app.tenant.id;
        let id = SlotId(uuid::Uuid::parse_str(id).unwrap_or_default());
        async move { storage.slot(tenant, id).await.map(|s| s.taken) }
    };
    assert_eq!(
        (seats(&first).await?, seats(&second).await?),
        (0, 1),
        "one seat moved"
    );
    mail_with_subject(&app, &email, "変わりました").await?;
    Ok(())
}
on_both_backends!(
    a_resident_changes_the_time_and_the_old_seat_is_freed,
    a_resident_changes_the_time_and_the_old_seat_is_freed
);

/// A confirmed reservation of a slot that started an hour ago, made directly in storage: the
/// window would (rightly) refuse booking it over HTTP now.
async fn past_reservation(
    app: &TestApp,
    admin: &str,
    service: &str,
    account: AccountId,
    minutes_ago: i64,
) -> anyhow::Result<String> {
    let slot = slot(
        app,
        admin,
        service,
        OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago),
        5,
    )
    .await?;
    let outcome = app
        .storage
        .reserve(
            app.tenant.id,
            &NewReservation {
                slot_id: SlotId(uuid::Uuid::parse_str(&slot)?),
                account_id: Some(account),
                idempotency_key: None,
                hold_until: None,
                details: json!({"answers": {}}),
                limit: None,
                booked_by: None,
                remote_join: None,
                fingerprint: None,
                notices: Vec::new(),
                reference: None,
            },
            madoguchi_storage::now_utc(),
        )
        .await?;
    Ok(outcome.reservation().id.to_string())
}

async fn three_no_shows_suspend_online_booking_until_staff_lift_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service_id = service(&app, &admin, "kenko-soudan", "consultation", json!({})).await?;
    let Resident { email, token, .. } = resident(&app).await?;
    let account = app
        .storage
        .account_by_email(
            app.tenant.id,
            madoguchi_domain::AccountKind::Resident,
            &madoguchi_domain::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?
        .id;
    let future = slot(
        &app,
        &admin,
        &service_id,
        madoguchi_tests::days::open_instant_ahead(3),
        1,
    )
    .await?;
    let (status, ahead) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": future}),
    )
    .await?;
    assert_eq!(status, 201);
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/v1/reservations/{}/attendance", id_of(&ahead)),
        json!({"attendance": "no_show"}),
    )
    .await?;
    assert_eq!(
        status, 422,
        "attendance is marked on the day, not ahead: {body}"
    );
    let finance = app.login(Role::Finance).clone();
    let finance_token = api_token(&app, "staff", &finance.email, &finance.password).await?;

    let mut last = Value::Null;
    for n in 0..3 {
        let id = past_reservation(&app, &admin, &service_id, account, 60 + n * 40).await?;
        let (status, body) = post(
            &app,
            &admin,
            &format!("/api/v1/reservations/{id}/attendance"),
            json!({"attendance": "no_show"}),
        )
        .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["reservation"]["status"], "no_show");
        if n < 2 {
            assert!(body["suspension"].is_null(), "not yet: {body}");
        }
        last = body;
        if n == 0 {
            // Finance does not handle reservations.
            let (status, _) = post(
                &app,
                &finance_token,
                &format!("/api/v1/reservations/{id}/attendance"),
                json!({"attendance": "attended"}),
            )
            .await?;
            assert_eq!(status, 403);
        }
    }
    let suspension = &last["suspension"];
    assert_eq!(suspension["no_shows"], 3, "{last}");
    // The office of the no-show is recorded: its staff may lift the suspension.
    let first_office = app.storage.list_offices(app.tenant.id).await?[0].id;
    assert_eq!(suspension["office_id"], first_office.to_string(), "{last}");
    let later = slot(
        &app,
        &admin,
        &service_id,
        madoguchi_tests::days::open_instant_ahead(4),
        1,
    )
    .await?;
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": later}),
    )
    .await?;
    assert_eq!((status, code(&body)), (409, Some("booking_suspended")));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("窓口"),
        "{body}"
    );
    let (_, listed) = get(&app, &admin, "/api/v1/suspensions").await?;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let lift_path = format!(
        "/api/v1/suspensions/{}/lift",
        suspension["id"].as_str().unwrap_or("")
    );
    let (status, _) = post(&app, &admin, &lift_path, json!({"reason": ""})).await?;
    assert_eq!(status, 422, "a reason is required");
    let (status, lifted) = post(
        &app,
        &admin,
        &lift_path,
        json!({"reason": "電話で事情を確認"}),
    )
    .await?;
    assert_eq!(status, 200, "{lifted}");
    assert!(lifted["lifted_at"].is_string());
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": later}),
    )
    .await?;
    assert_eq!(status, 201, "booking again after the lift: {body}");
    Ok(())
}
on_both_backends!(
    three_no_shows_suspend_online_booking_until_staff_lift_it,
    three_no_shows_suspend_online_booking_until_staff_lift_it
);

async fn staff_book_for_a_caller_and_see_them_on_the_day_sheet(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service_id = service(
        &app,
        &admin,
        "tokutei-kenshin",
        "checkup",
        json!({"limit": {"max": 1, "period": {"kind": "fiscal_year"}}, "eligibility": {"age_min": 40}}),
    )
    .await?;
    let start = madoguchi_tests::days::open_instant_ahead(2);
    let slot_id = slot(&app, &admin, &service_id, start, 10).await?;
    let caller = |email: Option<&str>| {
        json!({"slot_id": slot_id, "caller": {
            "name_kanji": "山田　太郎", "name_kana": "ヤマダ　タロウ", "birth_date": "1950-02-03",
            "phone": "03-1234-5678", "email": email}})
    };
    let (status, body) = post(&app, &admin, "/api/v1/proxy-reservations", caller(None)).await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["account_matched"], false);
    assert_eq!(body["reservation"]["booked_by_staff"], true);

    let mut bad = caller(None);
    bad["caller"]["name_kana"] = "Yamada".into();
    let (status, body) = post(&app, &admin, "/api/v1/proxy-reservations", bad).await?;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"][0]["field"], "caller.name_kana",
        "{body}"
    );
    let mut young = caller(None);
    young["caller"]["birth_date"] = "2000-01-01".into();
    let (status, body) = post(&app, &admin, "/api/v1/proxy-reservations", young).await?;
    assert_eq!((status, code(&body)), (422, Some("ineligible_age")));

    // A caller who has an account: the booking is theirs, with their limit.
    let Resident { email, token, .. } = resident(&app).await?;
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/proxy-reservations",
        caller(Some(&email)),
    )
    .await?;
    assert_eq!(
        (status, body["account_matched"].as_bool()),
        (201, Some(true)),
        "{body}"
    );
    let (_, mine) = get(&app, &token, "/api/v1/me/reservations").await?;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(1),
        "the resident sees it"
    );
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/proxy-reservations",
        caller(Some(&email)),
    )
    .await?;
    assert_eq!(
        (status, code(&body)),
        (409, Some("personal_limit_reached")),
        "the same rules as online"
    );
    let finance = app.login(Role::Finance).clone();
    let finance_token = api_token(&app, "staff", &finance.email, &finance.password).await?;
    let (status, _) = post(
        &app,
        &finance_token,
        "/api/v1/proxy-reservations",
        caller(None),
    )
    .await?;
    assert_eq!(status, 403, "finance does not book");

    let date = start.to_offset(JST).date();
    let (status, sheet) = get(&app, &admin, &format!("/api/v1/day-sheet?date={date}")).await?;
    assert_eq!(status, 200);
    let lines = sheet.as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 2, "{sheet}");
    assert!(
        lines
            .iter()
            .any(|l| l["name_kana"] == "ヤマダ タロウ" && l["phone"] == "0312345678")
    );
    assert!(lines.iter().any(|l| l["email"] == email.as_str()));
    let (status, _) = get(
        &app,
        &finance_token,
        &format!("/api/v1/day-sheet?date={date}"),
    )
    .await?;
    assert_eq!(status, 403);
    Ok(())
}
on_both_backends!(
    staff_book_for_a_caller_and_see_them_on_the_day_sheet,
    staff_book_for_a_caller_and_see_them_on_the_day_sheet
);

async fn a_remote_consultation_records_where_the_resident_joins(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let remote = service(
        &app,
        &admin,
        "online-soudan",
        "remote_consultation",
        json!({}),
    )
    .await?;
    let plain = service(&app, &admin, "madoguchi-soudan", "consultation", json!({})).await?;
    let start = madoguchi_tests::days::open_instant_ahead(3);
    let remote_slot = slot(&app, &admin, &remote, start, 3).await?;
    let plain_slot = slot(&app, &admin, &plain, start, 3).await?;
    let kiosk = app.storage.list_offices(app.tenant.id).await?[1].id;
    let token = resident(&app).await?.token;
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": plain_slot, "join": {"from": "home"}}),
    )
    .await?;
    assert_eq!(status, 422, "only remote consultations are joined: {body}");
    let (status, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": remote_slot, "join": {"from": "kiosk", "office_id": kiosk.to_string()}}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let id = ReservationId(uuid::Uuid::parse_str(&id_of(&booked))?);
    let appointment = app
        .storage
        .remote_appointment(app.tenant.id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no appointment"))?;
    assert_eq!(appointment.join, RemoteJoin::Kiosk { office_id: kiosk });
    let (status, home) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": remote_slot}),
    )
    .await?;
    assert_eq!(status, 201, "{home}");
    let id = ReservationId(uuid::Uuid::parse_str(&id_of(&home))?);
    let appointment = app.storage.remote_appointment(app.tenant.id, id).await?;
    assert_eq!(
        appointment.map(|a| a.join),
        Some(RemoteJoin::Home),
        "home by default"
    );
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": remote_slot, "join": {"from": "kiosk", "office_id": uuid::Uuid::new_v4().to_string()}}),
    )
    .await?;
    assert_eq!(status, 422, "an unknown kiosk stores nothing: {body}");
    let stored = app
        .storage
        .slot(app.tenant.id, SlotId(uuid::Uuid::parse_str(&remote_slot)?))
        .await?;
    assert_eq!(stored.taken, 2, "the refused booking took no seat");
    Ok(())
}
on_both_backends!(
    a_remote_consultation_records_where_the_resident_joins,
    a_remote_consultation_records_where_the_resident_joins
);

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<String> {
    let response = client.get(app.at(path)).send().await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(response.text().await?)
}

async fn the_pages_join_a_waiting_list_and_change_a_time_without_javascript(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service_id = service(
        &app,
        &admin,
        "kosodate-pages",
        "consultation",
        json!({"waitlist": {"mode": "offer", "respond_hours": 24}}),
    )
    .await?;
    // Three times on one day: from 10:00, so the last is not past midnight.
    let start = madoguchi_tests::days::open_morning_ahead(8);
    let full = slot(&app, &admin, &service_id, start, 1).await?;
    let free = slot(
        &app,
        &admin,
        &service_id,
        start + time::Duration::hours(1),
        1,
    )
    .await?;
    let holder = resident(&app).await?.token;
    post(
        &app,
        &holder,
        "/api/v1/reservations",
        json!({"slot_id": full}),
    )
    .await?;

    let (_, client) = signed_in_resident(&app).await?;
    let date = start.to_offset(JST).date();
    let day = page(
        &client,
        &app,
        &format!("/reservations/kosodate-pages/{date}"),
    )
    .await?;
    assert!(
        day.contains(&format!("/reservations/book/{full}")) && day.contains("キャンセル待ちに登録"),
        "the full slot offers the waiting list"
    );
    let form = page(&client, &app, &format!("/reservations/book/{full}")).await?;
    assert!(
        form.contains("name=\"intent\" value=\"waitlist\""),
        "{form}"
    );
    assert!(
        form.contains("24時間以内"),
        "the offer's deadline is explained"
    );
    let csrf = madoguchi_tests::app::csrf_from(&form);
    let response = client
        .post(app.at(&format!("/reservations/book/{full}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("intent", "waitlist"),
            ("idempotency_key", "0123456789abcdef0123"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/my/reservations?waiting=1");
    let list = page(&client, &app, "/my/reservations?waiting=1").await?;
    assert!(list.contains("1番目"), "the place in line is shown");

    // Booking the free slot, then moving it through the change page.
    let form = page(&client, &app, &format!("/reservations/book/{free}")).await?;
    let csrf = madoguchi_tests::app::csrf_from(&form);
    let response = client
        .post(app.at(&format!("/reservations/book/{free}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("idempotency_key", "abcdef0123456789abcd"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let detail_path = location(&response);
    let id = detail_path
        .trim_start_matches("/my/reservations/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let detail = page(&client, &app, &format!("/my/reservations/{id}")).await?;
    assert!(detail.contains(&format!("/my/reservations/{id}/change")));
    let later = slot(
        &app,
        &admin,
        &service_id,
        start + time::Duration::hours(2),
        1,
    )
    .await?;
    let change = page(&client, &app, &format!("/my/reservations/{id}/change")).await?;
    assert!(
        change.contains(&later),
        "the other times of the day are offered"
    );
    assert!(!change.contains(&full), "a full time is not offered");
    // It starts from the service's month calendar, whose days lead to their times.
    assert!(change.contains("class=\"data calendar\""), "{change}");
    assert!(
        change.contains(&format!(
            "href=\"/my/reservations/{id}/change?date={date}#times\""
        )),
        "the day with seats links to its times"
    );
    let month = format!("{}-{:02}", date.year(), u8::from(date.month()));
    let paged = page(
        &client,
        &app,
        &format!("/my/reservations/{id}/change?month={month}"),
    )
    .await?;
    assert!(paged.contains("class=\"data calendar\"") && paged.contains("日を選んでください"));
    // Choosing a time asks to confirm: before and after, and the reservation's number.
    let confirm = page(
        &client,
        &app,
        &format!("/my/reservations/{id}/change?date={date}&slot={later}"),
    )
    .await?;
    let number = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&id)?))
        .await?
        .reference
        .to_string();
    assert!(
        confirm.contains("変更内容の確認") && confirm.contains(&number),
        "{confirm}"
    );
    assert!(confirm.contains("変更前") && confirm.contains("変更後"));
    assert_eq!(madoguchi_tests::pages::hidden(&confirm, "slot_id"), later);
    let unchanged = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&id)?))
        .await?;
    assert_eq!(unchanged.slot_id.to_string(), free, "asking moves nothing");
    let csrf = madoguchi_tests::app::csrf_from(&confirm);
    let response = client
        .post(app.at(&format!("/my/reservations/{id}/change")))
        .form(&[("csrf_token", csrf.as_str()), ("slot_id", later.as_str())])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let detail = page(&client, &app, &location(&response)).await?;
    assert!(detail.contains("変更しました"), "{detail}");
    let moved = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&id)?))
        .await?;
    assert_eq!(moved.slot_id.to_string(), later);
    Ok(())
}
on_both_backends!(
    the_pages_join_a_waiting_list_and_change_a_time_without_javascript,
    the_pages_join_a_waiting_list_and_change_a_time_without_javascript
);

async fn an_administrator_sets_the_no_show_policy_on_a_page(app: TestApp) -> anyhow::Result<()> {
    let login = app.login(Role::Admin).clone();
    let client = app.client();
    let response = sign_in_page(
        &client,
        &app,
        "/staff/signin",
        &login.email,
        &login.password,
    )
    .await?;
    assert_eq!(response.status(), 303);
    let form = page(&client, &app, "/admin/booking-policy").await?;
    assert!(
        form.contains("value=\"3\"") && form.contains("value=\"365\""),
        "the defaults are shown"
    );
    let csrf = madoguchi_tests::app::csrf_from(&form);
    let response = client
        .post(app.at("/admin/booking-policy"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("count", "2"),
            ("within_days", "0"),
            ("suspend_days", "x"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert!(
        html.contains("1から3650までの整数"),
        "each bad field says what is allowed"
    );
    assert!(
        app.storage.booking_policy(app.tenant.id).await?.is_none(),
        "nothing stored"
    );
    let response = client
        .post(app.at("/admin/booking-policy"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("count", "2"),
            ("within_days", "180"),
            ("suspend_days", "30"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let admin = admin_token(&app).await?;
    let (_, policy) = get(&app, &admin, "/api/v1/booking-policy").await?;
    assert_eq!(
        policy,
        json!({"no_show": {"count": 2, "within_days": 180, "suspend_days": 30}})
    );
    let resident_client = signed_in_resident(&app).await?.1;
    let response = resident_client
        .get(app.at("/admin/booking-policy"))
        .send()
        .await?;
    assert_ne!(response.status(), 200, "residents do not see it");
    Ok(())
}
on_both_backends!(
    an_administrator_sets_the_no_show_policy_on_a_page,
    an_administrator_sets_the_no_show_policy_on_a_page
);

async fn an_unanswered_offer_goes_to_the_next_in_line_at_the_next_sweep(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = service(
        &app,
        &admin,
        "offer-sweep",
        "consultation",
        json!({"waitlist": {"mode": "offer", "respond_hours": 2}}),
    )
    .await?;
    let slot = slot(
        &app,
        &admin,
        &service,
        madoguchi_tests::days::open_instant_ahead(5),
        1,
    )
    .await?;
    let holder = resident(&app).await?.token;
    let first = resident(&app).await?.token;
    let Resident {
        email: second_email,
        token: second,
        ..
    } = resident(&app).await?;
    let (_, booked) = post(
        &app,
        &holder,
        "/api/v1/reservations",
        json!({"slot_id": slot}),
    )
    .await?;
    for token in [&first, &second] {
        let (status, _) = post(
            &app,
            token,
            &format!("/api/v1/slots/{slot}/waitlist"),
            json!({}),
        )
        .await?;
        assert_eq!(status, 201);
    }
    assert_eq!(cancel(&app, &holder, &id_of(&booked)).await?, 200);
    let (_, offered) = get(&app, &first, "/api/v1/me/reservations").await?;
    assert_eq!(offered[0]["status"], "held");
    let (_, waiting) = get(&app, &second, "/api/v1/me/reservations").await?;
    assert_eq!(
        waiting.as_array().map(Vec::len),
        Some(0),
        "the second still waits"
    );

    // Three hours pass without an answer: the offer's hold runs out.
    let later = madoguchi_storage::now_utc() + time::Duration::hours(3);
    assert_eq!(app.storage.expire_holds(later).await?, 1);
    madoguchi_server::app::maintenance_pass(&app.state).await;
    let (_, now_offered) = get(&app, &second, "/api/v1/me/reservations").await?;
    assert_eq!(
        now_offered[0]["status"], "held",
        "the seat is offered to the next: {now_offered}"
    );
    mail_with_subject(&app, &second_email, "空き").await?;
    let (_, gone) = get(&app, &first, "/api/v1/me/reservations").await?;
    assert_eq!(gone[0]["status"], "expired");
    // A second sweep changes nothing: one seat, one offer.
    madoguchi_server::app::maintenance_pass(&app.state).await;
    let stored = app
        .storage
        .slot(app.tenant.id, SlotId(uuid::Uuid::parse_str(&slot)?))
        .await?;
    assert_eq!(stored.taken, 1);
    Ok(())
}
on_both_backends!(
    an_unanswered_offer_goes_to_the_next_in_line_at_the_next_sweep,
    an_unanswered_offer_goes_to_the_next_in_line_at_the_next_sweep
);
