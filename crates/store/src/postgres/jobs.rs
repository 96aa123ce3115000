//! The durable job queue, shared by every process on the database.
//!
//! At most one unfinished (queued, running or waiting) job exists per
//! account and key, which the partial unique index `jobs_unfinished_key`
//! enforces. A job enqueued again while it runs is not duplicated: the
//! earliest requested time is kept in `rerun_at`, and finishing the run
//! queues the job again for that time, so a change that arrived during the
//! run is not lost.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, JobId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::codec::{encode_enum, encode_json, enum_column, json_column, missing_on_foreign_key};
use super::PostgresStore;
use crate::job_finish::{plan_finish, FirstFailure};
use crate::{Job, JobOutcome, NewJob, StoreError, StoreResult};

const JOB_COLUMNS: &str = "jobs.id, jobs.account_id, jobs.kind, jobs.job_key, \
    jobs.payload::text AS payload, jobs.status, jobs.attempts, jobs.run_at, jobs.claimed_by, \
    jobs.claim_expires_at, jobs.last_error, jobs.first_failure_at, jobs.created_at";

/// How often an enqueue tries again after a concurrent enqueue of the same
/// key inserted first and that job then finished before it could be merged.
const ENQUEUE_ATTEMPTS: usize = 3;

pub(super) async fn enqueue_job(store: &PostgresStore, job: &NewJob) -> StoreResult<JobId> {
    let mut tx = store.begin().await?;
    // NOTE: the trait passes no current time, so a job's created_at is the
    // run_at of its first enqueue.
    let id = enqueue_in(&mut tx, job, job.run_at).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds the job, or merges it into the unfinished job with the same account
/// and key: a queued or waiting job becomes queued for the earlier of the two
/// times, and a running job is marked to run again.
pub(super) async fn enqueue_in(
    conn: &mut PgConnection,
    job: &NewJob,
    created_at: DateTime<Utc>,
) -> StoreResult<JobId> {
    for _ in 0..ENQUEUE_ATTEMPTS {
        if let Some(id) = merge_into_unfinished(conn, job).await? {
            return Ok(id);
        }
        if let Some(id) = insert_unless_unfinished(conn, job, created_at).await? {
            return Ok(id);
        }
    }
    Err(StoreError::Conflict {
        entity: "job",
        key: job.key.clone(),
        reason: "kept changing while it was enqueued",
    })
}

/// Merges the new request into the unfinished job with the same key, in one
/// statement that locks the job's row. `least` ignores NULL, so a first
/// rerun request sets `rerun_at`.
async fn merge_into_unfinished(
    conn: &mut PgConnection,
    job: &NewJob,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE jobs SET \
             status = CASE WHEN status = 'running' THEN status ELSE 'queued' END, \
             run_at = CASE WHEN status = 'running' THEN run_at ELSE least(run_at, $3) END, \
             rerun_at = CASE WHEN status = 'running' THEN least(rerun_at, $3) ELSE rerun_at END \
         WHERE account_id = $1 AND job_key = $2 AND status IN ('queued', 'running', 'waiting') \
         RETURNING id",
    )
    .bind(job.account.0)
    .bind(&job.key)
    .bind(job.run_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.map(JobId))
}

/// Inserts the job unless an unfinished job with its key exists. An insert
/// that races another waits for it to commit and then inserts nothing.
async fn insert_unless_unfinished(
    conn: &mut PgConnection,
    job: &NewJob,
    created_at: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (account_id, kind, job_key, payload, status, run_at, created_at) \
         VALUES ($1, $2, $3, $4::jsonb, 'queued', $5, $6) \
         ON CONFLICT (account_id, job_key) WHERE status IN ('queued', 'running', 'waiting') \
             DO NOTHING \
         RETURNING id",
    )
    .bind(job.account.0)
    .bind(&job.kind)
    .bind(&job.key)
    .bind(encode_json(&job.payload))
    .bind(job.run_at)
    .bind(created_at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", job.account))?;
    Ok(id.map(JobId))
}

/// Claims due jobs. `FOR UPDATE SKIP LOCKED` passes over jobs that another
/// transaction has locked, and PostgreSQL checks each row it locks again
/// against the WHERE clause, so a job another worker claimed and committed
/// in the meantime is not taken. Workers in several processes therefore
/// never claim one job twice.
pub(super) async fn claim_jobs(
    store: &PostgresStore,
    worker: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    claim(store, worker, None, now, lease, limit).await
}

