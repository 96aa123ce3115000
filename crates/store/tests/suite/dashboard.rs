//! The dashboard's reads: activity in a time range and the waiting orders.

use chrono::{DateTime, Utc};
use pobridge_core::PoId;
use pobridge_store::{
    InvoiceFailure, InvoiceId, InvoiceStatus, InvoiceUpdate, OrderFailure, PoStatus,
    PoStatusUpdate, Store,
};

use super::invoicing::new_invoice;
use super::*;

/// Returns the start of the range the activity scenarios read, which
/// lasts one day.
fn since() -> DateTime<Utc> {
    at(60)
}

fn until() -> DateTime<Utc> {
    at(60 + 24 * 60)
}

/// Records the first document of `number`, received at `received`.
async fn order_at(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
    number: &str,
    received: DateTime<Utc>,
) -> PoId {
    let revision = new_revision(buyer, number, Some(1), None);
    let mut document = new_document(
        buyer,
        &format!("payload-{number}"),
        &format!("sha-{number}"),
    );
    document.received_at = received;
    store
        .record_document(account, &document, Some(&revision), None)
        .await
        .unwrap()
        .po
        .unwrap()
}

async fn set_status(
    store: &dyn Store,
    account: AccountId,
    po: PoId,
    status: PoStatus,
    message: &str,
    now: DateTime<Utc>,
) {
    let update = PoStatusUpdate {
        status,
        reason: Some(message.to_owned()),
        brightpearl_order_id: None,
        synced_revision: None,
        event: message.to_owned(),
    };
    store
        .set_po_status(account, po, &update, now)
        .await
        .unwrap();
}

/// Stores an invoice of `po` and moves it to `status` at `now`, sent at
/// `now` when the status is `sent`.
async fn invoice_at(
    store: &dyn Store,
    account: AccountId,
    (po, buyer): (PoId, BuyerId),
    number: &str,
    status: InvoiceStatus,
    now: DateTime<Utc>,
) -> InvoiceId {
    let invoice = new_invoice(po, buyer, number, &[(1, "1")]);
    let id = store
        .create_invoice(account, &invoice, None, at(0))
        .await
        .unwrap()
        .id;
    let update = InvoiceUpdate {
        status,
        reason: (status != InvoiceStatus::Sent).then(|| format!("{number} was {status:?}")),
        coupa_status: None,
        coupa_text: None,
        counts_attempt: true,
        outcome_unknown: None,
        document: None,
        sent_at: (status == InvoiceStatus::Sent).then_some(now),
    };
    store
        .update_invoice(account, id, &update, now)
        .await
        .unwrap();
    id
}

/// Records, in `account`, one of each kind of activity inside the range,
/// and returns the ids of the failed order and the two failed invoices.
async fn activity_in_range(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
) -> (PoId, InvoiceId, InvoiceId) {
    let synced = order_at(store, account, buyer, "PO-1", at(90)).await;
    set_status(store, account, synced, PoStatus::Synced, "synced", at(120)).await;
    // A timeline line keeps the status, so it repeats `synced`.
    set_status(
        store,
        account,
        synced,
        PoStatus::Synced,
        "invoice sent",
        at(180),
    )
    .await;

    let failed = order_at(store, account, buyer, "PO-2", at(100)).await;
    set_status(
        store,
        account,
        failed,
        PoStatus::Failed,
        "rejected A",
        at(130),
    )
    .await;
    set_status(store, account, failed, PoStatus::Failed, "noted", at(140)).await;
    set_status(
        store,
        account,
        failed,
        PoStatus::Received,
        "re-sync",
        at(150),
    )
    .await;
    set_status(
        store,
        account,
        failed,
        PoStatus::Failed,
        "rejected B",
        at(160),
    )
    .await;

    let pair = (synced, buyer);
    invoice_at(store, account, pair, "INV-1", InvoiceStatus::Sent, at(300)).await;
    let rejected = invoice_at(
        store,
        account,
        pair,
        "INV-2",
        InvoiceStatus::Failed,
        at(310),
    )
    .await;
    let attention = invoice_at(
        store,
        account,
        pair,
        "INV-3",
        InvoiceStatus::NeedsAttention,
        at(320),
    )
    .await;
    invoice_at(store, account, pair, "INV-4", InvoiceStatus::Held, at(330)).await;
    (failed, rejected, attention)
}

