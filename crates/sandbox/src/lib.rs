//! A local simulator of Brightpearl's REST API, for tests and for
//! `pobridge serve --sandbox`.
//!
//! It serves the OAuth approval page and token endpoint, the `/public-api`
//! (and legacy `/2.0.0`) API with Brightpearl's envelopes, throttle
//! headers, ID sets, searches, orders and multi-message, plus test controls
//! as Rust methods and under `/_sandbox/...`. State lives in memory; time
//! comes from an injected [`pobridge_core::Clock`].
//!
//! [`CoupaSandbox`] is a second simulator, of a Coupa instance's cXML
//! invoice endpoint, with its own controls under `/_coupa/...`.

mod account;
mod auth;
mod catalogue;
mod config;
mod control;
mod coupa;
mod envelope;
mod faults;
mod idset;
mod multi_message;
mod oauth;
mod orders;
mod patch;
mod records;
mod resources;
mod sandbox;
mod search;
mod seed;
mod server;
mod throttle;
mod time;
mod webhooks;

pub use config::{SandboxConfig, WindowModel};
pub use coupa::{
    AcceptedInvoice, CoupaBuyerConfig, CoupaSandbox, InvoiceAttachment, InvoicedLine, IssuedLine,
    IssuedPo, ReceivedDocument,
};
pub use faults::Faults;
pub use sandbox::{AccountHandle, LoggedRequest, Sandbox, SandboxError, TokenGrant};
