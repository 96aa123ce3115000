//! The cXML protocol layer: reading the documents a buyer posts, writing the
//! responses and the invoices we send, masking secrets in stored copies, and
//! splitting and writing `multipart/related` bodies. It does no I/O.

mod error;
mod invoice;
mod mask;
pub mod model;
mod multipart;
mod read;
mod time;
mod write;

pub use error::ReadError;
pub use invoice::{
    invoice_dtd_url, write_invoice, write_multipart_related, AttachmentError, Invoice,
    InvoiceCredential, InvoiceDocument, InvoiceError, InvoiceLine, InvoiceLineKind, InvoicePurpose,
    InvoiceTax, InvoiceTaxDetail, LineTax, MultipartBody, OrderReference, RemitTo,
    SenderCredential, CXML_CONTENT_ID, DEFAULT_INVOICE_DTD_VERSION,
};
pub use mask::{fill_shared_secret, mask_secrets};
pub use model::*;
pub use multipart::{read_multipart_related, MultipartDocument, Part};
pub use read::{document_text, read_envelope, Limits};
pub use time::{format_timestamp, parse_timestamp};
pub use write::{new_payload_id, write_profile_response, write_response, RESPONSE_DTD_URL};
