//! The router served on a real socket bound to port 0.

mod common;

use pobridge_web::{router, AppState};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test]
async fn served_router_accepts_an_order_over_http() {
    let app = router(AppState {
        engine: common::engine(1024 * 1024).await,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/cxml/acme"))
        .header("content-type", "text/xml")
        .body(common::order_with_secret())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();

    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!(content_type, "text/xml; charset=UTF-8");
    assert!(body.contains("<Status code=\"200\""), "{body}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
