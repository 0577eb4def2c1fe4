//! Renders the sample receipt, prints how long one rendering takes and how large the PDF is,
//! and writes it to the path given (default `receipt.pdf`):
//! `cargo run --release -p madoguchi-pdf --example render_receipt -- /tmp/receipt.pdf [en]`.

#[path = "../tests/support/sample.rs"]
mod sample;

use std::time::Instant;

use madoguchi_domain::Lang;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "receipt.pdf".to_owned());
    let lang = match args.next().as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Ja,
    };
    let receipt = sample::sample_receipt(lang);

    // The first rendering also parses the bundled font; it is reported apart.
    let started = Instant::now();
    let pdf = madoguchi_pdf::render_receipt(&receipt)?;
    let first = started.elapsed();

    let runs: u32 = 20;
    let started = Instant::now();
    for _ in 0..runs {
        madoguchi_pdf::render_receipt(&receipt)?;
    }
    let each = started.elapsed() / runs;

    std::fs::write(&path, &pdf)?;
    println!(
        "first rendering {first:?}, then {each:?} per receipt (mean of {runs}); {} bytes; written to {path}",
        pdf.len()
    );
    Ok(())
}
