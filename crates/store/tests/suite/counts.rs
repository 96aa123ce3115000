//! Counts across all accounts for the metrics endpoint.

use std::collections::BTreeMap;

use pobridge_store::{InvoiceStatus, JobOutcome, PoStatus, PoStatusUpdate, Store};

use super::invoicing::new_invoice;
use super::*;

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs
        .iter()
        .map(|(status, count)| ((*status).to_owned(), *count))
        .collect()
}

pub async fn status_counts_cover_every_account(store: &dyn Store) {
    let empty = store.status_counts(at(0)).await.unwrap();
    assert_eq!(empty, pobridge_store::StatusCounts::default());

    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "Acme Buyer").await;
    let globex_buyer = buyer(store, globex, "Globex Buyer").await;
    let acme_po = receive(
        store,
        acme,
        &new_revision(acme_buyer, "PO-1", Some(1), None),
        "p1",
    )
    .await
    .po
    .unwrap();
    let globex_po = receive(
        store,
        globex,
        &new_revision(globex_buyer, "PO-2", Some(1), None),
        "p2",
    )
    .await
    .po
    .unwrap();
    let synced = PoStatusUpdate {
        status: PoStatus::Synced,
        reason: None,
        brightpearl_order_id: Some(300),
        synced_revision: None,
        event: "synced".to_owned(),
    };
    store
        .set_po_status(acme, acme_po, &synced, at(1))
        .await
        .unwrap();

    let pending = new_invoice(acme_po, acme_buyer, "INV-1", &[(1, "1")]);
    let mut held = new_invoice(globex_po, globex_buyer, "INV-2", &[(1, "1")]);
    held.status = InvoiceStatus::Held;
    store
        .create_invoice(acme, &pending, None, at(1))
        .await
        .unwrap();
    store
        .create_invoice(globex, &held, None, at(1))
        .await
        .unwrap();

    let mut ids = Vec::new();
    for (key, run_at) in [("a", 1), ("b", 2), ("c", 3), ("later", 30)] {
        let job = new_job(if key == "b" { globex } else { acme }, key, at(run_at));
        ids.push(store.enqueue_job(&job).await.unwrap());
    }
    let claimed = store
        .claim_jobs("worker", at(5), chrono::Duration::minutes(5), 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let wait = JobOutcome::Wait {
        reason: "awaiting_mapping".to_owned(),
    };
    assert!(store
        .finish_job(ids[1], "worker", &wait, at(5))
        .await
        .unwrap());

    let now = store.status_counts(at(5)).await.unwrap();
    assert_eq!(
        now.jobs,
        counts(&[("queued", 2), ("running", 1), ("waiting", 1)])
    );
    assert_eq!(now.oldest_due_job, Some(at(3)));
    assert_eq!(
        now.purchase_orders,
        counts(&[("received", 1), ("synced", 1)])
    );
    assert_eq!(now.invoices, counts(&[("held", 1), ("pending", 1)]));

    // Before minute 3 no queued job is due, though two are queued.
    let earlier = store.status_counts(at(2)).await.unwrap();
    assert_eq!(earlier.oldest_due_job, None);
    assert_eq!(earlier.jobs.get("queued"), Some(&2));
}
