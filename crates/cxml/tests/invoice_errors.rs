//! Invoices that would make an invalid or misleading document are rejected
//! with a message naming the field and the value.

mod common;
mod invoice_support;

use common::decimal;
use invoice_support::invoice_fixture;
use pobridge_cxml::{write_invoice, InvoiceDocument, InvoicePurpose, LineTax, Secret};

type Change = fn(&mut InvoiceDocument);

fn rejected(fixture: &str, change: Change) -> String {
    let mut document = invoice_fixture(fixture);
    change(&mut document);
    match write_invoice(&document) {
        Ok(xml) => panic!("written although invalid:\n{xml}"),
        Err(error) => error.to_string(),
    }
}

fn check_all(fixture: &str, cases: &[(&str, Change, &str)]) {
    for (case, change, expected) in cases {
        let message = rejected(fixture, *change);
        assert!(
            message.contains(expected),
            "{case}: {message:?} does not contain {expected:?}"
        );
    }
}

fn credit_memo(document: &mut InvoiceDocument) {
    document.invoice.purpose = InvoicePurpose::CreditMemo {
        original_invoice_id: "SI-1001".into(),
        original_invoice_date: None,
    };
}

fn sales_tax(amount: &str) -> Option<LineTax> {
    Some(LineTax {
        amount: decimal(amount),
        category: "sales".into(),
        rate: Some(decimal("8.25")),
        description: String::new(),
    })
}

#[test]
fn empty_identifiers_are_rejected() {
    check_all(
        "standard.json",
        &[
            (
                "invoice id",
                |d| d.invoice.invoice_id = String::new(),
                "invoice.invoice_id is empty",
            ),
            (
                "blank invoice id",
                |d| d.invoice.invoice_id = " \t".into(),
                "invoice.invoice_id is empty",
            ),
            (
                "PO number",
                |d| d.invoice.order.order_id = String::new(),
                "invoice.order.order_id is empty; expected the Coupa PO number",
            ),
            (
                "payload id",
                |d| d.payload_id = String::new(),
                "payload_id is empty",
            ),
            (
                "user agent",
                |d| d.user_agent = String::new(),
                "user_agent is empty",
            ),
            (
                "to identity",
                |d| d.to.identity = String::new(),
                "to.identity is empty",
            ),
            (
                "shared secret",
                |d| d.sender.shared_secret = Secret::new(""),
                "sender.shared_secret is empty",
            ),
            (
                "remit-to code",
                |d| d.invoice.remit_to.as_mut().unwrap().address_id = String::new(),
                "invoice.remit_to.address_id is empty",
            ),
            (
                "unit of measure",
                |d| d.invoice.lines[0].unit_of_measure = String::new(),
                "line 1 unit_of_measure is empty",
            ),
        ],
    );
}

#[test]
fn malformed_values_are_rejected() {
    check_all(
        "standard.json",
        &[
            (
                "lower-case currency",
                |d| d.invoice.currency = "usd".into(),
                "invoice.currency is \"usd\"; expected an ISO 4217 code",
            ),
            (
                "short currency",
                |d| d.invoice.currency = "US".into(),
                "invoice.currency is \"US\"",
            ),
            (
                "long currency",
                |d| d.invoice.currency = "USDX".into(),
                "invoice.currency is \"USDX\"",
            ),
            (
                "symbol in currency",
                |d| d.invoice.currency = "U$D".into(),
                "invoice.currency is \"U$D\"",
            ),
            (
                "dtd version",
                |d| d.dtd_version = "2.0".into(),
                "dtd_version is \"2.0\"; expected a cXML 1.2 version",
            ),
            (
                "zero quantity",
                |d| d.invoice.lines[1].quantity = decimal("0"),
                "line 2 quantity is 0",
            ),
        ],
    );
}

#[test]
fn line_structure_errors_are_rejected() {
    check_all(
        "standard.json",
        &[
            (
                "no lines",
                |d| d.invoice.lines.clear(),
                "invoice \"SI-1001\" has no lines",
            ),
            (
                "duplicate line number",
                |d| d.invoice.lines[2].invoice_line_number = 1,
                "invoice_line_number 1 is used by more than one line",
            ),
            (
                "line tax without tax at line",
                |d| d.invoice.lines[0].tax = sales_tax("4.95"),
                "line 1 has tax, but tax_at_line is false",
            ),
        ],
    );
}

#[test]
fn sign_errors_are_rejected() {
    check_all(
        "credit-negative-quantity.json",
        &[
            (
                "both negative",
                |d| d.invoice.lines[0].unit_price = decimal("-19.99"),
                "line 1: quantity -2 and unit_price -19.99 are both negative",
            ),
            (
                "credited line adding tax",
                |d| {
                    d.invoice.tax_at_line = true;
                    d.invoice.lines[0].tax = sales_tax("3.30");
                    d.invoice.tax.amount = decimal("3.30");
                },
                "line 1: tax amount 3.30 has the opposite sign of the line subtotal -39.98",
            ),
            (
                "credit memo with negative quantity",
                |d| credit_memo(d),
                "line 1 quantity is -2 in a creditMemo",
            ),
        ],
    );
}

#[test]
fn credit_memo_errors_are_rejected() {
    check_all(
        "credit-memo.json",
        &[
            (
                "negative price",
                |d| d.invoice.lines[0].unit_price = decimal("-19.99"),
                "line 1 unit_price is -19.99 in a creditMemo",
            ),
            (
                "negative shipping",
                |d| d.invoice.shipping_amount = Some(decimal("-5")),
                "invoice.shipping_amount is -5 in a creditMemo",
            ),
            (
                "negative tax",
                |d| d.invoice.tax.amount = decimal("-3.30"),
                "invoice.tax.amount is -3.30 in a creditMemo",
            ),
            (
                "no original invoice",
                |d| {
                    d.invoice.purpose = InvoicePurpose::CreditMemo {
                        original_invoice_id: String::new(),
                        original_invoice_date: None,
                    }
                },
                "invoice.purpose.original_invoice_id is empty",
            ),
        ],
    );
}

#[test]
fn tax_sum_errors_are_rejected() {
    check_all(
        "tax-at-line.json",
        &[
            (
                "summary differs from lines",
                |d| d.invoice.tax.amount = decimal("20"),
                "tax.amount is 20, but the line taxes add up to 26.60",
            ),
            (
                "negative rate",
                |d| d.invoice.lines[0].tax.as_mut().unwrap().rate = Some(decimal("-19")),
                "line 1 tax.rate is -19",
            ),
            (
                "empty category",
                |d| d.invoice.lines[0].tax.as_mut().unwrap().category = String::new(),
                "line 1 tax.category is empty",
            ),
        ],
    );
    check_all(
        "standard.json",
        &[(
            "details differ from summary",
            |d| d.invoice.tax.details[0].tax_amount = decimal("18.00"),
            "tax.amount is 18.17, but tax.details add up to 18.00",
        )],
    );
}
