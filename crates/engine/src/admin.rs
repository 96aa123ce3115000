//! Operator actions behind the `pobridge` command line: accounts, buyers
//! and their invoicing settings, account settings and invoice row rules,
//! item mappings, listings, order re-syncs, the invoice log and its
//! actions, and Brightpearl connections.
//!
//! Each action returns a typed result or an [`AdminError`] whose message
//! names the rejected value and tells what to do instead. Accounts are named
//! by slug, as the operator types them.

pub mod account_export;
mod accounts;
pub mod buyer_changes;
mod buyer_invoicing;
mod buyers;
pub mod connect;
pub mod customers;
pub mod dashboard;
mod invoice_actions;
pub mod invoice_bulk;
pub mod invoice_log;
pub mod invoice_preview;
pub mod invoice_record;
mod invoices;
pub mod item_csv;
mod items;
#[cfg(test)]
mod log_fixtures;
mod order_actions;
pub mod order_bulk;
pub mod order_log;
pub mod order_record;
mod orders;
pub mod product_search;
mod rows;
pub mod test_order;
pub mod users;

use std::collections::HashMap;

use pobridge_core::{AccountSlug, BuyerId};
use pobridge_store::{Account, Buyer, StoreError};

use crate::settings::SettingError;
use crate::Engine;

pub use accounts::{
    connect_sandbox, create_account, parse_email, queue_refresh, refresh_now, set_setting,
    settings_entries, show_settings, validate_email, GrantedTokens, Refreshed,
};
pub use buyer_invoicing::{CredentialView, InvoicingView, INVOICING_KEYS};
pub use buyers::{
    add_buyer, list_buyers, parse_credential, remove_buyer, set_buyer, show_buyer, AddBuyer,
    BuyerAuth, BuyerView, ChangedBuyer, BUYER_KEYS,
};
pub use invoice_actions::{
    confirm_invoice, queue_invoice_poll, retry_invoices, retry_rejection, ConfirmedInvoice,
    RetryOutcome, RetryRow, RetryTarget, RETRY_REASON,
};
pub use invoices::{
    list_invoices, show_invoice, InvoiceDetail, InvoiceLineView, InvoiceQuery, InvoiceRow,
};
pub use items::{
    item_page, list_items, list_products, map_item, parse_status_filter, ItemPageRequest,
    ItemPageRow, ItemPageView, ItemRow, ItemStatus, MapItem, MappedItem, MAX_PAGE_SIZE,
};
pub use order_actions::{
    mark_handled, resync_orders, resync_rejection, HandledOrder, ResyncOutcome, ResyncRow,
    ResyncTarget,
};
pub use orders::{list_orders, show_order, EventRow, OrderDetail, OrderRow, RevisionRow};
pub use rows::{
    add_row_rule, describe_rule, list_row_rules, remove_row_rule, remove_row_rule_by_text,
    remove_seen_row_rule, AddRowRule, ChangedRows, RowRuleView, CLASS_WORDS, MATCHER_WORDS,
};

/// Placeholder that replaces a shared secret wherever a buyer is shown.
pub const MASKED_SECRET: &str = "********";

