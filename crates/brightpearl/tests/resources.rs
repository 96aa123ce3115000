//! Typed calls against corpus captures: reference data, multi-id GETs,
//! creates and custom-field patches.

mod common;

use common::{Counter, Harness, Reply};
use pobridge_brightpearl::{
    Address, CustomFieldOp, CustomFieldType, NewContact, PostalAddress, SalesOrder,
    SalesOrderDelivery, SalesOrderRow,
};
use rust_decimal_macros::dec;
use serde_json::json;

/// Serves the corpus capture for each reference resource.
fn reference_data(request: &common::Recorded) -> Reply {
    let name = match request.api_path() {
        "product-service/channel/" => "doc-channel-get-all.response.json",
        "warehouse-service/warehouse" => "doc-warehouse-get-all-partial.response.json",
        "product-service/price-list/" => "price-list-get.response.json",
        "order-service/order-status/" => "order-status-get.response.json",
        "accounting-service/tax-code/" => "tax-code-get-all.response.json",
        "accounting-service/nominal-code/" => "doc-nominal-code-get-idset.response.json",
        "order-service/sale/custom-field-meta-data" => {
            "order-custom-field-metadata-sale-get.response.json"
        }
        "warehouse-service/shipping-method/" => {
            return Reply::fixture(200, "shipping-method-get.json")
        }
        _ => return Reply::empty(404),
    };
    Reply::corpus(200, name)
}

#[tokio::test]
async fn reference_data_reads_typed_items_with_raw() {
    let harness = Harness::start(reference_data).await;
    let client = &harness.client;

    let tax_codes = client.tax_codes().await.unwrap();
    assert_eq!(tax_codes.len(), 11);
    assert_eq!(tax_codes[0].code, "Z");
    assert_eq!(tax_codes[0].rate, None);
    assert_eq!(tax_codes[1].code, "T");
    assert_eq!(tax_codes[1].rate, Some(dec!(10)));
    assert_eq!(tax_codes[1].description.as_deref(), Some("Taxable"));
    assert_eq!(tax_codes[1].raw["rate"], json!(10.0));

    let channels = client.channels().await.unwrap();
    assert_eq!(channels.len(), 5);
    assert_eq!(channels[2].name, "Ebay Channel");
    assert_eq!(channels[2].raw["integrationDetail"]["providerCode"], "ebay");

    let warehouses = client.warehouses().await.unwrap();
    let names: Vec<&str> = warehouses
        .iter()
        .map(|warehouse| warehouse.name.as_str())
        .collect();
    assert_eq!(names, ["Second warehouse", "Glasgow Central"]);

    let price_lists = client.price_lists().await.unwrap();
    assert_eq!(price_lists[0].name, "Cost CRC");
    assert_eq!(price_lists[0].code.as_deref(), Some("COST CRC"));
    assert_eq!(price_lists[0].currency_code.as_deref(), Some("CRC"));
    assert_eq!(price_lists[0].list_type.as_deref(), Some("BUY"));

    let statuses = client.order_statuses().await.unwrap();
    assert_eq!(statuses[0].id, 1);
    assert_eq!(statuses[0].name, "Draft / Quote");
    assert_eq!(statuses[0].order_type_code.as_deref(), Some("SO"));

    let nominal_codes = client.nominal_codes().await.unwrap();
    assert_eq!(nominal_codes[0].code, "0010");
    assert_eq!(nominal_codes[0].name, "Freehold property");

    let shipping = client.shipping_methods().await.unwrap();
    assert_eq!(shipping[1].id, 6);
    assert_eq!(shipping[1].name, "Courier next day");

    let fields = client.order_custom_fields().await.unwrap();
    assert_eq!(fields[0].code, "PCF_TIPONEG");
    assert_eq!(fields[0].field_type, CustomFieldType::Select);
}

#[tokio::test]
async fn multi_get_returns_unsorted_reply_by_id() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "order-get-idset-unsorted.response.json")).await;

    let orders = harness.client.get_orders(&[321, 1, 320, 1]).await.unwrap();

    let ids: Vec<i64> = orders.iter().map(|order| order.id).collect();
    assert_eq!(ids, [1, 320, 321]);
    assert_eq!(
        orders[0].issued_invoice().unwrap().invoice_reference,
        "SI-1001"
    );
    assert!(orders[1].issued_invoice().is_none());
    assert_eq!(orders[1].rows[0].id, 396);
    let requests = harness.api_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].api_path(), "order-service/order/1,320-321");
}

