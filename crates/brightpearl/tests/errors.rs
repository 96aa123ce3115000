//! How failures are classified: validation errors sent as 500, bodiless
//! 5xx, timeouts and dropped connections, and writes whose outcome is unknown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Counter, Harness, Reply};
use pobridge_brightpearl::{
    BrightpearlClient, CustomFieldOp, ErrorKind, Limiter, ReadRetries, SalesOrder, SalesOrderRow,
};
use pobridge_core::ManualClock;
use rust_decimal_macros::dec;
use tokio::io::AsyncReadExt;

fn small_order() -> SalesOrder {
    SalesOrder {
        customer_id: 200,
        reference: "PO-1".into(),
        external_ref: "coupa:1:PO-1:r1".into(),
        currency_code: "USD".into(),
        rows: vec![SalesOrderRow {
            product_id: Some(1007),
            name: "Nice Shirt for Summer".into(),
            quantity: dec!(1),
            tax_code: "T".into(),
            net: dec!(9.0909),
            tax: dec!(0.91),
            ..SalesOrderRow::default()
        }],
        ..SalesOrder::default()
    }
}

#[tokio::test]
async fn patch_rejected_with_500_is_validation_not_retried() {
    let harness =
        Harness::start(|_| Reply::corpus(500, "order-patch-error-500-bad-op.response.json")).await;

    let error = harness
        .client
        .patch_order_custom_fields(
            330,
            &[CustomFieldOp::Remove {
                code: "PCF_X".into(),
            }],
        )
        .await
        .unwrap_err();

    let ErrorKind::Validation { errors } = error.kind() else {
        panic!("expected a validation error, got {error}");
    };
    assert_eq!(errors[0].code, "CMNC-044");
    assert!(
        error
            .to_string()
            .contains("PATCH order-service/order/330/custom-field"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("CMNC-044 Invalid patch operation"),
        "{error}"
    );
    assert_eq!(harness.api_requests().len(), 1);
}

#[tokio::test]
async fn search_filter_rejected_with_500_is_validation() {
    let harness =
        Harness::start(|_| Reply::corpus(500, "order-search-error-500-bad-filter.response.json"))
            .await;

    let error = harness
        .client
        .find_orders_by_customer_ref("PO-1")
        .await
        .unwrap_err();

    assert_eq!(error.api_errors()[0].code, "CMNC-018");
    assert!(matches!(error.kind(), ErrorKind::Validation { .. }));
    assert_eq!(harness.api_requests().len(), 1);
}

#[tokio::test]
async fn bodiless_500_is_transient_not_retried() {
    let harness = Harness::start(|_| Reply::empty(500)).await;

    let error = harness.client.tax_codes().await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: false });
    assert_eq!(harness.api_requests().len(), 1);
    assert!(
        error
            .to_string()
            .starts_with("GET accounting-service/tax-code/: "),
        "{error}"
    );
    assert!(!error.to_string().contains("old-access"), "{error}");
}

#[tokio::test]
async fn forbidden_is_other() {
    let harness = Harness::start(|_| Reply::empty(403)).await;

    let error = harness.client.channels().await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Other);
}

#[tokio::test]
async fn sales_order_post_502_is_ambiguous() {
    let harness = Harness::start(|_| Reply::text(502, "<html>Bad Gateway</html>")).await;

    let error = harness
        .client
        .create_sales_order(&small_order())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Ambiguous);
    assert_eq!(harness.api_requests().len(), 1);
}

#[tokio::test]
async fn sales_order_post_without_id_is_ambiguous() {
    for body in [r#"{}"#, r#"{"response": {}}"#, "not json"] {
        let harness = Harness::start(move |_| Reply::text(200, body)).await;

        let error = harness
            .client
            .create_sales_order(&small_order())
            .await
            .unwrap_err();

        assert_eq!(error.kind(), &ErrorKind::Ambiguous, "{body}");
        assert!(
            error
                .to_string()
                .starts_with("POST order-service/sales-order: "),
            "{error}"
        );
    }
}

#[tokio::test]
async fn sales_order_post_400_is_validation() {
    let harness =
        Harness::start(|_| Reply::corpus(400, "order-post-error-400-bad-order-type.response.json"))
            .await;

    let error = harness
        .client
        .create_sales_order(&small_order())
        .await
        .unwrap_err();

    assert!(
        matches!(error.kind(), ErrorKind::Validation { .. }),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn sales_order_post_timeout_is_ambiguous() {
    let harness = Harness::start(|_| {
        Reply::text(200, r#"{"response": 104233}"#).delayed(Duration::from_secs(120))
    })
    .await;

    let error = harness
        .client
        .create_sales_order(&small_order())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Ambiguous);
    assert!(
        error.to_string().contains("search for the record"),
        "{error}"
    );
    let posted = harness.api_requests();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].json()["externalRef"], "coupa:1:PO-1:r1");
}

