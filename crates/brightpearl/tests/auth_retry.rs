//! The 401 → refresh → retry-once rule and the headers each request carries.

mod common;

use common::{Counter, Harness, Reply};
use pobridge_brightpearl::ErrorKind;
use pobridge_core::{ConnectionAuth, ConnectionStatus};
use serde_json::json;

const UNAUTHORIZED_CAPTURES: [&str; 5] = [
    "error-401-token-expired-order.response.json",
    "error-401-token-expired-product.response.json",
    "error-401-invalid-token-order.response.json",
    "error-401-invalid-token-product.response.json",
    "error-401-invalid-token-on-search.response.json",
];

fn refreshed_tokens() -> Reply {
    Reply::json(
        200,
        json!({"access_token": "new-access", "refresh_token": "new-refresh", "token_type": "Bearer", "expires_in": 604800}),
    )
}

/// Returns 401 to requests carrying the old token and serves `ok` to others.
fn rejecting_old_token(
    flavour: &'static str,
    ok: &'static str,
) -> impl Fn(&common::Recorded) -> Reply {
    move |request| {
        if request.path.starts_with("/token/") {
            return refreshed_tokens();
        }
        if request.header("authorization") == Some("Bearer old-access") {
            return Reply::corpus(401, flavour)
                .header("message-type", "api-proxy")
                .throttle("197", "50704");
        }
        Reply::corpus(200, ok).throttle("196", "50389")
    }
}

#[tokio::test]
async fn every_401_flavour_refreshes_once_then_retries() {
    for flavour in UNAUTHORIZED_CAPTURES {
        let harness = Harness::start(rejecting_old_token(
            flavour,
            "tax-code-get-all.response.json",
        ))
        .await;

        let codes = harness.client.tax_codes().await.unwrap();

        assert_eq!(codes.len(), 11, "{flavour}");
        assert_eq!(harness.token_requests().len(), 1, "{flavour}");
        let api = harness.api_requests();
        assert_eq!(api.len(), 2, "{flavour}");
        assert_eq!(
            api[1].header("authorization"),
            Some("Bearer new-access"),
            "{flavour}"
        );
        assert_eq!(harness.sink.saved.lock().unwrap().len(), 1, "{flavour}");
    }
}

#[tokio::test]
async fn second_401_requires_reauthorization() {
    let harness = Harness::start(|request| {
        if request.path.starts_with("/token/") {
            return refreshed_tokens();
        }
        Reply::corpus(401, "error-401-token-expired-order.response.json")
    })
    .await;

    let error = harness.client.get_orders(&[1]).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Unauthorized);
    assert!(!error.refresh_failed());
    assert!(
        error.to_string().contains("re-authorization required"),
        "{error}"
    );
    assert!(
        error.to_string().starts_with("GET order-service/order/1: "),
        "{error}"
    );
    assert_eq!(harness.token_requests().len(), 1);
    assert_eq!(harness.api_requests().len(), 2);
    assert_eq!(
        harness.client.connection().status,
        ConnectionStatus::NeedsReauthorization
    );
}

#[tokio::test]
async fn failed_refresh_is_unauthorized() {
    let harness = Harness::start(|request| {
        if request.path.starts_with("/token/") {
            return Reply::corpus(
                400,
                "oauth-token-error-400-invalid-grant-code.response.json",
            );
        }
        Reply::corpus(401, "error-401-token-expired-order.response.json")
    })
    .await;

    let error = harness.client.get_orders(&[1]).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Unauthorized);
    assert!(error.refresh_failed());
    assert!(error.to_string().contains("invalid_grant"), "{error}");
    assert!(!error.to_string().contains("old-refresh"), "{error}");
    assert_eq!(harness.api_requests().len(), 1);
    assert!(harness.sink.saved.lock().unwrap().is_empty());
    assert_eq!(
        harness.client.connection().status,
        ConnectionStatus::NeedsReauthorization
    );

    // A later call does not ask the token endpoint again for the same tokens.
    let again = harness.client.get_orders(&[1]).await.unwrap_err();
    assert_eq!(again.kind(), &ErrorKind::Unauthorized);
    assert_eq!(harness.token_requests().len(), 1);
}

