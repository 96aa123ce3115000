//! Keeping an account's poll and sweep queued. Each run queues the next
//! one before it starts, which merges into the running job as a rerun. So
//! an account has one poll job and one sweep job, and nothing sleeps,
//! because the worker runs each when it is due.

use chrono::{DateTime, Duration, Utc};
use pobridge_core::AccountId;
use pobridge_store::{Job, JobOutcome, NewJob, StoreError};

use crate::errors::{backoff, classify, FailureClass};
use crate::invoice_jobs::{poll_job, sweep_job};
use crate::invoice_poll::PollSummary;
use crate::sync::SyncError;
use crate::Engine;

/// One of the two searches a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    Poll,
    Sweep,
}

impl Engine {
    /// Queues an incremental poll of the account now and a sweep after the
    /// account's sweep interval. A poll or sweep already queued for an
    /// earlier time keeps that time.
    pub async fn schedule_invoicing(&self, account: AccountId) -> Result<(), StoreError> {
        let settings = self.store.account(account).await?.settings;
        let now = self.clock.now();
        let sweep_at = now + Duration::hours(i64::from(settings.invoice_sweep_hours));
        self.store.enqueue_job(&poll_job(account, now)).await?;
        self.store
            .enqueue_job(&sweep_job(account, sweep_at))
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Schedules invoicing for every account connected to Brightpearl, as
    /// [`Engine::schedule_invoicing`] does, and returns how many there are.
    pub async fn schedule_connected_accounts(&self) -> Result<usize, StoreError> {
        let mut scheduled = 0;
        for account in self.store.list_accounts().await? {
            if self.store.connection(account.id).await?.is_none() {
                continue;
            }
            self.schedule_invoicing(account.id).await?;
            scheduled += 1;
        }
        Ok(scheduled)
    }

    /// Runs one claimed poll job, having queued the next poll.
    pub async fn run_poll_job(&self, job: &Job) -> JobOutcome {
        self.run_search_job(job, Search::Poll).await
    }

    /// Runs one claimed sweep job, having queued the next sweep.
    pub async fn run_sweep_job(&self, job: &Job) -> JobOutcome {
        self.run_search_job(job, Search::Sweep).await
    }

    async fn run_search_job(&self, job: &Job, search: Search) -> JobOutcome {
        let account = job.account;
        if let Err(error) = self.queue_next(account, search).await {
            // The job is not finished, so a failure here loses nothing that
            // the next scheduling (at start-up or on connecting) does not
            // restore.
            tracing::error!(tenant.id = %account, error = %error, "could not queue the next invoice search");
        }
        let result = match search {
            Search::Poll => self.poll_invoices(account).await,
            Search::Sweep => self.sweep_open_orders(account).await,
        };
        match result {
            Ok(summary) => {
                log_summary(account, search, &summary);
                JobOutcome::Done
            }
            Err(error) => self.search_failed(job, search, error),
        }
    }

    /// Returns the outcome of a failed poll or sweep. After a transient
    /// Brightpearl failure it runs again with the sync's backoff, or at its
    /// next scheduled time when that is sooner, so a sweep does not wait a
    /// whole `invoice_sweep_hours` after an outage. Other failures wait
    /// for the next scheduled run.
    fn search_failed(&self, job: &Job, search: Search, error: SyncError) -> JobOutcome {
        let account = job.account;
        let counts = match &error {
            SyncError::Brightpearl(error) => match classify(error) {
                FailureClass::Transient { counts } => Some(counts),
                _ => None,
            },
            SyncError::Store(_) => None,
        };
        let error = match error {
            SyncError::Store(error) => format!("storage error: {error}"),
            SyncError::Brightpearl(error) => format!("Brightpearl error: {error}"),
        };
        let Some(counts) = counts else {
            tracing::warn!(tenant.id = %account, search = ?search, %error, "invoice search failed; the next one runs as scheduled");
            return JobOutcome::Failed { error };
        };
        let run_at = self.clock.now() + backoff(job.attempts);
        tracing::warn!(tenant.id = %account, search = ?search, %error, %run_at, "invoice search failed; retrying");
        JobOutcome::Retry {
            run_at,
            error,
            counts,
        }
    }

    async fn queue_next(&self, account: AccountId, search: Search) -> Result<(), StoreError> {
        let settings = self.store.account(account).await?.settings;
        let now = self.clock.now();
        let job = next_job(account, search, now, &settings);
        self.store.enqueue_job(&job).await?;
        Ok(())
    }
}

/// Returns the next poll or sweep after one that starts at `now`. Intervals under
/// one minute are raised to one, so a zero setting cannot make a job that
/// runs again as soon as it ends.
fn next_job(
    account: AccountId,
    search: Search,
    now: DateTime<Utc>,
    settings: &pobridge_core::AccountSettings,
) -> NewJob {
    match search {
        Search::Poll => {
            let minutes = i64::from(settings.invoice_poll_minutes.max(1));
            poll_job(account, now + Duration::minutes(minutes))
        }
        Search::Sweep => {
            let hours = Duration::hours(i64::from(settings.invoice_sweep_hours));
            sweep_job(account, now + hours.max(Duration::minutes(1)))
        }
    }
}

fn log_summary(account: AccountId, search: Search, summary: &PollSummary) {
    tracing::info!(
        tenant.id = %account,
        search = ?search,
        linked = summary.linked.len(),
        checked = summary.checked,
        newly_invoiced = summary.newly_invoiced.len(),
        changed_after_invoicing = summary.changed_after_invoicing.len(),
        invoices_stored = summary.invoices_stored.len(),
        "invoice search done"
    );
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pobridge_core::AccountSettings;

    use super::*;

    #[test]
    fn next_runs_follow_the_account_intervals() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let settings = AccountSettings::default();
        let poll = next_job(AccountId(1), Search::Poll, now, &settings);
        let sweep = next_job(AccountId(1), Search::Sweep, now, &settings);
        assert_eq!(poll.run_at, now + Duration::minutes(10));
        assert_eq!(poll.key, "poll_invoices");
        assert_eq!(sweep.run_at, now + Duration::hours(24));
        assert_eq!(sweep.key, "sweep_invoices");
    }

    #[test]
    fn zero_intervals_wait_one_minute() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let settings = AccountSettings {
            invoice_poll_minutes: 0,
            invoice_sweep_hours: 0,
            ..AccountSettings::default()
        };
        for search in [Search::Poll, Search::Sweep] {
            let job = next_job(AccountId(1), search, now, &settings);
            assert_eq!(job.run_at, now + Duration::minutes(1), "{search:?}");
        }
    }
}
