//! Everything pobridge keeps about one invoice or credit, for the portal's
//! invoice page: the detail that `pobridge invoices SLUG show` prints,
//! Coupa's last response explained, the invoice's entries in its purchase
//! order's timeline, and what a person may do next.

use pobridge_core::PoId;
use pobridge_store::{InvoiceId, InvoiceStatus};
use serde::Serialize;

use super::order_record::InvoiceLink;
use super::orders::EventRow;
use super::{account, retry_rejection, show_invoice, AdminError, InvoiceDetail};
use crate::Engine;

/// One invoice or credit with what the portal shows around its detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRecordView {
    pub id: InvoiceId,
    /// The purchase order the invoice bills, to link to.
    pub po: PoId,
    pub detail: InvoiceDetail,
    /// Coupa's last response with advice on what it means, when Coupa
    /// responded with a failure.
    pub coupa_explained: Option<String>,
    /// The purchase order's timeline entries about this invoice, oldest first.
    pub timeline: Vec<EventRow>,
    /// The reason a retry would be rejected now, or `None` when it may run.
    pub retry_rejection: Option<String>,
    /// Whether a person may confirm what they found in Coupa.
    pub confirmable: bool,
    /// Whether a person may record that they entered the held invoice in
    /// Coupa by hand.
    pub enterable_by_hand: bool,
    /// The purchase order's other invoices and credits, oldest first.
    pub siblings: Vec<InvoiceLink>,
}

/// Reads one invoice or credit of the account by id. Another account's
/// invoice is [`pobridge_store::StoreError::NotFound`].
pub async fn invoice_record(
    engine: &Engine,
    slug: &str,
    id: InvoiceId,
) -> Result<InvoiceRecordView, AdminError> {
    let account = account(engine, slug).await?;
    let store = &engine.store;
    let record = store.invoice(account.id, id).await?;
    let buyer = store.buyer(account.id, record.buyer).await?;
    let detail = show_invoice(engine, slug, &record.invoice_number, Some(&buyer.name)).await?;

    let timeline = store
        .events(account.id, record.po)
        .await?
        .into_iter()
        .filter(|event| mentions_invoice(&event.message, &record.invoice_number))
        .map(EventRow::from)
        .collect();
    let siblings = store
        .invoices_for_po(account.id, record.po)
        .await?
        .into_iter()
        .filter(|other| other.id != record.id)
        .map(|other| InvoiceLink {
            id: other.id,
            invoice_number: other.invoice_number,
            kind: other.kind,
            status: other.status,
        })
        .collect();
    // An accepted invoice needs no advice, so only a failure is explained,
    // and not for a superseded invoice, which is never sent again.
    let coupa_explained = record
        .coupa_status
        .filter(|code| !(200..300).contains(code))
        .filter(|_| record.status != InvoiceStatus::Superseded)
        .map(|code| {
            pobridge_coupa::explain(code, record.coupa_text.as_deref().unwrap_or_default())
        });

    Ok(InvoiceRecordView {
        id: record.id,
        po: record.po,
        coupa_explained,
        timeline,
        retry_rejection: retry_rejection(&record, slug),
        confirmable: matches!(
            record.status,
            InvoiceStatus::ProbablyDelivered
                | InvoiceStatus::NeedsAttention
                | InvoiceStatus::ChangedAfterSending
        ),
        enterable_by_hand: record.status == InvoiceStatus::Held,
        siblings,
        detail,
    })
}

/// Returns whether a timeline entry is about the invoice numbered `number`, as the
/// invoicing jobs write them: "invoice NUMBER" followed by a space, a
/// punctuation mark or the end, so `INV-1` does not match `INV-10`.
fn mentions_invoice(message: &str, number: &str) -> bool {
    let needle = format!("invoice {number}");
    message.match_indices(&needle).any(|(at, _)| {
        message[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|next| !(next.is_alphanumeric() || next == '-' || next == '_'))
    })
}

#[cfg(test)]
mod tests {
    use pobridge_store::PoStatus;

    use super::*;
    use crate::admin::log_fixtures::{
        account_with_buyer, assert_not_found, engine_at, fail_invoice, invoice, receive, set_status,
    };

    #[test]
    fn mentions_only_the_whole_number() {
        assert!(mentions_invoice(
            "Coupa accepted invoice INV-1 (200 \"OK\")",
            "INV-1"
        ));
        assert!(mentions_invoice(
            "invoice INV-1: warning: rounding",
            "INV-1"
        ));
        assert!(mentions_invoice("queued again: invoice INV-1", "INV-1"));
        assert!(!mentions_invoice(
            "Coupa accepted invoice INV-10 (200)",
            "INV-1"
        ));
        assert!(!mentions_invoice(
            "Coupa accepted invoice INV-1-B (200)",
            "INV-1"
        ));
        assert!(!mentions_invoice("re-sync requested", "INV-1"));
    }

    #[tokio::test]
    async fn record_explains_coupa_and_lists_its_timeline() {
        let (engine, _clock) = engine_at("2024-05-10T12:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        let po = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T08:00:00Z",
            "<x/>",
        )
        .await;
        let first = invoice(
            &engine,
            account,
            buyer,
            po,
            "INV-1",
            "2024-05-10T09:00:00+00:00",
        )
        .await;
        invoice(
            &engine,
            account,
            buyer,
            po,
            "INV-10",
            "2024-05-10T09:00:00+00:00",
        )
        .await;
        set_status(
            &engine,
            account,
            po,
            PoStatus::Synced,
            "Coupa rejected invoice INV-1: no",
        )
        .await;
        set_status(
            &engine,
            account,
            po,
            PoStatus::Synced,
            "Coupa accepted invoice INV-10",
        )
        .await;
        fail_invoice(&engine, account, first.id).await;

        let view = invoice_record(&engine, "acme", first.id).await.unwrap();

        assert_eq!(view.detail.summary.invoice_number, "INV-1");
        assert_eq!(view.detail.summary.status, InvoiceStatus::Failed);
        let explained = view.coupa_explained.unwrap_or_default();
        assert!(explained.contains("shared secret"), "{explained}");
        let messages: Vec<&str> = view
            .timeline
            .iter()
            .map(|event| event.message.as_str())
            .collect();
        assert_eq!(messages, ["Coupa rejected invoice INV-1: no"]);
        assert_eq!(view.retry_rejection, None);
        assert!(!view.confirmable);
        assert_eq!(view.siblings.len(), 1);
        assert_eq!(view.siblings[0].invoice_number, "INV-10");
    }

    #[tokio::test]
    async fn other_accounts_invoice_is_not_found() {
        let (engine, _clock) = engine_at("2024-05-10T12:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        account_with_buyer(&engine, "globex").await;
        let po = receive(
            &engine,
            account,
            buyer,
            "PO-1",
            "2024-05-10T08:00:00Z",
            "<x/>",
        )
        .await;
        let stored = invoice(
            &engine,
            account,
            buyer,
            po,
            "INV-1",
            "2024-05-10T09:00:00+00:00",
        )
        .await;

        let result = invoice_record(&engine, "globex", stored.id).await;

        assert_not_found(result);
    }
}
