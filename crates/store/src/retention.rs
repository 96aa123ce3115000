//! Retention rules: which raw document bodies the retention job may remove,
//! because their purchase order or invoice can no longer need them.

use crate::{InvoiceStatus, PoStatus};

/// Purchase-order states from which no sync runs again on its own or by a
/// re-sync, so the order's received documents are only kept for people to
/// read. A sync reads the parsed order of a revision, never the document
/// body, but an order that is still open keeps its documents so that a
/// person can compare them with what pobridge did.
pub const FINAL_PO_STATUSES: [PoStatus; 5] = [
    PoStatus::Synced,
    PoStatus::Cancelled,
    PoStatus::Shipped,
    PoStatus::Invoiced,
    PoStatus::TestNotSynced,
];

/// The invoice state whose document may be removed. A send posts the
/// stored document, so every other state, where a send or a person's retry
/// may still happen, keeps it.
pub const FINAL_INVOICE_STATUS: InvoiceStatus = InvoiceStatus::Sent;

/// How many bodies one call of [`crate::Store::remove_document_bodies`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemovedBodies {
    /// Received documents whose body and attachments were removed.
    pub documents: u64,
    /// Sent invoices whose document was removed.
    pub invoices: u64,
}

/// Returns the snake_case names of [`FINAL_PO_STATUSES`], as stored.
pub(crate) fn final_po_status_names() -> Vec<&'static str> {
    FINAL_PO_STATUSES
        .iter()
        .map(|status| status.as_str())
        .collect()
}
