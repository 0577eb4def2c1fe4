//! `madoguchi bench pages`: the resident pages as a resident on a phone meets them, measured by
//! `tests/lighthouse/measure.mjs` (Lighthouse's accessibility score on Debian's Chromium, and the
//! bytes of HTML, CSS and JS each page loads) against `madoguchi serve` on a new data directory.
//! The ceilings are the product's targets: score 100 and 50 KB per page without images.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The page-weight budget of a resident page (HTML + CSS + JS, images aside), in bytes.
const PAGE_BUDGET_BYTES: u64 = 50 * 1024;
/// The Lighthouse accessibility score every resident page must reach.
const SCORE_TARGET: u64 = 100;

#[derive(clap::Args, Clone, Debug)]
pub struct PagesArgs {
    /// The repository's `tests` directory (holds `browser/` and `lighthouse/`).
    #[arg(long, default_value_os_t = default_tests_dir())]
    pub tests_dir: PathBuf,
}

fn default_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

#[derive(serde::Deserialize)]
struct Measured {
    lighthouse: String,
    pages: Vec<PageFigures>,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct PageFigures {
    name: String,
    path: String,
    lang: String,
    accessibility: u64,
    failed: Vec<String>,
    html: u64,
    css: u64,
    js: u64,
    /// What a browser that accepts compression receives: stylesheets are compressed, pages not.
    wire: u64,
}

impl PageFigures {
    fn bytes(&self) -> u64 {
        self.html + self.css + self.js
    }
}

pub async fn run(args: PagesArgs) -> anyhow::Result<()> {
    for package in ["browser", "lighthouse"] {
        let dir = args.tests_dir.join(package);
        if !dir.join("node_modules").exists() {
            let status = tokio::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .await
                .with_context(|| format!("npm ci in {}", dir.display()))?;
            anyhow::ensure!(status.success(), "npm ci in {} failed", dir.display());
        }
    }

    let data = tempfile::tempdir()?;
    let port = crate::free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .env("MADOGUCHI_PUBLIC_URL", &base_url)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting madoguchi serve")?;
    wait_ready(&format!("{base_url}/readyz")).await?;

    // The script's progress goes to our stderr as it runs; its figures come on stdout.
    let output = tokio::process::Command::new("node")
        .arg(args.tests_dir.join("lighthouse/measure.mjs"))
        .env("BASE_URL", &base_url)
        .env("OUTBOX_ROOT", data.path().join("outbox"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running node tests/lighthouse/measure.mjs")?
        .wait_with_output()
        .await?;
    server.kill().await.ok();
    anyhow::ensure!(output.status.success(), "the measuring script failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| anyhow::anyhow!("the measuring script printed no JSON"))?;
    let measured: Measured = serde_json::from_str(last)?;

    println!(
        "Lighthouse {} (accessibility), Chromium at 360 px",
        measured.lighthouse
    );
    println!("| page | path | lang | accessibility | HTML B | CSS B | JS B | total B | sent B |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for page in &measured.pages {
        println!(
            "| {} | `{}` | {} | {}{} | {} | {} | {} | {} | {} |",
            page.name,
            page.path,
            page.lang,
            page.accessibility,
            if page.failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", page.failed.join(", "))
            },
            page.html,
            page.css,
            page.js,
            page.bytes(),
            page.wire
        );
    }
    let min_score = measured
        .pages
        .iter()
        .map(|p| p.accessibility)
        .min()
        .unwrap_or(0);
    let max_bytes = measured
        .pages
        .iter()
        .map(PageFigures::bytes)
        .max()
        .unwrap_or(0);
    println!(
        "ceilings: score {SCORE_TARGET} (lowest measured {min_score}); budget {PAGE_BUDGET_BYTES} B \
         per page (heaviest measured {max_bytes} B)"
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "pages",
            "lighthouse": measured.lighthouse,
            "min_accessibility": min_score,
            "score_target": SCORE_TARGET,
            "max_page_bytes": max_bytes,
            "page_budget_bytes": PAGE_BUDGET_BYTES,
            "pages": measured.pages,
        })
    );
    Ok(())
}

async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status() == 200
        {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "serve was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
