//! The engine's order actions against a real store: showing one order,
//! re-syncing failed orders, marking a held change handled, and the
//! release of waiting jobs after a reference refresh.

use crate::common;

use std::sync::Arc;

use common::seed::Seed;
use pobridge_core::SystemClock;
use pobridge_engine::admin::{self, GrantedTokens, ResyncOutcome, ResyncTarget};
use pobridge_engine::worker::Worker;
use pobridge_sandbox::{Sandbox, SandboxConfig};
use pobridge_store::{JobStatus, PoStatus, RevisionStatus};

async fn seed() -> Seed {
    Seed::new("sqlite::memory:").await
}

fn numbers(values: &[&str]) -> ResyncTarget {
    ResyncTarget::Numbers(values.iter().map(|value| value.to_string()).collect())
}

#[tokio::test]
async fn show_lists_revisions_and_timeline() {
    let seed = seed().await;
    let po = seed.held_order("PO-1").await;
    seed.set_status(&po, PoStatus::HeldForReview, "warning: tax differs by 0.01")
        .await;

    let order = admin::show_order(&seed.engine, "acme", "PO-1", None)
        .await
        .unwrap();

    assert_eq!(order.buyer, "buyer-1");
    assert_eq!(order.status, PoStatus::HeldForReview);
    assert_eq!(order.brightpearl_order_id, Some(7));
    let versions: Vec<_> = order.revisions.iter().map(|r| r.order_version).collect();
    assert_eq!(versions, [None, Some(2)]);
    assert_eq!(order.revisions[0].status, RevisionStatus::Superseded);
    assert_eq!(order.revisions[1].status, RevisionStatus::HeldForReview);
    assert!(order.revisions[1].document_timestamp.is_some());
    let last = order.events.last().unwrap();
    assert_eq!(last.message, "warning: tax differs by 0.01");
    assert!(order.events.len() >= 3, "{:?}", order.events);
}

#[tokio::test]
async fn shared_po_number_needs_buyer() {
    let seed = seed().await;
    seed.add_buyer("buyer-2", "BUYER-2").await;
    seed.receive("BUYER-1", "PO-9", 1).await;
    seed.receive("BUYER-2", "PO-9", 1).await;

    let ambiguous = admin::show_order(&seed.engine, "acme", "PO-9", None)
        .await
        .unwrap_err()
        .to_string();
    let chosen = admin::show_order(&seed.engine, "acme", "PO-9", Some("buyer-2"))
        .await
        .unwrap();

    assert!(ambiguous.contains("several buyers"), "{ambiguous}");
    assert!(ambiguous.contains("buyer-1"), "{ambiguous}");
    assert!(ambiguous.contains("buyer-2"), "{ambiguous}");
    assert!(ambiguous.contains("--buyer"), "{ambiguous}");
    assert_eq!(chosen.buyer, "buyer-2");
}

#[tokio::test]
async fn show_matches_whole_po_number_only() {
    let seed = seed().await;
    seed.receive("BUYER-1", "PO-10", 1).await;

    let error = admin::show_order(&seed.engine, "acme", "PO-1", None)
        .await
        .unwrap_err()
        .to_string();

    assert!(
        error.contains("purchase order \"PO-1\" not found"),
        "{error}"
    );
    assert!(error.contains("pobridge orders acme"), "{error}");
}

#[tokio::test]
async fn resync_requeues_failed_order() {
    let seed = seed().await;
    seed.failed_order("PO-1").await;

    let rows = admin::resync_orders(&seed.engine, "acme", &numbers(&["PO-1"]), None, false)
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, ResyncOutcome::Queued);
    assert_eq!(rows[0].status, Some(PoStatus::Failed));
    let po = seed.order("buyer-1", "PO-1").await;
    assert_eq!(po.status, PoStatus::Received);
    assert_eq!(po.reason, None);
    let events = seed
        .engine
        .store
        .events(seed.account.id, po.id)
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().message, "re-sync requested");
    let jobs = seed.engine.store.list_jobs(seed.account.id).await.unwrap();
    let queued: Vec<_> = jobs
        .iter()
        .filter(|job| job.key.ends_with(":PO-1") && job.status == JobStatus::Queued)
        .collect();
    assert_eq!(queued.len(), 1, "{jobs:?}");
    assert_eq!(queued[0].attempts, 0);
}

