//! The order endpoint holds off a client after repeated failed credential
//! checks, without checking the held-off requests' credentials.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use chrono::Duration;
use http::{header, Request, Response, StatusCode};
use pobridge_core::throttle::TrustForwardedFor;
use pobridge_engine::credential_throttle::{FAILURES_PER_SENDER, WINDOW_MINUTES};
use pobridge_engine::intake::MAX_CREDENTIALS;
use pobridge_web::{router, AppState};
use tower::ServiceExt;

use common::SHARED_SECRET;

const GUESSER: &str = "203.0.113.5:40000";
const COUPA: &str = "198.51.100.20:50000";

fn wrong_secret() -> Vec<u8> {
    let document = String::from_utf8(common::order_with_secret()).unwrap();
    wrong_secret_with(&document)
}

/// Replaces the right shared secret in `document` with a guess.
fn wrong_secret_with(document: &str) -> Vec<u8> {
    document.replace(SHARED_SECRET, "a-guess").into_bytes()
}

/// Posts `body` to the account's order URL as if from `peer`.
async fn post_from(app: &Router, peer: &str, body: Vec<u8>) -> Response<Body> {
    let mut request = Request::post("/cxml/acme")
        .header(header::CONTENT_TYPE, "text/xml")
        .body(Body::from(body))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.clone().oneshot(request).await.unwrap()
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn wrong_secrets_hold_off_one_client() {
    let (engine, clock) = common::engine_with_clock(1024 * 1024).await;
    let app = router(AppState { engine });
    for attempt in 0..FAILURES_PER_SENDER {
        let response = post_from(&app, GUESSER, wrong_secret()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }

    let held_off = post_from(&app, GUESSER, common::order_with_secret()).await;
    let retry_after = held_off.headers().get(header::RETRY_AFTER).cloned();
    let held_off_status = held_off.status();
    let held_off_body = text(held_off).await;
    let other_client = post_from(&app, COUPA, common::order_with_secret()).await;

    assert_eq!(
        held_off_status,
        StatusCode::SERVICE_UNAVAILABLE,
        "even the right secret is not checked: {held_off_body}"
    );
    assert!(
        held_off_body.contains(r#"<Status code="503""#),
        "{held_off_body}"
    );
    assert!(
        held_off_body.contains("failed the credential check"),
        "{held_off_body}"
    );
    let window_seconds = (WINDOW_MINUTES * 60).to_string();
    assert_eq!(retry_after.unwrap(), window_seconds.as_str());
    assert_eq!(other_client.status(), StatusCode::OK);

    clock.advance(Duration::minutes(WINDOW_MINUTES));
    let after_window = post_from(&app, GUESSER, common::order_with_secret()).await;
    assert_eq!(
        after_window.status(),
        StatusCode::OK,
        "the window has passed"
    );
}

#[tokio::test]
async fn forwarded_for_counts_when_trusted() {
    let (engine, _clock) = common::engine_with_clock(1024 * 1024).await;
    let proxied = router(AppState { engine }).layer(axum::Extension(TrustForwardedFor));
    let via_proxy = |client: &'static str, body: Vec<u8>| {
        let mut request = Request::post("/cxml/acme")
            .header(header::CONTENT_TYPE, "text/xml")
            .header("x-forwarded-for", client)
            .body(Body::from(body))
            .unwrap();
        let proxy: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(proxy));
        proxied.clone().oneshot(request)
    };
    for _ in 0..FAILURES_PER_SENDER {
        let response = via_proxy("203.0.113.5", wrong_secret()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let guesser = via_proxy("203.0.113.5", common::order_with_secret())
        .await
        .unwrap();
    let coupa = via_proxy("198.51.100.20", common::order_with_secret())
        .await
        .unwrap();

    assert_eq!(guesser.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        coupa.status(),
        StatusCode::OK,
        "the proxy itself is not held off"
    );
}

/// Returns the order with `count` extra Sender credentials, each with a
/// wrong secret, before its own.
fn with_guesses(count: usize) -> Vec<u8> {
    let document = String::from_utf8(common::order_with_secret()).unwrap();
    let guesses: String = (0..count)
        .map(|n| {
            format!(
                "<Credential domain=\"NetworkID\"><Identity>DAN_Coupa</Identity>\
                 <SharedSecret>guess-{n}</SharedSecret></Credential>"
            )
        })
        .collect();
    let changed = document.replacen("<Sender>", &format!("<Sender>{guesses}"), 1);
    assert_ne!(changed, document, "the document has no Sender");
    changed.into_bytes()
}

#[tokio::test]
async fn each_sender_credential_counts_as_a_try() {
    let (engine, _clock) = common::engine_with_clock(1024 * 1024).await;
    let app = router(AppState { engine });

    let thousands = post_from(&app, GUESSER, with_guesses(5000)).await;
    let four_and_right = post_from(&app, GUESSER, with_guesses(MAX_CREDENTIALS - 1)).await;
    let five_wrong = post_from(
        &app,
        GUESSER,
        wrong_secret_with(&String::from_utf8(with_guesses(MAX_CREDENTIALS - 1)).unwrap()),
    )
    .await;
    let another_five = post_from(
        &app,
        GUESSER,
        wrong_secret_with(&String::from_utf8(with_guesses(MAX_CREDENTIALS - 1)).unwrap()),
    )
    .await;
    let right_alone = post_from(&app, GUESSER, common::order_with_secret()).await;

    assert_eq!(thousands.status(), StatusCode::BAD_REQUEST);
    let body = text(thousands).await;
    assert!(body.contains("5001 Sender credentials"), "{body}");
    assert_eq!(
        four_and_right.status(),
        StatusCode::OK,
        "5 tries fit under 10"
    );
    assert_eq!(
        five_wrong.status(),
        StatusCode::UNAUTHORIZED,
        "the pass cleared the count"
    );
    assert_eq!(
        another_five.status(),
        StatusCode::UNAUTHORIZED,
        "10 fit exactly"
    );
    assert_eq!(
        right_alone.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "held off after 10 wrong tries, though its secret is right"
    );
}

#[tokio::test]
async fn unknown_client_is_not_counted() {
    let (engine, _clock) = common::engine_with_clock(1024 * 1024).await;
    let app = router(AppState { engine });
    for _ in 0..=FAILURES_PER_SENDER {
        let request = Request::post("/cxml/acme")
            .header(header::CONTENT_TYPE, "text/xml")
            .body(Body::from(wrong_secret()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
