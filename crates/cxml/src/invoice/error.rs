//! Errors for invoices and attachments that would make an invalid or
//! misleading document.

use rust_decimal::Decimal;

/// An [`super::InvoiceDocument`] that would produce an invalid or misleading
/// invoice. `Display` names the field, shows the value and states what is
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// A required text is empty or only whitespace.
    #[error("{field} is empty; expected {expected}")]
    Empty {
        field: String,
        expected: &'static str,
    },

    /// A value of the wrong shape, such as a currency `usd`.
    #[error("{field} is {value}; expected {expected}")]
    InvalidValue {
        field: String,
        value: String,
        expected: &'static str,
    },

    /// An invoice without lines.
    #[error("invoice {invoice_id} has no lines; expected at least one line")]
    NoLines { invoice_id: String },

    /// Two lines with the same `invoice_line_number`.
    #[error(
        "invoice_line_number {number} is used by more than one line; \
         expected each line to have its own number"
    )]
    DuplicateLineNumber { number: u32 },

    /// A line whose quantity and unit price are both negative, which makes a
    /// positive subtotal that reads as a charge.
    #[error(
        "line {line}: quantity {quantity} and unit_price {unit_price} are both negative; \
         to credit, negate only the quantity"
    )]
    BothNegative {
        line: u32,
        quantity: Decimal,
        unit_price: Decimal,
    },

    /// A negative amount in a credit memo, whose purpose already marks it as
    /// a credit.
    #[error(
        "{field} is {value} in a creditMemo; expected a positive value, because \
         purpose=\"creditMemo\" already makes the document a credit"
    )]
    NegativeInCreditMemo { field: String, value: Decimal },

    /// A line whose tax has the opposite sign of its subtotal, such as a
    /// credited line that adds tax.
    #[error(
        "line {line}: tax amount {tax} has the opposite sign of the line subtotal {subtotal}; \
         expected both to be charges or both to be credits"
    )]
    MixedSigns {
        line: u32,
        subtotal: Decimal,
        tax: Decimal,
    },

    /// Tax given on a line of an invoice whose tax is given only in the
    /// summary.
    #[error(
        "line {line} has tax, but tax_at_line is false; set tax_at_line to send \
         tax per line, or remove the line tax"
    )]
    LineTaxWithoutTaxAtLine { line: u32 },

    /// A summary tax that differs from the sum of the line taxes.
    #[error(
        "tax.amount is {summary}, but the line taxes add up to {lines}; \
         expected them to be equal when tax_at_line is true"
    )]
    TaxMismatch { summary: Decimal, lines: Decimal },

    /// A summary tax that differs from the sum of its details.
    #[error(
        "tax.amount is {summary}, but tax.details add up to {details}; \
         expected them to be equal"
    )]
    TaxDetailsMismatch { summary: Decimal, details: Decimal },

    /// A shared secret that is the placeholder a serialized document
    /// contains in place of the real one.
    #[error(
        "sender.shared_secret is the redacted placeholder {placeholder:?}; expected the \
         real secret, because a serialized document never keeps it"
    )]
    RedactedSecret { placeholder: &'static str },

    /// Amounts too large for a decimal.
    #[error("{field} is too large to compute")]
    Overflow { field: String },
}

/// Attachments that cannot go into a `multipart/related` body with their
/// cXML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// A `cid:` URL in the document that names no attachment. Content-IDs
    /// are compared with exact case, because the receiver may do the same.
    #[error(
        "{url} names Content-ID {content_id}, but no attachment has it (compared with \
         exact case); the attachments' Content-IDs are {available:?}"
    )]
    MissingPart {
        url: String,
        content_id: String,
        available: Vec<String>,
    },

    /// A Content-ID that cannot be written into a MIME header.
    #[error("attachment {index} has an invalid Content-ID {value}; expected {expected}")]
    InvalidContentId {
        index: usize,
        value: String,
        expected: &'static str,
    },

    /// A Content-Type that cannot be written into a MIME header.
    #[error("attachment {index} has an invalid Content-Type {value}; expected {expected}")]
    InvalidContentType {
        index: usize,
        value: String,
        expected: &'static str,
    },

    /// Two parts with the same Content-ID.
    #[error("Content-ID {content_id} is used by more than one part; expected unique Content-IDs")]
    DuplicateContentId { content_id: String },

    /// A cXML document that is not well-formed, so its `cid:` URLs cannot be
    /// found.
    #[error("the cXML document is not well-formed: {message}")]
    NotWellFormed { message: String },
}