#[tokio::test]
async fn missing_order_is_left_out() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "order-get-missing-id-empty-200.response.json"))
            .await;

    let orders = harness.client.get_orders(&[999]).await.unwrap();

    assert!(orders.is_empty());
}

#[tokio::test]
async fn many_ids_are_chunked_into_short_urls() {
    let harness = Harness::start(|_| Reply::json(200, json!({"response": []}))).await;
    let ids: Vec<i64> = (1..=250).map(|n| n * 2).chain(1000..=1400).collect();

    let products = harness.client.get_products(&ids).await.unwrap();

    assert!(products.is_empty());
    let requests = harness.api_requests();
    assert_eq!(requests.len(), 5);
    let mut covered = 0;
    for request in &requests {
        let set = request
            .api_path()
            .strip_prefix("product-service/product/")
            .unwrap();
        let parts: Vec<&str> = set.split(',').collect();
        assert!(parts.len() <= 100, "{set}");
        let items: i64 = parts
            .iter()
            .map(|part| match part.split_once('-') {
                Some((low, high)) => high.parse::<i64>().unwrap() - low.parse::<i64>().unwrap() + 1,
                None => 1,
            })
            .sum();
        assert!(items <= 200, "{set}");
        covered += items;
    }
    assert_eq!(covered, 651);
}

#[tokio::test]
async fn products_read_from_id_set_capture() {
    let harness = Harness::start(|_| Reply::corpus(200, "product-get-idset.response.json")).await;

    let products = harness
        .client
        .get_products(&[1569, 1007, 1532])
        .await
        .unwrap();

    let ids: Vec<i64> = products.iter().map(|product| product.id).collect();
    assert_eq!(ids, [1007, 1532, 1569]);
    assert_eq!(products[2].name, "Guanto");
    assert_eq!(products[2].ean, None);
    assert_eq!(products[1].tax_code.as_deref(), Some("VAT"));
    assert_eq!(
        harness.api_requests()[0].api_path(),
        "product-service/product/1007,1532,1569"
    );
}

#[tokio::test]
async fn contacts_by_id_skip_missing() {
    let harness = Harness::start(|request| match request.api_path() {
        "contact-service/contact/151499" => Reply::corpus(200, "contact-get-single.response.json"),
        _ => Reply::corpus(404, "contact-get-404-not-found.response.json"),
    })
    .await;

    let contacts = harness.client.get_contacts(&[151_499]).await.unwrap();
    let missing = harness.client.get_contacts(&[1]).await.unwrap();

    assert_eq!(contacts.len(), 1);
    let contact = &contacts[0];
    assert_eq!(contact.id, 151_499);
    assert_eq!(contact.email.as_deref(), Some("contact2@example.com"));
    assert_eq!(contact.post_address_ids["DEL"], 418_693);
    assert_eq!(contact.price_list_id, Some(2));
    assert!(!contact.is_supplier);
    assert!(missing.is_empty());
}

fn sales_order() -> SalesOrder {
    SalesOrder {
        customer_id: 72433,
        reference: "PO-104233".into(),
        external_ref: "coupa:buyer.example:PO-104233:r1".into(),
        placed_on: Some("2024-06-03T14:05:00+00:00".into()),
        channel_id: Some(4),
        warehouse_id: Some(2),
        price_mode_code: Some("EXC".into()),
        currency_code: "USD".into(),
        delivery: Some(SalesOrderDelivery {
            date: Some("2024-06-10".into()),
            address: Some(Address {
                company_name: Some("Buyer Corp".into()),
                address_line1: Some("1 Warehouse Rd".into()),
                country_iso_code: Some("US".into()),
                ..Address::default()
            }),
            shipping_method_id: None,
        }),
        rows: vec![
            SalesOrderRow {
                product_id: Some(1007),
                name: "Blue widget, 10 pack".into(),
                quantity: dec!(4),
                tax_code: "T20".into(),
                net: dec!(120.0000),
                tax: dec!(24.0000),
                nominal_code: None,
                external_ref: Some("1".into()),
                sequence: Some(1),
            },
            SalesOrderRow {
                product_id: None,
                name: "Freight".into(),
                quantity: dec!(1),
                tax_code: "Z".into(),
                net: dec!(0.00),
                tax: dec!(0.00),
                nominal_code: Some("4040".into()),
                external_ref: Some("shipping".into()),
                sequence: Some(2),
            },
        ],
        ..SalesOrder::default()
    }
}

