//! The job worker: claims due jobs from the durable queue and runs them.
//!
//! Claims are leases in the store, so a worker that dies (even by SIGKILL)
//! leaves its jobs to be claimed again once the lease runs out; the sync
//! job itself is safe to repeat. A live worker renews the claim of each job
//! it runs every third of the lease, so a job that runs longer than the
//! lease (a long throttle wait) is not claimed by a second worker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, JobId};
use pobridge_store::{Job, JobOutcome};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::Instrument;

use crate::alerts::CHECK_ALERTS;
use crate::invoice_jobs::{POLL_INVOICES, SEND_INVOICE, SWEEP_INVOICES};
use crate::retention::REMOVE_OLD_DOCUMENTS;
use crate::sync::SYNC_ORDER;
use crate::Engine;

/// Job kind that pulls an account's Brightpearl reference data.
pub const REFRESH_REFERENCE: &str = "refresh_reference";

/// Runs queued jobs until its shutdown signal fires.
#[derive(Clone)]
pub struct Worker {
    engine: Engine,
    id: String,
    wake: Arc<Notify>,
    idle_poll: Duration,
}

impl Worker {
    /// `id` names this worker in job claims; use one per process.
    pub fn new(engine: Engine, id: impl Into<String>) -> Self {
        Self {
            wake: engine.wake.clone(),
            engine,
            id: id.into(),
            idle_poll: Duration::from_millis(500),
        }
    }

