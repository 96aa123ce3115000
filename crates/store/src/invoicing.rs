//! Records of the invoicing side: the Brightpearl orders tracked for each
//! purchase order, their rows, the invoices and credits sent to Coupa, and
//! the cursors of the pollers that look for new invoices.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use pobridge_core::{AccountId, BuyerId, PoId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One invoice or credit as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvoiceId(pub i64);

impl fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The origin of a tracked Brightpearl order's link to its purchase order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackedKind {
    /// The sales order pobridge created for the purchase order.
    Created,
    /// An order split off a tracked order, named by `parent_order_id`.
    BackOrder,
    /// A sales credit raised against a tracked order.
    Credit,
    /// An order pobridge did not create, found by the PO number in its
    /// customer reference.
    CustomerReference,
}

/// A Brightpearl order linked to a Coupa purchase order, checked for new
/// invoices until its invoice is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedOrder {
    pub brightpearl_order_id: i64,
    pub po_id: PoId,
    pub kind: TrackedKind,
    /// The order this one was split from or credits.
    pub parent_order_id: Option<i64>,
    /// The Brightpearl invoice reference last seen, or `None` before invoicing.
    pub invoice_reference: Option<String>,
    /// Brightpearl's order version when last checked (it increments on every change).
    pub version: Option<i64>,
    /// False once the order's invoice is settled, so sweeps skip it.
    pub open: bool,
    pub checked_at: DateTime<Utc>,
}

/// A Brightpearl order row and the purchase-order line it fulfils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLink {
    pub brightpearl_order_id: i64,
    pub row_id: i64,
    /// The PO line's `lineNumber`.
    pub line_number: u32,
}

/// The state of an invoice on its way to the buyer's Coupa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Built and waiting to be sent.
    Pending,
    /// Kept back until a person releases it. It does not count as invoiced.
    Held,
    /// A send is in progress.
    Sending,
    /// Coupa accepted it.
    Sent,
    /// Coupa rejected it, or sending gave up. It does not count as invoiced.
    Failed,
    /// The outcome of a send is unknown, but Coupa probably received it.
    ProbablyDelivered,
    /// A person must look at it before anything else happens.
    NeedsAttention,
    /// The Brightpearl invoice changed after this one was sent.
    ChangedAfterSending,
    /// Brightpearl took the invoice back, or gave the order another
    /// number, before this one reached Coupa. It is never sent, needs no
    /// person, and does not count as invoiced.
    Superseded,
}

/// The statuses of an invoice whose lines do not count as invoiced: it
/// has not reached Coupa, and may never.
pub const NOT_INVOICED: [InvoiceStatus; 3] = [
    InvoiceStatus::Held,
    InvoiceStatus::Failed,
    InvoiceStatus::Superseded,
];

impl InvoiceStatus {
    const ALL: [InvoiceStatus; 9] = [
        InvoiceStatus::Pending,
        InvoiceStatus::Held,
        InvoiceStatus::Sending,
        InvoiceStatus::Sent,
        InvoiceStatus::Failed,
        InvoiceStatus::ProbablyDelivered,
        InvoiceStatus::NeedsAttention,
        InvoiceStatus::ChangedAfterSending,
        InvoiceStatus::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::Held => "held",
            InvoiceStatus::Sending => "sending",
            InvoiceStatus::Sent => "sent",
            InvoiceStatus::Failed => "failed",
            InvoiceStatus::ProbablyDelivered => "probably_delivered",
            InvoiceStatus::NeedsAttention => "needs_attention",
            InvoiceStatus::ChangedAfterSending => "changed_after_sending",
            InvoiceStatus::Superseded => "superseded",
        }
    }

    /// Returns true when the invoice's lines count against the PO's
    /// quantities (see [`NOT_INVOICED`]).
    pub fn counts_as_invoiced(self) -> bool {
        !NOT_INVOICED.contains(&self)
    }

    /// Returns the status named by its snake_case name, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// Whether a document bills the buyer or credits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    Credit,
}

