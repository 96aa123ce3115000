//! Retention of raw documents over a real store with a manual clock: old
//! bodies of final orders and sent invoices go, recent or unfinished ones
//! stay, and the admin views say when a body was removed.

mod common;

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use common::{new_buyer, on_each_backend, utc, Backend, Records, TestEngine};
use pobridge_core::{AccountId, BuyerId, ManualClock, PoId};
use pobridge_engine::admin::order_record::order_record;
use pobridge_engine::retention::{removed_notice, RetentionConfig, REMOVE_OLD_DOCUMENTS};
use pobridge_engine::worker::Worker;
use pobridge_engine::{admin, EngineConfig};
use pobridge_store::{BuyerMode, InvoiceId, InvoiceStatus, InvoiceUpdate, JobStatus, PoStatus};

const NOW: &str = "2024-05-10T06:00:00Z";
/// 40 days before [`NOW`], past the 30 days kept.
const OLD: &str = "2024-03-31T06:00:00Z";
/// 5 days before [`NOW`].
const RECENT: &str = "2024-05-05T06:00:00Z";

/// An account `acme` with one buyer, keeping bodies for 30 days.
struct Fixture {
    engine: TestEngine,
    clock: Arc<ManualClock>,
    account: AccountId,
    buyer: BuyerId,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let clock = Arc::new(ManualClock::new(utc(NOW)));
        let config = EngineConfig {
            retention: RetentionConfig {
                raw_document_days: 30,
                check_hours: 24,
            },
            ..EngineConfig::default()
        };
        let engine = common::engine(backend, clock.clone(), config).await;
        let account = admin::create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap()
            .id;
        let buyer = engine
            .store
            .create_buyer(
                account,
                &new_buyer("initech", "initech", BuyerMode::Production),
                utc(OLD),
            )
            .await
            .unwrap()
            .id;
        Self {
            engine,
            clock,
            account,
            buyer,
        }
    }

    fn records(&self) -> Records<'_> {
        Records {
            engine: &self.engine,
            account: self.account,
            buyer: self.buyer,
        }
    }

    /// Stores order `number` received at `at` and sets it to `status`.
    async fn order(&self, number: &str, at: &str, status: PoStatus) -> PoId {
        let records = self.records();
        let po = records.receive(number, at).await;
        records.set_status(po, status, status.as_str(), at).await;
        po
    }

    /// Stores invoice `number` of `po` created at `at` and sets it to `status`,
    /// sent at `at` when it is sent.
    async fn invoice(&self, po: PoId, number: &str, at: &str, status: InvoiceStatus) -> InvoiceId {
        let id = self.records().create_invoice(po, number, at, at).await;
        let update = InvoiceUpdate {
            status,
            reason: None,
            coupa_status: Some(200),
            coupa_text: Some("OK".to_owned()),
            counts_attempt: true,
            outcome_unknown: None,
            document: None,
            sent_at: (status == InvoiceStatus::Sent).then(|| utc(at)),
        };
        self.engine
            .store
            .update_invoice(self.account, id, &update, utc(at))
            .await
            .unwrap();
        id
    }

    async fn removed_at(&self, po: PoId) -> Option<chrono::DateTime<chrono::Utc>> {
        let record = order_record(&self.engine, "acme", po).await.unwrap();
        record.documents[0].removed_at
    }

    async fn invoice_removed(&self, number: &str) -> bool {
        let detail = admin::show_invoice(&self.engine, "acme", number, None)
            .await
            .unwrap();
        detail.document_removed_at.is_some()
    }
}

