//! Invoices out: from an invoiced Brightpearl order to its invoice in the
//! buyer's Coupa.
//!
//! A poll or sweep ([`crate::invoice_poll`]) fetches tracked orders. The
//! rows of each are linked to PO lines on its first fetch ([`links`]). When
//! an order's invoice reference becomes a real number, its invoice is built
//! and checked ([`prepare`]) and stored with a send job in one transaction
//! ([`record`]): pending when every check passes, held with the reasons
//! otherwise. The send job ([`send`]) posts a pending invoice with the
//! current shared secret and records Coupa's response, and rebuilds a
//! held one first. [`schedule`] keeps the poll and the sweep queued.
//!
//! An invoice's number and stored document never change once Coupa may
//! have seen them, so Coupa rejects a second copy that a retry after a lost
//! response delivers. A Brightpearl invoice that changes after Coupa may
//! have accepted it is marked for a person, and pobridge does not send it
//! again.

pub mod links;
pub mod prepare;
pub mod record;
pub mod schedule;
pub mod send;

use pobridge_core::{AccountId, PoId};
use pobridge_cxml::OrderRequest;
use pobridge_store::{InvoiceRecord, InvoiceUpdate, PoStatusUpdate, PurchaseOrder, StoreError};

use crate::Engine;

impl Engine {
    /// Applies `update` to `invoice` only while it still has the status it
    /// was read with, and returns whether it did. Sends, polls and people
    /// act on what they read earlier, so none of them undoes another's
    /// change.
    pub(crate) async fn update_read_invoice(
        &self,
        account: AccountId,
        invoice: &InvoiceRecord,
        update: &InvoiceUpdate,
    ) -> Result<bool, StoreError> {
        self.store
            .update_invoice_from(
                account,
                invoice.id,
                invoice.status,
                update,
                self.clock.now(),
            )
            .await
    }

    /// Loads the purchase order revision that `po`'s sales order was created
    /// from, or its latest revision when none is synced yet.
    pub(crate) async fn synced_order(
        &self,
        account: AccountId,
        po: &PurchaseOrder,
    ) -> Result<OrderRequest, StoreError> {
        let revision = po.synced_revision.unwrap_or(po.latest_revision);
        let revision = self.store.revision(account, revision).await?;
        serde_json::from_value(revision.order).map_err(|error| StoreError::Corrupt {
            entity: "purchase order revision",
            detail: error.to_string(),
        })
    }

    /// Appends a line to a purchase order's timeline, keeping its status
    /// and reason.
    /// Adds each warning of building invoice `number` to the timeline of
    /// its purchase order, however the invoice came to be built.
    pub(crate) async fn warning_events(
        &self,
        account: AccountId,
        po: PoId,
        number: &str,
        warnings: &[String],
    ) -> Result<(), StoreError> {
        for warning in warnings {
            let message = format!("invoice {number}: warning: {warning}");
            self.po_event(account, po, &message).await?;
        }
        Ok(())
    }

    pub(crate) async fn po_event(
        &self,
        account: AccountId,
        po: PoId,
        message: &str,
    ) -> Result<(), StoreError> {
        let current = self.store.purchase_order(account, po).await?;
        let update = PoStatusUpdate {
            status: current.status,
            reason: current.reason,
            brightpearl_order_id: None,
            synced_revision: None,
            event: message.to_owned(),
        };
        self.store
            .set_po_status(account, po, &update, self.clock.now())
            .await
    }
}
