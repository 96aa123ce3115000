//! Links from Brightpearl order rows to the PO lines they fulfil, which
//! tell the invoice builder what part id, unit and price to echo for a row
//! whose SKU is Brightpearl's, not the buyer's.
//!
//! NOTE: the rows of a sales order pobridge created are linked when a poll
//! or sweep first fetches the order, not when it is created. The Sales
//! Order POST returns only the order id, and reading the rows back would
//! cost one more Brightpearl request per order. So a row that staff add
//! before that first fetch is linked only if its sequence is one the plan
//! used for a PO line.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use pobridge_brightpearl::{Order, OrderRow};
use pobridge_core::{AccountId, PoId};
use pobridge_cxml::OrderRequest;
use pobridge_store::{RowLink, StoreError, TrackedKind, TrackedOrder};

use crate::Engine;

/// Derives the links of a sales order pobridge created from the PO
/// revision it was created from.
///
/// The plan gives the row of the k-th PO line the sequence k, and puts the
/// shipping row (free text, never linked) after them. A row whose
/// `externalRef` names a PO line number, as the plan writes it, is linked by
/// that instead. Bundle components and free-text rows are not linked,
/// because invoices leave them out or treat them as charges.
pub fn links_for_created(order: &Order, po: &OrderRequest) -> Vec<RowLink> {
    order
        .rows
        .iter()
        .filter(|row| !row.bundle_child && row.product_id.is_some())
        .filter_map(|row| {
            let line = line_by_external_ref(row, po).or_else(|| line_by_sequence(row, po))?;
            Some(RowLink {
                brightpearl_order_id: order.id,
                row_id: row.id,
                line_number: line,
            })
        })
        .collect()
}

fn line_by_external_ref(row: &OrderRow, po: &OrderRequest) -> Option<u32> {
    let line: u32 = row.external_ref.as_deref()?.trim().parse().ok()?;
    po.items
        .iter()
        .any(|item| item.line_label() == line)
        .then_some(line)
}

fn line_by_sequence(row: &OrderRow, po: &OrderRequest) -> Option<u32> {
    let position = usize::try_from(row.sequence?).ok()?.checked_sub(1)?;
    po.items.get(position).map(|item| item.line_label())
}

/// Derives the links of a back order or sales credit: each row copied from
/// a linked row (`clonedFromId`) bills the same PO line.
pub fn links_for_cloned(order: &Order, known: &[RowLink]) -> Vec<RowLink> {
    let line_by_row: HashMap<i64, u32> = known
        .iter()
        .map(|link| (link.row_id, link.line_number))
        .collect();
    order
        .rows
        .iter()
        .filter_map(|row| {
            let line = line_by_row.get(&row.cloned_from_id?)?;
            Some(RowLink {
                brightpearl_order_id: order.id,
                row_id: row.id,
                line_number: *line,
            })
        })
        .collect()
}

impl Engine {
    /// Saves the row links of the fetched orders that have none yet.
    /// `orders` must list parents before their back orders and credits, so
    /// a child's rows find their source rows' links.
    pub(crate) async fn link_rows(
        &self,
        account: AccountId,
        orders: &[(TrackedOrder, Order)],
    ) -> Result<(), StoreError> {
        let mut by_po: HashMap<PoId, Vec<RowLink>> = HashMap::new();
        for (tracked, order) in orders {
            let po = tracked.po_id;
            let known = match by_po.entry(po) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.store.row_links(account, po).await?),
            };
            if known
                .iter()
                .any(|link| link.brightpearl_order_id == order.id)
            {
                continue;
            }

            let links = match tracked.kind {
                TrackedKind::Created => {
                    let purchase_order = self.store.purchase_order(account, po).await?;
                    let request = self.synced_order(account, &purchase_order).await?;
                    links_for_created(order, &request)
                }
                _ => links_for_cloned(order, known),
            };
            if links.is_empty() {
                continue;
            }
            self.store.save_row_links(account, po, &links).await?;
            known.extend(links);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pobridge_brightpearl::{OrderTotal, StatusRef};
    use pobridge_cxml::{read_envelope, Body, Limits};
    use rust_decimal::Decimal;

