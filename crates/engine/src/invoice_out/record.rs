//! Recording what a poll or sweep finds: the invoice of a newly invoiced
//! order, and what becomes of an order's stored invoice when Brightpearl
//! takes the invoice back or issues another.

use pobridge_brightpearl::Order;
use pobridge_store::{
    Account, InvoiceId, InvoiceRecord, InvoiceStatus, InvoiceUpdate, NewInvoice, StoreError,
    TrackedOrder,
};

use super::prepare::is_accepted;
use crate::invoice_jobs::send_job;
use crate::Engine;

impl Engine {
    /// Stores the invoice of an order newly invoiced as `number`, with the
    /// job that sends it, in one transaction. Does nothing when this
    /// order's invoice with that number is stored already, so a poll that
    /// stopped before saving what it saw can run again. Returns the new
    /// invoice's id.
    pub(crate) async fn record_new_invoice(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        order: &Order,
        number: &str,
    ) -> Result<Option<InvoiceId>, StoreError> {
        let po = self.store.purchase_order(account.id, tracked.po_id).await?;
        let existing = self
            .store
            .invoice_by_number(account.id, po.buyer_id, number)
            .await?;
        if let Some(existing) = existing {
            self.handle_stored_number(account, tracked, &existing)
                .await?;
            return Ok(None);
        }

        let prepared = self.prepare_invoice(account, tracked, order).await?;
        let now = self.clock.now();
        let invoice = NewInvoice {
            po: po.id,
            buyer: po.buyer_id,
            brightpearl_order_id: order.id,
            invoice_number: prepared.number.clone(),
            kind: prepared.kind,
            invoice_date: prepared.content.invoice_date,
            currency: prepared.content.currency.clone(),
            brightpearl_total: prepared.content.brightpearl_total,
            sent_total: prepared.content.sent_total,
            document: prepared.content.document.clone(),
            status: prepared.content.status,
            reason: prepared.content.reason.clone(),
            lines: prepared.content.lines.clone(),
        };
        let account_id = account.id;
        let job_for = move |id: InvoiceId| send_job(account_id, id, now);
        let created = match self
            .store
            .create_invoice_with_job(account.id, &invoice, &job_for, now)
            .await
        {
            Ok(created) => created,
            // A poll and a sweep that ran at the same time both found the
            // invoice, and the other one stored it.
            Err(StoreError::Conflict { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        self.wake.notify_one();

        tracing::info!(tenant.id = %account.id, po.id = %po.id, invoice.id = %created.id, invoice.number = %created.invoice_number, brightpearl.order_id = order.id, status = created.status.as_str(), "invoice stored");
        let message = match &created.reason {
            Some(reason) => format!(
                "invoice {number} of Brightpearl order {} is held: {reason}",
                order.id
            ),
            None => format!(
                "invoice {number} of Brightpearl order {} is queued for sending to Coupa",
                order.id
            ),
        };
        self.po_event(account.id, po.id, &message).await?;
        self.warning_events(account.id, po.id, number, &prepared.warnings)
            .await?;
        Ok(Some(created.id))
    }

    /// Handles a newly invoiced order whose number a stored invoice has.
    /// The same order's invoice that was held, failed or superseded is
    /// queued again, to be rebuilt from the order as it is now. Another order's
    /// invoice is left alone, and the clash is recorded for a person.
    async fn handle_stored_number(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        existing: &InvoiceRecord,
    ) -> Result<(), StoreError> {
        let order_id = tracked.brightpearl_order_id;
        let number = &existing.invoice_number;
        if existing.brightpearl_order_id != order_id {
            let message = format!(
                "Brightpearl order {order_id} was invoiced as {number}, but that number \
                 belongs to the stored invoice of order {} for this buyer, and Coupa rejects \
                 a reused number: no invoice is sent for order {order_id}, so invoice it in \
                 Coupa by hand",
                existing.brightpearl_order_id
            );
            tracing::warn!(tenant.id = %account.id, po.id = %tracked.po_id, brightpearl.order_id = order_id, invoice.number = %number, other_order_id = existing.brightpearl_order_id, "invoice number already used by another order");
            return self.po_event(account.id, tracked.po_id, &message).await;
        }
        if !matches!(
            existing.status,
            InvoiceStatus::Held | InvoiceStatus::Failed | InvoiceStatus::Superseded
        ) {
            return Ok(());
        }

        let reason = format!(
            "Brightpearl order {order_id} was invoiced again as {number}: rebuilding the invoice"
        );
        let update = InvoiceUpdate {
            reason: Some(reason.clone()),
            ..unchanged(existing, InvoiceStatus::Held)
        };
        let now = self.clock.now();
        let requeued = self
            .update_read_invoice(account.id, existing, &update)
            .await?;
        if !requeued {
            // Changed since it was read, such as by a person, so the next
            // poll reads it as it is now.
            return Ok(());
        }
        self.store
            .enqueue_job(&send_job(account.id, existing.id, now))
            .await?;
        self.wake.notify_one();
        self.po_event(account.id, tracked.po_id, &reason).await
    }

    /// Handles an order whose invoice reference changed from `previous` to
    /// `issued` (`None` when the order was un-invoiced). An invoice that
    /// Coupa has, or may have, becomes `changed_after_sending` for a person
    /// and is never sent again. Any other invoice becomes `superseded`,
    /// and a new number gets its own invoice.
    pub(crate) async fn record_invoice_change(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        previous: &str,
        issued: Option<&str>,
    ) -> Result<(), StoreError> {
        // The change is written only while the invoice is as it was read, so
        // a send or a person acting at the same moment is not undone. A few
        // reads settle it: each lost race means the invoice moved on.
        for _ in 0..3 {
            let Some(invoice) = self.order_invoice(account, tracked, previous).await? else {
                return Ok(());
            };
            if self
                .apply_invoice_change(account, tracked, &invoice, issued)
                .await?
            {
                return Ok(());
            }
        }
        tracing::warn!(tenant.id = %account.id, po.id = %tracked.po_id, invoice.number = %previous, "invoice kept changing while a Brightpearl change was recorded; the next poll tries again");
        Ok(())
    }

    /// Writes what [`Self::record_invoice_change`] decided for `invoice`,
    /// and returns false when the invoice changed since it was read.
    async fn apply_invoice_change(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        invoice: &InvoiceRecord,
        issued: Option<&str>,
    ) -> Result<bool, StoreError> {
        let previous = invoice.invoice_number.as_str();
        let order_id = tracked.brightpearl_order_id;
        let change = match issued {
            None => format!("Brightpearl order {order_id} was un-invoiced"),
            Some(number) => format!("Brightpearl order {order_id} was invoiced again as {number}"),
        };
        let may_be_in_coupa = is_accepted(invoice.status)
            || invoice.status == InvoiceStatus::Sending
            || invoice.outcome_unknown;

        let (status, reason) = match invoice.status {
            InvoiceStatus::ChangedAfterSending | InvoiceStatus::Superseded => return Ok(true),
            _ if may_be_in_coupa => {
                let when = match invoice.status {
                    InvoiceStatus::Sent => format!("after Coupa accepted invoice {previous}"),
                    InvoiceStatus::ProbablyDelivered => {
                        format!("after Coupa probably received invoice {previous}")
                    }
                    _ => format!("while invoice {previous} may already be in Coupa"),
                };
                let reason = format!(
                    "{change} {when}: check invoice {previous} in Coupa and cancel or credit \
                     it there, because pobridge does not send it again"
                );
                (InvoiceStatus::ChangedAfterSending, reason)
            }
            // Rejected by Coupa, which therefore does not have it.
            InvoiceStatus::Failed => {
                let reason = format!(
                    "{change} after Coupa rejected invoice {previous}, so it is not sent again"
                );
                (InvoiceStatus::Superseded, reason)
            }
            _ => {
                let reason =
                    format!("{change} before invoice {previous} reached Coupa, so it is not sent");
                (InvoiceStatus::Superseded, reason)
            }
        };
        let update = InvoiceUpdate {
            reason: Some(reason.clone()),
            ..unchanged(invoice, status)
        };
        let applied = self
            .update_read_invoice(account.id, invoice, &update)
            .await?;
        if !applied {
            return Ok(false);
        }

        if status == InvoiceStatus::ChangedAfterSending {
            // The account's users also learn of this from the next alert check.
            tracing::warn!(tenant.id = %account.id, po.id = %tracked.po_id, invoice.id = %invoice.id, invoice.number = %previous, brightpearl.order_id = order_id, "invoice changed in Brightpearl after it was sent to Coupa");
        } else {
            tracing::info!(tenant.id = %account.id, po.id = %tracked.po_id, invoice.id = %invoice.id, invoice.number = %previous, brightpearl.order_id = order_id, "invoice superseded before it was sent");
        }
        self.po_event(account.id, tracked.po_id, &reason).await?;
        Ok(true)
    }

    /// Returns true when the order's invoice numbered `number` is one Coupa
    /// has accepted, so the order needs no more sweeps.
    pub(crate) async fn invoice_settled(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        number: &str,
    ) -> Result<bool, StoreError> {
        let invoice = self.order_invoice(account, tracked, number).await?;
        Ok(invoice.is_some_and(|invoice| is_accepted(invoice.status)))
    }

    /// Loads the stored invoice numbered `number` of the tracked order.
    async fn order_invoice(
        &self,
        account: &Account,
        tracked: &TrackedOrder,
        number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError> {
        let po = self.store.purchase_order(account.id, tracked.po_id).await?;
        let invoice = self
            .store
            .invoice_by_number(account.id, po.buyer_id, number)
            .await?;
        Ok(invoice.filter(|invoice| invoice.brightpearl_order_id == tracked.brightpearl_order_id))
    }
}

/// Returns an update to `status` that keeps the invoice's reason, Coupa's
/// last response and everything else as stored.
pub(crate) fn unchanged(invoice: &InvoiceRecord, status: InvoiceStatus) -> InvoiceUpdate {
    InvoiceUpdate {
        status,
        reason: invoice.reason.clone(),
        coupa_status: invoice.coupa_status,
        coupa_text: invoice.coupa_text.clone(),
        counts_attempt: false,
        outcome_unknown: None,
        document: None,
        sent_at: None,
    }
}
