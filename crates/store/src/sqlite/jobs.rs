//! The durable job queue.
//!
//! At most one unfinished (queued, running or waiting) job exists per
//! account and key. A job enqueued again while it runs is not duplicated:
//! the earliest requested time is kept in `rerun_at`, and finishing the run
//! queues the job again for that time, so a change that arrived during the
//! run is not lost.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, JobId};
use sqlx::{Row, SqliteConnection};

use super::codec::{
    decode_enum, decode_json, decode_optional_time, decode_time, encode_json, encode_time,
    missing_on_foreign_key,
};
use super::{SqliteQuery, SqliteStore};
use crate::job_finish::{plan_finish, Finish, FirstFailure};
use crate::{Job, JobOutcome, NewJob, StoreResult};

const JOB_COLUMNS: &str = "id, account_id, kind, job_key, payload, status, attempts, run_at, \
    claimed_by, claim_expires_at, last_error, first_failure_at, created_at";

pub(super) async fn enqueue_job(store: &SqliteStore, job: &NewJob) -> StoreResult<JobId> {
    let mut tx = store.begin_write().await?;
    // NOTE: the trait passes no current time, so a job's created_at is the
    // run_at of its first enqueue.
    let id = enqueue_in(&mut tx, job, job.run_at).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a job, or merges it into the unfinished job with the same account
/// and key (see [`enqueue_in`]), and returns the job's id. Its six
/// parameters are bound by [`bind_job`].
pub(super) const ENQUEUE_JOB: &str = "INSERT INTO jobs (account_id, kind, job_key, payload, \
         status, run_at, created_at) \
     VALUES (?, ?, ?, ?, 'queued', ?, ?) \
     ON CONFLICT (account_id, job_key) WHERE status IN ('queued', 'running', 'waiting') \
     DO UPDATE SET \
         rerun_at = CASE WHEN status = 'running' \
             THEN min(coalesce(rerun_at, excluded.run_at), excluded.run_at) \
             ELSE rerun_at END, \
         run_at = CASE WHEN status = 'running' THEN run_at \
             ELSE min(run_at, excluded.run_at) END, \
         status = CASE WHEN status = 'running' THEN status ELSE 'queued' END \
     RETURNING id";

/// Binds the parameters of [`ENQUEUE_JOB`], after any bound before.
pub(super) fn bind_job<'q>(
    query: SqliteQuery<'q>,
    job: &'q NewJob,
    created_at: DateTime<Utc>,
) -> SqliteQuery<'q> {
    query
        .bind(job.account.0)
        .bind(&job.kind)
        .bind(&job.key)
        .bind(encode_json(&job.payload))
        .bind(encode_time(job.run_at))
        .bind(encode_time(created_at))
}

/// Adds the job, or merges it into the unfinished job with the same account
/// and key: a queued or waiting job becomes queued for the earlier of the two
/// times, and a running job is marked to run again.
///
/// One statement: the unfinished job with the key, when there is one, is the
/// conflict, and each column's new value depends on whether it is running.
/// In an upsert's `SET`, a bare column is the stored row's value.
pub(super) async fn enqueue_in(
    conn: &mut SqliteConnection,
    job: &NewJob,
    created_at: DateTime<Utc>,
) -> StoreResult<JobId> {
    let row = bind_job(sqlx::query(ENQUEUE_JOB), job, created_at)
        .fetch_one(conn)
        .await
        .map_err(|err| missing_on_foreign_key(err, "account", job.account))?;
    Ok(JobId(row.try_get(0)?))
}

/// Claims due jobs in one write transaction, so two processes on the same
/// file never claim the same job.
pub(super) async fn claim_jobs(
    store: &SqliteStore,
    worker: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    claim(store, worker, None, now, lease, limit).await
}

pub(super) async fn claim_account_jobs(
    store: &SqliteStore,
    worker: &str,
    account: AccountId,
    kind: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    claim(store, worker, Some((account, kind)), now, lease, limit).await
}

