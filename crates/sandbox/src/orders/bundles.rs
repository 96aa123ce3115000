//! Bundle products on new orders: the row for a bundle keeps its price and
//! becomes the bundle parent, and one component row per bundle component
//! follows it at zero value.
// NOTE: no captured order shows bundle rows. The zero-value component rows
// follow Brightpearl's bundle documentation, and their item cost and
// nominal code are a guess.

use std::collections::BTreeMap;

use super::build;
use super::model::{Composition, OrderRow};
use crate::account::{Account, IdCounters};
use rust_decimal::Decimal;

/// Adds component rows for every row whose product is a bundle, and marks
/// those rows as bundle parents.
pub(crate) fn add_components(account: &mut Account, rows: &mut BTreeMap<u64, OrderRow>) {
    let parents: Vec<(u64, Vec<(u64, Decimal)>)> = rows
        .values()
        .filter_map(|row| Some((row.id, components(account, row.product_id?)?)))
        .collect();

    for (parent_id, parts) in parents {
        let Some(parent) = rows.get_mut(&parent_id) else {
            continue;
        };
        parent.composition.bundle_parent = true;
        let parent = parent.clone();
        for (offset, (product_id, per_bundle)) in (1u32..).zip(parts) {
            let id = IdCounters::next(&mut account.ids.row);
            let row = component_row(account, &parent, id, offset, product_id, per_bundle);
            rows.insert(id, row);
        }
    }
}

/// Returns the bundle components of a product as (product id, quantity per
/// bundle), or `None` when the product is not a bundle.
fn components(account: &Account, product_id: u64) -> Option<Vec<(u64, Decimal)>> {
    let product = account.products.get(&product_id)?;
    let listed = product
        .json
        .pointer("/composition/bundleComponents")?
        .as_array()?;
    let parts: Vec<(u64, Decimal)> = listed
        .iter()
        .filter_map(|part| {
            let id = build::id(part.get("productId"))?;
            let quantity = part.get("productQuantity").and_then(build::decimal)?;
            Some((id, quantity))
        })
        .collect();
    (!parts.is_empty()).then_some(parts)
}

fn component_row(
    account: &Account,
    parent: &OrderRow,
    id: u64,
    offset: u32,
    product_id: u64,
    per_bundle: Decimal,
) -> OrderRow {
    let product = account.products.get(&product_id);
    OrderRow {
        id,
        sequence: parent.sequence + offset,
        product_id: Some(product_id),
        name: product.map(|p| p.name()).unwrap_or_default(),
        sku: product.and_then(|p| p.sku()),
        quantity: parent.quantity * per_bundle,
        item_cost: Decimal::ZERO,
        product_price: Decimal::ZERO,
        discount_percentage: Decimal::ZERO,
        net: Decimal::ZERO,
        tax: Decimal::ZERO,
        external_ref: None,
        stock_tracked: product.is_some_and(|p| p.stock_tracked()),
        composition: Composition {
            bundle_parent: false,
            bundle_child: true,
            parent_row_id: parent.id,
        },
        cloned_from_id: 0,
        ..parent.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;

    #[test]
    fn starter_kit_has_three_components() {
        let account = Account::new("t", 1, &SandboxConfig::default());
        let parts = components(&account, 1023).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], (1006, Decimal::TWO));
        assert_eq!(components(&account, 1006), None);
    }
}
