//! Regression tests of the outside probe's findings on the reservations side (issue 7: 1, 3, 5,
//! 6, 7 and 9), over HTTP on both backends: moves between offices, control characters, dates
//! far outside any calendar, the office scope of suspensions, changes by a suspended resident,
//! and limits on what is stored.

use madoguchi_domain::{OfficeId, Role};
use madoguchi_storage::{NewSuspension, now_utc};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_instant_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn field(body: &Value) -> (Option<&str>, Option<&str>) {
    let f = &body["error"]["fields"][0];
    (f["field"].as_str(), f["code"].as_str())
}

async fn office(app: &TestApp, code: &str) -> anyhow::Result<OfficeId> {
    app.storage
        .list_offices(app.tenant.id)
        .await?
        .into_iter()
        .find(|o| o.code.as_str() == code)
        .map(|o| o.id)
        .ok_or_else(|| anyhow::anyhow!("no office {code}"))
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .request(method, app.at(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    send(app, reqwest::Method::POST, token, path, Some(body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> anyhow::Result<(u16, Value)> {
    send(app, reqwest::Method::GET, token, path, None).await
}

/// A consultation with one optional question (`topic`), bookable from 60 days ahead.
async fn consultation(app: &TestApp, admin: &str, code: &str) -> anyhow::Result<String> {
    let (status, created) = post(
        app,
        admin,
        "/api/v1/services",
        json!({
            "code": code, "kind": "consultation", "name_ja": "子育て相談", "name_en": "Parenting consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "questions": [{"id": "topic", "label_ja": "ご相談内容", "label_en": "Topic", "required": false}]
            }
        }),
    )
    .await?;
    anyhow::ensure!(status == 201, "service not created: {created}");
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

/// Adds a 30-minute slot at `office`; returns its id.
async fn slot_at(
    app: &TestApp,
    admin: &str,
    service: &str,
    office: OfficeId,
    start: OffsetDateTime,
) -> anyhow::Result<String> {
    let (status, added) = post(
        app,
        admin,
        &format!("/api/v1/services/{service}/slots"),
        json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": 3}]}),
    )
    .await?;
    anyhow::ensure!(status == 200 && added["added"] == 1, "slot added: {added}");
    let service_id = madoguchi_domain::ServiceId(uuid::Uuid::parse_str(service)?);
    let slots = app
        .storage
        .slots(
            app.tenant.id,
            service_id,
            start - Duration::seconds(1),
            start + Duration::seconds(1),
        )
        .await?;
    slots
        .iter()
        .find(|s| s.office_id == office)
        .map(|s| s.id.to_string())
        .ok_or_else(|| anyhow::anyhow!("slot not stored"))
}

fn caller(name: &str) -> Value {
    json!({"name_kanji": name, "name_kana": "キタノ イチコ", "birth_date": "1960-04-01", "phone": "090-1234-5678"})
}

/// What the probe set up: a service with a slot at the branch (kita-shisho, the demo branch
/// clerk's office) and one at headquarters on the same day.
struct Setup {
    admin: String,
    service: String,
    kita: OfficeId,
    kita_slot: String,
    kita_later: String,
    honcho_slot: String,
}

async fn setup(app: &TestApp) -> anyhow::Result<Setup> {
    let admin = staff_token(app, Role::Admin).await?;
    let service = consultation(app, &admin, "probe-soudan").await?;
    let kita = office(app, "kita-shisho").await?;
    let honcho = office(app, "honcho").await?;
    let start = open_instant_ahead(3);
    Ok(Setup {
        kita_slot: slot_at(app, &admin, &service, kita, start).await?,
        kita_later: slot_at(app, &admin, &service, kita, start + Duration::hours(1)).await?,
        honcho_slot: slot_at(app, &admin, &service, honcho, start + Duration::hours(2)).await?,
        admin,
        service,
        kita,
    })
}

// ---------------------------------------------------------------------------------------------
// Finding 1: staff may not move a reservation into another office's slot.

async fn staff_cannot_move_a_reservation_into_another_offices_slot(
    app: TestApp,
) -> anyhow::Result<()> {
    let s = setup(&app).await?;
    let clerk = staff_token(&app, Role::BranchStaff).await?;
    let (status, booked) = post(
        &app,
        &clerk,
        "/api/v1/proxy-reservations",
        json!({"slot_id": s.kita_slot, "caller": caller("北野 一子"), "answers": {}}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let id = booked["reservation"]["id"].as_str().unwrap_or_default();
    let change = format!("/api/v1/reservations/{id}/change");

    let (status, body) = post(
        &app,
        &clerk,
        &change,
        json!({"slot_id": s.honcho_slot, "reason": "本人の希望"}),
    )
    .await?;
    assert_eq!((status, code(&body)), (403, Some("forbidden")), "{body}");
    let stored = app
        .storage
        .reservation(
            app.tenant.id,
            madoguchi_domain::ReservationId(uuid::Uuid::parse_str(id)?),
        )
        .await?;
    assert_eq!(stored.slot_id.to_string(), s.kita_slot, "not moved");

    // Within their own office the clerk moves it; an administrator moves it anywhere.
    let (status, body) = post(
        &app,
        &clerk,
        &change,
        json!({"slot_id": s.kita_later, "reason": "本人の希望"}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &app,
        &s.admin,
        &change,
        json!({"slot_id": s.honcho_slot, "reason": "本庁で対応"}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    // Now at headquarters, the reservation is out of the clerk's reach, both ways.
    let (status, _) = post(
        &app,
        &clerk,
        &change,
        json!({"slot_id": s.kita_slot, "reason": "戻す"}),
    )
    .await?;
    assert!(matches!(status, 403 | 404), "answered {status}");
    Ok(())
}
on_both_backends!(
    staff_cannot_move_a_reservation_into_another_offices_slot,
    staff_cannot_move_a_reservation_into_another_offices_slot
);

// ---------------------------------------------------------------------------------------------
// Finding 7: a suspended resident cannot change a reservation online; staff still can.

async fn suspend(
    app: &TestApp,
    account: madoguchi_domain::AccountId,
    office: Option<OfficeId>,
) -> anyhow::Result<uuid::Uuid> {
    let now = now_utc();
    let new = NewSuspension {
        account_id: account,
        office_id: office,
        starts_at: now - Duration::minutes(1),
        ends_at: now + Duration::days(90),
        no_shows: 3,
    };
    Ok(app.storage.suspend(app.tenant.id, &new, now).await?.id)
}

async fn a_suspended_resident_cannot_change_online(app: TestApp) -> anyhow::Result<()> {
    let s = setup(&app).await?;
    let Resident {
        id: account, token, ..
    } = resident(&app).await?;
    let (status, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let id = booked["id"].as_str().unwrap_or_default();
    suspend(&app, account, Some(s.kita)).await?;
    let change = format!("/api/v1/reservations/{id}/change");
    let (status, body) = post(&app, &token, &change, json!({"slot_id": s.kita_later})).await?;
    assert_eq!((status, code(&body)), (409, Some("booking_suspended")));
    let (status, body) = post(
        &app,
        &s.admin,
        &change,
        json!({"slot_id": s.kita_later, "reason": "電話で依頼"}),
    )
    .await?;
    assert_eq!(status, 200, "staff change on the resident's behalf: {body}");
    Ok(())
}
on_both_backends!(
    a_suspended_resident_cannot_change_online,
    a_suspended_resident_cannot_change_online
);

// ---------------------------------------------------------------------------------------------
// Finding 6: suspensions are seen city-wide, lifted by the imposing office or an administrator.

async fn only_the_imposing_office_or_an_admin_lifts_a_suspension(
    app: TestApp,
) -> anyhow::Result<()> {
    let kita = office(&app, "kita-shisho").await?;
    let honcho = office(&app, "honcho").await?;
    let admin = staff_token(&app, Role::Admin).await?;
    let clerk = staff_token(&app, Role::BranchStaff).await?;
    let hq_case = resident(&app).await?.id;
    let kita_case = resident(&app).await?.id;
    let old_case = resident(&app).await?.id;
    let by_honcho = suspend(&app, hq_case, Some(honcho)).await?;
    let by_kita = suspend(&app, kita_case, Some(kita)).await?;
    let without_office = suspend(&app, old_case, None).await?;

    // Seen city-wide.
    let (status, listed) = get(&app, &clerk, "/api/v1/suspensions").await?;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    let lift = |id: uuid::Uuid| format!("/api/v1/suspensions/{id}/lift");
    let reason = json!({"reason": "電話で事情を確認"});
    for other in [by_honcho, without_office] {
        let (status, body) = post(&app, &clerk, &lift(other), reason.clone()).await?;
        assert_eq!((status, code(&body)), (403, Some("forbidden")), "{body}");
    }
    // The page refuses it too, and offers no form for it.
    let client = app.client();
    let login = app.login(Role::BranchStaff).clone();
    sign_in_page(
        &client,
        &app,
        "/staff/signin",
        &login.email,
        &login.password,
    )
    .await?;
    let page = client
        .get(app.at("/staff/suspensions"))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains(&format!("/staff/suspensions/{by_kita}/lift")));
    assert!(!page.contains(&format!("/staff/suspensions/{by_honcho}/lift")));
    let response = client
        .post(app.at(&format!("/staff/suspensions/{by_honcho}/lift")))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("reason", "確認した"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    assert!(
        app.storage
            .suspension_in_force(app.tenant.id, hq_case, now_utc())
            .await?
            .is_some(),
        "still in force"
    );

    let (status, body) = post(&app, &clerk, &lift(by_kita), reason.clone()).await?;
    assert_eq!(status, 200, "the imposing office lifts it: {body}");
    assert_eq!(body["office_id"], kita.to_string());
    for id in [by_honcho, without_office] {
        let (status, body) = post(&app, &admin, &lift(id), reason.clone()).await?;
        assert_eq!(status, 200, "an administrator lifts any: {body}");
    }
    Ok(())
}
on_both_backends!(
    only_the_imposing_office_or_an_admin_lifts_a_suspension,
    only_the_imposing_office_or_an_admin_lifts_a_suspension
);

// ---------------------------------------------------------------------------------------------
// Finding 3: control characters are refused with 422 wherever text comes in.

async fn control_characters_are_refused_everywhere(app: TestApp) -> anyhow::Result<()> {
    let s = setup(&app).await?;
    let token = resident(&app).await?.token;
    for bad in ["a\u{0}b", "abc\u{202E}gpj.exe"] {
        // Reservation answers.
        let (status, body) = post(
            &app,
            &token,
            "/api/v1/reservations",
            json!({"slot_id": s.kita_slot, "answers": {"topic": bad}}),
        )
        .await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            field(&body),
            (Some("answers.topic"), Some("control_character"))
        );
        // A proxy caller's name.
        let (status, body) = post(
            &app,
            &s.admin,
            "/api/v1/proxy-reservations",
            json!({"slot_id": s.kita_slot, "caller": caller(&format!("北野{bad}")), "answers": {}}),
        )
        .await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(code(&body), Some("control_character"));
        // Question labels.
        let (status, body) = post(
            &app,
            &s.admin,
            "/api/v1/services",
            json!({"code": "probe-label", "kind": "consultation", "name_ja": "相談", "name_en": "Consultation",
                "rules": {"window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                    "cancellation": {"deadline_hours_before": 24},
                    "questions": [{"id": "q", "label_ja": bad, "label_en": "Q"}]}}),
        )
        .await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            field(&body),
            (
                Some("rules.questions.0.label_ja"),
                Some("control_character")
            )
        );
    }
    let (status, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot, "answers": {"topic": "発達\t相談\n"}}),
    )
    .await?;
    assert_eq!(status, 201, "tabs and newlines are text: {booked}");
    let id = booked["id"].as_str().unwrap_or_default();
    // The cancel reason, a query parameter.
    for bad in ["%00", "%E2%80%AE"] {
        let (status, body) = send(
            &app,
            reqwest::Method::DELETE,
            &s.admin,
            &format!("/api/v1/reservations/{id}?reason=x{bad}y"),
            None,
        )
        .await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(field(&body), (Some("reason"), Some("control_character")));
    }
    // A page form: the staff cancel reason.
    let client = app.client();
    let login = app.login(Role::Admin).clone();
    sign_in_page(
        &client,
        &app,
        "/staff/signin",
        &login.email,
        &login.password,
    )
    .await?;
    let detail = format!("/staff/reservations/{id}");
    let page = client.get(app.at(&detail)).send().await?.text().await?;
    let response = client
        .post(app.at(&detail))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("action", "cancel"),
            ("reason", "a\u{0}b"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let stored = app
        .storage
        .reservation(
            app.tenant.id,
            madoguchi_domain::ReservationId(uuid::Uuid::parse_str(id)?),
        )
        .await?;
    assert!(stored.status.holds_a_seat(), "nothing was cancelled");
    Ok(())
}
on_both_backends!(
    control_characters_are_refused_everywhere,
    control_characters_are_refused_everywhere
);

// ---------------------------------------------------------------------------------------------
// Finding 5: dates far outside any calendar are refused, and a panic keeps headers and id.

async fn dates_far_outside_any_calendar_are_refused(app: TestApp) -> anyhow::Result<()> {
    let s = setup(&app).await?;
    for path in [
        format!("/api/v1/services/{}/slots?date=-9999-01-01", s.service),
        format!("/api/v1/services/{}/availability?month=-9999-01", s.service),
        format!("/api/v1/services/{}/slots?date=9999-12-31", s.service),
        format!("/api/v1/services/{}/availability?month=0000-01", s.service),
    ] {
        let response = reqwest::Client::new().get(app.at(&path)).send().await?;
        assert_eq!(response.status(), 422, "{path}");
        let body: Value = response.json().await?;
        assert_eq!(code(&body), Some("date_out_of_range"), "{path}: {body}");
    }
    for year in ["10000", "0", "-1", "1947"] {
        let (status, body) = send(
            &app,
            reqwest::Method::DELETE,
            &s.admin,
            &format!("/api/v1/calendar/holidays/{year}"),
            None,
        )
        .await?;
        assert_eq!(
            (status, code(&body)),
            (422, Some("date_out_of_range")),
            "{year}"
        );
    }
    let (status, body) = send(
        &app,
        reqwest::Method::DELETE,
        &s.admin,
        "/api/v1/calendar/holidays/2030",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}
on_both_backends!(
    dates_far_outside_any_calendar_are_refused,
    dates_far_outside_any_calendar_are_refused
);

#[allow(clippy::panic)]
async fn boom() -> &'static str {
    panic!("boom")
}

/// A handler that panics is answered by the same layers as any other: a JSON 500 with the
/// security headers and the request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_answered_with_the_security_headers_and_the_request_id() -> anyhow::Result<()> {
    let app = madoguchi_tests::app::spawn(madoguchi_tests::app::Options::new(
        madoguchi_tests::app::Backend::Sqlite,
    ))
    .await?
    .ok_or_else(|| anyhow::anyhow!("sqlite app"))?;
    let routes = axum::Router::new().route("/api/v1/boom", axum::routing::get(boom));
    let router = madoguchi_server::app::with_layers(app.state.clone(), routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    let response = reqwest::get(format!("http://{addr}/api/v1/boom")).await?;
    assert_eq!(response.status(), 500);
    let headers = response.headers().clone();
    assert!(headers.contains_key("x-request-id"), "{headers:?}");
    assert!(
        headers.contains_key("content-security-policy"),
        "{headers:?}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let body: Value = response.json().await?;
    assert_eq!(code(&body), Some("internal"), "{body}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Finding 9: limits on what is stored.

async fn garbage_is_refused_with_field_codes(app: TestApp) -> anyhow::Result<()> {
    let s = setup(&app).await?;
    let token = resident(&app).await?.token;
    // Answers to questions the service does not ask, or too long.
    let junk: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("junk{i}"), Value::from("x".repeat(1000))))
        .collect();
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot, "answers": junk}),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field(&body).1, Some("unknown_question"));
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot, "answers": {"topic": "長".repeat(1001)}}),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field(&body), (Some("answers.topic"), Some("text_too_long")));
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot, "answers": {"topic": {"nested": true}}}),
    )
    .await?;
    assert_eq!(status, 422, "{body}");

    // Question labels of 100,000 characters.
    let (status, body) = post(
        &app,
        &s.admin,
        "/api/v1/services",
        json!({"code": "probe-long", "kind": "consultation", "name_ja": "相談", "name_en": "Consultation",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "questions": [{"id": "q", "label_ja": "x".repeat(100_000), "label_en": "Q"}]}}),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field(&body), (Some("rules"), Some("invalid_service_rules")));

    // Slots without seats, with absurdly many, or at an office that does not exist.
    let start = open_instant_ahead(5);
    let slots_path = format!("/api/v1/services/{}/slots", s.service);
    let one = |office: String, capacity: u32| {
        json!({"slots": [{"office_id": office, "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": capacity}]})
    };
    for capacity in [0, 10_001] {
        let (status, body) = post(
            &app,
            &s.admin,
            &slots_path,
            one(s.kita.to_string(), capacity),
        )
        .await?;
        assert_eq!(status, 422, "{capacity}: {body}");
        assert_eq!(
            field(&body),
            (Some("slots.0.capacity"), Some("validation_failed"))
        );
    }
    let (status, body) = post(
        &app,
        &s.admin,
        &slots_path,
        one(uuid::Uuid::new_v4().to_string(), 3),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        field(&body),
        (Some("slots.0.office_id"), Some("validation_failed"))
    );

    // Display names that show nothing, or reorder themselves.
    for name in ["\u{200B}", "山田\u{202E}花子"] {
        let (status, body) = post(
            &app,
            "",
            "/api/v1/residents",
            json!({"display_name": name, "email": unique_email("name"), "password": PASSWORD}),
        )
        .await?;
        assert_eq!(status, 422, "{name:?}: {body}");
        let codes = body["error"]["fields"].to_string();
        assert!(
            codes.contains("invalid_display_name") || codes.contains("control_character"),
            "{body}"
        );
    }

    // A staff cancel reason is bounded, and must say something.
    let (status, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": s.kita_slot}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let id = booked["id"].as_str().unwrap_or_default();
    let cancel = |reason: String| {
        let app = &app;
        let admin = s.admin.clone();
        let id = id.to_owned();
        async move {
            let response = reqwest::Client::new()
                .delete(app.at(&format!("/api/v1/reservations/{id}")))
                .query(&[("reason", reason)])
                .bearer_auth(admin)
                .send()
                .await?;
            let status = response.status().as_u16();
            anyhow::Ok((
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            ))
        }
    };
    let (status, body) = cancel("理".repeat(501)).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field(&body), (Some("reason"), Some("text_too_long")));
    let (status, body) = cancel(" \u{200B} ".to_owned()).await?;
    assert_eq!(status, 422, "{body}");
    let (status, body) = cancel(format!("  {}  ", "理".repeat(500))).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}
on_both_backends!(
    garbage_is_refused_with_field_codes,
    garbage_is_refused_with_field_codes
);