/// A quantity of one purchase-order line on an invoice or credit. Credits
/// carry positive quantities too, and the invoice kind decides whether they
/// add or subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoicedLine {
    pub po_line_number: u32,
    pub quantity: Decimal,
}

/// An invoice or credit as given to [`crate::Store::create_invoice`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvoice {
    pub po: PoId,
    /// The purchase order's buyer, whose Coupa receives the document.
    pub buyer: BuyerId,
    /// The Brightpearl order (or credit) the invoice was raised on.
    pub brightpearl_order_id: i64,
    /// Unique per buyer within the account.
    pub invoice_number: String,
    pub kind: InvoiceKind,
    /// Kept with the offset it was written with.
    pub invoice_date: DateTime<FixedOffset>,
    /// ISO 4217 code.
    pub currency: String,
    /// The total Brightpearl shows for the invoice.
    pub brightpearl_total: Decimal,
    /// The total of the cXML document, which may differ after rounding.
    pub sent_total: Decimal,
    /// The cXML to send, with secrets already masked by the caller.
    pub document: String,
    pub status: InvoiceStatus,
    pub reason: Option<String>,
    pub lines: Vec<InvoicedLine>,
}

/// An invoice or credit as stored, with the state of its sending.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceRecord {
    pub id: InvoiceId,
    pub account_id: AccountId,
    pub po: PoId,
    pub buyer: BuyerId,
    pub brightpearl_order_id: i64,
    pub invoice_number: String,
    pub kind: InvoiceKind,
    pub invoice_date: DateTime<FixedOffset>,
    pub currency: String,
    pub brightpearl_total: Decimal,
    pub sent_total: Decimal,
    pub document: String,
    pub status: InvoiceStatus,
    pub reason: Option<String>,
    /// Lines in the order they were given.
    pub lines: Vec<InvoicedLine>,
    /// Send attempts that counted.
    pub attempts: i32,
    /// True once an attempt whose outcome is unknown has happened, so a
    /// resend may deliver a second copy.
    pub outcome_unknown: bool,
    /// HTTP status of Coupa's last response.
    pub coupa_status: Option<u16>,
    /// Status text of Coupa's last response.
    pub coupa_text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// When the retention job removed `document`, which is then empty. An
    /// empty document without this time is one that was never built.
    pub document_removed_at: Option<DateTime<Utc>>,
}

impl InvoiceRecord {
    /// Returns true once a document was built for the invoice, including
    /// one that retention removed since. An empty document otherwise means
    /// none was built yet.
    pub fn is_built(&self) -> bool {
        !self.document.is_empty() || self.document_removed_at.is_some()
    }
}

/// Change to an invoice after a send attempt or a person's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceUpdate {
    pub status: InvoiceStatus,
    /// Replaces the stored reason, `None` included.
    pub reason: Option<String>,
    /// Replaces the stored value, `None` included.
    pub coupa_status: Option<u16>,
    /// Replaces the stored value, `None` included.
    pub coupa_text: Option<String>,
    /// Adds one to `attempts`.
    pub counts_attempt: bool,
    /// `None` leaves it unchanged.
    pub outcome_unknown: Option<bool>,
    /// `None` leaves it unchanged.
    pub document: Option<String>,
    /// `None` leaves it unchanged.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The content of an invoice rebuilt from its Brightpearl order, as given
/// to [`crate::Store::replace_invoice_content`]. The number, kind, order and
/// buyer stay as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceContent {
    pub invoice_date: DateTime<FixedOffset>,
    pub currency: String,
    pub brightpearl_total: Decimal,
    pub sent_total: Decimal,
    /// The cXML to send, with secrets already masked by the caller.
    pub document: String,
    pub status: InvoiceStatus,
    pub reason: Option<String>,
    /// Replace every stored line, in this order.
    pub lines: Vec<InvoicedLine>,
}

/// Selects invoices for [`crate::Store::list_invoices`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    /// Substring of the invoice number, ignoring the case of ASCII letters.
    pub search: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
