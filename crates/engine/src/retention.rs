//! Retention of raw documents: a periodic job per account removes the
//! bodies of received cXML documents and sent invoice documents once they
//! are older than `[retention] raw_document_days`.
//!
//! Only bodies go. The rows, the purchase orders with their parsed
//! revisions and timelines, and the invoices with their totals and lines
//! stay, and each removed body records when it went, so every page that
//! shows a document can say that retention removed it. The store decides
//! which bodies qualify ([`pobridge_store::Store::remove_document_bodies`]):
//! those of orders in a final state and of sent invoices.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pobridge_core::AccountId;
use pobridge_store::{Job, JobOutcome, NewJob, RemovedBodies, StoreError};

use crate::Engine;

/// Job kind of an account's periodic removal of old document bodies.
pub const REMOVE_OLD_DOCUMENTS: &str = "remove_old_documents";

/// Bodies of each kind removed in one transaction. Batches keep a first run
/// over years of documents from holding the database's write lock for long.
const BATCH: u32 = 500;

/// When raw document bodies are removed, from the `[retention]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Bodies older than this many days are removed. A value of 0 keeps
    /// every body, and no retention job is queued.
    pub raw_document_days: u32,
    /// Hours between two runs of one account's job. A value of 0 counts as 1.
    pub check_hours: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            raw_document_days: 0,
            check_hours: 24,
        }
    }
}

/// Returns the sentence shown in place of a body that retention removed on `date`.
pub fn removed_notice(date: NaiveDate) -> String {
    format!("Removed by retention on {date}.")
}

/// Builds the retention job of `account` due at `run_at`. Its fixed key
/// merges a second one queued while the first is unfinished.
pub fn retention_job(account: AccountId, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: REMOVE_OLD_DOCUMENTS.to_owned(),
        key: REMOVE_OLD_DOCUMENTS.to_owned(),
        payload: serde_json::json!({}),
        run_at,
    }
}

impl Engine {
    /// Queues a retention job of every account now, unless retention is off,
    /// and returns how many were queued.
    pub async fn schedule_retention(&self) -> Result<usize, StoreError> {
        if self.config.retention.raw_document_days == 0 {
            return Ok(0);
        }
        let now = self.clock.now();
        let accounts = self.store.list_accounts().await?;
        for account in &accounts {
            self.store
                .enqueue_job(&retention_job(account.id, now))
                .await?;
        }
        self.wake.notify_one();
        Ok(accounts.len())
    }

    /// Runs one claimed retention job, having queued the next one. With
    /// retention turned off since the job was queued, it removes nothing and
    /// queues no next job.
    pub async fn run_retention_job(&self, job: &Job) -> JobOutcome {
        let account = job.account;
        let config = &self.config.retention;
        if config.raw_document_days == 0 {
            tracing::info!(tenant.id = %account, "retention is off; the job stops");
            return JobOutcome::Done;
        }
        let hours = i64::from(config.check_hours.max(1));
        let next = retention_job(account, self.clock.now() + Duration::hours(hours));
        if let Err(error) = self.store.enqueue_job(&next).await {
            // The next scheduling at start-up restores the chain.
            tracing::error!(tenant.id = %account, %error, "could not queue the next retention job");
        }
        match self.remove_old_documents(account).await {
            Ok(removed) => {
                tracing::info!(
                    tenant.id = %account,
                    documents = removed.documents,
                    invoices = removed.invoices,
                    "old document bodies removed"
                );
                JobOutcome::Done
            }
            Err(error) => {
                tracing::warn!(tenant.id = %account, %error, "removing old document bodies failed; the next job runs as scheduled");
                JobOutcome::Failed {
                    error: format!("storage error: {error}"),
                }
            }
        }
    }

    /// Removes the account's document bodies older than `raw_document_days`,
    /// batch after batch, and returns how many went. Removes nothing when
    /// retention is off.
    pub async fn remove_old_documents(
        &self,
        account: AccountId,
    ) -> Result<RemovedBodies, StoreError> {
        let days = self.config.retention.raw_document_days;
        let mut total = RemovedBodies::default();
        if days == 0 {
            return Ok(total);
        }
        let now = self.clock.now();
        let before = now - Duration::days(i64::from(days));
        loop {
            let removed = self
                .store
                .remove_document_bodies(account, before, BATCH, now)
                .await?;
            total.documents += removed.documents;
            total.invoices += removed.invoices;
            if removed.documents < u64::from(BATCH) && removed.invoices < u64::from(BATCH) {
                return Ok(total);
            }
        }
    }
}
