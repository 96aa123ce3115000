//! Orders made from another order's rows, as staff make them in the
//! Brightpearl UI: a back order split off a sales order, and a sales
//! credit raised against one. Both carry `parentOrderId`, and each of their
//! rows carries the `clonedFromId` of the row it came from.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::model::{Order, OrderRow};
use crate::account::{Account, IdCounters};
use crate::time::local_midnight;
use crate::SandboxError;

/// A row to copy and the quantity to take from it.
pub(crate) type Pick = (u64, Decimal);

/// Moves `picks` from a sales order to a new sales order whose parent is
/// the original, reducing (or removing) the original rows. Returns the new
/// order's id.
pub(crate) fn split_back_order(
    account: &mut Account,
    order_id: u64,
    picks: &[Pick],
    now: DateTime<Utc>,
) -> Result<u64, SandboxError> {
    let original = sales_order(account, order_id)?;
    if !original.invoice_reference.is_empty() {
        return Err(SandboxError::AlreadyInvoiced(order_id));
    }
    check_picks(original, picks, |row| row.quantity)?;

    // The back order keeps the original's status and placedOn.
    let back_order = derive(account, order_id, "SO", picks, now)?;
    let id = back_order.id;

    let moved: Vec<OrderRow> = back_order.rows.values().cloned().collect();
    account.orders.insert(id, back_order);
    if let Some(original) = account.orders.get_mut(&order_id) {
        for row in &moved {
            take_from(original, row);
        }
        original.touch(now);
    }
    Ok(id)
}

/// Raises an un-invoiced sales credit (`SC`) for `picks` of a sales order.
/// A row can be credited up to its quantity less what earlier credits of
/// the same order took. Returns the credit's id.
pub(crate) fn raise_sales_credit(
    account: &mut Account,
    order_id: u64,
    picks: &[Pick],
    now: DateTime<Utc>,
) -> Result<u64, SandboxError> {
    let original = sales_order(account, order_id)?;
    let credited = credited_quantities(account, order_id);
    check_picks(original, picks, |row| {
        row.quantity - credited.get(&row.id).copied().unwrap_or_default()
    })?;

    let mut credit = derive(account, order_id, "SC", picks, now)?;
    credit.status_id = account.catalogue.settings.default_sales_credit_status_id;
    credit.placed_on = now;
    let id = credit.id;
    account.orders.insert(id, credit);
    Ok(id)
}

fn sales_order(account: &Account, order_id: u64) -> Result<&Order, SandboxError> {
    let order = account
        .orders
        .get(&order_id)
        .ok_or(SandboxError::UnknownOrder(order_id))?;
    if order.order_type != "SO" {
        return Err(SandboxError::InvalidRecord(format!(
            "order {order_id} is a {} order, expected a sales order (SO)",
            order.order_type
        )));
    }
    Ok(order)
}

/// Checks that the picks name distinct rows of the order that are not
/// bundle components, each with a quantity above 0 and at most
/// `available(row)`.
fn check_picks(
    order: &Order,
    picks: &[Pick],
    available: impl Fn(&OrderRow) -> Decimal,
) -> Result<(), SandboxError> {
    if picks.is_empty() {
        return Err(SandboxError::InvalidRecord(
            "no rows given; expected at least one (row id, quantity)".to_owned(),
        ));
    }
    let mut seen = BTreeSet::new();
    for &(row_id, quantity) in picks {
        if !seen.insert(row_id) {
            return Err(SandboxError::InvalidRecord(format!(
                "row {row_id} is given twice"
            )));
        }
        let row = order.rows.get(&row_id).ok_or(SandboxError::UnknownRow {
            order_id: order.id,
            row_id,
        })?;
        if row.composition.bundle_child {
            return Err(SandboxError::InvalidRecord(format!(
                "row {row_id} is a bundle component; give its bundle row {} instead",
                row.composition.parent_row_id
            )));
        }
        let available = available(row);
        if quantity <= Decimal::ZERO || quantity > available {
            return Err(SandboxError::InvalidQuantity {
                row_id,
                requested: quantity,
                available,
            });
        }
    }
    Ok(())
}

/// Returns the quantity of each row of `order_id` that its sales credits
/// already contain.
fn credited_quantities(account: &Account, order_id: u64) -> BTreeMap<u64, Decimal> {
    let mut credited = BTreeMap::new();
    let credits = account
        .orders
        .values()
        .filter(|o| o.order_type == "SC" && o.parent_order_id == order_id);
    for row in credits.flat_map(|credit| credit.rows.values()) {
        *credited.entry(row.cloned_from_id).or_default() += row.quantity;
    }
    credited
}