#[tokio::test]
async fn second_resync_before_the_worker_adds_no_line() {
    let seed = seed().await;
    seed.failed_order("PO-1").await;
    let po_numbers = numbers(&["PO-1"]);

    for _ in 0..2 {
        admin::resync_orders(&seed.engine, "acme", &po_numbers, None, false)
            .await
            .unwrap();
    }

    let po = seed.order("buyer-1", "PO-1").await;
    let events = seed
        .engine
        .store
        .events(seed.account.id, po.id)
        .await
        .unwrap();
    let requested = events
        .iter()
        .filter(|event| event.message == "re-sync requested")
        .count();
    assert_eq!(requested, 1, "{events:#?}");
    assert_eq!(po.status, PoStatus::Received);
}

#[tokio::test]
async fn resync_failed_takes_only_failed_orders() {
    let seed = seed().await;
    seed.failed_order("PO-1").await;
    seed.receive("BUYER-1", "PO-2", 1).await;
    let synced = seed.order("buyer-1", "PO-2").await;
    seed.set_status(&synced, PoStatus::Synced, "synced").await;

    let rows = admin::resync_orders(&seed.engine, "acme", &ResyncTarget::Failed, None, false)
        .await
        .unwrap();

    let numbers: Vec<&str> = rows.iter().map(|row| row.po_number.as_str()).collect();
    assert_eq!(numbers, ["PO-1"]);
    assert_eq!(rows[0].buyer, "buyer-1");
    assert_eq!(rows[0].outcome, ResyncOutcome::Queued);
}

#[tokio::test]
async fn resync_dry_run_changes_nothing() {
    let seed = seed().await;
    let before = seed.failed_order("PO-1").await;
    let store = &seed.engine.store;
    let events_before = store.events(seed.account.id, before.id).await.unwrap();
    let jobs_before = store.list_jobs(seed.account.id).await.unwrap();

    let rows = admin::resync_orders(&seed.engine, "acme", &ResyncTarget::Failed, None, true)
        .await
        .unwrap();

    assert_eq!(rows[0].outcome, ResyncOutcome::WouldQueue);
    let after = seed.order("buyer-1", "PO-1").await;
    assert_eq!(after.status, PoStatus::Failed);
    let events_after = store.events(seed.account.id, before.id).await.unwrap();
    assert_eq!(events_after, events_before);
    assert_eq!(store.list_jobs(seed.account.id).await.unwrap(), jobs_before);
}