pub(super) async fn claim_account_jobs(
    store: &PostgresStore,
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
    store: &PostgresStore,
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
        "AND account_id = $5 AND kind = $6"
    } else {
        ""
    };
    // MATERIALIZED makes the locking SELECT run once, before the update.
    let sql = format!(
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM jobs \
             WHERE ((status = 'queued' AND run_at <= $3) \
                 OR (status = 'running' AND claim_expires_at <= $3)) {filter} \
             ORDER BY run_at, id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
         UPDATE jobs SET status = 'running', claimed_by = $1, claim_expires_at = $2 \
         FROM due WHERE jobs.id = due.id \
         RETURNING {JOB_COLUMNS}"
    );
    let mut query = sqlx::query(&sql)
        .bind(worker)
        .bind(expires_at)
        .bind(now)
        .bind(limit);
    if let Some((account, kind)) = only {
        query = query.bind(account.0).bind(kind);
    }
    let rows = query.fetch_all(&store.pool).await?;

    let mut jobs = rows
        .into_iter()
        .map(job_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING gives rows in no particular order.
    jobs.sort_by_key(|job| (job.run_at, job.id));
    Ok(jobs)
}

pub(super) async fn extend_claim(
    store: &PostgresStore,
    job: JobId,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    // One statement, so the ownership check and the update are atomic.
    let result = sqlx::query(
        "UPDATE jobs SET claim_expires_at = $1 \
         WHERE id = $2 AND status = 'running' AND claimed_by = $3",
    )
    .bind(until)
    .bind(job.0)
    .bind(worker)
    .execute(&store.pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends the claim in one transaction that holds the job's row lock from
/// the ownership check to the update, so no claim or enqueue comes between.
pub(super) async fn finish_job(
    store: &PostgresStore,
    job: JobId,
    worker: &str,
    outcome: &JobOutcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    let claim = sqlx::query(
        "SELECT first_failure_at, rerun_at FROM jobs \
         WHERE id = $1 AND status = 'running' AND claimed_by = $2 \
         FOR UPDATE",
    )
    .bind(job.0)
    .bind(worker)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(claim) = claim else {
        return Ok(false);
    };
    let first_failure_at: Option<DateTime<Utc>> = claim.try_get("first_failure_at")?;
    let rerun_at: Option<DateTime<Utc>> = claim.try_get("rerun_at")?;

    let finish = plan_finish(outcome, rerun_at);
    let first_failure_at = match finish.first_failure {
        FirstFailure::Keep => first_failure_at,
        FirstFailure::Clear => None,
        FirstFailure::SetIfUnset => first_failure_at.or(Some(now)),
    };
    sqlx::query(
        "UPDATE jobs SET status = $1, run_at = coalesce($2, run_at), \
             last_error = coalesce($3, last_error), attempts = attempts + $4, \
             first_failure_at = $5, claimed_by = NULL, claim_expires_at = NULL, \
             rerun_at = NULL \
         WHERE id = $6",
    )
    .bind(encode_enum(&finish.status))
    .bind(finish.run_at)
    .bind(finish.last_error)
    .bind(i32::from(finish.counts_attempt))
    .bind(first_failure_at)
    .bind(job.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn release_waiting_jobs(
    store: &PostgresStore,
    account: AccountId,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = $1 \
         WHERE account_id = $2 AND status = 'waiting'",
    )
    .bind(now)
    .bind(account.0)
    .execute(&store.pool)
    .await?;
    Ok(result.rows_affected())
}

/// Lists the account's jobs, oldest first.
pub(super) async fn list_jobs(store: &PostgresStore, account: AccountId) -> StoreResult<Vec<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE account_id = $1 ORDER BY id");
    sqlx::query(&sql)
        .bind(account.0)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(job_from_row)
        .collect()
}

pub(super) async fn pending_job_count(store: &PostgresStore) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running', 'waiting')",
    )
    .fetch_one(&store.pool)
    .await?)
}

fn job_from_row(row: PgRow) -> StoreResult<Job> {
    Ok(Job {
        id: JobId(row.try_get("id")?),
        account: AccountId(row.try_get("account_id")?),
        kind: row.try_get("kind")?,
        key: row.try_get("job_key")?,
        payload: json_column(&row, "payload", "job")?,
        status: enum_column(&row, "status", "job")?,
        attempts: row.try_get("attempts")?,
        run_at: row.try_get("run_at")?,
        claimed_by: row.try_get("claimed_by")?,
        claim_expires_at: row.try_get("claim_expires_at")?,
        last_error: row.try_get("last_error")?,
        first_failure_at: row.try_get("first_failure_at")?,
        created_at: row.try_get("created_at")?,
    })
}
