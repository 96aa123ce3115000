//! Retention: removing old raw document bodies while keeping their records.

use pobridge_core::PoId;
use pobridge_store::{
    InvoiceStatus, InvoiceUpdate, PoStatus, PoStatusUpdate, RecordedDocument, RemovedBodies, Store,
};

use super::invoicing::new_invoice;
use super::*;

/// Records an order with an attachment, received at `minutes`, and sets it to `status`.
async fn order_in(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
    number: &str,
    minutes: i64,
    status: PoStatus,
) -> RecordedDocument {
    let revision = new_revision(buyer, number, Some(1), None);
    let mut document = with_attachment(
        new_document(
            buyer,
            &format!("payload-{number}"),
            &format!("sha-{number}"),
        ),
        "part-1",
    );
    document.received_at = at(minutes);
    let recorded = store
        .record_document(account, &document, Some(&revision), None)
        .await
        .unwrap();
    let update = PoStatusUpdate {
        status,
        reason: None,
        brightpearl_order_id: None,
        synced_revision: None,
        event: status.as_str().to_owned(),
    };
    store
        .set_po_status(account, recorded.po.unwrap(), &update, at(minutes))
        .await
        .unwrap();
    recorded
}

/// Creates an invoice for `po` in `status`, sent at `minutes` when it is sent.
async fn invoice_in(
    store: &dyn Store,
    account: AccountId,
    buyer: BuyerId,
    po: PoId,
    number: &str,
    minutes: i64,
    status: InvoiceStatus,
) -> pobridge_store::InvoiceId {
    let created = store
        .create_invoice(
            account,
            &new_invoice(po, buyer, number, &[(1, "1")]),
            None,
            at(minutes),
        )
        .await
        .unwrap();
    let update = InvoiceUpdate {
        status,
        reason: None,
        coupa_status: None,
        coupa_text: None,
        counts_attempt: true,
        outcome_unknown: None,
        document: None,
        sent_at: (status == InvoiceStatus::Sent).then(|| at(minutes)),
    };
    store
        .update_invoice(account, created.id, &update, at(minutes))
        .await
        .unwrap();
    created.id
}

pub async fn retention_removes_old_final_order_documents(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let old_synced = order_in(store, account_id, buyer_id, "PO-1", 10, PoStatus::Synced).await;
    let old_failed = order_in(store, account_id, buyer_id, "PO-2", 20, PoStatus::Failed).await;
    let old_waiting = order_in(
        store,
        account_id,
        buyer_id,
        "PO-3",
        30,
        PoStatus::AwaitingMapping,
    )
    .await;
    let new_synced = order_in(store, account_id, buyer_id, "PO-4", 200, PoStatus::Synced).await;

    let removed = store
        .remove_document_bodies(account_id, at(100), 50, at(500))
        .await
        .unwrap();
    assert_eq!(removed.documents, 1);

    let gone = store
        .document(account_id, old_synced.document)
        .await
        .unwrap();
    assert!(gone.masked_body.is_empty());
    assert_eq!(gone.body_removed_at, Some(at(500)));
    assert_eq!(gone.payload_id, "payload-PO-1");
    assert_eq!(gone.body_sha256, "sha-PO-1");
    assert_eq!(gone.received_at, at(10));
    let attachments = store
        .attachments(account_id, old_synced.document)
        .await
        .unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].content_id, "part-1");
    assert!(attachments[0].bytes.is_empty());

    let po = store
        .purchase_order(account_id, old_synced.po.unwrap())
        .await
        .unwrap();
    assert_eq!(po.status, PoStatus::Synced);
    let revision = store
        .revision(account_id, old_synced.revision.unwrap())
        .await
        .unwrap();
    assert_eq!(revision.order["number"], "PO-1");

    for kept in [old_failed, old_waiting, new_synced] {
        let document = store.document(account_id, kept.document).await.unwrap();
        assert_eq!(document.masked_body, corpus_order());
        assert_eq!(document.body_removed_at, None);
        let attachments = store.attachments(account_id, kept.document).await.unwrap();
        assert_eq!(attachments[0].bytes, attachment_bytes());
    }
}

