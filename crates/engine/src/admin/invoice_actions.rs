//! Actions on invoices: queueing a rebuild and send, confirming what a
//! person saw or did in Coupa, and queueing a poll for new invoices.

use pobridge_core::JobId;
use pobridge_store::{Account, Buyer, InvoiceFilter, InvoiceRecord, InvoiceStatus, InvoiceUpdate};
use serde::Serialize;

use super::invoices::{find_invoice, find_invoice_for};
use super::{account, find_buyer, AdminError};
use crate::invoice_jobs::{poll_job, send_job};
use crate::Engine;

/// The reason a retried invoice carries until its send job rebuilds it.
pub const RETRY_REASON: &str = "queued again by a person: rebuilding with the current settings";

/// The invoices [`retry_invoices`] queues again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryTarget {
    /// These invoice numbers.
    Numbers(Vec<String>),
    /// Every invoice whose status is `failed`.
    AllFailed,
}

/// The result of [`retry_invoices`] for one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryRow {
    pub invoice_number: String,
    /// Empty when the invoice was not found.
    pub buyer: String,
    /// The status before the retry; `None` when the invoice was not found.
    pub status: Option<InvoiceStatus>,
    pub outcome: RetryOutcome,
}

/// Outcome of a retry request for one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RetryOutcome {
    /// Set to `held`, with a send job due now.
    Queued,
    /// Left unchanged, for this reason.
    Rejected { reason: String },
}

/// Queues each target invoice to be rebuilt from Brightpearl with the
/// current settings, under the same number, and sent if its pre-flight
/// check passes: the invoice becomes `held` with [`RETRY_REASON`] and its
/// send job is due now. Only `failed`, `needs_attention` and `held`
/// invoices are queued; the others are rejected with the reason
/// ([`retry_rejection`]).
pub async fn retry_invoices(
    engine: &Engine,
    slug: &str,
    target: &RetryTarget,
    buyer: Option<&str>,
) -> Result<Vec<RetryRow>, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = match buyer {
        Some(value) => Some(find_buyer(engine, &account, value).await?),
        None => None,
    };

    let mut rows = Vec::new();
    for found in target_invoices(engine, &account, target, buyer.as_ref()).await? {
        rows.push(retry_one(engine, &account, found).await?);
    }
    if rows.iter().any(|row| row.outcome == RetryOutcome::Queued) {
        engine.wake.notify_one();
    }
    Ok(rows)
}

/// An invoice found with its buyer, or the number that could not be found
/// with the reason.
type Found = Result<(InvoiceRecord, Buyer), (String, String)>;

async fn target_invoices(
    engine: &Engine,
    account: &Account,
    target: &RetryTarget,
    buyer: Option<&Buyer>,
) -> Result<Vec<Found>, AdminError> {
    match target {
        RetryTarget::Numbers(numbers) => {
            let mut found = Vec::with_capacity(numbers.len());
            for number in numbers {
                match find_invoice(engine, account, number, buyer).await {
                    Ok(invoice) => found.push(Ok(invoice)),
                    Err(AdminError::Store(error)) => return Err(error.into()),
                    Err(error) => found.push(Err((number.trim().to_owned(), error.to_string()))),
                }
            }
            Ok(found)
        }
        RetryTarget::AllFailed => {
            let filter = InvoiceFilter {
                status: Some(InvoiceStatus::Failed),
                ..InvoiceFilter::default()
            };
            let buyers = engine.store.list_buyers(account.id).await?;
            let failed = engine.store.list_invoices(account.id, &filter).await?;
            Ok(failed
                .into_iter()
                .filter(|record| buyer.is_none_or(|buyer| buyer.id == record.buyer))
                .filter_map(|record| {
                    let owner = buyers.iter().find(|owner| owner.id == record.buyer)?;
                    Some(Ok((record, owner.clone())))
                })
                .collect())
        }
    }
}

