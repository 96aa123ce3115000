//! Invoicing: turning an invoiced Brightpearl order into the cXML invoice
//! (or credit) for its Coupa purchase order, and checking it before it is
//! sent. Pure: the caller reads the order, the PO, the row links and the
//! settings, and stores or sends what comes out.

mod build;
mod preflight;
mod rows;
mod settings;
mod tax;

pub use build::{build_invoice, invoice_date, invoiced_lines, BuildInput, BuiltInvoice};
pub use preflight::check;
pub use rows::line_kind;
pub use settings::{
    classify, describe_rule, matching_rule, missing_for_coupa, row_matches, BuyerCredentials,
    BuyerInvoicing, CreditForm, InvoiceCredentials, RowClass, RowMatcher, RowRule, TaxLevel,
    TaxMapping,
};
