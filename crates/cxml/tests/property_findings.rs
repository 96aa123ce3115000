//! Cases that the round-trip property tests found, kept as plain tests.

mod common;
mod invoice_support;

use common::time;
use invoice_support::{assert_valid_invoice, invoice_fixture, texts, xmllint_xpath};
use pobridge_cxml::{fill_shared_secret, write_invoice, write_response};
use rust_decimal::Decimal;

#[test]
fn attribute_whitespace_survives_xml_parsing() {
    let status_text = "tab\there\nline\r\nend\r";
    let xml = write_response(
        "p",
        time("2024-01-02T03:04:05+05:45"),
        400,
        status_text,
        None,
    );

    assert!(
        xml.contains("text=\"tab&#9;here&#10;line&#13;&#10;end&#13;\""),
        "{xml}"
    );
    assert_eq!(
        xmllint_xpath(&xml, "/cXML/Response/Status/@text"),
        status_text
    );
}

#[test]
fn carriage_return_in_text_survives_xml_parsing() {
    let detail = "line one\r\nline two\rend\t";
    let xml = write_response(
        "p",
        time("2024-01-02T03:04:05Z"),
        500,
        "Error",
        Some(detail),
    );

    assert!(
        xml.contains(">line one&#13;\nline two&#13;end\t</Status>"),
        "{xml}"
    );
    assert_eq!(xmllint_xpath(&xml, "/cXML/Response/Status"), detail);
}

#[test]
fn invoice_ids_and_texts_keep_their_whitespace() {
    let mut document = invoice_fixture("standard.json");
    document.invoice.invoice_id = "SI\t1001\r\n".into();
    document.invoice.lines[0].supplier_part_id = "SKU\r100".into();
    document.invoice.lines[0].description = "Widget\r\nPro".into();

    let xml = write_invoice(&document).unwrap();

    assert_valid_invoice(&xml);
    let header = "/cXML/Request/InvoiceDetailRequest/InvoiceDetailRequestHeader";
    assert_eq!(
        xmllint_xpath(&xml, &format!("{header}/@invoiceID")),
        "SI\t1001\r\n"
    );
    let reference =
        "/cXML/Request/InvoiceDetailRequest/InvoiceDetailOrder/InvoiceDetailItem[1]/InvoiceDetailItemReference";
    assert_eq!(
        xmllint_xpath(&xml, &format!("{reference}/ItemID/SupplierPartID")),
        "SKU\r100"
    );
    assert_eq!(
        xmllint_xpath(&xml, &format!("{reference}/Description")),
        "Widget\r\nPro"
    );
}

#[test]
fn filled_secret_keeps_its_carriage_return() {
    let document = invoice_fixture("standard.json");
    let xml = write_invoice(&document).unwrap();

    let filled = fill_shared_secret(&xml, "s3\r\ncret");

    assert_eq!(
        xmllint_xpath(&filled, "/cXML/Header/Sender/Credential/SharedSecret"),
        "s3\r\ncret"
    );
}

#[test]
fn negative_zero_price_is_not_negative() {
    let mut document = invoice_fixture("standard.json");
    let line = &mut document.invoice.lines[0];
    line.quantity = -line.quantity;
    let mut negative_zero = Decimal::new(0, 2);
    negative_zero.set_sign_negative(true);
    line.unit_price = negative_zero;

    let xml = write_invoice(&document)
        .unwrap_or_else(|error| panic!("a credit line at price 0 is rejected: {error}"));

    assert_valid_invoice(&xml);
    let prices = texts(&xml, "InvoiceDetailItem/UnitPrice/Money");
    assert_eq!(prices[0], "0.00");
    let subtotals = texts(&xml, "InvoiceDetailItem/SubtotalAmount/Money");
    assert_eq!(subtotals[0], "0.00");
}
