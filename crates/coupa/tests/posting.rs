//! The Coupa client against the sandbox Coupa on loopback: accepted, refused,
//! server errors, a dropped response, and the duplicate number that follows it;
//! posts to loopback with private addresses rejected, and a redirect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pobridge_core::SystemClock;
use pobridge_coupa::{decide, CoupaClient, Decision, Delivery, Payload, PrivateAddresses};
use pobridge_sandbox::{CoupaBuyerConfig, CoupaSandbox, IssuedLine, IssuedPo};
use rust_decimal::Decimal;

const INVOICE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/cxml/invoice/coupa-sample-invoice-1.2.020-tax-at-total.xml"
));

/// Starts a sandbox Coupa configured with the sample invoice's buyer and PO 123.
async fn coupa() -> (CoupaSandbox, String) {
    let sandbox = CoupaSandbox::new(Arc::new(SystemClock));
    let credential = |identity: &str| ("DUNS".to_owned(), identity.to_owned());
    sandbox.add_buyer(CoupaBuyerConfig {
        invoice_from: credential("supplierid"),
        invoice_to: credential("buyerid"),
        sender: credential("supplierid"),
        shared_secret: "secret".to_owned(),
        allow_header_charges: true,
        supplier_name: "Sample supplier".to_owned(),
    });
    sandbox.issue_po(IssuedPo {
        po_number: "123".to_owned(),
        lines: vec![IssuedLine {
            line_number: 1,
            supplier_part_id: "1".to_owned(),
            unit_of_measure: "EA".to_owned(),
            quantity: Decimal::from(10),
            unit_price: Decimal::from(365),
            service: false,
        }],
        currency: "USD".to_owned(),
    });
    let (base_url, _task) = sandbox.spawn_local().await;
    (sandbox, format!("{base_url}/cxml/invoices"))
}

/// A client that may post to the loopback sandbox.
fn client() -> CoupaClient {
    CoupaClient::new(Duration::from_secs(5), PrivateAddresses::Allow)
}

fn guarded_client() -> CoupaClient {
    CoupaClient::new(Duration::from_secs(5), PrivateAddresses::Reject)
}

