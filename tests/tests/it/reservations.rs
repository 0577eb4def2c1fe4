//! Reservations over HTTP: an administrator defines a service and its slots, residents book,
//! and every refusal has its own code and stores nothing.

use madoguchi_domain::Role;
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use time::OffsetDateTime;

struct Fixture {
    admin: String,
    service: String,
    slot: String,
}

/// A screening service (women 40+ at fiscal-year end, one per fiscal year, questions) with one
/// session of `capacity` a week ahead, and optionally one far ahead (window not open yet).
async fn screening(app: &TestApp, capacity: u16) -> anyhow::Result<Fixture> {
    let admin_login = app.login(Role::Admin).clone();
    let admin = api_token(app, "staff", &admin_login.email, &admin_login.password).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": "nyugan-kenshin", "kind": "checkup", "name_ja": "乳がん検診", "name_en": "Breast cancer screening",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 48},
                "limit": {"max": 1, "period": {"kind": "fiscal_year"}},
                "eligibility": {"age_min": 40, "age_reference": "fiscal_year_end", "sex": "female"},
                "questions": [{"id": "pregnant", "label_ja": "妊娠の可能性", "label_en": "Possibly pregnant", "required": true}]
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!service_id.is_empty(), "service not created: {service}");
    let office = app.storage.list_offices(app.tenant.id).await?[0]
        .id
        .to_string();
    let start = madoguchi_tests::days::open_instant_ahead(7);
    let far = OffsetDateTime::now_utc() + time::Duration::days(120);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(&json!({"slots": [
            {"office_id": office, "starts_at": rfc3339(start), "ends_at": rfc3339(start + time::Duration::hours(3)), "capacity": capacity},
            {"office_id": office, "starts_at": rfc3339(far), "ends_at": rfc3339(far + time::Duration::hours(3)), "capacity": capacity}
        ]}))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 2, "slots added: {added}");
    let date = (start.to_offset(madoguchi_domain::tokyo::JST)).date();
    let slots: Vec<Value> = client
        .get(app.at(&format!("/api/v1/services/{service_id}/slots?date={date}")))
        .send()
        .await?
        .json()
        .await?;
    let slot = slots
        .first()
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Fixture {
        admin,
        service: service_id,
        slot,
    })
}

fn eligible() -> Value {
    json!({"birth_date": "1980-05-05", "sex": "female"})
}

async fn book(
    app: &TestApp,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await?;
    Ok((
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    ))
}

async fn a_resident_books_once_and_a_retry_never_books_twice(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 2).await?;
    let token = resident(&app).await?.token;
    let body = json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}});
    let (status, first) = book(&app, &token, body.clone(), Some("retry-1")).await?;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "confirmed");
    let (status, again) = book(&app, &token, body, Some("retry-1")).await?;
    assert_eq!(status, 200, "a replay answers 200");
    assert_eq!(again["id"], first["id"]);
    let mine: Vec<Value> = reqwest::Client::new()
        .get(app.at("/api/v1/me/reservations"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mine.len(), 1, "one reservation, not two");
    Ok(())
}
on_both_backends!(
    a_resident_books_once_and_a_retry_never_books_twice,
    a_resident_books_once_and_a_retry_never_books_twice
);

async fn every_refusal_has_its_code_and_stores_nothing(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let token = resident(&app).await?.token;
    let ok = json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}});
    // Ineligible: too young at the end of the fiscal year, or another sex, or no birth date.
    let young = json!({"slot_id": f.slot, "applicant": {"birth_date": "2000-01-01", "sex": "female"}, "answers": {"pregnant": "no"}});
    assert_eq!(
        book(&app, &token, young, None).await?.1["error"]["code"],
        "ineligible_age"
    );
    let male = json!({"slot_id": f.slot, "applicant": {"birth_date": "1970-01-01", "sex": "male"}, "answers": {"pregnant": "no"}});
    assert_eq!(
        book(&app, &token, male, None).await?.1["error"]["code"],
        "ineligible_sex"
    );
    let unknown = json!({"slot_id": f.slot, "answers": {"pregnant": "no"}});
    assert_eq!(
        book(&app, &token, unknown, None).await?.1["error"]["code"],
        "birth_date_required"
    );
    // A required question left out.
    let unanswered = json!({"slot_id": f.slot, "applicant": eligible()});
    let (status, body) = book(&app, &token, unanswered, None).await?;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (422, Some("answers.pregnant"))
    );
    // Not open yet: the far slot.
    let far_date = (OffsetDateTime::now_utc() + time::Duration::days(120))
        .to_offset(madoguchi_domain::tokyo::JST)
        .date();
    let far: Vec<Value> = reqwest::Client::new()
        .get(app.at(&format!(
            "/api/v1/services/{}/slots?date={far_date}",
            f.service
        )))
        .send()
        .await?
        .json()
        .await?;
    let far_body =
        json!({"slot_id": far[0]["id"], "applicant": eligible(), "answers": {"pregnant": "no"}});
    let (status, body) = book(&app, &token, far_body, None).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("booking_not_open"))
    );
    // A bad idempotency key.
    let (status, body) = book(&app, &token, ok.clone(), Some(&"k".repeat(101))).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_idempotency_key"))
    );
    // Nothing so far took the seat.
    assert_eq!(book(&app, &token, ok.clone(), None).await?.0, 201);
    // Full for the next resident.
    let other = resident(&app).await?.token;
    let (status, body) = book(&app, &other, ok.clone(), None).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("slot_full"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("満員")
    );
    Ok(())
}
on_both_backends!(
    every_refusal_has_its_code_and_stores_nothing,
    every_refusal_has_its_code_and_stores_nothing
);

