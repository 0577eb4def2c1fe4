//! Runs the Playwright + axe-core browser tests (`tests/browser/`) in headless Debian Chromium
//! against the real app with its mail outbox.
//!
//! With `MADOGUCHI_REQUIRE_BROWSER=1` (CI) a missing Chromium or Node.js fails the test; without
//! it, a developer machine lacking them gets a notice instead.

use madoguchi_tests::app::{Backend, MailTo, Options, spawn};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn required() -> bool {
    std::env::var("MADOGUCHI_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_real_browser_and_pass_axe() -> anyhow::Result<()> {
    let chromium = Path::new("/usr/bin/chromium").exists();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(chromium && node) {
        anyhow::ensure!(
            !required(),
            "browser tests required but chromium={chromium} node={node}"
        );
        eprintln!(
            "Chromium or Node.js missing: browser tests skipped (MADOGUCHI_REQUIRE_BROWSER=1 makes this fail)"
        );
        return Ok(());
    }
    let dir = browser_dir();
    if !dir.join("node_modules").exists() {
        let status = tokio::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .await?;
        anyhow::ensure!(status.success(), "npm ci in tests/browser failed");
    }
    let outbox = tempfile::tempdir()?;
    let mut options = Options::new(Backend::Sqlite);
    options.mail = MailTo::Outbox(outbox.path().to_path_buf());
    let app = spawn(options).await?.expect("sqlite app");
    // The remote counter's media server on loopback, for the call pages.
    app.start_media().await?;
    // The demo resident with fees to pay, for the payment pages.
    let payer = madoguchi_server::demo::seed_demo_payments(
        &*app.storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?
    .resident
    .expect("a new demo resident");
    // The demo water cycle's convenience-store slips, for finance's slip pages.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(madoguchi_domain::tokyo::JST)
        .date();
    madoguchi_server::demo::seed_demo_slips(&*app.storage, today).await?;
    let slip_batch = madoguchi_storage::SlipStore::slip_batches(&*app.storage, app.tenant.id, 1)
        .await?
        .first()
        .map(|batch| batch.id)
        .unwrap_or_default();
    let slip_upload =
        madoguchi_storage::KonbiniImportStore::konbini_uploads(&*app.storage, app.tenant.id, 1)
            .await?
            .first()
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("the demo has a payment-data upload"))?;
    let slip_receivable =
        madoguchi_storage::SlipStore::slips_of_batch(&*app.storage, app.tenant.id, slip_batch)
            .await?
            .first()
            .map(|slip| slip.receivable.to_string())
            .unwrap_or_default();
    // Every role's demo sign-in, for the tests that visit the staff pages as each role.
    let staff_logins = serde_json::Value::Array(
        madoguchi_domain::Role::ALL
            .into_iter()
            .map(|role| {
                let login = app.login(role);
                serde_json::json!({"role": role.as_str(), "email": login.email, "password": login.password})
            })
            .collect(),
    );
    // MADOGUCHI_BROWSER_FILES (e.g. "layout.test.mjs") runs only those files while working on them.
    let files: Vec<String> = std::env::var("MADOGUCHI_BROWSER_FILES")
        .ok()
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .filter(|v: &Vec<String>| !v.is_empty())
        .unwrap_or_else(|| vec![".".to_owned()]);
    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .args(&files)
        .current_dir(&dir)
        .env("BASE_URL", &app.url)
        // A Tokyo date a week or so ahead that the city keeps open, for tests that add slots.
        .env(
            "OPEN_DATE",
            madoguchi_tests::days::open_date_ahead(7).to_string(),
        )
        .env(
            "ADMIN_EMAIL",
            &app.login(madoguchi_domain::Role::Admin).email,
        )
        .env(
            "ADMIN_PASSWORD",
            &app.login(madoguchi_domain::Role::Admin).password,
        )
        .env("STAFF_LOGINS", staff_logins.to_string())
        .env("DEMO_RESIDENT_EMAIL", &payer.email)
        .env("DEMO_RESIDENT_PASSWORD", &payer.password)
        .env("DEMO_SLIP_BATCH", slip_batch.to_string())
        .env("DEMO_SLIP_RECEIVABLE", &slip_receivable)
        .env("DEMO_SLIP_UPLOAD", slip_upload.to_string())
        .env(
            "OUTBOX_DIR",
            madoguchi_mail::OutboxMailer::tenant_dir(outbox.path(), Some(app.tenant.id)),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    anyhow::ensure!(
        output.status.success(),
        "browser tests failed (see output above)"
    );
    Ok(())
}
