//! Background jobs on SQLite: claims run under `BEGIN IMMEDIATE`, so two workers never claim
//! the same job.

use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_opt_uuid, get_string, get_uuid,
    map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{JobId, TenantId};
use madoguchi_storage::{
    Job, JobStatus, JobStore, NewJob, OutboxEvent, StorageError, StorageResult, now_utc,
    to_unix_micros,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

fn job_from_row(row: &SqliteRow) -> StorageResult<Job> {
    let payload: String = get_string(row, "payload")?;
    Ok(Job {
        id: JobId(get_uuid(row, "id")?),
        tenant_id: get_opt_uuid(row, "tenant_id")?.map(TenantId),
        kind: get_string(row, "kind")?,
        payload: serde_json::from_str(&payload).map_err(|_| corrupt("job payload"))?,
        status: JobStatus::parse(&get_string(row, "status")?)
            .ok_or_else(|| corrupt("job status"))?,
        run_at: get_instant(row, "run_at")?,
        attempts: row.try_get("attempts").map_err(map_err)?,
        max_attempts: row.try_get("max_attempts").map_err(map_err)?,
        lease_until: get_opt_instant(row, "lease_until")?,
        locked_by: row.try_get("locked_by").map_err(map_err)?,
        last_error: row.try_get("last_error").map_err(map_err)?,
        created_at: get_instant(row, "created_at")?,
        finished_at: get_opt_instant(row, "finished_at")?,
    })
}

/// Inserts a job unless its `dedupe_key` is taken in its tenant (the unique index `jobs_dedupe`
/// decides); returns the new job's id, `None` when skipped.
async fn insert_job(
    conn: &mut SqliteConnection,
    new: &NewJob,
    dedupe_key: Option<&str>,
    now: OffsetDateTime,
) -> StorageResult<Option<JobId>> {
    let id = JobId::new();
    let payload =
        serde_json::to_string(&new.payload).map_err(|e| StorageError::Other(e.to_string()))?;
    let done = sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at, dedupe_key)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)
         ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
    )
    .bind(uuid_text(id.0))
    .bind(new.tenant_id.map(|t| uuid_text(t.0)))
    .bind(&new.kind)
    .bind(payload)
    .bind(to_unix_micros(new.run_at))
    .bind(new.max_attempts.max(1))
    .bind(to_unix_micros(now))
    .bind(dedupe_key)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// Writes outbox events on `conn`, which is inside the transaction of the change they report.
pub(crate) async fn write_outbox(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    events: &[OutboxEvent],
    now: OffsetDateTime,
) -> StorageResult<()> {
    for event in events {
        insert_job(conn, &event.job(tenant), Some(&event.dedupe_key), now).await?;
    }
    Ok(())
}

#[async_trait]
impl JobStore for SqliteStorage {
    async fn enqueue_job_once(
        &self,
        new: &NewJob,
        dedupe_key: &str,
    ) -> StorageResult<Option<JobId>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_job(&mut conn, new, Some(dedupe_key), now_utc()).await
    }

    async fn enqueue_job(&self, new: &NewJob) -> StorageResult<JobId> {
        let id = JobId::new();
        let payload =
            serde_json::to_string(&new.payload).map_err(|e| StorageError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at)
             VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
        )
        .bind(uuid_text(id.0))
        .bind(new.tenant_id.map(|t| uuid_text(t.0)))
        .bind(&new.kind)
        .bind(payload)
        .bind(to_unix_micros(new.run_at))
        .bind(new.max_attempts.max(1))
        .bind(to_unix_micros(now_utc()))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(id)
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_s: i64,
        limit: i64,
    ) -> StorageResult<Vec<Job>> {
        // SQLite reads a negative LIMIT as "no limit"; claiming every job is never meant.
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let now_us = to_unix_micros(now);
        let mut tx = self.begin_immediate().await?;
        let rows = sqlx::query(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ?1, lease_until = ?2
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE (status = 'queued' AND run_at <= ?3) OR (status = 'running' AND lease_until < ?3)
                 ORDER BY run_at LIMIT ?4)
             RETURNING *",
        )
        .bind(worker)
        .bind(now_us + lease_s * 1_000_000)
        .bind(now_us)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn complete_job(
        &self,
        id: JobId,
        worker: &str,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', payload = '{}', finished_at = ?, lease_until = NULL, last_error = NULL
             WHERE id = ? AND locked_by = ? AND status = 'running'",
        )
        .bind(to_unix_micros(now))
        .bind(uuid_text(id.0))
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StorageError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET
                status = CASE WHEN ?1 IS NULL THEN 'failed' ELSE 'queued' END,
                payload = CASE WHEN ?1 IS NULL THEN '{}' ELSE payload END,
                run_at = coalesce(?1, run_at),
                finished_at = CASE WHEN ?1 IS NULL THEN ?2 ELSE NULL END,
                last_error = ?3, lease_until = NULL, locked_by = NULL
             WHERE id = ?4 AND locked_by = ?5 AND status = 'running'",
        )
        .bind(retry_at.map(to_unix_micros))
        .bind(to_unix_micros(now))
        .bind(error)
        .bind(uuid_text(id.0))
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StorageError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn job(&self, id: JobId) -> StorageResult<Job> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(uuid_text(id.0))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        job_from_row(&row)
    }

    async fn list_jobs(
        &self,
        tenant: Option<TenantId>,
        status: Option<JobStatus>,
        limit: i64,
    ) -> StorageResult<Vec<Job>> {
        let rows = sqlx::query(
            "SELECT * FROM jobs WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY created_at DESC LIMIT ?3",
        )
        .bind(tenant.map(|t| uuid_text(t.0)))
        .bind(status.map(JobStatus::as_str))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(job_from_row).collect()
    }
}
