//! Everything pobridge keeps about one purchase order, for the portal's
//! order page. It adds to the detail that `pobridge orders SLUG show`
//! prints each received document as stored (masked), the change a held
//! revision makes, what was sent to Brightpearl, the sync job and the
//! order's invoices.

use chrono::{DateTime, Utc};
use pobridge_core::PoId;
use pobridge_store::{
    Account, InvoiceId, InvoiceKind, InvoiceStatus, Job, JobStatus, PurchaseOrder, Revision,
    RevisionStatus, TrackedKind,
};
use serde::Serialize;

use super::order_log::status_explanation;
use super::orders::{order_detail, OrderDetail, RevisionRow};
use super::{account, resync_rejection, AdminError};
use crate::sync::sync_job as new_sync_job;
use crate::Engine;

/// One purchase order with what the portal shows around its detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRecord {
    pub id: PoId,
    pub detail: OrderDetail,
    /// The meaning of the status and what a person should do, in plain words.
    pub explanation: &'static str,
    /// The reason a re-sync would be rejected now, or `None` when it may run.
    pub resync_rejection: Option<String>,
    /// Each revision's document as received, oldest first.
    pub documents: Vec<ReceivedDocument>,
    /// The change each revision held for review makes to the synced one.
    pub held_changes: Vec<HeldChange>,
    /// The `externalRef` of a sales order create that was sent, or was about
    /// to be, while its outcome is not known.
    pub create_attempted_ref: Option<String>,
    /// The job that syncs the order, once one was queued.
    pub sync_job: Option<SyncJob>,
    /// The Brightpearl orders linked to this purchase order.
    pub brightpearl_orders: Vec<BrightpearlOrder>,
    /// The order's invoices and credits, oldest first.
    pub invoices: Vec<InvoiceLink>,
}

/// One received document, with secrets and card numbers masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedDocument {
    pub revision: pobridge_core::RevisionId,
    pub payload_id: String,
    pub content_type: String,
    pub received_at: DateTime<Utc>,
    /// The body as text. Bytes that are not UTF-8 show as U+FFFD. It is
    /// empty when retention removed the body.
    pub text: String,
    /// When retention removed the body.
    pub removed_at: Option<DateTime<Utc>>,
}

/// A revision held for review and what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldChange {
    pub revision: pobridge_core::RevisionId,
    pub received_at: DateTime<Utc>,
    /// The changes to totals, addresses and lines, joined by "; ".
    pub diff: String,
}

/// The state of an order's sync job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncJob {
    pub status: JobStatus,
    /// Attempts that counted; throttled or disconnected ones do not.
    pub attempts: i32,
    /// When the job runs next, while it is queued.
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// A Brightpearl order linked to the purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrightpearlOrder {
    pub order_id: i64,
    pub kind: TrackedKind,
    pub parent_order_id: Option<i64>,
    /// The invoice reference last seen, or `None` before invoicing.
    pub invoice_reference: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// An invoice or credit of the order, to link to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLink {
    pub id: InvoiceId,
    pub invoice_number: String,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
}

/// Reads one purchase order of the account by id. Another account's order
/// is [`pobridge_store::StoreError::NotFound`].
pub async fn order_record(
    engine: &Engine,
    slug: &str,
    id: PoId,
) -> Result<OrderRecord, AdminError> {
    let account = account(engine, slug).await?;
    let store = &engine.store;
    let po = store.purchase_order(account.id, id).await?;
    let buyer = store.buyer(account.id, po.buyer_id).await?;

    let revisions = store.revisions(account.id, po.id).await?;
    let mut documents = Vec::with_capacity(revisions.len());
    let mut rows = Vec::with_capacity(revisions.len());
    for revision in &revisions {
        let document = received_document(engine, &account, revision).await?;
        rows.push(RevisionRow::new(revision, document.removed_at));
        documents.push(document);
    }
    let brightpearl_orders = store
        .tracked_orders_for_po(account.id, po.id)
        .await?
        .into_iter()
        .map(|tracked| BrightpearlOrder {
            order_id: tracked.brightpearl_order_id,
            kind: tracked.kind,
            parent_order_id: tracked.parent_order_id,
            invoice_reference: tracked.invoice_reference,
            checked_at: tracked.checked_at,
        })
        .collect();
    let invoices = store
        .invoices_for_po(account.id, po.id)
        .await?
        .into_iter()
        .map(|invoice| InvoiceLink {
            id: invoice.id,
            invoice_number: invoice.invoice_number,
            kind: invoice.kind,
            status: invoice.status,
        })
        .collect();

    let held_changes = held_changes(engine, &account, &po, &revisions).await?;
    let sync_job = sync_job(engine, &account, &po).await?;
    Ok(OrderRecord {
        id: po.id,
        explanation: status_explanation(po.status),
        resync_rejection: resync_rejection(&po, slug),
        held_changes,
        create_attempted_ref: po.create_attempted_ref.clone(),
        sync_job,
        detail: order_detail(engine, &account, po, buyer.name, rows).await?,
        documents,
        brightpearl_orders,
        invoices,
    })
}