#[tokio::test(start_paused = true)]
async fn read_timeout_is_transient() {
    let harness = Harness::start(|_| {
        Reply::corpus(200, "tax-code-get-all.response.json").delayed(Duration::from_secs(120))
    })
    .await;

    let error = harness.client.tax_codes().await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: false });
}

/// Builds a client for a server that is not `common::MockServer`.
fn client_for(base: &str) -> BrightpearlClient {
    BrightpearlClient::new(
        reqwest::Client::new(),
        Arc::new(common::config(base)),
        common::oauth_connection(base),
        Arc::new(Limiter::new(190, 5)),
        Arc::new(common::RecordingSink::default()),
        Arc::new(ManualClock::new(common::now())),
    )
}

#[tokio::test]
async fn dropped_connection_after_post_is_ambiguous() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0_u8; 4096];
        // Read the whole request (headers and JSON body), then hang up
        // without replying, as a proxy that dies mid-request would.
        while !String::from_utf8_lossy(&received).contains("\"rows\"") {
            let read = socket.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the client closed the connection first");
            received.extend_from_slice(&buffer[..read]);
        }
        drop(socket);
        String::from_utf8(received).unwrap()
    });

    let error = client_for(&base)
        .create_sales_order(&small_order())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Ambiguous, "{error}");
    let request = server.await.unwrap();
    assert!(
        request.starts_with("POST /public-api/acme/order-service/sales-order"),
        "{request}"
    );
}

#[tokio::test]
async fn refused_connection_is_transient_even_for_a_post() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let error = client_for(&base)
        .create_sales_order(&small_order())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        &ErrorKind::Transient { throttled: false },
        "{error}"
    );
}

#[tokio::test]
async fn missing_contact_is_not_found() {
    let harness =
        Harness::start(|_| Reply::corpus(404, "contact-get-404-not-found.response.json")).await;

    let error = harness.client.get_contact(1).await.unwrap_err();
    let contacts = harness.client.get_contacts(&[1]).await.unwrap();

    assert_eq!(error.kind(), &ErrorKind::NotFound);
    assert!(contacts.is_empty());
}

const THREE_RESENDS: ReadRetries = ReadRetries {
    retries: 3,
    first_delay: Duration::from_millis(100),
};

#[tokio::test(start_paused = true)]
async fn read_retries_resend_a_get_after_500s() {
    let calls = Counter::default();
    let harness = Harness::start(move |_| match calls.next() {
        0 | 1 => Reply::empty(500),
        _ => Reply::corpus(200, "tax-code-get-all.response.json"),
    })
    .await;
    let client = harness.client.with_read_retries(THREE_RESENDS);

    let codes = client.tax_codes().await.unwrap();

    assert!(!codes.is_empty());
    assert_eq!(harness.api_requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn read_retries_give_up_after_the_limit() {
    let harness = Harness::start(|_| Reply::empty(500)).await;
    let client = harness.client.with_read_retries(THREE_RESENDS);

    let error = client.tax_codes().await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Transient { throttled: false });
    assert_eq!(
        harness.api_requests().len(),
        4,
        "one send and three resends"
    );
}

#[tokio::test(start_paused = true)]
async fn read_retries_resend_after_a_timeout() {
    let calls = Counter::default();
    let harness = Harness::start(move |_| {
        let reply = Reply::corpus(200, "tax-code-get-all.response.json");
        match calls.next() {
            0 => reply.delayed(Duration::from_secs(120)),
            _ => reply,
        }
    })
    .await;
    let client = harness.client.with_read_retries(THREE_RESENDS);

    let codes = client.tax_codes().await.unwrap();

    assert!(!codes.is_empty());
    assert_eq!(harness.api_requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn read_retries_never_resend_a_post() {
    let harness = Harness::start(|_| Reply::text(502, "<html>Bad Gateway</html>")).await;
    let client = harness.client.with_read_retries(THREE_RESENDS);

    let error = client.create_sales_order(&small_order()).await.unwrap_err();

    assert_eq!(error.kind(), &ErrorKind::Ambiguous);
    assert_eq!(harness.api_requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn read_retries_skip_a_rejected_search() {
    let harness =
        Harness::start(|_| Reply::corpus(500, "order-search-error-500-bad-filter.response.json"))
            .await;
    let client = harness.client.with_read_retries(THREE_RESENDS);

    let error = client
        .find_orders_by_customer_ref("PO-1")
        .await
        .unwrap_err();

    assert!(matches!(error.kind(), ErrorKind::Validation { .. }));
    assert_eq!(harness.api_requests().len(), 1);
}
