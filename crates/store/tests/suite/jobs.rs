//! The job queue: claiming, leases, outcomes, de-duplication, waiting jobs,
//! and claims from several store handles on one database.

use std::collections::HashSet;

use chrono::Duration;
use pobridge_core::JobId;
use pobridge_store::{Job, JobOutcome, JobStatus, Store};

use super::*;

const LEASE_MINUTES: i64 = 5;

async fn claim(store: &dyn Store, worker: &str, now: i64, limit: i64) -> Vec<Job> {
    store
        .claim_jobs(worker, at(now), Duration::minutes(LEASE_MINUTES), limit)
        .await
        .unwrap()
}

async fn job(store: &dyn Store, account: AccountId, id: JobId) -> Job {
    let jobs = store.list_jobs(account).await.unwrap();
    jobs.into_iter().find(|job| job.id == id).unwrap()
}

pub async fn claim_takes_due_jobs_in_run_order(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let late = store
        .enqueue_job(&new_job(account_id, "late", at(3)))
        .await
        .unwrap();
    let early = store
        .enqueue_job(&new_job(account_id, "early", at(1)))
        .await
        .unwrap();
    let tied = store
        .enqueue_job(&new_job(account_id, "tied", at(1)))
        .await
        .unwrap();
    let future = store
        .enqueue_job(&new_job(account_id, "future", at(30)))
        .await
        .unwrap();

    let claimed = claim(store, "worker-a", 10, 2).await;
    let ids: Vec<JobId> = claimed.iter().map(|job| job.id).collect();
    assert_eq!(ids, [early, tied]);
    assert!(claimed.iter().all(|job| job.status == JobStatus::Running));
    assert_eq!(claimed[0].claimed_by.as_deref(), Some("worker-a"));
    assert_eq!(claimed[0].claim_expires_at, Some(at(10 + LEASE_MINUTES)));
    assert_eq!(claimed[0].payload, serde_json::json!({ "key": "early" }));

    let rest: Vec<JobId> = claim(store, "worker-b", 10, 10)
        .await
        .iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(rest, [late]);
    assert!(claim(store, "worker-b", 10, 10).await.is_empty());
    assert!(claim(store, "worker-b", 10, 0).await.is_empty());
    assert_eq!(
        job(store, account_id, future).await.status,
        JobStatus::Queued
    );
    assert_eq!(store.pending_job_count().await.unwrap(), 4);
}

pub async fn account_claim_takes_one_account_and_kind(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let other = account(store, "other").await;
    let mut acme_syncs = Vec::new();
    for (index, key) in ["s1", "s2", "s3"].iter().enumerate() {
        let id = store
            .enqueue_job(&new_job(acme, key, at(index as i64)))
            .await
            .unwrap();
        acme_syncs.push(id);
    }
    let poll = NewJob {
        kind: "poll_invoices".to_owned(),
        ..new_job(acme, "poll", at(0))
    };
    let acme_poll = store.enqueue_job(&poll).await.unwrap();
    let other_sync = store
        .enqueue_job(&new_job(other, "s1", at(0)))
        .await
        .unwrap();
    let future = store
        .enqueue_job(&new_job(acme, "later", at(20)))
        .await
        .unwrap();

    let claimed = store
        .claim_account_jobs(
            "worker-a",
            acme,
            "sync_order",
            at(5),
            Duration::minutes(LEASE_MINUTES),
            2,
        )
        .await
        .unwrap();
    let ids: Vec<JobId> = claimed.iter().map(|job| job.id).collect();
    assert_eq!(ids, acme_syncs[..2]);
    assert!(claimed
        .iter()
        .all(|job| job.claimed_by.as_deref() == Some("worker-a")));

    let rest = store
        .claim_account_jobs(
            "worker-a",
            acme,
            "sync_order",
            at(5),
            Duration::minutes(LEASE_MINUTES),
            10,
        )
        .await
        .unwrap();
    let ids: Vec<JobId> = rest.iter().map(|job| job.id).collect();
    assert_eq!(ids, [acme_syncs[2]]);
    assert_eq!(job(store, acme, acme_poll).await.status, JobStatus::Queued);
    assert_eq!(
        job(store, other, other_sync).await.status,
        JobStatus::Queued
    );
    assert_eq!(job(store, acme, future).await.status, JobStatus::Queued);
}

pub async fn expired_claim_passes_to_another_worker(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let id = store
        .enqueue_job(&new_job(account_id, "k", at(0)))
        .await
        .unwrap();
    assert_eq!(claim(store, "worker-a", 1, 10).await.len(), 1);

    // The lease of worker-a runs until minute 6.
    assert!(claim(store, "worker-b", 5, 10).await.is_empty());
    let reclaimed = claim(store, "worker-b", 6, 10).await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, id);
    assert_eq!(reclaimed[0].claimed_by.as_deref(), Some("worker-b"));

    let stale = store
        .finish_job(id, "worker-a", &JobOutcome::Done, at(7))
        .await
        .unwrap();
    assert!(!stale);
    assert_eq!(job(store, account_id, id).await.status, JobStatus::Running);
    let current = store
        .finish_job(id, "worker-b", &JobOutcome::Done, at(7))
        .await
        .unwrap();
    assert!(current);
    let done = job(store, account_id, id).await;
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.claimed_by, None);
    assert!(!store
        .finish_job(id, "worker-b", &JobOutcome::Done, at(8))
        .await
        .unwrap());
    assert!(!store
        .finish_job(JobId(999), "worker-b", &JobOutcome::Done, at(8))
        .await
        .unwrap());
    assert_eq!(store.pending_job_count().await.unwrap(), 0);
}

