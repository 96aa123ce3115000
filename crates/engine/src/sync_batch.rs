//! Sync jobs of one account run together, so that their sales orders go to
//! Brightpearl in one multi-message and their custom-field updates in
//! another when the client is set to batch them.
//!
//! Each job keeps the guarantees of a job run alone: everything before the
//! Sales Order POST (customer, lines, plan, holds, the recorded
//! `externalRef`) runs per job, and the POST's result is recorded per job.
//! An order whose outcome is unknown, such as every order of a
//! multi-message whose reply was lost, fails its attempt as ambiguous, and
//! the next attempt searches Brightpearl by its `externalRef` before it
//! posts again.

use pobridge_brightpearl::BrightpearlClient;
use pobridge_store::{Job, JobOutcome};

use crate::sync::{Attempt, ReadyOrder, Step, SyncError};
use crate::Engine;

/// A job whose sales order is ready to post.
struct Pending {
    index: usize,
    attempt: Attempt,
    client: BrightpearlClient,
    ready: Box<ReadyOrder>,
}

/// A job whose sales order exists and whose custom fields are next.
struct Created {
    index: usize,
    attempt: Attempt,
    order_id: i64,
}

impl Engine {
    /// Runs claimed sync jobs of one account and returns their outcomes in
    /// the order of `jobs`. The jobs' sales orders are created with one
    /// call of [`BrightpearlClient::create_sales_orders`], which sends up to
    /// ten in a multi-message, and a lone order as a plain POST.
    pub async fn run_sync_batch(&self, jobs: &[Job]) -> Vec<JobOutcome> {
        let mut outcomes: Vec<Option<JobOutcome>> = jobs.iter().map(|_| None).collect();
        let mut pending = Vec::new();
        for (index, job) in jobs.iter().enumerate() {
            let attempt = match self.start_attempt(job).await {
                Ok(attempt) => attempt,
                Err(outcome) => {
                    outcomes[index] = Some(outcome);
                    continue;
                }
            };
            match self.sync_until_create(&attempt).await {
                Ok(Step::Create { client, ready }) => pending.push(Pending {
                    index,
                    attempt,
                    client,
                    ready,
                }),
                Ok(Step::Finished(outcome)) => outcomes[index] = Some(outcome),
                Err(error) => {
                    outcomes[index] = Some(self.outcome_of(job, &attempt, Err(error)).await)
                }
            }
        }

        let created = self.create_pending(jobs, pending, &mut outcomes).await;
        self.finish_created(jobs, created, &mut outcomes).await;
        // Every job gets its outcome above; a job that did not would run
        // again rather than count as done.
        let now = self.clock.now();
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| JobOutcome::Retry {
                    run_at: now,
                    error: "the sync batch recorded no outcome for this job".to_owned(),
                    counts: true,
                })
            })
            .collect()
    }

    /// Posts the pending sales orders together and records each result.
    async fn create_pending(
        &self,
        jobs: &[Job],
        pending: Vec<Pending>,
        outcomes: &mut [Option<JobOutcome>],
    ) -> Vec<(Created, BrightpearlClient)> {
        let Some(client) = pending.first().map(|first| first.client.clone()) else {
            return Vec::new();
        };
        let requests: Vec<_> = pending
            .iter()
            .map(|pending| pending.ready.request.clone())
            .collect();
        let results = client.create_sales_orders(&requests).await;
        tracing::info!(
            orders = requests.len(),
            "sent the sales orders of a sync batch"
        );

        let mut created = Vec::new();
        for (pending, result) in pending.into_iter().zip(results) {
            let job = &jobs[pending.index];
            let recorded = self
                .record_result(&pending.attempt, &pending.client, &pending.ready, result)
                .await;
            match recorded {
                Ok(Ok(order_id)) => created.push((
                    Created {
                        index: pending.index,
                        attempt: pending.attempt,
                        order_id,
                    },
                    pending.client,
                )),
                Ok(Err(outcome)) => outcomes[pending.index] = Some(outcome),
                Err(error) => {
                    let outcome = self.outcome_of(job, &pending.attempt, Err(error)).await;
                    outcomes[pending.index] = Some(outcome);
                }
            }
        }
        created
    }

    /// Sets the custom fields of the created orders together, then marks
    /// each synced. An order whose update failed keeps its Brightpearl id,
    /// so its next attempt only sets the custom fields.
    async fn finish_created(
        &self,
        jobs: &[Job],
        created: Vec<(Created, BrightpearlClient)>,
        outcomes: &mut [Option<JobOutcome>],
    ) {
        let Some(client) = created.first().map(|(_, client)| client.clone()) else {
            return;
        };
        let updates: Vec<_> = created
            .iter()
            .map(|(created, _)| {
                let settings = &created.attempt.account.settings;
                let operations = crate::settings::custom_field_operations(settings);
                (created.order_id, operations)
            })
            .collect();
        let results = client.patch_orders_custom_fields(&updates).await;

        for ((created, _), result) in created.into_iter().zip(results) {
            let job = &jobs[created.index];
            let finished = match result {
                Ok(()) => self.mark_synced(&created.attempt, created.order_id).await,
                Err(error) => Err(SyncError::Brightpearl(error)),
            };
            outcomes[created.index] = Some(self.outcome_of(job, &created.attempt, finished).await);
        }
    }
}
