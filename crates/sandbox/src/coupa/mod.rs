//! A simulator of a Coupa instance's cXML invoice endpoint
//! (`POST /cxml/invoices`), for testing what pobridge sends back to Coupa.
//!
//! It replies to every posted document with a cXML `Response` whose status
//! code equals the HTTP status, using Coupa's published status texts, and
//! records what it received and accepted. Buyers (the supplier records'
//! invoicing credentials) and purchase orders are registered by the test,
//! through the Rust methods here or the JSON API under `/_coupa/...`.

mod check;
mod control;
mod dtd;
mod invoice;
mod multipart;
mod server;
mod status;
mod tree;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pobridge_core::Clock;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use multipart::InvoiceAttachment;

/// The invoicing credentials and rules of one supplier record in Coupa.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoupaBuyerConfig {
    /// (domain, identity) expected in `From`: the supplier's credential.
    pub invoice_from: (String, String),
    /// (domain, identity) expected in `To`: the buyer's credential.
    pub invoice_to: (String, String),
    /// (domain, identity) expected in `Sender`, with `shared_secret`.
    pub sender: (String, String),
    pub shared_secret: String,
    /// Whether summary `ShippingAmount` and `SpecialHandlingAmount` other
    /// than zero are accepted.
    pub allow_header_charges: bool,
    pub supplier_name: String,
}

/// A purchase order this Coupa issued, so invoices may reference it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPo {
    /// The number invoices give as `OrderReference/DocumentReference@payloadID`.
    pub po_number: String,
    pub lines: Vec<IssuedLine>,
    pub currency: String,
}

/// One line of an issued purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedLine {
    pub line_number: u32,
    pub supplier_part_id: String,
    pub unit_of_measure: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// True for an amount-based line, which must be invoiced with
    /// `InvoiceDetailServiceItem`; false for a quantity line
    /// (`InvoiceDetailItem`).
    pub service: bool,
}

/// An invoice this Coupa accepted with 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedInvoice {
    pub invoice_id: String,
    /// The header `purpose`: `standard`, `creditMemo`, ...
    pub purpose: String,
    /// The original invoice a credit memo names in its header
    /// `DocumentReference`.
    pub original_invoice_id: Option<String>,
    /// The first purchase order referenced, or `""` when none is.
    pub po_number: String,
    /// Every purchase order referenced, in document order.
    pub po_numbers: Vec<String>,
    pub supplier_name: String,
    /// The summary `NetAmount`, or when it is empty, subtotal + tax +
    /// special handling + shipping − discount.
    pub total: Decimal,
    /// The currency of the summary `SubtotalAmount`.
    pub currency: String,
    pub lines: Vec<InvoicedLine>,
    pub attachments: Vec<InvoiceAttachment>,
    pub received_at: DateTime<Utc>,
    /// The cXML document (the cXML part of a multipart body).
    pub raw: String,
}

/// One line of an accepted invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoicedLine {
    pub po_number: Option<String>,
    /// The PO line it was matched to; `None` on lines without a PO.
    pub po_line_number: Option<u32>,
    /// True for `InvoiceDetailServiceItem`.
    pub service: bool,
    pub supplier_part_id: Option<String>,
    pub unit_of_measure: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub subtotal: Option<Decimal>,
}

/// A request the invoice endpoint received, with the status it replied with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedDocument {
    /// The status code sent, which is both the HTTP and the cXML status.
    pub status: u16,
    /// The cXML `Status@text` sent.
    pub text: String,
    /// The whole request body, decoded as UTF-8 with replacement characters.
    pub raw: String,
    pub received_at: DateTime<Utc>,
    /// True when an injected fault closed the connection instead of
    /// sending the reply.
    pub connection_dropped: bool,
}

/// A running Coupa simulator's shared state. Cloning is cheap; clones share
/// the same buyers, orders and records.
#[derive(Clone)]
pub struct CoupaSandbox {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// Everything behind the simulator's one lock.
#[derive(Default)]
pub(crate) struct State {
    pub buyers: Vec<CoupaBuyerConfig>,
    pub orders: BTreeMap<String, IssuedPo>,
    /// Accepted invoices with the index of the buyer that sent them.
    pub accepted: Vec<(usize, AcceptedInvoice)>,
    pub received: Vec<ReceivedDocument>,
    pub faults: Faults,
    pub responses_sent: u64,
}

/// Pending faults, each counting down as invoice requests consume it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    pub fail_next_n: u32,
    pub fail_status: u16,
    pub drop_next_n: u32,
    pub slow_next_n: u32,
    pub slow_by: Duration,
}

