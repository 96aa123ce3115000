//! Injected faults: bare 500s, connections dropped after commit, slow
//! replies, and the per-row latency setting.

mod common;

use std::time::{Duration, Instant};

use common::{sales_order_body, TestSandbox, ACCOUNT};
use pobridge_sandbox::{Faults, SandboxConfig};

#[tokio::test]
async fn dropped_connection_still_creates_the_order() {
    let t = TestSandbox::default().await;
    t.sandbox.set_faults(
        ACCOUNT,
        Faults {
            drop_connection_after_commit_next_n_posts: 1,
            ..Faults::default()
        },
    );
    let result = t
        .request(reqwest::Method::POST, "order-service/sales-order")
        .json(&sales_order_body("drop-1", "13"))
        .send()
        .await;
    assert!(result.is_err(), "the client must see no response");
    assert_eq!(t.sandbox.sales_orders(ACCOUNT).len(), 1);

    let (status, body) = t.get("order-service/order-search?externalRef=drop-1").await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn fail_fault_sends_bare_500_and_does_nothing() {
    let t = TestSandbox::default().await;
    t.sandbox.set_faults(
        ACCOUNT,
        Faults {
            fail_next_n_with_500: 1,
            ..Faults::default()
        },
    );
    let response = t
        .request(reqwest::Method::POST, "order-service/sales-order")
        .json(&sales_order_body("f", "13"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    assert!(response.text().await.unwrap().is_empty());
    assert!(t.sandbox.sales_orders(ACCOUNT).is_empty());
}

#[tokio::test]
async fn slow_fault_delays_the_reply_after_committing() {
    let t = TestSandbox::default().await;
    t.sandbox.set_faults(
        ACCOUNT,
        Faults {
            slow_next_n: 1,
            slow_by: Duration::from_millis(300),
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let result = t
        .request(reqwest::Method::POST, "order-service/sales-order")
        .json(&sales_order_body("slow", "13"))
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(t.sandbox.sales_orders(ACCOUNT).len(), 1);
}

#[tokio::test]
async fn latency_per_row_applies_to_sales_order_post() {
    let config = SandboxConfig {
        latency_per_row: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let t = TestSandbox::start(config).await;
    let started = Instant::now();
    let (status, _) = t
        .post("order-service/sales-order", &sales_order_body("lat", "13"))
        .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn faults_over_http_reject_unknown_fields() {
    let t = TestSandbox::default().await;
    let url = format!("{}/_sandbox/accounts/{ACCOUNT}/faults", t.base_url);
    let client = reqwest::Client::new();

    let misspelt = client
        .put(&url)
        .json(&serde_json::json!({ "fail_next_n": 1, "fail_with_status": 400 }))
        .send()
        .await
        .unwrap();
    let status = misspelt.status().as_u16();
    let message = misspelt.text().await.unwrap();
    let known = client
        .put(&url)
        .json(&serde_json::json!({ "fail_next_n_with_500": 1 }))
        .send()
        .await
        .unwrap();

    assert_eq!(status, 400, "{message}");
    assert!(message.contains("unknown field `fail_next_n`"), "{message}");
    assert!(message.contains("fail_next_n_with_500"), "{message}");
    assert_eq!(known.status().as_u16(), 204);
    let (status, _) = t.get("product-service/channel/").await;
    assert_eq!(status, 500, "the known fault is set");
}
