//! The staff pages for reservations over HTTP, like a browser without JavaScript: booking for a
//! caller through the proxy form and finding them on the day sheet, marking attendance (and
//! being refused ahead of the day), the CSV export, what a branch clerk may see, the proxy
//! form's field errors, and lifting a suspension.

use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{AccountKind, Email, OfficeId, ReservationId, Role, SlotId};
use madoguchi_storage::{AuditFilter, NewReservation, NewSuspension, ReservationStatus, now_utc};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_date_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// `hour`:00 Tokyo time on `date`.
fn tokyo(date: Date, hour: u8) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::from_hms(hour, 0, 0).expect("valid hour")).assume_offset(JST)
}

/// A consultation anyone may book from 60 days ahead until an hour before, with one optional
/// question; returns its id.
async fn consultation(app: &TestApp, admin: &str, code: &str) -> anyhow::Result<String> {
    let created: Value = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({
            "code": code, "kind": "consultation", "name_ja": "子育て相談", "name_en": "Parenting consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "questions": [{"id": "topic", "label_ja": "ご相談内容", "label_en": "Topic", "required": false}]
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

async fn office_id(app: &TestApp, code: &str) -> anyhow::Result<OfficeId> {
    app.storage
        .list_offices(app.tenant.id)
        .await?
        .into_iter()
        .find(|o| o.code.as_str() == code)
        .map(|o| o.id)
        .ok_or_else(|| anyhow::anyhow!("no office {code}"))
}

/// Adds a 30-minute slot of `capacity` at `office` starting at `start`; returns its id.
async fn slot_at(
    app: &TestApp,
    admin: &str,
    service: &str,
    office: OfficeId,
    start: OffsetDateTime,
    capacity: u16,
) -> anyhow::Result<String> {
    let added: Value = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/services/{service}/slots")))
        .bearer_auth(admin)
        .json(
            &json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + Duration::minutes(30)), "capacity": capacity}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(added["added"] == 1, "slot added: {added}");
    let service_id = madoguchi_domain::ServiceId(uuid::Uuid::parse_str(service)?);
    // Around `start`: the databases keep microseconds, not nanoseconds.
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

/// Books for a caller through the API; returns the reservation id.
async fn proxy_book(
    app: &TestApp,
    token: &str,
    slot: &str,
    name: &str,
    kana: &str,
    topic: &str,
) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/proxy-reservations"))
        .bearer_auth(token)
        .json(&json!({"slot_id": slot, "caller": {
            "name_kanji": name, "name_kana": kana, "birth_date": "1960-04-01", "phone": "090-1234-5678"},
            "answers": {"topic": topic}}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status == 201, "proxy booking answered {status}: {body}");
    Ok(body["reservation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<(u16, String)> {
    let response = client.get(app.at(path)).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// What a clerk types for a caller, with the CSRF token and key of `form_html`.
fn caller_form<'a>(form_html: &str, slot: &'a str, kana: &'a str) -> Vec<(String, String)> {
    [
        ("csrf_token", csrf_from(form_html)),
        ("idempotency_key", hidden(form_html, "idempotency_key")),
        ("slot", slot.to_owned()),
        ("name_kanji", "山田　太郎".to_owned()),
        ("name_kana", kana.to_owned()),
        ("birth_year", "1950".to_owned()),
        ("birth_month", "2".to_owned()),
        ("birth_day", "3".to_owned()),
        ("phone", "03-1234-5678".to_owned()),
        ("email", String::new()),
        ("q_topic", "離乳食について".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn a_caller_booked_through_the_proxy_form_is_on_the_day_sheet(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "kosodate-soudan").await?;
    let office = office_id(&app, "kita-shisho").await?;
    let day = open_date_ahead(2);
    let slot = slot_at(&app, &admin, &service, office, tokyo(day, 10), 3).await?;
    let client = staff_client(&app, Role::Admin).await?;

    // Service, then day, then time, by plain links.
    let (status, html) = get(&client, &app, "/staff/proxy-booking").await?;
    assert_eq!(status, 200);
    assert!(html.contains("子育て相談"), "the service is offered");
    let (status, html) = get(
        &client,
        &app,
        &format!("/staff/proxy-booking?service={service}"),
    )
    .await?;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("service={service}&amp;date={day}")),
        "the day with a session is linked"
    );
    let (status, html) = get(
        &client,
        &app,
        &format!("/staff/proxy-booking?service={service}&date={day}"),
    )
    .await?;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("/staff/proxy-booking?slot={slot}")));
    let (status, form) = get(&client, &app, &format!("/staff/proxy-booking?slot={slot}")).await?;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"name_kana\"") && form.contains("name=\"q_topic\""));

    let response = client
        .post(app.at("/staff/proxy-booking"))
        .form(&caller_form(&form, &slot, "ヤマダ　タロウ"))
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(to.ends_with("?booked=1"), "{to}");
    let (status, html) = get(&client, &app, &to).await?;
    assert_eq!(status, 200);
    assert!(html.contains("予約を受け付けました。"), "{html}");
    let id = to
        .trim_start_matches("/staff/reservations/")
        .trim_end_matches("?booked=1")
        .to_owned();
    let (status, html) = get(
        &client,
        &app,
        &format!("/staff/reservations/{id}/confirmation"),
    )
    .await?;
    assert_eq!(status, 200);
    assert!(html.contains("予約確認票") && html.contains("山田 太郎 様"));

    // The same page sent twice books once.
    let again = client
        .post(app.at("/staff/proxy-booking"))
        .form(&caller_form(&form, &slot, "ヤマダ　タロウ"))
        .send()
        .await?;
    assert_eq!(
        location(&again),
        to,
        "a replay leads to the same reservation"
    );

    let (status, sheet) = get(&client, &app, &format!("/staff/day-sheet?date={day}")).await?;
    assert_eq!(status, 200);
    for expected in [
        "山田 太郎",
        "ヤマダ タロウ",
        "0312345678",
        "ご相談内容：離乳食について",
        "北支所",
        "当日から記録できます",
        &format!("/staff/reservations/{id}"),
    ] {
        assert!(sheet.contains(expected), "the sheet shows {expected}");
    }
    assert_eq!(
        sheet.matches("<tr id=\"r-").count(),
        1,
        "one reservation on the sheet"
    );

    // Moved to another time of the same service, with a reason.
    let later = slot_at(&app, &admin, &service, office, tokyo(day, 11), 3).await?;
    let (status, page) = get(&client, &app, &format!("/staff/reservations/{id}")).await?;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("value=\"{later}\"")),
        "the other time is offered"
    );
    let change = |reason: &'static str| {
        vec![
            ("csrf_token", csrf_from(&page)),
            ("action", "change".to_owned()),
            ("slot", later.clone()),
            ("reason", reason.to_owned()),
            ("date", day.to_string()),
        ]
    };
    let response = client
        .post(app.at(&format!("/staff/reservations/{id}")))
        .form(&change(""))
        .send()
        .await?;
    assert_eq!(response.status(), 422, "a reason is required");
    let html = response.text().await?;
    assert!(html.contains("id=\"f-change-reason-error\""));
    assert!(html.contains(" checked"), "the chosen time stays chosen");
    let response = client
        .post(app.at(&format!("/staff/reservations/{id}")))
        .form(&change("ご本人の希望"))
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/reservations/{id}?changed=1")
    );
    let moved = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&id)?))
        .await?;
    assert_eq!(moved.slot_id.to_string(), later);

    // Staff have a way in from their home page.
    let (_, home) = get(&client, &app, "/staff").await?;
    assert!(home.contains("href=\"/staff/day-sheet\""));
    Ok(())
}
on_both_backends!(
    a_caller_booked_through_the_proxy_form_is_on_the_day_sheet,
    a_caller_booked_through_the_proxy_form_is_on_the_day_sheet
);