async fn old_final_documents_go_and_others_stay(backend: Backend) {
    let fixture = Fixture::new(backend).await;
    let old_synced = fixture.order("PO-1", OLD, PoStatus::Synced).await;
    let old_failed = fixture.order("PO-2", OLD, PoStatus::Failed).await;
    let old_held = fixture.order("PO-3", OLD, PoStatus::HeldForReview).await;
    let recent_synced = fixture.order("PO-4", RECENT, PoStatus::Synced).await;
    fixture
        .invoice(old_synced, "INV-1", OLD, InvoiceStatus::Sent)
        .await;
    fixture
        .invoice(old_synced, "INV-2", OLD, InvoiceStatus::Failed)
        .await;
    fixture
        .invoice(old_synced, "INV-3", OLD, InvoiceStatus::Held)
        .await;
    fixture
        .invoice(old_synced, "INV-4", RECENT, InvoiceStatus::Sent)
        .await;

    let removed = fixture
        .engine
        .remove_old_documents(fixture.account)
        .await
        .unwrap();

    assert_eq!(removed.documents, 1);
    assert_eq!(removed.invoices, 1);
    assert_eq!(fixture.removed_at(old_synced).await, Some(utc(NOW)));
    assert_eq!(fixture.removed_at(old_failed).await, None);
    assert_eq!(fixture.removed_at(old_held).await, None);
    assert_eq!(fixture.removed_at(recent_synced).await, None);
    assert!(fixture.invoice_removed("INV-1").await);
    assert!(!fixture.invoice_removed("INV-2").await);
    assert!(!fixture.invoice_removed("INV-3").await);
    assert!(!fixture.invoice_removed("INV-4").await);
}

async fn documents_go_once_the_clock_passes_the_age(backend: Backend) {
    let fixture = Fixture::new(backend).await;
    let po = fixture.order("PO-1", RECENT, PoStatus::Synced).await;

    let before = fixture
        .engine
        .remove_old_documents(fixture.account)
        .await
        .unwrap();
    fixture.clock.advance(Duration::days(26));
    let after = fixture
        .engine
        .remove_old_documents(fixture.account)
        .await
        .unwrap();

    assert_eq!(before.documents, 0);
    assert_eq!(after.documents, 1);
    assert_eq!(
        fixture.removed_at(po).await,
        Some(utc(NOW) + Duration::days(26))
    );
}

async fn removed_bodies_keep_their_records(backend: Backend) {
    let fixture = Fixture::new(backend).await;
    let po = fixture.order("PO-1", OLD, PoStatus::Synced).await;
    fixture.invoice(po, "INV-1", OLD, InvoiceStatus::Sent).await;
    fixture
        .engine
        .remove_old_documents(fixture.account)
        .await
        .unwrap();

    let record = order_record(&fixture.engine, "acme", po).await.unwrap();
    let invoice = admin::show_invoice(&fixture.engine, "acme", "INV-1", None)
        .await
        .unwrap();

    assert_eq!(record.detail.po_number, "PO-1");
    assert_eq!(record.detail.status, PoStatus::Synced);
    assert!(!record.detail.events.is_empty());
    assert_eq!(record.documents[0].payload_id, "payload-PO-1");
    assert_eq!(record.documents[0].text, "");
    assert!(record.resync_rejection.is_some());
    assert_eq!(invoice.document, "");
    assert_eq!(invoice.summary.sent_total, Some("10.00".parse().unwrap()));
    assert_eq!(invoice.summary.status, InvoiceStatus::Sent);
    assert_eq!(invoice.lines.len(), 1);
}

async fn worker_runs_retention_and_queues_the_next(backend: Backend) {
    let fixture = Fixture::new(backend).await;
    let po = fixture.order("PO-1", OLD, PoStatus::Synced).await;
    let queued = fixture.engine.schedule_retention().await.unwrap();
    let worker = Worker::new(fixture.engine.clone(), "test-worker");

    let ran = worker.run_once().await;
    let ran_before_due = worker.run_once().await;

    assert_eq!(queued, 1);
    assert_eq!(ran, 1);
    assert_eq!(ran_before_due, 0);
    assert_eq!(fixture.removed_at(po).await, Some(utc(NOW)));
    let jobs = fixture
        .engine
        .store
        .list_jobs(fixture.account)
        .await
        .unwrap();
    let runs: Vec<_> = jobs
        .iter()
        .filter(|job| job.kind == REMOVE_OLD_DOCUMENTS)
        .collect();
    assert_eq!(runs.len(), 1, "{jobs:?}");
    assert_eq!(runs[0].status, JobStatus::Queued);
    assert_eq!(runs[0].run_at, utc(NOW) + Duration::hours(24));
}

#[test]
fn removed_notice_names_the_date() {
    let date = NaiveDate::from_ymd_opt(2024, 5, 10).unwrap();

    assert_eq!(removed_notice(date), "Removed by retention on 2024-05-10.");
}

on_each_backend!(
    old_final_documents_go_and_others_stay,
    documents_go_once_the_clock_passes_the_age,
    removed_bodies_keep_their_records,
    worker_runs_retention_and_queues_the_next,
);
