//! The Brightpearl REST client pobridge uses in production.
//!
//! One [`BrightpearlClient`] serves one Brightpearl account. Every call goes
//! through the account's shared [`Limiter`], refreshes an expired OAuth
//! token once on a 401 and retries, waits out throttling, and fails with a
//! [`BrightpearlError`] whose [`ErrorKind`] lets the engine decide whether to
//! retry, search before writing again, pause the account or give up.
//!
//! The client never creates a sales order twice on its own: a create whose
//! outcome is unknown fails as [`ErrorKind::Ambiguous`] and is not resent.

mod auth;
mod client;
mod config;
mod contacts;
mod custom_fields;
mod de;
mod encode;
mod envelope;
mod error;
mod idset;
mod limiter;
mod message_cost;
mod multi_message;
mod oauth;
mod orders;
mod products;
mod read_retry;
mod reference;
mod sales_order;
mod search;
mod shared_budget;
mod transport;

pub use client::BrightpearlClient;
pub use config::ClientConfig;
pub use contacts::{Contact, ContactQuery, ContactRow, NewContact, PostalAddress, NAME_LIMIT};
pub use custom_fields::{
    CustomFieldMeta, CustomFieldOp, CustomFieldType, CustomFieldValue, CustomFieldValueError,
};
pub use error::{ApiError, BrightpearlError, ErrorKind};
pub use limiter::{Limiter, ThrottleHeaders};
pub use message_cost::{Counting, MultiMessageCost};
pub use multi_message::MAX_MESSAGES;
pub use oauth::{authorize_url, exchange_code, TokenSink};
pub use orders::{Invoice, Order, OrderRef, OrderRow, OrderTotal, StatusRef};
pub use products::{IdentifierColumn, Product, ProductQuery, ProductRow};
pub use read_retry::ReadRetries;
pub use reference::{
    Channel, NominalCode, OrderStatus, PriceList, ShippingMethod, TaxCode, Warehouse,
};
pub use sales_order::{Address, SalesOrder, SalesOrderDelivery, SalesOrderRow};
pub use search::{SearchRequest, SearchResults, SearchRow};
pub use shared_budget::{SharedBudget, SlotClaim, SEND_ALLOWANCE};
