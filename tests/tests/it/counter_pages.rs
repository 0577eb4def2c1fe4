//! The remote counter's pages: a resident takes a number on `/counter` and watches it on a page
//! that refreshes itself; the department's specialist calls it from `/staff/counter`; another
//! resident cannot open the ticket, and a branch clerk has no queue to serve.

use madoguchi_counter::QueuePrefix;
use madoguchi_domain::{AccountKind, Email, Role};
use madoguchi_storage::{ActorKind, NewAuditEntry, NewCounterQueue};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;

on_both_backends!(
    a_resident_takes_a_number_and_the_department_calls_it,
    take_and_call
);
on_both_backends!(
    a_branch_kiosk_takes_a_walk_in_to_the_call_and_back,
    kiosk_walk_in
);

async fn hq_queue(app: &TestApp) -> anyhow::Result<String> {
    let hq = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Staff,
            &Email::parse(&app.login(Role::HqStaff).email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    let roles = app.storage.roles(app.tenant.id, hq.id).await?;
    let department = roles[0].department_id.unwrap();
    let queue = app
        .storage
        .create_queue(
            app.tenant.id,
            &NewCounterQueue {
                department,
                prefix: QueuePrefix::new('A').unwrap(),
                name_ja: "総合窓口".into(),
                name_en: "General counter".into(),
            },
            time::OffsetDateTime::now_utc(),
            &NewAuditEntry {
                at: time::OffsetDateTime::now_utc(),
                actor_kind: ActorKind::System,
                actor_id: None,
                action: "counter.queue_created".into(),
                target: None,
                details: serde_json::json!({}),
            },
        )
        .await?;
    Ok(queue.id.to_string())
}

async fn take_and_call(app: TestApp) -> anyhow::Result<()> {
    let queue = hq_queue(&app).await?;
    let (_, hanako) = signed_in_resident(&app).await?;
    let page = hanako.get(app.at("/counter")).send().await?.text().await?;
    assert!(
        page.contains("総合窓口") && page.contains("受付番号を取る"),
        "{page}"
    );

    let token = form_token(&hanako, &app, "/counter").await?;
    let taken = hanako
        .post(app.at(&format!("/counter/queues/{queue}/tickets")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    assert_eq!(taken.status(), 303);
    let ticket_path = location(&taken);
    assert!(
        ticket_path.starts_with("/counter/tickets/"),
        "{ticket_path}"
    );
    let page = hanako
        .get(app.at(&ticket_path))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("A-001"), "{page}");
    assert!(page.contains("あなたの順番は 1 番目です。"), "{page}");
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "refreshes while waiting"
    );

    // Another resident does not see it.
    let (_, taro) = signed_in_resident(&app).await?;
    assert_eq!(taro.get(app.at(&ticket_path)).send().await?.status(), 404);

    // The department's specialist sees the number waiting and calls it.
    let hq = staff_client(&app, Role::HqStaff).await?;
    let console = hq
        .get(app.at("/staff/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        console.contains("A-001") && console.contains("次の方を呼ぶ"),
        "{console}"
    );
    let token = form_token(&hq, &app, "/staff/counter").await?;
    let called = hq
        .post(app.at(&format!("/staff/counter/queues/{queue}/call-next")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    assert_eq!(called.status(), 303);
    assert_eq!(location(&called), "/staff/counter?called=A-001");
    let console = hq
        .get(app.at("/staff/counter?called=A-001"))
        .send()
        .await?
        .text()
        .await?;
    assert!(console.contains("A-001 をお呼びしました。"), "{console}");
    let page = hanako
        .get(app.at(&ticket_path))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("お呼びしています。"), "{page}");

    // No answer twice over: first to the back of the queue, then a no-show the resident is told.
    let ticket_id = ticket_path.trim_start_matches("/counter/tickets/");
    for _ in 0..2 {
        let token = form_token(&hq, &app, "/staff/counter").await?;
        let answer = hq
            .post(app.at(&format!("/staff/counter/tickets/{ticket_id}/follow-up")))
            .form(&[("csrf_token", token.as_str()), ("action", "no_answer")])
            .send()
            .await?;
        assert_eq!(answer.status(), 303);
        let token = form_token(&hq, &app, "/staff/counter").await?;
        hq.post(app.at(&format!("/staff/counter/queues/{queue}/call-next")))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await?;
    }
    let page = hanako
        .get(app.at(&ticket_path))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("応答がなかったため"), "{page}");
    assert!(
        !page.contains("http-equiv=\"refresh\""),
        "no refresh once finished"
    );

    // A branch clerk serves no queue; a nonsense action is refused without a 500.
    let kita = staff_client(&app, Role::BranchStaff).await?;
    let console = kita
        .get(app.at("/staff/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        console.contains("担当できる窓口がありません。"),
        "{console}"
    );
    let token = form_token(&hq, &app, "/staff/counter").await?;
    let nonsense = hq
        .post(app.at(&format!("/staff/counter/tickets/{ticket_id}/follow-up")))
        .form(&[("csrf_token", token.as_str()), ("action", "teleport")])
        .send()
        .await?;
    assert_eq!(nonsense.status(), 422);
    Ok(())
}

async fn kiosk_walk_in(app: TestApp) -> anyhow::Result<()> {
    // The call page places the room on a media node: this app is the city's.
    app.start_media().await?;
    let queue = hq_queue(&app).await?;
    // Only a branch's staff account runs a kiosk.
    let hq = staff_client(&app, Role::HqStaff).await?;
    assert_eq!(hq.get(app.at("/kiosk")).send().await?.status(), 403);

    let kiosk = staff_client(&app, Role::BranchStaff).await?;
    let start = kiosk.get(app.at("/kiosk")).send().await?.text().await?;
    assert!(
        start.contains("総合窓口") && start.contains("data-reload-s="),
        "{start}"
    );
    let token = form_token(&kiosk, &app, "/kiosk").await?;
    let bad = kiosk
        .post(app.at("/kiosk/tickets"))
        .form(&[("csrf_token", token.as_str()), ("queue_id", "not-a-queue")])
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    let taken = kiosk
        .post(app.at("/kiosk/tickets"))
        .form(&[("csrf_token", token.as_str()), ("queue_id", queue.as_str())])
        .send()
        .await?;
    assert_eq!(taken.status(), 303);
    let ticket_path = location(&taken);
    assert!(ticket_path.starts_with("/kiosk/tickets/"), "{ticket_path}");
    let waiting = kiosk.get(app.at(&ticket_path)).send().await?.text().await?;
    assert!(
        waiting.contains("A-001") && waiting.contains("あなたの順番は 1 番目です。"),
        "{waiting}"
    );
    // Another branch's kiosk, or headquarters, cannot open it.
    assert_eq!(hq.get(app.at(&ticket_path)).send().await?.status(), 403);

    // The specialist calls; the kiosk starts the call as the resident.
    let token = form_token(&hq, &app, "/staff/counter").await?;
    hq.post(app.at(&format!("/staff/counter/queues/{queue}/call-next")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    let called = kiosk.get(app.at(&ticket_path)).send().await?.text().await?;
    assert!(called.contains("通話を始める"), "{called}");
    let token = form_token(&kiosk, &app, &ticket_path).await?;
    let answered = kiosk
        .post(app.at(&format!("{ticket_path}/answer")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    assert_eq!(answered.status(), 303);
    let call = location(&answered);
    assert!(
        call.starts_with("/counter/rooms/") && call.ends_with("?role=resident&kiosk=1"),
        "{call}"
    );
    let page = kiosk.get(app.at(&call)).send().await?.text().await?;
    assert!(
        page.contains(r#"data-role="resident""#) && page.contains(r#"data-kiosk="1""#),
        "{page}"
    );
    // Coming back to the ticket during the call leads into the call again.
    let again = kiosk.get(app.at(&ticket_path)).send().await?;
    assert_eq!(again.status(), 303);
    assert_eq!(location(&again), call);
    Ok(())
}
