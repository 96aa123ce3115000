//! Types every pobridge crate shares: tenant and record identifiers, the
//! injected clock, and the per-account settings the sync engine reads.
//!
//! This crate does no I/O.

pub mod clock;
pub mod connection;
pub mod ids;
pub mod redact;
pub mod settings;
pub mod throttle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use connection::{api_base_from_domain, Connection, ConnectionAuth, ConnectionStatus};
pub use ids::{AccountId, AccountSlug, BuyerId, DocumentId, JobId, PoId, PoNumber, RevisionId};
pub use redact::hide_url_password;
pub use settings::{
    AccountSettings, BrightpearlIdField, ContactMatch, CoupaIdField, RowClass, RowMatcher, RowRule,
    ShippingTreatment,
};
