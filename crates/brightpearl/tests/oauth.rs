//! OAuth code exchange and token refresh against a local stand-in.

mod common;

use std::sync::{Arc, OnceLock};

use common::{config, now, Counter, Harness, MockServer, Reply, ACCOUNT};
use pobridge_brightpearl::{exchange_code, ErrorKind};
use pobridge_core::{ConnectionAuth, ConnectionStatus, ManualClock};

#[tokio::test]
async fn exchange_posts_encoded_form_without_bearer() {
    let server =
        MockServer::start(|_| Reply::corpus(200, "oauth-token-authorization-code.response.json"))
            .await;
    let config = config(&server.base);
    let clock = ManualClock::new(now());

    let connection = exchange_code(
        &reqwest::Client::new(),
        &config,
        ACCOUNT,
        "code+with/odd=chars&more",
        "https://pobridge.example/cb?tenant=a b",
        &clock,
    )
    .await
    .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/token/{ACCOUNT}"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("brightpearl-app-ref"), None);
    let body = std::str::from_utf8(&request.body).unwrap();
    assert!(
        body.contains("code=code%2Bwith%2Fodd%3Dchars%26more"),
        "{body}"
    );
    assert!(body.contains("client_secret=s3cret%2B%2F%3D"), "{body}");
    assert_eq!(
        request.form_value("grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(
        request.form_value("client_id").as_deref(),
        Some("pobridge-test")
    );
    assert_eq!(
        request.form_value("redirect_uri").as_deref(),
        Some("https://pobridge.example/cb?tenant=a b")
    );
    assert_eq!(request.form_value("account_code"), None);

    assert_eq!(connection.account_code, ACCOUNT);
    assert_eq!(connection.api_base, "https://ws-use.brightpearl.com");
    assert_eq!(connection.installation_instance_id.as_deref(), Some("13"));
    assert_eq!(connection.status, ConnectionStatus::Connected);
    assert_eq!(connection.connected_at, now());
    let ConnectionAuth::OAuth {
        access_token,
        refresh_token,
        expires_at,
    } = connection.auth
    else {
        panic!("expected OAuth tokens");
    };
    assert_eq!(access_token, "REDACTED_ACCESS_TOKEN");
    assert_eq!(refresh_token, "REDACTED_REFRESH_TOKEN");
    assert_eq!(expires_at, now() + chrono::Duration::seconds(604_800));
}

#[tokio::test]
async fn exchange_sends_account_code_when_url_lacks_it() {
    let server =
        MockServer::start(|_| Reply::corpus(200, "oauth-token-authorization-code.response.json"))
            .await;
    let mut config = config(&server.base);
    config.token_url_template = format!("{}/oauth/token", server.base);

    exchange_code(
        &reqwest::Client::new(),
        &config,
        ACCOUNT,
        "c",
        "https://x.example/cb",
        &ManualClock::new(now()),
    )
    .await
    .unwrap();

    let request = &server.requests()[0];
    assert_eq!(request.path, "/oauth/token");
    assert_eq!(request.form_value("account_code").as_deref(), Some(ACCOUNT));
}

#[tokio::test]
async fn exchange_errors_are_unauthorized_with_oauth_reason() {
    for name in [
        "oauth-token-error-400-invalid-grant-code.response.json",
        "oauth-token-error-400-redirect-uri-mismatch.response.json",
        "oauth-token-error-400-invalid-client.response.json",
    ] {
        let server = MockServer::start(move |_| Reply::corpus(400, name)).await;
        let config = config(&server.base);

        let error = exchange_code(
            &reqwest::Client::new(),
            &config,
            ACCOUNT,
            "c",
            "https://x.example/cb",
            &ManualClock::new(now()),
        )
        .await
        .unwrap_err();

        assert_eq!(error.kind(), &ErrorKind::Unauthorized, "{name}");
        assert!(error.to_string().contains("invalid_"), "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}

#[tokio::test]
async fn exchange_server_error_is_transient() {
    let server = MockServer::start(|_| Reply::empty(502)).await;
    let config = config(&server.base);

    let error = exchange_code(
        &reqwest::Client::new(),
        &config,
        ACCOUNT,
        "c",
        "https://x.example/cb",
        &ManualClock::new(now()),
    )
    .await
    .unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: false });
}

#[tokio::test]
async fn refresh_persists_rotated_token_and_keeps_instance_id() {
    let calls = Counter::default();
    // The capture's api_domain is a real host; the stand-in's address
    // replaces it, so the test also shows that api_domain is followed.
    let api_domain = Arc::new(OnceLock::<String>::new());
    let domain = api_domain.clone();
    let harness = Harness::start(move |request| {
        if request.path.starts_with("/token/") {
            let rotated = common::corpus_text("oauth-token-refresh.response.json")
                .replace("REDACTED_REFRESH_TOKEN", "rotated-refresh")
                .replace("REDACTED_ACCESS_TOKEN", "new-access")
                .replace("ws-use.brightpearl.com", domain.get().unwrap());
            return Reply::text(200, rotated);
        }
        match calls.next() {
            0 => Reply::corpus(401, "error-401-token-expired-order.response.json"),
            _ => Reply::corpus(200, "tax-code-get-all.response.json"),
        }
    })
    .await;
    api_domain.set(harness.server.base.clone()).unwrap();

    let codes = harness.client.tax_codes().await.unwrap();

    assert_eq!(codes.len(), 11);
    let token_requests = harness.token_requests();
    assert_eq!(token_requests.len(), 1);
    let refresh = &token_requests[0];
    assert_eq!(refresh.header("authorization"), None);
    assert_eq!(
        refresh.form_value("grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        refresh.form_value("refresh_token").as_deref(),
        Some("old-refresh")
    );
    assert_eq!(
        refresh.form_value("client_id").as_deref(),
        Some("pobridge-test")
    );
    assert_eq!(
        refresh.form_value("client_secret").as_deref(),
        Some("s3cret+/=")
    );

    let api = harness.api_requests();
    assert_eq!(api.len(), 2);
    assert_eq!(api[0].header("authorization"), Some("Bearer old-access"));
    assert_eq!(api[1].header("authorization"), Some("Bearer new-access"));

    let saved = harness.sink.saved.lock().unwrap().clone();
    assert_eq!(saved.len(), 1);
    let connection = &saved[0];
    assert_eq!(connection.installation_instance_id.as_deref(), Some("13"));
    assert_eq!(connection.api_base, harness.server.base);
    let ConnectionAuth::OAuth {
        refresh_token,
        expires_at,
        ..
    } = &connection.auth
    else {
        panic!("expected OAuth tokens");
    };
    assert_eq!(refresh_token, "rotated-refresh");
    assert_eq!(*expires_at, now() + chrono::Duration::seconds(537_227));
    assert_eq!(&harness.client.connection(), connection);
}

#[tokio::test]
async fn refresh_without_new_refresh_token_keeps_old_one() {
    let calls = Counter::default();
    let harness = Harness::start(move |request| {
        if request.path.starts_with("/token/") {
            return Reply::json(
                200,
                serde_json::json!({"access_token": "new-access", "expires_in": "3600"}),
            );
        }
        match calls.next() {
            0 => Reply::corpus(401, "error-401-invalid-token-order.response.json"),
            _ => Reply::corpus(200, "order-get-missing-id-empty-200.response.json"),
        }
    })
    .await;
    let base = harness.server.base.clone();

    harness.client.get_orders(&[999]).await.unwrap();

    let connection = harness.client.connection();
    let ConnectionAuth::OAuth {
        access_token,
        refresh_token,
        expires_at,
    } = &connection.auth
    else {
        panic!("expected OAuth tokens");
    };
    assert_eq!(access_token, "new-access");
    assert_eq!(refresh_token, "old-refresh");
    assert_eq!(*expires_at, now() + chrono::Duration::seconds(3600));
    assert_eq!(connection.api_base, base);
    assert_eq!(connection.installation_instance_id.as_deref(), Some("13"));
}

#[tokio::test]
async fn expired_token_refreshes_before_the_request() {
    let harness = Harness::start(|request| {
        if request.path.starts_with("/token/") {
            return Reply::json(200, serde_json::json!({"access_token": "fresh", "refresh_token": "r2", "expires_in": 604800}));
        }
        Reply::corpus(200, "order-get-missing-id-empty-200.response.json")
    })
    .await;
    harness.clock.advance(chrono::Duration::days(3));

    harness.client.get_orders(&[999]).await.unwrap();

    assert_eq!(harness.token_requests().len(), 1);
    let api = harness.api_requests();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].header("authorization"), Some("Bearer fresh"));
}