async fn received_document(
    engine: &Engine,
    account: &Account,
    revision: &Revision,
) -> Result<ReceivedDocument, AdminError> {
    let document = engine
        .store
        .document(account.id, revision.document_id)
        .await?;
    // The store keeps the body masked already; masking again keeps a body
    // stored unmasked by mistake from being shown.
    let masked = pobridge_cxml::mask_secrets(&document.masked_body);
    Ok(ReceivedDocument {
        revision: revision.id,
        payload_id: document.payload_id,
        content_type: document.content_type,
        received_at: document.received_at,
        text: pobridge_cxml::document_text(&masked).into_owned(),
        removed_at: document.body_removed_at,
    })
}

/// Compares each revision held for review with the revision the sales
/// order was made from, as the sync did when it held it.
async fn held_changes(
    engine: &Engine,
    account: &Account,
    po: &PurchaseOrder,
    revisions: &[Revision],
) -> Result<Vec<HeldChange>, AdminError> {
    let held: Vec<&Revision> = revisions
        .iter()
        .filter(|revision| revision.status == RevisionStatus::HeldForReview)
        .collect();
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let synced = match po.synced_revision {
        Some(id) => Some(engine.store.revision(account.id, id).await?),
        None => None,
    };
    Ok(held
        .into_iter()
        .map(|revision| HeldChange {
            revision: revision.id,
            received_at: revision.received_at,
            diff: crate::settings::revision_diff(
                synced.as_ref().map(|synced| &synced.order),
                &revision.order,
            ),
        })
        .collect())
}

/// Finds the order's sync job by its key.
///
/// NOTE: the store lists every job of the account, so this reads them all
/// to find one. A store call that reads one job by key would not.
async fn sync_job(
    engine: &Engine,
    account: &Account,
    po: &PurchaseOrder,
) -> Result<Option<SyncJob>, AdminError> {
    let key = new_sync_job(account.id, po.buyer_id, &po.number, engine.clock.now()).key;
    let jobs: Vec<Job> = engine.store.list_jobs(account.id).await?;
    Ok(jobs
        .into_iter()
        .filter(|job| job.key == key)
        .max_by_key(|job| job.id)
        .map(|job| SyncJob {
            status: job.status,
            attempts: job.attempts,
            run_at: job.run_at,
            last_error: job.last_error,
        }))
}

#[cfg(test)]
mod tests {
    use pobridge_store::PoStatus;

    use super::*;
    use crate::admin::log_fixtures::{
        account_with_buyer, assert_not_found, engine_at, receive, set_status,
    };

    const BODY: &str = "<cXML><Header><Sender><Credential domain=\"NetworkID\">\
                        <Identity>coupa</Identity><SharedSecret>hunter2</SharedSecret>\
                        </Credential></Sender></Header><Request/></cXML>";

    #[tokio::test]
    async fn record_shows_masked_document_and_reason() {
        let (engine, _clock) = engine_at("2024-05-10T06:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        let po = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T06:00:00Z",
            BODY,
        )
        .await;
        set_status(
            &engine,
            account,
            po,
            PoStatus::Failed,
            "Brightpearl rejected it",
        )
        .await;

        let record = order_record(&engine, "acme", po).await.unwrap();

        assert_eq!(record.detail.po_number, "PO-1");
        assert_eq!(record.detail.status, PoStatus::Failed);
        assert_eq!(
            record.detail.reason.as_deref(),
            Some("Brightpearl rejected it")
        );
        assert!(record.explanation.starts_with("Failed"));
        assert_eq!(record.resync_rejection, None);
        assert_eq!(record.documents.len(), 1);
        let text = &record.documents[0].text;
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<SharedSecret>"), "{text}");
        assert!(record.held_changes.is_empty());
        assert!(record.invoices.is_empty());
    }

    #[tokio::test]
    async fn other_accounts_order_is_not_found() {
        let (engine, _clock) = engine_at("2024-05-10T06:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        account_with_buyer(&engine, "globex").await;
        let po = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T06:00:00Z",
            BODY,
        )
        .await;

        let result = order_record(&engine, "globex", po).await;

        assert_not_found(result);
    }
}
