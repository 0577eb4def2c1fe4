//! Administration over HTTP: the audit log's pages, and a city never losing its last
//! administrator (with the operator's command-line recovery).

use crate::support::*;
use madoguchi_domain::Role;
use madoguchi_storage::{ActorKind, NewAuditEntry};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::on_both_backends;

/// A client signed in through the staff pages as the demo login of `role`.
async fn staff_client(app: &TestApp, role: Role) -> anyhow::Result<reqwest::Client> {
    let login = app.login(role).clone();
    let client = app.client();
    let response =
        sign_in_page(&client, app, "/staff/signin", &login.email, &login.password).await?;
    anyhow::ensure!(
        response.status() == 303,
        "staff sign-in answered {}",
        response.status()
    );
    Ok(client)
}

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
                    action: format!("test.entry_{i:02}"),
                    target: None,
                    details: serde_json::json!({}),
                },
            )
            .await?;
    }
    let admin = staff_client(&app, Role::Admin).await?;
    let first = admin
        .get(app.at("/admin/audit?action=test."))
        .send()
        .await?;
    assert_eq!(first.status(), 200);
    let first = first.text().await?;
    assert!(first.contains("test.entry_00") && first.contains("test.entry_49"));
    assert!(!first.contains("test.entry_50"));
    let link = older_link(&first).expect("a link to older entries");
    assert!(
        link.contains("action=test.") && link.contains("before=2"),
        "the link keeps the filter and encodes the instant: {link}"
    );

    let second = admin.get(app.at(&link)).send().await?;
    assert_eq!(second.status(), 200);
    let second = second.text().await?;
    assert!(second.contains("test.entry_50") && second.contains("test.entry_69"));
    assert!(!second.contains("test.entry_49"));
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
