//! Invoicing and the orders derived from a sales order: Sales Order Close
//! with a tax date, the invoice and uninvoice hooks, back-order splits,
//! sales credits and bundle rows, over HTTP and the Rust controls.

mod common;

use chrono::Duration;
use common::{sales_order_body, TestSandbox, ACCOUNT};
use pobridge_sandbox::SandboxError;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

/// Creates the fixture sales order (row 1: four of product 1001, row 2:
/// freight) and returns its id.
async fn create_order(t: &TestSandbox, external_ref: &str) -> u64 {
    let (status, body) = t
        .post(
            "order-service/sales-order",
            &sales_order_body(external_ref, "13"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["response"].as_u64().unwrap()
}

async fn get_order(t: &TestSandbox, id: u64) -> Value {
    let (status, body) = t.get(&format!("order-service/order/{id}")).await;
    assert_eq!(status, 200);
    body["response"][0].clone()
}

/// Returns the order's row ids, sorted by `orderRowSequence`.
fn row_ids(order: &Value) -> Vec<u64> {
    let mut rows: Vec<(u64, u64)> = order["orderRows"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, row)| {
            let sequence = row["orderRowSequence"].as_str().unwrap().parse().unwrap();
            (sequence, id.parse().unwrap())
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, id)| id).collect()
}

/// Returns the order ids an order-search query finds.
async fn search_ids(t: &TestSandbox, query: &str) -> Vec<u64> {
    let (status, body) = t.get(&format!("order-service/order-search?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["response"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn close_with_tax_date_invoices_on_that_date() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "close-date").await;

    let (status, body) = t
        .post(
            &format!("order-service/sales-order/{id}/close"),
            &json!({ "taxDate": "2024-06-10" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.clock.advance(Duration::seconds(3));

    let order = get_order(&t, id).await;
    assert_eq!(order["invoices"][0]["invoiceReference"], "SI-1001");
    assert_eq!(
        order["invoices"][0]["taxDate"],
        "2024-06-10T00:00:00.000-06:00"
    );
    assert_eq!(
        order["invoices"][0]["dueDate"],
        "2024-07-10T00:00:00.000-06:00"
    );
}

#[tokio::test]
async fn close_with_unreadable_tax_date_is_rejected() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "close-bad-date").await;
    let (status, body) = t
        .post(
            &format!("order-service/sales-order/{id}/close"),
            &json!({ "taxDate": "next tuesday" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "CMNC-035");

    let order = get_order(&t, id).await;
    assert_eq!(order["invoices"][0]["invoiceReference"], "");
}

#[tokio::test]
async fn invoice_hook_dates_the_invoice_today() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "inv-today").await;
    let created = get_order(&t, id).await;
    assert_eq!(
        created["invoices"][0]["taxDate"],
        "2024-06-03T00:00:00.000-06:00"
    );

    t.clock.advance(Duration::days(2));
    let reference = t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    assert_eq!(reference, "SI-1001");

    let order = get_order(&t, id).await;
    assert_eq!(order["invoices"][0]["invoiceReference"], "SI-1001");
    assert_eq!(order["state"]["tax"], "INVOICED");
    assert_eq!(
        order["invoices"][0]["taxDate"],
        "2024-06-05T00:00:00.000-06:00"
    );
    assert_eq!(
        order["invoices"][0]["dueDate"],
        "2024-07-05T00:00:00.000-06:00"
    );
    assert_eq!(order["closedOn"], "2024-06-05T04:00:05.000-06:00");
    assert_eq!(order["version"], 2);
    assert_eq!(order["updatedOn"], "2024-06-05T04:00:05.000-06:00");

    let found = search_ids(&t, "updatedOn=2024-06-05T00:00:00/2024-06-05T23:59:59").await;
    assert_eq!(found, [id]);
}

#[tokio::test]
async fn uninvoice_hook_reverses_the_invoice() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "uninv").await;
    t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    t.clock.advance(Duration::hours(1));

    t.sandbox.uninvoice_order(ACCOUNT, id).unwrap();

    let order = get_order(&t, id).await;
    assert_eq!(order["invoices"][0]["invoiceReference"], "");
    assert_eq!(order["state"]["tax"], "READY");
    assert!(order.get("closedOn").is_none());
    assert!(order.get("originalInvoiceDate").is_none());
    assert_eq!(order["version"], 3);
    assert_eq!(order["updatedOn"], "2024-06-03T05:00:05.000-06:00");

    assert_eq!(
        t.sandbox.uninvoice_order(ACCOUNT, id),
        Err(SandboxError::NotInvoiced(id))
    );
    assert_eq!(t.sandbox.invoice_order(ACCOUNT, id).unwrap(), "SI-1002");
}

#[tokio::test]
async fn split_moves_rows_to_a_back_order() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "split").await;
    let rows = row_ids(&get_order(&t, id).await);
    t.clock.advance(Duration::minutes(5));

    let back_id = t
        .sandbox
        .split_back_order(ACCOUNT, id, &[(rows[0], dec!(1)), (rows[1], dec!(1))])
        .unwrap();

    let back = get_order(&t, back_id).await;
    assert_eq!(back["parentOrderId"], id);
    assert_eq!(back["orderTypeCode"], "SO");
    assert_eq!(back["reference"], "PO-104233");
    assert_eq!(back["version"], 1);
    assert!(back.get("updatedOn").is_none());
    assert_eq!(back["invoices"][0]["invoiceReference"], "");
    let back_rows = row_ids(&back);
    assert_eq!(back_rows.len(), 2);
    let widget = &back["orderRows"][back_rows[0].to_string()];
    assert_eq!(widget["clonedFromId"], rows[0]);
    assert_eq!(widget["quantity"]["magnitude"], "1.0000");
    assert_eq!(widget["rowValue"]["rowNet"]["value"], "12.5000");
    assert_eq!(widget["rowValue"]["rowTax"]["value"], "2.50");

    let original = get_order(&t, id).await;
    assert_eq!(original["version"], 2);
    assert_eq!(original["updatedOn"], "2024-06-03T04:05:05.000-06:00");
    assert_eq!(row_ids(&original), [rows[0]]);
    let remaining = &original["orderRows"][rows[0].to_string()];
    assert_eq!(remaining["quantity"]["magnitude"], "3.0000");
    assert_eq!(remaining["rowValue"]["rowNet"]["value"], "37.5000");
    assert_eq!(original["totalValue"]["total"], "45.00");

    assert_eq!(
        search_ids(&t, &format!("parentOrderId={id}")).await,
        [back_id]
    );
    let created_window = "createdOn=2024-06-03T04:01:00/2024-06-03T04:59:00";
    assert_eq!(search_ids(&t, created_window).await, [back_id]);
}

