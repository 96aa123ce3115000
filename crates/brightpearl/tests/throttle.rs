//! Rate limiting over HTTP: throttle headers, 503 and 429 waits, and the
//! sliding window. Waiting tests run on tokio's paused clock, which jumps
//! ahead whenever every task is idle, so no test sleeps in real time.

mod common;

use std::time::Duration;

use common::{Counter, Harness, Reply};
use pobridge_brightpearl::{ErrorKind, ThrottleHeaders};
use tokio::time::Instant;

const EMPTY_ORDERS: &str = "order-get-missing-id-empty-200.response.json";

#[tokio::test]
async fn throttle_headers_parse_as_text_absent_or_garbage() {
    type Sent = Option<(&'static str, &'static str)>;
    let cases: [(Sent, Option<ThrottleHeaders>); 4] = [
        (
            Some(("198", "51000")),
            Some(ThrottleHeaders {
                remaining: Some(198),
                next_period: Some(Duration::from_millis(51_000)),
            }),
        ),
        (None, None),
        (Some(("lots", "soon")), None),
        (
            Some(("66", "-5")),
            Some(ThrottleHeaders {
                remaining: Some(66),
                next_period: None,
            }),
        ),
    ];
    for (headers, expected) in cases {
        let harness = Harness::start(move |_| match headers {
            Some((remaining, period)) => {
                Reply::corpus(200, EMPTY_ORDERS).throttle(remaining, period)
            }
            None => Reply::corpus(200, EMPTY_ORDERS),
        })
        .await;

        let orders = harness.client.get_orders(&[999]).await.unwrap();

        assert!(orders.is_empty(), "{headers:?}");
        assert_eq!(harness.limiter.last_headers(), expected, "{headers:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn throttled_503_is_waited_out_then_retried() {
    let calls = Counter::default();
    let harness = Harness::start(move |_| match calls.next() {
        0 => Reply::corpus(
            503,
            "error-503-throttled-legacy-reconstructed.response.json",
        )
        .throttle("0", "45000"),
        _ => Reply::corpus(200, EMPTY_ORDERS).throttle("199", "59000"),
    })
    .await;
    let start = Instant::now();

    let orders = harness.client.get_orders(&[999]).await.unwrap();

    assert!(orders.is_empty());
    assert_eq!(harness.api_requests().len(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(45),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(46),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(harness.limiter.requests_sent(), 2);
}

#[tokio::test(start_paused = true)]
async fn headerless_503_waits_a_minute() {
    let calls = Counter::default();
    let harness = Harness::start(move |_| match calls.next() {
        0 => Reply::corpus(503, "error-503-request-cap-library-fixture.response.json"),
        _ => Reply::corpus(200, EMPTY_ORDERS),
    })
    .await;
    let start = Instant::now();

    harness.client.get_orders(&[999]).await.unwrap();

    assert!(
        start.elapsed() >= Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(61),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn throttle_longer_than_budget_fails_as_throttled() {
    let harness = Harness::with(
        |_| {
            Reply::corpus(
                503,
                "error-503-throttled-legacy-reconstructed.response.json",
            )
            .throttle("0", "45000")
        },
        |config| config.max_throttle_wait = Duration::from_secs(30),
        |_| {},
    )
    .await;
    let start = Instant::now();

    let error = harness.client.get_orders(&[999]).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: true });
    assert_eq!(error.retry_after(), Some(Duration::from_secs(45)));
    assert_eq!(harness.api_requests().len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn too_many_requests_follows_retry_after() {
    let calls = Counter::default();
    let harness = Harness::start(move |_| match calls.next() {
        0 => Reply::empty(429).header("retry-after", "7"),
        _ => Reply::corpus(200, EMPTY_ORDERS),
    })
    .await;
    let start = Instant::now();

    harness.client.get_orders(&[999]).await.unwrap();

    assert_eq!(harness.api_requests().len(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn low_remaining_delays_the_next_request() {
    let harness = Harness::start(|_| Reply::corpus(200, EMPTY_ORDERS).throttle("2", "20000")).await;
    let start = Instant::now();

    harness.client.get_orders(&[1]).await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    harness.client.get_orders(&[2]).await.unwrap();

    assert!(
        start.elapsed() >= Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(21),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn sliding_window_spaces_out_requests() {
    let harness = Harness::with(
        |_| Reply::corpus(200, EMPTY_ORDERS).throttle("199", "59000"),
        |config| config.requests_per_minute = 3,
        |_| {},
    )
    .await;
    let start = Instant::now();

    for id in 1..=3 {
        harness.client.get_orders(&[id]).await.unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    harness.client.get_orders(&[4]).await.unwrap();

    assert!(
        start.elapsed() >= Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(harness.limiter.requests_sent(), 4);
}

#[tokio::test]
async fn requests_sent_counts_retries_and_refreshless_calls() {
    let calls = Counter::default();
    let harness = Harness::start(move |request| {
        if request.path.starts_with("/token/") {
            return Reply::json(
                200,
                serde_json::json!({"access_token": "new-access", "expires_in": 604800}),
            );
        }
        match calls.next() {
            0 => Reply::corpus(401, "error-401-token-expired-order.response.json"),
            _ => Reply::corpus(200, EMPTY_ORDERS),
        }
    })
    .await;

    harness.client.get_orders(&[1]).await.unwrap();
    harness.client.get_orders(&[2]).await.unwrap();

    // Token requests do not use the API quota; the rejected call does.
    assert_eq!(harness.limiter.requests_sent(), 3);
}
