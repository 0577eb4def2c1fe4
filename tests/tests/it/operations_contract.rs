//! The storage contract of operations, on SQLite and PostgreSQL alike: the append-only audit
//! log and the leased job queue. Builders come from `contract.rs`.

use crate::contract::*;
use futures::future::join_all;
use madoguchi_domain::AccountId;
use madoguchi_storage::{ActorKind, AuditEntry, AuditFilter, JobStatus, NewAuditEntry};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    audit_entries_are_listed_newest_first_and_filtered,
    the_audit_log_refuses_to_be_rewritten,
    a_job_is_claimed_only_once_it_is_due,
    a_leased_job_is_taken_over_only_after_its_lease_expires,
    only_the_lease_holder_completes_a_job,
    a_failed_job_is_retried_with_its_error_or_failed_for_good,
    ten_workers_claim_a_hundred_jobs_each_exactly_once,
);

async fn audit_entries_are_listed_newest_first_and_filtered<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let (alice, bob) = (AccountId::new(), AccountId::new());
    let entry = |minutes: i64, actor: Option<AccountId>, action: &str| NewAuditEntry {
        at: T0 + Duration::minutes(minutes),
        actor_kind: if actor.is_some() {
            ActorKind::Staff
        } else {
            ActorKind::System
        },
        actor_id: actor,
        action: action.to_owned(),
        target: actor.map(|a| format!("account:{a}")),
        details: json!({"minute": minutes, "nested": {"ids": [1, 2]}}),
    };
    let mut first = entry(0, Some(alice), "staff.sign_in");
    first.at += Duration::nanoseconds(999); // dropped alike by both databases
    let e1 = s.append_audit(t.id, &first).await?;
    let e2 = s
        .append_audit(t.id, &entry(1, Some(alice), "staff.roles_changed"))
        .await?;
    let e3 = s
        .append_audit(t.id, &entry(2, Some(bob), "office.created"))
        .await?;
    let e4 = s
        .append_audit(t.id, &entry(3, Some(bob), "staff.sign_in"))
        .await?;
    let e5 = s.append_audit(t.id, &entry(4, None, "jobs.purged")).await?;
    let theirs = s
        .append_audit(other.id, &entry(5, None, "staff.sign_in"))
        .await?;
    assert_eq!(e1.at, T0);
    assert_eq!(e2.details, json!({"minute": 1, "nested": {"ids": [1, 2]}}));

    let list = |filter: AuditFilter| async move {
        s.list_audit(
            t.id,
            &AuditFilter {
                limit: 100,
                ..filter
            },
        )
        .await
    };
    let all = list(AuditFilter::default()).await?;
    assert_eq!(
        all,
        vec![e5.clone(), e4.clone(), e3.clone(), e2.clone(), e1.clone()]
    );

    let prefix = |p: &str| AuditFilter {
        action_prefix: Some(p.to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(prefix("staff.")).await?,
        vec![e4.clone(), e2.clone(), e1.clone()]
    );
    assert_eq!(
        list(prefix("staff.sign_in")).await?,
        vec![e4.clone(), e1.clone()]
    );
    // A prefix is literal text, not a pattern.
    assert_eq!(list(prefix("staff%")).await?, Vec::<AuditEntry>::new());
    assert_eq!(list(prefix("_taff")).await?, Vec::<AuditEntry>::new());

    let by_actor = AuditFilter {
        actor_id: Some(alice),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_actor).await?, vec![e2.clone(), e1.clone()]);
    let range = AuditFilter {
        from: Some(T0 + Duration::minutes(1)),
        until: Some(T0 + Duration::minutes(3)),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(range).await?,
        vec![e3.clone(), e2.clone()],
        "from is inclusive, until exclusive"
    );
    let before = AuditFilter {
        before: Some(T0 + Duration::minutes(2)),
        ..AuditFilter::default()
    };
    assert_eq!(list(before).await?, vec![e2.clone(), e1.clone()]);
    let limited = s
        .list_audit(
            t.id,
            &AuditFilter {
                limit: 2,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(limited, vec![e5, e4]);
    assert_eq!(
        s.list_audit(
            other.id,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            }
        )
        .await?,
        vec![theirs]
    );
    Ok(())
}

