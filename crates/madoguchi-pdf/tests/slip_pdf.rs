//! The rendered slips read back as a store and a resident would: Poppler's `pdftoppm` prints
//! each page at 300 dpi (an office printer's resolution) and a real barcode reader, `zbarimg`
//! from Debian's `zbar-tools`, must read the GS1-128 symbol back to the 44 digits it was made
//! from; `pdftotext` must find the Japanese text.
//!
//! Where a tool is missing the test fails when `CI` is set (CI must not pass by skipping) and
//! otherwise prints a note and returns.

// Helpers of a test binary may panic: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use madoguchi_domain::Lang;
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode};
use madoguchi_pdf::{Slip, render_slips};
use time::macros::date;

fn tool_available(tool: &str, package: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing: install {package} (apt-get install -y {package})"
        );
        eprintln!(
            "note: {tool} is missing, so this test is skipped (apt-get install -y {package})"
        );
    }
    found
}

fn slip(reference: u64, reissue: u8, amount: u32) -> Slip {
    Slip {
        barcode: SlipBarcode::issue(
            CompanyCode::parse("912345").unwrap(),
            Reference::from_number(reference),
            reissue,
            date!(2027 - 01 - 31),
            amount,
        )
        .unwrap(),
        city_name: "みどり市".to_owned(),
        payer_name: "山田 太郎".to_owned(),
        revenue_category: "水道料金".to_owned(),
        description: "2026年12月分 上下水道料金".to_owned(),
        slip_number: format!("W-2026-12-{reference:06}"),
        issued_on: date!(2026 - 12 - 07),
    }
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Prints page `page` of `pdf` at 300 dpi and answers what zbarimg reads on it.
fn read_barcodes(directory: &Path, pdf: &Path, page: u32) -> Vec<String> {
    let prefix = directory.join(format!("page{page}"));
    run(Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .args(["-f", &page.to_string(), "-l", &page.to_string()])
        .arg(pdf)
        .arg(&prefix));
    let image = prefix.with_extension("png");
    run(Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Scode128.enable"])
        .arg(&image))
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn zbarimg_reads_every_slips_barcode_back_to_its_44_digits() {
    if !tool_available("pdftoppm", "poppler-utils") || !tool_available("zbarimg", "zbar-tools") {
        return;
    }
    let slips = [
        slip(17, 0, 3_980),
        slip(123_456_789, 3, 299_999),
        slip(1, 9, 1),
    ];
    let pdf = render_slips(&slips, Lang::Ja, date!(2026 - 12 - 07)).expect("renders");
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("slips.pdf");
    std::fs::write(&path, pdf).unwrap();
    for (page, slip) in (1..).zip(&slips) {
        let read = read_barcodes(directory.path(), &path, page);
        // zbar gives GS1-128 data without the FNC1: the 44 digits, once per page.
        assert_eq!(read, vec![slip.barcode.to_string()], "page {page}");
        assert!(SlipBarcode::parse(&read[0]).is_ok());
    }
}

#[test]
fn pdftotext_finds_the_three_parts_and_the_facts() {
    if !tool_available("pdftotext", "poppler-utils") {
        return;
    }
    let pdf = render_slips(&[slip(17, 0, 3_980)], Lang::Ja, date!(2026 - 12 - 07)).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("slip.pdf");
    std::fs::write(&path, pdf).unwrap();
    let text = run(Command::new("pdftotext").arg(&path).arg("-"));
    for expected in [
        "領収証書",
        "納付済通知書",
        "原符",
        "山田 太郎",
        "¥3,980",
        "2027年1月31日",
        "水道料金",
        "W-2026-12-000017",
        "(91) 912345 000000000000000000017 0 270131 0 003980",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}
