//! The invoice pobridge sends to a buyer's Coupa, as [`super::write_invoice`]
//! takes it.
//!
//! Money is a `Decimal` in [`Invoice::currency`]. The writer rounds every
//! amount to cents and computes the subtotals, net and due amounts itself,
//! so the model carries only what cannot be computed.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::Secret;

/// The InvoiceDetail DTD version written when a document names none. Coupa's
/// published invoice samples declare it.
pub const DEFAULT_INVOICE_DTD_VERSION: &str = "1.2.020";

fn default_dtd_version() -> String {
    DEFAULT_INVOICE_DTD_VERSION.to_string()
}

/// A whole cXML `InvoiceDetailRequest` document: the envelope and the
/// invoice it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    /// `payloadID`, unique per document, such as one from
    /// [`crate::new_payload_id`].
    pub payload_id: String,
    /// `timestamp`: when the document was written.
    pub timestamp: DateTime<FixedOffset>,
    /// `From`: our supplier credential from the buyer's invoicing settings.
    pub from: InvoiceCredential,
    /// `To`: the buyer's invoicing credential.
    pub to: InvoiceCredential,
    /// `Sender`: our credential with the invoicing shared secret.
    pub sender: SenderCredential,
    /// `Sender/UserAgent`, free text naming our software, such as
    /// `pobridge 0.1.0`. The DTD requires it.
    pub user_agent: String,
    /// The `1.2.0xx` version in the DOCTYPE's `InvoiceDetail.dtd` URL and in
    /// the root's `version`. Coupa rejects versions other than 1.2.x.
    #[serde(default = "default_dtd_version")]
    pub dtd_version: String,
    /// True for a buyer's test instance: writes `deploymentMode="test"`.
    #[serde(default)]
    pub deployment_test: bool,
    pub invoice: Invoice,
}

/// A `Credential` without a secret, for `From` and `To`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCredential {
    /// `domain`, such as `DUNS` or `NetworkID`.
    pub domain: String,
    /// `Identity`, exactly as configured on the buyer's supplier record.
    pub identity: String,
}

/// The `Sender` credential with its `SharedSecret`. `Debug` and
/// serialization never show the secret (see [`Secret`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SenderCredential {
    /// `domain`, such as `DUNS` or `NetworkID`.
    pub domain: String,
    /// `Identity`, exactly as configured on the buyer's supplier record.
    pub identity: String,
    /// The invoicing `SharedSecret`.
    pub shared_secret: Secret,
}

/// The invoice itself: `InvoiceDetailRequest` for one purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// `invoiceID`: our invoice number, unique per supplier in the buyer's
    /// Coupa instance.
    pub invoice_id: String,
    /// `invoiceDate`.
    pub invoice_date: DateTime<FixedOffset>,
    /// A standard invoice (also used for credits with negative quantities)
    /// or a credit memo.
    pub purpose: InvoicePurpose,
    /// ISO 4217 code of every amount, such as `USD`.
    pub currency: String,
    /// The purchase order invoiced.
    pub order: OrderReference,
    /// Our remit-to address and tax number, for invoices that must comply
    /// with VAT rules.
    #[serde(default)]
    pub remit_to: Option<RemitTo>,
    /// True when tax is given per line: writes `isTaxInLine="yes"` and each
    /// line's [`InvoiceLine::tax`]. Otherwise tax is given only in
    /// [`Invoice::tax`] and no line may carry tax.
    #[serde(default)]
    pub tax_at_line: bool,
    /// `PaymentTerm@payInNumberOfDays`. Coupa reports an error when the
    /// supplier record has no payment term, so send one when it is known.
    #[serde(default)]
    pub payment_term_days: Option<u32>,
    pub lines: Vec<InvoiceLine>,
    /// The invoice's total tax, written in `InvoiceDetailSummary/Tax`.
    pub tax: InvoiceTax,
    /// `ShippingAmount`: freight for the whole invoice.
    #[serde(default)]
    pub shipping_amount: Option<Decimal>,
    /// `SpecialHandlingAmount`: a handling fee for the whole invoice.
    #[serde(default)]
    pub special_handling_amount: Option<Decimal>,
    /// Header `Comments` text.
    #[serde(default)]
    pub comments: Option<String>,
    /// URLs of files attached to the invoice, written as
    /// `Comments/Attachment/URL`: `cid:` URLs naming parts of a
    /// `multipart/related` body (see [`super::write_multipart_related`]) or
    /// public `https://` URLs.
    #[serde(default)]
    pub attachment_urls: Vec<String>,
}

/// `InvoiceDetailRequestHeader@purpose` and what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InvoicePurpose {
    /// `purpose="standard"`. A credit in this form negates the quantity (or
    /// the unit price, never both) of each credited line. It is the safer
    /// way to credit, because Coupa documents it without contradiction.
    Standard,
    /// `purpose="creditMemo"` with positive quantities and prices, naming
    /// the invoice it credits.
    ///
    /// NOTE: this follows Coupa's credit-note samples. The comments in
    /// InvoiceDetail.dtd ask a creditMemo for `isHeaderInvoice="yes"` and a
    /// negative `DueAmount`, and Coupa's own pages disagree on whether it
    /// accepts creditMemo at all, so confirm with the buyer before using it.
    CreditMemo {
        /// The credited invoice's `invoiceID`, written as the header's
        /// `DocumentReference@payloadID`, which is where Coupa reads it.
        original_invoice_id: String,
        /// The credited invoice's date, written as Coupa's
        /// `original_invoice_date` custom field.
        #[serde(default)]
        original_invoice_date: Option<DateTime<FixedOffset>>,
    },
}

