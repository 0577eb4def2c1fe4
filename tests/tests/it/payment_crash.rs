//! Crash safety of online payments: the real `madoguchi serve` process, with the fake Stripe
//! server as the city's Stripe (`MADOGUCHI_STRIPE__API_BASE`), is killed with SIGKILL after the
//! payer paid and before it could record the payment; after a restart on the same database the
//! payment is recorded exactly once, on both backends:
//! - by the fake's webhook retry (the recovery job kept quiet for an hour),
//! - or by the recovery job (the fake gives up after its first, failed delivery).
//!
//! Exactly once means: the payment succeeded once (one transition to `succeeded`), the
//! receivable is paid, its ledger holds one `payment_received` entry, the books balance, and
//! the fake made one Checkout Session (nobody was asked to pay twice).
//!
//! Also the start whose answer is lost (`drop_next_responses(1)`): the payment stays `created`
//! without a session of ours, and the running program's recovery job asks again with the same
//! idempotency key and the very same request, which Stripe replays: one session.
//!
//! The card payment is started by this test process through the use case
//! (`checkout::start`, as the resident's pay page and `POST /api/v1/receivables/{id}/payments`
//! call it) on the same database, with the same Stripe settings as the program: that page and
//! that API are built on another branch. The webhook, the recovery job and the restart are the
//! program's own.

use madoguchi_domain::{ErrorCode, PaymentId, ReceivableId, TenantId};
use madoguchi_fake_stripe::{FakeStripe, Outcome, RetryPolicy};
use madoguchi_payments::ledger::PostingKind;
use madoguchi_payments::{
    Method, PaymentAmount, PaymentStatus, ReceivableStatus, RevenueCategory, RevenueCategoryCode,
};
use madoguchi_server::{PaymentsConfig, StripeCityConfig};
use madoguchi_storage::{
    ActorKind, NewAuditEntry, NewReceivable, Payment, PaymentFilter, Receivable, Storage, now_utc,
};
use madoguchi_tests::app::RawPool;
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::{Actor, Scope};
use secrecy::SecretString;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// The city's webhook signing secret, as Stripe's dashboard would show it.
const WEBHOOK_SECRET: &str = "whsec_madoguchi_crash_test";

/// The program's housekeeping runs every second in these tests (1 s is its smallest setting).
const MAINTENANCE_INTERVAL_S: &str = "1";

/// A recovery job that asks about a payment two seconds after it was last touched.
const PROMPT_RECOVERY_S: &str = "2";

/// A recovery job that keeps out of the way for an hour: only a webhook can record the payment.
const IDLE_RECOVERY_S: &str = "3600";

/// How long the program gets to start, and a payment to be recorded.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the fee is.
const FEE_YEN: i64 = 300;

/// One test's database as the program sees it (its URL) and as the test reads it.
pub(crate) struct Books {
    pub storage: Arc<dyn Storage>,
    pub url: String,
    pub raw: RawPool,
    pub tenant: TenantId,
    // Keeps the database until the test ends.
    _db: Box<dyn std::any::Any + Send + Sync>,
}

/// A fresh database of `backend` with the demo city and the standard revenue categories;
/// `None` when PostgreSQL is not available and not required.
pub(crate) async fn books(backend: madoguchi_tests::app::Backend) -> anyhow::Result<Option<Books>> {
    let (storage, url, raw, db): (
        Arc<dyn Storage>,
        String,
        RawPool,
        Box<dyn std::any::Any + Send + Sync>,
    ) = match backend {
        madoguchi_tests::app::Backend::Sqlite => {
            let db = madoguchi_tests::db::fresh_sqlite().await?;
            let storage = db.storage().clone();
            let raw = RawPool::Sqlite(storage.pool().clone());
            (Arc::new(storage), db.url().to_owned(), raw, Box::new(db))
        }
        madoguchi_tests::app::Backend::Postgres => {
            let Some(db) = madoguchi_tests::db::fresh_postgres().await? else {
                return Ok(None);
            };
            let storage = db.storage().clone();
            let raw = RawPool::Postgres(storage.pool().clone());
            (Arc::new(storage), db.url().to_owned(), raw, Box::new(db))
        }
    };
    madoguchi_server::demo::seed_demo(
        &*storage,
        &madoguchi_auth::PasswordHasher::with_cost(1024, 1),
    )
    .await?;
    let tenant = storage
        .tenant_by_slug(madoguchi_server::demo::DEMO_TENANT_SLUG)
        .await?
        .id;
    for category in RevenueCategory::standard() {
        storage.save_revenue_category(tenant, &category).await?;
    }
    Ok(Some(Books {
        storage,
        url,
        raw,
        tenant,
        _db: db,
    }))
}