pub async fn extended_claim_is_kept_from_others(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let id = store
        .enqueue_job(&new_job(account_id, "k", at(0)))
        .await
        .unwrap();
    assert_eq!(claim(store, "worker-a", 1, 10).await.len(), 1);

    // Without the extension the lease of worker-a would end at minute 6.
    assert!(store.extend_claim(id, "worker-a", at(20)).await.unwrap());
    assert_eq!(
        job(store, account_id, id).await.claim_expires_at,
        Some(at(20))
    );
    assert!(claim(store, "worker-b", 10, 10).await.is_empty());
    assert!(!store.extend_claim(id, "worker-b", at(40)).await.unwrap());
    assert_eq!(
        job(store, account_id, id).await.claim_expires_at,
        Some(at(20))
    );

    let reclaimed = claim(store, "worker-b", 20, 10).await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].claimed_by.as_deref(), Some("worker-b"));
    assert!(!store.extend_claim(id, "worker-a", at(40)).await.unwrap());
    assert_eq!(
        job(store, account_id, id).await.claim_expires_at,
        Some(at(20 + LEASE_MINUTES))
    );

    assert!(store
        .finish_job(id, "worker-b", &JobOutcome::Done, at(21))
        .await
        .unwrap());
    assert!(!store.extend_claim(id, "worker-b", at(40)).await.unwrap());
    let done = job(store, account_id, id).await;
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.claim_expires_at, None);
    assert!(!store
        .extend_claim(JobId(999), "worker-b", at(40))
        .await
        .unwrap());
}

fn retry(minute: i64, counts: bool) -> JobOutcome {
    JobOutcome::Retry {
        run_at: at(minute),
        error: format!("attempt failed at minute {minute}"),
        counts,
    }
}

pub async fn retries_count_attempts_and_track_first_failure(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let id = store
        .enqueue_job(&new_job(account_id, "k", at(0)))
        .await
        .unwrap();

    claim(store, "w", 0, 1).await;
    assert!(store
        .finish_job(id, "w", &retry(10, true), at(1))
        .await
        .unwrap());
    let first = job(store, account_id, id).await;
    assert_eq!(first.status, JobStatus::Queued);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.run_at, at(10));
    assert_eq!(first.first_failure_at, Some(at(1)));
    assert_eq!(
        first.last_error.as_deref(),
        Some("attempt failed at minute 10")
    );
    assert_eq!(first.claim_expires_at, None);

    claim(store, "w", 10, 1).await;
    assert!(store
        .finish_job(id, "w", &retry(20, false), at(11))
        .await
        .unwrap());
    let throttled = job(store, account_id, id).await;
    assert_eq!(throttled.attempts, 1);
    assert_eq!(throttled.first_failure_at, Some(at(1)));
    assert_eq!(throttled.run_at, at(20));

    claim(store, "w", 20, 1).await;
    assert!(store
        .finish_job(id, "w", &retry(30, true), at(21))
        .await
        .unwrap());
    assert_eq!(job(store, account_id, id).await.attempts, 2);

    claim(store, "w", 30, 1).await;
    assert!(store
        .finish_job(id, "w", &JobOutcome::Done, at(31))
        .await
        .unwrap());
    let done = job(store, account_id, id).await;
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.first_failure_at, None);
    assert_eq!(done.attempts, 2);
}

pub async fn failed_job_stays_failed(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let id = store
        .enqueue_job(&new_job(account_id, "k", at(0)))
        .await
        .unwrap();
    claim(store, "w", 0, 1).await;
    let outcome = JobOutcome::Failed {
        error: "Brightpearl rejected the order: unknown SKU".to_owned(),
    };

    assert!(store.finish_job(id, "w", &outcome, at(1)).await.unwrap());

    let failed = job(store, account_id, id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("Brightpearl rejected the order: unknown SKU")
    );
    assert!(claim(store, "w", 100, 10).await.is_empty());
    assert_eq!(store.pending_job_count().await.unwrap(), 0);
}

