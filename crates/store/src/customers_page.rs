//! Records of the customers page: the BillTo addresses seen on an account's
//! purchase orders, the orders of each, and customer mappings with the
//! person who chose them.
//!
//! Each purchase order keeps the trimmed `addressID` of its latest
//! revision's BillTo in `purchase_orders.bill_to_address_id`, which a
//! trigger of migration `0006_customers_page` maintains, so grouping orders
//! by BillTo reads no order documents.

use chrono::{DateTime, Utc};
use pobridge_core::{BuyerId, PoId, RevisionId};

use crate::CustomerMapping;

/// One BillTo address of a buyer, as seen on the latest revisions of the
/// account's purchase orders.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenBillTo {
    pub buyer: BuyerId,
    /// The BillTo's `addressID` with surrounding whitespace removed, as
    /// customer mappings store it. `None` groups the orders whose BillTo
    /// has no `addressID`, or that have no BillTo.
    pub address_id: Option<String>,
    /// The BillTo of the newest of those revisions, as the engine stored it
    /// in the parsed order (`header.bill_to`); `Null` when it has none.
    pub bill_to: serde_json::Value,
    /// The purchase orders whose latest revision has this BillTo.
    pub orders: i64,
    /// The time the newest of those revisions arrived.
    pub last_seen: DateTime<Utc>,
}

/// A purchase order with the BillTo `addressID` of its latest revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillToOrder {
    pub po: PoId,
    pub buyer: BuyerId,
    /// Trimmed, as in [`SeenBillTo::address_id`].
    pub address_id: Option<String>,
    pub latest_revision: RevisionId,
}

/// A customer mapping, and who chose its contact in the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenCustomerMapping {
    pub mapping: CustomerMapping,
    /// The person who chose the mapping's current contact, as given to
    /// [`crate::Store::choose_customer_mapping`]. `None` when a sync stored
    /// the contact, including a sync that replaced a chosen contact later.
    pub chosen_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}