async fn attendance_is_marked_on_the_day_and_refused_ahead_of_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "kaigo-soudan").await?;
    let office = office_id(&app, "honcho").await?;
    // A session that began an hour ago, booked when it could still be (straight in storage:
    // the window rightly refuses booking it now).
    let start = OffsetDateTime::now_utc() - Duration::hours(1);
    let past_slot = slot_at(&app, &admin, &service, office, start, 2).await?;
    let past = app
        .storage
        .reserve(
            app.tenant.id,
            &NewReservation {
                slot_id: SlotId(uuid::Uuid::parse_str(&past_slot)?),
                account_id: None,
                idempotency_key: None,
                hold_until: None,
                details: json!({"answers": {}, "caller": {"name_kanji": "鈴木 一郎",
                    "name_kana": "スズキ イチロウ", "birth_date": "1948-05-05", "phone": "0311112222"}}),
                limit: None,
                booked_by: None,
                remote_join: None,
                fingerprint: None,
                notices: Vec::new(),
                reference: None,
            },
            now_utc(),
        )
        .await?
        .reservation()
        .clone();
    let past_day = start.to_offset(JST).date();
    let day = open_date_ahead(2);
    let future_slot = slot_at(&app, &admin, &service, office, tokyo(day, 10), 2).await?;
    let ahead = proxy_book(&app, &admin, &future_slot, "佐藤 花子", "サトウ ハナコ", "").await?;

    let client = staff_client(&app, Role::HqStaff).await?;
    let (status, sheet) = get(&client, &app, &format!("/staff/day-sheet?date={past_day}")).await?;
    assert_eq!(status, 200);
    assert!(sheet.contains("鈴木 一郎"));
    let csrf = csrf_from(&sheet);
    let response = client
        .post(app.at(&format!("/staff/reservations/{}/attendance", past.id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("attendance", "attended"),
            ("date", &past_day.to_string()),
            ("office", ""),
            ("department", ""),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(to.contains("marked=attended"), "{to}");
    let (_, sheet) = get(&client, &app, &to).await?;
    assert!(sheet.contains("来所を記録しました。"));
    let stored = app.storage.reservation(app.tenant.id, past.id).await?;
    assert_eq!(stored.status, ReservationStatus::Attended);
    assert!(
        sheet.contains("<dt>来所</dt><dd>1件</dd>"),
        "the counts follow: {sheet}"
    );

    // Ahead of the day: the sheet offers no buttons, and a mark sent anyway is refused on the
    // sheet with the reason.
    let (_, sheet) = get(&client, &app, &format!("/staff/day-sheet?date={day}")).await?;
    assert!(sheet.contains("当日から記録できます"));
    let response = client
        .post(app.at(&format!("/staff/reservations/{ahead}/attendance")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("attendance", "no_show"),
            ("date", &day.to_string()),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert!(
        html.contains("来所・無断キャンセルは予約の当日から記録できます。"),
        "{html}"
    );
    assert!(html.contains("role=\"alert\""));
    let stored = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&ahead)?))
        .await?;
    assert_eq!(
        stored.status,
        ReservationStatus::Confirmed,
        "nothing marked"
    );
    Ok(())
}
on_both_backends!(
    attendance_is_marked_on_the_day_and_refused_ahead_of_it,
    attendance_is_marked_on_the_day_and_refused_ahead_of_it
);

async fn the_csv_opens_in_excel_and_its_export_is_audited(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "nayamigoto").await?;
    let office = office_id(&app, "honcho").await?;
    let day = open_date_ahead(2);
    let slot = slot_at(&app, &admin, &service, office, tokyo(day, 9), 5).await?;
    proxy_book(
        &app,
        &admin,
        &slot,
        "田中 次郎",
        "タナカ ジロウ",
        "家計, 仕事",
    )
    .await?;
    let client = staff_client(&app, Role::Admin).await?;

    let response = client
        .get(app.at(&format!("/staff/day-sheet.csv?date={day}")))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"yoyaku-{day}.csv\"")
    );
    let bytes = response.bytes().await?;
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a byte-order mark");
    let text = std::str::from_utf8(&bytes[3..])?;
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "日付,開始,終了,会場,サービス,氏名,フリガナ,電話番号,メールアドレス,状態,回答,職員による予約,予約番号"
        )
    );
    assert_eq!(
        lines.len(),
        3,
        "header, one line, and the final CRLF: {text:?}"
    );
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    let line = lines[1];
    assert!(
        line.starts_with(&format!(
            "{day},9:00,9:30,本庁舎,子育て相談,田中 次郎,タナカ ジロウ,09012345678,,予約済み,"
        )),
        "{line}"
    );
    assert!(
        line.contains("\"ご相談内容：家計, 仕事\""),
        "a field with a comma is quoted: {line}"
    );

    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("day_sheet.exported".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(audit.len(), 1, "the export is audited");
    assert_eq!(audit[0].details["rows"], 1);
    assert_eq!(audit[0].details["date"], day.to_string());
    Ok(())
}
on_both_backends!(
    the_csv_opens_in_excel_and_its_export_is_audited,
    the_csv_opens_in_excel_and_its_export_is_audited
);

