//! `madoguchi slips …` through the real program: `check` reads a slip's barcode back as JSON
//! (exit 0) or says what is wrong with it (exit 2); `issue` issues a cycle's slips on a real
//! database and writes a PDF whose barcodes a real reader (zbarimg) reads back to the
//! manifest's, or refuses in Japanese and English (exit 2) with nothing written.

use madoguchi_domain::ReceivableId;
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