#[tokio::test]
async fn split_rejects_bad_rows_and_invoiced_orders() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "split-bad").await;
    let rows = row_ids(&get_order(&t, id).await);

    assert_eq!(
        t.sandbox.split_back_order(ACCOUNT, id, &[(42, dec!(1))]),
        Err(SandboxError::UnknownRow {
            order_id: id,
            row_id: 42
        })
    );
    assert_eq!(
        t.sandbox
            .split_back_order(ACCOUNT, id, &[(rows[0], dec!(5))]),
        Err(SandboxError::InvalidQuantity {
            row_id: rows[0],
            requested: dec!(5),
            available: dec!(4)
        })
    );
    assert!(matches!(
        t.sandbox
            .split_back_order(ACCOUNT, id, &[(rows[0], dec!(0))]),
        Err(SandboxError::InvalidQuantity { .. })
    ));
    assert!(matches!(
        t.sandbox.split_back_order(ACCOUNT, id, &[]),
        Err(SandboxError::InvalidRecord(_))
    ));
    assert_eq!(
        t.sandbox
            .split_back_order(ACCOUNT, 999, &[(rows[0], dec!(1))]),
        Err(SandboxError::UnknownOrder(999))
    );

    t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    assert_eq!(
        t.sandbox
            .split_back_order(ACCOUNT, id, &[(rows[0], dec!(1))]),
        Err(SandboxError::AlreadyInvoiced(id))
    );
    assert_eq!(get_order(&t, id).await["version"], 2);
}

