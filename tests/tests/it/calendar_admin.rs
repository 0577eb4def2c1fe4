//! The calendar settings over HTTP: an administrator imports the Cabinet Office holiday file
//! (Shift_JIS, as the Cabinet Office publishes it) with a city's own day added, checks the
//! differences, confirms, and from then on slots are not made on that day and an existing slot
//! on it cannot be booked. A broken file is refused with its line and stores nothing; only
//! administrators reach any of it.

use madoguchi_calendar::{MunicipalCalendar, holidays_in_year};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{OfficeId, Role};
use madoguchi_storage::AuditFilter;
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::open_date_ahead;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, PrimitiveDateTime, Time};

const CITY_DAY: &str = "市制記念日";
const BOUNDARY: &str = "madoguchi-test-boundary-7f3a";

/// The Cabinet Office file of `year` with the city's day added, in Shift_JIS with CRLF.
fn cabinet_office_file(year: i32, city_day: Date) -> Vec<u8> {
    let mut text = String::from("国民の祝日・休日月日,国民の祝日・休日名称\r\n");
    for holiday in holidays_in_year(year).expect("computed year") {
        let d = holiday.date;
        text.push_str(&format!(
            "{}/{}/{},{}\r\n",
            d.year(),
            u8::from(d.month()),
            d.day(),
            holiday.name_ja()
        ));
    }
    text.push_str(&format!(
        "{}/{}/{},{CITY_DAY}\r\n",
        city_day.year(),
        u8::from(city_day.month()),
        city_day.day()
    ));
    shift_jis(&text)
}

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "the text is Shift_JIS");
    bytes.into_owned()
}

