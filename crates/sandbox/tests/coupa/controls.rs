//! The JSON controls under `/_coupa/...`.

use serde_json::{json, Value};

use crate::support::{fixture, standard_buyer, standard_po, TestCoupa};

#[tokio::test]
async fn buyer_and_po_can_be_registered_over_http() {
    let t = TestCoupa::start().await;
    let buyer = serde_json::to_value(standard_buyer(false)).unwrap();
    let response = t
        .http
        .post(format!("{}/_coupa/buyers", t.base_url))
        .json(&buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["invoice_to"], buyer["invoice_to"]);
    assert_eq!(stored["shared_secret"], "****");
    let po = json!({
        "po_number": "PO-1001",
        "currency": "USD",
        "lines": [
            { "line_number": 1, "supplier_part_id": "WID-100", "unit_of_measure": "EA",
              "quantity": "10", "unit_price": "4.50", "service": false },
            { "line_number": 2, "supplier_part_id": "SVC-INSTALL", "unit_of_measure": "HUR",
              "quantity": "1", "unit_price": "85.00", "service": true }
        ]
    });
    let response = t
        .http
        .post(format!("{}/_coupa/purchase-orders", t.base_url))
        .json(&po)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["po_number"], "PO-1001");
    assert_eq!(stored["lines"][1]["supplier_part_id"], "SVC-INSTALL");

    let reply = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);

    let invoices: Value = t
        .http
        .get(format!("{}/_coupa/invoices", t.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invoices[0]["invoice_id"], "SI-1001");
    assert_eq!(invoices[0]["po_number"], "PO-1001");
    assert_eq!(invoices[0]["total"], "123.60");
    assert_eq!(invoices[0]["raw"], fixture("invoice-standard.xml"));
}

#[tokio::test]
async fn faults_and_received_over_http() {
    let t = TestCoupa::start().await;
    t.coupa.add_buyer(standard_buyer(false));
    t.coupa.issue_po(standard_po());
    let response = t
        .http
        .put(format!("{}/_coupa/faults", t.base_url))
        .json(&json!({ "fail_next_n": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let reply = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(reply.http_status, 500);
    assert_eq!(reply.text, "Unexpected server error.");

    let received: Value = t
        .http
        .get(format!("{}/_coupa/received", t.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(received[0]["status"], 500);
    assert_eq!(received[0]["connection_dropped"], false);
    assert_eq!(received[0]["raw"], fixture("invoice-standard.xml"));
}

#[tokio::test]
async fn second_buyer_post_replaces_first() {
    let t = TestCoupa::start().await;
    t.coupa.issue_po(standard_po());
    let buyers_url = format!("{}/_coupa/buyers", t.base_url);
    for allow_header_charges in [false, true] {
        let response = t
            .http
            .post(&buyers_url)
            .json(&standard_buyer(allow_header_charges))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }

    let reply = t.post_fixture("header-shipping-charge.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);

    let buyers = get_json(&t, "/_coupa/buyers").await;
    assert_eq!(buyers.as_array().map(Vec::len), Some(1), "{buyers}");
    assert_eq!(buyers[0]["allow_header_charges"], true);
}

#[test]
fn add_buyer_replaces_same_credentials_only() {
    let coupa =
        pobridge_sandbox::CoupaSandbox::new(std::sync::Arc::new(pobridge_core::SystemClock));
    coupa.add_buyer(standard_buyer(false));
    let mut same_with_other_case = standard_buyer(true);
    same_with_other_case.invoice_from.0 = "NETWORKID".into();
    coupa.add_buyer(same_with_other_case);
    let mut other_sender = standard_buyer(false);
    other_sender.sender.1 = "SUPPLIER-8".into();
    coupa.add_buyer(other_sender);

    let buyers = coupa.buyers();
    assert_eq!(buyers.len(), 2);
    assert!(buyers[0].allow_header_charges);
    assert_eq!(buyers[1].sender.1, "SUPPLIER-8");
}

#[tokio::test]
async fn buyer_listing_masks_shared_secret() {
    let t = TestCoupa::with_standard_buyer(false).await;

    let buyers = get_json(&t, "/_coupa/buyers").await;

    assert_eq!(buyers[0]["shared_secret"], "****");
    assert_eq!(buyers[0]["invoice_to"][1], "ACME-BUYER");
    assert!(!buyers.to_string().contains("s3cret"), "{buyers}");
}

#[tokio::test]
async fn purchase_order_listing_shows_lines() {
    let t = TestCoupa::with_standard_buyer(false).await;

    let orders = get_json(&t, "/_coupa/purchase-orders").await;

    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    assert_eq!(orders[0]["po_number"], "PO-1001");
    assert_eq!(orders[0]["lines"][0]["supplier_part_id"], "WID-100");
}

#[tokio::test]
async fn unknown_fault_field_is_rejected() {
    let t = TestCoupa::with_standard_buyer(false).await;

    let response = t
        .http
        .put(format!("{}/_coupa/faults", t.base_url))
        .json(&json!({ "fail_next": 1 }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 400);
    let message = response.text().await.unwrap();
    assert!(message.contains("unknown field `fail_next`"), "{message}");
    let reply = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(reply.http_status, 200, "no fault was set: {}", reply.text);
}

async fn get_json(t: &TestCoupa, path: &str) -> Value {
    let response = t
        .http
        .get(format!("{}{path}", t.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.unwrap()
}
