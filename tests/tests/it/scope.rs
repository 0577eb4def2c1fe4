//! Authorisation: roles, office scope and tenant scope are checked on the server for every route.

use madoguchi_domain::{AccountKind, Role, TenantSlug};
use madoguchi_storage::{NewOffice, NewTenant};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use serde_json::{Value, json};

async fn office_id(app: &TestApp, code: &str) -> anyhow::Result<String> {
    let offices = app.storage.list_offices(app.tenant.id).await?;
    Ok(offices
        .iter()
        .find(|o| o.code.as_str() == code)
        .map(|o| o.id.to_string())
        .unwrap_or_default())
}

async fn a_branch_clerk_cannot_read_another_office(app: TestApp) -> anyhow::Result<()> {
    let clerk = app.login(Role::BranchStaff).clone();
    let token = api_token(&app, "staff", &clerk.email, &clerk.password).await?;
    let client = reqwest::Client::new();
    let own = office_id(&app, "kita-shisho").await?;
    let other = office_id(&app, "minami-shisho").await?;

    let mine = client
        .get(app.at(&format!("/api/v1/offices/{own}/staff")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(mine.status(), 200);
    let staff: Vec<Value> = mine.json().await?;
    assert!(
        staff.iter().any(|s| s["email"] == clerk.email.as_str()),
        "the clerk sees their own office"
    );

    let theirs = client
        .get(app.at(&format!("/api/v1/offices/{other}/staff")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(theirs.status(), 403);
    let body: Value = theirs.json().await?;
    assert_eq!(body["error"]["code"], "forbidden");

    // The same on the pages.
    let browser = app.client();
    assert_eq!(
        sign_in_page(
            &browser,
            &app,
            "/staff/signin",
            &clerk.email,
            &clerk.password
        )
        .await?
        .status(),
        303
    );
    assert_eq!(
        browser
            .get(app.at(&format!("/staff/offices/{own}")))
            .send()
            .await?
            .status(),
        200
    );
    assert_eq!(
        browser
            .get(app.at(&format!("/staff/offices/{other}")))
            .send()
            .await?
            .status(),
        403
    );
    // And the administrator's pages are closed to a clerk.
    assert_eq!(
        browser.get(app.at("/admin/staff")).send().await?.status(),
        403
    );
    assert_eq!(
        browser.get(app.at("/admin/audit")).send().await?.status(),
        403
    );
    Ok(())
}
on_both_backends!(
    a_branch_clerk_cannot_read_another_office,
    a_branch_clerk_cannot_read_another_office
);

async fn a_resident_cannot_read_another_resident(app: TestApp) -> anyhow::Result<()> {
    let (a, b) = (unique_email("a"), unique_email("b"));
    verified_resident(&app, &a).await?;
    verified_resident(&app, &b).await?;
    let token_a = api_token(&app, "resident", &a, PASSWORD).await?;
    let accounts = app
        .storage
        .list_accounts(app.tenant.id, AccountKind::Resident)
        .await?;
    let id_of = |email: &str| {
        accounts
            .iter()
            .find(|x| x.email.as_str() == email)
            .map(|x| x.id.to_string())
            .unwrap_or_default()
    };
    let client = reqwest::Client::new();
    let own = client
        .get(app.at(&format!("/api/v1/residents/{}", id_of(&a))))
        .bearer_auth(&token_a)
        .send()
        .await?;
    assert_eq!(own.status(), 200);
    let other = client
        .get(app.at(&format!("/api/v1/residents/{}", id_of(&b))))
        .bearer_auth(&token_a)
        .send()
        .await?;
    assert_eq!(
        other.status(),
        404,
        "another resident is not even confirmed to exist"
    );
    // A resident token cannot use staff routes.
    let staff_list = client
        .get(app.at("/api/v1/staff"))
        .bearer_auth(&token_a)
        .send()
        .await?;
    assert_eq!(staff_list.status(), 403);
    // A resident session cannot open staff pages: they ask for a staff sign-in.
    let browser = app.client();
    assert_eq!(
        sign_in_page(&browser, &app, "/signin", &a, PASSWORD)
            .await?
            .status(),
        303
    );
    let staff_page = browser.get(app.at("/staff")).send().await?;
    assert_eq!(staff_page.status(), 303);
    assert_eq!(
        staff_page.headers()["location"],
        "/staff/signin?next=/staff"
    );
    Ok(())
}
on_both_backends!(
    a_resident_cannot_read_another_resident,
    a_resident_cannot_read_another_resident
);

async fn a_token_of_one_city_does_not_work_at_another(app: TestApp) -> anyhow::Result<()> {
    let other = app
        .storage
        .create_tenant(&NewTenant {
            slug: TenantSlug::parse("other-town")?,
            name_ja: "となり町".into(),
            name_en: "Next Town".into(),
            host: Some("localhost".into()),
        })
        .await?;
    app.storage
        .create_office(
            other.id,
            &NewOffice {
                code: madoguchi_domain::OrgCode::parse("yakuba")?,
                kind: madoguchi_domain::OfficeKind::Headquarters,
                name_ja: "役場".into(),
                name_en: "Town Hall".into(),
            },
        )
        .await?;
    let admin = app.login(Role::Admin).clone();
    let token = api_token(&app, "staff", &admin.email, &admin.password).await?;
    // The app's URL uses 127.0.0.1 (the demo city); "localhost" is the other town.
    let other_url = app.url.replace("127.0.0.1", "localhost");
    let client = reqwest::Client::new();
    let offices: Vec<Value> = client
        .get(format!("{other_url}/api/v1/offices"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(offices.len(), 1, "the other town's offices only");
    assert_eq!(offices[0]["code"], "yakuba");
    let me = client
        .get(format!("{other_url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(me.status(), 401, "a token names its tenant");
    let staff = client
        .get(format!("{other_url}/api/v1/staff"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(staff.status(), 401);
    Ok(())
}
on_both_backends!(
    a_token_of_one_city_does_not_work_at_another,
    a_token_of_one_city_does_not_work_at_another
);

async fn an_admin_manages_offices_departments_staff_and_roles_with_an_audit_trail(
    app: TestApp,
) -> anyhow::Result<()> {
    let admin = app.login(Role::Admin).clone();
    let token = api_token(&app, "staff", &admin.email, &admin.password).await?;
    let client = reqwest::Client::new();
    // The public home page is cached for signed-out visitors: fill the cache first.
    let before = client.get(app.at("/")).send().await?.text().await?;
    assert!(!before.contains("西支所"));
    let office = client
        .post(app.at("/api/v1/offices"))
        .bearer_auth(&token)
        .json(&json!({"code": "nishi-shisho", "kind": "branch", "name_ja": "西支所", "name_en": "West Branch"}))
        .send()
        .await?;
    assert_eq!(office.status(), 201);
    let office: Value = office.json().await?;
    let after = client.get(app.at("/")).send().await?.text().await?;
    assert!(
        after.contains("西支所"),
        "the new office shows at once on the node that added it"
    );
    let duplicate = client
        .post(app.at("/api/v1/offices"))
        .bearer_auth(&token)
        .json(&json!({"code": "nishi-shisho", "kind": "branch", "name_ja": "西支所2", "name_en": "West 2"}))
        .send()
        .await?;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(
        duplicate.json::<Value>().await?["error"]["fields"][0]["code"],
        "org_code_taken"
    );

    let department = client
        .post(app.at("/api/v1/departments"))
        .bearer_auth(&token)
        .json(&json!({"code": "shimin-nishi", "name_ja": "西支所市民係", "name_en": "West Citizens Section", "office_id": office["id"]}))
        .send()
        .await?;
    assert_eq!(department.status(), 201);

    let email = unique_email("clerk");
    let invited = client
        .post(app.at("/api/v1/staff"))
        .bearer_auth(&token)
        .json(&json!({"display_name": "西 職員", "email": email, "roles": [{"role": "branch_staff", "office_id": office["id"]}]}))
        .send()
        .await?;
    assert_eq!(invited.status(), 201);
    let invited: Value = invited.json().await?;
    let mail = app
        .mail
        .wait_for(&email, std::time::Duration::from_secs(10))
        .await?;
    assert!(
        mail.link_containing("/password-reset/confirm?token=")
            .is_some(),
        "an invitation link"
    );

    // A branch role without an office is refused, and the old roles stay.
    let bad = client
        .put(app.at(&format!(
            "/api/v1/staff/{}/roles",
            invited["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&token)
        .json(&json!({"roles": [{"role": "branch_staff"}]}))
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        bad.json::<Value>().await?["error"]["code"],
        "invalid_role_scope"
    );
    let changed = client
        .put(app.at(&format!(
            "/api/v1/staff/{}/roles",
            invited["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&token)
        .json(&json!({"roles": [{"role": "finance"}]}))
        .send()
        .await?;
    assert_eq!(changed.status(), 204);

    let audit: Vec<Value> = client
        .get(app.at("/api/v1/audit?action=staff.roles_changed"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["details"]["before"][0]["role"], "branch_staff");
    assert_eq!(audit[0]["details"]["after"][0]["role"], "finance");
    let all: Vec<Value> = client
        .get(app.at("/api/v1/audit?limit=200"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    for action in [
        "office.created",
        "department.created",
        "staff.created",
        "staff.roles_changed",
    ] {
        assert!(
            all.iter().any(|e| e["action"] == action),
            "{action} audited"
        );
    }
    // Audit entries carry ids, never the address.
    assert!(!serde_json::to_string(&all)?.contains(&email));
    Ok(())
}
on_both_backends!(
    an_admin_manages_offices_departments_staff_and_roles_with_an_audit_trail,
    an_admin_manages_offices_departments_staff_and_roles_with_an_audit_trail
);
