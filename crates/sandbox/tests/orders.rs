//! Sales Order POST, Order GET, duplicates, order-search, custom fields,
//! status and patch, driven over HTTP.

mod common;

use common::{corpus, sales_order_body, shape, TestSandbox, ACCOUNT};
use pobridge_sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn sales_order_matches_captured_shape() {
    let t = TestSandbox::default().await;
    let (status, body) = t
        .post(
            "order-service/sales-order",
            &sales_order_body("ext-1", &t.grant.installation_instance_id),
        )
        .await;
    assert_eq!(status, 200);
    let id = body["response"].as_u64().expect("numeric id");

    let reference = t.sandbox.invoice_order(ACCOUNT, id).unwrap();
    assert!(reference.starts_with("SI-"));
    let (status, body) = t.get(&format!("order-service/order/{id}")).await;
    assert_eq!(status, 200);
    let order = &body["response"][0];
    let mut ours = shape(order);
    ours["delivery"]
        .as_object_mut()
        .unwrap()
        .remove("deliveryDate");
    let mut captured = shape(&corpus("order-get-so-invoiced.response.json")["response"][0]);
    // Rows are keyed by row id; compare one product row's shape.
    ours["orderRows"] = first_value(&ours["orderRows"]);
    captured["orderRows"] = first_value(&captured["orderRows"]);
    assert_eq!(ours, captured);
    assert_eq!(order["reference"], "PO-104233");
    assert_eq!(order["invoices"][0]["invoiceReference"], reference);
    assert_eq!(order["state"]["tax"], "INVOICED");
    assert_eq!(
        order["parties"]["delivery"]["addressFullName"],
        "Receiving Dock 3"
    );
    assert_eq!(order["parties"]["delivery"]["countryIsoCode3"], "USA");
    assert_eq!(order["totalValue"]["net"], "65.00");
    assert_eq!(order["totalValue"]["taxAmount"], "10.00");
    assert_eq!(order["totalValue"]["total"], "75.00");
    assert_eq!(order["currency"]["orderCurrencyCode"], "USD");
}

