//! `madoguchi slips check`: a slip's barcode read back as JSON (exit 0), or what is wrong with
//! it (exit 2), through the real program.

use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode};
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