async fn the_audit_log_refuses_to_be_rewritten<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let entry = s
        .append_audit(
            t.id,
            &NewAuditEntry {
                at: T0,
                actor_kind: ActorKind::Anonymous,
                actor_id: None,
                action: "resident.sign_up".into(),
                target: None,
                details: json!({}),
            },
        )
        .await?;

    let update = s
        .execute_raw("UPDATE audit_log SET action = 'tampered'")
        .await;
    assert!(
        update
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "UPDATE: {update:?}"
    );
    let delete = s.execute_raw("DELETE FROM audit_log").await;
    assert!(
        delete
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "DELETE: {delete:?}"
    );
    // SQLite has no TRUNCATE; PostgreSQL refuses it with a statement trigger.
    assert!(
        s.execute_raw("TRUNCATE audit_log").await.is_err(),
        "TRUNCATE"
    );

    assert_eq!(
        s.list_audit(
            t.id,
            &AuditFilter {
                limit: 10,
                ..AuditFilter::default()
            }
        )
        .await?,
        vec![entry]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

async fn a_job_is_claimed_only_once_it_is_due<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let due = s.enqueue_job(&new_job(Some(t.id), T0)).await?;
    let later = s.enqueue_job(&new_job(None, T0 + secs(3600))).await?;

    assert_eq!(s.claim_jobs("w1", T0 - secs(1), 60, 10).await?, vec![]);
    let claimed = s.claim_jobs("w1", T0, 60, 10).await?;
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0];
    assert_eq!(
        (job.id, job.tenant_id, job.kind.as_str()),
        (due, Some(t.id), "mail.send")
    );
    assert_eq!(job.payload, json!({"template": "verify_email", "n": 1}));
    assert_eq!(
        (job.status, job.attempts, job.max_attempts),
        (JobStatus::Running, 1, 3)
    );
    assert_eq!(
        (job.locked_by.as_deref(), job.lease_until, job.run_at),
        (Some("w1"), Some(T0 + secs(60)), T0)
    );
    assert_eq!(s.job(due).await?, *job);

    assert_eq!(
        s.claim_jobs("w2", T0 + secs(30), 60, 10).await?,
        vec![],
        "leased and not yet due"
    );
    let waiting = s.job(later).await?;
    assert_eq!(
        (waiting.status, waiting.attempts, waiting.locked_by),
        (JobStatus::Queued, 0, None)
    );

    s.complete_job(due, "w1", T0 + secs(5)).await?;
    let claimed: Vec<_> = s
        .claim_jobs("w2", T0 + secs(3600), 60, 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(claimed, vec![later]);

    // At most `limit` at a time, and nothing for a limit of zero or less.
    for _ in 0..3 {
        s.enqueue_job(&new_job(Some(t.id), T0)).await?;
    }
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 0).await?, vec![]);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, -1).await?, vec![]);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 2);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 1);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 0);
    let done: Vec<_> = s
        .list_jobs(Some(t.id), Some(JobStatus::Done), 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(done, vec![due]);
    assert_eq!(
        s.list_jobs(Some(t.id), Some(JobStatus::Running), 10)
            .await?
            .len(),
        3
    );
    assert_eq!(s.list_jobs(None, None, 10).await?.len(), 5);
    Ok(())
}

async fn a_leased_job_is_taken_over_only_after_its_lease_expires<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    assert_eq!(s.claim_jobs("w1", T0, 60, 10).await?.len(), 1);

    assert_eq!(s.claim_jobs("w2", T0 + secs(59), 60, 10).await?, vec![]);
    assert_eq!(
        s.claim_jobs("w2", T0 + secs(60), 60, 10).await?,
        vec![],
        "a lease runs until its last instant"
    );
    let taken = s.claim_jobs("w2", T0 + secs(61), 60, 10).await?;
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempts), (id, 2));
    assert_eq!(
        (taken[0].locked_by.as_deref(), taken[0].lease_until),
        (Some("w2"), Some(T0 + secs(121)))
    );

    // The worker that lost its lease can no longer finish or fail the job.
    assert_not_found(s.complete_job(id, "w1", T0 + secs(62)).await);
    assert_not_found(s.fail_job(id, "w1", "late", None, T0 + secs(62)).await);
    s.complete_job(id, "w2", T0 + secs(63)).await?;
    assert_eq!(s.job(id).await?.status, JobStatus::Done);
    Ok(())
}

