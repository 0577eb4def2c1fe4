//! Typed questions over HTTP (issue 8, item 3): a service asks yes/no, a choice, a number, a
//! date and free text. The API takes typed answers and names every wrong one at once with its
//! own code; the resident's form and the clerk's proxy form draw the right control for each,
//! show every problem at once (at its field and in the summary at the top) and store typed
//! answers that read back as words. Also the messages of item 13: a required reason, the proxy
//! date list's seats, English pages without full-width punctuation, the department code hint,
//! and the sign-in form naming each empty field.

use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{Role, SlotId};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_instant_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};

/// The questions of a checkup, one of every kind.
fn typed_questions() -> Value {
    json!([
        {"id": "previous_year", "label_ja": "昨年度の受診の有無", "label_en": "Screened last fiscal year?",
         "required": true, "kind": {"type": "yes_no"}},
        {"id": "course", "label_ja": "受診するコース", "label_en": "Course", "required": true,
         "kind": {"type": "choice", "options": [
            {"id": "full", "label_ja": "胃・肺・大腸がん検診", "label_en": "Stomach, lung and colon"},
            {"id": "colon", "label_ja": "大腸がん検診のみ", "label_en": "Colon only"}]}},
        {"id": "children", "label_ja": "同伴するお子さんの人数", "label_en": "Children coming with you",
         "kind": {"type": "number", "min": 0, "max": 3}},
        {"id": "last_visit", "label_ja": "前回の受診日", "label_en": "Last screening",
         "kind": {"type": "date", "min": "2000-01-01", "max": "2099-12-31"}},
        {"id": "note", "label_ja": "連絡事項", "label_en": "Note", "kind": {"type": "text", "max_chars": 10}},
        {"id": "story", "label_ja": "ご相談の内容", "label_en": "Your story", "kind": {"type": "text", "max_chars": 400}}
    ])
}

struct Fixture {
    admin: String,
    service: String,
    slot: String,
}

/// A checkup anyone may book, asking `typed_questions`, with one session of five seats.
async fn checkup(app: &TestApp) -> anyhow::Result<Fixture> {
    let admin = admin_token(app).await?;
    let client = reqwest::Client::new();
    let service: Value = client
        .post(app.at("/api/v1/services"))
        .bearer_auth(&admin)
        .json(&json!({
            "code": "tokutei-kenshin", "kind": "checkup", "name_ja": "特定健診", "name_en": "Specific health checkup",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "questions": typed_questions()
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!service_id.is_empty(), "service not created: {service}");
    assert_eq!(
        service["rules"]["questions"][0]["kind"],
        json!({"type": "yes_no"}),
        "the kinds are kept"
    );
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let start = open_instant_ahead(3);
    let added: Value = client
        .post(app.at(&format!("/api/v1/services/{service_id}/slots")))
        .bearer_auth(&admin)
        .json(
            &json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::hours(1)), "capacity": 5}]}),
        )
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
    Ok(Fixture {
        admin,
        service: service_id,
        slot,
    })
}

