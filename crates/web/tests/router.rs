//! Router tests without a socket: status mapping, content types, body
//! limits, health checks and request ids.

mod common;

use axum::body::Body;
use axum::Router;
use http::{header, Request, Response, StatusCode};
use pobridge_web::{router, AppState};
use tower::ServiceExt;

use common::{ACCOUNT, BUYER_TOKEN, SHARED_SECRET};

const LIMIT: usize = 64 * 1024;

async fn app() -> Router {
    router(AppState {
        engine: common::engine(LIMIT).await,
    })
}

async fn post(app: Router, path: &str, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.oneshot(request).await.unwrap()
}

/// Posts the order with one `Content-Encoding` header line per entry of
/// `encodings`.
async fn post_encoded(encodings: &[&str]) -> Response<Body> {
    let mut request = Request::post("/cxml/acme").header(header::CONTENT_TYPE, "text/xml");
    for encoding in encodings {
        request = request.header(header::CONTENT_ENCODING, *encoding);
    }
    let request = request
        .body(Body::from(common::order_with_secret()))
        .unwrap();
    app().await.oneshot(request).await.unwrap()
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn content_type(response: &Response<Body>) -> &str {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn order_with_shared_secret_is_accepted() {
    let response = post(
        app().await,
        "/cxml/acme",
        "text/xml",
        common::order_with_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "text/xml; charset=UTF-8");
    let body = text(response).await;
    assert!(body.contains("<Status code=\"200\""), "{body}");
}

#[tokio::test]
async fn application_xml_is_accepted() {
    let response = post(
        app().await,
        "/cxml/acme",
        "application/xml",
        common::order_with_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn json_content_type_with_cxml_is_read() {
    let response = post(
        app().await,
        "/cxml/acme",
        "application/json",
        common::order_with_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn json_body_is_not_acceptable() {
    let body = br#"{"order": {"id": 1}}"#.to_vec();
    let response = post(app().await, "/cxml/acme", "application/json", body).await;

    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(content_type(&response), "text/xml; charset=UTF-8");
    let body = text(response).await;
    assert!(body.contains("<Status code=\"406\""), "{body}");
}

#[tokio::test]
async fn trailing_slash_order_url_accepted() {
    let response = post(
        app().await,
        "/cxml/acme/",
        "text/xml",
        common::order_with_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "text/xml; charset=UTF-8");
}

#[tokio::test]
async fn gzip_body_is_unsupported() {
    let response = post_encoded(&["gzip"]).await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = text(response).await;
    assert!(body.contains("<Status code=\"415\""), "{body}");
    assert!(body.contains("Content-Encoding gzip"), "{body}");
    assert!(body.contains("without compression"), "{body}");
}

#[tokio::test]
async fn second_encoding_line_is_read() {
    let response = post_encoded(&["identity", "gzip"]).await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = text(response).await;
    assert!(body.contains("Content-Encoding identity, gzip"), "{body}");
}

#[tokio::test]
async fn gzip_body_without_header_is_unsupported() {
    let mut gzipped = vec![0x1f, 0x8b, 0x08, 0x00];
    gzipped.extend_from_slice(&[0; 16]);
    let response = post(app().await, "/cxml/acme", "text/xml", gzipped).await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = text(response).await;
    assert!(body.contains("gzip-compressed"), "{body}");
}

#[tokio::test]
async fn identity_encoding_is_read() {
    let response = post_encoded(&["Identity"]).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_shared_secret_is_unauthorized() {
    let document = String::from_utf8(common::order_with_secret()).unwrap();
    let tampered = document.replace(SHARED_SECRET, "not-the-secret");
    let response = post(app().await, "/cxml/acme", "text/xml", tampered.into_bytes()).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = text(response).await;
    assert!(body.contains("<Status code=\"401\""), "{body}");
    assert!(!body.contains(SHARED_SECRET), "{body}");
}

#[tokio::test]
async fn unknown_account_is_unauthorized() {
    let response = post(
        app().await,
        "/cxml/nobody",
        "text/xml",
        common::order_with_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oversize_body_gets_cxml_413() {
    let body = vec![b'x'; LIMIT + 1];
    let response = post(app().await, "/cxml/acme", "text/xml", body).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type(&response), "text/xml; charset=UTF-8");
    let body = text(response).await;
    assert!(body.contains("<Status code=\"413\""), "{body}");
    assert!(body.contains(&LIMIT.to_string()), "{body}");
}

#[tokio::test]
async fn announced_oversize_gets_413_before_reading() {
    let request = Request::post("/cxml/acme")
        .header(header::CONTENT_TYPE, "text/xml")
        .header(header::CONTENT_LENGTH, (LIMIT + 1).to_string())
        .body(Body::from(vec![b' '; 16]))
        .unwrap();
    let response = app().await.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers().get(header::CONNECTION).unwrap(), "close");
    let body = text(response).await;
    assert!(body.contains("<Status code=\"413\""), "{body}");
}

#[tokio::test]
async fn tokened_buyer_accepted_on_own_url() {
    for path in [
        format!("/cxml/{ACCOUNT}/{BUYER_TOKEN}"),
        format!("/cxml/{ACCOUNT}/{BUYER_TOKEN}/"),
    ] {
        let response = post(
            app().await,
            &path,
            "text/xml",
            common::order_without_secret(),
        )
        .await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn tokened_buyer_rejected_on_account_url() {
    let response = post(
        app().await,
        "/cxml/acme",
        "text/xml",
        common::order_without_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_url_token_is_unauthorized() {
    let response = post(
        app().await,
        "/cxml/acme/not-a-token",
        "text/xml",
        common::order_without_secret(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn multipart_related_order_is_accepted() {
    let boundary = "pobridge-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-ID: <order@test>\r\n\r\n").as_bytes());
    body.extend_from_slice(&common::order_with_secret());
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-ID: <note.txt>\r\n\r\nplease deliver to the back door\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!(
        "multipart/related; boundary=\"{boundary}\"; type=\"text/xml\"; start=\"<order@test>\""
    );

    let response = post(app().await, "/cxml/acme", &content_type, body).await;

    let status = response.status();
    let body = text(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn get_on_order_endpoint_is_method_not_allowed() {
    let request = Request::get("/cxml/acme").body(Body::empty()).unwrap();
    let response = app().await.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = app().await;
    for path in ["/healthz", "/readyz"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn response_carries_a_generated_request_id() {
    let request = Request::get("/healthz").body(Body::empty()).unwrap();
    let response = app().await.oneshot(request).await.unwrap();

    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 36, "{id}");
}

#[tokio::test]
async fn incoming_request_id_is_kept() {
    let request = Request::get("/healthz")
        .header("x-request-id", "support-ticket-42")
        .body(Body::empty())
        .unwrap();
    let response = app().await.oneshot(request).await.unwrap();

    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "support-ticket-42"
    );
}
