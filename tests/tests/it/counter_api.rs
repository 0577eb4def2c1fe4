//! The remote counter's queues over `/api/v1/counter`: an administrator creates a department's
//! queue, a resident and a branch's kiosk take numbers, the department's specialist calls them
//! in order, and everyone else is refused (another department's specialist 403, another
//! resident's ticket 404, nonsense 422).

use madoguchi_domain::{AccountKind, Email, Role};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::api_call as call;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_queue_is_served_in_order_by_its_department_and_nobody_else,
    queue_served_in_order
);
on_both_backends!(
    bad_input_gets_a_specific_error_and_changes_nothing,
    bad_input_refused
);

/// The demo department of the `hq@` specialist and the id of the `kita@` branch.
async fn demo_places(app: &TestApp) -> anyhow::Result<(String, String, String)> {
    let hq = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Staff,
            &Email::parse(&app.login(Role::HqStaff).email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    let roles = app.storage.roles(app.tenant.id, hq.id).await?;
    let department = roles[0].department_id.unwrap().to_string();
    let kita = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Staff,
            &Email::parse(&app.login(Role::BranchStaff).email)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    let kita_roles = app.storage.roles(app.tenant.id, kita.id).await?;
    let branch = kita_roles[0].office_id.unwrap().to_string();
    let other = app
        .storage
        .list_departments(app.tenant.id)
        .await?
        .into_iter()
        .find(|d| d.id.to_string() != department)
        .unwrap()
        .id
        .to_string();
    Ok((department, other, branch))
}

async fn queue_served_in_order(app: TestApp) -> anyhow::Result<()> {
    use reqwest::Method;
    let admin = admin_token(&app).await?;
    let hq = staff_token(&app, Role::HqStaff).await?;
    let kita = staff_token(&app, Role::BranchStaff).await?;
    let (department, other_department, branch) = demo_places(&app).await?;

    let (status, queue) = call(
        &app,
        Method::POST,
        "/api/v1/counter/queues",
        &admin,
        Some(json!({"department_id": department, "prefix": "ａ", "name_ja": "総合窓口", "name_en": "General counter"})),
    )
    .await?;
    assert_eq!(status, 201, "{queue}");
    assert_eq!(queue["prefix"], "A", "a full-width small letter reads as A");
    let queue_id = queue["id"].as_str().unwrap().to_owned();
    let (status, other) = call(
        &app,
        Method::POST,
        "/api/v1/counter/queues",
        &admin,
        Some(json!({"department_id": other_department, "prefix": "B", "name_ja": "別の課", "name_en": "Other"})),
    )
    .await?;
    assert_eq!(status, 201, "{other}");
    let other_queue = other["id"].as_str().unwrap().to_owned();
    // Only administrators create queues.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/counter/queues",
        &hq,
        Some(json!({"department_id": department, "prefix": "C", "name_ja": "x", "name_en": "x"})),
    )
    .await?;
    assert_eq!(status, 403);

    // A resident takes a number; taking again gives the same one back.
    let hanako = resident(&app).await?;
    let tickets = format!("/api/v1/counter/queues/{queue_id}/tickets");
    let (status, first) =
        call(&app, Method::POST, &tickets, &hanako.token, Some(json!({}))).await?;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["number"], "A-001");
    assert_eq!(first["position"], 1);
    assert_eq!(first["source"], "web");
    let (status, again) =
        call(&app, Method::POST, &tickets, &hanako.token, Some(json!({}))).await?;
    assert_eq!((status, &again["id"]), (200, &first["id"]));

    // The branch's kiosk takes one for a walk-in at its own office, not at another's.
    let (status, walk_in) = call(
        &app,
        Method::POST,
        &tickets,
        &kita,
        Some(json!({"office_id": branch})),
    )
    .await?;
    assert_eq!(status, 201, "{walk_in}");
    assert_eq!(walk_in["number"], "A-002");
    assert_eq!(walk_in["position"], 2);
    let (status, _) = call(
        &app,
        Method::POST,
        &tickets,
        &kita,
        Some(json!({"office_id": uuid::Uuid::now_v7()})),
    )
    .await?;
    assert_eq!(status, 403, "a kiosk of another office");
    // An administrator may run any of the city's kiosks, but not one of an office that does not exist.
    let (status, body) = call(
        &app,
        Method::POST,
        &tickets,
        &admin,
        Some(json!({"office_id": uuid::Uuid::now_v7()})),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "office_id", "{body}");

    // Another resident cannot see Hanako's ticket, nor leave it for her.
    let taro = resident(&app).await?;
    let ticket_path = format!("/api/v1/counter/tickets/{}", first["id"].as_str().unwrap());
    assert_eq!(
        call(&app, Method::GET, &ticket_path, &taro.token, None)
            .await?
            .0,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{ticket_path}/leave"),
            &taro.token,
            None
        )
        .await?
        .0,
        404
    );

    // Only the department's specialists call: the branch clerk and another queue are refused.
    let call_next = format!("/api/v1/counter/queues/{queue_id}/call-next");
    assert_eq!(
        call(&app, Method::POST, &call_next, &kita, None).await?.0,
        403
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("/api/v1/counter/queues/{other_queue}/call-next"),
            &hq,
            None
        )
        .await?
        .0,
        403
    );
    let (status, called) = call(&app, Method::POST, &call_next, &hq, None).await?;
    assert_eq!(status, 200, "{called}");
    assert_eq!(
        (called["number"].as_str(), called["status"].as_str()),
        (Some("A-001"), Some("called"))
    );

    // Hanako sees she is called; the walk-in moved up, with someone on duty now.
    let (_, mine) = call(&app, Method::GET, &ticket_path, &hanako.token, None).await?;
    assert_eq!(mine["status"], "called");
    let walk_in_path = format!(
        "/api/v1/counter/tickets/{}",
        walk_in["id"].as_str().unwrap()
    );
    let (_, theirs) = call(&app, Method::GET, &walk_in_path, &kita, None).await?;
    assert_eq!(theirs["position"], 1);
    assert_eq!(theirs["on_duty"], 1);
    assert_eq!(theirs["estimated_wait_minutes"], 0);

    // Recall, then finish is refused until she answers; a removal ends it.
    let follow = format!("{ticket_path}/follow-up");
    let (status, recalled) = call(
        &app,
        Method::POST,
        &follow,
        &hq,
        Some(json!({"action": "recall"})),
    )
    .await?;
    assert_eq!((status, recalled["calls"].as_i64()), (200, Some(2)));
    let (status, refused) = call(
        &app,
        Method::POST,
        &follow,
        &hq,
        Some(json!({"action": "finish"})),
    )
    .await?;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("ticket_state_conflict"))
    );
    let (status, removed) = call(
        &app,
        Method::POST,
        &follow,
        &hq,
        Some(json!({"action": "remove"})),
    )
    .await?;
    assert_eq!(
        (status, removed["outcome"].as_str()),
        (200, Some("cancelled"))
    );

    // The walk-in next, then no one: 204.
    let (_, called) = call(&app, Method::POST, &call_next, &hq, None).await?;
    assert_eq!(called["number"], "A-002");
    assert_eq!(
        call(&app, Method::POST, &call_next, &hq, None).await?.0,
        204
    );

    // Closing the queue refuses new numbers with its own code.
    let (status, closed) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/counter/queues/{queue_id}/accepting"),
        &hq,
        Some(json!({"accepting": false})),
    )
    .await?;
    assert_eq!((status, closed["accepting"].as_bool()), (200, Some(false)));
    let (status, refused) =
        call(&app, Method::POST, &tickets, &taro.token, Some(json!({}))).await?;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("queue_closed"))
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not taking tickets"),
        "{refused}"
    );
    Ok(())
}