async fn retry_one(
    engine: &Engine,
    account: &Account,
    found: Found,
) -> Result<RetryRow, AdminError> {
    let (record, owner) = match found {
        Ok(found) => found,
        Err((number, reason)) => {
            return Ok(RetryRow {
                invoice_number: number,
                buyer: String::new(),
                status: None,
                outcome: RetryOutcome::Rejected { reason },
            })
        }
    };

    let outcome = match retry_rejection(&record, account.slug.as_str()) {
        Some(reason) => RetryOutcome::Rejected { reason },
        None if requeue(engine, account, &record).await? => RetryOutcome::Queued,
        None => RetryOutcome::Rejected {
            reason: "it changed while it was being queued again; look at it again".to_owned(),
        },
    };
    Ok(RetryRow {
        invoice_number: record.invoice_number,
        buyer: owner.name,
        status: Some(record.status),
        outcome,
    })
}

/// Returns why an invoice must not be queued again, or `None` when it may.
/// Coupa rejects a reused invoice number, so a sent invoice is never sent
/// again, and one Coupa probably has or that changed after sending is
/// confirmed by a person instead.
pub fn retry_rejection(record: &InvoiceRecord, slug: &str) -> Option<String> {
    let number = &record.invoice_number;
    let reason = match record.status {
        InvoiceStatus::Failed | InvoiceStatus::NeedsAttention | InvoiceStatus::Held => return None,
        InvoiceStatus::Pending => "already waiting to be sent".to_owned(),
        InvoiceStatus::Sending => "being sent now; wait for Coupa's response".to_owned(),
        InvoiceStatus::Sent => {
            "already sent (accepted by Coupa, or entered there by hand), and a sent invoice is never sent again; correct it with a sales credit in Brightpearl".to_owned()
        }
        InvoiceStatus::ProbablyDelivered => format!(
            "Coupa probably has it already, because the response to an earlier attempt was lost; find it in Coupa, then run `pobridge invoices {slug} confirm {number}`"
        ),
        InvoiceStatus::ChangedAfterSending => format!(
            "the Brightpearl invoice changed after Coupa accepted it; make the change in Coupa by hand, then run `pobridge invoices {slug} confirm {number}`"
        ),
        InvoiceStatus::Superseded => {
            "superseded: Brightpearl no longer carries this invoice, so there is nothing to send; any invoice Brightpearl issues in its place is sent on its own".to_owned()
        }
    };
    Some(reason)
}

/// Marks the invoice `held` before its job is queued, so that a worker that
/// claims the job at once rebuilds it. Coupa's last response and whether an
/// earlier outcome was unknown are kept, because they still describe what
/// Coupa may hold. Returns false, and changes nothing, when the invoice's
/// status is no longer the one `record` shows.
async fn requeue(
    engine: &Engine,
    account: &Account,
    record: &InvoiceRecord,
) -> Result<bool, AdminError> {
    let now = engine.clock.now();
    let update = InvoiceUpdate {
        status: InvoiceStatus::Held,
        reason: Some(RETRY_REASON.to_owned()),
        coupa_status: record.coupa_status,
        coupa_text: record.coupa_text.clone(),
        counts_attempt: false,
        outcome_unknown: None,
        document: None,
        sent_at: None,
    };
    // NOTE: the status change and the job are two writes. If the enqueue
    // fails, the invoice stays held without a job until `retry` runs again.
    // One store call that does both would close this gap.
    let marked_held = engine
        .update_read_invoice(account.id, record, &update)
        .await?;
    if !marked_held {
        return Ok(false);
    }
    let job_id = engine
        .store
        .enqueue_job(&send_job(account.id, record.id, now))
        .await?;
    tracing::info!(tenant.id = %account.id, invoice.id = %record.id, job.id = %job_id, previous_status = record.status.as_str(), "invoice queued again");
    Ok(true)
}

/// An invoice after [`confirm_invoice`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmedInvoice {
    pub invoice_number: String,
    pub buyer: String,
    pub previous_status: InvoiceStatus,
    pub status: InvoiceStatus,
    pub reason: String,
}