async fn post_json(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(app.at(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    Ok((
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    ))
}

/// The `(field, code)` pairs of an error body.
fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["field"].as_str().unwrap_or_default().to_owned(),
                f["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

async fn the_api_takes_typed_answers_and_names_every_wrong_one(app: TestApp) -> anyhow::Result<()> {
    let f = checkup(&app).await?;
    let token = resident(&app).await?.token;

    // Every kind wrong at once: each answer named with its own code, nothing booked.
    let wrong = json!({"slot_id": f.slot, "answers": {
        "previous_year": "はい", "course": "deluxe", "children": 1.5,
        "last_visit": "2024/05/01", "note": "12345678901", "story": 7, "extra": "x"}});
    let (status, body) = post_json(&app, &token, "/api/v1/reservations", wrong).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        field_codes(&body),
        pairs(&[
            ("answers.previous_year", "answer_not_yes_no"),
            ("answers.course", "answer_unknown_option"),
            ("answers.children", "answer_not_integer"),
            ("answers.last_visit", "answer_not_date"),
            ("answers.note", "text_too_long"),
            ("answers.story", "answer_not_text"),
            ("answers.extra", "unknown_question"),
        ])
    );
    // Out of range, and the required ones left out.
    let out = json!({"slot_id": f.slot, "answers": {"children": 4, "last_visit": "1999-12-31"}});
    let (status, body) = post_json(&app, &token, "/api/v1/reservations", out).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        field_codes(&body),
        pairs(&[
            ("answers.previous_year", "answer_required"),
            ("answers.course", "answer_required"),
            ("answers.children", "answer_out_of_range"),
            ("answers.last_visit", "answer_out_of_range"),
        ])
    );
    // In English too, each with its message.
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"slot_id": f.slot, "answers": {"previous_year": 1, "course": "full"}}))
        .send()
        .await?;
    let body: Value = response.json().await?;
    assert_eq!(
        body["error"]["fields"][0]["message"], "Please answer yes or no.",
        "{body}"
    );
    let taken = app
        .storage
        .slot(app.tenant.id, SlotId(f.slot.parse()?))
        .await?
        .taken;
    assert_eq!(taken, 0, "nothing was booked");

    // Right answers of every kind book, and are kept typed.
    let right = json!({"slot_id": f.slot, "answers": {
        "previous_year": false, "course": "colon", "children": 3,
        "last_visit": "2024-05-01", "note": "1234567890", "story": null}});
    let (status, body) = post_json(&app, &token, "/api/v1/reservations", right).await?;
    assert_eq!(status, 201, "{body}");
    let id: uuid::Uuid = body["id"].as_str().unwrap_or_default().parse()?;
    let stored = app
        .storage
        .reservation(app.tenant.id, madoguchi_domain::ReservationId(id))
        .await?;
    assert_eq!(
        stored.details["answers"],
        json!({"previous_year": false, "course": "colon", "children": 3,
            "last_visit": "2024-05-01", "note": "1234567890", "story": null})
    );

    // A clerk booking for a caller through the API is held to the same answers.
    let staff = staff_token(&app, Role::Admin).await?;
    let caller = json!({"name_kanji": "北野 一子", "name_kana": "キタノ イチコ",
        "birth_date": "1950-02-03", "phone": "03-1234-5678"});
    let (status, body) = post_json(
        &app,
        &staff,
        "/api/v1/proxy-reservations",
        json!({"slot_id": f.slot, "caller": caller, "answers": {"previous_year": "no", "course": "colon"}}),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        field_codes(&body),
        pairs(&[("answers.previous_year", "answer_not_yes_no")])
    );
    let (status, body) = post_json(
        &app,
        &staff,
        "/api/v1/proxy-reservations",
        json!({"slot_id": f.slot, "caller": caller, "answers": {"previous_year": true, "course": "full", "children": 0}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    Ok(())
}
on_both_backends!(
    the_api_takes_typed_answers_and_names_every_wrong_one,
    the_api_takes_typed_answers_and_names_every_wrong_one
);

async fn badly_defined_questions_are_refused_when_the_service_is_made(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    for (i, kind) in [
        json!({"type": "choice", "options": [{"id": "a", "label_ja": "あ", "label_en": "A"}]}),
        json!({"type": "number", "min": 3, "max": 1}),
        json!({"type": "date", "min": "2026-02-30"}),
        json!({"type": "slider"}),
        json!({"type": "text", "max_chars": 0}),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = post_json(
            &app,
            &admin,
            "/api/v1/services",
            json!({"code": format!("bad-{i}"), "kind": "consultation", "name_ja": "相談", "name_en": "Consultation",
                "rules": {"window": {"opens_days_before": 30, "opens_at_local": "09:00", "closes_hours_before": 24},
                    "cancellation": {"deadline_hours_before": 24},
                    "questions": [{"id": "q", "label_ja": "質問", "label_en": "Q", "kind": kind}]}}),
        )
        .await?;
        assert_eq!(status, 422, "{kind}: {body}");
        assert_eq!(
            field_codes(&body),
            pairs(&[("rules", "invalid_service_rules")]),
            "{kind}"
        );
    }
    Ok(())
}
on_both_backends!(
    badly_defined_questions_are_refused_when_the_service_is_made,
    badly_defined_questions_are_refused_when_the_service_is_made
);

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<(u16, String)> {
    let response = client.get(app.at(path)).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// The controls every kind is drawn with, on both forms.
fn assert_typed_controls(html: &str) {
    for control in [
        // yes/no and the choice: radios in a fieldset with a legend
        "<legend>昨年度の受診の有無 <span class=\"field-required\">",
        "type=\"radio\" id=\"f-q_previous_year-yes\" name=\"q_previous_year\" value=\"yes\"",
        "<label for=\"f-q_previous_year-no\">いいえ</label>",
        "<legend>受診するコース",
        "type=\"radio\" id=\"f-q_course-colon\" name=\"q_course\" value=\"colon\"",
        "<label for=\"f-q_course-colon\">大腸がん検診のみ</label>",
        // a number with its bounds, and the bounds in words
        "<label for=\"f-q_children\">同伴するお子さんの人数</label>",
        "name=\"q_children\" type=\"number\" value=\"\" inputmode=\"numeric\" step=\"1\" min=\"0\" max=\"3\"",
        "0〜3の整数",
        // a date with its bounds
        "name=\"q_last_visit\" type=\"date\" value=\"\" min=\"2000-01-01\" max=\"2099-12-31\"",
        // a short text on a line, a long one in a box
        "name=\"q_note\" type=\"text\" value=\"\" maxlength=\"10\"",
        "<textarea id=\"f-q_story\" name=\"q_story\" rows=\"4\" maxlength=\"400\"",
    ] {
        assert!(html.contains(control), "{control} missing in {html}");
    }
}

/// Every problem of the typed fields, at its field and linked from the summary.
fn assert_every_answer_marked(html: &str) {
    for marked in [
        "href=\"#f-q_previous_year-yes\"",
        "id=\"f-q_previous_year-error\"",
        "href=\"#f-q_course-full\"",
        "id=\"f-q_course-error\"",
        "href=\"#f-q_children\"",
        "id=\"f-q_children-error\"",
        "0〜3の整数で入力してください。",
        "href=\"#f-q_last_visit\"",
        "id=\"f-q_last_visit-error\"",
        "href=\"#f-q_note\"",
        "10文字以内で入力してください。",
        "選んでください。",
    ] {
        assert!(html.contains(marked), "{marked} missing in {html}");
    }
    assert!(
        html.contains("aria-describedby=\"f-q_children-hint f-q_children-error\""),
        "the hint and the error describe the number field"
    );
}

async fn both_forms_draw_each_kind_and_name_every_wrong_answer(app: TestApp) -> anyhow::Result<()> {
    let f = checkup(&app).await?;
    let slot = &f.slot;

    // The resident's form.
    let resident = signed_in_resident(&app).await?.1;
    let (status, form) = get(&resident, &app, &format!("/reservations/book/{slot}")).await?;
    assert_eq!(status, 200);
    assert_typed_controls(&form);
    let wrong = [
        ("csrf_token", csrf_from(&form)),
        ("idempotency_key", hidden(&form, "idempotency_key")),
        ("q_children", "4".to_owned()),
        ("q_last_visit", "1999-12-31".to_owned()),
        ("q_note", "12345678901".to_owned()),
    ];
    let response = resident
        .post(app.at(&format!("/reservations/book/{slot}")))
        .form(&wrong)
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert_every_answer_marked(&html);
    assert!(
        html.contains("value=\"12345678901\""),
        "what was typed is kept"
    );

    // Right answers, typed with a Japanese keyboard's full-width digits: booked, and read back
    // as words on the confirmation.
    let right = [
        ("csrf_token", csrf_from(&form)),
        ("idempotency_key", hidden(&form, "idempotency_key")),
        ("q_previous_year", "yes".to_owned()),
        ("q_course", "colon".to_owned()),
        ("q_children", "２".to_owned()),
        ("q_last_visit", "2024-05-01".to_owned()),
        ("q_note", "車いす".to_owned()),
    ];
    let response = resident
        .post(app.at(&format!("/reservations/book/{slot}")))
        .form(&right)
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let confirmation = location(&response);
    let (_, html) = get(&resident, &app, &confirmation).await?;
    for shown in ["はい", "大腸がん検診のみ", "2024年5月1日（水）", "車いす"] {
        assert!(html.contains(shown), "{shown} missing in {html}");
    }
    let id: uuid::Uuid = confirmation
        .trim_start_matches("/my/reservations/")
        .trim_end_matches("?booked=1")
        .parse()?;
    let stored = app
        .storage
        .reservation(app.tenant.id, madoguchi_domain::ReservationId(id))
        .await?;
    assert_eq!(
        stored.details["answers"],
        json!({"previous_year": true, "course": "colon", "children": 2,
            "last_visit": "2024-05-01", "note": "車いす"})
    );

    // The clerk's proxy form: the same controls, the same problems at once.
    let clerk = staff_client(&app, Role::Admin).await?;
    let (status, form) = get(&clerk, &app, &format!("/staff/proxy-booking?slot={slot}")).await?;
    assert_eq!(status, 200);
    assert_typed_controls(&form);
    let caller = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = [
            ("csrf_token", csrf_from(&form)),
            ("idempotency_key", hidden(&form, "idempotency_key")),
            ("slot", slot.clone()),
            ("name_kanji", "山田 太郎".to_owned()),
            ("name_kana", "ヤマダ タロウ".to_owned()),
            ("birth_year", "1950".to_owned()),
            ("birth_month", "2".to_owned()),
            ("birth_day", "3".to_owned()),
            ("phone", "03-1234-5678".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        fields.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        fields
    };
    let response = clerk
        .post(app.at("/staff/proxy-booking"))
        .form(&caller(&[
            ("q_children", "4"),
            ("q_last_visit", "1999-12-31"),
            ("q_note", "12345678901"),
        ]))
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    assert_every_answer_marked(&response.text().await?);
    let response = clerk
        .post(app.at("/staff/proxy-booking"))
        .form(&caller(&[
            ("q_previous_year", "no"),
            ("q_course", "full"),
            ("q_children", "0"),
        ]))
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let (_, html) = get(&clerk, &app, &location(&response)).await?;
    for shown in ["いいえ", "胃・肺・大腸がん検診"] {
        assert!(html.contains(shown), "{shown} missing in {html}");
    }
    let _ = f.admin;
    let _ = f.service;
    Ok(())
}
on_both_backends!(
    both_forms_draw_each_kind_and_name_every_wrong_answer,
    both_forms_draw_each_kind_and_name_every_wrong_answer
);

async fn the_date_of_birth_offers_the_years_the_age_range_allows_with_their_era(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let (status, body) = post_json(
        &app,
        &admin,
        "/api/v1/services",
        json!({"code": "gan-40", "kind": "checkup", "name_ja": "がん検診", "name_en": "Cancer screening",
            "rules": {"window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "eligibility": {"age_min": 40, "age_reference": "fiscal_year_end"}}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let service = body["id"].as_str().unwrap_or_default().to_owned();
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let start = open_instant_ahead(3);
    let (_, added) = post_json(
        &app,
        &admin,
        &format!("/api/v1/services/{service}/slots"),
        json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::hours(1)), "capacity": 5}]}),
    )
    .await?;
    assert_eq!(added["added"], 1);
    let slot = app
        .storage
        .slots(
            app.tenant.id,
            madoguchi_domain::ServiceId(service.parse()?),
            start - time::Duration::hours(1),
            start + time::Duration::hours(1),
        )
        .await?[0]
        .id;
    let resident = signed_in_resident(&app).await?.1;
    let (status, form) = get(&resident, &app, &format!("/reservations/book/{slot}")).await?;
    assert_eq!(status, 200);
    let this_year = time::OffsetDateTime::now_utc().to_offset(JST).year();
    let newest = this_year - 39;
    assert!(form.contains(&format!("<option value=\"{newest}\">")));
    assert!(
        !form.contains(&format!("<option value=\"{}\">", newest + 1)),
        "nobody born later is 40 by the end of the fiscal year"
    );
    assert!(!form.contains("<option value=\"1900\">"), "not from 1900");
    assert!(form.contains("<option value=\"1975\">1975（昭和50年）</option>"));
    assert!(form.contains("1926（大正15年・昭和元年）"));
    let (_, english) = get(
        &resident,
        &app,
        &format!("/reservations/book/{slot}?lang=en"),
    )
    .await?;
    assert!(english.contains("<option value=\"1975\">1975 (Showa 50)</option>"));
    Ok(())
}
on_both_backends!(
    the_date_of_birth_offers_the_years_the_age_range_allows_with_their_era,
    the_date_of_birth_offers_the_years_the_age_range_allows_with_their_era
);

/// The demo city asks typed questions: 昨年度の受診の有無 is yes/no, and its services have a
/// choice, a number and a date among them.
#[tokio::test]
async fn the_demo_services_ask_typed_questions() -> anyhow::Result<()> {
    use madoguchi_booking::QuestionKind;
    use madoguchi_server::demo::{DEMO_TENANT_SLUG, seed_demo, seed_demo_services};
    use madoguchi_storage::{BookingStore, TenantStore};
    let db = madoguchi_tests::db::fresh_sqlite().await?;
    let storage = db.storage();
    seed_demo(storage, &madoguchi_auth::PasswordHasher::with_cost(1024, 1)).await?;
    seed_demo_services(storage, time::macros::date!(2026 - 12 - 20), 7).await?;
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    let kinds: Vec<(String, QuestionKind)> = storage
        .list_services(tenant.id)
        .await?
        .iter()
        .flat_map(|s| s.rules.questions.clone())
        .map(|q| (q.id, q.kind))
        .collect();
    assert!(
        kinds
            .iter()
            .any(|(id, kind)| id == "previous_year" && *kind == QuestionKind::YesNo),
        "{kinds:?}"
    );
    let has = |wanted: fn(&QuestionKind) -> bool| kinds.iter().any(|(_, kind)| wanted(kind));
    assert!(
        has(|k| matches!(k, QuestionKind::Choice { .. })),
        "a choice"
    );
    assert!(
        has(|k| matches!(k, QuestionKind::Number { .. })),
        "a number"
    );
    assert!(has(|k| matches!(k, QuestionKind::Date { .. })), "a date");
    Ok(())
}