impl CoupaSandbox {
    /// Creates a simulator with no buyers and no purchase orders.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            shared: Arc::new(Shared {
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a supplier record's invoicing credentials, replacing the
    /// configuration with the same From, To and Sender credentials. A
    /// document is accepted from a buyer only when its From, To and Sender
    /// credentials and the shared secret all match one configuration.
    pub fn add_buyer(&self, config: CoupaBuyerConfig) {
        let mut state = self.lock();
        let existing = state
            .buyers
            .iter_mut()
            .find(|buyer| same_credentials(buyer, &config));
        match existing {
            // Replaced in place, so accepted invoices keep their buyer index.
            Some(buyer) => *buyer = config,
            None => state.buyers.push(config),
        }
    }

    /// Returns the registered buyers in registration order, secrets included.
    pub fn buyers(&self) -> Vec<CoupaBuyerConfig> {
        self.lock().buyers.clone()
    }

    /// Registers a purchase order, replacing one with the same number.
    pub fn issue_po(&self, po: IssuedPo) {
        self.lock().orders.insert(po.po_number.clone(), po);
    }

    /// Returns the registered purchase orders, ordered by number.
    pub fn purchase_orders(&self) -> Vec<IssuedPo> {
        self.lock().orders.values().cloned().collect()
    }

    /// Returns the invoices accepted so far, oldest first.
    pub fn accepted_invoices(&self) -> Vec<AcceptedInvoice> {
        self.lock()
            .accepted
            .iter()
            .map(|(_, invoice)| invoice.clone())
            .collect()
    }

    /// Returns every request the invoice endpoint received, oldest first.
    pub fn received(&self) -> Vec<ReceivedDocument> {
        self.lock().received.clone()
    }

    /// Makes the next `n` invoice requests fail with `status` (meant for
    /// 5xx codes) without looking at them.
    pub fn fail_next_n_with(&self, status: u16, n: u32) {
        let mut state = self.lock();
        state.faults.fail_status = status;
        state.faults.fail_next_n = n;
    }

    /// Makes the next `n` invoice requests be processed as usual (a valid
    /// invoice is accepted), then closes their connections without any
    /// HTTP response.
    pub fn drop_connection_after_accept_next_n(&self, n: u32) {
        self.lock().faults.drop_next_n = n;
    }

    /// Makes the next `n` invoice requests be processed at once but
    /// replied to only after `delay`.
    pub fn slow_next_n(&self, n: u32, delay: Duration) {
        let mut state = self.lock();
        state.faults.slow_next_n = n;
        state.faults.slow_by = delay;
    }
}

/// The faults that apply to one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    pub fail_with: Option<u16>,
    pub drop_connection: bool,
    pub delay: Duration,
}

impl Faults {
    /// Consumes the faults that apply to one request. A failure is
    /// replied to at once, so it consumes no other fault.
    pub(crate) fn plan(&mut self) -> FaultPlan {
        if take(&mut self.fail_next_n) {
            return FaultPlan {
                fail_with: Some(self.fail_status),
                ..FaultPlan::default()
            };
        }
        FaultPlan {
            fail_with: None,
            drop_connection: take(&mut self.drop_next_n),
            delay: if take(&mut self.slow_next_n) {
                self.slow_by
            } else {
                Duration::ZERO
            },
        }
    }
}

/// True when two configurations name the same From, To and Sender
/// credentials, compared as invoices are matched: domains ignoring ASCII
/// case, identities exactly, both trimmed.
fn same_credentials(a: &CoupaBuyerConfig, b: &CoupaBuyerConfig) -> bool {
    same_credential(&a.invoice_from, &b.invoice_from)
        && same_credential(&a.invoice_to, &b.invoice_to)
        && same_credential(&a.sender, &b.sender)
}

fn same_credential(a: &(String, String), b: &(String, String)) -> bool {
    a.0.trim().eq_ignore_ascii_case(b.0.trim()) && a.1.trim() == b.1.trim()
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_fault_consumes_no_other_fault() {
        let mut faults = Faults {
            fail_next_n: 1,
            fail_status: 503,
            drop_next_n: 1,
            ..Faults::default()
        };
        assert_eq!(faults.plan().fail_with, Some(503));
        let second = faults.plan();
        assert_eq!(second.fail_with, None);
        assert!(second.drop_connection);
        assert!(!faults.plan().drop_connection);
    }
}