/// A `multipart/form-data` body with the CSRF token and one file, as a browser sends it.
fn upload_body(csrf: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"syukujitsu.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    file: &[u8],
) -> anyhow::Result<(u16, String)> {
    let csrf = form_token(client, app, "/admin/calendar/import").await?;
    let response = client
        .post(app.at(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(upload_body(&csrf, file))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// An instant at `hour`:00 Tokyo time on `date`, as RFC 3339.
fn tokyo(date: Date, hour: u8) -> String {
    PrimitiveDateTime::new(date, Time::from_hms(hour, 0, 0).expect("valid hour"))
        .assume_offset(JST)
        .format(&Rfc3339)
        .expect("formattable")
}

/// A consultation bookable from 60 days ahead until a day before, for anyone.
async fn service(app: &TestApp, admin: &str, code: &str) -> anyhow::Result<String> {
    let service: Value = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({
            "code": code, "kind": "consultation", "name_ja": "市民相談", "name_en": "Citizens' consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 24}
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    let id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!id.is_empty(), "service not created: {service}");
    Ok(id)
}

/// Adds one 10:00 slot on `date` at `office` and returns its id.
async fn slot_on(
    app: &TestApp,
    admin: &str,
    service: &str,
    office: &str,
    date: Date,
) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service}/slots")))
        .bearer_auth(admin)
        .json(&json!({"slots": [
            {"office_id": office, "starts_at": tokyo(date, 10), "ends_at": tokyo(date, 11), "capacity": 5}
        ]}))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot added: {added}");
    let slots: Vec<Value> = client
        .get(app.at(&format!("/api/v1/services/{service}/slots?date={date}")))
        .send()
        .await?
        .json()
        .await?;
    let id = slots
        .first()
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(!id.is_empty(), "no slot on {date}");
    Ok(id)
}

async fn generate(
    app: &TestApp,
    admin: &str,
    service: &str,
    office: &str,
    day: Date,
) -> anyhow::Result<Value> {
    let weekday = day.weekday().to_string().to_lowercase();
    let response = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/services/{service}/slots/generate")))
        .bearer_auth(admin)
        .json(&json!({"office_id": office, "from": day.to_string(), "to": day.to_string(), "patterns": [
            {"weekday": weekday, "start": "13:00", "end": "14:00", "slot_minutes": 30, "buffer_minutes": 0, "capacity": 2}
        ]}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "generate answered {}",
        response.status()
    );
    Ok(response.json().await?)
}

async fn book(app: &TestApp, token: &str, slot: &str) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(token)
        .json(&json!({"slot_id": slot}))
        .send()
        .await?;
    Ok((
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    ))
}

async fn first_office(app: &TestApp) -> anyhow::Result<String> {
    Ok(app.storage.list_offices(app.tenant.id).await?[0]
        .id
        .to_string())
}

// ---------------------------------------------------------------------------------------------
// Stories
// ---------------------------------------------------------------------------------------------

async fn an_imported_city_day_closes_slot_generation_and_booking(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = staff_token(&app, Role::Admin).await?;
    let office = first_office(&app).await?;
    let service = service(&app, &admin, "shimin-soudan").await?;
    let city_day = open_date_ahead(14);
    // A slot made while the day was still open.
    let slot = slot_on(&app, &admin, &service, &office, city_day).await?;

    // Upload: the preview names the city's day as the one difference, nothing is stored yet.
    let pages = staff_client(&app, Role::Admin).await?;
    let file = cabinet_office_file(city_day.year(), city_day);
    let (status, preview) = upload(&pages, &app, "/admin/calendar/import", &file).await?;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains(CITY_DAY), "the city's day is shown");
    assert!(
        preview.contains("一覧にのみある"),
        "as a day only in the list"
    );
    assert!(
        !preview.contains("一覧にない"),
        "no computed holiday is missing"
    );
    assert!(
        app.storage
            .imported_holidays(app.tenant.id)
            .await?
            .is_empty()
    );

    // Confirm: stored, audited, and the overview shows it as imported.
    let confirm = pages
        .post(app.at("/admin/calendar/import/confirm"))
        .form(&[
            ("csrf_token", csrf_from(&preview).as_str()),
            ("holidays", hidden(&preview, "holidays").as_str()),
        ])
        .send()
        .await?;
    assert_eq!(confirm.status(), 303);
    let year = city_day.year();
    assert!(
        location(&confirm).starts_with(&format!("/admin/calendar?year={year}&imported=")),
        "{}",
        location(&confirm)
    );
    let overview = pages
        .get(app.at(&location(&confirm)))
        .send()
        .await?
        .text()
        .await?;
    assert!(overview.contains(CITY_DAY), "the overview lists the day");
    assert!(overview.contains("取り込んだ一覧"), "with its source");
    assert!(
        overview.contains("件の祝日を取り込みました"),
        "and a notice"
    );
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("calendar.".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "calendar.holidays_imported"),
        "the import is audited"
    );

    // Slot generation skips the day, and still makes slots on the same weekday a week later.
    let skipped = generate(&app, &admin, &service, &office, city_day).await?;
    assert_eq!(skipped["added"], 0, "no slots on the city's day: {skipped}");
    let next_week = {
        let calendar = MunicipalCalendar::builder()
            .build()
            .expect("default calendar");
        let mut day = city_day + Duration::days(7);
        while !calendar
            .is_open(OfficeId(uuid::Uuid::nil()), day)
            .unwrap_or(false)
        {
            day += Duration::days(7);
        }
        day
    };
    let made = generate(&app, &admin, &service, &office, next_week).await?;
    assert_eq!(made["added"], 2, "an ordinary day gets its slots: {made}");

    // The slot made before the import can no longer be booked.
    let resident = resident(&app).await?.token;
    let (status, body) = book(&app, &resident, &slot).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("booking_day_closed")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("休業日")
    );
    let mine: Vec<Value> = reqwest::Client::new()
        .get(app.at("/api/v1/me/reservations"))
        .bearer_auth(&resident)
        .send()
        .await?
        .json()
        .await?;
    assert!(mine.is_empty(), "nothing was booked");
    Ok(())
}
on_both_backends!(
    an_imported_city_day_closes_slot_generation_and_booking,
    an_imported_city_day_closes_slot_generation_and_booking
);

