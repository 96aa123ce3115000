//! Invoices the simulator accepts: Coupa's published samples, the
//! standard fixture, and a multipart body with an attachment.

use pobridge_sandbox::{CoupaBuyerConfig, IssuedPo};
use rust_decimal_macros::dec;

use crate::support::{corpus_invoice, fixture, line, send, TestCoupa};

fn buyer(
    from: (&str, &str),
    to: (&str, &str),
    sender: (&str, &str),
    secret: &str,
) -> CoupaBuyerConfig {
    CoupaBuyerConfig {
        invoice_from: (from.0.into(), from.1.into()),
        invoice_to: (to.0.into(), to.1.into()),
        sender: (sender.0.into(), sender.1.into()),
        shared_secret: secret.into(),
        allow_header_charges: true,
        supplier_name: "Sample Supplier".into(),
    }
}

fn one_line_po(number: &str) -> IssuedPo {
    IssuedPo {
        po_number: number.into(),
        lines: vec![line(1, "ITEM-1", "EA", "5", "100", false)],
        currency: "USD".into(),
    }
}

/// Starts a simulator with the buyer and PO of the two "tax at" samples.
async fn sample_coupa() -> TestCoupa {
    let t = TestCoupa::start().await;
    t.coupa.add_buyer(buyer(
        ("DUNS", "supplierid"),
        ("DUNS", "buyerid"),
        ("DUNS", "supplierid"),
        "secret",
    ));
    t.coupa.issue_po(one_line_po("123"));
    t
}

#[tokio::test]
async fn tax_at_total_sample_is_accepted() {
    let t = sample_coupa().await;
    let reply = t
        .post(corpus_invoice(
            "coupa-sample-invoice-1.2.020-tax-at-total.xml",
        ))
        .await;
    assert_eq!(reply.http_status, 200);
    assert_eq!(reply.code, "200");
    assert_eq!(reply.text, "OK");

    let accepted = t.coupa.accepted_invoices();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].invoice_id, "3492");
    assert_eq!(accepted[0].po_number, "123");
    assert_eq!(accepted[0].currency, "USD");
    // NetAmount is empty, so the total is 365 + 8 tax + 5 handling + 30 shipping.
    assert_eq!(accepted[0].total, dec!(408));
    assert_eq!(accepted[0].lines[0].po_line_number, Some(1));
    assert_eq!(accepted[0].lines[0].quantity, Some(dec!(1)));
}

#[tokio::test]
async fn tax_at_line_sample_is_accepted() {
    let t = sample_coupa().await;
    let reply = t
        .post(corpus_invoice(
            "coupa-sample-invoice-1.2.020-tax-at-line.xml",
        ))
        .await;
    assert_eq!(reply.http_status, 200);
    assert_eq!(t.coupa.accepted_invoices()[0].invoice_id, "3495");
}

#[tokio::test]
async fn two_po_sample_is_accepted_with_both_orders() {
    let t = TestCoupa::start().await;
    t.coupa.add_buyer(buyer(
        ("COUPA", "SupplierID"),
        ("COUPA", "BuyerID"),
        ("COUPA", "SupplierID"),
        "123456secret",
    ));
    t.coupa.issue_po(one_line_po("2252"));
    t.coupa.issue_po(one_line_po("2253"));
    let reply = t
        .post(corpus_invoice("coupa-sample-invoice-1.2.020-two-pos.xml"))
        .await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);

    let accepted = &t.coupa.accepted_invoices()[0];
    assert_eq!(accepted.po_numbers, ["2252", "2253"]);
    // The sample states NetAmount 0, and the simulator records what was
    // stated.
    assert_eq!(accepted.total, dec!(0));
    assert_eq!(accepted.lines[0].quantity, Some(dec!(2.00)));
}

#[tokio::test]
async fn contract_backed_block_needs_no_po() {
    let t = TestCoupa::start().await;
    t.coupa.add_buyer(buyer(
        ("DUNS", "supplier-test"),
        ("TESTDOMAIN", "buyer-test"),
        ("TESTDOMAIN", "testidentity"),
        "TESTSECRET",
    ));
    t.coupa.issue_po(one_line_po("E14994"));
    let reply = t
        .post(corpus_invoice(
            "coupa-sample-invoice-1.2.020-po-and-contract-backed.xml",
        ))
        .await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);

    let accepted = &t.coupa.accepted_invoices()[0];
    assert_eq!(accepted.po_numbers, ["E14994"]);
    assert_eq!(accepted.lines.len(), 2);
    assert_eq!(accepted.lines[1].po_number, None);
    assert_eq!(accepted.lines[1].po_line_number, None);
}

