//! The request quota in both window models, driven by a manual clock.

mod common;

use std::time::Duration;

use common::{corpus, TestSandbox, ACCOUNT};
use pobridge_sandbox::{Faults, SandboxConfig, WindowModel};

fn small(window_model: WindowModel) -> SandboxConfig {
    SandboxConfig {
        requests_per_window: 3,
        window: Duration::from_secs(60),
        window_model,
        ..SandboxConfig::default()
    }
}

async fn headers(t: &TestSandbox) -> (u16, u32, u64) {
    let response = t
        .request(reqwest::Method::GET, "accounting-service/tax-code/")
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    (
        response.status().as_u16(),
        u32::try_from(header("brightpearl-requests-remaining")).unwrap(),
        header("brightpearl-next-throttle-period"),
    )
}

#[tokio::test]
async fn calendar_minute_resets_on_boundary() {
    let t = TestSandbox::start(small(WindowModel::CalendarMinute)).await;
    assert_eq!(headers(&t).await, (200, 2, 55_000));
    assert_eq!(headers(&t).await.1, 1);
    assert_eq!(headers(&t).await.1, 0);

    let response = t
        .request(reqwest::Method::GET, "accounting-service/tax-code/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["brightpearl-requests-remaining"], "0");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        corpus("error-503-throttled-legacy-reconstructed.response.json")
    );

    t.clock.advance(chrono::Duration::seconds(55));
    assert_eq!(headers(&t).await, (200, 2, 60_000));
}

#[tokio::test]
async fn rolling_window_frees_slots() {
    let t = TestSandbox::start(small(WindowModel::Rolling)).await;
    headers(&t).await;
    t.clock.advance(chrono::Duration::seconds(20));
    headers(&t).await;
    headers(&t).await;
    assert_eq!(headers(&t).await.0, 503);
    t.clock.advance(chrono::Duration::seconds(40));
    assert_eq!(headers(&t).await, (200, 0, 20_000));
    assert_eq!(
        t.sandbox
            .requests_in_any_window(ACCOUNT, Duration::from_secs(60)),
        4
    );
}

#[tokio::test]
async fn unauthorized_requests_also_use_quota() {
    let t = TestSandbox::start(small(WindowModel::CalendarMinute)).await;
    let bad = t
        .http
        .get(t.url("order-service/order/1"))
        .bearer_auth("nope")
        .header("brightpearl-app-ref", "pobridge");
    let response = bad.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["brightpearl-requests-remaining"], "2");
    assert!(!response
        .headers()
        .contains_key("brightpearl-installed-integration-instance-id"));
    assert_eq!(headers(&t).await.1, 1);
}

#[tokio::test]
async fn preconsumed_quota_stands_for_other_apps() {
    let t = TestSandbox::default().await;
    t.sandbox.preconsume_quota(ACCOUNT, 133);
    let response = t
        .request(reqwest::Method::GET, "product-service/channel/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["brightpearl-requests-remaining"], "66");
    assert_eq!(
        response.headers()["brightpearl-installed-integration-instance-id"],
        t.grant.installation_instance_id.as_str()
    );
    assert!(response.headers().contains_key("ruid"));
    assert_eq!(response.headers()["message-type"], "get-channel");
}

#[tokio::test]
async fn throttle_fault_forces_503() {
    let t = TestSandbox::default().await;
    t.sandbox.set_faults(
        ACCOUNT,
        Faults {
            throttle_next_n: 1,
            ..Faults::default()
        },
    );
    assert_eq!(headers(&t).await.0, 503);
    assert_eq!(headers(&t).await.0, 200);
}

#[tokio::test]
async fn request_log_and_window_count() {
    let t = TestSandbox::default().await;
    for _ in 0..3 {
        headers(&t).await;
        t.clock.advance(chrono::Duration::seconds(30));
    }
    let log = t.sandbox.request_log(ACCOUNT);
    assert_eq!(log.len(), 3);
    assert_eq!(
        log[0].path_and_query,
        format!("/public-api/{ACCOUNT}/accounting-service/tax-code/")
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(
        t.sandbox
            .requests_in_any_window(ACCOUNT, Duration::from_secs(60)),
        2
    );
    assert_eq!(
        t.sandbox
            .requests_in_any_window(ACCOUNT, Duration::from_secs(61)),
        3
    );
}
