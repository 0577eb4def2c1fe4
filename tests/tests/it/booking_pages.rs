//! The resident booking pages over HTTP, like a browser without JavaScript: browse the services,
//! a month, a day, fill in the form, book, see the confirmation and the list, cancel. Refusals
//! show the form again with the reason and store nothing.

use madoguchi_domain::Role;
use madoguchi_domain::tokyo::JST;
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::rfc3339;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

const CODE: &str = "nyugan-kenshin";

struct Fixture {
    slot: String,
    /// The slot's Tokyo date.
    date: Date,
}

/// A screening for women aged 40 or over at the fiscal-year end, with a required question and
/// one session of `capacity` a week ahead, created by an administrator through the API.
async fn screening(app: &TestApp, capacity: u16) -> anyhow::Result<Fixture> {
    screening_coded(app, CODE, capacity).await
}

async fn screening_coded(app: &TestApp, code: &str, capacity: u16) -> anyhow::Result<Fixture> {
    let login = app.login(Role::Admin).clone();
    let admin = api_token(app, "staff", &login.email, &login.password).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": code, "kind": "checkup", "name_ja": "乳がん検診", "name_en": "Breast cancer screening",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 24},
                "cancellation": {"deadline_hours_before": 48},
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
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(&json!({"slots": [
            {"office_id": office, "starts_at": rfc3339(start), "ends_at": rfc3339(start + time::Duration::hours(3)), "capacity": capacity}
        ]}))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slots added: {added}");
    let date = start.to_offset(JST).date();
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
    anyhow::ensure!(!slot.is_empty(), "no slot on {date}");
    Ok(Fixture { slot, date })
}

/// What a reader sees of a page: its text without tags (and so without URLs and attributes).
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<(u16, String)> {
    let response = client.get(app.at(path)).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// What an eligible applicant types into the form.
fn eligible<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("birth_year", "1980"),
        ("birth_month", "5"),
        ("birth_day", "5"),
        ("sex", "female"),
        ("q_pregnant", "いいえ"),
    ]
}

/// Posts the booking form with the CSRF token and idempotency key of `form_html`.
async fn submit(
    client: &reqwest::Client,
    app: &TestApp,
    slot: &str,
    form_html: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let csrf = csrf_from(form_html);
    let key = hidden(form_html, "idempotency_key");
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
    ];
    form.extend_from_slice(fields);
    Ok(client
        .post(app.at(&format!("/reservations/book/{slot}")))
        .form(&form)
        .send()
        .await?)
}

/// Seats taken across every slot of the tenant, as the database counts them.
async fn seats_taken(app: &TestApp) -> anyhow::Result<i64> {
    let from = OffsetDateTime::now_utc() - time::Duration::days(1);
    let mut taken = 0;
    for service in app.storage.list_services(app.tenant.id).await? {
        for slot in app
            .storage
            .slots(
                app.tenant.id,
                service.id,
                from,
                from + time::Duration::days(30),
            )
            .await?
        {
            taken += slot.taken;
        }
    }
    Ok(taken)
}

