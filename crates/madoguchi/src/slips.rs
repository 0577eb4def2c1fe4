//! `madoguchi slips …`: convenience-store slips at the command line. `check` reads a barcode;
//! `issue` issues a cycle's slips and writes the PDF and the manifest; `import` applies the
//! agency's payment data. Both call the same use
//! cases as the staff pages; progress goes to standard error, and the last line of standard
//! output is one JSON object a script can read.

use crate::config::{Cli, Settings};
use crate::storage;
use anyhow::Context;
use clap::Subcommand;
use madoguchi_domain::Lang;
use madoguchi_usecases::{Actor, Scope, UseCaseError};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum SlipsCommand {
    /// Reads a slip's barcode (its 44 digits, an `EAN` prefix and spaces allowed): prints its
    /// fields as JSON and exits 0, or says what is wrong and exits 2.
    Check {
        /// The barcode's digits.
        barcode: String,
    },
    /// Issues the slips of every outstanding receivable of a revenue category due in a month
    /// that has none yet, as one batch, and writes its PDF and manifest CSV.
    Issue {
        /// The revenue category's code, e.g. `water_charge`.
        #[arg(long)]
        category: String,
        /// The month the receivables are due in, `YYYY-MM`.
        #[arg(long)]
        cycle: String,
        /// Where the PDF and the manifest are written (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The city's tenant slug; the configured default city when left out.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Imports the collection agency's payment data (速報/確報/速報取消): checks the whole file
    /// first (nothing is applied from a file with a bad line), then applies it with a progress
    /// bar; a file imported before changes nothing.
    Import {
        /// The agency's file (Shift_JIS CSV).
        file: PathBuf,
        /// The agency whose format the file is in.
        #[arg(long, default_value = "dsk")]
        agency: String,
        /// The city's tenant slug; the configured default city when left out.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs a `slips` command. Refusals exit with status 2 after saying why on standard error.
pub async fn run(cli: &Cli, command: SlipsCommand) -> anyhow::Result<()> {
    match command {
        SlipsCommand::Check { barcode } => check(&barcode),
        SlipsCommand::Issue {
            category,
            cycle,
            out,
            tenant,
        } => {
            let settings = Settings::load(cli, None)?;
            crate::config::init_tracing(&settings);
            issue(&settings, tenant, &category, &cycle, &out).await
        }
        SlipsCommand::Import {
            file,
            agency,
            tenant,
        } => {
            let settings = Settings::load(cli, None)?;
            crate::config::init_tracing(&settings);
            import(&settings, tenant, &agency, &file).await
        }
    }
}

/// Says why a use case refused, in Japanese and English, and exits with status 2.
fn refuse(error: &UseCaseError) -> ! {
    let (ja, en) = (error.code.message(Lang::Ja), error.code.message(Lang::En));
    let fields: Vec<String> = error
        .fields
        .iter()
        .map(|f| format!("{} ({})", f.field, f.code.as_str()))
        .collect();
    eprintln!("{} ({})", ja, error.code.as_str());
    eprintln!("{en}");
    if !fields.is_empty() {
        eprintln!("fields: {}", fields.join(", "));
    }
    std::process::exit(2);
}

/// The city a command acts for, as the operator.
async fn operator_scope(
    storage: &dyn madoguchi_storage::Storage,
    settings: &Settings,
    tenant: Option<String>,
) -> anyhow::Result<(Scope, madoguchi_storage::Tenant)> {
    storage
        .check_schema()
        .await
        .context("run `madoguchi migrate` first")?;
    let slug = tenant.unwrap_or_else(|| settings.default_tenant.clone());
    let city = storage
        .tenant_by_slug(&slug)
        .await
        .with_context(|| format!("no city with the tenant slug {slug}"))?;
    let scope = Scope::new(
        city.id,
        Actor::Operator,
        Arc::new(madoguchi_storage::SystemClock),
    );
    Ok((scope, city))
}

/// A progress bar on standard error, redrawn when the percentage changes.
struct Progress {
    shown: Option<u64>,
}

impl Progress {
    fn update(&mut self, done: u64, total: u64) {
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        if self.shown == Some(percent) {
            return;
        }
        self.shown = Some(percent);
        let filled = usize::try_from(percent / 5).unwrap_or(20);
        eprint!(
            "\r[{}{}] {percent:>3}% {done}/{total}",
            "#".repeat(filled),
            ".".repeat(20 - filled.min(20))
        );
        if done >= total {
            eprintln!();
        }
    }
}

async fn import(
    settings: &Settings,
    tenant: Option<String>,
    agency: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    if agency != "dsk" {
        eprintln!("取り込めるのは DSK の収納データだけです（--agency dsk）。");
        eprintln!("Only DSK's payment data can be imported (--agency dsk).");
        std::process::exit(2);
    }
    let storage = storage::open(settings).await?;
    let (scope, _) = operator_scope(&*storage, settings, tenant).await?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    if !file.is_file() {
        eprintln!("{}: ファイルが見つかりません。", file.display());
        eprintln!("{}: no such file.", file.display());
        std::process::exit(2);
    }
    let source = madoguchi_usecases::slip_imports::FileSource(file.to_path_buf());
    let mut bar = Progress { shown: None };
    let mut progress = |done: u64, total: u64| bar.update(done, total);
    match madoguchi_usecases::slip_imports::import(
        &*storage,
        &scope,
        None,
        &name,
        &source,
        &mut progress,
    )
    .await
    {
        Ok(report) => {
            let summary = serde_json::json!({
                "file": report.file,
                "lines": report.lines,
                "applied": report.applied,
                "sokuho": report.sokuho,
                "kakuho": report.kakuho,
                "cancelled": report.cancelled,
                "exceptions": report.exceptions,
                "already_imported": report.already_imported,
            });
            println!("{summary}");
            Ok(())
        }
        Err(madoguchi_usecases::slip_imports::ImportError::File(problem)) => {
            eprintln!("{name}: {}", problem.message(Lang::Ja));
            eprintln!("{name}: {} ({})", problem.message(Lang::En), problem.code);
            eprintln!("何も取り込んでいません。 Nothing was imported.");
            std::process::exit(2);
        }
        Err(madoguchi_usecases::slip_imports::ImportError::Refused(error))
            if error.internal.is_none() =>
        {
            refuse(&error)
        }
        Err(madoguchi_usecases::slip_imports::ImportError::Refused(error)) => {
            Err(anyhow::anyhow!("{error:?}"))
        }
    }
}

async fn issue(
    settings: &Settings,
    tenant: Option<String>,
    category: &str,
    cycle: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let storage = storage::open(settings).await?;
    let (scope, city) = operator_scope(&*storage, settings, tenant).await?;
    let mut progress = std::io::stderr();
    writeln!(progress, "[1/3] issuing the slips of {category} {cycle} …")?;
    let issued = match madoguchi_usecases::slips::issue_cycle(
        &*storage, &scope, None, category, cycle,
    )
    .await
    {
        Ok(issued) => issued,
        Err(error) if error.internal.is_none() => refuse(&error),
        Err(error) => return Err(anyhow::anyhow!("{error:?}")),
    };
    writeln!(
        progress,
        "[2/3] {} slips stored, {} receivables left out (¥300,000 or more); rendering …",
        issued.slips.len(),
        issued.skipped.len()
    )?;
    let categories = storage.revenue_categories(city.id).await?;
    let category_name = |code: &madoguchi_payments::RevenueCategoryCode| {
        categories
            .iter()
            .find(|c| &c.code == code)
            .map_or_else(|| code.to_string(), |c| c.name_ja.clone())
    };
    let context = madoguchi_usecases::slips::PrintContext {
        city_name: &city.name_ja,
        category_name: &category_name,
        issued_on: madoguchi_domain::tokyo::to_tokyo(scope.now()).date(),
        lang: Lang::Ja,
    };
    let documents = madoguchi_usecases::slips::documents(&issued.slips, &context)
        .map_err(|error| anyhow::anyhow!("{error:?}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let stem = format!(
        "slips-{}-{}-{}",
        issued.batch.category,
        issued.batch.cycle,
        issued.batch.id.simple()
    );
    let pdf = out.join(format!("{stem}.pdf"));
    let manifest = out.join(format!("{stem}.csv"));
    std::fs::write(&pdf, &documents.pdf)
        .with_context(|| format!("cannot write {}", pdf.display()))?;
    std::fs::write(&manifest, &documents.manifest_csv)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    writeln!(
        progress,
        "[3/3] written {} and {}",
        pdf.display(),
        manifest.display()
    )?;
    let summary = serde_json::json!({
        "batch": issued.batch.id.to_string(),
        "category": issued.batch.category.as_str(),
        "cycle": issued.batch.cycle,
        "slips": issued.batch.slips,
        "total_yen": issued.batch.total_yen,
        "skipped": issued.skipped.iter().map(|s| s.receivable.to_string()).collect::<Vec<_>>(),
        "pdf": pdf.display().to_string(),
        "manifest": manifest.display().to_string(),
    });
    println!("{summary}");
    Ok(())
}

/// `madoguchi slips check`: the barcode's fields as one JSON line, or what is wrong with it on
/// standard error and exit status 2.
fn check(raw: &str) -> anyhow::Result<()> {
    let digits: String = raw
        .trim()
        .trim_start_matches("EAN")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match madoguchi_konbini::SlipBarcode::parse(&digits) {
        Ok(barcode) => {
            let f = barcode.fields();
            let stamp = match f.stamp {
                madoguchi_konbini::StampFlag::None => "0",
                madoguchi_konbini::StampFlag::Required => "1",
                madoguchi_konbini::StampFlag::Placeholder => "9",
            };
            let fields = serde_json::json!({
                "barcode": barcode.to_string(),
                "company_code": f.company.to_string(),
                "reference": f.reference.to_string(),
                "reissue": f.reissue,
                "due": f.due.map(|d| d.to_string()),
                "stamp_flag": stamp,
                "amount_yen": f.amount,
                "issuable": barcode.is_issuable(),
            });
            println!("{fields}");
            Ok(())
        }
        Err(problem) => {
            eprintln!(
                "not a convenience-store barcode ({}): {problem}",
                problem.code()
            );
            std::process::exit(2);
        }
    }
}
