//! Background jobs on PostgreSQL: claims lock the rows they take with `FOR UPDATE SKIP LOCKED`,
//! so workers on several nodes claim concurrently without waiting for or doubling each other.

use crate::{PgStorage, corrupt, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{JobId, TenantId};
use madoguchi_storage::{
    Job, JobStatus, JobStore, NewJob, OutboxEvent, StorageError, StorageResult, now_utc,
};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn job_from_row(row: &PgRow) -> StorageResult<Job> {
    Ok(Job {
        id: JobId(get(row, "id")?),
        tenant_id: get::<Option<Uuid>>(row, "tenant_id")?.map(TenantId),
        kind: get(row, "kind")?,
        payload: get(row, "payload")?,
        status: JobStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("job status"))?,
        run_at: get(row, "run_at")?,
        attempts: get(row, "attempts")?,
        max_attempts: get(row, "max_attempts")?,
        lease_until: get(row, "lease_until")?,
        locked_by: get(row, "locked_by")?,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
        finished_at: get(row, "finished_at")?,
    })
}

/// Writes outbox events on `conn`, inside the transaction of the change they report, in one
/// statement. An event whose `dedupe_key` is taken in the tenant is skipped (the unique index
/// `jobs_dedupe` decides).
pub(crate) async fn write_outbox(
    conn: &mut PgConnection,
    tenant: TenantId,
    events: &[OutboxEvent],
    now: OffsetDateTime,
) -> StorageResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let arrays = OutboxArrays::of(events);
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at, dedupe_key)
         SELECT n.id, $1, n.kind, n.payload, 'queued', n.run_at, n.max_attempts, $2, n.dedupe_key
         FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::bigint[], $8::text[])
              AS n (id, kind, payload, run_at, max_attempts, dedupe_key)
         ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
    )
    .bind(tenant.0)
    .bind(now)
    .bind(arrays.ids)
    .bind(arrays.kinds)
    .bind(arrays.payloads)
    .bind(arrays.run_ats)
    .bind(arrays.max_attempts)
    .bind(arrays.dedupe_keys)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Outbox events as column arrays, for one `unnest` insert (also inside the booking statement).
pub(crate) struct OutboxArrays {
    pub ids: Vec<Uuid>,
    pub kinds: Vec<String>,
    pub payloads: Vec<serde_json::Value>,
    pub run_ats: Vec<OffsetDateTime>,
    pub max_attempts: Vec<i64>,
    pub dedupe_keys: Vec<String>,
}

impl OutboxArrays {
    pub(crate) fn of(events: &[OutboxEvent]) -> Self {
        Self {
            ids: events.iter().map(|_| JobId::new().0).collect(),
            kinds: events.iter().map(|e| e.kind.clone()).collect(),
            payloads: events.iter().map(|e| e.payload.clone()).collect(),
            run_ats: events.iter().map(|e| e.run_at).collect(),
            max_attempts: events.iter().map(|e| e.max_attempts.max(1)).collect(),
            dedupe_keys: events.iter().map(|e| e.dedupe_key.clone()).collect(),
        }
    }
}

#[async_trait]
impl JobStore for PgStorage {
    async fn enqueue_job_once(
        &self,
        new: &NewJob,
        dedupe_key: &str,
    ) -> StorageResult<Option<JobId>> {
        let id = JobId::new();
        let done = sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at, dedupe_key)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8)
             ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
        )
        .bind(id.0)
        .bind(new.tenant_id.map(|t| t.0))
        .bind(&new.kind)
        .bind(&new.payload)
        .bind(new.run_at)
        .bind(new.max_attempts.max(1))
        .bind(now_utc())
        .bind(dedupe_key)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok((done.rows_affected() == 1).then_some(id))
    }

    async fn enqueue_job(&self, new: &NewJob) -> StorageResult<JobId> {
        let id = JobId::new();
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7)",
        )
        .bind(id.0)
        .bind(new.tenant_id.map(|t| t.0))
        .bind(&new.kind)
        .bind(&new.payload)
        .bind(new.run_at)
        .bind(new.max_attempts.max(1))
        .bind(now_utc())
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
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let lease_until = now
            .checked_add(Duration::seconds(lease_s))
            .ok_or_else(|| StorageError::Other("job lease out of range".into()))?;
        // The subquery locks the due rows it picks and skips rows another worker has locked,
        // so concurrent claimers each get different jobs and nobody waits. A row another
        // worker claimed and committed meanwhile is re-checked against the WHERE and dropped.
        let rows = sqlx::query(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, lease_until = $2
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $3)
                 ORDER BY run_at
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn complete_job(
        &self,
        id: JobId,
        worker: &str,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', payload = '{}'::jsonb, finished_at = $1, lease_until = NULL, last_error = NULL
             WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        )
        .bind(now)
        .bind(id.0)
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
                status = CASE WHEN $1::timestamptz IS NULL THEN 'failed' ELSE 'queued' END,
                payload = CASE WHEN $1::timestamptz IS NULL THEN '{}'::jsonb ELSE payload END,
                run_at = coalesce($1, run_at),
                finished_at = CASE WHEN $1::timestamptz IS NULL THEN $2 END,
                last_error = $3, lease_until = NULL, locked_by = NULL
             WHERE id = $4 AND locked_by = $5 AND status = 'running'",
        )
        .bind(retry_at)
        .bind(now)
        .bind(error)
        .bind(id.0)
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
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id.0)
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
            "SELECT * FROM jobs WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR status = $2)
             ORDER BY created_at DESC LIMIT $3",
        )
        .bind(tenant.map(|t| t.0))
        .bind(status.map(JobStatus::as_str))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(job_from_row).collect()
    }
}