#[tokio::test]
async fn token_endpoint_outage_is_transient_refresh_failure() {
    let harness = Harness::start(|request| {
        if request.path.starts_with("/token/") {
            return Reply::empty(502);
        }
        Reply::corpus(401, "error-401-token-expired-order.response.json")
    })
    .await;

    let error = harness.client.get_orders(&[1]).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: false });
    assert!(error.refresh_failed());
    assert_eq!(
        harness.client.connection().status,
        ConnectionStatus::Connected
    );
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let harness = Harness::start(rejecting_old_token(
        "error-401-token-expired-order.response.json",
        "order-get-missing-id-empty-200.response.json",
    ))
    .await;

    let calls = (1..=8).map(|id| {
        let client = harness.client.clone();
        async move { client.get_orders(&[id]).await }
    });
    let results = futures::future::join_all(calls).await;

    for result in results {
        assert_eq!(result.unwrap(), vec![]);
    }
    assert_eq!(harness.token_requests().len(), 1);
    assert_eq!(harness.sink.saved.lock().unwrap().len(), 1);
    let retried = harness
        .api_requests()
        .into_iter()
        .filter(|request| request.header("authorization") == Some("Bearer new-access"))
        .count();
    assert_eq!(retried, 8);
    let rejected = harness
        .api_requests()
        .into_iter()
        .filter(|request| request.header("authorization") == Some("Bearer old-access"))
        .count();
    assert!(
        rejected > 1,
        "only {rejected} request used the old token, so nothing ran concurrently"
    );
}

#[tokio::test]
async fn private_app_401_fails_without_refresh() {
    let harness = Harness::with(
        |_| Reply::corpus(401, "error-401-invalid-token-order.response.json"),
        |_| {},
        |connection| {
            connection.auth = ConnectionAuth::PrivateApp {
                token: "private-token".into(),
                staff: false,
            }
        },
    )
    .await;

    let error = harness.client.get_orders(&[1]).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Unauthorized);
    assert!(!error.refresh_failed());
    assert!(harness.token_requests().is_empty());
    let api = harness.api_requests();
    assert_eq!(api.len(), 1);
    assert_eq!(
        api[0].header("brightpearl-account-token"),
        Some("private-token")
    );
    assert_eq!(api[0].header("brightpearl-app-ref"), Some("pobridge-test"));
    assert_eq!(api[0].header("authorization"), None);
}

#[tokio::test]
async fn oauth_request_carries_bearer_and_refs() {
    let harness =
        Harness::start(|_| Reply::corpus(200, "order-get-missing-id-empty-200.response.json"))
            .await;

    harness.client.get_orders(&[999]).await.unwrap();

    let request = &harness.api_requests()[0];
    assert_eq!(request.path, "/public-api/acme/order-service/order/999");
    assert_eq!(request.header("authorization"), Some("Bearer old-access"));
    assert_eq!(request.header("brightpearl-app-ref"), Some("pobridge-test"));
    assert_eq!(request.header("brightpearl-dev-ref"), Some("dev-test"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.query_value("includeOptional").as_deref(),
        Some("customFields")
    );
}

#[tokio::test]
async fn retry_after_refresh_is_sent_once() {
    let api_calls = Counter::default();
    let counter = api_calls.clone();
    let harness = Harness::start(move |request| {
        if request.path.starts_with("/token/") {
            return refreshed_tokens();
        }
        counter.next();
        Reply::corpus(401, "error-401-invalid-token-product.response.json")
    })
    .await;

    let _ = harness.client.get_products(&[1]).await;

    assert_eq!(api_calls.get(), 2);
}