#[tokio::test]
async fn sales_credit_is_an_uninvoiced_sc_order() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "credit").await;
    let rows = row_ids(&get_order(&t, id).await);
    t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    let version_after_invoice = get_order(&t, id).await["version"].clone();

    let credit_id = t
        .sandbox
        .raise_sales_credit(ACCOUNT, id, &[(rows[0], dec!(2))])
        .unwrap();

    let credit = get_order(&t, credit_id).await;
    assert_eq!(credit["orderTypeCode"], "SC");
    assert_eq!(credit["parentOrderId"], id);
    assert_eq!(credit["orderStatus"]["orderStatusId"], 10);
    assert_eq!(credit["state"]["tax"], "READY");
    assert_eq!(credit["invoices"][0]["invoiceReference"], "");
    let credit_rows = row_ids(&credit);
    assert_eq!(credit_rows.len(), 1);
    let row = &credit["orderRows"][credit_rows[0].to_string()];
    assert_eq!(row["clonedFromId"], rows[0]);
    assert_eq!(row["quantity"]["magnitude"], "2.0000");
    assert_eq!(credit["totalValue"]["total"], "30.00");
    assert_eq!(get_order(&t, id).await["version"], version_after_invoice);

    let (_, body) = t
        .get("order-service/order-search?orderTypeId=3&columns=orderId,orderTypeId,parentOrderId")
        .await;
    assert_eq!(body["response"]["results"], json!([[credit_id, 3, id]]));

    assert_eq!(
        t.sandbox.invoice_order(ACCOUNT, credit_id).unwrap(),
        "SC-1002"
    );
    let credit = get_order(&t, credit_id).await;
    assert_eq!(credit["invoices"][0]["invoiceReference"], "SC-1002");
    assert_eq!(credit["state"]["tax"], "INVOICED");
}

#[tokio::test]
async fn credits_cannot_exceed_the_row_quantity() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "credit-limit").await;
    let rows = row_ids(&get_order(&t, id).await);
    t.sandbox
        .raise_sales_credit(ACCOUNT, id, &[(rows[0], dec!(3))])
        .unwrap();

    assert_eq!(
        t.sandbox
            .raise_sales_credit(ACCOUNT, id, &[(rows[0], dec!(2))]),
        Err(SandboxError::InvalidQuantity {
            row_id: rows[0],
            requested: dec!(2),
            available: dec!(1)
        })
    );
    assert!(t
        .sandbox
        .raise_sales_credit(ACCOUNT, id, &[(rows[0], dec!(1))])
        .is_ok());
}

/// The fixture order with its first row replaced by two site starter kits,
/// a bundle of 2 × product 1006, 1 × 1009 and 1 × 1017.
fn bundle_order_body() -> Value {
    let mut body = sales_order_body("bundle", "13");
    body["rows"][0] = json!({
        "productId": 1023, "quantity": "2", "taxCode": "T20",
        "net": "98.0000", "tax": "19.6000"
    });
    body
}

#[tokio::test]
async fn bundle_rows_carry_their_composition() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post("order-service/sales-order", &bundle_order_body())
        .await;
    let id = body["response"].as_u64().unwrap();

    let order = get_order(&t, id).await;
    let rows = row_ids(&order);
    assert_eq!(rows.len(), 5);
    let kit = &order["orderRows"][rows[0].to_string()];
    assert_eq!(kit["composition"]["bundleParent"], true);
    assert_eq!(kit["composition"]["bundleChild"], false);
    assert_eq!(kit["rowValue"]["rowNet"]["value"], "98.0000");
    let quantities: Vec<&Value> = rows[1..4]
        .iter()
        .map(|r| &order["orderRows"][r.to_string()]["quantity"]["magnitude"])
        .collect();
    assert_eq!(quantities, ["4.0000", "2.0000", "2.0000"]);
    for component in &rows[1..4] {
        let row = &order["orderRows"][component.to_string()];
        assert_eq!(row["composition"]["bundleChild"], true);
        assert_eq!(row["composition"]["parentOrderRowId"], rows[0]);
        assert_eq!(row["rowValue"]["rowNet"]["value"], "0.0000");
    }
    assert_eq!(order["totalValue"]["net"], "113.00");

    let (_, sales) = t.get(&format!("order-service/sales-order/{id}")).await;
    let sales_rows = sales["response"][0]["rows"].as_array().unwrap();
    let children = sales_rows.iter().filter(|r| r["bundleChild"] == true);
    assert!(children.clone().all(|r| r["parentRowId"] == rows[0]));
    assert_eq!(children.count(), 3);
}