#[tokio::test]
async fn new_order_not_yet_invoiced() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post(
            "order-service/sales-order",
            &sales_order_body("ext-2", "13"),
        )
        .await;
    let id = body["response"].as_u64().unwrap();
    let (_, body) = t.get(&format!("order-service/order/{id}")).await;
    let order = &body["response"][0];
    assert_eq!(order["invoices"][0]["invoiceReference"], "");
    assert!(order["invoices"][0]["taxDate"].is_string());
    assert!(order.get("updatedOn").is_none());
    assert!(order.get("closedOn").is_none());
    assert_eq!(order["orderRows"].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn duplicate_sales_order_returns_existing_id_by_default() {
    let t = TestSandbox::default().await;
    let body = sales_order_body("ext-dup", "13");
    let (_, first) = t.post("order-service/sales-order", &body).await;
    let (status, second) = t.post("order-service/sales-order", &body).await;
    assert_eq!(status, 200);
    assert_eq!(second["response"], first["response"]);
    assert_eq!(t.sandbox.sales_orders(ACCOUNT).len(), 1);
}

#[tokio::test]
async fn duplicate_sales_order_can_return_empty_object() {
    let config = SandboxConfig {
        duplicate_sales_order_returns_existing_id: false,
        ..SandboxConfig::default()
    };
    let t = TestSandbox::start(config).await;
    let body = sales_order_body("ext-dup", "13");
    t.post("order-service/sales-order", &body).await;
    let (status, second) = t.post("order-service/sales-order", &body).await;
    assert_eq!(status, 200);
    assert_eq!(second, json!({}));
    assert_eq!(t.sandbox.sales_orders(ACCOUNT).len(), 1);
}

#[tokio::test]
async fn sales_order_validation_errors() {
    let t = TestSandbox::default().await;
    let cases: [(&str, Value, &str); 5] = [
        ("/customer/id", json!(999_999), "ORDC-101"),
        ("/rows/0/taxCode", json!("NOPE"), "ORDC-103"),
        ("/rows/0/quantity", json!("1.5"), "ORDC-105"),
        ("/rows/0/net", json!("abc"), "ORDC-104"),
        ("/channelId", json!(77), "ORDC-102"),
    ];
    for (pointer, value, expected) in cases {
        let mut body = sales_order_body("ext-bad", "13");
        *body.pointer_mut(pointer).unwrap() = value;
        let (status, reply) = t.post("order-service/sales-order", &body).await;
        assert_eq!(status, 400, "{pointer}");
        assert_eq!(reply["errors"][0]["code"], expected, "{pointer}");
    }
    let mut free_text = sales_order_body("ext-bad", "13");
    free_text["rows"][1].as_object_mut().unwrap().remove("name");
    let (status, reply) = t.post("order-service/sales-order", &free_text).await;
    assert_eq!(status, 400);
    assert_eq!(reply["errors"][0]["code"], "ORDC-026");
    assert!(t.sandbox.sales_orders(ACCOUNT).is_empty());
}

#[tokio::test]
async fn order_get_missing_and_idset() {
    let t = TestSandbox::default().await;
    let (status, body) = t.get("order-service/order/999").await;
    assert_eq!(status, 200);
    assert_eq!(body, corpus("order-get-missing-id-empty-200.response.json"));

    let mut ids = Vec::new();
    for n in 0..3 {
        let (_, body) = t
            .post(
                "order-service/sales-order",
                &sales_order_body(&format!("e{n}"), "13"),
            )
            .await;
        ids.push(body["response"].as_u64().unwrap());
    }
    let (_, body) = t
        .get(&format!(
            "order-service/order/{},{}-{},5",
            ids[0], ids[1], ids[2]
        ))
        .await;
    let mut got: Vec<u64> = body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn order_search_by_external_ref() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post(
            "order-service/sales-order",
            &sales_order_body("coupa:PO-1:r1", "13"),
        )
        .await;
    let id = body["response"].as_u64().unwrap();
    let (status, body) = t.get("order-service/order-search?externalRef=coupa%3APO-1%3Ar1&installedIntegrationInstanceId=13").await;
    assert_eq!(status, 200);
    let captured = corpus("order-search-by-customer-ref.response.json");
    assert_eq!(
        body["response"]["metaData"]["columns"],
        captured["response"]["metaData"]["columns"]
    );
    assert_eq!(
        body["response"]["metaData"]["sorting"],
        captured["response"]["metaData"]["sorting"]
    );
    let rows = body["response"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], id);
    assert_eq!(rows[0][7], "PO-104233");
    assert_eq!(rows[0][9], Value::Null);
    assert_eq!(body["reference"]["orderTypeNames"]["1"], "SALES_ORDER");

    let (status, body) = t
        .get("order-service/order-search?orderStatusId=BAD%20PARAM")
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        corpus("order-search-error-500-bad-filter.response.json")
    );
}

#[tokio::test]
async fn custom_field_patch_checks_types_and_returns_map() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post("order-service/sales-order", &sales_order_body("cf", "13"))
        .await;
    let id = body["response"].as_u64().unwrap();
    let path = format!("order-service/order/{id}/custom-field");
    let ops = json!([
        {"op": "add", "path": "/PCF_COUPAPO", "value": "PO-104233"},
        {"op": "add", "path": "/PCF_APPROVED", "value": true},
        {"op": "add", "path": "/PCF_CHANNEL", "value": {"id": 160}},
        {"op": "add", "path": "/PCF_NEEDBY", "value": "2024-06-10"}
    ]);
    let (status, body) = t.call(Method::PATCH, &path, &ops).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["response"]["PCF_CHANNEL"],
        json!({"id": 160, "value": "Coupa"})
    );
    assert_eq!(body["response"]["PCF_NEEDBY"], "2024-06-10 00:00:00 -0600");

    let (status, body) = t
        .call(
            Method::PATCH,
            &path,
            &json!([{"op": "add", "path": "/PCF_APPROVED", "value": "true"}]),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(body["errors"][0]["code"], "CMNU-003");
    let (status, _) = t
        .call(
            Method::PATCH,
            &path,
            &json!([{"op": "add", "path": "/PCF_NOPE", "value": "x"}]),
        )
        .await;
    assert_eq!(status, 400);

    let (_, body) = t
        .get(&format!(
            "order-service/order/{id}?includeOptional=customFields"
        ))
        .await;
    assert_eq!(body["response"][0]["customFields"]["PCF_APPROVED"], true);
}