pub async fn dashboard_activity_reads_changes_in_the_range(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "Acme Buyer").await;
    let globex_buyer = buyer(store, globex, "Globex Buyer").await;

    // Before the range: an order synced, one failed, invoices sent and failed.
    let old_synced = order_at(store, acme, acme_buyer, "PO-OLD-1", at(0)).await;
    set_status(store, acme, old_synced, PoStatus::Synced, "synced", at(30)).await;
    set_status(
        store,
        acme,
        old_synced,
        PoStatus::Synced,
        "timeline",
        at(200),
    )
    .await;
    let old_failed = order_at(store, acme, acme_buyer, "PO-OLD-2", at(10)).await;
    set_status(
        store,
        acme,
        old_failed,
        PoStatus::Failed,
        "old failure",
        at(20),
    )
    .await;
    set_status(
        store,
        acme,
        old_failed,
        PoStatus::Failed,
        "still failed",
        at(200),
    )
    .await;
    let old = (old_synced, acme_buyer);
    invoice_at(store, acme, old, "INV-OLD-1", InvoiceStatus::Sent, at(30)).await;
    invoice_at(store, acme, old, "INV-OLD-2", InvoiceStatus::Failed, at(40)).await;
    // At the end of the range, which is excluded.
    order_at(store, acme, acme_buyer, "PO-LATE", until()).await;

    let (failed, rejected, attention) = activity_in_range(store, acme, acme_buyer).await;
    activity_in_range(store, globex, globex_buyer).await;

    let activity = store
        .dashboard_activity(acme, since(), until())
        .await
        .unwrap();
    assert_eq!(activity.orders_received, vec![at(90), at(100)]);
    assert_eq!(activity.orders_synced, vec![at(120)]);
    let order_failures = vec![
        OrderFailure {
            po: failed,
            at: at(130),
            reason: "rejected A".to_owned(),
        },
        OrderFailure {
            po: failed,
            at: at(160),
            reason: "rejected B".to_owned(),
        },
    ];
    assert_eq!(activity.order_failures, order_failures);
    assert_eq!(activity.invoices_sent, vec![at(300)]);
    let invoice_failures = vec![
        InvoiceFailure {
            invoice: rejected,
            at: at(310),
            reason: Some("INV-2 was Failed".to_owned()),
        },
        InvoiceFailure {
            invoice: attention,
            at: at(320),
            reason: Some("INV-3 was NeedsAttention".to_owned()),
        },
    ];
    assert_eq!(activity.invoice_failures, invoice_failures);
}

pub async fn dashboard_activity_of_another_account_is_not_read(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let globex_buyer = buyer(store, globex, "Globex Buyer").await;
    activity_in_range(store, globex, globex_buyer).await;

    let acme_activity = store
        .dashboard_activity(acme, since(), until())
        .await
        .unwrap();
    assert_eq!(acme_activity, pobridge_store::DashboardActivity::default());

    let globex_activity = store
        .dashboard_activity(globex, since(), until())
        .await
        .unwrap();
    assert_eq!(globex_activity.orders_received.len(), 2);
    assert_eq!(globex_activity.orders_synced.len(), 1);
    assert_eq!(globex_activity.order_failures.len(), 2);
    assert_eq!(globex_activity.invoices_sent.len(), 1);
    assert_eq!(globex_activity.invoice_failures.len(), 2);
}

pub async fn waiting_orders_list_longest_waiting_first(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let acme_buyer = buyer(store, acme, "Acme Buyer").await;
    let globex_buyer = buyer(store, globex, "Globex Buyer").await;

    let mapping = order_at(store, acme, acme_buyer, "PO-MAP", at(0)).await;
    set_status(
        store,
        acme,
        mapping,
        PoStatus::AwaitingMapping,
        "map A",
        at(10),
    )
    .await;
    set_status(
        store,
        acme,
        mapping,
        PoStatus::AwaitingMapping,
        "map A, B",
        at(50),
    )
    .await;
    let customer = order_at(store, acme, acme_buyer, "PO-CUST", at(0)).await;
    set_status(
        store,
        acme,
        customer,
        PoStatus::AwaitingCustomer,
        "who",
        at(5),
    )
    .await;
    set_status(store, acme, customer, PoStatus::Retrying, "timeout", at(20)).await;
    set_status(
        store,
        acme,
        customer,
        PoStatus::AwaitingCustomer,
        "who?",
        at(30),
    )
    .await;
    let review = order_at(store, acme, acme_buyer, "PO-REV", at(0)).await;
    set_status(
        store,
        acme,
        review,
        PoStatus::HeldForReview,
        "changed",
        at(40),
    )
    .await;
    let synced = order_at(store, acme, acme_buyer, "PO-OK", at(0)).await;
    set_status(store, acme, synced, PoStatus::Synced, "synced", at(45)).await;
    let other = order_at(store, globex, globex_buyer, "PO-MAP", at(0)).await;
    set_status(
        store,
        globex,
        other,
        PoStatus::AwaitingMapping,
        "map",
        at(1),
    )
    .await;

    let statuses = [
        PoStatus::AwaitingMapping,
        PoStatus::AwaitingCustomer,
        PoStatus::HeldForReview,
    ];
    let waiting = store.waiting_orders(acme, &statuses).await.unwrap();
    let listed: Vec<(&str, PoStatus, Option<&str>, DateTime<Utc>)> = waiting
        .iter()
        .map(|order| {
            (
                order.number.as_str(),
                order.status,
                order.reason.as_deref(),
                order.since,
            )
        })
        .collect();
    let expected = vec![
        (
            "PO-MAP",
            PoStatus::AwaitingMapping,
            Some("map A, B"),
            at(10),
        ),
        ("PO-CUST", PoStatus::AwaitingCustomer, Some("who?"), at(30)),
        ("PO-REV", PoStatus::HeldForReview, Some("changed"), at(40)),
    ];
    assert_eq!(listed, expected);
    assert_eq!(waiting[0].po, mapping);
    assert_eq!(waiting[0].buyer, acme_buyer);
    assert!(store.waiting_orders(acme, &[]).await.unwrap().is_empty());
}

pub async fn waiting_order_without_events_waits_since_its_update(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let acme_buyer = buyer(store, acme, "Acme Buyer").await;
    let received = order_at(store, acme, acme_buyer, "PO-NEW", at(7)).await;

    let waiting = store
        .waiting_orders(acme, &[PoStatus::Received])
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].po, received);
    assert_eq!(waiting[0].since, at(7));
}