/// The purchase order an invoice bills: `InvoiceDetailOrderInfo/OrderReference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReference {
    /// The Coupa PO number exactly as received in `orderID`. Written as
    /// `OrderReference@orderID` and as `DocumentReference@payloadID`, where
    /// Coupa reads it.
    pub order_id: String,
    /// `OrderReference@orderDate`, the PO's `orderDate`.
    #[serde(default)]
    pub order_date: Option<DateTime<FixedOffset>>,
}

/// Our remit-to address as registered in the Coupa Supplier Portal, and the
/// VAT number Coupa shows with it: an `InvoicePartner` with
/// `Contact role="remitTo"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemitTo {
    /// `Contact@addressID`: the remit-to code from the Coupa Supplier Portal.
    /// Coupa takes the address from it and ignores any address text.
    pub address_id: String,
    /// `Contact/Name`: our company name, which the DTD requires.
    pub name: String,
    /// `IdReference domain="taxPrefix"`: the VAT country prefix, such as `DE`.
    #[serde(default)]
    pub tax_prefix: Option<String>,
    /// `IdReference domain="taxNumber"`: our VAT or tax number.
    #[serde(default)]
    pub tax_number: Option<String>,
}

/// One invoice line, billing part of one purchase order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// `invoiceLineNumber`: the line's position on this invoice, unique
    /// within it.
    pub invoice_line_number: u32,
    /// The kind of the PO line, quantity or amount (service). Coupa rejects
    /// an invoice line of the other kind.
    pub kind: InvoiceLineKind,
    /// Quantity invoiced, negative for a credit in the standard form.
    pub quantity: Decimal,
    /// `UnitOfMeasure`, exactly as on the PO line, such as `EA`.
    pub unit_of_measure: String,
    /// Price per unit, written with its own precision (at least 2 decimals).
    pub unit_price: Decimal,
    /// `lineNumber`: the Coupa PO line number (`ItemOut@lineNumber`).
    pub po_line_number: u32,
    /// `ItemID/SupplierPartID`, exactly as on the PO line. When empty, no
    /// `ItemID` is written and Coupa matches on the PO line number.
    pub supplier_part_id: String,
    /// `ItemID/SupplierPartAuxiliaryID`, exactly as on the PO line.
    #[serde(default)]
    pub supplier_part_auxiliary_id: Option<String>,
    /// `Description`, which Coupa shows as the invoice line's description.
    pub description: String,
    /// The line's tax, when [`Invoice::tax_at_line`] is true.
    #[serde(default)]
    pub tax: Option<LineTax>,
}

/// The cXML element an invoice line becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceLineKind {
    /// `InvoiceDetailItem`, for PO lines with `LineType` `Quantity`.
    Quantity,
    /// `InvoiceDetailServiceItem`, for amount-based PO lines.
    Service,
}

/// Tax on one line: a line `Tax` with one `TaxDetail purpose="tax"` whose
/// taxable amount is the line subtotal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineTax {
    /// The tax amount, with the sign of the line subtotal.
    pub amount: Decimal,
    /// `TaxDetail@category`, such as `sales`, `VAT` or `GST`.
    pub category: String,
    /// `TaxDetail@percentageRate`, such as `8.25` for 8.25 %.
    #[serde(default)]
    pub rate: Option<Decimal>,
    /// `Tax/Description`. The category is written when it is empty.
    #[serde(default)]
    pub description: String,
}

/// The invoice's total tax: `InvoiceDetailSummary/Tax`, which the DTD
/// requires even when it is zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceTax {
    /// The total tax. When [`Invoice::tax_at_line`] is true it must equal
    /// the sum of the line taxes.
    pub amount: Decimal,
    /// `Tax/Description`. `Tax` (or `No tax` for a zero amount) is written
    /// when it is empty.
    #[serde(default)]
    pub description: String,
    /// `TaxDetail` elements. When given, their tax amounts must add up to
    /// [`InvoiceTax::amount`].
    #[serde(default)]
    pub details: Vec<InvoiceTaxDetail>,
}

impl InvoiceTax {
    /// Returns a zero tax, for an invoice that carries none.
    pub fn none() -> Self {
        Self {
            amount: Decimal::ZERO,
            description: String::new(),
            details: Vec::new(),
        }
    }
}

/// One `TaxDetail` of the summary tax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceTaxDetail {
    /// `category`, such as `sales`, `VAT` or `GST`.
    pub category: String,
    /// `percentageRate`, such as `20` for 20 %.
    #[serde(default)]
    pub rate: Option<Decimal>,
    /// `TaxableAmount`.
    #[serde(default)]
    pub taxable_amount: Option<Decimal>,
    /// `TaxAmount`.
    pub tax_amount: Decimal,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `purpose`: `tax` for tax on goods, `shippingTax` and
    /// `specialHandlingTax` for tax on those charges.
    #[serde(default)]
    pub purpose: Option<String>,
}