async fn a_resident_books_and_cancels_through_the_pages(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let client = signed_in_resident(&app).await?.1;

    // The services, grouped by kind, each linking to its month.
    let (status, html) = get(&client, &app, "/reservations").await?;
    assert_eq!(status, 200);
    assert!(html.contains("健診・検診") && html.contains("乳がん検診"));
    assert!(html.contains(&format!("href=\"/reservations/{CODE}\"")));

    // The current month answers too; the slot's month links the day that has seats.
    assert_eq!(
        get(&client, &app, &format!("/reservations/{CODE}"))
            .await?
            .0,
        200
    );
    let month = format!("{}-{:02}", f.date.year(), u8::from(f.date.month()));
    let (status, html) = get(
        &client,
        &app,
        &format!("/reservations/{CODE}?month={month}"),
    )
    .await?;
    assert_eq!(status, 200);
    assert!(html.contains("<th scope=\"col\"><span aria-hidden=\"true\">日</span>"));
    let day_href = format!("/reservations/{CODE}/{}", f.date);
    assert!(
        html.contains(&format!("href=\"{day_href}\"")),
        "the day links to its times"
    );
    assert!(
        html.contains("空きあり（残り1席）"),
        "the status is spelled out"
    );

    // The day lists the slot with its seats and a link to the form.
    let (status, html) = get(&client, &app, &day_href).await?;
    assert_eq!(status, 200);
    assert!(html.contains("残り1席"));
    assert!(html.contains(&format!("href=\"/reservations/book/{}\"", f.slot)));

    // The form asks what the service's eligibility needs, and its question.
    let (status, form) = get(&client, &app, &format!("/reservations/book/{}", f.slot)).await?;
    assert_eq!(status, 200);
    assert!(
        form.contains("生年月日") && form.contains("name=\"sex\"") && form.contains("妊娠の可能性")
    );
    assert!(
        form.contains("1980（昭和55年）"),
        "birth years show their era"
    );
    assert!(!hidden(&form, "idempotency_key").is_empty());

    // Booking answers 303 to the confirmation; pressing the button twice books once.
    let booked = submit(&client, &app, &f.slot, &form, &eligible()).await?;
    assert_eq!(booked.status(), 303);
    let confirmation = location(&booked);
    assert!(
        confirmation.starts_with("/my/reservations/") && confirmation.ends_with("?booked=1"),
        "{confirmation}"
    );
    let again = submit(&client, &app, &f.slot, &form, &eligible()).await?;
    assert_eq!(
        (again.status().as_u16(), location(&again)),
        (303, confirmation.clone())
    );
    assert_eq!(seats_taken(&app).await?, 1, "one seat taken, not two");

    let (status, html) = get(&client, &app, &confirmation).await?;
    assert_eq!(status, 200);
    assert!(html.contains("予約が完了しました") && html.contains("role=\"status\""));
    assert!(html.contains("乳がん検診") && html.contains("予約済み") && html.contains("いいえ"));
    let id = confirmation
        .trim_start_matches("/my/reservations/")
        .trim_end_matches("?booked=1")
        .to_owned();

    // The confirmation names the reservation by its number, never by its id.
    let stored = app
        .storage
        .reservation(
            app.tenant.id,
            madoguchi_domain::ReservationId(uuid::Uuid::parse_str(&id)?),
        )
        .await?;
    let number = stored.reference.to_string();
    assert!(html.contains(&number), "the number is on the confirmation");
    assert!(!visible_text(&html).contains(&id), "no id in the text");

    // The list shows it, with its number, and a link to cancel it (a confirmation step).
    let (status, html) = get(&client, &app, "/my/reservations").await?;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/my/reservations/{id}\"")));
    assert!(html.contains(&number));
    assert!(!visible_text(&html).contains(&id), "no id in the text");
    let ask = format!("/my/reservations/{id}/cancel?back=list");
    assert!(html.contains(&format!("href=\"{ask}\"")), "{html}");
    assert!(
        !html.contains(&format!("action=\"/my/reservations/{id}/cancel\"")),
        "the list does not cancel at one press"
    );
    // The day now shows the slot full.
    let (_, day) = get(&client, &app, &day_href).await?;
    assert!(day.contains("満員") && !day.contains("/reservations/book/"));

    // Cancelling asks once, without JavaScript: a page that says what will be cancelled, with
    // a form that posts. Asking changes nothing.
    let (status, html) = get(&client, &app, &ask).await?;
    assert_eq!(status, 200);
    assert!(html.contains("予約のキャンセルの確認"), "{html}");
    let office = app.storage.list_offices(app.tenant.id).await?[0]
        .name_ja
        .clone();
    assert!(html.contains(&number) && html.contains("乳がん検診") && html.contains(&office));
    assert!(html.contains(&format!("action=\"/my/reservations/{id}/cancel\"")));
    assert_eq!(hidden(&html, "back"), "list");
    assert!(!visible_text(&html).contains(&id), "no id in the text");
    assert_eq!(seats_taken(&app).await?, 1, "asking cancels nothing");

    // Confirm: back to the list with a status message.
    let csrf = csrf_from(&html);
    let cancelled = client
        .post(app.at(&format!("/my/reservations/{id}/cancel")))
        .form(&[("csrf_token", csrf.as_str()), ("back", "list")])
        .send()
        .await?;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(location(&cancelled), "/my/reservations?cancelled=1");
    let (_, html) = get(&client, &app, "/my/reservations?cancelled=1").await?;
    assert!(html.contains("予約をキャンセルしました"));
    let (_, html) = get(&client, &app, &format!("/my/reservations/{id}")).await?;
    assert!(html.contains("キャンセル済み"));
    assert!(
        !html.contains("/cancel\""),
        "no cancel form for a cancelled reservation"
    );

    // Asking again for a cancelled reservation leads back to it.
    let again = client
        .get(app.at(&format!("/my/reservations/{id}/cancel")))
        .send()
        .await?;
    assert_eq!(again.status(), 303);
    assert_eq!(location(&again), format!("/my/reservations/{id}"));

    // A second cancel (another tab) says so, and changes nothing.
    let twice = client
        .post(app.at(&format!("/my/reservations/{id}/cancel")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(twice.status(), 409);
    let html = twice.text().await?;
    assert!(
        html.contains("role=\"alert\"") && html.contains("既にキャンセル済み"),
        "{html}"
    );

    // The seat is free again.
    let (_, day) = get(&client, &app, &day_href).await?;
    assert!(day.contains("残り1席") && day.contains(&format!("/reservations/book/{}", f.slot)));
    assert_eq!(seats_taken(&app).await?, 0);
    Ok(())
}
on_both_backends!(
    a_resident_books_and_cancels_through_the_pages,
    a_resident_books_and_cancels_through_the_pages
);

async fn a_full_slot_shows_the_form_again_with_409_and_stores_nothing(
    app: TestApp,
) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let (first, second) = (
        signed_in_resident(&app).await?.1,
        signed_in_resident(&app).await?.1,
    );
    let path = format!("/reservations/book/{}", f.slot);
    // The second resident opens the form while the seat is still free...
    let (_, late_form) = get(&second, &app, &path).await?;
    // ...and the first takes it.
    let (_, form) = get(&first, &app, &path).await?;
    assert_eq!(
        submit(&first, &app, &f.slot, &form, &eligible())
            .await?
            .status(),
        303
    );

    let mut typed = eligible();
    typed.retain(|(k, _)| *k != "q_pregnant");
    typed.push(("q_pregnant", "わからない"));
    let refused = submit(&second, &app, &f.slot, &late_form, &typed).await?;
    assert_eq!(refused.status(), 409);
    let html = refused.text().await?;
    assert!(
        html.contains("role=\"alert\"") && html.contains("満員"),
        "{html}"
    );
    assert!(
        html.contains("value=\"わからない\""),
        "what was typed is kept"
    );
    assert!(html.contains("<option value=\"1980\" selected>"));
    assert_eq!(
        seats_taken(&app).await?,
        1,
        "only the first booking holds a seat"
    );

    // A fresh look at the form says it is full, without a form to send.
    let (status, html) = get(&second, &app, &path).await?;
    assert_eq!(status, 200);
    assert!(html.contains("満員") && !html.contains("name=\"idempotency_key\""));
    Ok(())
}
on_both_backends!(
    a_full_slot_shows_the_form_again_with_409_and_stores_nothing,
    a_full_slot_shows_the_form_again_with_409_and_stores_nothing
);