#[tokio::test]
async fn resync_rejects_synced_held_and_unknown_orders() {
    let seed = seed().await;
    seed.receive("BUYER-1", "PO-1", 1).await;
    let synced = seed.order("buyer-1", "PO-1").await;
    seed.set_status(&synced, PoStatus::Synced, "synced").await;
    seed.held_order("PO-2").await;

    let target = numbers(&["PO-1", "PO-2", "PO-404"]);
    let rows = admin::resync_orders(&seed.engine, "acme", &target, None, false)
        .await
        .unwrap();

    let reasons: Vec<String> = rows
        .iter()
        .map(|row| match &row.outcome {
            ResyncOutcome::Rejected { reason } => reason.clone(),
            other => panic!("{} was not rejected: {other:?}", row.po_number),
        })
        .collect();
    assert!(reasons[0].contains("already synced"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("pobridge orders acme handled PO-2"),
        "{}",
        reasons[1]
    );
    assert!(reasons[2].contains("not found"), "{}", reasons[2]);
    assert_eq!(rows[2].status, None);
    assert_eq!(seed.order("buyer-1", "PO-1").await.status, PoStatus::Synced);
    assert_eq!(
        seed.order("buyer-1", "PO-2").await.status,
        PoStatus::HeldForReview
    );
}

#[tokio::test]
async fn resync_with_unknown_buyer_fails() {
    let seed = seed().await;

    let error = admin::resync_orders(
        &seed.engine,
        "acme",
        &ResyncTarget::Failed,
        Some("initech"),
        false,
    )
    .await
    .unwrap_err()
    .to_string();

    assert!(error.contains("buyer \"initech\" not found"), "{error}");
}

#[tokio::test]
async fn handled_returns_held_order_to_synced() {
    let seed = seed().await;
    let held = seed.held_order("PO-1").await;

    let handled = admin::mark_handled(&seed.engine, "acme", "PO-1", None)
        .await
        .unwrap();

    assert_eq!(handled.handled.len(), 1);
    assert_eq!(handled.handled[0].id, held.latest_revision);
    assert_eq!(handled.brightpearl_order_id, Some(7));
    let po = seed.order("buyer-1", "PO-1").await;
    assert_eq!(po.status, PoStatus::Synced);
    assert_eq!(po.reason, None);
    assert_eq!(po.brightpearl_order_id, Some(7));
    assert_eq!(po.synced_revision, Some(held.latest_revision));
    let store = &seed.engine.store;
    let revision = store
        .revision(seed.account.id, held.latest_revision)
        .await
        .unwrap();
    assert_eq!(revision.status, RevisionStatus::Handled);
    let events = store.events(seed.account.id, po.id).await.unwrap();
    let last = &events.last().unwrap().message;
    assert!(
        last.starts_with("marked handled: update (revision"),
        "{last}"
    );
    assert!(last.contains("version 2"), "{last}");
}

#[tokio::test]
async fn handled_rejects_order_not_held() {
    let seed = seed().await;
    seed.failed_order("PO-1").await;

    let error = admin::mark_handled(&seed.engine, "acme", "PO-1", None)
        .await
        .unwrap_err()
        .to_string();

    assert!(
        error.contains("\"PO-1\" is failed, not held_for_review"),
        "{error}"
    );
    assert_eq!(seed.order("buyer-1", "PO-1").await.status, PoStatus::Failed);
}

#[tokio::test]
async fn refresh_releases_waiting_orders() {
    let seed = seed().await;
    let sandbox = Sandbox::new(SandboxConfig::default(), Arc::new(SystemClock));
    let (_sandbox_url, _task) = sandbox.spawn_local().await;
    let grant = sandbox.connect("acme");
    let tokens = GrantedTokens {
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_in: grant.expires_in,
        installation_instance_id: grant.installation_instance_id,
        api_domain: grant.api_domain,
    };
    admin::connect_sandbox(&seed.engine, &seed.account, &tokens)
        .await
        .unwrap();
    seed.receive("BUYER-1", "PO-1", 1).await;
    // Without reference data or defaults the sync parks the order.
    Worker::new(seed.engine.clone(), "test-worker")
        .run_once()
        .await;
    let parked = seed.order("buyer-1", "PO-1").await;

    let refreshed = admin::refresh_now(&seed.engine, "acme").await.unwrap();

    assert!(
        matches!(
            parked.status,
            PoStatus::AwaitingSettings | PoStatus::AwaitingMapping | PoStatus::AwaitingCustomer
        ),
        "{:?}",
        parked.status
    );
    assert_eq!(refreshed.released_jobs, 1);
    assert!(refreshed.summary.tax_codes > 0);
    let jobs = seed.engine.store.list_jobs(seed.account.id).await.unwrap();
    assert!(
        jobs.iter().all(|job| job.status != JobStatus::Waiting),
        "{jobs:?}"
    );
}
