//! The cXML protocol layer: reading the documents a buyer posts, writing the
//! responses, masking secrets in stored copies, and splitting
//! `multipart/related` bodies. It does no I/O.

mod error;
mod mask;
pub mod model;
mod multipart;
mod read;
mod time;
mod write;

pub use error::ReadError;
pub use mask::mask_secrets;
pub use model::*;
pub use multipart::{read_multipart_related, MultipartDocument, Part};
pub use read::{read_envelope, Limits};
pub use time::{format_timestamp, parse_timestamp};
pub use write::{new_payload_id, write_profile_response, write_response, RESPONSE_DTD_URL};