async fn form_problems_are_marked_on_their_fields_with_422(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 2).await?;
    let client = signed_in_resident(&app).await?.1;
    let path = format!("/reservations/book/{}", f.slot);
    let (_, form) = get(&client, &app, &path).await?;

    // Nothing filled in: every field says what is missing at once.
    let empty = submit(&client, &app, &f.slot, &form, &[]).await?;
    assert_eq!(empty.status(), 422);
    let html = empty.text().await?;
    assert!(html.contains("role=\"alert\""));
    assert!(
        html.contains("id=\"f-birth_year\" name=\"birth_year\"")
            && html.contains("aria-invalid=\"true\"")
    );
    assert!(
        html.contains("href=\"#f-birth_year\"")
            && html.contains("href=\"#f-sex-female\"")
            && html.contains("href=\"#f-q_pregnant\"")
    );
    assert!(html.contains("この予約には生年月日の入力が必要です"));
    assert_eq!(
        hidden(&html, "idempotency_key"),
        hidden(&form, "idempotency_key"),
        "the page keeps its key"
    );

    // February 30th does not exist.
    let mut impossible = eligible();
    impossible[1] = ("birth_month", "2");
    impossible[2] = ("birth_day", "30");
    let response = submit(&client, &app, &f.slot, &form, &impossible).await?;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await?
            .contains("正しい生年月日を選んでください")
    );

    // Too young at the end of the fiscal year: the booking flow refuses, on the field.
    let mut young = eligible();
    young[0] = ("birth_year", "2000");
    let response = submit(&client, &app, &f.slot, &form, &young).await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert!(html.contains("対象年齢の方のみ") && html.contains("id=\"f-birth_date-error\""));
    assert_eq!(seats_taken(&app).await?, 0);

    // Signed out, the form sends the visitor to sign in, and back here afterwards.
    let redirect = app.client().get(app.at(&path)).send().await?;
    assert_eq!(
        (redirect.status().as_u16(), location(&redirect)),
        (303, format!("/signin?next={path}"))
    );

    // English, on request.
    let (_, html) = get(&client, &app, &format!("{path}?lang=en")).await?;
    assert!(html.contains("Date of birth") && html.contains("Possibly pregnant"));
    Ok(())
}
on_both_backends!(
    form_problems_are_marked_on_their_fields_with_422,
    form_problems_are_marked_on_their_fields_with_422
);