pub async fn enqueue_merges_unfinished_jobs_with_the_same_key(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let first = store
        .enqueue_job(&new_job(acme, "sync:1", at(10)))
        .await
        .unwrap();

    let sooner = store
        .enqueue_job(&new_job(acme, "sync:1", at(5)))
        .await
        .unwrap();
    let later = store
        .enqueue_job(&new_job(acme, "sync:1", at(20)))
        .await
        .unwrap();
    let other_account = store
        .enqueue_job(&new_job(globex, "sync:1", at(5)))
        .await
        .unwrap();
    let other_key = store
        .enqueue_job(&new_job(acme, "sync:2", at(5)))
        .await
        .unwrap();

    assert_eq!(sooner, first);
    assert_eq!(later, first);
    assert_ne!(other_account, first);
    assert_ne!(other_key, first);
    assert_eq!(job(store, acme, first).await.run_at, at(5));
    assert_eq!(store.list_jobs(acme).await.unwrap().len(), 2);

    // A finished job no longer absorbs new work.
    claim(store, "w", 5, 10).await;
    store
        .finish_job(first, "w", &JobOutcome::Done, at(6))
        .await
        .unwrap();
    let fresh = store
        .enqueue_job(&new_job(acme, "sync:1", at(7)))
        .await
        .unwrap();
    assert_ne!(fresh, first);
    assert_eq!(job(store, acme, fresh).await.status, JobStatus::Queued);
}

pub async fn enqueue_during_run_queues_the_job_again(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let id = store
        .enqueue_job(&new_job(account_id, "sync:1", at(0)))
        .await
        .unwrap();
    claim(store, "w", 0, 1).await;

    let merged = store
        .enqueue_job(&new_job(account_id, "sync:1", at(2)))
        .await
        .unwrap();
    assert_eq!(merged, id);
    assert_eq!(job(store, account_id, id).await.status, JobStatus::Running);

    assert!(store
        .finish_job(id, "w", &JobOutcome::Done, at(3))
        .await
        .unwrap());
    let again = job(store, account_id, id).await;
    assert_eq!(again.status, JobStatus::Queued);
    assert_eq!(again.run_at, at(2));
    let claimed = claim(store, "w", 3, 10).await;
    assert_eq!(claimed.len(), 1);
    assert!(store
        .finish_job(id, "w", &JobOutcome::Done, at(4))
        .await
        .unwrap());
    assert_eq!(job(store, account_id, id).await.status, JobStatus::Done);
}

pub async fn waiting_jobs_are_released_per_account(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_job = store
        .enqueue_job(&new_job(acme, "sync:1", at(0)))
        .await
        .unwrap();
    let globex_job = store
        .enqueue_job(&new_job(globex, "sync:1", at(0)))
        .await
        .unwrap();
    let wait = JobOutcome::Wait {
        reason: "no mapping for part ÉCROU-12".to_owned(),
    };
    for claimed in claim(store, "w", 0, 10).await {
        assert!(store
            .finish_job(claimed.id, "w", &wait, at(1))
            .await
            .unwrap());
    }

    let waiting = job(store, acme, acme_job).await;
    assert_eq!(waiting.status, JobStatus::Waiting);
    assert_eq!(
        waiting.last_error.as_deref(),
        Some("no mapping for part ÉCROU-12")
    );
    assert!(claim(store, "w", 100, 10).await.is_empty());
    assert_eq!(store.pending_job_count().await.unwrap(), 2);

    assert_eq!(store.release_waiting_jobs(acme, at(50)).await.unwrap(), 1);
    let released = job(store, acme, acme_job).await;
    assert_eq!(released.status, JobStatus::Queued);
    assert_eq!(released.run_at, at(50));
    assert_eq!(
        job(store, globex, globex_job).await.status,
        JobStatus::Waiting
    );
    assert_eq!(store.release_waiting_jobs(acme, at(51)).await.unwrap(), 0);

    // Enqueueing the same key also wakes a waiting job.
    let merged = store
        .enqueue_job(&new_job(globex, "sync:1", at(60)))
        .await
        .unwrap();
    assert_eq!(merged, globex_job);
    let woken = job(store, globex, globex_job).await;
    assert_eq!(woken.status, JobStatus::Queued);
    assert_eq!(woken.run_at, at(0));
}

/// Two handles on one database claim concurrently; no job is claimed twice.
pub async fn concurrent_claims_never_share_a_job(open: &Opener) {
    const JOBS: usize = 60;
    let first = open().await;
    let second = open().await;
    let account_id = account(first.as_ref(), "acme").await;
    for index in 0..JOBS {
        let key = format!("job-{index}");
        first
            .enqueue_job(&new_job(account_id, &key, at(0)))
            .await
            .unwrap();
    }

    let mut tasks = tokio::task::JoinSet::new();
    for (index, store) in [first.clone(), second.clone(), first, second]
        .into_iter()
        .enumerate()
    {
        tasks.spawn(async move {
            let worker = format!("worker-{index}");
            let mut claimed = Vec::new();
            // Bounded: each round claims at least one job until none are left.
            for _ in 0..JOBS {
                let batch = store
                    .claim_jobs(&worker, at(1), Duration::minutes(LEASE_MINUTES), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                claimed.extend(batch.into_iter().map(|job| job.id));
            }
            claimed
        });
    }

    let mut seen = HashSet::new();
    let mut total = 0;
    while let Some(claimed) = tasks.join_next().await {
        for id in claimed.unwrap() {
            total += 1;
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(total, JOBS);
}