pub async fn retention_removes_only_old_sent_invoice_documents(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order_in(store, account_id, buyer_id, "PO-1", 0, PoStatus::Synced)
        .await
        .po
        .unwrap();
    let old_sent = invoice_in(
        store,
        account_id,
        buyer_id,
        po,
        "INV-1",
        10,
        InvoiceStatus::Sent,
    )
    .await;
    let mut kept = Vec::new();
    for (number, status) in [
        ("INV-2", InvoiceStatus::Failed),
        ("INV-3", InvoiceStatus::Held),
        ("INV-4", InvoiceStatus::Pending),
        ("INV-5", InvoiceStatus::ProbablyDelivered),
        ("INV-6", InvoiceStatus::ChangedAfterSending),
    ] {
        kept.push(invoice_in(store, account_id, buyer_id, po, number, 20, status).await);
    }
    kept.push(
        invoice_in(
            store,
            account_id,
            buyer_id,
            po,
            "INV-7",
            200,
            InvoiceStatus::Sent,
        )
        .await,
    );

    let removed = store
        .remove_document_bodies(account_id, at(100), 50, at(500))
        .await
        .unwrap();
    assert_eq!(removed.invoices, 1);

    let gone = store.invoice(account_id, old_sent).await.unwrap();
    assert!(gone.document.is_empty());
    assert_eq!(gone.document_removed_at, Some(at(500)));
    assert_eq!(gone.status, InvoiceStatus::Sent);
    assert_eq!(gone.sent_total.to_string(), "1999.990");
    assert_eq!(gone.lines.len(), 1);
    for id in kept {
        let invoice = store.invoice(account_id, id).await.unwrap();
        assert!(!invoice.document.is_empty(), "{}", invoice.invoice_number);
        assert_eq!(invoice.document_removed_at, None);
    }
}

pub async fn retention_removes_at_most_the_limit_per_call(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let other_account = super::account(store, "globex").await;
    let other_buyer = buyer(store, other_account, "initech").await;
    let theirs = order_in(
        store,
        other_account,
        other_buyer,
        "PO-9",
        10,
        PoStatus::Synced,
    )
    .await;
    for number in ["PO-1", "PO-2", "PO-3"] {
        order_in(store, account_id, buyer_id, number, 10, PoStatus::Synced).await;
    }

    let first = store
        .remove_document_bodies(account_id, at(100), 2, at(500))
        .await
        .unwrap();
    let second = store
        .remove_document_bodies(account_id, at(100), 2, at(501))
        .await
        .unwrap();
    let third = store
        .remove_document_bodies(account_id, at(100), 2, at(502))
        .await
        .unwrap();

    assert_eq!(first.documents, 2);
    assert_eq!(second.documents, 1);
    assert_eq!(third, RemovedBodies::default());
    let other = store
        .document(other_account, theirs.document)
        .await
        .unwrap();
    assert_eq!(other.body_removed_at, None);
}

pub async fn rebuilt_invoice_document_is_no_longer_removed(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let buyer_id = buyer(store, account_id, "initech").await;
    let po = order_in(store, account_id, buyer_id, "PO-1", 0, PoStatus::Synced)
        .await
        .po
        .unwrap();
    let id = invoice_in(
        store,
        account_id,
        buyer_id,
        po,
        "INV-1",
        10,
        InvoiceStatus::Sent,
    )
    .await;
    store
        .remove_document_bodies(account_id, at(100), 50, at(500))
        .await
        .unwrap();

    let update = InvoiceUpdate {
        status: InvoiceStatus::Pending,
        reason: None,
        coupa_status: None,
        coupa_text: None,
        counts_attempt: false,
        outcome_unknown: None,
        document: Some("<cXML/>".to_owned()),
        sent_at: None,
    };
    store
        .update_invoice(account_id, id, &update, at(600))
        .await
        .unwrap();

    let invoice = store.invoice(account_id, id).await.unwrap();
    assert_eq!(invoice.document, "<cXML/>");
    assert_eq!(invoice.document_removed_at, None);
}
