//! Alert conditions on invoices: one Coupa rejected, one pobridge gave up
//! sending, and one that changed in Brightpearl after Coupa accepted it.

use chrono::Duration;
use pobridge_store::{InvoiceFilter, InvoiceRecord, InvoiceStatus, StoreError};

use super::{Alert, CheckContext, INVOICE_MAIL};
use crate::Engine;

/// The invoice statuses that need a person.
const PROBLEM_STATUSES: [InvoiceStatus; 3] = [
    InvoiceStatus::Failed,
    InvoiceStatus::NeedsAttention,
    InvoiceStatus::ChangedAfterSending,
];

/// An invoice whose last change is older than this is not mailed, so old
/// problems do not mail each new user. A problem is mailed once if a check
/// runs within this time after the invoice reached its status.
const LOOKBACK_DAYS: i64 = 7;

/// Longer than the lookback, so a problem mailed once is never mailed again.
const DEDUPE_DAYS: i64 = LOOKBACK_DAYS + 1;

impl Engine {
    /// Returns one alert per invoice or credit in a status that needs a
    /// person and last changed within the lookback.
    pub(crate) async fn invoice_alerts(
        &self,
        context: &CheckContext,
    ) -> Result<Vec<Alert>, StoreError> {
        let oldest = context.now - Duration::days(LOOKBACK_DAYS);
        let mut alerts = Vec::new();
        for status in PROBLEM_STATUSES {
            let filter = InvoiceFilter {
                status: Some(status),
                ..InvoiceFilter::default()
            };
            let invoices = self
                .store
                .list_invoices(context.account.id, &filter)
                .await?;
            for invoice in invoices
                .iter()
                .filter(|invoice| invoice.updated_at > oldest)
            {
                let po = self
                    .store
                    .purchase_order(context.account.id, invoice.po)
                    .await?;
                alerts.push(invoice_alert(context, invoice, &po.number.0));
            }
        }
        Ok(alerts)
    }
}

fn invoice_alert(context: &CheckContext, invoice: &InvoiceRecord, po_number: &str) -> Alert {
    let number = &invoice.invoice_number;
    let buyer = context.buyer_name(invoice.buyer);
    let at = context.time(invoice.updated_at);
    let (subject, happened, next) = match invoice.status {
        InvoiceStatus::NeedsAttention => (
            format!("Invoice {number} for {po_number} needs attention"),
            format!("pobridge stopped sending invoice {number} at {at} and needs a person"),
            "Open the invoice under Invoices in pobridge. If the reason says Coupa may \
             have received it, check in Coupa first: press Confirm delivered if Coupa \
             has it, or Retry to send it again.",
        ),
        InvoiceStatus::ChangedAfterSending => (
            format!("Invoice {number} for {po_number} changed after it was sent"),
            format!(
                "pobridge found at {at} that invoice {number} changed in Brightpearl after it \
                 was sent to Coupa"
            ),
            "Correct the invoice in Coupa, by cancelling it or by issuing a credit there. \
             pobridge does not send it again.",
        ),
        _ => (
            format!("Invoice {number} for {po_number} failed"),
            format!("invoice {number} failed at {at}"),
            "If Coupa rejected it, correct the cause in Brightpearl or in the buyer's \
             invoicing settings in pobridge, then open the invoice under Invoices in \
             pobridge and press Retry.",
        ),
    };
    let reason = invoice
        .reason
        .as_deref()
        .unwrap_or("no reason was recorded");
    let mut body = format!(
        "For purchase order {po_number} from buyer {buyer}, {happened}.\n\nReason: {reason}\n"
    );
    if let Some(code) = invoice.coupa_status {
        let text = invoice.coupa_text.as_deref().unwrap_or_default();
        body.push_str(&format!("Coupa's last response: {code} {text}\n"));
    }
    body.push_str(&format!("\nWhat to do: {next}\n"));
    Alert {
        kind: INVOICE_MAIL,
        // The time of the change distinguishes a failure after a retry from the first.
        key: format!(
            "invoice:{}:{}:{}",
            invoice.id,
            invoice.status.as_str(),
            invoice.updated_at.timestamp()
        ),
        window: Duration::days(DEDUPE_DAYS),
        subject,
        body,
    }
}
