//! Renders a batch of sample water-bill slips, prints how long it takes and how large the PDF
//! is, and writes it to the path given (default `slips.pdf`):
//! `cargo run --release -p madoguchi-pdf --example render_slips -- /tmp/slips.pdf 2300 [en]`.

use std::time::Instant;

use madoguchi_domain::Lang;
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode};
use madoguchi_pdf::{Slip, render_slips};
use time::macros::date;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "slips.pdf".to_owned());
    let count: u64 = args.next().map_or(Ok(1), |n| n.parse())?;
    let lang = match args.next().as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Ja,
    };
    let company = CompanyCode::parse("912345")?;
    let slips = (1..=count)
        .map(|n| {
            Ok(Slip {
                barcode: SlipBarcode::issue(
                    company,
                    Reference::from_number(n),
                    0,
                    date!(2027 - 01 - 31),
                    u32::try_from(1_000 + n * 37 % 9_000)?,
                )?,
                city_name: "みどり市".to_owned(),
                payer_name: format!("利用者 {n}"),
                revenue_category: "水道料金".to_owned(),
                description: "2026年12月分 上下水道料金".to_owned(),
                slip_number: format!("W-2026-12-{n:06}"),
                issued_on: date!(2026 - 12 - 07),
            })
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
    let started = Instant::now();
    let pdf = render_slips(&slips, lang, date!(2026 - 12 - 07))?;
    let elapsed = started.elapsed();
    std::fs::write(&path, &pdf)?;
    println!(
        "{count} slips in {:.2} s ({:.2} ms a slip), {} KiB: {path}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / count as f64,
        pdf.len() / 1024
    );
    Ok(())
}