    use super::*;

    const WIDGETS_PO: &str = include_str!("../../../e2e/tests/fixtures/order-widgets.xml");

    /// PO-1001: line 1 is WID-BLU-10, line 2 is SVC-INSTALL-HR.
    fn widgets_po() -> OrderRequest {
        let envelope = read_envelope(WIDGETS_PO.as_bytes(), &Limits::default()).unwrap();
        match envelope.body {
            Body::OrderRequest { order, .. } => order,
            other => panic!("not an OrderRequest: {other:?}"),
        }
    }

    fn row(id: i64, sequence: i64, product: Option<i64>) -> OrderRow {
        OrderRow {
            id,
            sequence: Some(sequence),
            product_id: product,
            sku: Some("BP-SKU".to_owned()),
            name: None,
            quantity: Decimal::ONE,
            net: Decimal::TEN,
            tax: Decimal::ZERO,
            tax_code: Some("Z".to_owned()),
            tax_rate: None,
            nominal_code: None,
            external_ref: None,
            bundle_parent: false,
            bundle_child: false,
            parent_row_id: None,
            cloned_from_id: None,
        }
    }

    fn order(id: i64, rows: Vec<OrderRow>) -> Order {
        Order {
            id,
            parent_order_id: None,
            order_type_code: Some("SO".to_owned()),
            reference: Some("PO-1001".to_owned()),
            version: Some(1),
            status: StatusRef::default(),
            state_tax: None,
            invoices: Vec::new(),
            placed_on: None,
            created_on: None,
            updated_on: None,
            closed_on: None,
            currency_code: Some("USD".to_owned()),
            total_value: OrderTotal::default(),
            shipping_status_code: None,
            delivery_address: None,
            rows,
            custom_fields: BTreeMap::new(),
            raw: serde_json::Value::Null,
        }
    }

    fn link(order: i64, row: i64, line: u32) -> RowLink {
        RowLink {
            brightpearl_order_id: order,
            row_id: row,
            line_number: line,
        }
    }

    #[test]
    fn created_rows_link_by_sequence() {
        let shipping = row(13, 3, None);
        let created = order(7, vec![row(11, 1, Some(5)), row(12, 2, Some(5)), shipping]);
        let links = links_for_created(&created, &widgets_po());
        assert_eq!(links, vec![link(7, 11, 1), link(7, 12, 2)]);
    }

    #[test]
    fn external_ref_wins_over_sequence() {
        let mut first = row(11, 1, Some(5));
        first.external_ref = Some("2".to_owned());
        let created = order(7, vec![first]);
        assert_eq!(
            links_for_created(&created, &widgets_po()),
            vec![link(7, 11, 2)]
        );
    }

    #[test]
    fn unknown_sequences_and_components_stay_unlinked() {
        let mut component = row(12, 2, Some(6));
        component.bundle_child = true;
        let mut foreign_ref = row(14, 40, Some(5));
        foreign_ref.external_ref = Some("9".to_owned());
        let rows = vec![
            row(10, 0, Some(5)),
            row(11, 1, Some(5)),
            component,
            row(13, 30, Some(5)),
            foreign_ref,
        ];
        let links = links_for_created(&order(7, rows), &widgets_po());
        assert_eq!(links, vec![link(7, 11, 1)]);
    }

    #[test]
    fn cloned_rows_take_their_source_rows_line() {
        let mut copied = row(21, 10, Some(5));
        copied.cloned_from_id = Some(12);
        let mut from_unlinked = row(22, 20, Some(5));
        from_unlinked.cloned_from_id = Some(99);
        let back_order = order(8, vec![copied, from_unlinked, row(23, 30, Some(5))]);
        let known = [link(7, 11, 1), link(7, 12, 2)];
        assert_eq!(links_for_cloned(&back_order, &known), vec![link(8, 21, 2)]);
    }
}