#[tokio::test]
async fn order_patch_add_on_reference_is_cmnc_044() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post(
            "order-service/order",
            &corpus("order-post-so-minimal.request.json"),
        )
        .await;
    let id = body["response"].as_u64().unwrap();
    let path = format!("order-service/order/{id}");
    let (status, body) = t
        .call(
            Method::PATCH,
            &path,
            &corpus("order-patch-error-500-bad-op.request.json"),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(body, corpus("order-patch-error-500-bad-op.response.json"));
    let (status, body) = t
        .call(
            Method::PATCH,
            &path,
            &corpus("order-patch-json-patch.request.json"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["reference"], "#XYZ");
    assert_eq!(
        body["response"]["delivery"]["deliveryDate"],
        "2022-01-20T00:00:00.000-06:00"
    );
    assert!(body["response"]["updatedOn"].is_string());
}

#[tokio::test]
async fn order_post_errors_match_captures() {
    let t = TestSandbox::default().await;
    for name in [
        "order-post-error-400-no-order-type",
        "order-post-error-400-bad-order-type",
        "order-post-error-400-po-without-supplier",
    ] {
        let (status, body) = t
            .post(
                "order-service/order",
                &corpus(&format!("{name}.request.json")),
            )
            .await;
        assert_eq!(status, 400, "{name}");
        assert_eq!(body, corpus(&format!("{name}.response.json")), "{name}");
    }
}

#[tokio::test]
async fn status_put_checks_order_type() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post("order-service/sales-order", &sales_order_body("st", "13"))
        .await;
    let id = body["response"].as_u64().unwrap();
    let path = format!("order-service/order/{id}/status");
    let (status, body) = t
        .call(Method::PUT, &path, &json!({"orderStatusId": 21}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (status, _) = t
        .call(Method::PUT, &path, &json!({"orderStatusId": 6}))
        .await;
    assert_eq!(status, 400);
    let (_, body) = t.get(&format!("order-service/order/{id}")).await;
    assert_eq!(body["response"][0]["orderStatus"]["orderStatusId"], 21);
    assert_eq!(body["response"][0]["version"], 2);
}

#[tokio::test]
async fn sales_order_close_goes_pending_then_invoiced() {
    let t = TestSandbox::default().await;
    let (_, body) = t
        .post("order-service/sales-order", &sales_order_body("cl", "13"))
        .await;
    let id = body["response"].as_u64().unwrap();
    let (status, body) = t
        .post(&format!("order-service/sales-order/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (_, body) = t.get(&format!("order-service/order/{id}")).await;
    assert_eq!(
        body["response"][0]["invoices"][0]["invoiceReference"],
        "pending"
    );
    t.clock.advance(chrono::Duration::seconds(3));
    let (_, body) = t.get(&format!("order-service/order/{id}")).await;
    assert_eq!(
        body["response"][0]["invoices"][0]["invoiceReference"],
        "SI-1001"
    );
    let (status, _) = t
        .post(&format!("order-service/sales-order/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 400);
}

fn first_value(map: &Value) -> Value {
    map.as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or(Value::Null)
}