#[tokio::test]
async fn sales_order_post_sends_dto_and_returns_id() {
    let harness = Harness::start(|_| Reply::json(200, json!({"response": 104233}))).await;

    let id = harness
        .client
        .create_sales_order(&sales_order())
        .await
        .unwrap();

    assert_eq!(id, 104_233);
    let request = &harness.api_requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.api_path(), "order-service/sales-order");
    assert_eq!(request.header("content-type"), Some("application/json"));
    insta::assert_json_snapshot!(request.json());
}

#[tokio::test]
async fn postal_address_then_contact_are_created() {
    let harness = Harness::start(|request| match request.api_path() {
        "contact-service/postal-address" => {
            Reply::corpus(200, "legacy2014-postal-address-post.response.json")
        }
        "contact-service/contact" => Reply::corpus(200, "legacy2014-contact-post.response.json"),
        _ => Reply::empty(404),
    })
    .await;

    let address_id = harness
        .client
        .create_postal_address(&PostalAddress {
            address_line1: "Example Store Address".into(),
            postal_code: Some("115-243".into()),
            ..PostalAddress::default()
        })
        .await
        .unwrap();
    let contact_id = harness
        .client
        .create_contact(&NewContact {
            last_name: Some("Accounts Payable Department of Example Store".into()),
            company_name: Some("Example Store".into()),
            email: Some("store1@example.com".into()),
            postal_address_id: address_id,
            ..NewContact::default()
        })
        .await
        .unwrap();

    assert_eq!(address_id, 110);
    assert_eq!(contact_id, 203);
    let requests = harness.api_requests();
    assert_eq!(
        requests[0].json(),
        json!({"addressLine1": "Example Store Address", "postalCode": "115-243"})
    );
    let contact = requests[1].json();
    assert_eq!(contact["lastName"], "Accounts Payable Department of E");
    assert_eq!(
        contact["postAddressIds"],
        json!({"DEF": 110, "BIL": 110, "DEL": 110})
    );
    assert_eq!(
        contact["communication"]["emails"]["PRI"]["email"],
        "store1@example.com"
    );
    assert_eq!(contact["organisation"]["name"], "Example Store");
}

#[tokio::test]
async fn custom_field_patch_fetches_metadata_once() {
    let patches = Counter::default();
    let counter = patches.clone();
    let harness = Harness::start(move |request| match request.api_path() {
        "order-service/sale/custom-field-meta-data" => {
            Reply::corpus(200, "order-custom-field-metadata-sale-get.response.json")
        }
        path if path.ends_with("/custom-field") => {
            counter.next();
            Reply::corpus(200, "order-custom-field-patch-select.response.json")
        }
        _ => Reply::empty(404),
    })
    .await;
    let operations = [
        CustomFieldOp::Add {
            code: "PCF_TIPONEG".into(),
            value: json!("Regalos"),
        },
        CustomFieldOp::Replace {
            code: "PCF_TIPONEG".into(),
            value: json!(null),
        },
    ];

    harness
        .client
        .patch_order_custom_fields(516_491, &operations)
        .await
        .unwrap();
    harness
        .client
        .patch_order_custom_fields(516_492, &operations)
        .await
        .unwrap();

    assert_eq!(patches.get(), 2);
    assert_eq!(
        harness.server.requests_to("custom-field-meta-data").len(),
        1
    );
    let patch = &harness.server.requests_to("/order/516491/custom-field")[0];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.json(),
        json!([{"op": "add", "path": "/PCF_TIPONEG", "value": {"id": 159}}])
    );
}

#[tokio::test]
async fn custom_field_patch_of_only_nulls_sends_nothing() {
    let harness = Harness::start(|_| Reply::empty(500)).await;

    harness
        .client
        .patch_order_custom_fields(
            1,
            &[CustomFieldOp::Add {
                code: "PCF_X".into(),
                value: json!(null),
            }],
        )
        .await
        .unwrap();

    assert!(harness.api_requests().is_empty());
}