fn code(delivery: &Delivery) -> Option<u16> {
    match delivery {
        Delivery::Answered { code, .. } => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn accepted_invoice_is_sent_once() {
    let (sandbox, url) = coupa().await;
    let delivery = client().post(&url, Payload::Xml(INVOICE.to_owned())).await;
    assert_eq!(code(&delivery), Some(200), "{delivery:?}");
    assert_eq!(decide(&delivery, false), Decision::Sent);
    assert_eq!(sandbox.accepted_invoices().len(), 1);
}

#[tokio::test]
async fn wrong_secret_fails_with_coupa_text() {
    let (_sandbox, url) = coupa().await;
    let invoice = INVOICE.replace(
        "<SharedSecret>secret</SharedSecret>",
        "<SharedSecret>wrong</SharedSecret>",
    );
    let delivery = client().post(&url, Payload::Xml(invoice)).await;
    assert_eq!(code(&delivery), Some(401), "{delivery:?}");
    match decide(&delivery, false) {
        Decision::Failed { reason } => assert!(reason.contains("Invalid credentials"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn server_error_is_retried() {
    let (sandbox, url) = coupa().await;
    sandbox.fail_next_n_with(503, 1);
    let delivery = client().post(&url, Payload::Xml(INVOICE.to_owned())).await;
    assert!(
        matches!(
            decide(&delivery, false),
            Decision::Retry {
                outcome_unknown: false,
                ..
            }
        ),
        "{delivery:?}"
    );
    let again = client().post(&url, Payload::Xml(INVOICE.to_owned())).await;
    assert_eq!(decide(&again, false), Decision::Sent);
    assert_eq!(sandbox.accepted_invoices().len(), 1);
}

#[tokio::test]
async fn dropped_answer_then_duplicate_is_probably_delivered() {
    let (sandbox, url) = coupa().await;
    sandbox.drop_connection_after_accept_next_n(1);
    let first = client().post(&url, Payload::Xml(INVOICE.to_owned())).await;
    let decision = decide(&first, false);
    assert!(
        matches!(
            decision,
            Decision::Retry {
                outcome_unknown: true,
                ..
            }
        ),
        "{first:?}"
    );

    let second = client().post(&url, Payload::Xml(INVOICE.to_owned())).await;
    assert_eq!(code(&second), Some(417), "{second:?}");
    assert_eq!(decide(&second, true), Decision::ProbablyDelivered);
    assert_eq!(
        sandbox.accepted_invoices().len(),
        1,
        "accepted once, never renumbered"
    );
}

#[tokio::test]
async fn unreachable_coupa_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let delivery = client()
        .post(
            &format!("http://{address}/cxml/invoices"),
            Payload::Xml(INVOICE.to_owned()),
        )
        .await;
    let Delivery::NotSent { error } = &delivery else {
        panic!("{delivery:?}");
    };
    assert!(error.starts_with("could not connect to Coupa"), "{error}");
    assert!(
        error.to_lowercase().contains("refused"),
        "the cause is named: {error}"
    );
}

#[tokio::test]
async fn timeout_is_unknown_and_names_limit() {
    let (sandbox, url) = coupa().await;
    sandbox.slow_next_n(1, Duration::from_secs(5));
    let impatient = CoupaClient::new(Duration::from_millis(200), PrivateAddresses::Allow);

    let delivery = impatient.post(&url, Payload::Xml(INVOICE.to_owned())).await;

    let Delivery::Unknown { error } = &delivery else {
        panic!("expected an unknown outcome, got {delivery:?}");
    };
    assert!(error.contains("within 0.2 s (timed out)"), "{error}");
    assert!(error.contains("same number"), "{error}");
    assert!(!error.contains("error sending request"), "{error}");
    assert!(
        matches!(
            decide(&delivery, false),
            Decision::Retry {
                outcome_unknown: true,
                ..
            }
        ),
        "{delivery:?}"
    );
}

#[tokio::test]
async fn loopback_address_is_not_allowed() {
    let (sandbox, url) = coupa().await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let delivery = guarded_client()
        .post(&url, Payload::Xml(INVOICE.to_owned()))
        .await;

    let Delivery::NotAllowed { error } = &delivery else {
        panic!("expected a rejected address, got {delivery:?}");
    };
    assert!(error.contains("127.0.0.1"), "{error}");
    assert!(error.contains("a loopback address"), "{error}");
    assert!(error.contains("coupa.allow_private_addresses"), "{error}");
    assert!(sandbox.received().is_empty(), "nothing reached the server");
    match decide(&delivery, false) {
        Decision::Failed { reason } => assert!(reason.contains("127.0.0.1"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn host_name_resolving_to_loopback_is_not_allowed() {
    let (sandbox, url) = coupa().await;
    // The client leaves names to its resolver, which finds 127.0.0.1 or ::1.
    let by_name = url.replace("127.0.0.1", "localhost");

    let delivery = guarded_client()
        .post(&by_name, Payload::Xml(INVOICE.to_owned()))
        .await;

    let Delivery::NotAllowed { error } = &delivery else {
        panic!("expected a rejected address, got {delivery:?}");
    };
    assert!(
        error.contains("host localhost resolves only to non-public"),
        "{error}"
    );
    assert!(error.contains("a loopback address"), "{error}");
    assert!(sandbox.received().is_empty(), "nothing reached the server");
}

#[tokio::test]
async fn mapped_ipv6_loopback_is_not_allowed() {
    let delivery = guarded_client()
        .post(
            "http://[::ffff:127.0.0.1]:9/cxml/invoices",
            Payload::Xml(INVOICE.to_owned()),
        )
        .await;

    let Delivery::NotAllowed { error } = &delivery else {
        panic!("expected a rejected address, got {delivery:?}");
    };
    assert!(error.contains("127.0.0.1"), "{error}");
}

#[tokio::test]
async fn redirect_is_reported_and_not_followed() {
    let (target, target_url) = counting_server("HTTP/1.1 200 OK").await;
    let (origin, origin_url) = counting_server(&format!(
        "HTTP/1.1 302 Found\r\nLocation: {target_url}/internal"
    ))
    .await;

    let delivery = client()
        .post(&origin_url, Payload::Xml(INVOICE.to_owned()))
        .await;

    assert_eq!(origin.load(Ordering::SeqCst), 1);
    assert_eq!(
        target.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    let expected = format!("redirected to {target_url}/internal");
    let Delivery::Answered { code, text, .. } = &delivery else {
        panic!("expected an answer, got {delivery:?}");
    };
    assert_eq!(*code, 302);
    assert_eq!(text, &expected);
    match decide(&delivery, false) {
        Decision::Failed { reason } => {
            assert!(reason.contains("Coupa redirected to"), "{reason}");
            assert!(reason.contains(&expected), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Starts a server on loopback that reads each request whole and responds
/// with `status_and_headers` and an empty body. Returns its count of
/// requests and its base URL.
async fn counting_server(status_and_headers: &str) -> (Arc<AtomicUsize>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let answer = format!("{status_and_headers}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_request(&mut stream).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, answer.as_bytes()).await;
        }
    });
    (count, url)
}

/// Reads one HTTP/1.1 request with a `Content-Length` body from `stream`.
async fn read_request(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;

    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&request);
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..end]
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if request.len() >= end + 4 + length {
            return;
        }
    }
}
