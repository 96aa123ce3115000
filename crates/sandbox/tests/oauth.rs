//! The OAuth flow: approval page, every token URL form and the error
//! replies, compared with the captured token responses.

mod common;

use std::collections::HashMap;

use common::{corpus, send, shape, TestSandbox, ACCOUNT};
use pobridge_sandbox::SandboxConfig;
use serde_json::Value;

const REDIRECT: &str = "https://integration.example.com/brightpearl_oauth_redirect";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Approves the app on the HTML page and returns the redirect's query.
async fn approve(t: &TestSandbox, decision: &str) -> HashMap<String, String> {
    let client = no_redirects();
    let page_url = format!(
        "{}/authorize/{ACCOUNT}?response_type=code&client_id=pobridge&redirect_uri={}&state=xyz",
        t.base_url,
        url_encode(REDIRECT)
    );
    let page = client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"approve\""));
    assert!(page.contains("value=\"deny\""));
    let form = [
        ("client_id", "pobridge"),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("decision", decision),
    ];
    let response = client.post(&page_url).form(&form).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT));
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn token(t: &TestSandbox, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    send(t.http.post(format!("{}{path}", t.base_url)).form(form)).await
}

#[tokio::test]
async fn approval_page_redirects() {
    let t = TestSandbox::default().await;
    let approved = approve(&t, "approve").await;
    assert!(approved.contains_key("code"));
    assert_eq!(approved["state"], "xyz");
    let denied = approve(&t, "deny").await;
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(denied["state"], "xyz");
}

#[tokio::test]
async fn every_token_url_form_exchanges_a_code() {
    let t = TestSandbox::default().await;
    let forms = [
        format!("/token/{ACCOUNT}"),
        "/oauth/token".to_owned(),
        format!("/{ACCOUNT}/oauth/token"),
    ];
    for path in forms {
        let code = approve(&t, "approve").await["code"].clone();
        let (status, body) = token(
            &t,
            &path,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "pobridge"),
                ("redirect_uri", REDIRECT),
                ("account", ACCOUNT),
            ],
        )
        .await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            shape(&body),
            shape(&corpus("oauth-token-authorization-code.response.json")),
            "{path}"
        );
        assert_eq!(body["expires_in"], 604_800);
        assert_eq!(body["api_domain"], t.base_url);
        let instance = body["installation_instance_id"].as_str().unwrap();
        assert_eq!(instance, t.grant.installation_instance_id);
    }
}

#[tokio::test]
async fn code_is_single_use_and_redirect_must_match() {
    let t = TestSandbox::default().await;
    let path = format!("/token/{ACCOUNT}");
    let code = approve(&t, "approve").await["code"].clone();
    let wrong = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "pobridge"),
        ("redirect_uri", "https://elsewhere.example/cb"),
    ];
    let (status, body) = token(&t, &path, &wrong).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        corpus("oauth-token-error-400-redirect-uri-mismatch.response.json")
    );
    let right = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "pobridge"),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(token(&t, &path, &right).await.0, 200);
    let (status, body) = token(&t, &path, &right).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        corpus("oauth-token-error-400-invalid-grant-code.response.json")
    );
}

