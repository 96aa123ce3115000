//! Cases that the round-trip property tests found, kept as plain tests.

mod common;
mod invoice_support;

use invoice_support::{assert_valid_invoice, invoice_fixture, texts};
use pobridge_cxml::write_invoice;
use rust_decimal::Decimal;

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
