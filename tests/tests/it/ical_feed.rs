//! The "my reservations" calendar feed over HTTP: a resident books, finds the secret feed URL
//! on the "my reservations" page and through the API, a calendar app (no cookies) fetches it
//! and reads the reservation at its start in UTC, a cancelled reservation is left out, and
//! reissuing the URL retires the old one at once.
//!
//! Also the booking fixture shared with `line.rs`: a consultation with slots on the coming
//! days, of which a resident books the first one the city's calendar keeps open.

use madoguchi_domain::Role;
use madoguchi_domain::tokyo::JST;
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, Time};

on_both_backends!(
    the_feed_lists_the_residents_reservations_and_a_reissue_retires_the_old_url,
    feed_story
);
on_both_backends!(
    feed_urls_that_are_not_a_current_feeds_are_not_found,
    unknown_feed_story
);

/// A service and its open slots, in start order.
pub struct Bookable {
    pub name_ja: String,
    pub slots: Vec<(String, OffsetDateTime)>,
}

/// A consultation named `name_ja` with one 10:00–10:30 (Tokyo) slot of five seats on each of
/// the coming days from the third on. Slots on days the city is closed may be refused or not
/// offered; the rest are returned.
pub async fn consultation_with_slots(
    app: &TestApp,
    code: &str,
    name_ja: &str,
) -> anyhow::Result<Bookable> {
    let admin_login = app.login(Role::Admin).clone();
    let admin = api_token(app, "staff", &admin_login.email, &admin_login.password).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": code, "kind": "consultation", "name_ja": name_ja, "name_en": format!("{code} consultation"),
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 1}
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
    let today = OffsetDateTime::now_utc().to_offset(JST).date();
    let mut dates = Vec::new();
    let mut inputs = Vec::new();
    for days in 3..=14 {
        let date = today + time::Duration::days(days);
        let start = date.with_time(Time::from_hms(10, 0, 0)?).assume_offset(JST);
        dates.push(date);
        inputs.push(json!({
            "office_id": office, "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::minutes(30)), "capacity": 5
        }));
    }
    let added = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(&json!({ "slots": inputs }))
        .send()
        .await?;
    anyhow::ensure!(
        added.status().is_success(),
        "slots: {}",
        added.text().await?
    );
    let mut slots = Vec::new();
    for date in dates {
        let listed: Vec<Value> = client
            .get(app.at(&format!("/api/v1/services/{service_id}/slots?date={date}")))
            .send()
            .await?
            .json()
            .await
            .unwrap_or_default();
        for slot in listed {
            let id = slot["id"].as_str().unwrap_or_default().to_owned();
            let start =
                OffsetDateTime::parse(slot["starts_at"].as_str().unwrap_or_default(), &Rfc3339)?;
            slots.push((id, start));
        }
    }
    anyhow::ensure!(slots.len() >= 3, "too few open slots: {}", slots.len());
    Ok(Bookable {
        name_ja: name_ja.to_owned(),
        slots,
    })
}

/// Books the first slot at or after `from` (an index into the slots) that takes the booking;
/// returns the reservation id, the slot's index and its start.
pub async fn book_first_open(
    app: &TestApp,
    resident_token: &str,
    bookable: &Bookable,
    from: usize,
) -> anyhow::Result<(String, usize, OffsetDateTime)> {
    for (index, (slot, start)) in bookable.slots.iter().enumerate().skip(from) {
        let response = reqwest::Client::new()
            .post(app.at("/api/v1/reservations"))
            .bearer_auth(resident_token)
            .json(&json!({"slot_id": slot, "answers": {}}))
            .send()
            .await?;
        if response.status() == 201 {
            let body: Value = response.json().await?;
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            return Ok((id, index, *start));
        }
    }
    anyhow::bail!("no slot took the booking")
}