/// A certificate fee owed by a resident who pays online.
pub(crate) async fn owed(
    storage: &dyn Storage,
    tenant: TenantId,
    yen: i64,
) -> anyhow::Result<Receivable> {
    let now = now_utc();
    let id = ReceivableId::new();
    Ok(storage
        .create_receivable(
            tenant,
            &NewReceivable {
                id,
                category: RevenueCategoryCode::parse("certificate_fee")?,
                description: "住民票の写し".into(),
                payer_account: None,
                payer_name: "山田 太郎".into(),
                office: None,
                fiscal_year: 2026,
                due_on: now.date() + time::Duration::days(30),
                amount: PaymentAmount::new(yen)?,
                source: None,
                at: now,
            },
            &NewAuditEntry {
                at: now,
                actor_kind: ActorKind::System,
                actor_id: None,
                action: "receivable.assessed".into(),
                target: Some(id.to_string()),
                details: serde_json::json!({}),
            },
        )
        .await?)
}

/// `madoguchi serve` as a child process on a chosen port, with the fake as the default city's
/// Stripe.
struct Program {
    child: tokio::process::Child,
    url: String,
}

struct ProgramSettings<'a> {
    database_url: &'a str,
    data_dir: &'a std::path::Path,
    port: u16,
    fake: &'a FakeStripe,
    recovery_quiet_s: &'a str,
}