/// A rejected operator action. The message names the value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    InvalidSlug(#[from] pobridge_core::ids::InvalidSlug),
    #[error("{field}: {value:?} is not valid; expected {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("account {0:?} not found; create it with `pobridge account add {0} --email EMAIL`")]
    AccountNotFound(String),
    #[error("account {0:?} already exists; choose another slug")]
    AccountExists(String),
    #[error("buyer {value:?} not found in account {account:?}; known buyers: {known}")]
    BuyerNotFound {
        account: String,
        value: String,
        known: String,
    },
    #[error("buyer {0:?} already exists in this account; choose another name with --name")]
    BuyerExists(String),
    #[error("buyer {buyer:?} has {count} {} and cannot be removed, because its orders refer to it; change its credentials with `pobridge buyer set` instead", if *.count == 1 { "purchase order" } else { "purchase orders" })]
    BuyerHasOrders { buyer: String, count: usize },
    #[error("--from {credential}: buyer {buyer:?} already uses this From credential; each buyer needs its own")]
    FromInUse { credential: String, buyer: String },
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error("no product with {product} in the local product index of {account:?}; run `pobridge refresh {account}` if it was added in Brightpearl recently")]
    ProductNotFound {
        account: String,
        /// The requested product, such as `SKU "GLV-S"` or `id 1019`.
        product: String,
    },
    #[error("SKU {sku:?} belongs to several Brightpearl products ({ids}); give one of them as --brightpearl id:PRODUCT_ID")]
    SkuNotUnique { sku: String, ids: String },
    #[error("purchase order {po:?} not found in account {account:?}; list the orders with `pobridge orders {account}`")]
    OrderNotFound { account: String, po: String },
    #[error("purchase order {po:?} not found for buyer {buyer:?} in account {account:?}; list the orders with `pobridge orders {account}`")]
    OrderNotFoundForBuyer {
        account: String,
        po: String,
        buyer: String,
    },
    #[error(
        "purchase order {po:?} exists for several buyers ({buyers}); choose one with --buyer NAME"
    )]
    OrderAmbiguous { po: String, buyers: String },
    #[error("purchase order {po:?} is {status}, not held_for_review; only an order held for review can be marked handled")]
    NotHeldForReview { po: String, status: &'static str },
    #[error("invoice {number:?} not found in account {account:?}{}; list the invoices with `pobridge invoices {account}`", buyer.as_ref().map(|name| format!(" for buyer {name:?}")).unwrap_or_default())]
    InvoiceNotFound {
        account: String,
        number: String,
        buyer: Option<String>,
    },
    #[error(
        "invoice {number:?} exists for several buyers ({buyers}); choose one with --buyer NAME"
    )]
    InvoiceAmbiguous { number: String, buyers: String },
    #[error("invoice {number:?} is {status}; only a held, needs_attention, probably_delivered or changed_after_sending invoice can be confirmed")]
    NotConfirmable {
        number: String,
        status: &'static str,
    },
    #[error("invoice {number:?} is already sent, so there is nothing left to confirm")]
    AlreadySent { number: String },
    #[error("invoice {number:?} changed to {status} while this request ran; look at it again before you act")]
    InvoiceChanged {
        number: String,
        status: &'static str,
    },
    #[error("{field}: {value:?} is not allowed: {reason}")]
    InvoiceUrlNotAllowed {
        field: &'static str,
        value: String,
        reason: pobridge_coupa::AddressRejected,
    },
    #[error("account {0:?} has no Brightpearl connection; connect Brightpearl first")]
    NotConnected(String),
    #[error("Brightpearl request failed")]
    Brightpearl(#[source] pobridge_brightpearl::BrightpearlError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, value: &str, expected: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

/// Finds an account by the slug the operator typed.
pub async fn account(engine: &Engine, slug: &str) -> Result<Account, AdminError> {
    let parsed = AccountSlug::parse(slug)?;
    match engine.store.account_by_slug(&parsed).await {
        Ok(account) => Ok(account),
        Err(StoreError::NotFound { .. }) => Err(AdminError::AccountNotFound(slug.to_owned())),
        Err(error) => Err(error.into()),
    }
}

/// Finds a buyer of the account by name, else by numeric id.
async fn find_buyer(engine: &Engine, account: &Account, value: &str) -> Result<Buyer, AdminError> {
    let buyers = engine.store.list_buyers(account.id).await?;
    match buyer_named(&buyers, value) {
        Some(buyer) => Ok(buyer.clone()),
        None => Err(AdminError::BuyerNotFound {
            account: account.slug.to_string(),
            value: value.to_owned(),
            known: known_list(buyers.iter().map(|buyer| buyer.name.clone())),
        }),
    }
}

/// Picks the buyer whose name is `value`, else the one whose numeric id is.
fn buyer_named<'a>(buyers: &'a [Buyer], value: &str) -> Option<&'a Buyer> {
    let requested = value.trim();
    let by_name = buyers.iter().find(|buyer| buyer.name == requested);
    let by_id = || {
        buyers
            .iter()
            .find(|buyer| buyer.id.to_string() == requested)
    };
    by_name.or_else(by_id)
}

/// Joins names for an error message, or `(none)`.
fn known_list(names: impl Iterator<Item = String>) -> String {
    let names: Vec<String> = names.collect();
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

async fn buyer_names(
    engine: &Engine,
    account: &Account,
) -> Result<HashMap<BuyerId, String>, AdminError> {
    let buyers = engine.store.list_buyers(account.id).await?;
    Ok(buyers
        .into_iter()
        .map(|buyer| (buyer.id, buyer.name))
        .collect())
}

fn name_of(names: &HashMap<BuyerId, String>, id: BuyerId) -> String {
    names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// Builds a product of the local index for unit tests, with only an id, a
/// name and a SKU.
#[cfg(test)]
fn test_product(product_id: i64, name: &str, sku: &str) -> pobridge_store::Product {
    pobridge_store::Product {
        product_id,
        name: name.to_owned(),
        sku: Some(sku.to_owned()),
        barcode: None,
        ean: None,
        upc: None,
        mpn: None,
        isbn: None,
        stock_tracked: false,
        tax_code: None,
        updated_on: None,
    }
}

/// Builds a buyer for unit tests whose From, To and Sender are all
/// `NetworkID:AN01`, with no secret, token or invoicing settings.
#[cfg(test)]
fn test_buyer() -> Buyer {
    let credential = pobridge_store::CredentialRef {
        domain: "NetworkID".to_owned(),
        identity: "AN01".to_owned(),
    };
    Buyer {
        id: BuyerId(1),
        account_id: pobridge_core::AccountId(1),
        name: "globex".to_owned(),
        from: credential.clone(),
        to: credential.clone(),
        sender: credential,
        shared_secret: None,
        url_token: None,
        mode: pobridge_store::BuyerMode::Production,
        invoice_url: None,
        invoicing: serde_json::json!({}),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}
