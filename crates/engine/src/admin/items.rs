//! Coupa items, their mapping to Brightpearl products, and the local
//! product index.

use std::collections::HashMap;

use pobridge_core::{AccountSettings, BuyerId};
use pobridge_store::{
    Account, ItemMapping, ItemMatch, ItemPageEntry, ItemPageQuery, MappingStatus,
    MappingStatusCounts, Product, UnmappedReason,
};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{account, buyer_names, find_buyer, invalid, known_list, name_of, AdminError};
use crate::Engine;

/// Mapping status of a Coupa item: which Brightpearl product it reaches, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemStatus {
    /// An item mapping made by a person applies.
    MappedByHand {
        product_id: i64,
        sku: Option<String>,
    },
    /// No mapping, but exactly one product's identifier equals the item's.
    MappedByUniqueId {
        product_id: i64,
        sku: Option<String>,
    },
    /// Orders with this item wait for a mapping, and `detail` gives the reason.
    Unmapped { detail: String },
}

/// One Coupa item seen on an order, with its mapping status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    pub buyer: String,
    pub part_id: String,
    pub unit_of_measure: String,
    pub description: String,
    pub status: ItemStatus,
}

/// Lists the Coupa items seen on an account's orders with their mapping
/// status, computed the way the sync matches lines: a manual mapping first,
/// then the account's `coupa_id_field` against its `brightpearl_id_field`
/// in the local product index. The live Brightpearl search a sync does on a
/// miss is not done here.
pub async fn list_items(
    engine: &Engine,
    slug: &str,
    unmapped_only: bool,
) -> Result<Vec<ItemRow>, AdminError> {
    let account = account(engine, slug).await?;
    let buyer_names = buyer_names(engine, &account).await?;
    let query = ItemPageQuery {
        status: unmapped_only.then_some(MappingStatus::Unmapped),
        ..ItemPageQuery::default()
    };
    let page = engine.store.item_page(account.id, &query).await?;

    let rows = page
        .entries
        .into_iter()
        .map(|entry| item_row(&account.settings, &buyer_names, entry).0)
        .collect();
    Ok(rows)
}

/// The largest page [`item_page`] returns.
pub const MAX_PAGE_SIZE: i64 = 500;

/// A request for one page of the item mapping page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPageRequest {
    /// Only items with this status; `None` for all of them.
    pub status: Option<MappingStatus>,
    /// Buyer name or numeric id; `None` for every buyer.
    pub buyer: Option<String>,
    /// Text to find in part ids and descriptions, ignoring case; blank
    /// finds everything.
    pub search: Option<String>,
    /// Items per page, from 1 to [`MAX_PAGE_SIZE`].
    pub limit: i64,
    /// Items skipped before the page.
    pub offset: i64,
}

/// One item as the item mapping page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemPageRow {
    #[serde(flatten)]
    pub item: ItemRow,
    /// Name of the product the item maps to, when the local index has it.
    pub product_name: Option<String>,
}

/// One page of items with the counts the page's tabs show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemPageView {
    pub rows: Vec<ItemPageRow>,
    /// Items that match every filter, on all pages.
    pub total: i64,
    /// Items per status that match the buyer and the search.
    pub counts: MappingStatusCounts,
    pub limit: i64,
    pub offset: i64,
}

/// Lists one page of the account's Coupa items with their mapping status,
/// filtered by status, buyer and search, with the count of each status.
/// Statuses are those of [`list_items`].
pub async fn item_page(
    engine: &Engine,
    slug: &str,
    request: &ItemPageRequest,
) -> Result<ItemPageView, AdminError> {
    let account = account(engine, slug).await?;
    if !(1..=MAX_PAGE_SIZE).contains(&request.limit) {
        let expected = format!("a page size from 1 to {MAX_PAGE_SIZE}");
        return Err(invalid("limit", &request.limit.to_string(), expected));
    }
    if request.offset < 0 {
        let expected = "an offset of 0 or more";
        return Err(invalid("offset", &request.offset.to_string(), expected));
    }
    let buyer = match request.buyer.as_deref() {
        Some(value) => Some(find_buyer(engine, &account, value).await?.id),
        None => None,
    };
    let search = request
        .search
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());

    let query = ItemPageQuery {
        status: request.status,
        buyer,
        search: search.map(str::to_owned),
        limit: Some(request.limit),
        offset: request.offset,
    };
    let page = engine.store.item_page(account.id, &query).await?;
    let buyer_names = buyer_names(engine, &account).await?;

    let rows = page
        .entries
        .into_iter()
        .map(|entry| {
            let (item, product_name) = item_row(&account.settings, &buyer_names, entry);
            ItemPageRow { item, product_name }
        })
        .collect();
    Ok(ItemPageView {
        rows,
        total: page.total,
        counts: page.counts,
        limit: request.limit,
        offset: request.offset,
    })
}

