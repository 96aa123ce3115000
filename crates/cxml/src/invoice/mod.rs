//! The invoices pobridge sends to a buyer's Coupa: the model, the cXML
//! `InvoiceDetailRequest` writer, and the `multipart/related` writer for
//! invoices with attachments.

mod amounts;
mod check;
mod error;
mod format;
mod lines;
mod model;
mod multipart;
mod write;
mod xml;

pub use error::{AttachmentError, InvoiceError};
pub use model::{
    Invoice, InvoiceCredential, InvoiceDocument, InvoiceLine, InvoiceLineKind, InvoicePurpose,
    InvoiceTax, InvoiceTaxDetail, LineTax, OrderReference, RemitTo, SenderCredential,
    DEFAULT_INVOICE_DTD_VERSION,
};
pub use multipart::{write_multipart_related, MultipartBody, CXML_CONTENT_ID};
pub use write::{invoice_dtd_url, write_invoice};