#[tokio::test]
async fn split_of_a_bundle_takes_its_components() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post("order-service/sales-order", &bundle_order_body())
        .await;
    let id = body["response"].as_u64().unwrap();
    let rows = row_ids(&get_order(&t, id).await);

    assert!(matches!(
        t.sandbox
            .split_back_order(ACCOUNT, id, &[(rows[1], dec!(1))]),
        Err(SandboxError::InvalidRecord(_))
    ));
    let back_id = t
        .sandbox
        .split_back_order(ACCOUNT, id, &[(rows[0], dec!(1))])
        .unwrap();

    let back = get_order(&t, back_id).await;
    let back_rows = row_ids(&back);
    assert_eq!(back_rows.len(), 4);
    let kit = &back["orderRows"][back_rows[0].to_string()];
    assert_eq!(kit["clonedFromId"], rows[0]);
    assert_eq!(kit["composition"]["bundleParent"], true);
    for (copy, source) in back_rows[1..].iter().zip(&rows[1..4]) {
        let row = &back["orderRows"][copy.to_string()];
        assert_eq!(row["clonedFromId"], *source);
        assert_eq!(row["composition"]["parentOrderRowId"], back_rows[0]);
    }
    let first_component = &back["orderRows"][back_rows[1].to_string()];
    assert_eq!(first_component["quantity"]["magnitude"], "2.0000");

    let original = get_order(&t, id).await;
    let left = &original["orderRows"][rows[1].to_string()];
    assert_eq!(left["quantity"]["magnitude"], "2.0000");
}

#[tokio::test]
async fn hooks_work_over_the_control_api() {
    let t = TestSandbox::default().await;
    let id = create_order(&t, "http-hooks").await;
    let rows = row_ids(&get_order(&t, id).await);
    let control = |path: &str| {
        format!(
            "{}/_sandbox/accounts/{ACCOUNT}/orders/{id}/{path}",
            t.base_url
        )
    };

    let split = t
        .http
        .post(control("split-back-order"))
        .json(&json!({ "rows": [{ "rowId": rows[0], "quantity": "1" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(split.status().as_u16(), 200);
    let back_id = split.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    assert_eq!(get_order(&t, back_id).await["parentOrderId"], id);

    let unknown_row = t
        .http
        .post(control("sales-credit"))
        .json(&json!({ "rows": [{ "rowId": 7, "quantity": 1 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_row.status().as_u16(), 404);

    let too_many = t
        .http
        .post(control("sales-credit"))
        .json(&json!({ "rows": [{ "rowId": rows[0], "quantity": 9 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status().as_u16(), 400);

    let credit = t
        .http
        .post(control("sales-credit"))
        .json(&json!({ "rows": [{ "rowId": rows[0], "quantity": 2 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(credit.status().as_u16(), 200);
    let credit_id = credit.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(get_order(&t, credit_id).await["orderTypeCode"], "SC");

    let not_invoiced = t.http.post(control("uninvoice")).send().await.unwrap();
    assert_eq!(not_invoiced.status().as_u16(), 409);
    t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    let uninvoiced = t.http.post(control("uninvoice")).send().await.unwrap();
    assert_eq!(uninvoiced.status().as_u16(), 204);
    let order = get_order(&t, id).await;
    assert_eq!(order["invoices"][0]["invoiceReference"], "");
}

/// Starts a loopback receiver that forwards each delivered body.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |body: String| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

#[tokio::test]
async fn split_and_credit_raise_created_events() {
    let t = TestSandbox::default().await;
    let (url, mut deliveries) = webhook_receiver().await;
    for event in ["sales-order.created", "sales-credit.created"] {
        let (status, body) = t
            .post(
                "integration-service/webhook",
                &json!({
                    "subscribeTo": event,
                    "httpMethod": "POST",
                    "uriTemplate": url,
                    "contentType": "application/json",
                    "idSetAccepted": false,
                    "qualityOfService": 0,
                    "bodyTemplate": "${account-code} ${resource-type} ${lifecycle-event} ${resource-id}"
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let id = create_order(&t, "events").await;
    let rows = row_ids(&get_order(&t, id).await);
    let first = next_delivery(&mut deliveries).await;
    assert_eq!(first, format!("{ACCOUNT} sales-order created {id}"));

    let back_id = t
        .sandbox
        .split_back_order(ACCOUNT, id, &[(rows[0], dec!(1))])
        .unwrap();
    let split = next_delivery(&mut deliveries).await;
    assert_eq!(split, format!("{ACCOUNT} sales-order created {back_id}"));

    let credit_id = t
        .sandbox
        .raise_sales_credit(ACCOUNT, id, &[(rows[0], dec!(1))])
        .unwrap();
    let credit = next_delivery(&mut deliveries).await;
    assert_eq!(
        credit,
        format!("{ACCOUNT} sales-credit created {credit_id}")
    );
}

async fn next_delivery(deliveries: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(5), deliveries.recv())
        .await
        .expect("a webhook arrives within 5 s")
        .expect("the receiver is running")
}