async fn a_broken_file_is_refused_with_its_line_and_stores_nothing(
    app: TestApp,
) -> anyhow::Result<()> {
    let pages = staff_client(&app, Role::Admin).await?;
    let broken = shift_jis(
        "国民の祝日・休日月日,国民の祝日・休日名称\r\n2027/1/1,元日\r\n2027/2/30,架空の日\r\n2027/3/21,春分の日\r\n",
    );
    let (status, page) = upload(&pages, &app, "/admin/calendar/import", &broken).await?;
    assert_eq!(status, 422);
    assert!(page.contains("3行目"), "the line is named");
    assert!(page.contains("そのような日はありません"), "and why");
    let (status, page) = upload(&pages, &app, "/admin/calendar/import?lang=en", &broken).await?;
    assert_eq!(status, 422);
    assert!(page.contains("Line 3"), "in the reader's language");

    // An upload without the form's CSRF token never reaches the handler.
    let forged = pages
        .post(app.at("/admin/calendar/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(upload_body(
            "not-the-token",
            &cabinet_office_file(2027, open_date_ahead(14)),
        ))
        .send()
        .await?;
    assert_eq!(forged.status(), 403);

    // A payload tampered with between preview and confirmation is refused the same way.
    let csrf = form_token(&pages, &app, "/admin/calendar/import").await?;
    let tampered = pages
        .post(app.at("/admin/calendar/import/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("holidays", "bm90IGpzb24")])
        .send()
        .await?;
    assert_eq!(tampered.status(), 422);

    // The API answers with the line too.
    let admin = staff_token(&app, Role::Admin).await?;
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/calendar/holidays/import"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(broken)
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "invalid_holiday_file");
    assert_eq!(body["error"]["line"], 3);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("3行目")
    );
    assert!(
        app.storage
            .imported_holidays(app.tenant.id)
            .await?
            .is_empty()
    );
    Ok(())
}
on_both_backends!(
    a_broken_file_is_refused_with_its_line_and_stores_nothing,
    a_broken_file_is_refused_with_its_line_and_stores_nothing
);

