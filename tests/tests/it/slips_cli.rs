//! `madoguchi slips …` through the real program: `check` reads a slip's barcode back as JSON
//! (exit 0) or says what is wrong with it (exit 2); `issue` issues a cycle's slips on a real
//! database and writes a PDF whose barcodes a real reader (zbarimg) reads back to the
//! manifest's, or refuses in Japanese and English (exit 2) with nothing written.

use madoguchi_domain::ReceivableId;
use madoguchi_konbini::dsk::{self, Chain, PaymentRecord, RecordKind};
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode};
use madoguchi_payments::{PaymentAmount, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{
    ActorKind, Agency, KonbiniSettings, NewAuditEntry, NewReceivable, PaymentStore, SlipStore,
};
use madoguchi_tests::fixtures::{T0, tenant};
use std::path::Path;
use std::process::Command;
use time::macros::date;

async fn check(barcode: &str) -> anyhow::Result<(i32, String, String)> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
        .args(["slips", "check", barcode])
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

#[tokio::test]
async fn a_slip_barcode_is_read_back_or_refused_with_its_reason() -> anyhow::Result<()> {
    let slip = SlipBarcode::issue(
        CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?,
        Reference::from_number(202_612_000_123),
        1,
        date!(2027 - 01 - 31),
        3_980,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .to_string();
    // As a reader gives it: with the `EAN` prefix.
    let (status, stdout, stderr) = check(&format!("EAN{slip}")).await?;
    assert_eq!(status, 0, "{stderr}");
    let fields: serde_json::Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(fields["company_code"], "912345");
    assert_eq!(fields["reference"], "000000000202612000123");
    assert_eq!(fields["reissue"], 1);
    assert_eq!(fields["due"], "2027-01-31");
    assert_eq!(fields["amount_yen"], 3980);
    assert_eq!(fields["issuable"], true);

    // One digit misread: the check digit catches it.
    let mut misread = slip.clone().into_bytes();
    misread[40] = if misread[40] == b'9' {
        b'0'
    } else {
        misread[40] + 1
    };
    let (status, stdout, stderr) = check(std::str::from_utf8(&misread)?).await?;
    assert_eq!((status, stdout.as_str()), (2, ""));
    assert!(stderr.contains("barcode_check_digit"), "{stderr}");
    let (status, _, stderr) = check("12345").await?;
    assert_eq!(status, 2);
    assert!(stderr.contains("barcode_length"), "{stderr}");
    Ok(())
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: T0,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

async fn issue(
    database_url: &str,
    out: &Path,
    cycle: &str,
) -> anyhow::Result<(i32, String, String)> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
        .args([
            "slips",
            "issue",
            "--tenant",
            "midori",
            "--category",
            "water_charge",
        ])
        .args(["--cycle", cycle, "--database-url", database_url, "--out"])
        .arg(out)
        .arg("--data-dir")
        .arg(out)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .await?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

/// What zbarimg reads on each page of `pdf`, printed at 300 dpi.
fn read_barcodes(pdf: &Path, pages: usize) -> anyhow::Result<Vec<String>> {
    let mut read = Vec::new();
    for page in 1..=pages {
        let prefix = pdf.with_file_name(format!("page{page}"));
        let printed = Command::new("pdftoppm")
            .args(["-r", "300", "-gray", "-png", "-singlefile"])
            .args(["-f", &page.to_string(), "-l", &page.to_string()])
            .arg(pdf)
            .arg(&prefix)
            .status()?;
        anyhow::ensure!(printed.success(), "pdftoppm failed on page {page}");
        let output = Command::new("zbarimg")
            .args(["--raw", "-q", "-Sdisable", "-Scode128.enable"])
            .arg(prefix.with_extension("png"))
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "zbarimg read nothing on page {page}"
        );
        read.extend(String::from_utf8(output.stdout)?.lines().map(str::to_owned));
    }
    Ok(read)
}

#[tokio::test]
async fn a_cycle_is_issued_as_a_pdf_whose_barcodes_read_back_to_the_manifest() -> anyhow::Result<()>
{
    let db = madoguchi_tests::db::fresh_sqlite().await?;
    let s = db.storage();
    let city = tenant(s, "midori").await?;
    for c in RevenueCategory::standard() {
        s.save_revenue_category(city.id, &c).await?;
    }
    let out = tempfile::tempdir()?;

    // Not set up yet: refused in both languages, nothing written.
    let (status, stdout, stderr) = issue(db.url(), out.path(), "2030-05").await?;
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("slips_not_configured") && stderr.contains("収納企業コード"),
        "{stderr}"
    );
    assert!(stderr.contains("not set up"), "{stderr}");

    s.save_konbini_settings(
        city.id,
        &KonbiniSettings {
            company_code: CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?,
            agency: Agency::Dsk,
        },
        T0,
        &audit("slips.configured"),
    )
    .await?;
    // 𠮷 is outside the slip's font: the slip prints 〓 rather than refusing the batch.
    for (name, yen) in [
        ("山田 太郎", 3_980),
        ("\u{20BB7}野 花子", 12_400),
        ("佐藤 一郎", 299_999),
    ] {
        s.create_receivable(
            city.id,
            &NewReceivable {
                id: ReceivableId::new(),
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                description: "2030年4月分 上下水道料金".into(),
                payer_account: None,
                payer_name: name.into(),
                office: None,
                fiscal_year: 2030,
                due_on: date!(2030 - 05 - 31),
                amount: PaymentAmount::new(yen).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                source: None,
                at: T0,
            },
            &audit("receivable.assessed"),
        )
        .await?;
    }

    // A month that does not exist is refused with its field.
    let (status, _, stderr) = issue(db.url(), out.path(), "2030-13").await?;
    assert_eq!(status, 2);
    assert!(stderr.contains("cycle"), "{stderr}");

    let (status, stdout, stderr) = issue(db.url(), out.path(), "2030-05").await?;
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("[3/3]"), "progress is shown: {stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))?;
    assert_eq!(summary["slips"], 3);
    assert_eq!(summary["total_yen"], 3_980 + 12_400 + 299_999);
    assert_eq!(summary["cycle"], "2030-05");
    let manifest = std::fs::read_to_string(summary["manifest"].as_str().unwrap_or_default())?;
    let mut lines = manifest.lines();
    assert_eq!(
        lines.next(),
        Some("receivable_id,slip_number,barcode,amount_yen,due_on")
    );
    let barcodes: Vec<String> = lines
        .map(|line| line.split(',').nth(2).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(barcodes.len(), 3);
    for barcode in &barcodes {
        assert!(
            SlipBarcode::parse(barcode).is_ok_and(|b| b.is_issuable()),
            "{barcode}"
        );
    }

    let pdf = Path::new(summary["pdf"].as_str().unwrap_or_default()).to_path_buf();
    let text = Command::new("pdftotext").arg(&pdf).arg("-").output()?;
    let text = String::from_utf8(text.stdout)?;
    assert!(text.contains("〓野 花子"), "the missing glyph prints as 〓");
    assert!(text.contains("水道料金") && text.contains("¥299,999"));
    assert_eq!(read_barcodes(&pdf, 3)?, barcodes);

    // Issued once: the second run has nothing to do and says so.
    let (status, stdout, stderr) = issue(db.url(), out.path(), "2030-05").await?;
    assert_eq!((status, stdout.as_str()), (2, ""));
    assert!(stderr.contains("slip_nothing_to_issue"), "{stderr}");
    assert_eq!(s.slip_batches(city.id, 10).await?.len(), 1);
    Ok(())
}

async fn import(database_url: &str, file: &Path) -> anyhow::Result<(i32, String, String)> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
        .args([
            "slips",
            "import",
            "--tenant",
            "midori",
            "--database-url",
            database_url,
        ])
        .arg(file)
        .arg("--data-dir")
        .arg(file.parent().unwrap_or(Path::new(".")))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .await?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

fn payment_line(
    kind: RecordKind,
    barcode: SlipBarcode,
    amount_yen: u32,
    store: &str,
) -> PaymentRecord {
    PaymentRecord {
        kind,
        paid_on: date!(2030 - 05 - 20),
        paid_at: time::macros::time!(9:41),
        barcode,
        user_field_1: String::new(),
        user_field_2: "水道".into(),
        stamp: madoguchi_konbini::StampFlag::None,
        amount_yen,
        chain: Chain::parse("820").expect("a chain code"),
        chain_name: "PayPay".into(),
        store_code: store.into(),
        transfer_on: None,
        created_on: date!(2030 - 05 - 20),
    }
}

#[tokio::test]
async fn the_agencys_payment_data_is_imported_once_and_a_bad_file_applies_nothing()
-> anyhow::Result<()> {
    use madoguchi_storage::KonbiniImportStore;
    let db = madoguchi_tests::db::fresh_sqlite().await?;
    let s = db.storage();
    let city = tenant(s, "midori").await?;
    for c in RevenueCategory::standard() {
        s.save_revenue_category(city.id, &c).await?;
    }
    s.save_konbini_settings(
        city.id,
        &KonbiniSettings {
            company_code: CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?,
            agency: Agency::Dsk,
        },
        T0,
        &audit("slips.configured"),
    )
    .await?;
    for yen in [3_980, 12_400] {
        s.create_receivable(
            city.id,
            &NewReceivable {
                id: ReceivableId::new(),
                category: RevenueCategoryCode::parse("water_charge")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                description: "上下水道料金".into(),
                payer_account: None,
                payer_name: "山田 太郎".into(),
                office: None,
                fiscal_year: 2030,
                due_on: date!(2030 - 05 - 31),
                amount: PaymentAmount::new(yen).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                source: None,
                at: T0,
            },
            &audit("receivable.assessed"),
        )
        .await?;
    }
    let batch = madoguchi_storage::NewSlipBatch {
        id: uuid::Uuid::now_v7(),
        category: RevenueCategoryCode::parse("water_charge")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        cycle: madoguchi_storage::Cycle::parse("2030-05")
            .ok_or_else(|| anyhow::anyhow!("cycle"))?,
        at: T0,
    };
    let slips = s
        .issue_slips(city.id, &batch, &audit("slips.issued"))
        .await?
        .slips;
    let dir = tempfile::tempdir()?;

    // A good file: two 速報 (one for the wrong amount).
    let mut good = dsk::encode_header();
    good.extend(dsk::encode_line(&payment_line(
        RecordKind::Sokuho,
        slips[0].barcode,
        3_980,
        "000001",
    )));
    good.extend(dsk::encode_line(&payment_line(
        RecordKind::Sokuho,
        slips[1].barcode,
        12_000,
        "000002",
    )));
    let good_path = dir.path().join("sokuho-20300520.csv");
    std::fs::write(&good_path, &good)?;

    // A bad file: the same lines and a third whose barcode has one digit misread.
    let mut misread = slips[0].barcode.to_string().into_bytes();
    misread[30] = if misread[30] == b'9' {
        b'0'
    } else {
        misread[30] + 1
    };
    let mut bad = good.clone();
    // The misread digits replace the barcode's in the line's CP932 bytes (digits are ASCII).
    let mut third = dsk::encode_line(&payment_line(
        RecordKind::Sokuho,
        slips[0].barcode,
        3_980,
        "000003",
    ));
    let digits = slips[0].barcode.to_string().into_bytes();
    let at = third
        .windows(digits.len())
        .position(|w| w == digits.as_slice())
        .ok_or_else(|| anyhow::anyhow!("the barcode is in the line"))?;
    third[at..at + digits.len()].copy_from_slice(&misread);
    bad.extend(third);
    let bad_path = dir.path().join("broken.csv");
    std::fs::write(&bad_path, &bad)?;
    let (status, stdout, stderr) = import(db.url(), &bad_path).await?;
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("4行目") && stderr.contains("Line 4"),
        "{stderr}"
    );
    assert!(stderr.contains("line_barcode"), "{stderr}");
    assert!(
        s.konbini_imports(city.id, 10).await?.is_empty(),
        "nothing applied"
    );

    let (status, stdout, stderr) = import(db.url(), &good_path).await?;
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("100%"), "progress is shown: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))?;
    assert_eq!(report["file"], "sokuho-20300520.csv");
    assert_eq!(
        (
            report["lines"].as_i64(),
            report["applied"].as_i64(),
            report["sokuho"].as_i64()
        ),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(report["exceptions"], 1);
    assert_eq!(report["already_imported"], false);
    assert_eq!(
        s.receivable(city.id, slips[0].receivable).await?.status,
        madoguchi_payments::ReceivableStatus::Paid
    );

    // Sent again: nothing changes.
    let (status, stdout, _) = import(db.url(), &good_path).await?;
    assert_eq!(status, 0);
    let again: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))?;
    assert_eq!(again["already_imported"], true);
    assert_eq!(s.konbini_imports(city.id, 10).await?.len(), 1);

    // Another city's file: refused with its line.
    let foreign = SlipBarcode::issue(
        CompanyCode::parse("900001").map_err(|e| anyhow::anyhow!("{e}"))?,
        Reference::from_number(1),
        0,
        date!(2030 - 05 - 31),
        100,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut theirs = dsk::encode_header();
    theirs.extend(dsk::encode_line(&payment_line(
        RecordKind::Sokuho,
        foreign,
        100,
        "000009",
    )));
    let theirs_path = dir.path().join("other-city.csv");
    std::fs::write(&theirs_path, &theirs)?;
    let (status, _, stderr) = import(db.url(), &theirs_path).await?;
    assert_eq!(status, 2);
    assert!(
        stderr.contains("file_other_city") && stderr.contains("2行目"),
        "{stderr}"
    );
    Ok(())
}
