//! The rendered receipt read back by Poppler, as a resident's viewer and printer would read it:
//! `pdftotext` must find its Japanese text (so the font's glyphs map back to characters) and
//! `pdftoppm` must rasterise page 1.
//!
//! Both tools come from Debian's `poppler-utils`. Where one is missing the test fails when the
//! environment variable `CI` is set (CI must not pass by skipping) and otherwise prints a note
//! and returns.

// Helpers of a test binary may panic: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;

use madoguchi_domain::Lang;
use madoguchi_pdf::render_receipt;
use support::sample::sample_receipt;

/// Whether `tool` can run here; if not, fails on CI and skips elsewhere.
fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing: install poppler-utils (apt-get install -y poppler-utils)"
        );
        eprintln!(
            "note: {tool} is missing, so this test is skipped (apt-get install -y poppler-utils)"
        );
    }
    found
}

fn write_pdf(directory: &Path, lang: Lang) -> std::path::PathBuf {
    let pdf = render_receipt(&sample_receipt(lang)).expect("the sample receipt renders");
    let path = directory.join("receipt.pdf");
    std::fs::write(&path, pdf).expect("writes the PDF");
    path
}

fn extract_text(pdf: &Path) -> String {
    let output = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(
        output.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("pdftotext writes UTF-8")
}

#[test]
fn pdftotext_reads_the_japanese_receipt_back() {
    if !tool_available("pdftotext") {
        return;
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let text = extract_text(&write_pdf(directory.path(), Lang::Ja));
    for expected in [
        "領収書",
        "R-2026-000123",
        "2026年12月7日",
        "山田 太郎",
        "様",
        "¥20,000",
        "¥12,000",
        "¥7,400",
        "¥600",
        "合計",
        "クレジットカード（Visa）",
        "2026年12月7日 14:05",
        "上記の金額を領収しました。",
        "みどり市",
        "市民課",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[test]
fn pdftotext_reads_the_english_labels_back() {
    if !tool_available("pdftotext") {
        return;
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let text = extract_text(&write_pdf(directory.path(), Lang::En));
    for expected in [
        "Receipt",
        "Received from",
        "山田 太郎",
        "¥20,000",
        "Total",
        "December 7, 2026, 14:05 (JST)",
        "みどり市",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[test]
fn pdftoppm_rasterises_page_one() {
    if !tool_available("pdftoppm") {
        return;
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let pdf = write_pdf(directory.path(), Lang::Ja);
    let prefix = directory.path().join("page");
    let output = Command::new("pdftoppm")
        .args(["-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm runs");
    assert!(
        output.status.success(),
        "pdftoppm failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(directory.path().join("page.png")).expect("page 1 as PNG");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // An A4 page at 72 dpi is 595 × 842 pixels; the PNG header holds width and height.
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    // 595.28 points wide: Poppler rounds it up.
    assert!((595..=596).contains(&width), "{width}");
    assert_eq!(height, 842);
}
