//! The job runner over real storage: jobs survive a worker that dies, and a mail server that is
//! down leads to a retry whose error staff can see.

use madoguchi_jobs::{JobError, JobHandler, JobQueue, JobRunner, RunnerConfig};
use madoguchi_mail::{OutgoingMail, SmtpConfig, SmtpMailer, SmtpSecurity};
use madoguchi_server::jobs::{MAIL_SEND, SendMail};
use madoguchi_storage::{Job, JobStatus, JobStore, now_utc};
use madoguchi_tests::db::fresh_sqlite;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::Duration;

struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl JobHandler for Counting {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn config(worker: &str) -> RunnerConfig {
    RunnerConfig {
        worker_id: worker.into(),
        lease_s: 60,
        ..RunnerConfig::default()
    }
}

#[tokio::test]
async fn a_job_claimed_by_a_worker_that_died_is_run_by_another_after_its_lease()
-> anyhow::Result<()> {
    let db = fresh_sqlite().await?;
    let store: Arc<dyn JobStore> = Arc::new(db.storage().clone());
    let queue = JobQueue::new(store.clone());
    let id = queue
        .enqueue(JobQueue::job_now(None, "count", serde_json::json!({}), 3))
        .await?;
    // Worker A claims the job and dies before finishing (it never reports back).
    let claimed = store.claim_jobs("worker-a", now_utc(), 60, 10).await?;
    assert_eq!(claimed.len(), 1);

    let runs = Arc::new(AtomicUsize::new(0));
    let mut runner = JobRunner::new(&queue, config("worker-b"));
    runner.register("count", Arc::new(Counting(runs.clone())));
    assert_eq!(runner.run_due(now_utc()).await?, 0, "the lease still holds");
    assert_eq!(
        runner.run_due(now_utc() + Duration::seconds(61)).await?,
        1,
        "taken over after the lease"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let job = store.job(id).await?;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(job.attempts, 2);
    Ok(())
}

#[tokio::test]
async fn mail_to_a_server_that_is_down_is_retried_with_its_error_recorded() -> anyhow::Result<()> {
    let db = fresh_sqlite().await?;
    let store: Arc<dyn JobStore> = Arc::new(db.storage().clone());
    let queue = JobQueue::new(store.clone());
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
    };
    let mailer = SmtpMailer::new(&smtp, "noreply@madoguchi-city.example".parse()?)?;
    let mail = OutgoingMail {
        tenant_id: None,
        to: "hanako@example.jp".into(),
        subject: "件名".into(),
        text_body: "本文".into(),
        attachments: vec![],
    };
    let id = queue
        .enqueue(JobQueue::job_now(
            None,
            MAIL_SEND,
            serde_json::to_value(&mail)?,
            5,
        ))
        .await?;
    let mut runner = JobRunner::new(&queue, config("worker"));
    runner.register(
        MAIL_SEND,
        Arc::new(SendMail {
            mailer: Arc::new(mailer),
        }),
    );
    assert_eq!(runner.run_due(now_utc()).await?, 1);
    let job = store.job(id).await?;
    assert_eq!(job.status, JobStatus::Queued, "queued again for a retry");
    assert_eq!(job.attempts, 1);
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or("")
            .contains("transient"),
        "{:?}",
        job.last_error
    );
    assert!(job.run_at > now_utc() + Duration::seconds(20), "backed off");
    // Not due yet: nothing runs now.
    assert_eq!(runner.run_due(now_utc()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_job_of_an_unknown_kind_fails_for_good() -> anyhow::Result<()> {
    let db = fresh_sqlite().await?;
    let store: Arc<dyn JobStore> = Arc::new(db.storage().clone());
    let queue = JobQueue::new(store.clone());
    let id = queue
        .enqueue(JobQueue::job_now(
            None,
            "no.such.kind",
            serde_json::json!({}),
            5,
        ))
        .await?;
    let runner = JobRunner::new(&queue, config("worker"));
    runner.run_due(now_utc()).await?;
    let job = store.job(id).await?;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or("")
            .contains("no handler")
    );
    Ok(())
}
