//! The cXML protocol layer: reading the documents a buyer posts, writing the
//! responses, masking secrets in stored copies, and splitting
//! `multipart/related` bodies. It does no I/O.

pub mod model;

pub use model::*;