async fn a_branch_clerk_sees_only_their_own_office(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "madoguchi-soudan").await?;
    let kita = office_id(&app, "kita-shisho").await?;
    let honcho = office_id(&app, "honcho").await?;
    let day = open_date_ahead(2);
    let kita_slot = slot_at(&app, &admin, &service, kita, tokyo(day, 10), 3).await?;
    let honcho_slot = slot_at(&app, &admin, &service, honcho, tokyo(day, 11), 3).await?;
    proxy_book(&app, &admin, &kita_slot, "北野 一子", "キタノ イチコ", "").await?;
    let other = proxy_book(&app, &admin, &honcho_slot, "本田 二郎", "ホンダ ジロウ", "").await?;

    let clerk = staff_client(&app, Role::BranchStaff).await?;
    let (status, sheet) = get(&clerk, &app, &format!("/staff/day-sheet?date={day}")).await?;
    assert_eq!(status, 200);
    assert!(sheet.contains("北野 一子"), "their own office's caller");
    assert!(!sheet.contains("本田 二郎"), "not another office's caller");
    assert!(
        !sheet.contains(&format!("value=\"{honcho}\"")),
        "only their office is offered in the filter"
    );
    let (status, _) = get(
        &clerk,
        &app,
        &format!("/staff/day-sheet?date={day}&office={honcho}"),
    )
    .await?;
    assert_eq!(status, 403, "another office's sheet is refused");
    let csv = clerk
        .get(app.at(&format!("/staff/day-sheet.csv?date={day}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(csv.contains("北野 一子") && !csv.contains("本田 二郎"));
    let (status, _) = get(&clerk, &app, &format!("/staff/reservations/{other}")).await?;
    assert_eq!(status, 403, "another office's reservation is refused");
    let response = clerk
        .post(app.at(&format!("/staff/reservations/{other}")))
        .form(&[
            ("csrf_token", csrf_from(&sheet).as_str()),
            ("action", "cancel"),
            ("reason", "誤り"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    let (status, _) = get(
        &clerk,
        &app,
        &format!("/staff/proxy-booking?slot={honcho_slot}"),
    )
    .await?;
    assert_eq!(status, 403, "nor may they book another office's session");

    let finance = staff_client(&app, Role::Finance).await?;
    let (status, _) = get(&finance, &app, "/staff/day-sheet").await?;
    assert_eq!(status, 403, "finance does not handle reservations");

    // The administrator cancels the other with a reason, through the page.
    let client = staff_client(&app, Role::Admin).await?;
    let (_, page) = get(&client, &app, &format!("/staff/reservations/{other}")).await?;
    let response = client
        .post(app.at(&format!("/staff/reservations/{other}")))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("action", "cancel"),
            ("reason", ""),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 422, "a reason is required");
    let html = response.text().await?;
    assert!(
        html.contains("理由を入力してください。") && !html.contains("500文字"),
        "an empty reason is told it is required, not how long it may be"
    );
    let response = client
        .post(app.at(&format!("/staff/reservations/{other}")))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("action", "cancel"),
            ("reason", "ご本人から電話で取り消し"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let stored = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&other)?))
        .await?;
    assert_eq!(stored.status, ReservationStatus::Cancelled);
    Ok(())
}
on_both_backends!(
    a_branch_clerk_sees_only_their_own_office,
    a_branch_clerk_sees_only_their_own_office
);

async fn the_proxy_form_refuses_a_bad_reading_and_stores_nothing(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "zeimu-soudan").await?;
    let office = office_id(&app, "kita-shisho").await?;
    let day = open_date_ahead(2);
    let slot = slot_at(&app, &admin, &service, office, tokyo(day, 13), 2).await?;
    let client = staff_client(&app, Role::BranchStaff).await?;
    let (_, form) = get(&client, &app, &format!("/staff/proxy-booking?slot={slot}")).await?;

    let mut fields = caller_form(&form, &slot, "Yamada");
    fields.retain(|(k, _)| k != "phone");
    fields.push(("phone".into(), "12345".into()));
    let response = client
        .post(app.at("/staff/proxy-booking"))
        .form(&fields)
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert!(
        html.contains("フリガナは、カタカナまたはひらがなで60文字以内で入力してください。"),
        "{html}"
    );
    assert!(
        html.contains("電話番号は、0から始まる10桁または11桁の数字で入力してください。"),
        "every bad field is named at once"
    );
    assert!(html.contains("id=\"f-name_kana-error\""));
    assert!(html.contains("value=\"Yamada\""), "what was typed is kept");
    assert!(html.contains("value=\"山田　太郎\""));

    // In English for a clerk who reads English.
    let response = client
        .post(app.at("/staff/proxy-booking"))
        .header("accept-language", "en")
        .form(&fields)
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await?
            .contains("Enter the reading in katakana or hiragana")
    );

    let stored = app
        .storage
        .slot(app.tenant.id, SlotId(uuid::Uuid::parse_str(&slot)?))
        .await?;
    assert_eq!(stored.taken, 0, "nothing was booked");
    let (_, sheet) = get(&client, &app, &format!("/staff/day-sheet?date={day}")).await?;
    assert!(sheet.contains("この日の予約はありません。"));
    Ok(())
}
on_both_backends!(
    the_proxy_form_refuses_a_bad_reading_and_stores_nothing,
    the_proxy_form_refuses_a_bad_reading_and_stores_nothing
);