async fn only_the_lease_holder_completes_a_job<S: Backend>(s: &S) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    s.claim_jobs("w1", T0, 60, 10).await?;
    assert_not_found(s.complete_job(id, "w2", T0 + secs(1)).await);
    assert_eq!(s.job(id).await?.status, JobStatus::Running);

    s.complete_job(id, "w1", T0 + secs(2)).await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.finished_at, job.lease_until, job.last_error),
        (JobStatus::Done, Some(T0 + secs(2)), None, None)
    );
    assert_not_found(s.complete_job(id, "w1", T0 + secs(3)).await);
    assert_eq!(
        s.claim_jobs("w2", T0 + secs(3600), 60, 10).await?,
        vec![],
        "a done job never runs again"
    );
    assert_not_found(
        s.complete_job(madoguchi_domain::JobId::new(), "w1", T0)
            .await,
    );
    Ok(())
}

async fn a_failed_job_is_retried_with_its_error_or_failed_for_good<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    s.claim_jobs("w1", T0, 60, 10).await?;
    s.fail_job(
        id,
        "w1",
        "smtp 451 try later",
        Some(T0 + secs(300)),
        T0 + secs(1),
    )
    .await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.run_at, job.attempts),
        (JobStatus::Queued, T0 + secs(300), 1)
    );
    assert_eq!(
        (
            job.last_error.as_deref(),
            job.locked_by,
            job.lease_until,
            job.finished_at
        ),
        (Some("smtp 451 try later"), None, None, None)
    );

    assert_eq!(
        s.claim_jobs("w2", T0 + secs(299), 60, 10).await?,
        vec![],
        "not before the retry time"
    );
    let retried = s.claim_jobs("w2", T0 + secs(300), 60, 10).await?;
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (id, 2));

    s.fail_job(id, "w2", "smtp 550 no such user", None, T0 + secs(301))
        .await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.finished_at, job.attempts),
        (JobStatus::Failed, Some(T0 + secs(301)), 2)
    );
    assert_eq!(job.last_error.as_deref(), Some("smtp 550 no such user"));
    assert_eq!(
        s.claim_jobs("w3", T0 + secs(86_400), 60, 10).await?,
        vec![],
        "a failed job never runs again"
    );
    assert_not_found(s.fail_job(id, "w2", "again", None, T0 + secs(302)).await);
    let failed: Vec<_> = s
        .list_jobs(None, Some(JobStatus::Failed), 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(failed, vec![id]);
    assert_eq!(
        s.list_jobs(None, Some(JobStatus::Queued), 10).await?,
        vec![]
    );
    Ok(())
}

async fn ten_workers_claim_a_hundred_jobs_each_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const JOBS: usize = 100;
    const WORKERS: usize = 10;
    let mut enqueued = HashSet::new();
    for _ in 0..JOBS {
        enqueued.insert(s.enqueue_job(&new_job(None, T0)).await?);
    }

    let start = Arc::new(Barrier::new(WORKERS));
    let workers = (0..WORKERS).map(|n| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            let worker = format!("worker-{n}");
            start.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = s.claim_jobs(&worker, T0, 300, 5).await?;
                assert!(batch.len() <= 5, "{worker} got {} jobs", batch.len());
                if batch.is_empty() {
                    return anyhow::Ok((worker, mine));
                }
                mine.extend(batch.into_iter().map(|job| job.id));
            }
        })
    });
    let mut claimed = HashSet::new();
    let mut total = 0;
    for result in join_all(workers).await {
        let (worker, mine) = result??;
        total += mine.len();
        for id in mine {
            let job = s.job(id).await?;
            assert_eq!(
                (job.locked_by.as_deref(), job.attempts),
                (Some(worker.as_str()), 1),
                "job {id}"
            );
            claimed.insert(id);
        }
    }
    assert_eq!(total, JOBS, "no job was claimed twice");
    assert_eq!(claimed, enqueued, "every job was claimed");
    assert_eq!(
        s.list_jobs(None, Some(JobStatus::Queued), 1000).await?,
        vec![]
    );
    Ok(())
}