async fn a_post_without_the_csrf_token_is_refused(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 1).await?;
    let client = signed_in_resident(&app).await?.1;
    let (_, form) = get(&client, &app, &format!("/reservations/book/{}", f.slot)).await?;
    let key = hidden(&form, "idempotency_key");
    let mut fields = vec![("idempotency_key", key.as_str())];
    fields.extend(eligible());
    let response = client
        .post(app.at(&format!("/reservations/book/{}", f.slot)))
        .form(&fields)
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    assert_eq!(seats_taken(&app).await?, 0, "nothing was booked");
    Ok(())
}
on_both_backends!(
    a_post_without_the_csrf_token_is_refused,
    a_post_without_the_csrf_token_is_refused
);

async fn another_residents_reservation_is_not_found(app: TestApp) -> anyhow::Result<()> {
    let f = screening(&app, 2).await?;
    let (owner, other) = (
        signed_in_resident(&app).await?.1,
        signed_in_resident(&app).await?.1,
    );
    let (_, form) = get(&owner, &app, &format!("/reservations/book/{}", f.slot)).await?;
    let booked = submit(&owner, &app, &f.slot, &form, &eligible()).await?;
    let page = location(&booked).trim_end_matches("?booked=1").to_owned();

    let (status, html) = get(&other, &app, &page).await?;
    assert_eq!(status, 404);
    assert!(!html.contains("乳がん検診"), "nothing of it is shown");
    let (_, list) = get(&other, &app, "/my/reservations").await?;
    assert!(!list.contains(&page));
    let csrf = csrf_from(&list);
    let cancel = other
        .post(app.at(&format!("{page}/cancel")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(cancel.status(), 404);
    let (_, html) = get(&owner, &app, &page).await?;
    assert!(html.contains("予約済み"), "the owner's reservation stands");
    Ok(())
}
on_both_backends!(
    another_residents_reservation_is_not_found,
    another_residents_reservation_is_not_found
);

async fn a_service_coded_book_keeps_its_day_page(app: TestApp) -> anyhow::Result<()> {
    // `/reservations/book/{slot}` shares its shape with the day page of a service coded `book`.
    let f = screening_coded(&app, "book", 1).await?;
    let client = app.client();
    let (status, html) = get(&client, &app, &format!("/reservations/book/{}", f.date)).await?;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/reservations/book/{}\"", f.slot)));
    let (status, _) = get(&client, &app, "/reservations/book/not-a-slot").await?;
    assert_eq!(status, 404);
    Ok(())
}
on_both_backends!(
    a_service_coded_book_keeps_its_day_page,
    a_service_coded_book_keeps_its_day_page
);