impl ConfirmedInvoice {
    /// Describes the confirmation for the audit trail.
    pub fn audit_detail(&self) -> String {
        let action = match self.previous_status {
            InvoiceStatus::Held => "entered in Coupa by hand",
            _ => "delivered",
        };
        format!(
            "confirmed invoice {} (buyer {}) {action}: {} -> {}; {}",
            self.invoice_number,
            self.buyer,
            self.previous_status.as_str(),
            self.status.as_str(),
            self.reason
        )
    }
}

/// Records what a person confirmed in the buyer's Coupa. A
/// `probably_delivered` invoice, or one that `needs_attention` after an
/// attempt without a response, was found there, and becomes `sent`. A
/// `changed_after_sending` invoice had the change applied in Coupa by hand;
/// it becomes `sent` too, with a reason that keeps the earlier one. A `held`
/// invoice was entered in Coupa by hand, as a credit for charges alone must
/// be, and becomes `sent` with a reason that keeps why it was held.
///
/// `sent` fits both, because Coupa has the invoice as it should be and
/// nothing is left to do. Keeping `changed_after_sending` would leave it
/// among the invoices that need a person, and `needs_attention` would offer
/// a retry, which Coupa rejects for a number it already has.
pub async fn confirm_invoice(
    engine: &Engine,
    slug: &str,
    number: &str,
    buyer: Option<&str>,
) -> Result<ConfirmedInvoice, AdminError> {
    let account = account(engine, slug).await?;
    let (record, owner) = find_invoice_for(engine, &account, number, buyer).await?;
    let reason = match record.status {
        InvoiceStatus::ProbablyDelivered | InvoiceStatus::NeedsAttention => {
            "a person found it in Coupa".to_owned()
        }
        InvoiceStatus::ChangedAfterSending => changed_reason(record.reason.as_deref()),
        InvoiceStatus::Held => entered_reason(record.reason.as_deref()),
        InvoiceStatus::Sent => {
            return Err(AdminError::AlreadySent {
                number: record.invoice_number,
            })
        }
        status => {
            return Err(AdminError::NotConfirmable {
                number: record.invoice_number,
                status: status.as_str(),
            })
        }
    };

    let now = engine.clock.now();
    let update = InvoiceUpdate {
        status: InvoiceStatus::Sent,
        reason: Some(reason.clone()),
        coupa_status: record.coupa_status,
        coupa_text: record.coupa_text.clone(),
        counts_attempt: false,
        outcome_unknown: None,
        document: None,
        // The delivery time of a probably delivered invoice is unknown, so
        // the time a person confirmed it is recorded instead.
        sent_at: record.sent_at.is_none().then_some(now),
    };
    // Written only while the invoice still has the status the person saw.
    // A send job that has since marked it `sending` keeps it, and the
    // request fails with the new status.
    let confirmed = engine
        .update_read_invoice(account.id, &record, &update)
        .await?;
    if !confirmed {
        let current = engine.store.invoice(account.id, record.id).await?;
        return Err(AdminError::InvoiceChanged {
            number: record.invoice_number,
            status: current.status.as_str(),
        });
    }
    tracing::info!(tenant.id = %account.id, invoice.id = %record.id, previous_status = record.status.as_str(), "invoice confirmed by a person");

    Ok(ConfirmedInvoice {
        invoice_number: record.invoice_number,
        buyer: owner.name,
        previous_status: record.status,
        status: InvoiceStatus::Sent,
        reason,
    })
}

fn entered_reason(earlier: Option<&str>) -> String {
    let handled = "a person entered it in Coupa by hand";
    match earlier.map(str::trim).filter(|text| !text.is_empty()) {
        Some(earlier) => format!("{handled} (it was held: {earlier})"),
        None => handled.to_owned(),
    }
}