impl Program {
    async fn start(settings: &ProgramSettings<'_>) -> anyhow::Result<Program> {
        let url = format!("http://127.0.0.1:{}", settings.port);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
            .args(["serve", "--no-demo", "--addr"])
            .arg(format!("127.0.0.1:{}", settings.port))
            .arg("--data-dir")
            .arg(settings.data_dir)
            .arg("--database-url")
            .arg(settings.database_url)
            .env("MADOGUCHI_STRIPE__SECRET_KEY", &settings.fake.api_key)
            .env("MADOGUCHI_STRIPE__WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("MADOGUCHI_STRIPE__API_BASE", &settings.fake.base_url)
            .env("MADOGUCHI_MAINTENANCE_INTERVAL_S", MAINTENANCE_INTERVAL_S)
            .env(
                "MADOGUCHI_PAYMENTS__RECOVERY_QUIET_S",
                settings.recovery_quiet_s,
            )
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(log_file(settings.data_dir)?)
            .kill_on_drop(true)
            .spawn()?;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(response) = reqwest::get(format!("{url}/readyz")).await
                && response.status() == 200
            {
                return Ok(Program { child, url });
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("madoguchi serve exited before it was ready: {status}");
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "madoguchi serve was not ready within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, nothing flushed; returns once the process is gone.
    async fn kill(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }
}

/// The program's log (warnings and errors), appended to across restarts.
fn log_file(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("serve.log"))?)
}

/// The program's log so far, for a failure's message.
fn log_of(data_dir: &std::path::Path) -> String {
    std::fs::read_to_string(data_dir.join("serve.log")).unwrap_or_default()
}

/// A free port of 127.0.0.1, kept across the program's restart so the fake's webhook endpoint
/// stays right.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts paying `receivable` by card, as the resident's pay page does, with the city's
/// Stripe settings as the program has them.
async fn start_card_payment(
    books: &Books,
    fake: &FakeStripe,
    program_url: &str,
    receivable: &Receivable,
) -> madoguchi_usecases::UseCaseResult<Payment> {
    let mut config = PaymentsConfig::sandbox_only();
    config.sandbox = false;
    config.stripe.insert(
        madoguchi_server::demo::DEMO_TENANT_SLUG.to_owned(),
        StripeCityConfig {
            secret_key: SecretString::from(fake.api_key.clone()),
            webhook_secret: SecretString::from(WEBHOOK_SECRET),
            api_base: Some(fake.base_url.clone()),
        },
    );
    let gateways = madoguchi_server::gateways::ConfiguredGateways::new(
        books.storage.clone(),
        config,
        program_url.to_owned(),
    );
    let scope = Scope::new(
        books.tenant,
        Actor::System,
        Arc::new(madoguchi_storage::SystemClock),
    );
    let receivable_id = receivable.id;
    checkout::start(
        &*books.storage,
        &gateways,
        &scope,
        receivable.id,
        Method::Card,
        |payment: PaymentId| ReturnUrls {
            result_url: format!("{program_url}/payments/{payment}"),
            cancel_url: format!("{program_url}/receivables/{receivable_id}/pay"),
        },
        None,
        None,
    )
    .await
}

/// The one payment of a receivable.
async fn only_payment(books: &Books, receivable: ReceivableId) -> anyhow::Result<Payment> {
    let mut payments = books
        .storage
        .list_payments(
            books.tenant,
            &PaymentFilter {
                receivable: Some(receivable),
                limit: 10,
                ..PaymentFilter::default()
            },
        )
        .await?;
    anyhow::ensure!(payments.len() == 1, "{} payments", payments.len());
    Ok(payments.remove(0))
}

/// Waits until `done` holds for the payment, and returns it.
async fn wait_for_payment(
    books: &Books,
    data_dir: &std::path::Path,
    id: PaymentId,
    what: &str,
    done: impl Fn(&Payment) -> bool,
) -> anyhow::Result<Payment> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let payment = books.storage.payment(books.tenant, id).await?;
        if done(&payment) {
            return Ok(payment);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}; the payment is {:?} (provider_ref {:?}); the program's log:\n{}",
            payment.status,
            payment.provider_ref,
            log_of(data_dir)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The sources of the payment's transitions to `succeeded` (`webhook`, `recovery`).
pub(crate) async fn successes(raw: &RawPool, payment: PaymentId) -> anyhow::Result<Vec<String>> {
    Ok(match raw {
        RawPool::Sqlite(pool) => sqlx::query_scalar(
            "SELECT source FROM payment_transitions WHERE payment_id = ? AND to_status = 'succeeded'",
        )
        .bind(payment.0.hyphenated().to_string())
        .fetch_all(pool)
        .await?,
        RawPool::Postgres(pool) => sqlx::query_scalar(
            "SELECT source FROM payment_transitions WHERE payment_id = $1 AND to_status = 'succeeded'",
        )
        .bind(payment.0)
        .fetch_all(pool)
        .await?,
    })
}

/// The books balance: over everything the city ever posted, debits equal credits.
pub(crate) async fn assert_balanced(storage: &dyn Storage, tenant: TenantId) -> anyhow::Result<()> {
    let rows = storage
        .trial_balance(tenant, None, time::macros::date!(2199 - 12 - 31))
        .await?;
    let debit: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credit: i64 = rows.iter().map(|r| r.credit_yen).sum();
    assert_eq!(debit, credit, "the trial balance balances: {rows:?}");
    Ok(())
}

/// The payment was recorded once: one success, the receivable paid, one `payment_received`
/// entry, balanced books, one Checkout Session. Returns how it was recorded.
async fn assert_recorded_once(
    books: &Books,
    fake: &FakeStripe,
    receivable: ReceivableId,
    payment: PaymentId,
) -> anyhow::Result<String> {
    let paid = books.storage.payment(books.tenant, payment).await?;
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    let sources = successes(&books.raw, payment).await?;
    assert_eq!(sources.len(), 1, "one transition to succeeded: {sources:?}");
    let owed = books.storage.receivable(books.tenant, receivable).await?;
    assert_eq!(
        (owed.status, owed.paid_yen),
        (ReceivableStatus::Paid, FEE_YEN),
        "paid once, in full"
    );
    let received = books
        .storage
        .ledger_entries(books.tenant, Some(receivable), 100)
        .await?
        .into_iter()
        .filter(|entry| entry.kind == PostingKind::PaymentReceived)
        .count();
    assert_eq!(received, 1, "one payment_received entry");
    assert_balanced(&*books.storage, books.tenant).await?;
    assert_eq!(fake.sessions_created(), 1, "never charged twice");
    Ok(sources.into_iter().next().unwrap_or_default())
}

/// Which way a killed program's payment is recorded after the restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recorder {
    /// The fake retries its delivery until the restarted program answers.
    WebhookRetry,
    /// The fake gives up after one failed delivery; the recovery job asks Stripe.
    RecoveryJob,
}

