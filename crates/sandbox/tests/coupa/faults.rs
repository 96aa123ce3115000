//! Injected faults: failures, a connection dropped after the invoice was
//! recorded, and slow replies.

use std::time::{Duration, Instant};

use crate::support::{fixture, TestCoupa};

#[tokio::test]
async fn failure_fault_answers_the_status_and_records_nothing() {
    let t = TestCoupa::with_standard_buyer(false).await;
    t.coupa.fail_next_n_with(503, 2);

    for _ in 0..2 {
        let reply = t.post_fixture("invoice-standard.xml").await;
        assert_eq!(reply.http_status, 503);
        assert_eq!(reply.code, "503");
        assert_eq!(reply.text, "Service Unavailable");
    }
    assert!(t.coupa.accepted_invoices().is_empty());

    let reply = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(reply.http_status, 200);
    assert_eq!(t.coupa.accepted_invoices().len(), 1);
    let statuses: Vec<u16> = t.coupa.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn dropped_connection_still_accepts_the_invoice() {
    let t = TestCoupa::with_standard_buyer(false).await;
    t.coupa.drop_connection_after_accept_next_n(1);

    let result = t
        .http
        .post(t.invoices_url())
        .body(fixture("invoice-standard.xml"))
        .send()
        .await;
    assert!(result.is_err(), "the client must see no response");
    assert_eq!(t.coupa.accepted_invoices().len(), 1);
    let received = t.coupa.received();
    assert_eq!(received[0].status, 200);
    assert!(received[0].connection_dropped);

    // Sending the same invoice again now meets the duplicate check.
    let retry = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(retry.http_status, 417);
    assert_eq!(retry.text, "Invalid attributes in document.");
}

#[tokio::test]
async fn slow_fault_delays_the_reply_after_recording() {
    let t = TestCoupa::with_standard_buyer(false).await;
    t.coupa.slow_next_n(1, Duration::from_millis(300));

    let timed_out = t
        .http
        .post(t.invoices_url())
        .body(fixture("invoice-standard.xml"))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(t.coupa.accepted_invoices().len(), 1);

    t.coupa.slow_next_n(1, Duration::from_millis(200));
    let started = Instant::now();
    let reply = t.post_fixture("invoice-standard.xml").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(reply.http_status, 417);

    let started = Instant::now();
    t.post_fixture("invoice-standard.xml").await;
    assert!(started.elapsed() < Duration::from_millis(200));
}
