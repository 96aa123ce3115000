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
    assert_eq!(response.status().as_u16(), 204);
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
    assert_eq!(response.status().as_u16(), 204);

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
