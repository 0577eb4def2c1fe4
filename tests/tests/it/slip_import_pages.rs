//! Finance's payment-data page over HTTP, as a browser without JavaScript: a file with a bad
//! line is refused naming the line, nothing kept; a good file is previewed (what applying it
//! would do, nothing applied yet), applied in the background and followed to the end, its
//! money on the slip's receivable and its unknown barcode among the exceptions; the same file
//! again previews as already applied; a counter clerk is refused.

use madoguchi_domain::{ReceivableId, Role};
use madoguchi_konbini::dsk::{self, Chain, PaymentRecord, RecordKind};
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode, StampFlag};
use madoguchi_payments::{PaymentAmount, ReceivableStatus, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{
    ActorKind, Agency, Cycle, KonbiniSettings, NewAuditEntry, NewReceivable, NewSlipBatch,
};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::staff_client;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;
use time::macros::{date, datetime, time};
use uuid::Uuid;

const BOUNDARY: &str = "madoguchi-upload-boundary";

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: datetime!(2030-04-01 00:00 UTC),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

fn line(kind: RecordKind, barcode: SlipBarcode, amount_yen: u32, store: &str) -> PaymentRecord {
    PaymentRecord {
        kind,
        paid_on: date!(2030 - 05 - 20),
        paid_at: time!(14:05:09),
        barcode,
        user_field_1: String::new(),
        user_field_2: String::new(),
        stamp: StampFlag::None,
        amount_yen,
        chain: Chain::parse("020").expect("a chain"),
        chain_name: "ローソン".into(),
        store_code: store.into(),
        transfer_on: None,
        created_on: date!(2030 - 05 - 21),
    }
}

fn file(records: &[PaymentRecord]) -> Vec<u8> {
    let mut bytes = dsk::encode_header();
    for record in records {
        bytes.extend(dsk::encode_line(record));
    }
    bytes
}

async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    name: &str,
    content: &[u8],
) -> anyhow::Result<reqwest::Response> {
    let page = client
        .get(app.at("/finance/slips/imports"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = csrf_from(&page);
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Ok(client
        .post(app.at("/finance/slips/imports"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await?)
}

async fn finance_previews_applies_and_follows_a_payment_file(app: TestApp) -> anyhow::Result<()> {
    let t = app.tenant.id;
    for c in RevenueCategory::standard() {
        app.storage.save_revenue_category(t, &c).await?;
    }
    let company = CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?;
    app.storage
        .save_konbini_settings(
            t,
            &KonbiniSettings {
                company_code: company,
                agency: Agency::Dsk,
            },
            datetime!(2030-04-01 00:00 UTC),
            &audit("slips.configured"),
        )
        .await?;
    let receivable = ReceivableId::new();
    app.storage
        .create_receivable(
            t,
            &NewReceivable {
                id: receivable,
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                description: "上下水道料金".into(),
                payer_account: None,
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
    let issued = app
        .storage
        .issue_slips(
            t,
            &NewSlipBatch {
                id: Uuid::now_v7(),
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                cycle: Cycle::parse("2030-05").ok_or_else(|| anyhow::anyhow!("cycle"))?,
                at: datetime!(2030-04-01 00:00 UTC),
            },
            &audit("slips.issued"),
        )
        .await?;
    let slip = issued.slips[0].barcode;
    let never_issued = SlipBarcode::issue(
        company,
        Reference::from_number(777_777),
        0,
        date!(2030 - 05 - 31),
        600,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let good = file(&[
        line(RecordKind::Sokuho, slip, 3_980, "004211"),
        line(RecordKind::Sokuho, never_issued, 600, "004212"),
    ]);

    let finance = staff_client(&app, Role::Finance).await?;
    let page = finance.get(app.at("/finance/slips/imports")).send().await?;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await?
            .contains("enctype=\"multipart/form-data\"")
    );

    // A bad check digit on the second data line (line 3): refused, naming the line.
    let mut bad = good.clone();
    let digits = never_issued.to_string().into_bytes();
    let broken_at = bad
        .windows(digits.len())
        .position(|w| w == digits.as_slice())
        .map(|at| at + 43)
        .ok_or_else(|| anyhow::anyhow!("the barcode is in the file"))?;
    bad[broken_at] = if bad[broken_at] == b'0' { b'1' } else { b'0' };
    let refused = upload(&finance, &app, "bad.csv", &bad).await?;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await?;
    assert!(refused.contains("3行目"), "the line is named");
    assert!(refused.contains("aria-invalid=\"true\""));
    assert!(app.storage.konbini_uploads(t, 10).await?.is_empty());

    // The good file: previewed, nothing applied yet.
    let uploaded = upload(&finance, &app, "sokuho-20300520.csv", &good).await?;
    assert_eq!(uploaded.status(), 303);
    let upload_page = location(&uploaded);
    let preview = finance.get(app.at(&upload_page)).send().await?;
    assert_eq!(preview.status(), 200);
    let preview = preview.text().await?;
    assert!(preview.contains("反映される内容"));
    assert!(preview.contains("¥4,580") || preview.contains("4,580"));
    assert_eq!(
        app.storage.receivable(t, receivable).await?.status,
        ReceivableStatus::Open,
        "a preview applies nothing"
    );

    // Apply, then follow it to the end.
    let csrf = csrf_from(&preview);
    let applied = finance
        .post(app.at(&format!("{upload_page}/apply")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(applied.status(), 303);
    let mut done = String::new();
    for _ in 0..100 {
        done = finance
            .get(app.at(&upload_page))
            .send()
            .await?
            .text()
            .await?;
        if done.contains("反映済み") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done.contains("反映済み"), "the upload was applied");
    assert_eq!(
        app.storage.receivable(t, receivable).await?.status,
        ReceivableStatus::Paid
    );
    let list = finance
        .get(app.at("/finance/slips/imports"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains("sokuho-20300520.csv"));
    assert!(
        list.contains("発行していないバーコード"),
        "the exception is listed"
    );

    // Applying again changes nothing; the same file again previews as applied before.
    let again = finance
        .post(app.at(&format!("{upload_page}/apply")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(again.status(), 303);
    let second = upload(&finance, &app, "again.csv", &good).await?;
    assert_eq!(second.status(), 303);
    let second = finance
        .get(app.at(&location(&second)))
        .send()
        .await?
        .text()
        .await?;
    assert!(second.contains("反映済みのため飛ばす行</dt><dd>2</dd>"));

    // A file of several megabytes (over axum's 2 MiB default, under the page's 8 MB).
    let big: Vec<PaymentRecord> = (0..32_000u32)
        .map(|n| {
            let barcode = SlipBarcode::issue(
                company,
                Reference::from_number(5_000_000 + u64::from(n)),
                0,
                date!(2030 - 05 - 31),
                700,
            )
            .expect("an issuable barcode");
            line(RecordKind::Sokuho, barcode, 700, &format!("{n:06}"))
        })
        .collect();
    let big = file(&big);
    assert!(big.len() > 3 * 1024 * 1024, "{} bytes", big.len());
    let uploaded = upload(&finance, &app, "big.csv", &big).await?;
    assert_eq!(uploaded.status(), 303, "a large file is taken");
    let preview = finance
        .get(app.at(&location(&uploaded)))
        .send()
        .await?
        .text()
        .await?;
    assert!(preview.contains("消込の例外になる行</dt><dd>32000</dd>"));
    // Nobody signed in gets that far: refused before the body is read.
    let stranger = app.client();
    let refused = stranger
        .post(app.at("/finance/slips/imports"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(big)
        .send()
        .await;
    // The server answers before reading the body, so the client may see its answer or a
    // connection closed under the upload; never a preview.
    if let Ok(refused) = refused {
        assert!(matches!(refused.status().as_u16(), 403 | 413));
    }
    assert_eq!(
        app.storage.konbini_uploads(t, 10).await?.len(),
        3,
        "the stranger's file was not kept"
    );

    let clerk = staff_client(&app, Role::HqStaff).await?;
    let refused = clerk.get(app.at("/finance/slips/imports")).send().await?;
    assert_eq!(refused.status(), 403);
    let refused = clerk.get(app.at(&upload_page)).send().await?;
    assert_eq!(refused.status(), 403);
    Ok(())
}

on_both_backends!(
    slip_import_pages,
    finance_previews_applies_and_follows_a_payment_file
);
