//! A city's capabilities over HTTP: the home page offers only what this build has and the city
//! has on, an administrator switches them on `/admin/capabilities`, every switch is audited,
//! and a capability this build lacks cannot be turned on.

use madoguchi_domain::Role;
use madoguchi_storage::AuditFilter;
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;

/// The texts of the home page's cards, one per capability (or group of them).
const RESERVATION_CARD: &str = "相談の予約";
const PAYMENT_CARD: &str = "手数料や使用料をオンライン・窓口・コンビニで。";
const REMOTE_CARD: &str = "支所やご自宅から、本庁の担当者とビデオで相談。";
const NOT_BUILT_CARDS: [&str; 1] = ["公民館の部屋や体育館の予約と抽選申込み。"];

async fn home(app: &TestApp) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .get(app.at("/"))
        .header("accept-language", "ja")
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "home answered {}",
        response.status()
    );
    Ok(response.text().await?)
}

/// Posts the switch form as `admin`; returns the status and the `Location` or the page.
async fn switch(
    admin: &reqwest::Client,
    app: &TestApp,
    capability: &str,
    state: &str,
) -> anyhow::Result<(u16, String)> {
    let token = form_token(admin, app, "/admin/capabilities").await?;
    let response = admin
        .post(app.at("/admin/capabilities"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("capability", capability),
            ("state", state),
        ])
        .send()
        .await?;
    let status = response.status().as_u16();
    let to = location(&response);
    let body = response.text().await?;
    Ok((status, if to.is_empty() { body } else { to }))
}

async fn the_home_page_offers_what_the_city_has_on_and_this_build_has(
    app: TestApp,
) -> anyhow::Result<()> {
    // The demo city: reservations, payments and the remote counter (the demo switches them
    // on), and nothing that is not built.
    let page = home(&app).await?;
    assert!(
        page.contains(REMOTE_CARD) && page.contains("href=\"/counter\""),
        "the demo city runs remote counters"
    );
    assert!(
        page.contains(PAYMENT_CARD) && page.contains("href=\"/account/payments\""),
        "the demo city takes payments"
    );
    assert!(
        page.contains(RESERVATION_CARD) && page.contains("class=\"button\" href=\"/reservations\"")
    );
    for card in NOT_BUILT_CARDS {
        assert!(
            !page.contains(card),
            "{card} is not offered: it is not built"
        );
    }

    let admin = staff_client(&app, Role::Admin).await?;
    let listed = admin.get(app.at("/admin/capabilities")).send().await?;
    assert_eq!(listed.status(), 200);
    let listed = listed.text().await?;
    assert!(
        listed.contains("オンライン予約") && listed.contains("このバージョンにはまだありません")
    );

    // Payments and the remote counter turned off: their cards go, at once (the cached copy is
    // forgotten).
    assert_eq!(switch(&admin, &app, "payments", "off").await?.0, 303);
    assert!(!home(&app).await?.contains(PAYMENT_CARD));
    assert_eq!(switch(&admin, &app, "remote_counter", "off").await?.0, 303);
    assert!(!home(&app).await?.contains(REMOTE_CARD));

    // Reservations turned off too: the home page offers nothing.
    let (status, to) = switch(&admin, &app, "reservations", "off").await?;
    assert_eq!((status, to.as_str()), (303, "/admin/capabilities?saved=1"));
    let page = home(&app).await?;
    assert!(
        !page.contains(RESERVATION_CARD)
            && !page.contains("class=\"button\" href=\"/reservations\"")
    );
    assert!(page.contains("現在、オンラインで受け付けている手続きはありません。"));

    // Payments are built: turned back on, their card returns.
    assert_eq!(switch(&admin, &app, "payments", "on").await?.0, 303);
    let page = home(&app).await?;
    assert!(page.contains(PAYMENT_CARD) && !page.contains(RESERVATION_CARD));

    // Facilities are not in this build: refused, and still not offered.
    let (status, page) = switch(&admin, &app, "facilities", "on").await?;
    assert_eq!(status, 409);
    assert!(page.contains("この機能は、このバージョンにはまだありません。"));
    assert!(!home(&app).await?.contains(NOT_BUILT_CARDS[0]));
    // Nonsense is a 422, not a 500.
    assert_eq!(switch(&admin, &app, "teleportation", "on").await?.0, 422);
    assert_eq!(switch(&admin, &app, "reservations", "maybe").await?.0, 422);

    // Back on.
    assert_eq!(switch(&admin, &app, "reservations", "on").await?.0, 303);
    assert!(home(&app).await?.contains(RESERVATION_CARD));

    // Each real switch is audited, with who did it; refusals and no-ops are not.
    assert_eq!(switch(&admin, &app, "reservations", "on").await?.0, 303);
    let filter = AuditFilter {
        action_prefix: Some("city.capability_switched".into()),
        limit: 10,
        ..AuditFilter::default()
    };
    let entries = app.storage.list_audit(app.tenant.id, &filter).await?;
    let seen: Vec<(String, bool)> = entries
        .iter()
        .map(|e| {
            (
                e.details["capability"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e.details["on"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("reservations".to_owned(), true),
            ("payments".to_owned(), true),
            ("reservations".to_owned(), false),
            ("remote_counter".to_owned(), false),
            ("payments".to_owned(), false)
        ],
        "newest first"
    );
    assert!(entries.iter().all(|e| e.actor_id.is_some()));

    // Only administrators see or switch them.
    let clerk = staff_client(&app, Role::HqStaff).await?;
    assert_eq!(
        clerk
            .get(app.at("/admin/capabilities"))
            .send()
            .await?
            .status(),
        403
    );
    Ok(())
}

on_both_backends!(
    the_home_page_offers_what_the_city_has_on_and_this_build_has,
    the_home_page_offers_what_the_city_has_on_and_this_build_has
);