async fn a_suspension_is_lifted_from_the_page(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("suspended");
    verified_resident(&app, &email).await?;
    let account = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Resident,
            &Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?
        .id;
    let now = now_utc();
    let suspension = app
        .storage
        .suspend(
            app.tenant.id,
            &NewSuspension {
                account_id: account,
                office_id: Some(office_id(&app, "kita-shisho").await?),
                starts_at: now - Duration::days(1),
                ends_at: now + Duration::days(89),
                no_shows: 3,
            },
            now,
        )
        .await?;
    let client = staff_client(&app, Role::BranchStaff).await?;
    let (status, page) = get(&client, &app, "/staff/suspensions").await?;
    assert_eq!(status, 200);
    assert!(page.contains(&email) && page.contains("山田 花子"));
    let action = format!("/staff/suspensions/{}/lift", suspension.id);
    assert!(page.contains(&action));

    let response = client
        .post(app.at(&action))
        .form(&[("csrf_token", csrf_from(&page).as_str()), ("reason", " ")])
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let html = response.text().await?;
    assert!(html.contains("理由を入力してください。"));
    assert!(html.contains(&format!("id=\"f-reason-{}-error\"", suspension.id)));

    let response = client
        .post(app.at(&action))
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("reason", "電話で事情を確認した"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/suspensions?lifted=1");
    let (_, page) = get(&client, &app, "/staff/suspensions?lifted=1").await?;
    assert!(page.contains("利用停止を解除しました。"));
    assert!(!page.contains(&email), "no longer listed");
    assert!(
        app.storage
            .suspension_in_force(app.tenant.id, account, now_utc())
            .await?
            .is_none()
    );
    Ok(())
}
on_both_backends!(
    a_suspension_is_lifted_from_the_page,
    a_suspension_is_lifted_from_the_page
);

/// A consultation for women residents with a required question: what the applicant's fields of
/// both booking forms are asked for.
async fn women_only(app: &TestApp, admin: &str) -> anyhow::Result<String> {
    let created: Value = reqwest::Client::new()
        .post(app.at("/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({
            "code": "josei-soudan", "kind": "consultation", "name_ja": "女性相談", "name_en": "Women's consultation",
            "rules": {
                "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
                "cancellation": {"deadline_hours_before": 24},
                "eligibility": {"sex": "female", "residents_only": true},
                "questions": [{"id": "topic", "label_ja": "ご相談内容", "label_en": "Topic", "required": true}]
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

/// The resident's form and the clerk's proxy form are one form: the same fields, marked the
/// same way, and the same refusal of a sex neither knows (the API refuses it too).
async fn both_booking_forms_mark_the_applicants_fields_alike(app: TestApp) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = women_only(&app, &admin).await?;
    let office = office_id(&app, "kita-shisho").await?;
    let slot = slot_at(
        &app,
        &admin,
        &service,
        office,
        tokyo(open_date_ahead(2), 13),
        2,
    )
    .await?;

    let own = signed_in_resident(&app).await?.1;
    let (status, resident_form) = get(&own, &app, &format!("/reservations/book/{slot}")).await?;
    assert_eq!(status, 200);
    let clerk = staff_client(&app, Role::BranchStaff).await?;
    let (status, clerk_form) =
        get(&clerk, &app, &format!("/staff/proxy-booking?slot={slot}")).await?;
    assert_eq!(status, 200);
    for html in [&resident_form, &clerk_form] {
        for field in [
            "id=\"f-sex-female\"",
            "id=\"f-sex-male\"",
            "id=\"f-q_topic\"",
            "ご相談内容",
        ] {
            assert!(html.contains(field), "{field} missing");
        }
    }
    // Residency is asked of a caller only: a resident signed up as one.
    assert!(clerk_form.contains("id=\"f-resident-yes\""));
    assert!(!resident_form.contains("id=\"f-resident-yes\""));

    let resident_post = own
        .post(app.at(&format!("/reservations/book/{slot}")))
        .form(&[
            ("csrf_token", csrf_from(&resident_form)),
            ("idempotency_key", hidden(&resident_form, "idempotency_key")),
            ("sex", "other".to_owned()),
        ])
        .send()
        .await?;
    let mut fields = caller_form(&clerk_form, &slot, "ヤマダ　タロウ");
    fields.retain(|(k, _)| k != "q_topic");
    fields.push(("sex".into(), "Female".into()));
    let clerk_post = clerk
        .post(app.at("/staff/proxy-booking"))
        .form(&fields)
        .send()
        .await?;
    for response in [resident_post, clerk_post] {
        assert_eq!(response.status(), 422);
        let html = response.text().await?;
        for marked in [
            "id=\"f-sex-error\"",
            "href=\"#f-sex-female\"",
            "href=\"#f-q_topic\"",
            "id=\"f-q_topic-error\"",
            "入力してください。",
        ] {
            assert!(html.contains(marked), "{marked} missing in {html}");
        }
    }

    let token = resident(&app).await?.token;
    let refused = reqwest::Client::new()
        .post(app.at("/api/v1/reservations"))
        .bearer_auth(&token)
        .json(&json!({"slot_id": slot, "applicant": {"sex": "Female", "resident": true}, "answers": {"topic": "x"}}))
        .send()
        .await?;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await?;
    assert_eq!(
        body["error"]["fields"][0]["field"], "applicant.sex",
        "{body}"
    );
    let stored = app
        .storage
        .slot(app.tenant.id, SlotId(uuid::Uuid::parse_str(&slot)?))
        .await?;
    assert_eq!(stored.taken, 0, "nothing was booked");
    Ok(())
}
on_both_backends!(
    both_booking_forms_mark_the_applicants_fields_alike,
    both_booking_forms_mark_the_applicants_fields_alike
);

/// The reservation number (予約番号) is what staff and callers say to each other: shown on the
/// day sheet, the reservation, the printable confirmation, the CSV and the API, and found again
/// however a caller reads it out. Cancelling asks once, with what will be cancelled.
async fn staff_find_a_reservation_by_its_number_and_cancel_it_after_one_confirmation(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = admin_token(&app).await?;
    let service = consultation(&app, &admin, "sodan-bango").await?;
    // At headquarters: the branch clerk below handles the north branch only.
    let office = office_id(&app, "honcho").await?;
    let office_name = app.storage.office(app.tenant.id, office).await?.name_ja;
    let day = open_date_ahead(2);
    let slot = slot_at(&app, &admin, &service, office, tokyo(day, 10), 3).await?;
    let id = proxy_book(&app, &admin, &slot, "番号 花子", "バンゴウ ハナコ", "相談").await?;
    let stored = app
        .storage
        .reservation(app.tenant.id, ReservationId(uuid::Uuid::parse_str(&id)?))
        .await?;
    let number = stored.reference.to_string();
    assert_eq!(number.len(), 9, "four, a hyphen, four: {number}");
    let client = staff_client(&app, Role::Admin).await?;

    // Shown wherever staff look, and never the id as text.
    let (_, sheet) = get(&client, &app, &format!("/staff/day-sheet?date={day}")).await?;
    assert!(sheet.contains(&number), "on the day sheet");
    let (_, page) = get(&client, &app, &format!("/staff/reservations/{id}")).await?;
    assert!(page.contains(&number), "on the reservation");
    assert!(
        !page.contains(&format!(">{id}<")),
        "the id is no longer shown"
    );
    let (_, slip) = get(
        &client,
        &app,
        &format!("/staff/reservations/{id}/confirmation"),
    )
    .await?;
    assert!(slip.contains(&number), "on the printable confirmation");
    assert!(!slip.contains(&format!(">{id}<")));
    let csv = client
        .get(app.at(&format!("/staff/day-sheet.csv?date={day}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(csv.contains(&number) && !csv.contains(&id), "{csv}");
    let sheet_api: Value = reqwest::Client::new()
        .get(app.at(&format!("/api/v1/day-sheet?date={day}")))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(sheet_api[0]["reference"], number.as_str());

    // Found by the number however it is typed; the search box is on the day sheet.
    assert!(sheet.contains("action=\"/staff/reservations/find\""));
    let compact = number.replace('-', "");
    let full_width: String = compact
        .to_lowercase()
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
        .collect();
    for typed in [number.clone(), compact.to_lowercase(), full_width.clone()] {
        let response = client
            .get(app.at("/staff/reservations/find"))
            .query(&[("reference", typed.as_str())])
            .send()
            .await?;
        assert_eq!(response.status(), 303, "{typed}");
        assert_eq!(location(&response), format!("/staff/reservations/{id}"));
        let found: Value = reqwest::Client::new()
            .get(app.at("/api/v1/reservations"))
            .query(&[("reference", typed.as_str())])
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(found[0]["id"], id.as_str(), "{typed}: {found}");
        assert_eq!(found[0]["reference"], number.as_str());
    }
    // Not a number, or nobody's: the sheet says so, with what was typed kept.
    for typed in ["ZZZZ-ZZZY", "hello"] {
        let response = client
            .get(app.at("/staff/reservations/find"))
            .query(&[("reference", typed)])
            .send()
            .await?;
        assert_eq!(response.status(), 404);
        let html = response.text().await?;
        assert!(
            html.contains("見つかりませんでした") && html.contains(typed),
            "{html}"
        );
        let found: Value = reqwest::Client::new()
            .get(app.at("/api/v1/reservations"))
            .query(&[("reference", typed)])
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(found, json!([]));
    }
    // A branch clerk of another office does not find it.
    let clerk = staff_client(&app, Role::BranchStaff).await?;
    let response = clerk
        .get(app.at("/staff/reservations/find"))
        .query(&[("reference", number.as_str())])
        .send()
        .await?;
    assert_ne!(
        response.status(),
        303,
        "another office's number is not disclosed"
    );

    // Cancelling asks once: the page names what will be cancelled; asking changes nothing.
    assert!(page.contains(&format!("href=\"/staff/reservations/{id}/cancel\"")));
    assert!(!page.contains("value=\"cancel\""), "no cancel at one press");
    let (status, ask) = get(&client, &app, &format!("/staff/reservations/{id}/cancel")).await?;
    assert_eq!(status, 200);
    assert!(ask.contains(&number) && ask.contains("子育て相談") && ask.contains(&office_name));
    assert!(ask.contains("番号 花子"));
    assert!(ask.contains(&format!("action=\"/staff/reservations/{id}/cancel\"")));
    let response = client
        .post(app.at(&format!("/staff/reservations/{id}/cancel")))
        .form(&[("csrf_token", csrf_from(&ask)), ("reason", String::new())])
        .send()
        .await?;
    assert_eq!(response.status(), 422, "a reason is required");
    let html = response.text().await?;
    assert!(html.contains("id=\"f-cancel-reason-error\"") && html.contains(&number));
    let still = app.storage.reservation(app.tenant.id, stored.id).await?;
    assert_eq!(still.status, ReservationStatus::Confirmed);
    let response = client
        .post(app.at(&format!("/staff/reservations/{id}/cancel")))
        .form(&[
            ("csrf_token", csrf_from(&ask)),
            ("reason", "ご本人から電話で取り消し".to_owned()),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/reservations/{id}?cancelled=1")
    );
    let done = app.storage.reservation(app.tenant.id, stored.id).await?;
    assert_eq!(done.status, ReservationStatus::Cancelled);
    // Nothing left to cancel: asking again leads back to the reservation.
    let response = client
        .get(app.at(&format!("/staff/reservations/{id}/cancel")))
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    Ok(())
}
on_both_backends!(
    staff_find_a_reservation_by_its_number_and_cancel_it_after_one_confirmation,
    staff_find_a_reservation_by_its_number_and_cancel_it_after_one_confirmation
);