/// Reads a status filter as the page's tabs name it: `all`, or a status
/// in snake_case.
pub fn parse_status_filter(value: &str) -> Result<Option<MappingStatus>, AdminError> {
    match value.trim() {
        "all" => Ok(None),
        "mapped_by_hand" => Ok(Some(MappingStatus::MappedByHand)),
        "mapped_by_unique_id" => Ok(Some(MappingStatus::MappedByUniqueId)),
        "unmapped" => Ok(Some(MappingStatus::Unmapped)),
        _ => Err(invalid(
            "status",
            value,
            "all, mapped_by_hand, mapped_by_unique_id or unmapped",
        )),
    }
}

/// Turns a stored item into a listed one, with the name of its product.
fn item_row(
    settings: &AccountSettings,
    buyer_names: &HashMap<BuyerId, String>,
    entry: ItemPageEntry,
) -> (ItemRow, Option<String>) {
    let item = entry.item.item;
    let unit = item.unit_of_measure.trim();
    let (status, product_name) = match entry.matched {
        ItemMatch::MappedByHand {
            product_id,
            sku,
            name,
        } => (ItemStatus::MappedByHand { product_id, sku }, name),
        ItemMatch::MappedByUniqueId {
            product_id,
            sku,
            name,
        } => (ItemStatus::MappedByUniqueId { product_id, sku }, name),
        ItemMatch::Unmapped(reason) => {
            let detail = unmapped_detail(settings, unit, &reason);
            (ItemStatus::Unmapped { detail }, None)
        }
    };
    let row = ItemRow {
        buyer: name_of(buyer_names, entry.item.buyer_id),
        part_id: item.part_id,
        unit_of_measure: item.unit_of_measure,
        description: item.description,
        status,
    };
    (row, product_name)
}

/// Explains why an item in `unit` is unmapped, naming the account's
/// identifier fields.
fn unmapped_detail(settings: &AccountSettings, unit: &str, reason: &UnmappedReason) -> String {
    let brightpearl_field = settings.brightpearl_id_field.label();
    match reason {
        UnmappedReason::OtherMappingsOnly => {
            format!("mapped by hand for other buyers or units only, not for this buyer in {unit}")
        }
        UnmappedReason::NoIdentifier => {
            format!("the item has no {}", settings.coupa_id_field.element_name())
        }
        UnmappedReason::NoProduct { value } => {
            format!("no product in the local index has {brightpearl_field} {value:?}")
        }
        UnmappedReason::SeveralProducts { value, count } => {
            format!("{count} products have {brightpearl_field} {value:?}")
        }
    }
}

/// A manual item mapping as the operator gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapItem {
    pub coupa_part_id: String,
    /// Only lines in this unit of measure; `None` maps every unit.
    pub unit_of_measure: Option<String>,
    /// Buyer name or numeric id; `None` maps the part for every buyer.
    pub buyer: Option<String>,
    /// The product's SKU, or `id:PRODUCT_ID` when a SKU is not unique.
    pub brightpearl: String,
    /// Brightpearl quantity per Coupa unit, as typed; `None` is 1.
    pub quantity_factor: Option<String>,
}

/// The mapping that was stored and how many waiting orders it released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedItem {
    pub coupa_part_id: String,
    pub unit_of_measure: Option<String>,
    pub buyer: Option<String>,
    pub product_id: i64,
    pub sku: Option<String>,
    pub quantity_factor: Decimal,
    /// Waiting jobs made runnable again.
    pub released_jobs: u64,
}

/// Maps a Coupa part to a product of the local product index, then
/// releases the account's waiting jobs so held orders try again.
pub async fn map_item(
    engine: &Engine,
    slug: &str,
    request: &MapItem,
) -> Result<MappedItem, AdminError> {
    let account = account(engine, slug).await?;
    // An empty part id is a key like any other: Coupa sends lines without a
    // SupplierPartID (free-form requests), and they can only be mapped by hand.
    let part_id = request.coupa_part_id.trim();
    let quantity_factor = parse_factor(request.quantity_factor.as_deref())?;
    let buyer = match request.buyer.as_deref() {
        Some(value) => Some(find_buyer(engine, &account, value).await?),
        None => None,
    };
    let product = find_product(engine, &account, &request.brightpearl).await?;
    let unit_of_measure = request
        .unit_of_measure
        .as_deref()
        .map(str::trim)
        .filter(|unit| !unit.is_empty());

    let mapping = ItemMapping {
        buyer: buyer.as_ref().map(|buyer| buyer.id),
        coupa_part_id: part_id.to_owned(),
        unit_of_measure: unit_of_measure.map(str::to_owned),
        product_id: product.product_id,
        quantity_factor,
    };
    let released_jobs = save_mappings(engine, &account, std::slice::from_ref(&mapping)).await?;

    Ok(MappedItem {
        coupa_part_id: mapping.coupa_part_id,
        unit_of_measure: mapping.unit_of_measure,
        buyer: buyer.map(|buyer| buyer.name),
        product_id: product.product_id,
        sku: product.sku,
        quantity_factor,
        released_jobs,
    })
}