/// Claims due jobs, of one account and kind when `only` says so.
async fn claim(
    store: &SqliteStore,
    worker: &str,
    only: Option<(AccountId, &str)>,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    // An unrepresentable expiry (a lease of centuries) becomes the maximum time.
    let expires_at = now
        .checked_add_signed(lease)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let filter = if only.is_some() {
        "AND account_id = ?5 AND kind = ?6"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', claimed_by = ?1, claim_expires_at = ?2 \
         WHERE id IN ( \
             SELECT id FROM jobs \
             WHERE ((status = 'queued' AND run_at <= ?3) \
                 OR (status = 'running' AND claim_expires_at <= ?3)) {filter} \
             ORDER BY run_at, id LIMIT ?4) \
         RETURNING {JOB_COLUMNS}"
    );

    let mut tx = store.begin_write().await?;
    let mut query = sqlx::query_as::<_, JobRow>(&sql)
        .bind(worker)
        .bind(encode_time(expires_at))
        .bind(encode_time(now))
        .bind(limit);
    if let Some((account, kind)) = only {
        query = query.bind(account.0).bind(kind);
    }
    let rows = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let mut jobs = rows
        .into_iter()
        .map(JobRow::into_job)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING gives rows in no particular order.
    jobs.sort_by_key(|job| (job.run_at, job.id));
    Ok(jobs)
}

pub(super) async fn extend_claim(
    store: &SqliteStore,
    job: JobId,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    // One statement, so the ownership check and the update are atomic.
    let result = sqlx::query(
        "UPDATE jobs SET claim_expires_at = ? \
         WHERE id = ? AND status = 'running' AND claimed_by = ?",
    )
    .bind(encode_time(until))
    .bind(job.0)
    .bind(worker)
    .execute(&store.writer)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn finish_job(
    store: &SqliteStore,
    job: JobId,
    worker: &str,
    outcome: &JobOutcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = store.begin_write().await?;
    let claim: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT status, claimed_by, rerun_at FROM jobs WHERE id = ?")
            .bind(job.0)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, claimed_by, rerun_at)) = claim else {
        return Ok(false);
    };
    if status != "running" || claimed_by.as_deref() != Some(worker) {
        return Ok(false);
    }

    let finish = plan_finish(outcome, decode_optional_time("job", rerun_at)?);
    write_finish(&mut tx, job, &finish, now).await?;
    tx.commit().await?;
    Ok(true)
}

async fn write_finish(
    conn: &mut SqliteConnection,
    job: JobId,
    finish: &Finish<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let first_failure = match finish.first_failure {
        FirstFailure::Keep => "keep",
        FirstFailure::Clear => "clear",
        FirstFailure::SetIfUnset => "set",
    };
    sqlx::query(
        "UPDATE jobs SET status = ?1, run_at = coalesce(?2, run_at), \
             last_error = coalesce(?3, last_error), attempts = attempts + ?4, \
             first_failure_at = CASE ?5 WHEN 'clear' THEN NULL \
                 WHEN 'set' THEN coalesce(first_failure_at, ?6) \
                 ELSE first_failure_at END, \
             claimed_by = NULL, claim_expires_at = NULL, rerun_at = NULL \
         WHERE id = ?7",
    )
    .bind(super::codec::encode_enum(&finish.status))
    .bind(finish.run_at.map(encode_time))
    .bind(finish.last_error)
    .bind(i32::from(finish.counts_attempt))
    .bind(first_failure)
    .bind(encode_time(now))
    .bind(job.0)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn release_waiting_jobs(
    store: &SqliteStore,
    account: AccountId,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = ? WHERE account_id = ? AND status = 'waiting'",
    )
    .bind(encode_time(now))
    .bind(account.0)
    .execute(&store.writer)
    .await?;
    Ok(result.rows_affected())
}

/// Lists the account's jobs, oldest first.
pub(super) async fn list_jobs(store: &SqliteStore, account: AccountId) -> StoreResult<Vec<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE account_id = ? ORDER BY id");
    sqlx::query_as::<_, JobRow>(&sql)
        .bind(account.0)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(JobRow::into_job)
        .collect()
}

pub(super) async fn pending_job_count(store: &SqliteStore) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running', 'waiting')",
    )
    .fetch_one(&store.reader)
    .await?)
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    account_id: i64,
    kind: String,
    job_key: String,
    payload: String,
    status: String,
    attempts: i32,
    run_at: String,
    claimed_by: Option<String>,
    claim_expires_at: Option<String>,
    last_error: Option<String>,
    first_failure_at: Option<String>,
    created_at: String,
}

impl JobRow {
    fn into_job(self) -> StoreResult<Job> {
        Ok(Job {
            id: JobId(self.id),
            account: AccountId(self.account_id),
            kind: self.kind,
            key: self.job_key,
            payload: decode_json("job", &self.payload)?,
            status: decode_enum("job", &self.status)?,
            attempts: self.attempts,
            run_at: decode_time("job", &self.run_at)?,
            claimed_by: self.claimed_by,
            claim_expires_at: decode_optional_time("job", self.claim_expires_at)?,
            last_error: self.last_error,
            first_failure_at: decode_optional_time("job", self.first_failure_at)?,
            created_at: decode_time("job", &self.created_at)?,
        })
    }
}