async fn killed_before_recording_then_recorded_once(
    backend: madoguchi_tests::app::Backend,
    recorder: Recorder,
) -> anyhow::Result<()> {
    let Some(books) = books(backend).await? else {
        eprintln!(
            "notice: PostgreSQL not available; skipped (MADOGUCHI_REQUIRE_POSTGRES=1 makes this fail)"
        );
        return Ok(());
    };
    let fake = FakeStripe::start().await?;
    fake.set_retry_policy(match recorder {
        // Doubling from 250 ms: the program is back long before the last of ten attempts.
        Recorder::WebhookRetry => RetryPolicy {
            attempts: 10,
            first_delay: Duration::from_millis(250),
        },
        Recorder::RecoveryJob => RetryPolicy {
            attempts: 1,
            first_delay: Duration::from_millis(10),
        },
    });
    let data_dir = tempfile::tempdir()?;
    let settings = ProgramSettings {
        database_url: &books.url,
        data_dir: data_dir.path(),
        port: free_port()?,
        fake: &fake,
        recovery_quiet_s: match recorder {
            Recorder::WebhookRetry => IDLE_RECOVERY_S,
            Recorder::RecoveryJob => PROMPT_RECOVERY_S,
        },
    };
    let program = Program::start(&settings).await?;
    fake.configure_webhook(
        &format!(
            "{}/hooks/stripe/{}",
            program.url,
            madoguchi_server::demo::DEMO_TENANT_SLUG
        ),
        WEBHOOK_SECRET,
    );

    let fee = owed(&*books.storage, books.tenant, FEE_YEN).await?;
    let started = start_card_payment(&books, &fake, &program.url, &fee)
        .await
        .map_err(|e| anyhow::anyhow!("start: {:?} {:?}", e.code, e.internal))?;
    let session = started.provider_ref.clone().unwrap_or_default();
    assert!(session.starts_with("cs_"), "a Checkout Session: {session}");
    assert_eq!(started.status, PaymentStatus::Created);

    // The program dies; then the payer pays, and Stripe's webhook finds nobody.
    program.kill().await?;
    fake.pay(&session, Outcome::Succeed)?;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !fake.deliveries().iter().any(|d| d.status.is_none()) {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no failed delivery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if recorder == Recorder::RecoveryJob {
        assert!(fake.webhooks_idle(PATIENCE).await, "the fake gave up");
    }
    let unrecorded = books.storage.payment(books.tenant, started.id).await?;
    assert_eq!(
        unrecorded.status,
        PaymentStatus::Created,
        "charged at Stripe, not recorded here"
    );
    assert_eq!(
        books
            .storage
            .receivable(books.tenant, fee.id)
            .await?
            .paid_yen,
        0
    );

    // The same program again, on the same database and port.
    let restarted = Program::start(&settings).await?;
    wait_for_payment(
        &books,
        data_dir.path(),
        started.id,
        "recorded after the restart",
        |p| p.status == PaymentStatus::Succeeded,
    )
    .await?;
    // Let every retry and a few recovery passes more come and go: none may record it again.
    assert!(fake.webhooks_idle(PATIENCE).await, "deliveries settled");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let source = assert_recorded_once(&books, &fake, fee.id, started.id).await?;
    assert_eq!(
        source,
        match recorder {
            Recorder::WebhookRetry => "webhook",
            Recorder::RecoveryJob => "recovery",
        }
    );
    if recorder == Recorder::WebhookRetry {
        assert!(
            fake.deliveries().iter().any(|d| d.succeeded()),
            "a retried delivery reached the restarted program"
        );
    }
    restarted.kill().await?;
    Ok(())
}

/// The start's answer is lost: the payment stays `created`; the program's recovery job asks
/// again with the same key and request, Stripe replays its session, and the payment then
/// completes once.
async fn a_lost_start_answer_is_asked_again_with_the_same_key_and_makes_one_session(
    backend: madoguchi_tests::app::Backend,
) -> anyhow::Result<()> {
    let Some(books) = books(backend).await? else {
        eprintln!(
            "notice: PostgreSQL not available; skipped (MADOGUCHI_REQUIRE_POSTGRES=1 makes this fail)"
        );
        return Ok(());
    };
    let fake = FakeStripe::start().await?;
    let data_dir = tempfile::tempdir()?;
    let settings = ProgramSettings {
        database_url: &books.url,
        data_dir: data_dir.path(),
        port: free_port()?,
        fake: &fake,
        recovery_quiet_s: PROMPT_RECOVERY_S,
    };
    let program = Program::start(&settings).await?;
    fake.configure_webhook(
        &format!(
            "{}/hooks/stripe/{}",
            program.url,
            madoguchi_server::demo::DEMO_TENANT_SLUG
        ),
        WEBHOOK_SECRET,
    );
    let fee = owed(&*books.storage, books.tenant, FEE_YEN).await?;

    fake.drop_next_responses(1);
    let lost = start_card_payment(&books, &fake, &program.url, &fee)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("the start's answer was lost, yet it succeeded"))?;
    assert_eq!(lost.code, ErrorCode::PaymentProviderUnavailable);
    assert_eq!(fake.sessions_created(), 1, "Stripe made the session");
    let waiting = only_payment(&books, fee.id).await?;
    assert_eq!(
        (waiting.status, waiting.provider_ref.as_deref()),
        (PaymentStatus::Created, None),
        "the payment stays created, without the session it never heard of"
    );

    let known = wait_for_payment(
        &books,
        data_dir.path(),
        waiting.id,
        "asked again by recovery",
        |p| p.provider_ref.is_some(),
    )
    .await?;
    let session = known.provider_ref.clone().unwrap_or_default();
    assert_eq!(fake.sessions_created(), 1, "replayed, not made again");
    assert_eq!(fake.session_ids(), vec![session.clone()]);
    let starts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/checkout/sessions")
        .collect();
    assert!(starts.len() >= 2, "asked twice: {starts:?}");
    assert!(
        starts
            .iter()
            .all(|r| r.idempotency_key.as_deref() == Some(waiting.idempotency_key.as_str())),
        "with the payment's own key every time"
    );
    assert!(
        known
            .redirect_url
            .as_deref()
            .is_some_and(|url| url.starts_with(&fake.base_url)),
        "the payer's page is the session's: {:?}",
        known.redirect_url
    );

    fake.pay(&session, Outcome::Succeed)?;
    wait_for_payment(&books, data_dir.path(), waiting.id, "paid", |p| {
        p.status == PaymentStatus::Succeeded
    })
    .await?;
    assert!(fake.webhooks_idle(PATIENCE).await, "deliveries settled");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_recorded_once(&books, &fake, fee.id, waiting.id).await?;
    program.kill().await?;
    Ok(())
}