#[tokio::test]
async fn code_expires_after_ten_minutes() {
    let t = TestSandbox::default().await;
    let code = approve(&t, "approve").await["code"].clone();
    t.clock.advance(chrono::Duration::minutes(11));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "pobridge"),
        ("redirect_uri", REDIRECT),
    ];
    let (status, body) = token(&t, &format!("/token/{ACCOUNT}"), &form).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn wrong_client_and_json_bodies_are_rejected() {
    let config = SandboxConfig {
        client_secret: Some("s3cret".to_owned()),
        ..SandboxConfig::default()
    };
    let t = TestSandbox::start(config).await;
    let path = format!("/token/{ACCOUNT}");
    let refresh = t.grant.refresh_token.clone();
    let no_secret = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "pobridge"),
    ];
    let (status, body) = token(&t, &path, &no_secret).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        corpus("oauth-token-error-400-invalid-client.response.json")
    );
    let json_body = serde_json::json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "pobridge", "client_secret": "s3cret"});
    let (status, body) = send(
        t.http
            .post(format!("{}{path}", t.base_url))
            .json(&json_body),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn refresh_reply_and_rotation() {
    let t = TestSandbox::default().await;
    t.clock.advance(chrono::Duration::seconds(67_573));
    let path = format!("/token/{ACCOUNT}");
    let old = t.grant.refresh_token.clone();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", old.as_str()),
        ("client_id", "pobridge"),
    ];
    let (status, body) = token(&t, &path, &form).await;
    assert_eq!(status, 200);
    assert_eq!(
        shape(&body),
        shape(&corpus("oauth-token-refresh.response.json"))
    );
    assert_eq!(body["expires_in"], 537_227);
    assert_ne!(body["refresh_token"], old.as_str());
    let (status, _) = token(&t, &path, &form).await;
    assert_eq!(status, 400);

    let new_access = body["access_token"].as_str().unwrap().to_owned();
    let response = t
        .http
        .get(t.url("order-service/order/1"))
        .bearer_auth(new_access)
        .header("brightpearl-app-ref", "pobridge")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn expired_and_unknown_tokens_get_string_401s() {
    let t = TestSandbox::default().await;
    let (status, body) = send(
        t.http
            .get(t.url("order-service/order/1"))
            .bearer_auth("INVALID_STUFF")
            .header("brightpearl-app-ref", "pobridge"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body, corpus("error-401-invalid-token-order.response.json"));

    t.sandbox.expire_access_tokens(ACCOUNT);
    let response = t
        .request(reqwest::Method::GET, "order-service/order/1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["message-type"], "api-proxy");
    assert!(response
        .headers()
        .contains_key("brightpearl-requests-remaining"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, corpus("error-401-token-expired-order.response.json"));

    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", t.grant.refresh_token.as_str()),
        ("client_id", "pobridge"),
    ];
    let (_, refreshed) = token(&t, &format!("/token/{ACCOUNT}"), &form).await;
    assert_eq!(refreshed["expires_in"], 604_800);

    t.sandbox.revoke_refresh_tokens(ACCOUNT);
    let form = [
        ("grant_type", "refresh_token"),
        (
            "refresh_token",
            refreshed["refresh_token"].as_str().unwrap(),
        ),
        ("client_id", "pobridge"),
    ];
    let (status, body) = token(&t, &format!("/token/{ACCOUNT}"), &form).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn private_app_tokens_authenticate() {
    let t = TestSandbox::default().await;
    let handle = t.sandbox.create_account(ACCOUNT);
    let ok = t
        .http
        .get(t.url("accounting-service/tax-code/"))
        .header("brightpearl-app-ref", "pobridge")
        .header("brightpearl-account-token", &handle.account_token);
    assert_eq!(send(ok).await.0, 200);
    let staff = t
        .http
        .get(t.url("accounting-service/tax-code/"))
        .header("brightpearl-app-ref", "pobridge")
        .header("brightpearl-staff-token", &handle.staff_token);
    assert_eq!(send(staff).await.0, 200);
    let wrong_app = t
        .http
        .get(t.url("accounting-service/tax-code/"))
        .header("brightpearl-app-ref", "other")
        .header("brightpearl-staff-token", &handle.staff_token);
    assert_eq!(send(wrong_app).await.0, 401);
}

#[tokio::test]
async fn unknown_account_is_404() {
    let t = TestSandbox::default().await;
    let response = t
        .http
        .get(format!(
            "{}/public-api/nosuch/order-service/order/1",
            t.base_url
        ))
        .bearer_auth(&t.grant.access_token)
        .header("brightpearl-app-ref", "pobridge")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
