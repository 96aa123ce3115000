use rust_decimal_macros::dec;

use super::*;

fn corpus_orders(name: &str) -> Vec<Order> {
    let path = format!(
        "{}/../../../shared/corpus/brightpearl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    crate::envelope::decode_items::<OrderWire>(&body)
        .unwrap()
        .into_iter()
        .filter_map(|(wire, raw)| wire.into_order(raw))
        .collect()
}

#[test]
fn invoiced_order_reads_invoice_and_rows() {
    let order = corpus_orders("order-get-so-invoiced.response.json").remove(0);

    assert_eq!(order.id, 1);
    assert_eq!(order.parent_order_id, None);
    assert_eq!(order.order_type_code.as_deref(), Some("SO"));
    assert_eq!(order.reference, None);
    assert_eq!(order.version, Some(7));
    assert_eq!(order.status.id, Some(4));
    assert_eq!(order.state_tax.as_deref(), Some("INVOICED"));
    let invoice = order.issued_invoice().unwrap();
    assert_eq!(invoice.invoice_reference, "SI-1001");
    assert_eq!(
        invoice.tax_date.unwrap().to_rfc3339(),
        "2020-03-31T00:00:00-06:00"
    );
    assert!(order.closed_on.is_some());
    assert_eq!(order.currency_code.as_deref(), Some("USD"));
    assert_eq!(order.total_value.total, Some(dec!(10.00)));
    assert_eq!(order.total_value.tax, Some(dec!(0.91)));
    assert_eq!(
        order
            .delivery_address
            .as_ref()
            .unwrap()
            .postal_code
            .as_deref(),
        Some("EX1 1AA")
    );

    let row = &order.rows[0];
    assert_eq!(row.id, 1);
    assert_eq!(row.sequence, Some(10));
    assert_eq!(row.product_id, Some(1007));
    assert_eq!(row.sku.as_deref(), Some("TEST001"));
    assert_eq!(row.quantity, dec!(1));
    assert_eq!(row.net, dec!(9.0909));
    assert_eq!(row.tax, dec!(0.91));
    assert_eq!(row.tax_code.as_deref(), Some("T"));
    assert_eq!(row.tax_rate, Some(dec!(10)));
    assert_eq!(row.nominal_code.as_deref(), Some("4000"));
    assert!(!row.bundle_parent);
    assert!(!row.bundle_child);
    assert_eq!(row.cloned_from_id, None);
}

#[test]
fn invoiced_status_without_reference_is_not_issued() {
    let orders = corpus_orders("order-get-idset-unsorted.response.json");
    let clones: Vec<&Order> = orders.iter().filter(|order| order.id != 1).collect();

    assert_eq!(clones.len(), 2);
    for order in clones {
        assert_eq!(order.status.name.as_deref(), Some("Invoiced"));
        assert!(order.issued_invoice().is_none(), "order {}", order.id);
        assert!(order.invoices[0].tax_date.is_some());
    }
}

#[test]
fn pending_reference_is_not_issued() {
    let pending = Invoice {
        invoice_reference: "pending".into(),
        tax_date: None,
        due_date: None,
    };
    assert!(!pending.is_issued());
}

#[test]
fn rows_sort_by_sequence_number_not_text() {
    let body = serde_json::json!({"response": [{
        "id": 9,
        "orderRows": {
            "5": {"orderRowSequence": "10", "quantity": {"magnitude": "1"}},
            "3": {"orderRowSequence": "9", "quantity": {"magnitude": 2}},
            "7": {"orderRowSequence": "100", "rowValue": {"rowNet": {"value": 0}}}
        }
    }]});
    let order = crate::envelope::decode_items::<OrderWire>(&body)
        .unwrap()
        .remove(0);
    let order = order.0.into_order(order.1).unwrap();

    let ids: Vec<i64> = order.rows.iter().map(|row| row.id).collect();
    assert_eq!(ids, [3, 5, 7]);
    assert_eq!(order.rows[0].quantity, dec!(2));
    assert_eq!(order.rows[2].net, Decimal::ZERO);
}

#[test]
fn custom_fields_are_kept() {
    let order = corpus_orders("order-get-with-custom-fields.response.json").remove(0);
    assert_eq!(order.custom_fields["PCF_P_NUMBER"], "DEMO Number");
}
