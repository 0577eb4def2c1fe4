//! The day sheet's opening day and its rows, over HTTP like a browser without JavaScript: asked
//! without a date it opens on the next working day with bookings (not on an empty today), with
//! one click back to today and from any day to the next day with bookings; a cancelled row shows
//! its state instead of offering 変更・キャンセル.
//!
//! Each test books at an office of its own, and the sheet is filtered to it, so bookings other
//! data may hold (the demo city's) do not decide which day opens.

use madoguchi_domain::Role;
use madoguchi_domain::tokyo::JST;
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_date_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// 10:00 Tokyo time on `date`.
fn ten_o_clock(date: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::from_hms(10, 0, 0).expect("valid hour")).assume_offset(JST)
}

/// Calls the API as `token`; returns the status and the body.
async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
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
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// A fresh office, a consultation and a bookable session at it on each of `days`; returns the
/// office id and the session ids in the order of `days`.
async fn sessions(
    app: &TestApp,
    admin: &str,
    code: &str,
    days: &[Date],
) -> anyhow::Result<(String, Vec<String>)> {
    let (status, office) = call(
        app,
        admin,
        reqwest::Method::POST,
        "/api/v1/offices",
        Some(json!({"code": code, "kind": "branch", "name_ja": "試験出張所", "name_en": "Test sub-office"})),
    )
    .await?;
    anyhow::ensure!(status == 201, "office created: {status} {office}");
    let office = office["id"].as_str().unwrap_or_default().to_owned();
    let (status, service) = call(
        app,
        admin,
        reqwest::Method::POST,
        "/api/v1/services",
        Some(json!({
            "code": code, "kind": "consultation", "name_ja": "税務相談", "name_en": "Tax consultation",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                      "cancellation": {"deadline_hours_before": 24}}
        })),
    )
    .await?;
    anyhow::ensure!(status == 201, "service created: {status} {service}");
    let service = service["id"].as_str().unwrap_or_default().to_owned();
    let mut ids = Vec::new();
    for day in days {
        let start = ten_o_clock(*day);
        let (status, added) = call(
            app,
            admin,
            reqwest::Method::POST,
            &format!("/api/v1/services/{service}/slots"),
            Some(
                json!({"slots": [{"office_id": office, "starts_at": rfc3339(start),
                "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": 3}]}),
            ),
        )
        .await?;
        anyhow::ensure!(status == 200 && added["added"] == 1, "slot added: {added}");
        let (_, slots) = call(
            app,
            admin,
            reqwest::Method::GET,
            &format!("/api/v1/services/{service}/slots?date={day}"),
            None,
        )
        .await?;
        let id = slots
            .as_array()
            .and_then(|s| s.iter().find(|s| s["office_id"] == office.as_str()))
            .and_then(|s| s["id"].as_str())
            .ok_or_else(|| anyhow::anyhow!("no session on {day}: {slots}"))?;
        ids.push(id.to_owned());
    }
    Ok((office, ids))
}

