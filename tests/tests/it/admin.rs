//! Administration over HTTP: the audit log's pages, and a city never losing its last
//! administrator (with the operator's command-line recovery).

use madoguchi_domain::{Clock, ManualClock, Role};
use madoguchi_storage::{ActorKind, AuditFilter, NewAuditEntry, SystemClock};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_usecases::accounts::{Granted, OperatorError, RoleGrant, grant_role};
use serde_json::{Value, json};
use std::sync::Arc;

/// The `href` of the "older entries" link, with `&amp;` decoded.
fn older_link(html: &str) -> Option<String> {
    let start = html.find("href=\"/admin/audit?")? + "href=\"".len();
    let rest = &html[start..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

async fn the_audit_log_pages_past_its_first_fifty_entries(app: TestApp) -> anyhow::Result<()> {
    let now = madoguchi_storage::now_utc();
    // Seventy entries a second apart, all older than the sign-in below.
    for i in 0..70 {
        app.storage
            .append_audit(
                app.tenant.id,
                &NewAuditEntry {
                    at: now - time::Duration::seconds(3600 + i),
                    actor_kind: ActorKind::System,
                    actor_id: None,
                    action: "office.updated".to_owned(),
                    target: Some(format!("entry-{i:02}")),
                    details: serde_json::json!({}),
                },
            )
            .await?;
    }
    let admin = staff_client(&app, Role::Admin).await?;
    let first = admin
        .get(app.at("/admin/audit?action=office.updated"))
        .send()
        .await?;
    assert_eq!(first.status(), 200);
    let first = first.text().await?;
    assert!(first.contains("entry-00") && first.contains("entry-49"));
    assert!(!first.contains("entry-50"));
    assert!(
        first.contains("庁舎・施設の変更"),
        "the action is translated"
    );
    let link = older_link(&first).expect("a link to older entries");
    assert!(
        link.contains("action=office.updated") && link.contains("before=2"),
        "the link keeps the filter and encodes the instant: {link}"
    );

    let second = admin.get(app.at(&link)).send().await?;
    assert_eq!(second.status(), 200);
    let second = second.text().await?;
    assert!(second.contains("entry-50") && second.contains("entry-69"));
    assert!(!second.contains("entry-49"));
    assert_eq!(older_link(&second), None, "the last page links no further");

    // Without a filter the log is also longer than a page (the sign-in is in it too).
    let unfiltered = admin.get(app.at("/admin/audit")).send().await?;
    assert_eq!(unfiltered.status(), 200);
    Ok(())
}
on_both_backends!(
    the_audit_log_pages_past_its_first_fifty_entries,
    the_audit_log_pages_past_its_first_fifty_entries
);

async fn the_only_administrator_cannot_drop_the_role_until_an_operator_grants_another(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = app.login(Role::Admin).clone();
    let token = api_token(&app, "staff", &admin.email, &admin.password).await?;
    let client = reqwest::Client::new();
    let me: Value = client
        .get(app.at("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let own_id = me["id"].as_str().unwrap_or_default().to_owned();
    let roles_url = app.at(&format!("/api/v1/staff/{own_id}/roles"));
    let finance_only = json!({"roles": [{"role": "finance"}]});

    let refused = client
        .put(&roles_url)
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&finance_only)
        .send()
        .await?;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await?;
    assert_eq!(body["error"]["code"], "last_admin");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("last administrator")
    );
    let roles = app
        .storage
        .roles(app.tenant.id, madoguchi_domain::AccountId(own_id.parse()?))
        .await?;
    assert!(roles.iter().any(|r| r.role == Role::Admin), "still admin");

    // The admin page refuses the same.
    let page = staff_client(&app, Role::Admin).await?;
    let csrf = form_token(&page, &app, "/admin/staff").await?;
    let removed = page
        .post(app.at(&format!("/admin/staff/{own_id}/roles/remove")))
        .form(&[("csrf_token", csrf.as_str()), ("index", "0")])
        .send()
        .await?;
    assert_eq!(removed.status(), 409);
    assert!(removed.text().await?.contains("最後の管理者"));

    // An operator makes the finance clerk an administrator from the command line.
    let clerk = app.login(Role::Finance).clone();
    let grant = RoleGrant {
        tenant_slug: app.tenant.slug.as_str().to_owned(),
        email: clerk.email.clone(),
        role: "admin".into(),
        office_code: None,
        department_code: None,
    };
    // The grant reads its time from the clock it is given, as every use case does.
    let at = time::macros::datetime!(2031-04-01 09:00 UTC);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at));
    assert_eq!(
        grant_role(&*app.storage, clock.clone(), &grant).await?,
        Granted::Added
    );
    assert_eq!(
        grant_role(&*app.storage, clock, &grant).await?,
        Granted::AlreadyHeld
    );
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("staff.roles_changed".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(audit.len(), 1, "one change recorded");
    assert_eq!(
        (audit[0].actor_kind, audit[0].actor_id),
        (ActorKind::System, None)
    );
    assert_eq!(audit[0].details["by"], "operator");
    assert_eq!(audit[0].at, at);

    // Now there are two, and the first may step down.
    let stepped_down = client
        .put(&roles_url)
        .bearer_auth(&token)
        .json(&finance_only)
        .send()
        .await?;
    assert_eq!(stepped_down.status(), 204);
    Ok(())
}
on_both_backends!(
    the_only_administrator_cannot_drop_the_role_until_an_operator_grants_another,
    the_only_administrator_cannot_drop_the_role_until_an_operator_grants_another
);

async fn the_operator_grant_names_what_is_wrong(app: TestApp) -> anyhow::Result<()> {
    let clerk = app.login(Role::Finance).clone();
    let valid = RoleGrant {
        tenant_slug: app.tenant.slug.as_str().to_owned(),
        email: clerk.email.clone(),
        role: "admin".into(),
        office_code: None,
        department_code: None,
    };
    let error = |grant: RoleGrant| {
        let storage = app.storage.clone();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        async move { grant_role(&*storage, clock, &grant).await.map(|_| ()) }
    };
    assert!(matches!(
        error(RoleGrant {
            tenant_slug: "nowhere".into(),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::UnknownTenant(_))
    ));
    assert!(matches!(
        error(RoleGrant {
            email: "nobody@madoguchi-city.example".into(),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::UnknownStaff(_))
    ));
    assert!(matches!(
        error(RoleGrant {
            email: "not an address".into(),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::InvalidEmail)
    ));
    assert!(matches!(
        error(RoleGrant {
            role: "mayor".into(),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::UnknownRole(_))
    ));
    assert!(matches!(
        error(RoleGrant {
            role: "branch_staff".into(),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::ScopeMissing(_))
    ));
    assert!(matches!(
        error(RoleGrant {
            role: "branch_staff".into(),
            office_code: Some("atlantis".into()),
            ..valid.clone()
        })
        .await,
        Err(OperatorError::UnknownOffice { .. })
    ));
    let message = error(RoleGrant {
        tenant_slug: "nowhere".into(),
        ..valid.clone()
    })
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(message.contains("nowhere"), "{message}");
    // A branch role with its office works.
    error(RoleGrant {
        role: "branch_staff".into(),
        office_code: Some("kita-shisho".into()),
        ..valid
    })
    .await?;
    Ok(())
}
on_both_backends!(
    the_operator_grant_names_what_is_wrong,
    the_operator_grant_names_what_is_wrong
);

async fn the_staff_page_adds_a_role_once_and_removes_it_by_its_place(
    app: TestApp,
) -> anyhow::Result<()> {
    let page = staff_client(&app, Role::Admin).await?;
    let clerk = app.login(Role::Finance).clone();
    let email = madoguchi_domain::Email::parse(&clerk.email).map_err(anyhow::Error::msg)?;
    let clerk_id = app
        .storage
        .account_by_email(app.tenant.id, madoguchi_domain::AccountKind::Staff, &email)
        .await?
        .id;
    let roles_of = || {
        let storage = app.storage.clone();
        let tenant = app.tenant.id;
        async move {
            let roles = storage.roles(tenant, clerk_id).await?;
            anyhow::Ok(roles.into_iter().map(|r| r.role).collect::<Vec<_>>())
        }
    };
    let add_url = app.at(&format!("/admin/staff/{clerk_id}/roles"));
    for _ in 0..2 {
        let csrf = form_token(&page, &app, "/admin/staff").await?;
        let added = page
            .post(&add_url)
            .form(&[("csrf_token", csrf.as_str()), ("role", "admin")])
            .send()
            .await?;
        assert_eq!(added.status(), 303);
    }
    // Asked twice, held once.
    let mut held = roles_of().await?;
    held.sort_by_key(|r| r.as_str());
    assert_eq!(held, [Role::Admin, Role::Finance]);

    // The page lists the roles in the order the storage gives them; it removes by place.
    let place = roles_of()
        .await?
        .iter()
        .position(|r| *r == Role::Admin)
        .unwrap_or_default()
        .to_string();
    let remove_url = app.at(&format!("/admin/staff/{clerk_id}/roles/remove"));
    for index in ["9", place.as_str()] {
        // A place past the end (the list changed since the page was shown) changes nothing.
        let csrf = form_token(&page, &app, "/admin/staff").await?;
        let removed = page
            .post(&remove_url)
            .form(&[("csrf_token", csrf.as_str()), ("index", index)])
            .send()
            .await?;
        assert_eq!(removed.status(), 303);
    }
    assert_eq!(roles_of().await?, [Role::Finance]);

    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("staff.roles_changed".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert!(
        audit
            .iter()
            .all(|e| e.actor_kind == ActorKind::Staff && e.actor_id.is_some()),
        "recorded as the administrator"
    );
    Ok(())
}
on_both_backends!(
    the_staff_page_adds_a_role_once_and_removes_it_by_its_place,
    the_staff_page_adds_a_role_once_and_removes_it_by_its_place
);

/// The rows of the audit log's table (the filter form lists every action too).
fn log_rows(html: &str) -> String {
    let start = html.find("<tbody>").unwrap_or(0);
    let end = html.find("</tbody>").unwrap_or(html.len());
    html[start..end].to_owned()
}

async fn the_audit_page_names_people_translates_actions_and_refuses_bad_filters(
    app: TestApp,
) -> anyhow::Result<()> {
    let resident = resident(&app).await?;
    let admin = staff_client(&app, Role::Admin).await?;
    let page = admin.get(app.at("/admin/audit")).send().await?;
    assert_eq!(page.status(), 200);
    let html = page.text().await?;
    let rows = log_rows(&html);
    assert!(rows.contains("職員のログイン"), "actions are translated");
    assert!(!rows.contains("staff.signed_in"), "not shown as ids");
    assert!(
        html.contains("デモ 管理者"),
        "staff are named, not shown as ids"
    );
    assert!(rows.contains("住民（山＊＊）"), "residents are masked");
    assert!(
        !html.contains("山田 花子"),
        "a resident's name is not shown"
    );
    let id = resident.id.to_string();
    assert_eq!(
        html.matches(&id).count(),
        html.matches(&format!("actor={id}")).count(),
        "the resident's id appears only in the links that filter by them"
    );

    // Filtered by the resident: only their entries.
    let mine = admin
        .get(app.at(&format!("/admin/audit?actor={}", resident.id)))
        .send()
        .await?;
    assert_eq!(mine.status(), 200);
    let mine = mine.text().await?;
    let mine = log_rows(&mine);
    assert!(mine.contains("メールアドレスの確認") || mine.contains("住民のログイン"));
    assert!(!mine.contains("職員のログイン"), "{mine}");

    // A date range of Tokyo days; one ending before it began is refused with a message.
    let today = madoguchi_domain::tokyo::to_tokyo(madoguchi_storage::now_utc()).date();
    let tomorrow = today.next_day().expect("a next day");
    let ranged = admin
        .get(app.at(&format!(
            "/admin/audit?from={today}&until={today}&action=staff."
        )))
        .send()
        .await?;
    assert_eq!(ranged.status(), 200);
    assert!(log_rows(&ranged.text().await?).contains("職員のログイン"));
    let later = admin
        .get(app.at(&format!("/admin/audit?from={tomorrow}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        !log_rows(&later).contains("職員のログイン"),
        "nothing from tomorrow on"
    );
    for (query, message) in [
        (format!("from={tomorrow}&until={today}"), "終了日は開始日"),
        ("from=2026-02-30".to_owned(), "2026-04-01 のように"),
        ("action=drop+table".to_owned(), "一覧にある操作"),
        ("actor=someone".to_owned(), "一覧にある操作者"),
        ("before=yesterday".to_owned(), "ページの指定"),
    ] {
        let refused = admin
            .get(app.at(&format!("/admin/audit?{query}")))
            .send()
            .await?;
        assert_eq!(refused.status(), 422, "{query}");
        let text = refused.text().await?;
        assert!(text.contains(message), "{query}: {text}");
    }

    // The jobs page says what the jobs are, in words.
    let jobs = admin
        .get(app.at("/admin/jobs"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        jobs.contains("メールの送信"),
        "the sign-up mail job: {jobs}"
    );
    assert!(
        !jobs.contains(">mail.send<") && !jobs.contains(">queued<") && !jobs.contains(">done<")
    );
    let jobs_en = admin
        .get(app.at("/admin/jobs?lang=en"))
        .send()
        .await?
        .text()
        .await?;
    assert!(jobs_en.contains("Sending an e-mail"));
    Ok(())
}
on_both_backends!(
    the_audit_page_names_people_translates_actions_and_refuses_bad_filters,
    the_audit_page_names_people_translates_actions_and_refuses_bad_filters
);

async fn each_role_has_its_top_page_and_the_administrator_an_index(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = staff_client(&app, Role::Admin).await?;
    let index = admin.get(app.at("/admin")).send().await?;
    assert_eq!(index.status(), 200, "/admin is a page");
    let index = index.text().await?;
    for link in [
        "/admin/offices",
        "/admin/departments",
        "/admin/staff",
        "/admin/calendar",
        "/admin/booking-policy",
        "/admin/audit",
        "/admin/jobs",
        "/admin/line",
    ] {
        assert!(index.contains(&format!("href=\"{link}\"")), "{link}");
    }
    let home = admin.get(app.at("/staff")).send().await?.text().await?;
    assert!(
        home.contains("href=\"/admin\""),
        "the administrator's tasks"
    );

    let finance = staff_client(&app, Role::Finance).await?;
    let home = finance.get(app.at("/staff")).send().await?.text().await?;
    assert!(
        home.contains("会計担当（会計課）"),
        "a role reads as a role: {home}"
    );
    assert!(!home.contains("会計課 — 会計課"));
    assert!(home.contains("href=\"/finance\""));
    assert!(
        !home.contains("href=\"/staff/day-sheet\""),
        "finance does not handle reservations"
    );
    let page = finance.get(app.at("/finance")).send().await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(page.contains("準備中") && page.contains("消込") && page.contains("還付"));
    let english = finance
        .get(app.at("/staff?lang=en"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        english.contains("Finance officer (Accounting Division)"),
        "{english}"
    );
    assert_eq!(
        finance.get(app.at("/admin")).send().await?.status(),
        403,
        "the index is the administrator's"
    );

    let clerk = staff_client(&app, Role::BranchStaff).await?;
    let home = clerk.get(app.at("/staff")).send().await?.text().await?;
    for link in [
        "/staff/day-sheet",
        "/staff/proxy-booking",
        "/staff/suspensions",
    ] {
        assert!(home.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(!home.contains("href=\"/finance\""));
    assert_eq!(clerk.get(app.at("/finance")).send().await?.status(), 403);
    assert_eq!(clerk.get(app.at("/admin")).send().await?.status(), 403);
    Ok(())
}
on_both_backends!(
    each_role_has_its_top_page_and_the_administrator_an_index,
    each_role_has_its_top_page_and_the_administrator_an_index
);