    /// Claims one batch of due jobs, runs them concurrently and returns how
    /// many ran.
    pub async fn run_once(&self) -> usize {
        let now = self.engine.clock.now();
        let config = &self.engine.config;
        let jobs = match self
            .engine
            .store
            .claim_jobs(&self.id, now, config.job_lease, config.job_batch)
            .await
        {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(worker = %self.id, error = %error, "could not claim jobs");
                return 0;
            }
        };
        let groups = self.group_sync_jobs(jobs, now).await;
        let count = groups.iter().map(Vec::len).sum();
        let mut running = JoinSet::new();
        for mut group in groups {
            let worker = self.clone();
            if group.len() == 1 {
                let job = group.remove(0);
                running.spawn(async move { worker.run_job(job).await });
            } else {
                running.spawn(async move { worker.run_sync_batch(group).await });
            }
        }
        while running.join_next().await.is_some() {}
        count
    }

    /// Groups claimed jobs into what runs together: the sync jobs of one
    /// account, topped up with more of that account's due sync jobs, in
    /// groups of at most `sales_order_batch`; every other job on its own.
    async fn group_sync_jobs(&self, jobs: Vec<Job>, now: DateTime<Utc>) -> Vec<Vec<Job>> {
        let batch = self.engine.config.sales_order_batch.max(1);
        if batch == 1 {
            return jobs.into_iter().map(|job| vec![job]).collect();
        }
        let mut groups = Vec::new();
        let mut syncs: BTreeMap<AccountId, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            if job.kind == SYNC_ORDER {
                syncs.entry(job.account).or_default().push(job);
            } else {
                groups.push(vec![job]);
            }
        }
        for (account, mut jobs) in syncs {
            if jobs.len() < batch {
                let more = self
                    .claim_more_syncs(account, batch - jobs.len(), now)
                    .await;
                jobs.extend(more);
            }
            while jobs.len() > batch {
                let rest = jobs.split_off(batch);
                groups.push(jobs);
                jobs = rest;
            }
            groups.push(jobs);
        }
        groups
    }

    /// Claims up to `limit` more due sync jobs of `account`.
    async fn claim_more_syncs(
        &self,
        account: AccountId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Vec<Job> {
        let lease = self.engine.config.job_lease;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = self
            .engine
            .store
            .claim_account_jobs(&self.id, account, SYNC_ORDER, now, lease, limit)
            .await;
        claimed.unwrap_or_else(|error| {
            tracing::error!(worker = %self.id, tenant.id = %account, error = %error, "could not claim more sync jobs for a batch");
            Vec::new()
        })
    }

    /// Runs sync jobs of one account together and records each outcome.
    async fn run_sync_batch(&self, jobs: Vec<Job>) {
        let account = jobs.first().map(|job| job.account.to_string());
        let span = tracing::info_span!(
            "job_batch",
            job.kind = SYNC_ORDER,
            tenant.id = account,
            jobs = jobs.len()
        );
        let running = async {
            let renewals: Vec<_> = jobs.iter().map(|job| self.renew_claim(job.id)).collect();
            let started = std::time::Instant::now();
            let engine = self.engine.clone();
            let batch = jobs.clone();
            let outcomes = isolated(async move { engine.run_sync_batch(&batch).await }).await;
            drop(renewals);
            let outcomes = match outcomes {
                Ok(outcomes) => outcomes,
                Err(Stopped::Cancelled) => return,
                Err(Stopped::Panicked(message)) => {
                    // Which job caused it is unknown, so each runs alone and
                    // only that one fails. A sync job is safe to repeat.
                    tracing::error!(panic = %message, "a batch of sync jobs stopped on an internal error, so each runs alone");
                    for job in jobs {
                        self.run_job(job).await;
                    }
                    return;
                }
            };
            let elapsed = started.elapsed();
            for (job, outcome) in jobs.iter().zip(outcomes) {
                let outcome = self.cap_retry_delay(outcome);
                let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, tenant.id = %job.account, attempt = job.attempts + 1);
                self.record_outcome(job, &outcome, elapsed)
                    .instrument(span)
                    .await;
            }
        };
        running.instrument(span).await;
    }

    /// Runs until `shutdown` becomes true, waking early when new work is queued.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "job worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if self.run_once().await > 0 {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    async fn run_job(&self, job: Job) {
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, tenant.id = %job.account, attempt = job.attempts + 1);
        // A guard from `span.enter()` held across an await would mark other
        // tasks on this thread as inside the span, so the span wraps the future.
        self.run_claimed_job(job).instrument(span).await;
    }

    async fn run_claimed_job(&self, job: Job) {
        let renewal = self.renew_claim(job.id);
        let started = std::time::Instant::now();
        let engine = self.engine.clone();
        let claimed = job.clone();
        let outcome = match isolated(async move { run_by_kind(&engine, &claimed).await }).await {
            Ok(outcome) => outcome,
            Err(Stopped::Cancelled) => return,
            Err(Stopped::Panicked(message)) => {
                tracing::error!(panic = %message, "job stopped on an internal error");
                JobOutcome::Failed {
                    error: format!(
                        "pobridge stopped this job on an internal error ({message}); \
                         the server log has the details. Run it again once the cause is fixed"
                    ),
                }
            }
        };
        drop(renewal);
        let outcome = self.cap_retry_delay(outcome);

        self.record_outcome(&job, &outcome, started.elapsed()).await;
    }

    /// Logs and counts a finished job and stores its outcome.
    async fn record_outcome(&self, job: &Job, outcome: &JobOutcome, elapsed: Duration) {
        record_job_metrics(&job.kind, outcome, elapsed);
        let duration_ms = elapsed.as_millis() as u64;
        match outcome {
            JobOutcome::Done => tracing::info!(duration_ms, "job done"),
            JobOutcome::Retry { run_at, error, .. } => {
                tracing::warn!(duration_ms, %run_at, %error, "job will retry")
            }
            JobOutcome::Wait { reason } => {
                tracing::info!(duration_ms, %reason, "job waits for a person")
            }
            JobOutcome::Failed { error } => tracing::warn!(duration_ms, %error, "job failed"),
        }
        let now = self.engine.clock.now();
        match self
            .engine
            .store
            .finish_job(job.id, &self.id, outcome, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("job claim had expired; another worker owns it now"),
            Err(error) => tracing::error!(error = %error, "could not record the job outcome"),
        }
    }

    /// Brings a retry's `run_at` forward to at most the configured
    /// `max_retry_delay` from now.
    fn cap_retry_delay(&self, outcome: JobOutcome) -> JobOutcome {
        let latest = self
            .engine
            .clock
            .now()
            .checked_add_signed(self.engine.config.max_retry_delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        retry_no_later_than(outcome, latest)
    }

    /// Starts renewing this worker's claim on `job` every third of the
    /// lease, until the returned guard drops. Returns `None`, renewing
    /// nothing, when the configured lease is negative or under 3 ns.
    fn renew_claim(&self, job: JobId) -> Option<ClaimRenewal> {
        let lease = self.engine.config.job_lease;
        let period = lease.to_std().ok()? / 3;
        if period.is_zero() {
            return None;
        }
        let engine = self.engine.clone();
        let worker = self.id.clone();
        let renewing = async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let until = engine
                    .clock
                    .now()
                    .checked_add_signed(lease)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                match engine.store.extend_claim(job, &worker, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            "job claim was lost while the job ran; another worker may run it too"
                        );
                        return;
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "could not extend the job claim; trying again at the next renewal")
                    }
                }
            }
        };
        Some(ClaimRenewal(tokio::spawn(renewing.in_current_span())))
    }
}

/// Returns `outcome` with a retry's `run_at` moved back to `latest` when it
/// is later; other outcomes are returned unchanged.
fn retry_no_later_than(outcome: JobOutcome, latest: DateTime<Utc>) -> JobOutcome {
    match outcome {
        JobOutcome::Retry {
            run_at,
            error,
            counts,
        } => JobOutcome::Retry {
            run_at: run_at.min(latest),
            error,
            counts,
        },
        other => other,
    }
}