/// Builds a new, un-invoiced order of `order_type` from the original's
/// header and copies of the picked rows (with their bundle components).
fn derive(
    account: &mut Account,
    order_id: u64,
    order_type: &str,
    picks: &[Pick],
    now: DateTime<Utc>,
) -> Result<Order, SandboxError> {
    let original = account
        .orders
        .get(&order_id)
        .cloned()
        .ok_or(SandboxError::UnknownOrder(order_id))?;
    let offset = account.catalogue.offset;
    let tax_date = local_midnight(now, offset);
    let term = match (original.due_date, original.tax_date) {
        (Some(due), Some(tax)) => due - tax,
        _ => Duration::zero(),
    };

    let mut rows = BTreeMap::new();
    for &(row_id, quantity) in picks {
        copy_row(account, &original, row_id, quantity, &mut rows);
    }
    Ok(Order {
        id: IdCounters::next(&mut account.ids.order),
        order_type: order_type.to_owned(),
        parent_order_id: order_id,
        external_ref: None,
        installed_integration_instance_id: None,
        version: 1,
        tax_state: "READY".to_owned(),
        created_on: now,
        updated_on: None,
        closed_on: None,
        invoice_reference: String::new(),
        tax_date: Some(tax_date),
        due_date: Some(tax_date + term),
        rows,
        shipped: false,
        is_cancelled: false,
        invoice_pending_since: None,
        requested_tax_date: None,
        goods_out_notes: BTreeMap::new(),
        ..original
    })
}

/// Copies `quantity` of a row, and the same share of its bundle
/// components, into `rows` under new ids.
fn copy_row(
    account: &mut Account,
    original: &Order,
    row_id: u64,
    quantity: Decimal,
    rows: &mut BTreeMap<u64, OrderRow>,
) {
    let Some(row) = original.rows.get(&row_id) else {
        return;
    };
    let parent_id = IdCounters::next(&mut account.ids.row);
    rows.insert(parent_id, share_of(row, parent_id, quantity));

    let components = original
        .rows
        .values()
        .filter(|c| c.composition.bundle_child && c.composition.parent_row_id == row_id);
    for component in components {
        let id = IdCounters::next(&mut account.ids.row);
        let component_quantity = component.quantity * quantity / row.quantity;
        let mut copy = share_of(component, id, component_quantity);
        copy.composition.parent_row_id = parent_id;
        rows.insert(id, copy);
    }
}

/// Copies `row` under `id` for `quantity` of it, with net and tax in
/// proportion.
fn share_of(row: &OrderRow, id: u64, quantity: Decimal) -> OrderRow {
    let scale = |value: Decimal, dp: u32| {
        if row.quantity.is_zero() {
            Decimal::ZERO
        } else {
            (value * quantity / row.quantity)
                .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        }
    };
    OrderRow {
        id,
        quantity,
        net: scale(row.net, 4),
        tax: scale(row.tax, 2),
        cloned_from_id: row.id,
        ..row.clone()
    }
}

/// Takes a moved row's quantity, net and tax off the row it was cloned
/// from, removing that row once nothing is left.
fn take_from(original: &mut Order, moved: &OrderRow) {
    let Some(row) = original.rows.get_mut(&moved.cloned_from_id) else {
        return;
    };
    row.quantity -= moved.quantity;
    row.net -= moved.net;
    row.tax -= moved.tax;
    if row.quantity <= Decimal::ZERO {
        original.rows.remove(&moved.cloned_from_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn share_scales_net_and_tax() {
        let row = OrderRow {
            id: 7,
            sequence: 10,
            product_id: Some(1001),
            name: "Widget".into(),
            sku: None,
            quantity: dec!(3),
            item_cost: Decimal::ZERO,
            product_price: dec!(10),
            discount_percentage: Decimal::ZERO,
            tax_code: "T20".into(),
            tax_rate: dec!(20),
            tax_class_id: 1,
            net: dec!(10),
            tax: dec!(2),
            nominal_code: "4000".into(),
            external_ref: None,
            stock_tracked: true,
            composition: Default::default(),
            cloned_from_id: 0,
        };
        let copy = share_of(&row, 9, dec!(1));
        assert_eq!(copy.id, 9);
        assert_eq!(copy.cloned_from_id, 7);
        assert_eq!(copy.quantity, dec!(1));
        assert_eq!(copy.net, dec!(3.3333));
        assert_eq!(copy.tax, dec!(0.67));
        assert_eq!(copy.product_price, dec!(10));
    }
}
