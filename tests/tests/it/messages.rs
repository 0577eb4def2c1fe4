//! What the pages say (issue 8, item 13): the proxy date list offers only seats that can be
//! booked; English staff pages carry no full-width punctuation; the department code hint has its
//! own example; the sign-in form names each field left empty, all at once. (The empty cancel
//! reason saying "required" is in `staff_pages.rs`.)

use madoguchi_domain::Role;
use madoguchi_domain::tokyo::JST;
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_date_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

fn tokyo(date: Date, hour: u8) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_offset(JST)
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<(u16, String)> {
    let response = client.get(app.at(path)).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// A consultation whose booking closes five days before each session.
async fn closes_early(app: &TestApp, admin: &str) -> anyhow::Result<String> {
    let created: Value = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({
            "code": "hayajime", "kind": "consultation", "name_ja": "法律相談", "name_en": "Legal consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 120},
                "cancellation": {"deadline_hours_before": 24}
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("service not created: {created}"))
}

async fn add_slots(
    app: &TestApp,
    admin: &str,
    service: &str,
    starts: &[OffsetDateTime],
) -> anyhow::Result<()> {
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let slots: Vec<Value> = starts
        .iter()
        .map(|start| {
            json!({"office_id": office.to_string(), "starts_at": rfc3339(*start),
                "ends_at": rfc3339(*start + Duration::minutes(30)), "capacity": 4})
        })
        .collect();
    let added: Value = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/services/{service}/slots")))
        .bearer_auth(admin)
        .json(&json!({ "slots": slots }))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == starts.len(), "slots added: {added}");
    Ok(())
}

/// The day row of `date` in the proxy page's list of days.
fn day_row(html: &str, date: Date) -> &str {
    let start = html
        .find(&format!("date={date}\""))
        .unwrap_or_else(|| panic!("{date} not listed in {html}"));
    let end = html[start..]
        .find("</tr>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

async fn the_proxy_date_list_offers_only_seats_that_can_be_booked(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = closes_early(&app, &admin).await?;
    // Two sessions on a day whose booking has closed, two on a day still open.
    let closed = open_date_ahead(2);
    let open = open_date_ahead(9);
    add_slots(
        &app,
        &admin,
        &service,
        &[
            tokyo(closed, 10),
            tokyo(closed, 14),
            tokyo(open, 10),
            tokyo(open, 14),
        ],
    )
    .await?;
    let clerk = staff_client(&app, Role::Admin).await?;
    let (status, html) = get(
        &clerk,
        &app,
        &format!("/staff/proxy-booking?service={service}"),
    )
    .await?;
    assert_eq!(status, 200);
    let row = day_row(&html, closed);
    assert!(
        row.contains("受付終了") && !row.contains("残り"),
        "a day whose every session is closed offers no seats: {row}"
    );
    let row = day_row(&html, open);
    assert!(row.contains("残り8席"), "{row}");

    // The day's own list agrees, slot by slot.
    let (_, html) = get(
        &clerk,
        &app,
        &format!("/staff/proxy-booking?service={service}&date={closed}"),
    )
    .await?;
    assert!(
        !html.contains("/staff/proxy-booking?slot="),
        "nothing to choose"
    );
    Ok(())
}
on_both_backends!(
    the_proxy_date_list_offers_only_seats_that_can_be_booked,
    the_proxy_date_list_offers_only_seats_that_can_be_booked
);

/// Full-width punctuation, as `i18n`'s unit test forbids it in English messages.
fn full_width_punctuation(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            matches!(*c, '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}'
                | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
        })
        .collect()
}

async fn english_staff_pages_have_no_full_width_punctuation(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = closes_early(&app, &admin).await?;
    let day = open_date_ahead(9);
    add_slots(&app, &admin, &service, &[tokyo(day, 10)]).await?;
    let clerk = staff_client(&app, Role::Admin).await?;
    for path in [
        "/staff/proxy-booking?lang=en".to_owned(),
        format!("/staff/proxy-booking?service={service}&lang=en"),
        format!("/staff/proxy-booking?service={service}&date={day}&lang=en"),
        "/staff/suspensions?lang=en".to_owned(),
        // (The offices' and departments' lists show their Japanese names beside the English.)
        "/admin/staff?lang=en".to_owned(),
    ] {
        let (status, html) = get(&clerk, &app, &path).await?;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            full_width_punctuation(&html),
            Vec::<char>::new(),
            "{path}: {html}"
        );
    }
    Ok(())
}
on_both_backends!(
    english_staff_pages_have_no_full_width_punctuation,
    english_staff_pages_have_no_full_width_punctuation
);

async fn the_department_code_hint_has_its_own_example(app: TestApp) -> anyhow::Result<()> {
    let admin = staff_client(&app, Role::Admin).await?;
    let (_, offices) = get(&admin, &app, "/admin/offices").await?;
    let (_, departments) = get(&admin, &app, "/admin/departments").await?;
    assert!(offices.contains("例: kita-shisho"));
    assert!(
        departments.contains("例: kosodate-shien") && !departments.contains("例: kita-shisho"),
        "a department is not an office"
    );
    Ok(())
}
on_both_backends!(
    the_department_code_hint_has_its_own_example,
    the_department_code_hint_has_its_own_example
);

async fn the_sign_in_form_names_every_empty_field_at_once(app: TestApp) -> anyhow::Result<()> {
    let client = app.client();
    let (_, form) = get(&client, &app, "/signin").await?;
    let response = client
        .post(app.at("/signin"))
        .form(&[
            ("csrf_token", csrf_from(&form).as_str()),
            ("email", ""),
            ("password", ""),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    for marked in [
        "href=\"#f-email\"",
        "id=\"f-email-error\"",
        "href=\"#f-password\"",
        "id=\"f-password-error\"",
        "入力してください。",
    ] {
        assert!(html.contains(marked), "{marked} missing in {html}");
    }
    // The sign-up form lists its problems at the top too, linked to their fields.
    let (_, form) = get(&client, &app, "/signup").await?;
    let response = client
        .post(app.at("/signup"))
        .form(&[
            ("csrf_token", csrf_from(&form).as_str()),
            ("display_name", ""),
            ("email", "not-an-address"),
            ("password", "short"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    for marked in [
        "href=\"#f-display_name\"",
        "href=\"#f-email\"",
        "href=\"#f-password\"",
        "id=\"f-password-error\"",
    ] {
        assert!(html.contains(marked), "{marked} missing in {html}");
    }
    Ok(())
}
on_both_backends!(
    the_sign_in_form_names_every_empty_field_at_once,
    the_sign_in_form_names_every_empty_field_at_once
);
