use rust_decimal_macros::dec;
use serde_json::json;

use super::*;

fn full_order() -> SalesOrder {
    SalesOrder {
        customer_id: 72433,
        reference: "PO-104233".into(),
        external_ref: "coupa:buyer.example:PO-104233:r1".into(),
        installed_integration_instance_id: None,
        placed_on: Some("2024-06-03T14:05:00+00:00".into()),
        channel_id: Some(4),
        warehouse_id: Some(2),
        status_id: Some(3),
        price_list_id: Some(2),
        price_mode_code: Some("EXC".into()),
        staff_owner_id: None,
        project_id: None,
        lead_source_id: None,
        currency_code: "USD".into(),
        delivery: Some(SalesOrderDelivery {
            date: Some("2024-06-10T00:00:00-05:00".into()),
            shipping_method_id: Some(6),
            address: Some(Address {
                address_full_name: Some("Receiving Dock 3".into()),
                company_name: Some("Buyer Corp".into()),
                address_line1: Some("1 Warehouse Rd".into()),
                address_line2: Some("  ".into()),
                address_line3: Some("Springfield".into()),
                address_line4: Some("IL".into()),
                postal_code: Some("62701".into()),
                country_iso_code: Some("US".into()),
                telephone: None,
                mobile_telephone: None,
                fax: None,
                email: Some("receiving@buyer.example".into()),
            }),
        }),
        rows: vec![
            SalesOrderRow {
                product_id: Some(1007),
                name: "Blue widget, 10 pack".into(),
                quantity: dec!(4),
                tax_code: "T20".into(),
                net: dec!(120.00),
                tax: dec!(24.00),
                nominal_code: None,
                external_ref: Some("1".into()),
                sequence: Some(1),
            },
            SalesOrderRow {
                product_id: None,
                name: "Freight".into(),
                quantity: dec!(1),
                tax_code: "Z".into(),
                net: dec!(15),
                tax: dec!(0),
                nominal_code: Some("4040".into()),
                external_ref: Some("shipping".into()),
                sequence: Some(2),
            },
        ],
    }
}

#[test]
fn sales_order_body_snapshot() {
    insta::assert_json_snapshot!(full_order().body(Some(13)));
}

#[test]
fn zero_money_is_sent_as_text() {
    let body = full_order().body(Some(13));
    let freight = &body["rows"][1];
    assert_eq!(freight["tax"], json!("0"));
    assert_eq!(freight["net"], json!("15"));
    assert_eq!(freight["quantity"], json!("1"));
}

#[test]
fn decimals_are_rounded_to_four_places() {
    let mut order = full_order();
    order.rows[0].net = dec!(9.09087);
    order.rows[0].tax = dec!(-0.00005);
    order.rows[0].quantity = dec!(2.5);
    let body = order.body(None);
    assert_eq!(body["rows"][0]["net"], json!("9.0909"));
    assert_eq!(body["rows"][0]["tax"], json!("-0.0001"));
    assert_eq!(body["rows"][0]["quantity"], json!("2.5"));
}

#[test]
fn minimal_order_has_no_empty_objects_or_nulls() {
    let order = SalesOrder {
        customer_id: 5,
        delivery: Some(SalesOrderDelivery {
            date: Some(String::new()),
            address: Some(Address {
                address_line1: Some("   ".into()),
                ..Address::default()
            }),
            shipping_method_id: None,
        }),
        currency_code: String::new(),
        reference: " ".into(),
        rows: vec![SalesOrderRow {
            tax_code: "Z".into(),
            ..SalesOrderRow::default()
        }],
        ..SalesOrder::default()
    };

    let body = order.body(None);

    assert_eq!(
        body,
        json!({
            "customer": {"id": 5},
            "rows": [{"quantity": "0", "taxCode": "Z", "net": "0", "tax": "0"}]
        })
    );
}

#[test]
fn explicit_instance_id_wins_over_connection() {
    let mut order = full_order();
    order.installed_integration_instance_id = Some(99);
    assert_eq!(
        order.body(Some(13))["installedIntegrationInstanceId"],
        json!(99)
    );
    order.installed_integration_instance_id = None;
    assert_eq!(
        order.body(Some(13))["installedIntegrationInstanceId"],
        json!(13)
    );
    assert!(order
        .body(None)
        .get("installedIntegrationInstanceId")
        .is_none());
}