async fn only_administrators_reach_the_calendar(app: TestApp) -> anyhow::Result<()> {
    let file = cabinet_office_file(2027, open_date_ahead(14));

    // Branch staff: no pages, no upload.
    let clerk = staff_client(&app, Role::BranchStaff).await?;
    let page = clerk.get(app.at("/admin/calendar")).send().await?;
    assert_eq!(page.status(), 403);
    let csrf = form_token(&clerk, &app, "/staff").await?;
    let upload = clerk
        .post(app.at("/admin/calendar/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(upload_body(&csrf, &file))
        .send()
        .await?;
    assert_eq!(upload.status(), 403);
    let year_end = clerk
        .post(app.at("/admin/calendar/year-end"))
        .form(&[("csrf_token", csrf.as_str()), ("mode", "none")])
        .send()
        .await?;
    assert_eq!(year_end.status(), 403);

    // Signed out: sent to sign in.
    let anonymous = app.client().get(app.at("/admin/calendar")).send().await?;
    assert_ne!(anonymous.status(), 200);

    // The API: branch staff and residents are refused, no token is unauthenticated.
    let branch = staff_token(&app, Role::BranchStaff).await?;
    let resident = resident(&app).await?.token;
    for token in [&branch, &resident] {
        let read = reqwest::Client::new()
            .get(app.at("/api/v1/calendar"))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(read.status(), 403);
        let import = reqwest::Client::new()
            .post(app.at("/api/v1/calendar/holidays/import"))
            .bearer_auth(token)
            .body(file.clone())
            .send()
            .await?;
        assert_eq!(import.status(), 403);
    }
    let nobody = reqwest::Client::new()
        .get(app.at("/api/v1/calendar"))
        .send()
        .await?;
    assert_eq!(nobody.status(), 401);
    assert!(
        app.storage
            .imported_holidays(app.tenant.id)
            .await?
            .is_empty()
    );
    assert_eq!(
        app.storage.year_end_closure(app.tenant.id).await?,
        Some(madoguchi_calendar::YearEndClosure::default())
    );
    Ok(())
}
on_both_backends!(
    only_administrators_reach_the_calendar,
    only_administrators_reach_the_calendar
);

async fn an_administrator_sets_the_year_end_and_closing_days_through_the_pages(
    app: TestApp,
) -> anyhow::Result<()> {
    let pages = staff_client(&app, Role::Admin).await?;
    let csrf = form_token(&pages, &app, "/admin/calendar").await?;

    // The year-end closure, with a mistake first.
    let wrong = pages
        .post(app.at("/admin/calendar/year-end"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("mode", "closure"),
            ("first", "12-28"),
            ("last", "1/32"),
        ])
        .send()
        .await?;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong.text().await?.contains("aria-invalid"),
        "the field is marked"
    );
    let saved = pages
        .post(app.at("/admin/calendar/year-end"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("mode", "closure"),
            ("first", "12-28"),
            ("last", "1/4"),
        ])
        .send()
        .await?;
    assert_eq!(saved.status(), 303);
    let overview = pages
        .get(app.at("/admin/calendar"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        overview.contains("12月28日〜1月4日"),
        "the new closure is shown"
    );

    // A closing date of the first office, shown and then removed.
    let office = first_office(&app).await?;
    let day = open_date_ahead(20);
    let added = pages
        .post(app.at(&format!("/admin/calendar/offices/{office}/rules")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "date"),
            ("date", day.to_string().as_str()),
            ("last", ""),
            ("note", "床の張り替え"),
        ])
        .send()
        .await?;
    assert_eq!(added.status(), 303);
    let page = pages
        .get(app.at(&format!("/admin/calendar/offices/{office}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("床の張り替え"), "the closing day is listed");
    let overview = pages
        .get(app.at("/admin/calendar"))
        .send()
        .await?
        .text()
        .await?;
    assert!(overview.contains("床の張り替え"), "and on the overview");

    // Closing every day of the week is refused.
    for weekday in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ] {
        let response = pages
            .post(app.at(&format!("/admin/calendar/offices/{office}/rules")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "weekly"),
                ("weekday", weekday),
                ("on_holiday", "stay_closed"),
            ])
            .send()
            .await?;
        assert_eq!(response.status(), 303, "{weekday}");
    }
    let sunday = pages
        .post(app.at(&format!("/admin/calendar/offices/{office}/rules")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("kind", "weekly"),
            ("weekday", "sunday"),
            ("on_holiday", "stay_closed"),
        ])
        .send()
        .await?;
    assert_eq!(sunday.status(), 422);

    let stored = app
        .storage
        .office_calendar(app.tenant.id, OfficeId(office.parse()?))
        .await?;
    assert_eq!(stored.rules.len(), 7, "the date and six weekdays");
    let removed = pages
        .post(app.at(&format!(
            "/admin/calendar/offices/{office}/rules/{}/remove",
            stored.rules[0].id
        )))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(removed.status(), 303);
    let page = pages
        .get(app.at(&format!("/admin/calendar/offices/{office}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(!page.contains("床の張り替え"), "the closing day is gone");
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("calendar.".into()),
                limit: 50,
                ..AuditFilter::default()
            },
        )
        .await?;
    for action in [
        "calendar.year_end_closure_set",
        "calendar.closing_day_added",
        "calendar.closing_day_removed",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
    Ok(())
}
on_both_backends!(
    an_administrator_sets_the_year_end_and_closing_days_through_the_pages,
    an_administrator_sets_the_year_end_and_closing_days_through_the_pages
);

async fn the_api_manages_the_calendar_and_an_office_closing_day_refuses_bookings(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = staff_token(&app, Role::Admin).await?;
    let client = reqwest::Client::new();
    let office = first_office(&app).await?;

    // Preview a UTF-8 file: nothing stored, the differences told.
    let preview: Value = client
        .post(app.at("/api/v1/calendar/holidays/preview"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body("国民の祝日・休日月日,国民の祝日・休日名称\n2031/1/1,元日\n2031/6/1,市制記念日\n")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(preview["years"], json!([2031]));
    assert_eq!(preview["holidays"], 2);
    let differences = preview["differences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        differences
            .iter()
            .any(|d| d["difference"] == "extra" && d["date"] == "2031-06-01")
    );
    assert!(differences.iter().any(|d| d["difference"] == "missing"));
    assert!(
        app.storage
            .imported_holidays(app.tenant.id)
            .await?
            .is_empty()
    );

    // An office closing day on a day with a slot: the slot can no longer be booked.
    let service = service(&app, &admin, "tenken-soudan").await?;
    let day = open_date_ahead(15);
    let slot = slot_on(&app, &admin, &service, &office, day).await?;
    let added = client
        .post(app.at(&format!("/api/v1/calendar/offices/{office}/rules")))
        .bearer_auth(&admin)
        .json(&json!({"rule": {"kind": "date", "date": day.to_string(), "note": "設備点検"}}))
        .send()
        .await?;
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await?;
    let rule_id = added["rules"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        added["rules"][0]["description"]
            .as_str()
            .unwrap_or("")
            .ends_with("：設備点検")
    );
    let resident = resident(&app).await?.token;
    let (status, body) = book(&app, &resident, &slot).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("booking_day_closed"))
    );
    assert_eq!(
        generate(&app, &admin, &service, &office, day).await?["added"],
        0
    );

    // Removing the closing day opens the day again.
    let removed = client
        .delete(app.at(&format!(
            "/api/v1/calendar/offices/{office}/rules/{rule_id}"
        )))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert_eq!(removed.status(), 204);
    let again = client
        .delete(app.at(&format!(
            "/api/v1/calendar/offices/{office}/rules/{rule_id}"
        )))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert_eq!(again.status(), 404);
    let (status, body) = book(&app, &resident, &slot).await?;
    assert_eq!(status, 201, "{body}");

    // Replacing an office's calendar; a reversed period is refused.
    let reversed = client
        .put(app.at(&format!("/api/v1/calendar/offices/{office}")))
        .bearer_auth(&admin)
        .json(&json!({"rules": [{"kind": "period", "first": "2027-09-30", "last": "2027-07-01"}]}))
        .send()
        .await?;
    assert_eq!(reversed.status(), 422);
    let replaced: Value = client
        .put(app.at(&format!("/api/v1/calendar/offices/{office}")))
        .bearer_auth(&admin)
        .json(&json!({"open_on_weekends_and_holidays": true, "rules": [
            {"kind": "weekly", "weekday": "monday", "on_holiday": "close_next_weekday"}
        ]}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(replaced["open_on_weekends_and_holidays"], true);
    assert_eq!(replaced["rules"][0]["rule"]["weekday"], "monday");

    // The year-end closure (last: it could close the days used above).
    let set = client
        .put(app.at("/api/v1/calendar/year-end-closure"))
        .bearer_auth(&admin)
        .json(&json!({"closure": {"first": "12-28", "last": "01-05"}}))
        .send()
        .await?;
    assert_eq!(set.status(), 204);
    let bad = client
        .put(app.at("/api/v1/calendar/year-end-closure"))
        .bearer_auth(&admin)
        .json(&json!({"closure": {"first": "13-01", "last": "01-05"}}))
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    let overview: Value = client
        .get(app.at("/api/v1/calendar?year=2027"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        overview["year_end_closure"],
        json!({"first": "12-28", "last": "01-05"})
    );
    assert!(overview["holidays"].as_array().is_some_and(|h| {
        h.iter()
            .any(|h| h["date"] == "2027-01-11" && h["source"] == "computed")
    }));

    // The document describes the calendar API.
    let doc: Value = client
        .get(app.at("/api/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    for path in [
        "/api/v1/calendar",
        "/api/v1/calendar/holidays/import",
        "/api/v1/calendar/offices/{id}/rules",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    Ok(())
}
on_both_backends!(
    the_api_manages_the_calendar_and_an_office_closing_day_refuses_bookings,
    the_api_manages_the_calendar_and_an_office_closing_day_refuses_bookings
);
