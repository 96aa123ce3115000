//! `GET /metrics` after real requests. The recorder is process-wide, so
//! this file is its own test binary with a single test.

mod common;

use axum::body::Body;
use http::Request;
use pobridge_engine::worker::Worker;
use pobridge_web::{router, AppState};
use tower::ServiceExt;

async fn scrape(app: &axum::Router) -> String {
    let request = Request::get("/metrics").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

async fn post(app: &axum::Router, body: Vec<u8>) -> u16 {
    let request = Request::post(format!("/cxml/{}", common::ACCOUNT))
        .header("content-type", "text/xml")
        .body(Body::from(body))
        .unwrap();
    app.clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[track_caller]
fn assert_series(text: &str, series: &str) {
    assert!(
        text.lines().any(|line| line == series),
        "missing `{series}` in:\n{text}"
    );
}

#[tokio::test]
async fn scrape_counts_orders_jobs_and_records() {
    pobridge_web::metrics::install_recorder();
    let engine = common::engine(1024 * 1024).await;
    let app = router(AppState {
        engine: engine.clone(),
    });

    assert_eq!(post(&app, common::order_with_secret()).await, 200);
    assert_eq!(post(&app, b"not xml".to_vec()).await, 406);
    let text = scrape(&app).await;

    assert_series(&text, "pobridge_order_requests_total{code=\"200\"} 1");
    assert_series(&text, "pobridge_order_requests_total{code=\"406\"} 1");
    assert_series(
        &text,
        "pobridge_order_request_duration_seconds_count{code=\"200\"} 1",
    );
    assert!(
        text.contains("pobridge_order_request_duration_seconds_bucket{code=\"200\",le=\"0.005\"}")
    );
    assert_series(&text, "pobridge_jobs{status=\"queued\"} 1");
    assert_series(&text, "pobridge_jobs{status=\"running\"} 0");
    assert_series(&text, "pobridge_jobs_oldest_due_age_seconds 0");
    assert_series(&text, "pobridge_purchase_orders{status=\"received\"} 1");
    assert_series(&text, "pobridge_store_up 1");
    assert_series(
        &text,
        "# HELP pobridge_order_requests_total Requests to the order endpoint, by the HTTP status of the response.",
    );
    assert_series(&text, "# TYPE pobridge_jobs gauge");
    assert!(text.contains("# HELP pobridge_store_up 1 when"), "{text}");
    assert!(
        !text.contains(common::ACCOUNT),
        "an account slug is in:\n{text}"
    );

    // The account has no Brightpearl connection, so the sync job parks.
    assert_eq!(Worker::new(engine, "metrics-test").run_once().await, 1);
    let text = scrape(&app).await;
    assert_series(
        &text,
        "pobridge_jobs_total{kind=\"sync_order\",outcome=\"wait\"} 1",
    );
    assert_series(
        &text,
        "pobridge_job_duration_seconds_count{kind=\"sync_order\",outcome=\"wait\"} 1",
    );
    assert_series(&text, "pobridge_jobs{status=\"queued\"} 0");
    assert_series(&text, "pobridge_jobs{status=\"waiting\"} 1");
}