/// Books `name` on `slot` for a caller; returns the reservation id.
async fn book(app: &TestApp, admin: &str, slot: &str, name: &str) -> anyhow::Result<String> {
    let (status, body) = call(
        app,
        admin,
        reqwest::Method::POST,
        "/api/v1/proxy-reservations",
        Some(
            json!({"slot_id": slot, "caller": {"name_kanji": name, "name_kana": "マドグチ",
            "birth_date": "1950-01-02", "phone": "0312345678"}, "answers": {}}),
        ),
    )
    .await?;
    anyhow::ensure!(status == 201, "booked: {status} {body}");
    Ok(body["reservation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn cancel(app: &TestApp, admin: &str, reservation: &str) -> anyhow::Result<()> {
    let (status, body) = call(
        app,
        admin,
        reqwest::Method::DELETE,
        &format!("/api/v1/reservations/{reservation}?reason=%E9%9B%BB%E8%A9%B1"),
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "cancelled: {status} {body}");
    Ok(())
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<String> {
    let response = client.get(app.at(path)).send().await?;
    anyhow::ensure!(
        response.status() == 200,
        "GET {path} answered {}",
        response.status()
    );
    Ok(response.text().await?)
}

/// The first open day after `date` (by the default calendar).
fn open_day_after(date: Date) -> Date {
    (1..30)
        .map(open_date_ahead)
        .find(|d| *d > date)
        .expect("an open day within a month")
}

/// The `<tr>` of reservation `id` in a sheet.
fn row_of<'a>(sheet: &'a str, id: &str) -> &'a str {
    let start = sheet
        .find(&format!("<tr id=\"r-{id}\""))
        .unwrap_or_else(|| panic!("row {id} on the sheet"));
    let end = sheet[start..]
        .find("</tr>")
        .map_or(sheet.len(), |e| start + e);
    &sheet[start..end]
}

async fn the_sheet_opens_on_the_next_working_day_with_bookings(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let today = OffsetDateTime::now_utc().to_offset(JST).date();
    // A day with only a cancelled booking, then the day with work.
    let quiet = open_date_ahead(2);
    let busy = open_day_after(quiet);
    let (office, slots) = sessions(&app, &admin, "sheet-opening", &[quiet, busy]).await?;
    let gone = book(&app, &admin, &slots[0], "佐藤 次郎").await?;
    cancel(&app, &admin, &gone).await?;
    book(&app, &admin, &slots[1], "山田 太郎").await?;

    let client = staff_client(&app, Role::Admin).await?;
    let sheet = page(&client, &app, &format!("/staff/day-sheet?office={office}")).await?;
    assert!(
        sheet.contains(&format!("name=\"date\" type=\"date\" value=\"{busy}\"")),
        "the sheet opens on {busy}, the next day with bookings: {sheet}"
    );
    assert!(sheet.contains("山田 太郎"), "its booking is listed");
    assert!(
        !sheet.contains("佐藤 次郎"),
        "a day with only a cancelled booking is passed over"
    );
    assert!(
        sheet.contains("予約のある次の開庁日を表示しています"),
        "the sheet says why it is not today"
    );
    assert!(
        sheet.contains(&format!("day-sheet?date={today}&amp;office={office}\"")),
        "one click back to today, keeping the office: {sheet}"
    );

    // Today, asked for by date, stays today and offers the next day with bookings.
    let sheet = page(
        &client,
        &app,
        &format!("/staff/day-sheet?date={today}&office={office}"),
    )
    .await?;
    assert!(sheet.contains(&format!("value=\"{today}\"")));
    assert!(!sheet.contains("予約のある次の開庁日を表示しています"));
    assert!(
        sheet.contains(&format!("day-sheet?date={busy}&amp;office={office}\""))
            && sheet.contains("予約のある次の日"),
        "from today one click to the next day with bookings: {sheet}"
    );

    // The English sheet says the same.
    let sheet = page(
        &client,
        &app,
        &format!("/staff/day-sheet?office={office}&lang=en"),
    )
    .await?;
    assert!(sheet.contains(&format!("value=\"{busy}\"")));
    assert!(sheet.contains("the next working day with bookings is shown"));
    Ok(())
}
on_both_backends!(
    the_sheet_opens_on_the_next_working_day_with_bookings,
    the_sheet_opens_on_the_next_working_day_with_bookings
);

async fn the_sheet_opens_on_today_when_nothing_is_booked(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let today = OffsetDateTime::now_utc().to_offset(JST).date();
    let (office, _) = sessions(&app, &admin, "sheet-empty", &[open_date_ahead(2)]).await?;
    let client = staff_client(&app, Role::Admin).await?;
    let sheet = page(&client, &app, &format!("/staff/day-sheet?office={office}")).await?;
    assert!(sheet.contains(&format!("value=\"{today}\"")), "{sheet}");
    assert!(!sheet.contains("予約のある次の開庁日を表示しています"));
    assert!(
        !sheet.contains("予約のある次の日"),
        "no next day with bookings is offered"
    );
    Ok(())
}
on_both_backends!(
    the_sheet_opens_on_today_when_nothing_is_booked,
    the_sheet_opens_on_today_when_nothing_is_booked
);

async fn a_cancelled_row_shows_its_state_instead_of_change_and_cancel(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let day = open_date_ahead(2);
    let (office, slots) = sessions(&app, &admin, "sheet-cancelled", &[day]).await?;
    let kept = book(&app, &admin, &slots[0], "山田 太郎").await?;
    let gone = book(&app, &admin, &slots[0], "佐藤 次郎").await?;
    cancel(&app, &admin, &gone).await?;

    let client = staff_client(&app, Role::Admin).await?;
    let sheet = page(
        &client,
        &app,
        &format!("/staff/day-sheet?date={day}&office={office}"),
    )
    .await?;
    let row = row_of(&sheet, &gone);
    assert!(
        !row.contains("変更・キャンセル"),
        "a cancelled row offers no change or cancel: {row}"
    );
    assert!(row.contains("キャンセル済み"), "it shows its state: {row}");
    assert!(
        row.contains(&format!("href=\"/staff/reservations/{gone}\"")),
        "its details can still be read"
    );
    let row = row_of(&sheet, &kept);
    assert!(
        row.contains("変更・キャンセル"),
        "a booked row still offers them: {row}"
    );

    let sheet = page(
        &client,
        &app,
        &format!("/staff/day-sheet?date={day}&office={office}&lang=en"),
    )
    .await?;
    let row = row_of(&sheet, &gone);
    assert!(!row.contains("Change or cancel") && row.contains("Cancelled"));
    Ok(())
}
on_both_backends!(
    a_cancelled_row_shows_its_state_instead_of_change_and_cancel,
    a_cancelled_row_shows_its_state_instead_of_change_and_cancel
);
