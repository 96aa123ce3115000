//! The Coupa client against the sandbox Coupa on loopback: accepted, refused,
//! server errors, a dropped response, and the duplicate number that follows it.

use std::sync::Arc;
use std::time::Duration;

use pobridge_core::SystemClock;
use pobridge_coupa::{decide, CoupaClient, Decision, Delivery, Payload};
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

fn client() -> CoupaClient {
    CoupaClient::new(reqwest::Client::new(), Duration::from_secs(5))
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
    assert!(matches!(delivery, Delivery::NotSent { .. }), "{delivery:?}");
}

#[tokio::test]
async fn timeout_is_unknown_and_names_limit() {
    let (sandbox, url) = coupa().await;
    sandbox.slow_next_n(1, Duration::from_secs(5));
    let impatient = CoupaClient::new(reqwest::Client::new(), Duration::from_millis(200));

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
