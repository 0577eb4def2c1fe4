//! Finance's convenience-store slip pages over HTTP, as a browser without JavaScript: set the
//! company code (a bad one refused under its field), issue a month's water bills (a bad month
//! refused, nothing issued), the batch's page, its PDF and its manifest, a slip reissued (too
//! much or a date that does not exist refused under its field); a counter clerk is
//! refused and a batch that does not exist is not found.

use madoguchi_domain::{ReceivableId, Role};
use madoguchi_payments::{PaymentAmount, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{ActorKind, NewAuditEntry, NewReceivable};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::staff_client;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;
use time::macros::{date, datetime};

async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let page = client
        .get(app.at("/finance/slips"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_from(&page);
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    Ok(client.post(app.at(path)).form(&form).send().await?)
}

async fn finance_issues_a_cycle_and_downloads_its_slips(app: TestApp) -> anyhow::Result<()> {
    let t = app.tenant.id;
    for c in RevenueCategory::standard() {
        app.storage.save_revenue_category(t, &c).await?;
    }
    for (name, yen) in [("山田 太郎", 3_980), ("佐藤 花子", 5_214)] {
        app.storage
            .create_receivable(
                t,
                &NewReceivable {
                    id: ReceivableId::new(),
                    category: RevenueCategoryCode::parse("water_charge")
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                    description: "12月分 上下水道料金".into(),
                    payer_account: None,
                    payer_name: name.into(),
                    office: None,
                    fiscal_year: 2030,
                    due_on: date!(2030 - 05 - 31),
                    amount: PaymentAmount::new(yen).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                    source: None,
                    at: datetime!(2030-04-01 00:00 UTC),
                },
                &NewAuditEntry {
                    at: datetime!(2030-04-01 00:00 UTC),
                    actor_kind: ActorKind::System,
                    actor_id: None,
                    action: "receivable.assessed".into(),
                    target: None,
                    details: serde_json::json!({}),
                },
            )
            .await?;
    }
    let finance = staff_client(&app, Role::Finance).await?;
    let page = finance.get(app.at("/finance/slips")).send().await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(page.contains("収納企業コード"), "the settings come first");
    assert!(
        !page.contains("name=\"cycle\""),
        "no issue form before the settings"
    );

    let bad = post(
        &finance,
        &app,
        "/finance/slips/settings",
        &[("company_code", "12a45")],
    )
    .await?;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await?;
    assert!(
        bad.contains("s-company-error") && bad.contains("12a45"),
        "kept and explained"
    );
    let saved = post(
        &finance,
        &app,
        "/finance/slips/settings",
        &[("company_code", "912345")],
    )
    .await?;
    assert_eq!(
        (saved.status().as_u16(), location(&saved).as_str()),
        (303, "/finance/slips?done=configured")
    );

    let wrong_month = post(
        &finance,
        &app,
        "/finance/slips",
        &[("category", "water_charge"), ("cycle", "2030-13")],
    )
    .await?;
    assert_eq!(wrong_month.status(), 422);
    assert!(wrong_month.text().await?.contains("s-cycle-error"));
    let nothing = post(
        &finance,
        &app,
        "/finance/slips",
        &[("category", "water_charge"), ("cycle", "2030-06")],
    )
    .await?;
    assert_eq!(nothing.status(), 409);
    assert!(nothing.text().await?.contains("発行する納付書はありません"));

    let issued = post(
        &finance,
        &app,
        "/finance/slips",
        &[("category", "water_charge"), ("cycle", "2030-05")],
    )
    .await?;
    assert_eq!(issued.status(), 303);
    let batch_path = location(&issued);
    assert!(
        batch_path.starts_with("/finance/slips/batches/"),
        "{batch_path}"
    );
    let batch = finance
        .get(app.at(&batch_path))
        .send()
        .await?
        .text()
        .await?;
    assert!(batch.contains("納付書を2枚発行しました"), "{batch}");
    assert!(batch.contains("山田 太郎") && batch.contains("¥9,194"));
    let id = batch_path
        .trim_start_matches("/finance/slips/batches/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();

    let pdf = finance
        .get(app.at(&format!("/finance/slips/batches/{id}/slips.pdf")))
        .send()
        .await?;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["cache-control"], "private, no-store");
    assert!(pdf.bytes().await?.starts_with(b"%PDF-"));
    let manifest = finance
        .get(app.at(&format!("/finance/slips/batches/{id}/manifest.csv")))
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(manifest.lines().count(), 3, "{manifest}");
    assert!(manifest.starts_with("receivable_id,slip_number,barcode,amount_yen,due_on"));

    // Reissue one slip: refusals keep what was typed, then a new slip supersedes the first.
    let receivable = manifest
        .lines()
        .nth(1)
        .and_then(|line| line.split(',').next())
        .unwrap_or_default()
        .to_owned();
    let slips_path = format!("/finance/slips/receivables/{receivable}");
    let page = finance.get(app.at(&slips_path)).send().await?;
    assert_eq!(page.status(), 200);
    assert!(page.text().await?.contains("納付書を再発行する"));
    let due = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .date()
        .to_string();
    let too_much = post(
        &finance,
        &app,
        &slips_path,
        &[("due_on", due.as_str()), ("amount_yen", "99999")],
    )
    .await?;
    assert_eq!(too_much.status(), 422);
    let too_much = too_much.text().await?;
    assert!(
        too_much.contains("r-amount-error") && too_much.contains("99999"),
        "{too_much}"
    );
    let no_date = post(
        &finance,
        &app,
        &slips_path,
        &[("due_on", "2030-02-30"), ("amount_yen", "")],
    )
    .await?;
    assert_eq!(no_date.status(), 422);
    assert!(no_date.text().await?.contains("r-due-error"));
    let reissued = post(
        &finance,
        &app,
        &slips_path,
        &[("due_on", due.as_str()), ("amount_yen", "")],
    )
    .await?;
    assert_eq!(reissued.status(), 303);
    assert_eq!(location(&reissued), format!("{slips_path}?reissued=1"));
    let page = finance
        .get(app.at(&location(&reissued)))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("再発行により無効") && page.contains("再発行区分 1"),
        "{page}"
    );
    let single = finance
        .get(app.at(&format!("{slips_path}/slip.pdf")))
        .send()
        .await?;
    assert_eq!(single.status(), 200);
    assert!(single.bytes().await?.starts_with(b"%PDF-"));

    // A counter clerk may not issue or download; an unknown batch is not found.
    let clerk = staff_client(&app, Role::HqStaff).await?;
    for path in [
        "/finance/slips".to_owned(),
        format!("/finance/slips/batches/{id}/slips.pdf"),
    ] {
        assert_eq!(
            clerk.get(app.at(&path)).send().await?.status(),
            403,
            "{path}"
        );
    }
    let unknown = finance
        .get(app.at(&format!("/finance/slips/batches/{}", uuid::Uuid::new_v4())))
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    let garbage = finance
        .get(app.at("/finance/slips/batches/not-an-id/manifest.csv"))
        .send()
        .await?;
    assert_eq!(garbage.status(), 404);
    Ok(())
}

on_both_backends!(slip_pages, finance_issues_a_cycle_and_downloads_its_slips);

/// A resident prints their own slip again from "my payments" once it is issued; another
/// resident, and a visitor not signed in, cannot.
async fn a_resident_prints_their_own_slip_again(app: TestApp) -> anyhow::Result<()> {
    use madoguchi_storage::{KonbiniSettings, NewSlipBatch};
    let t = app.tenant.id;
    for c in RevenueCategory::standard() {
        app.storage.save_revenue_category(t, &c).await?;
    }
    let audit = |action: &str| NewAuditEntry {
        at: datetime!(2030-04-01 00:00 UTC),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    };
    app.storage
        .save_konbini_settings(
            t,
            &KonbiniSettings {
                company_code: madoguchi_konbini::CompanyCode::parse("912345")
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                agency: madoguchi_storage::Agency::Dsk,
            },
            datetime!(2030-04-01 00:00 UTC),
            &audit("slips.configured"),
        )
        .await?;
    let payer = madoguchi_tests::clients::resident(&app).await?;
    let receivable = ReceivableId::new();
    app.storage
        .create_receivable(
            t,
            &NewReceivable {
                id: receivable,
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                description: "5月分 上下水道料金".into(),
                payer_account: Some(payer.id),
                payer_name: "山田 太郎".into(),
                office: None,
                fiscal_year: 2030,
                due_on: date!(2030 - 05 - 31),
                amount: PaymentAmount::new(3_980).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                source: None,
                at: datetime!(2030-04-01 00:00 UTC),
            },
            &audit("receivable.assessed"),
        )
        .await?;
    let path = format!("/receivables/{}/slip.pdf", receivable.0);
    let client = madoguchi_tests::clients::resident_client(&app, &payer.email).await?;
    let page = client
        .get(app.at("/account/payments"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        !page.contains(&path),
        "no slip offered before one is issued"
    );
    assert_eq!(client.get(app.at(&path)).send().await?.status(), 404);
    app.storage
        .issue_slips(
            t,
            &NewSlipBatch {
                id: uuid::Uuid::now_v7(),
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                cycle: madoguchi_storage::Cycle::parse("2030-05")
                    .ok_or_else(|| anyhow::anyhow!("cycle"))?,
                at: datetime!(2030-04-01 00:00 UTC),
            },
            &audit("slips.issued"),
        )
        .await?;
    let page = client
        .get(app.at("/account/payments"))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains(&path), "the slip is offered");
    let pdf = client.get(app.at(&path)).send().await?;
    assert_eq!(pdf.status(), 200);
    assert_eq!(
        pdf.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    assert!(pdf.bytes().await?.starts_with(b"%PDF"));
    // Another resident, and nobody signed in, get nothing.
    let (_, other) = madoguchi_tests::clients::signed_in_resident(&app).await?;
    assert_eq!(other.get(app.at(&path)).send().await?.status(), 404);
    let stranger = app.client().get(app.at(&path)).send().await?;
    assert!(
        matches!(stranger.status().as_u16(), 303 | 401),
        "{}",
        stranger.status()
    );
    Ok(())
}

on_both_backends!(
    resident_slip_download,
    a_resident_prints_their_own_slip_again
);
