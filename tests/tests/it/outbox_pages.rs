//! `/admin/outbox/{name}` shows a stored message as a person reads it: a real verification
//! mail, written by the outbox transport as an encoded `.eml`, is shown with its subject, sender,
//! recipient and text decoded (the mail adapter decodes; the server knows no MIME).

use madoguchi_domain::Role;
use madoguchi_mail::OutboxMailer;
use madoguchi_tests::app::{Backend, MailTo, Options, spawn};
use madoguchi_tests::clients::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_shows_a_verification_mail_decoded() -> anyhow::Result<()> {
    let outbox = tempfile::tempdir()?;
    let mut options = Options::new(Backend::Sqlite);
    options.mail = MailTo::Outbox(outbox.path().to_path_buf());
    let app = spawn(options).await?.expect("sqlite app");
    let email = unique_email("outbox");
    let signed_up = sign_up_page(&app.client(), &app, &email, PASSWORD).await?;
    assert_eq!(signed_up.status(), 303);

    // The mail job writes the file shortly after.
    let mut names = Vec::new();
    for _ in 0..100 {
        names = OutboxMailer::list(outbox.path(), app.tenant.id, 10).await?;
        if !names.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let name = names
        .first()
        .map(|m| m.name.clone())
        .expect("the mail was written");
    let stored = std::fs::read_to_string(
        OutboxMailer::tenant_dir(outbox.path(), Some(app.tenant.id)).join(&name),
    )?;
    assert!(
        !stored.contains("メールアドレスの確認"),
        "the stored file is encoded (RFC 2047, base64)"
    );

    let admin = staff_client(&app, Role::Admin).await?;
    let list = admin
        .get(app.at("/admin/outbox"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains(&name));
    let shown = admin
        .get(app.at(&format!("/admin/outbox/{name}")))
        .send()
        .await?;
    assert_eq!(shown.status(), 200);
    assert!(
        shown
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html")),
        "a page, not the raw file"
    );
    // Templates write `/` as `&#x2f;`; read the page as a browser shows it.
    let page = shown.text().await?.replace("&#x2f;", "/");
    assert!(
        page.contains("[まどぐち市] メールアドレスの確認"),
        "the subject, decoded"
    );
    assert!(page.contains("山田 花子 様"), "the text, decoded");
    assert!(page.contains("/verify-email?token="), "the link to follow");
    assert!(page.contains(&email), "the recipient");
    assert!(
        page.contains("noreply@madoguchi-city.example"),
        "the sender"
    );

    // The stored file itself is one click away.
    let raw = admin
        .get(app.at(&format!("/admin/outbox/{name}?raw=1")))
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(raw, stored);
    // A name that is not a message is a 404, not a 500.
    let missing = admin
        .get(app.at("/admin/outbox/nothing-here.eml"))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    Ok(())
}