fn changed_reason(earlier: Option<&str>) -> String {
    let handled = "changed in Brightpearl after sending; a person made the change in Coupa";
    match earlier.map(str::trim).filter(|text| !text.is_empty()) {
        Some(earlier) => format!("{handled} (the change: {earlier})"),
        None => handled.to_owned(),
    }
}

/// Queues a poll for newly invoiced Brightpearl orders, due now, for the
/// running server's worker. While one is queued, queueing again only makes
/// it due now.
pub async fn queue_invoice_poll(engine: &Engine, slug: &str) -> Result<JobId, AdminError> {
    let account = account(engine, slug).await?;
    let id = engine
        .store
        .enqueue_job(&poll_job(account.id, engine.clock.now()))
        .await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, job.id = %id, "invoice poll queued");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use pobridge_core::{AccountId, BuyerId, PoId};
    use pobridge_store::{InvoiceId, InvoiceKind};
    use rust_decimal::Decimal;

    use super::*;

    fn invoice(status: InvoiceStatus) -> InvoiceRecord {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        InvoiceRecord {
            id: InvoiceId(1),
            account_id: AccountId(1),
            po: PoId(1),
            buyer: BuyerId(1),
            brightpearl_order_id: 7,
            invoice_number: "INV-7".to_owned(),
            kind: InvoiceKind::Invoice,
            invoice_date: at.fixed_offset(),
            currency: "GBP".to_owned(),
            brightpearl_total: Decimal::from(120),
            sent_total: Decimal::from(120),
            document: String::new(),
            status,
            reason: None,
            lines: Vec::new(),
            attempts: 1,
            outcome_unknown: false,
            coupa_status: None,
            coupa_text: None,
            created_at: at,
            updated_at: at,
            sent_at: None,
            document_removed_at: None,
        }
    }

    #[test]
    fn failed_held_and_attention_may_retry() {
        for status in [
            InvoiceStatus::Failed,
            InvoiceStatus::NeedsAttention,
            InvoiceStatus::Held,
        ] {
            assert_eq!(
                retry_rejection(&invoice(status), "acme"),
                None,
                "{status:?}"
            );
        }
    }

    #[test]
    fn other_statuses_reject_retry() {
        for status in [
            InvoiceStatus::Pending,
            InvoiceStatus::Sending,
            InvoiceStatus::Sent,
            InvoiceStatus::ProbablyDelivered,
            InvoiceStatus::ChangedAfterSending,
            InvoiceStatus::Superseded,
        ] {
            assert!(
                retry_rejection(&invoice(status), "acme").is_some(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn confirmable_rejections_name_confirm_command() {
        for status in [
            InvoiceStatus::ProbablyDelivered,
            InvoiceStatus::ChangedAfterSending,
        ] {
            let reason = retry_rejection(&invoice(status), "acme").unwrap();

            assert!(
                reason.contains("pobridge invoices acme confirm INV-7"),
                "{reason}"
            );
        }
    }

    #[test]
    fn sent_rejection_says_never_sent_again() {
        let reason = retry_rejection(&invoice(InvoiceStatus::Sent), "acme").unwrap();

        assert!(reason.contains("never sent again"), "{reason}");
    }

    #[test]
    fn entered_reason_keeps_hold_reason() {
        assert_eq!(
            entered_reason(Some("credit 9 refunds no PO line")),
            "a person entered it in Coupa by hand (it was held: credit 9 refunds no PO line)"
        );
        assert_eq!(
            entered_reason(Some("  ")),
            "a person entered it in Coupa by hand"
        );
    }

    #[test]
    fn changed_reason_keeps_earlier_one() {
        assert_eq!(
            changed_reason(Some("total 120.00 -> 130.00")),
            "changed in Brightpearl after sending; a person made the change in Coupa \
             (the change: total 120.00 -> 130.00)"
        );
        assert_eq!(
            changed_reason(None),
            "changed in Brightpearl after sending; a person made the change in Coupa"
        );
    }
}