/// Counts a finished run by job kind and outcome and records its duration.
fn record_job_metrics(kind: &str, outcome: &JobOutcome, elapsed: Duration) {
    let labels = [
        ("kind", kind_label(kind)),
        ("outcome", outcome_label(outcome)),
    ];
    metrics::counter!("pobridge_jobs_total", &labels).increment(1);
    metrics::histogram!("pobridge_job_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// Returns the job kind as a metric label. A kind this worker does not
/// know becomes `unknown`, so a stray row cannot add label values.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        SYNC_ORDER => SYNC_ORDER,
        REFRESH_REFERENCE => REFRESH_REFERENCE,
        POLL_INVOICES => POLL_INVOICES,
        SWEEP_INVOICES => SWEEP_INVOICES,
        SEND_INVOICE => SEND_INVOICE,
        CHECK_ALERTS => CHECK_ALERTS,
        REMOVE_OLD_DOCUMENTS => REMOVE_OLD_DOCUMENTS,
        _ => "unknown",
    }
}

fn outcome_label(outcome: &JobOutcome) -> &'static str {
    match outcome {
        JobOutcome::Done => "done",
        JobOutcome::Retry { .. } => "retry",
        JobOutcome::Wait { .. } => "wait",
        JobOutcome::Failed { .. } => "failed",
    }
}

/// Runs `job` with the engine's handler for its kind.
async fn run_by_kind(engine: &Engine, job: &Job) -> JobOutcome {
    match job.kind.as_str() {
        SYNC_ORDER => engine.run_sync_job(job).await,
        REFRESH_REFERENCE => engine.run_refresh_job(job).await,
        POLL_INVOICES => engine.run_poll_job(job).await,
        SWEEP_INVOICES => engine.run_sweep_job(job).await,
        SEND_INVOICE => engine.run_send_job(job).await,
        CHECK_ALERTS => engine.run_alert_job(job).await,
        REMOVE_OLD_DOCUMENTS => engine.run_retention_job(job).await,
        other => JobOutcome::Failed {
            error: format!("unknown job kind {other:?}"),
        },
    }
}

/// Runs `work` as a task of its own, so that a panic in it ends that task
/// alone, and returns the panic's message when it panicked. A job that
/// panicked in the worker's own task would stay `running` and be claimed
/// again each time its lease ran out.
async fn isolated<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, Stopped> {
    match tokio::spawn(work.in_current_span()).await {
        Ok(value) => Ok(value),
        Err(error) if error.is_panic() => {
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(Stopped::Panicked(message))
        }
        Err(_) => Err(Stopped::Cancelled),
    }
}

/// The end of an [`isolated`] task that gave no result.
#[derive(Debug, PartialEq)]
enum Stopped {
    Panicked(String),
    /// The runtime is shutting down. The job's outcome is not recorded, so
    /// its claim runs out and another worker runs it, as after a crash.
    Cancelled,
}

/// The task that renews a running job's claim; dropping it stops the renewal.
struct ClaimRenewal(JoinHandle<()>);

impl Drop for ClaimRenewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn isolated_task_returns_panic_message() {
        assert_eq!(isolated(async { 7 }).await, Ok(7));
        let text = isolated(async { panic!("Addition overflowed") }).await;
        assert_eq!(
            text,
            Err::<(), _>(Stopped::Panicked("Addition overflowed".to_owned()))
        );
        let formatted = isolated(async { panic!("row {} overflowed", 3) }).await;
        assert_eq!(
            formatted,
            Err::<(), _>(Stopped::Panicked("row 3 overflowed".to_owned()))
        );
    }

    #[test]
    fn unknown_kind_gets_one_label() {
        assert_eq!(kind_label(SEND_INVOICE), "send_invoice");
        assert_eq!(kind_label("acme-typo"), "unknown");
    }

    #[test]
    fn retry_delay_is_capped() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let latest = now + chrono::Duration::seconds(2);
        let retry = |run_at| JobOutcome::Retry {
            run_at,
            error: "HTTP 500".to_owned(),
            counts: true,
        };

        let capped = retry_no_later_than(retry(now + chrono::Duration::hours(1)), latest);
        assert_eq!(capped, retry(latest));
        let sooner = retry_no_later_than(retry(now), latest);
        assert_eq!(sooner, retry(now));
        assert_eq!(
            retry_no_later_than(JobOutcome::Done, latest),
            JobOutcome::Done
        );
    }

    #[test]
    fn outcome_labels_name_each_outcome() {
        let wait = JobOutcome::Wait {
            reason: "awaiting_mapping".to_owned(),
        };
        let retry = JobOutcome::Retry {
            run_at: DateTime::<Utc>::MIN_UTC,
            error: "timed out".to_owned(),
            counts: true,
        };
        let failed = JobOutcome::Failed {
            error: "rejected".to_owned(),
        };
        assert_eq!(outcome_label(&JobOutcome::Done), "done");
        assert_eq!(outcome_label(&retry), "retry");
        assert_eq!(outcome_label(&wait), "wait");
        assert_eq!(outcome_label(&failed), "failed");
    }
}