async fn a_cancellation_gives_the_seat_back_and_the_month_view_shows_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let (a, b) = (resident(&app).await?.token, resident(&app).await?.token);
    let body = json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}});
    let (_, booked) = book(&app, &a, body.clone(), None).await?;
    let start = madoguchi_tests::days::open_date_ahead(7);
    let month = format!("{}-{:02}", start.year(), u8::from(start.month()));
    let days: Vec<Value> = reqwest::Client::new()
        .get(app.at(&format!(
            "/api/v1/services/{}/availability?month={month}",
            f.service
        )))
        .send()
        .await?
        .json()
        .await?;
    let day = days
        .iter()
        .find(|d| d["date"] == start.to_string())
        .cloned()
        .unwrap_or_default();
    assert_eq!(day["status"], "full");
    assert!(
        days.iter().any(|d| d["status"] == "closed"),
        "days without slots are closed"
    );
    let (status, full) = book(&app, &b, body.clone(), None).await?;
    assert_eq!(status, 409, "{full}");
    let cancelled = reqwest::Client::new()
        .delete(app.at(&format!(
            "/api/v1/reservations/{}",
            booked["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&a)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        book(&app, &b, body, None).await?.0,
        201,
        "the seat went back"
    );
    // Another resident cannot see or cancel someone else's reservation.
    let foreign = reqwest::Client::new()
        .delete(app.at(&format!(
            "/api/v1/reservations/{}",
            booked["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&b)
        .send()
        .await?;
    assert_eq!(foreign.status(), 404);
    // Staff cancellations need a reason.
    let staff = reqwest::Client::new()
        .delete(app.at(&format!(
            "/api/v1/reservations/{}",
            booked["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&f.admin)
        .send()
        .await?;
    assert_eq!(staff.status(), 422);
    Ok(())
}
on_both_backends!(
    a_cancellation_gives_the_seat_back_and_the_month_view_shows_it,
    a_cancellation_gives_the_seat_back_and_the_month_view_shows_it
);

/// A service whose stored rules no longer decode (an older version's shape) is left out of the
/// catalogue instead of failing it, and booking it says why, as parsing on use did before.
async fn a_service_whose_stored_rules_no_longer_decode_is_left_out_and_not_bookable(
    app: TestApp,
) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let old_shape = r#"{"window": {"opens_days": 30}}"#;
    let changed = match app.raw_pool() {
        madoguchi_tests::app::RawPool::Sqlite(pool) => sqlx::query("UPDATE services SET rules = ?")
            .bind(old_shape)
            .execute(pool)
            .await?
            .rows_affected(),
        madoguchi_tests::app::RawPool::Postgres(pool) => {
            sqlx::query("UPDATE services SET rules = $1::jsonb")
                .bind(old_shape)
                .execute(pool)
                .await?
                .rows_affected()
        }
    };
    assert_eq!(changed, 1);
    // A new process: no node cache holds the service as it was.
    let app = app.restart().await?;
    let client = reqwest::Client::new();
    let listed = client.get(app.at("/api/v1/services")).send().await?;
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.json::<Value>().await?, json!([]));
    let token = resident(&app).await?.token;
    let response = client
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(&token)
        .json(&json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}}))
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "invalid_service_rules");
    Ok(())
}

on_both_backends!(
    a_service_whose_stored_rules_no_longer_decode_is_left_out_and_not_bookable,
    a_service_whose_stored_rules_no_longer_decode_is_left_out_and_not_bookable
);

async fn bad_service_rules_are_refused(app: TestApp) -> anyhow::Result<()> {
    let admin_login = app.login(Role::Admin).clone();
    let admin = api_token(&app, "staff", &admin_login.email, &admin_login.password).await?;
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({"code": "x-soudan", "kind": "consultation", "name_ja": "相談", "name_en": "Consultation",
            "rules": {"window": {"opens_days_before": 1, "opens_at_local": "25:00", "closes_hours_before": 48},
                      "cancellation": {"deadline_hours_before": 1}}}))
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "invalid_service_rules");
    assert!(app.storage.list_services(app.tenant.id).await?.is_empty());
    Ok(())
}
on_both_backends!(bad_service_rules_are_refused, bad_service_rules_are_refused);

async fn slots_generated_from_weekly_openings_skip_holidays(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let office = app.storage.list_offices(app.tenant.id).await?[0]
        .id
        .to_string();
    // Mondays in January 2027: 1/4, 1/11 (成人の日), 1/18, 1/25.
    let response = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/services/{}/slots/generate", f.service)))
        .bearer_auth(&f.admin)
        .json(&json!({"office_id": office, "from": "2027-01-01", "to": "2027-01-31", "patterns": [
            {"weekday": "monday", "start": "09:00", "end": "10:00", "slot_minutes": 30, "buffer_minutes": 0, "capacity": 3}
        ]}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], 6, "three open Mondays, two slots each");
    let holiday: Vec<Value> = reqwest::Client::new()
        .get(app.at(&format!(
            "/api/v1/services/{}/slots?date=2027-01-11",
            f.service
        )))
        .send()
        .await?
        .json()
        .await?;
    assert!(holiday.is_empty(), "no slots on 成人の日");
    let bad = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/services/{}/slots/generate", f.service)))
        .bearer_auth(&f.admin)
        .json(&json!({"office_id": office, "from": "2027-01-31", "to": "2027-01-01", "patterns": [
            {"weekday": "monday", "start": "09:00", "end": "10:00", "slot_minutes": 30, "buffer_minutes": 0, "capacity": 3}
        ]}))
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    Ok(())
}
on_both_backends!(
    slots_generated_from_weekly_openings_skip_holidays,
    slots_generated_from_weekly_openings_skip_holidays
);

async fn the_resident_gets_a_confirmation_with_a_calendar_file_and_a_cancellation_notice(
    app: TestApp,
) -> anyhow::Result<()> {
    let f = screening(&app, 3).await?;
    let email = unique_email("notice");
    verified_resident(&app, &email).await?;
    let token = api_token(&app, "resident", &email, PASSWORD).await?;
    let body = json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}});
    let (status, booked) = book(&app, &token, body, None).await?;
    assert_eq!(status, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let confirmation = loop {
        let mail = app
            .mail
            .wait_for(&email, std::time::Duration::from_secs(10))
            .await?;
        if mail.subject().contains("乳がん検診") || std::time::Instant::now() > deadline {
            break mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        confirmation.subject().contains("乳がん検診"),
        "subject: {}",
        confirmation.subject()
    );
    let calendars = confirmation.attachments_text();
    assert!(
        calendars
            .iter()
            .any(|c| c.contains("BEGIN:VEVENT") && c.contains("METHOD:REQUEST")),
        "an .ics is attached"
    );
    assert!(
        confirmation.text().contains("（"),
        "a Japanese date with the weekday: {}",
        confirmation.text()
    );
    // The reminder waits in the queue for the day before.
    let jobs = app
        .storage
        .list_jobs(
            Some(app.tenant.id),
            Some(madoguchi_storage::JobStatus::Queued),
            50,
        )
        .await?;
    assert!(
        jobs.iter().any(|j| j.kind == "notify.reservation_event"
            && j.run_at > OffsetDateTime::now_utc() + time::Duration::days(5)),
        "a reminder is scheduled"
    );

    let before = app.mail.count_to(&email).await;
    let cancelled = reqwest::Client::new()
        .delete(app.at(&format!(
            "/api/v1/reservations/{}",
            booked["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.mail.count_to(&email).await == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let notice = app
        .mail
        .wait_for(&email, std::time::Duration::from_secs(1))
        .await?;
    let calendars = notice.attachments_text();
    assert!(
        calendars.iter().any(|c| c.contains("METHOD:CANCEL")),
        "the calendar entry is cancelled: {calendars:?}"
    );
    Ok(())
}
on_both_backends!(
    the_resident_gets_a_confirmation_with_a_calendar_file_and_a_cancellation_notice,
    the_resident_gets_a_confirmation_with_a_calendar_file_and_a_cancellation_notice
);

async fn the_same_key_from_two_residents_books_two_seats(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 5).await?;
    let (a, b) = (resident(&app).await?.token, resident(&app).await?.token);
    let body = json!({"slot_id": f.slot, "applicant": eligible(), "answers": {"pregnant": "no"}});
    let (status_a, first) = book(&app, &a, body.clone(), Some("retry-1")).await?;
    let (status_b, second) = book(&app, &b, body, Some("retry-1")).await?;
    assert_eq!(
        (status_a, status_b),
        (201, 201),
        "each resident's key is their own"
    );
    assert_ne!(first["id"], second["id"]);
    Ok(())
}
on_both_backends!(
    the_same_key_from_two_residents_books_two_seats,
    the_same_key_from_two_residents_books_two_seats
);
