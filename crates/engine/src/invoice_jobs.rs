//! The job kinds of invoicing and the jobs that carry them.
//!
//! A poll job looks for orders invoiced since the last poll, a sweep job
//! checks every open tracked order, and a send job takes one stored invoice
//! to the buyer's Coupa. Each is keyed so that queueing it again while it is
//! unfinished merges into the queued one.

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use pobridge_store::{InvoiceId, NewJob};

/// Job kind of an incremental poll of one account's orders.
pub const POLL_INVOICES: &str = "poll_invoices";
/// Job kind of a sweep of one account's open tracked orders.
pub const SWEEP_INVOICES: &str = "sweep_invoices";
/// Job kind that sends (or, when held, rebuilds and sends) one invoice.
pub const SEND_INVOICE: &str = "send_invoice";

/// Builds the job that polls `account` for newly invoiced orders at `run_at`.
pub fn poll_job(account: AccountId, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: POLL_INVOICES.to_owned(),
        key: POLL_INVOICES.to_owned(),
        payload: serde_json::json!({}),
        run_at,
    }
}

/// Builds the job that sweeps `account`'s open tracked orders at `run_at`.
pub fn sweep_job(account: AccountId, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: SWEEP_INVOICES.to_owned(),
        key: SWEEP_INVOICES.to_owned(),
        payload: serde_json::json!({}),
        run_at,
    }
}

/// Builds the job that sends invoice `invoice` of `account` at `run_at`.
pub fn send_job(account: AccountId, invoice: InvoiceId, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        account,
        kind: SEND_INVOICE.to_owned(),
        key: format!("{SEND_INVOICE}:{invoice}"),
        payload: serde_json::json!({ "invoice_id": invoice.0 }),
        run_at,
    }
}

/// Reads the invoice id from a send job's payload.
pub fn send_job_invoice(payload: &serde_json::Value) -> Option<InvoiceId> {
    payload["invoice_id"].as_i64().map(InvoiceId)
}
