//! Runs schemathesis (property-based testing from the OpenAPI document) against the real app
//! on each backend, with an administrator's token and then a resident's, so authenticated
//! operations are exercised too. It fails on any server error, or any status, content type or
//! body the document does not describe.
//!
//! The run is bounded (a fixed number of examples per operation, a fixed seed, one worker) so
//! it is reproducible and stays within a few minutes on a small machine. With
//! `MADOGUCHI_REQUIRE_SCHEMATHESIS=1` (CI) a missing `schemathesis` fails the test; without
//! it, a developer machine lacking it gets a notice instead (`pip install schemathesis==4.32.5`).
//! `MADOGUCHI_SCHEMATHESIS_REPORT_DIR=DIR` keeps every request and answer as HAR files there.

use madoguchi_domain::Role;
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::{PASSWORD, api_token, unique_email, verified_resident};
use madoguchi_tests::on_both_backends;
use std::process::Stdio;
use std::time::Duration;

/// Examples per operation and phase: enough to find the usual mistakes, few enough to keep the
/// run short.
const MAX_EXAMPLES: &str = "25";
/// A fixed seed: the same inputs on every run, so a failure is reproducible and never flaky.
const SEED: &str = "20240607";
/// The whole run is killed past this: a guard against a hang, not a speed check. A run takes
/// about 110 s on the 2-core machine when alone, and has run past 240 s there while a build
/// competed for the cores.
const RUN_TIMEOUT_S: u64 = 480;

fn required() -> bool {
    std::env::var("MADOGUCHI_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1")
}

async fn schemathesis_installed() -> bool {
    tokio::process::Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// One schemathesis run as the holder of `token` over the operations `filters` select (all when
/// empty); an error carries schemathesis's report.
async fn run_schemathesis(
    app: &TestApp,
    pass: &str,
    token: &str,
    filters: &[&str],
) -> anyhow::Result<()> {
    // Its own working directory: schemathesis and hypothesis leave files there.
    let workdir = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new("schemathesis");
    command.arg("run");
    // Every request and answer as HAR files, for looking into a failure.
    if let Ok(dir) = std::env::var("MADOGUCHI_SCHEMATHESIS_REPORT_DIR") {
        let backend = format!("{:?}", app.backend).to_lowercase();
        let dir = std::path::Path::new(&dir).join(format!("{backend}-{pass}"));
        command.args(["--report", "har", "--report-dir"]).arg(dir);
    }
    let run = command
        .arg(app.at("/api/openapi.json"))
        .args(["--url", &app.url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--workers", "1", "--phases", "examples,coverage,fuzzing"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--suppress-health-check", "all", "--request-timeout", "20"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(filters)
        .current_dir(workdir.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(RUN_TIMEOUT_S), run)
        .await
        .map_err(|_| anyhow::anyhow!("schemathesis ran longer than {RUN_TIMEOUT_S} s"))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "schemathesis ({pass}) found problems on {:?}:\n{stdout}\n{stderr}",
        app.backend
    );
    Ok(())
}

async fn the_api_conforms_to_its_openapi_document(app: TestApp) -> anyhow::Result<()> {
    if !schemathesis_installed().await {
        anyhow::ensure!(
            !required(),
            "schemathesis required (MADOGUCHI_REQUIRE_SCHEMATHESIS=1) but not installed"
        );
        eprintln!(
            "schemathesis missing: OpenAPI conformance run skipped (pip install schemathesis; MADOGUCHI_REQUIRE_SCHEMATHESIS=1 makes this fail)"
        );
        return Ok(());
    }
    // The resident signs up before schemathesis's own sign-ups use up this address's hourly
    // allowance.
    let email = unique_email("schemathesis");
    verified_resident(&app, &email).await?;
    let resident_token = api_token(&app, "resident", &email, PASSWORD).await?;
    // First as the city's administrator, over everything: it also creates offices, services
    // and slots for the resident's pass.
    let admin = app.login(Role::Admin).clone();
    let admin_token = api_token(&app, "staff", &admin.email, &admin.password).await?;
    run_schemathesis(&app, "admin", &admin_token, &[]).await?;
    // Then as a resident, over what residents may call (booking, the waiting list, their
    // feed, their receivables and payments), which refuses the administrator's token with 403.
    let resident_operations = [
        "--include-tag",
        "payments",
        "--include-tag",
        "reservations",
        "--include-tag",
        "residents",
        "--include-tag",
        "auth",
    ];
    run_schemathesis(&app, "resident", &resident_token, &resident_operations).await
}

on_both_backends!(
    the_api_conforms_to_its_openapi_document_under_schemathesis,
    the_api_conforms_to_its_openapi_document
);
