//! Every rejection, each from a fixture that differs from the standard
//! invoice in one place, with Coupa's status code and text.

use crate::support::{corpus_invoice, TestCoupa};

const UNPARSABLE: &str = "Could not parse cXML document";

async fn assert_rejected(fixture: &str, code: u16, text: &str) {
    let t = TestCoupa::with_standard_buyer(false).await;
    let reply = t.post_fixture(fixture).await;
    assert_eq!(reply.http_status, code, "{fixture}: {}", reply.text);
    assert_eq!(reply.code, code.to_string(), "{fixture}");
    assert_eq!(reply.text, text, "{fixture}");
    assert!(t.coupa.accepted_invoices().is_empty(), "{fixture}");

    let received = t.coupa.received();
    assert_eq!(received.len(), 1, "{fixture}");
    assert_eq!(received[0].status, code, "{fixture}");
    assert_eq!(received[0].text, text, "{fixture}");
}

#[tokio::test]
async fn not_well_formed_is_unparsable() {
    assert_rejected("not-well-formed.xml", 406, UNPARSABLE).await;
}

#[tokio::test]
async fn missing_doctype_is_unparsable() {
    assert_rejected("no-doctype.xml", 406, UNPARSABLE).await;
}

#[tokio::test]
async fn doctype_off_line_two_is_unparsable() {
    assert_rejected("doctype-on-line-3.xml", 406, UNPARSABLE).await;
}

#[tokio::test]
async fn non_1_2_doctype_is_unsupported() {
    let text = "cXML Version of document is not supported";
    assert_rejected("doctype-cxml-1.1.xml", 450, text).await;
    assert_rejected("doctype-cxml-dtd.xml", 450, text).await;
}

#[tokio::test]
async fn summary_out_of_dtd_order_is_invalid() {
    assert_rejected(
        "summary-out-of-order.xml",
        406,
        "Request did not validate successfully with DTD. Error: Element InvoiceDetailSummary content does not follow the DTD",
    )
    .await;
}

#[tokio::test]
async fn summary_without_tax_is_invalid() {
    assert_rejected(
        "summary-without-tax.xml",
        406,
        "Request did not validate successfully with DTD. Error: Element InvoiceDetailSummary content does not follow the DTD",
    )
    .await;
}

#[tokio::test]
async fn item_children_out_of_order_are_invalid() {
    assert_rejected(
        "item-price-before-unit.xml",
        406,
        "Request did not validate successfully with DTD. Error: Element InvoiceDetailItem content does not follow the DTD",
    )
    .await;
}

#[tokio::test]
async fn wrong_shared_secret_is_unauthorised() {
    assert_rejected("wrong-shared-secret.xml", 401, "Invalid credentials").await;
}

#[tokio::test]
async fn unregistered_buyer_is_unauthorised() {
    let t = TestCoupa::start().await;
    let reply = t
        .post(corpus_invoice(
            "coupa-sample-invoice-1.2.020-tax-at-total.xml",
        ))
        .await;
    assert_eq!(reply.http_status, 401);
    assert_eq!(reply.text, "Invalid credentials");
}

#[tokio::test]
async fn po_is_found_by_payload_id_only() {
    // The fixture's OrderReference@orderID still names the issued PO-1001.
    assert_rejected(
        "unknown-po-payload-id.xml",
        417,
        "Invalid order/document reference. Could not find order header PO-9999",
    )
    .await;
}

#[tokio::test]
async fn unknown_po_line_is_a_server_error() {
    assert_rejected("unknown-line-number.xml", 500, "Unexpected server error.").await;
}

#[tokio::test]
async fn different_unit_of_measure_is_a_server_error() {
    assert_rejected("wrong-unit-of-measure.xml", 500, "Unexpected server error.").await;
}

const LINE_TYPE: &str = "Invalid attributes in document. Validation failed: Invoice lines order line must be the same type as invoice line";

#[tokio::test]
async fn service_line_invoiced_as_item_is_refused() {
    assert_rejected("service-line-as-item.xml", 417, LINE_TYPE).await;
}

#[tokio::test]
async fn quantity_line_invoiced_as_service_is_refused() {
    assert_rejected("quantity-line-as-service.xml", 417, LINE_TYPE).await;
}

#[tokio::test]
async fn header_charges_are_refused_when_not_allowed() {
    assert_rejected(
        "header-shipping-charge.xml",
        417,
        "Invalid attributes in document. Extra shipping/handling/misc charges are not permitted",
    )
    .await;
}

#[tokio::test]
async fn reused_invoice_number_is_refused() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let first = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(first.http_status, 200);

    let second = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(second.http_status, 417);
    assert_eq!(second.code, "417");
    assert_eq!(second.text, "Invalid attributes in document.");
    assert_eq!(t.coupa.accepted_invoices().len(), 1);
    assert_eq!(t.coupa.received().len(), 2);
}

#[tokio::test]
async fn empty_body_is_unparsable() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let reply = t.post("").await;
    assert_eq!(reply.http_status, 406);
    assert_eq!(reply.text, UNPARSABLE);
}

#[tokio::test]
async fn credit_memo_without_original_is_a_server_error() {
    assert_rejected(
        "credit-memo-without-original.xml",
        500,
        "Unexpected server error.",
    )
    .await;
}

#[tokio::test]
async fn credit_memo_for_an_unknown_invoice_is_a_server_error() {
    // No invoice SI-1001 was accepted before this credit memo.
    assert_rejected("credit-memo.xml", 500, "Unexpected server error.").await;
}
