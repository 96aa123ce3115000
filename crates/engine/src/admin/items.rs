//! Coupa items, their mapping to Brightpearl products, and the local
//! product index.

use std::collections::HashMap;

use pobridge_core::{BrightpearlIdField, CoupaIdField};
use pobridge_store::{Account, CoupaItem, CoupaItemRow, ItemFilter, ItemMapping, Product};
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
    let items = engine
        .store
        .list_coupa_items(account.id, &ItemFilter::default())
        .await?;

    let mut mappings: HashMap<String, Vec<ItemMapping>> = HashMap::new();
    let mut rows = Vec::with_capacity(items.len());
    for row in items {
        let part_id = row.item.part_id.clone();
        if !mappings.contains_key(&part_id) {
            let found = engine.store.item_mappings(account.id, &part_id).await?;
            mappings.insert(part_id.clone(), found);
        }
        let part_mappings = mappings
            .get(&part_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let status = item_status(engine, &account, &row, part_mappings).await?;
        if unmapped_only && !matches!(status, ItemStatus::Unmapped { .. }) {
            continue;
        }
        rows.push(ItemRow {
            buyer: name_of(&buyer_names, row.buyer_id),
            part_id,
            unit_of_measure: row.item.unit_of_measure,
            description: row.item.description,
            status,
        });
    }
    Ok(rows)
}

async fn item_status(
    engine: &Engine,
    account: &Account,
    row: &CoupaItemRow,
    mappings: &[ItemMapping],
) -> Result<ItemStatus, AdminError> {
    let store = &*engine.store;
    let unit = row.item.unit_of_measure.trim();
    if let Some(mapping) = crate::products::pick_mapping(mappings, row.buyer_id, unit) {
        let sku = store
            .product(account.id, mapping.product_id)
            .await?
            .and_then(|product| product.sku);
        return Ok(ItemStatus::MappedByHand {
            product_id: mapping.product_id,
            sku,
        });
    }
    if !mappings.is_empty() {
        let detail = format!("mapped for other units only, not {unit}");
        return Ok(ItemStatus::Unmapped { detail });
    }

    let settings = &account.settings;
    let Some(value) = item_identifier(&row.item, settings.coupa_id_field) else {
        let detail = format!(
            "the item has no {}",
            coupa_field_name(settings.coupa_id_field)
        );
        return Ok(ItemStatus::Unmapped { detail });
    };
    let products = store
        .products_by_identifier(account.id, settings.brightpearl_id_field, &value)
        .await?;
    let status = match products.as_slice() {
        [product] => ItemStatus::MappedByUniqueId {
            product_id: product.product_id,
            sku: product.sku.clone(),
        },
        [] => ItemStatus::Unmapped {
            detail: format!(
                "no product in the local index has {} {value:?}",
                brightpearl_field_name(settings.brightpearl_id_field)
            ),
        },
        several => ItemStatus::Unmapped {
            detail: format!(
                "{} products have {} {value:?}",
                several.len(),
                brightpearl_field_name(settings.brightpearl_id_field)
            ),
        },
    };
    Ok(status)
}

fn coupa_field_name(field: CoupaIdField) -> &'static str {
    match field {
        CoupaIdField::SupplierPartId => "SupplierPartID",
        CoupaIdField::SupplierPartAuxiliaryId => "SupplierPartAuxiliaryID",
        CoupaIdField::ManufacturerPartId => "ManufacturerPartID",
        CoupaIdField::BuyerPartId => "BuyerPartID",
    }
}

fn brightpearl_field_name(field: BrightpearlIdField) -> &'static str {
    match field {
        BrightpearlIdField::Sku => "SKU",
        BrightpearlIdField::Barcode => "barcode",
        BrightpearlIdField::Ean => "EAN",
        BrightpearlIdField::Upc => "UPC",
        BrightpearlIdField::Mpn => "MPN",
        BrightpearlIdField::Isbn => "ISBN",
    }
}

/// Returns the value of the account's chosen Coupa identifier on a recorded item.
fn item_identifier(item: &CoupaItem, field: CoupaIdField) -> Option<String> {
    let value = match field {
        CoupaIdField::SupplierPartId => Some(item.part_id.as_str()),
        CoupaIdField::SupplierPartAuxiliaryId => item.auxiliary_id.as_deref(),
        CoupaIdField::ManufacturerPartId => item.manufacturer_part_id.as_deref(),
        CoupaIdField::BuyerPartId => item.buyer_part_id.as_deref(),
    };
    value
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
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
    let part_id = request.coupa_part_id.trim();
    if part_id.is_empty() {
        return Err(invalid(
            "--coupa",
            &request.coupa_part_id,
            "a non-empty Coupa part id",
        ));
    }
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
    let now = engine.clock.now();
    engine
        .store
        .upsert_item_mapping(account.id, &mapping, now)
        .await?;
    let released_jobs = engine.store.release_waiting_jobs(account.id, now).await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, product.id = product.product_id, released_jobs, "item mapped");

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

fn parse_factor(value: Option<&str>) -> Result<Decimal, AdminError> {
    let Some(value) = value else {
        return Ok(Decimal::ONE);
    };
    match value.trim().parse::<Decimal>() {
        Ok(factor) if factor > Decimal::ZERO => Ok(factor.normalize()),
        _ => Err(invalid(
            "--factor",
            value,
            "a positive number, such as 12 or 0.5",
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
    let not_found = || AdminError::ProductNotFound {
        account: account.slug.to_string(),
        sku: requested.to_owned(),
    };
    if let Some(id) = requested.strip_prefix("id:") {
        let id = id
            .trim()
            .parse::<i64>()
            .map_err(|_| invalid("--brightpearl", value, "a SKU or id:PRODUCT_ID"))?;
        return store.product(account.id, id).await?.ok_or_else(not_found);
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
        [] => Err(not_found()),
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
        for value in ["0", "-1", "twelve"] {
            assert!(parse_factor(Some(value)).is_err(), "{value:?}");
        }
    }
}