#[tokio::test]
async fn standard_invoice_records_lines_and_raw_document() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let reply = t.post_fixture("invoice-standard.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);
    assert!(reply.body.contains("<!DOCTYPE cXML"));

    let accepted = &t.coupa.accepted_invoices()[0];
    assert_eq!(accepted.invoice_id, "SI-1001");
    assert_eq!(accepted.supplier_name, "Supplier Seven");
    assert_eq!(accepted.total, dec!(123.60));
    assert_eq!(accepted.raw, fixture("invoice-standard.xml"));
    assert_eq!(accepted.lines.len(), 2);
    assert!(!accepted.lines[0].service);
    assert_eq!(
        accepted.lines[0].supplier_part_id.as_deref(),
        Some("WID-100")
    );
    assert_eq!(accepted.lines[0].unit_price, Some(dec!(4.50)));
    assert!(accepted.lines[1].service);
    assert_eq!(accepted.lines[1].subtotal, Some(dec!(85.00)));

    let received = t.coupa.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].status, 200);
    assert!(!received[0].connection_dropped);
}

#[tokio::test]
async fn blank_line_number_matches_by_part_and_unit() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let reply = t.post_fixture("line-number-blank.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);
    assert_eq!(
        t.coupa.accepted_invoices()[0].lines[0].po_line_number,
        Some(1)
    );
}

#[tokio::test]
async fn header_charges_pass_when_the_buyer_allows_them() {
    let t = TestCoupa::with_standard_buyer(true).await;
    let reply = t.post_fixture("header-shipping-charge.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);
    assert_eq!(t.coupa.accepted_invoices()[0].total, dec!(143.60));
}

/// Builds a multipart/related body: the cXML part named by `start`, then a
/// PDF.
fn multipart_body(newline: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for line in [
        "--part-boundary-1",
        "Content-Type: text/xml; charset=UTF-8",
        "Content-ID: <payload.xml>",
        "",
    ] {
        body.extend_from_slice(line.as_bytes());
        body.extend_from_slice(newline.as_bytes());
    }
    body.extend_from_slice(fixture("invoice-standard.xml").as_bytes());
    for line in [
        "",
        "--part-boundary-1",
        "Content-Type: application/pdf",
        "Content-Transfer-Encoding: base64",
        "Content-ID: <SI-1001.pdf>",
        "",
        "JVBERi0xLjQK",
        "--part-boundary-1--",
        "",
    ] {
        body.extend_from_slice(line.as_bytes());
        body.extend_from_slice(newline.as_bytes());
    }
    body
}

const MULTIPART_TYPE: &str =
    "multipart/related; boundary=\"part-boundary-1\"; type=\"text/xml\"; start=\"<payload.xml>\"";

#[tokio::test]
async fn multipart_invoice_keeps_its_attachment() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let request = t
        .http
        .post(t.invoices_url())
        .header("content-type", MULTIPART_TYPE)
        .body(multipart_body("\r\n"));
    let reply = send(request).await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);

    let accepted = &t.coupa.accepted_invoices()[0];
    assert_eq!(accepted.attachments.len(), 1);
    assert_eq!(accepted.attachments[0].content_id, "SI-1001.pdf");
    assert_eq!(accepted.attachments[0].content_type, "application/pdf");
    assert_eq!(accepted.attachments[0].content, b"%PDF-1.4\n");
    assert!(accepted.raw.starts_with("<?xml"));
}

#[tokio::test]
async fn multipart_with_bare_lf_is_a_bad_gateway() {
    let t = TestCoupa::with_standard_buyer(false).await;
    let request = t
        .http
        .post(t.invoices_url())
        .header("content-type", MULTIPART_TYPE)
        .body(multipart_body("\n"));
    let reply = send(request).await;
    assert_eq!(reply.http_status, 502);
    assert_eq!(reply.code, "502");
    assert_eq!(reply.text, "Bad Gateway");
    assert!(t.coupa.accepted_invoices().is_empty());
}

#[tokio::test]
async fn credit_memo_naming_an_accepted_invoice_is_accepted() {
    let t = TestCoupa::with_standard_buyer(false).await;
    assert_eq!(
        t.post_fixture("invoice-standard.xml").await.http_status,
        200
    );

    let reply = t.post_fixture("credit-memo.xml").await;
    assert_eq!(reply.http_status, 200, "{}", reply.text);
    let accepted = t.coupa.accepted_invoices();
    assert_eq!(accepted[0].purpose, "standard");
    assert_eq!(accepted[0].original_invoice_id, None);
    assert_eq!(accepted[1].invoice_id, "SC-1002");
    assert_eq!(accepted[1].purpose, "creditMemo");
    assert_eq!(accepted[1].original_invoice_id.as_deref(), Some("SI-1001"));
}