async fn bad_input_refused(app: TestApp) -> anyhow::Result<()> {
    use reqwest::Method;
    let admin = admin_token(&app).await?;
    let (department, _, _) = demo_places(&app).await?;
    for (body, field) in [
        (
            json!({"department_id": department, "prefix": "AB", "name_ja": "x", "name_en": "x"}),
            "prefix",
        ),
        (
            json!({"department_id": department, "prefix": "1", "name_ja": "x", "name_en": "x"}),
            "prefix",
        ),
        (
            json!({"department_id": department, "prefix": "A", "name_ja": " ", "name_en": "x"}),
            "name_ja",
        ),
        (
            json!({"department_id": department, "prefix": "A", "name_ja": "x\u{0}", "name_en": "x"}),
            "name_ja",
        ),
        (
            json!({"department_id": department, "prefix": "A", "name_ja": "x", "name_en": "y".repeat(101)}),
            "name_en",
        ),
        (
            json!({"department_id": uuid::Uuid::now_v7(), "prefix": "A", "name_ja": "x", "name_en": "x"}),
            "department",
        ),
    ] {
        let (status, answer) = call(
            &app,
            Method::POST,
            "/api/v1/counter/queues",
            &admin,
            Some(body.clone()),
        )
        .await?;
        assert_eq!(status, 422, "{body}: {answer}");
        let fields = answer["error"]["fields"].to_string();
        assert!(fields.contains(field), "{body}: {answer}");
    }
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/counter/queues",
        &admin,
        Some(json!({"department_id": department, "prefix": "A", "name_ja": "x", "name_en": "x", "extra": 1})),
    )
    .await?;
    assert_eq!(status, 422, "unknown fields are refused");
    let (status, queues) = call(&app, Method::GET, "/api/v1/counter/queues", &admin, None).await?;
    assert_eq!(
        (status, queues.as_array().map(Vec::len)),
        (200, Some(0)),
        "nothing was created"
    );

    // A follow-up that is no action, a ticket that does not exist.
    let hq = staff_token(&app, Role::HqStaff).await?;
    let nowhere = format!("/api/v1/counter/tickets/{}/follow-up", uuid::Uuid::now_v7());
    let (status, answer) = call(
        &app,
        Method::POST,
        &nowhere,
        &hq,
        Some(json!({"action": "teleport"})),
    )
    .await?;
    assert_eq!(status, 422, "{answer}");
    let (status, _) = call(
        &app,
        Method::POST,
        &nowhere,
        &hq,
        Some(json!({"action": "recall"})),
    )
    .await?;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/counter/queues/{}/call-next", uuid::Uuid::now_v7()),
        &hq,
        None,
    )
    .await?;
    assert_eq!(status, 404);
    Ok(())
}
