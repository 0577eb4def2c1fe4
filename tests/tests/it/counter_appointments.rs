//! Booked remote consultations at the counter: a resident checks in within the join window and
//! gets a ticket in the department's queue, called before a walk-in who came earlier; the
//! consultation held marks the reservation attended; a resident who never answers is a
//! no-show counted by the no-show policy. Too early, too late, someone else's reservation and
//! staff checking in are refused with their codes.

use madoguchi_domain::{ManualClock, ReservationId, Role};
use madoguchi_storage::ReservationStatus;
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::api_call as call;
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_instant_ahead, rfc3339};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_consultation_is_checked_in_served_first_and_its_end_is_its_attendance_on_sqlite()
-> anyhow::Result<()> {
    story(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_consultation_is_checked_in_served_first_and_its_end_is_its_attendance_on_postgres()
-> anyhow::Result<()> {
    story(Backend::Postgres).await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn id(body: &Value) -> String {
    body["id"].as_str().unwrap_or_default().to_owned()
}

async fn story(backend: Backend) -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let mut options = Options::new(backend);
    options.clock = clock.clone();
    let Some(app) = spawn(options).await? else {
        eprintln!(
            "PostgreSQL not available; skipped (set MADOGUCHI_REQUIRE_POSTGRES=1 to fail instead)"
        );
        return Ok(());
    };
    // Tokens are issued at the clock's now (whole seconds) and refused when older than the
    // account's password, which is set at the real now: while people sign up and sign in, the
    // clock stands a minute ahead of the real now, so a sign-up that crosses a second (a loaded
    // machine) still gets a token that is not older than its password.
    let real_now = || clock.set(time::OffsetDateTime::now_utc() + Duration::minutes(1));
    real_now();
    let admin = admin_token(&app).await?;
    let hq = staff_token(&app, Role::HqStaff).await?;
    let hq_pages = staff_client(&app, Role::HqStaff).await?;
    let wall = || {
        let (app, hq_pages) = (&app, hq_pages.clone());
        async move {
            let page = hq_pages.get(app.at("/staff/counter/wall")).send().await?;
            anyhow::ensure!(
                page.status() == 200,
                "the wall view answered {}",
                page.status()
            );
            Ok::<String, anyhow::Error>(page.text().await?)
        }
    };
    let department = hq_department(&app).await?;
    let (status, queue) = call(
        &app,
        Method::POST,
        "/api/v1/counter/queues",
        &admin,
        Some(json!({"department_id": department, "prefix": "Y", "name_ja": "オンライン相談", "name_en": "Online consultations"})),
    )
    .await?;
    assert_eq!(status, 201, "{queue}");
    let queue = id(&queue);
    let (status, service) = call(
        &app,
        Method::POST,
        "/api/v1/services",
        &admin,
        Some(json!({"code": "online-kosodate", "kind": "remote_consultation", "department_id": department,
            "name_ja": "オンライン子育て相談", "name_en": "Online parenting consultation",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24}}})),
    )
    .await?;
    assert_eq!(status, 201, "{service}");
    let start = open_instant_ahead(3);
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let (status, added) = call(
        &app,
        Method::POST,
        &format!("/api/v1/services/{}/slots", id(&service)),
        &admin,
        Some(
            json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": 3}]}),
        ),
    )
    .await?;
    assert_eq!(status, 200, "{added}");
    let slot = app
        .storage
        .slots(
            app.tenant.id,
            madoguchi_domain::ServiceId(uuid::Uuid::parse_str(&id(&service))?),
            start,
            start + Duration::seconds(1),
        )
        .await?[0]
        .id
        .to_string();

    // Three residents book the consultation.
    let mut booked = Vec::new();
    for _ in 0..3 {
        real_now();
        let resident = resident(&app).await?;
        let (status, reservation) = call(
            &app,
            Method::POST,
            "/api/v1/reservations",
            &resident.token,
            Some(json!({"slot_id": slot})),
        )
        .await?;
        assert_eq!(status, 201, "{reservation}");
        booked.push((resident, id(&reservation)));
    }
    let check_in = |token: String, reservation: String| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                &format!("/api/v1/counter/appointments/{reservation}/check-in"),
                &token,
                None,
            )
            .await
        }
    };
    let (first, first_booking) = &booked[0];
    let (second, second_booking) = &booked[1];
    let (late, late_booking) = &booked[2];

    // Three days early: not yet (and the page says from when).
    let (status, body) = check_in(first.token.clone(), first_booking.clone()).await?;
    assert_eq!(
        (status, code(&body)),
        (409, Some("join_not_open_yet")),
        "{body}"
    );
    let page = resident_client(&app, &first.email)
        .await?
        .get(app.at(&format!("/counter/appointments/{first_booking}")))
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(page.contains("から参加できます"), "{page}");
    // Someone else's reservation is not theirs to check in; staff do not check in for them.
    let (status, _) = check_in(second.token.clone(), first_booking.clone()).await?;
    assert_eq!(status, 404);
    let (status, _) = check_in(hq.clone(), first_booking.clone()).await?;
    assert_eq!(status, 403);

    // Five minutes before the time, a walk-in takes a number first; then the booked resident
    // checks in (twice: the same ticket).
    real_now();
    let walk_in = resident(&app).await?;
    clock.set(start - Duration::minutes(5));
    let (status, walked) = call(
        &app,
        Method::POST,
        &format!("/api/v1/counter/queues/{queue}/tickets"),
        &walk_in.token,
        Some(json!({})),
    )
    .await?;
    assert_eq!(status, 201, "{walked}");
    let (status, ticket) = check_in(first.token.clone(), first_booking.clone()).await?;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["source"], "appointment");
    let (status, again) = check_in(first.token.clone(), first_booking.clone()).await?;
    assert_eq!((status, id(&again)), (200, id(&ticket)));
    // The department's wall view: one checked in and waiting (with its number), two not yet.
    let today = wall().await?;
    assert!(today.contains("オンライン子育て相談"), "{today}");
    assert_eq!(today.matches("受付済み・待ち").count(), 1, "{today}");
    assert_eq!(today.matches("受付前").count(), 2, "{today}");
    assert!(today.contains(ticket["number"].as_str().unwrap_or("?")));

    // The specialist's next call is the booked resident, before the walk-in.
    let (status, called) = call(
        &app,
        Method::POST,
        &format!("/api/v1/counter/queues/{queue}/call-next"),
        &hq,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{called}");
    assert_eq!(id(&called), id(&ticket), "{called}");
    let (status, answered) = call(
        &app,
        Method::POST,
        &format!("/api/v1/counter/tickets/{}/answer", id(&ticket)),
        &first.token,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{answered}");
    // The specialist's console offers the record form for the call.
    let console = hq_pages
        .get(app.at("/staff/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        console.contains(&format!("/staff/counter/tickets/{}/record", id(&ticket))),
        "{console}"
    );
    // A record with a bad result or notes is refused, field by field, and nothing is kept.
    let record = format!("/api/v1/counter/tickets/{}/record", id(&ticket));
    for (body, field) in [
        (json!({"result": "solved"}), "result"),
        (json!({"result": "resolved", "notes": "a\u{0}b"}), "notes"),
        (
            json!({"result": "resolved", "notes": "長".repeat(2001)}),
            "notes",
        ),
    ] {
        let (status, refused) = call(&app, Method::PUT, &record, &hq, Some(body)).await?;
        assert_eq!(
            (status, refused["error"]["fields"][0]["field"].as_str()),
            (422, Some(field)),
            "{refused}"
        );
    }
    // Through the console's form: too long notes come back on the page as typed, with the
    // problem; good ones are saved.
    let token = form_token(&hq_pages, &app, "/staff/counter").await?;
    let page_record = app.at(&format!("/staff/counter/tickets/{}/record", id(&ticket)));
    let long = format!("下書き{}", "あ".repeat(2000));
    let refused = hq_pages
        .post(&page_record)
        .form(&[
            ("csrf_token", token.as_str()),
            ("result", "other"),
            ("notes", long.as_str()),
            ("finish", "0"),
        ])
        .send()
        .await?;
    assert_eq!(refused.status(), 422);
    assert!(
        refused.text().await?.contains(&long),
        "the typed notes are kept"
    );
    let saved = hq_pages
        .post(&page_record)
        .form(&[
            ("csrf_token", token.as_str()),
            ("result", "other"),
            ("notes", "下書き"),
            ("finish", "0"),
        ])
        .send()
        .await?;
    assert_eq!(saved.status(), 303);
    let console = hq_pages
        .get(app.at("/staff/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(console.contains(">下書き</textarea>"), "{console}");
    // A resident cannot write it.
    let (status, _) = call(
        &app,
        Method::PUT,
        &record,
        &first.token,
        Some(json!({"result": "resolved"})),
    )
    .await?;
    assert_eq!(status, 403);
    // Saved during the call, then saved again as the consultation ends: the reservation is
    // attended, and the audit log has the results, never the notes.
    let (status, saved) = call(
        &app,
        Method::PUT,
        &record,
        &hq,
        Some(json!({"result": "follow_up", "notes": "住民票の写しを郵送予定"})),
    )
    .await?;
    assert_eq!(
        (status, saved["ticket"]["status"].as_str()),
        (200, Some("in_call")),
        "{saved}"
    );
    let (status, finished) = call(
        &app,
        Method::PUT,
        &record,
        &hq,
        Some(json!({"result": "resolved", "notes": "郵送で解決", "finish": true})),
    )
    .await?;
    assert_eq!(
        (
            status,
            finished["ticket"]["status"].as_str(),
            finished["result"].as_str(),
            finished["notes"].as_str()
        ),
        (200, Some("finished"), Some("resolved"), Some("郵送で解決")),
        "{finished}"
    );
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &madoguchi_storage::AuditFilter {
                action_prefix: Some("counter.outcome_recorded".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(audit.len(), 3, "the page's save and the two above");
    assert!(
        audit
            .iter()
            .all(|e| !e.details.to_string().contains("郵送"))
    );
    assert_eq!(
        reservation_status(&app, first_booking).await?,
        ReservationStatus::Attended
    );

    // The second resident checks in and never answers: called, sent to the back (behind the
    // walk-in, who is served), called again, then a no-show counted as the reservation's.
    let (status, ticket) = check_in(second.token.clone(), second_booking.clone()).await?;
    assert_eq!(status, 201, "{ticket}");
    let (status, refused) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/counter/tickets/{}/record", id(&ticket)),
        &hq,
        Some(json!({"result": "resolved"})),
    )
    .await?;
    assert_eq!(
        (status, code(&refused)),
        (409, Some("ticket_state_conflict")),
        "nothing to record yet"
    );
    let follow_up = |ticket: String, action: &'static str| {
        let (app, hq) = (&app, hq.clone());
        async move {
            call(
                app,
                Method::POST,
                &format!("/api/v1/counter/tickets/{ticket}/follow-up"),
                &hq,
                Some(json!({"action": action})),
            )
            .await
        }
    };
    let call_next = || {
        let (app, hq, queue) = (&app, hq.clone(), queue.clone());
        async move {
            call(
                app,
                Method::POST,
                &format!("/api/v1/counter/queues/{queue}/call-next"),
                &hq,
                None,
            )
            .await
        }
    };
    let (status, called) = call_next().await?;
    assert_eq!((status, id(&called)), (200, id(&ticket)), "{called}");
    assert_eq!(follow_up(id(&ticket), "no_answer").await?.0, 200);
    let (status, called) = call_next().await?;
    assert_eq!((status, id(&called)), (200, id(&walked)), "{called}");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/counter/tickets/{}/answer", id(&walked)),
        &walk_in.token,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(follow_up(id(&walked), "finish").await?.0, 200);
    let (status, called) = call_next().await?;
    assert_eq!((status, id(&called)), (200, id(&ticket)), "{called}");
    let (status, gone) = follow_up(id(&ticket), "no_answer").await?;
    assert_eq!(
        (status, gone["outcome"].as_str()),
        (200, Some("no_show")),
        "{gone}"
    );
    assert_eq!(
        reservation_status(&app, second_booking).await?,
        ReservationStatus::NoShow
    );
    let (status, body) = check_in(second.token.clone(), second_booking.clone()).await?;
    assert_eq!((status, code(&body)), (409, Some("not_joinable")), "{body}");
    let today = wall().await?;
    assert_eq!(
        (
            today.matches(">終了<").count(),
            today.matches(">不在<").count(),
            today.matches(">受付前<").count()
        ),
        (1, 1, 1),
        "{today}"
    );

    // Half an hour after the end it is too late.
    clock.set(start + Duration::minutes(61));
    let (status, body) = check_in(late.token.clone(), late_booking.clone()).await?;
    assert_eq!((status, code(&body)), (409, Some("join_closed")), "{body}");
    Ok(())
}

async fn reservation_status(app: &TestApp, id: &str) -> anyhow::Result<ReservationStatus> {
    Ok(app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(id)?))
        .await?
        .status)
}

/// The department the demo's HQ specialist serves.
async fn hq_department(app: &TestApp) -> anyhow::Result<String> {
    let email = madoguchi_domain::Email::parse(&app.login(Role::HqStaff).email)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let account = app
        .storage
        .account_by_email(app.tenant.id, madoguchi_domain::AccountKind::Staff, &email)
        .await?;
    app.storage.roles(app.tenant.id, account.id).await?[0]
        .department_id
        .map(|d| d.to_string())
        .ok_or_else(|| anyhow::anyhow!("hq@ has no department"))
}
