//! The background job runner: claims due jobs from the database with a lease, runs the handler
//! registered for each job's kind, and records success, retry (with backoff) or failure.
//!
//! Jobs live in the database, so they survive restarts, and several `serve` processes can share
//! one PostgreSQL: a job whose worker died is taken over when its lease runs out.
//!
//! Architecture invariant: handlers are idempotent or tolerate a second run, because a lease
//! can expire while a slow handler still works (at-least-once delivery).

use async_trait::async_trait;
use madoguchi_storage::{Job, JobStore, NewJob, StorageResult, now_utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tracing::{Instrument, info_span, warn};

/// What went wrong in a handler, and whether another attempt may help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("transient: {0}")]
    Retry(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Runs jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// Tunables of a runner; the defaults suit a municipal workload (mail, reminders, nightly batch).
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub worker_id: String,
    pub lease_s: i64,
    pub batch: i64,
    pub idle_poll: Duration,
    /// First retry delay; doubles per attempt up to `max_backoff_s`.
    pub base_backoff_s: i64,
    pub max_backoff_s: i64,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            lease_s: 300,
            batch: 10,
            idle_poll: Duration::from_secs(1),
            base_backoff_s: 30,
            max_backoff_s: 3600,
        }
    }
}

/// The delay before attempt `attempts + 1`: exponential, capped.
pub fn backoff_s(attempts: i64, base_s: i64, max_s: i64) -> i64 {
    let exponent = attempts.saturating_sub(1).clamp(0, 30) as u32;
    base_s
        .saturating_mul(2_i64.saturating_pow(exponent))
        .min(max_s)
}

/// Enqueues jobs and wakes the local runner at once (other nodes find them on their next poll).
#[derive(Clone)]
pub struct JobQueue {
    store: Arc<dyn JobStore>,
    wake: Arc<Notify>,
}

impl JobQueue {
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    pub async fn enqueue(&self, job: NewJob) -> StorageResult<madoguchi_domain::JobId> {
        let id = self.store.enqueue_job(&job).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Wakes the local runner after jobs were written elsewhere (the outbox rows a storage
    /// call wrote in its transaction), so they run now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A job of `kind` due now, tried up to `max_attempts` times.
    pub fn job_now(
        tenant: Option<madoguchi_domain::TenantId>,
        kind: &str,
        payload: serde_json::Value,
        max_attempts: i64,
    ) -> NewJob {
        NewJob {
            tenant_id: tenant,
            kind: kind.to_owned(),
            payload,
            run_at: now_utc(),
            max_attempts,
        }
    }
}

/// Claims and runs jobs until told to stop.
pub struct JobRunner {
    store: Arc<dyn JobStore>,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    config: RunnerConfig,
    wake: Arc<Notify>,
}

impl JobRunner {
    pub fn new(queue: &JobQueue, config: RunnerConfig) -> Self {
        Self {
            store: queue.store.clone(),
            handlers: HashMap::new(),
            config,
            wake: queue.wake.clone(),
        }
    }

    pub fn register(&mut self, kind: &str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind.to_owned(), handler);
    }

    /// Runs every due job once; returns how many were claimed. Used by the loop and by tests.
    pub async fn run_due(&self, now: OffsetDateTime) -> StorageResult<usize> {
        let jobs = self
            .store
            .claim_jobs(
                &self.config.worker_id,
                now,
                self.config.lease_s,
                self.config.batch,
            )
            .await?;
        let claimed = jobs.len();
        for job in jobs {
            let span =
                info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
            match self.run_one(job).instrument(span).await {
                // The lease ran out and another worker took the job over: not ours any more.
                Err(madoguchi_storage::StorageError::NotFound) => {
                    warn!("job lease lost before its outcome was recorded")
                }
                other => other?,
            }
        }
        Ok(claimed)
    }

    async fn run_one(&self, job: Job) -> StorageResult<()> {
        let outcome = match self.handlers.get(&job.kind) {
            Some(handler) => {
                let limit = Duration::from_secs(self.config.lease_s.max(1) as u64);
                match tokio::time::timeout(limit, handler.run(&job)).await {
                    Ok(result) => result,
                    Err(_) => Err(JobError::Retry("handler timed out".into())),
                }
            }
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {}",
                job.kind
            ))),
        };
        let now = now_utc();
        match outcome {
            Ok(()) => {
                metrics::counter!("madoguchi_jobs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
                self.store
                    .complete_job(job.id, &self.config.worker_id, now)
                    .await
            }
            Err(error) => {
                let retry_at = match &error {
                    JobError::Retry(_) if job.attempts < job.max_attempts => Some(
                        now + time::Duration::seconds(backoff_s(
                            job.attempts,
                            self.config.base_backoff_s,
                            self.config.max_backoff_s,
                        )),
                    ),
                    _ => None,
                };
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "failed"
                };
                metrics::counter!("madoguchi_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
                warn!(job_id = %job.id, kind = %job.kind, attempts = job.attempts, %error, outcome, "job did not succeed");
                self.store
                    .fail_job(
                        job.id,
                        &self.config.worker_id,
                        &error.to_string(),
                        retry_at,
                        now,
                    )
                    .await
            }
        }
    }

    /// Polls until `shutdown` turns true. Storage errors are logged and retried after a pause.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let claimed = match self.run_due(now_utc()).await {
                Ok(n) => n,
                Err(error) => {
                    warn!(%error, "job runner could not reach storage");
                    0
                }
            };
            if claimed > 0 {
                continue; // more may be due right away
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.idle_poll) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_s(1, 30, 3600), 30);
        assert_eq!(backoff_s(2, 30, 3600), 60);
        assert_eq!(backoff_s(3, 30, 3600), 120);
        assert_eq!(backoff_s(20, 30, 3600), 3600);
        assert_eq!(backoff_s(i64::MAX, 30, 3600), 3600);
    }
}