/// Stores manual mappings in one transaction, then releases the account's
/// waiting jobs so that orders held for a mapping run again. Returns how
/// many jobs were released.
pub(super) async fn save_mappings(
    engine: &Engine,
    account: &Account,
    mappings: &[ItemMapping],
) -> Result<u64, AdminError> {
    let now = engine.clock.now();
    engine
        .store
        .upsert_item_mappings(account.id, mappings, now)
        .await?;
    let released_jobs = engine.store.release_waiting_jobs(account.id, now).await?;
    engine.wake.notify_one();
    tracing::info!(
        tenant.id = %account.id,
        mappings = mappings.len(),
        released_jobs,
        "item mappings saved"
    );
    Ok(released_jobs)
}

/// The smallest and largest quantity factors a mapping takes. A unit of
/// measure a million times another covers real packaging (a pallet of
/// screws, milligrams to kilograms), and the bounds keep a mistyped factor
/// from turning an order's quantities into numbers that do not compute.
pub const FACTOR_RANGE: (Decimal, Decimal) = (
    Decimal::from_parts(1, 0, 0, false, 6),
    Decimal::from_parts(1_000_000, 0, 0, false, 0),
);

/// Reads a quantity factor as typed; `None` is 1.
pub(super) fn parse_factor(value: Option<&str>) -> Result<Decimal, AdminError> {
    let Some(value) = value else {
        return Ok(Decimal::ONE);
    };
    let (smallest, largest) = FACTOR_RANGE;
    let text = value.trim();
    // The text's own decimal places, since parsing would round away any
    // beyond the sixth and bring a value just outside the range into it.
    let places = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.trim_end_matches('0').len());
    match text.parse::<Decimal>() {
        Ok(factor) if places <= 6 && factor >= smallest && factor <= largest => {
            Ok(factor.normalize())
        }
        _ => Err(invalid(
            "--factor",
            value,
            "a number from 0.000001 to 1000000 with at most 6 decimal places, such as 12 or 0.5",
        )),
    }
}

async fn find_product(
    engine: &Engine,
    account: &Account,
    value: &str,
) -> Result<Product, AdminError> {
    let store = &*engine.store;
    let requested = value.trim();
    let not_found = |product: String| AdminError::ProductNotFound {
        account: account.slug.to_string(),
        product,
    };
    if let Some(id) = requested.strip_prefix("id:") {
        let id = id
            .trim()
            .parse::<i64>()
            .map_err(|_| invalid("--brightpearl", value, "a SKU or id:PRODUCT_ID"))?;
        let product = store.product(account.id, id).await?;
        return product.ok_or_else(|| not_found(format!("id {id}")));
    }
    let products = store
        .products_by_identifier(
            account.id,
            pobridge_core::BrightpearlIdField::Sku,
            requested,
        )
        .await?;
    match products.as_slice() {
        [product] => Ok(product.clone()),
        [] => Err(not_found(format!("SKU {requested:?}"))),
        several => Err(AdminError::SkuNotUnique {
            sku: requested.to_owned(),
            ids: known_list(several.iter().map(|product| product.product_id.to_string())),
        }),
    }
}

/// Lists products of the account's local product index.
pub async fn list_products(
    engine: &Engine,
    slug: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Product>, AdminError> {
    let account = account(engine, slug).await?;
    Ok(engine
        .store
        .list_products(account.id, limit, offset)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_must_be_positive() {
        assert_eq!(parse_factor(None).unwrap(), Decimal::ONE);
        assert_eq!(parse_factor(Some("12.0")).unwrap(), Decimal::from(12));
        assert_eq!(parse_factor(Some("0.000001")).unwrap(), Decimal::new(1, 6));
        assert_eq!(
            parse_factor(Some("1000000")).unwrap(),
            Decimal::from(1_000_000)
        );
        for value in [
            "0",
            "-1",
            "twelve",
            "0.0000009",
            "1000000.5",
            "1e28",
            "0.0000009999999999999999999999999",
            "1000000.0000000000000000000000000001",
            "0.3333333",
        ] {
            assert!(parse_factor(Some(value)).is_err(), "{value:?}");
        }
    }
}