mod killed_after_the_charge_recorded_by_the_webhook_retry {
    use madoguchi_tests::app::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() -> anyhow::Result<()> {
        super::killed_before_recording_then_recorded_once(
            Backend::Sqlite,
            super::Recorder::WebhookRetry,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() -> anyhow::Result<()> {
        super::killed_before_recording_then_recorded_once(
            Backend::Postgres,
            super::Recorder::WebhookRetry,
        )
        .await
    }
}

mod killed_after_the_charge_recorded_by_the_recovery_job {
    use madoguchi_tests::app::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() -> anyhow::Result<()> {
        super::killed_before_recording_then_recorded_once(
            Backend::Sqlite,
            super::Recorder::RecoveryJob,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() -> anyhow::Result<()> {
        super::killed_before_recording_then_recorded_once(
            Backend::Postgres,
            super::Recorder::RecoveryJob,
        )
        .await
    }
}

mod a_lost_start_answer_is_asked_again_with_the_same_key {
    use madoguchi_tests::app::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() -> anyhow::Result<()> {
        super::a_lost_start_answer_is_asked_again_with_the_same_key_and_makes_one_session(
            Backend::Sqlite,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() -> anyhow::Result<()> {
        super::a_lost_start_answer_is_asked_again_with_the_same_key_and_makes_one_session(
            Backend::Postgres,
        )
        .await
    }
}