/// An RFC 5545 stamp in UTC, written independently of the code under test.
fn utc_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The content lines of a calendar: CRLF-separated, folded lines joined again.
fn content_lines(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Undoes the escaping of the templates (minijinja escapes `/` too).
pub fn unescape_html(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The feed URL shown in the page's read-only field.
fn feed_url_on(html: &str) -> String {
    let html = unescape_html(html);
    let marker = "id=\"feed-url\" type=\"url\" readonly value=\"";
    html.find(marker)
        .map(|start| {
            let rest = &html[start + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

/// The app's URL for a feed URL shown to residents (which starts with the public URL).
fn path_of(url: &str) -> String {
    url.find("/calendar/")
        .map(|i| url[i..].to_owned())
        .unwrap_or_default()
}

async fn feed_story(app: TestApp) -> anyhow::Result<()> {
    let bookable = consultation_with_slots(&app, "feed-soudan", "子育て相談").await?;
    let email = unique_email("feed");
    verified_resident(&app, &email).await?;
    let token = api_token(&app, "resident", &email, PASSWORD).await?;
    let (_, kept_index, kept_start) = book_first_open(&app, &token, &bookable, 0).await?;
    let (cancelled_id, _, cancelled_start) =
        book_first_open(&app, &token, &bookable, kept_index + 1).await?;
    let cancelled = reqwest::Client::new()
        .delete(app.at(&format!("/api/v1/reservations/{cancelled_id}")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200, "{}", cancelled.text().await?);

    // The page shows the URL, and the API gives the same one.
    let client = app.client();
    let signed_in = sign_in_page(&client, &app, "/signin", &email, PASSWORD).await?;
    assert_eq!(signed_in.status(), 303);
    let page = client
        .get(app.at("/my/reservations"))
        .send()
        .await?
        .text()
        .await?;
    let url = feed_url_on(&page);
    assert!(
        url.starts_with(&app.url),
        "absolute URL on the page: {url:?}"
    );
    assert!(url.ends_with(".ics"), "{url}");
    let feed_token = path_of(&url)
        .trim_start_matches("/calendar/")
        .trim_end_matches(".ics")
        .to_owned();
    assert!(feed_token.len() >= 22, "at least 128 bits: {feed_token}");
    let api: Value = reqwest::Client::new()
        .get(app.at("/api/v1/me/calendar-feed"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(api["url"], url.as_str(), "{api}");
    assert_eq!(
        client
            .get(app.at("/my/reservations"))
            .send()
            .await?
            .text()
            .await
            .map(|p| feed_url_on(&p))?,
        url,
        "the same URL on every visit"
    );

    // A calendar app fetches it without cookies.
    let response = reqwest::get(app.at(&path_of(&url))).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/calendar; charset=utf-8")
    );
    let ics = response.text().await?;
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    let lines = content_lines(&ics);
    assert!(
        !lines.iter().any(|l| l.starts_with("METHOD:")),
        "a feed, not an invitation"
    );
    assert_eq!(
        lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(),
        1,
        "the cancelled reservation is left out: {ics}"
    );
    let dtstart = format!("DTSTART:{}", utc_stamp(kept_start));
    assert!(lines.contains(&dtstart), "{dtstart} in {ics}");
    assert!(lines.contains(&format!(
        "DTEND:{}",
        utc_stamp(kept_start + time::Duration::minutes(30))
    )));
    assert!(lines.contains(&format!("SUMMARY:{}", bookable.name_ja)));
    assert!(lines.contains(&"STATUS:CONFIRMED".to_owned()));
    assert!(
        !ics.contains(&utc_stamp(cancelled_start)),
        "nothing of the cancelled one"
    );

    // Reissue without the form's token is refused and changes nothing.
    let forged = client
        .post(app.at("/my/calendar-feed/reissue"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    assert_eq!(reqwest::get(app.at(&path_of(&url))).await?.status(), 200);

    // Reissue: the old URL is gone at once, the new one works.
    let csrf = csrf_from(&page);
    let reissued = client
        .post(app.at("/my/calendar-feed/reissue"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(reissued.status(), 303);
    let page = client
        .get(app.at("/my/reservations"))
        .send()
        .await?
        .text()
        .await?;
    let new_url = feed_url_on(&page);
    assert!(
        !new_url.is_empty() && new_url != url,
        "a new URL: {new_url}"
    );
    assert!(page.contains("新しいURLを発行しました"), "the page says so");
    assert_eq!(reqwest::get(app.at(&path_of(&url))).await?.status(), 404);
    let fresh = reqwest::get(app.at(&path_of(&new_url))).await?;
    assert_eq!(fresh.status(), 200);
    assert!(content_lines(&fresh.text().await?).contains(&dtstart));
    let api: Value = reqwest::Client::new()
        .get(app.at("/api/v1/me/calendar-feed"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(api["url"], new_url.as_str());

    // The reissue is audited, by account id only.
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &madoguchi_storage::AuditFilter {
                action_prefix: Some("resident.calendar_feed_reissued".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(audit.len(), 1);
    Ok(())
}

async fn unknown_feed_story(app: TestApp) -> anyhow::Result<()> {
    let made_up = "A".repeat(43);
    for path in [
        format!("/calendar/{made_up}.ics"),
        format!("/calendar/{made_up}"),
        "/calendar/..%2F..%2Fetc%2Fpasswd.ics".to_owned(),
        "/calendar/short.ics".to_owned(),
    ] {
        let response = reqwest::get(app.at(&path)).await?;
        assert_eq!(response.status(), 404, "{path}");
    }
    // Staff have no reservations, so no feed.
    let admin = app.login(Role::Admin).clone();
    let token = api_token(&app, "staff", &admin.email, &admin.password).await?;
    let response = reqwest::Client::new()
        .get(app.at("/api/v1/me/calendar-feed"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    let anonymous = reqwest::get(app.at("/api/v1/me/calendar-feed")).await?;
    assert_eq!(anonymous.status(), 401);
    // The document describes the endpoint.
    let openapi: Value = reqwest::get(app.at("/api/openapi.json"))
        .await?
        .json()
        .await?;
    assert!(
        openapi["paths"]["/api/v1/me/calendar-feed"]["get"].is_object(),
        "documented in the OpenAPI"
    );
    Ok(())
}
