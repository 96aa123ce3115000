use pobridge_cxml::InvoicePurpose;
use pobridge_engine::invoicing::CreditForm;
use pobridge_store::{InvoiceKind, InvoicedLine};
use rust_decimal_macros::dec;

use crate::support::{assert_mentions, link, time, Case};

/// Credit 701 returns one pack from invoice SI-2001; its row was cloned
/// from row 11, which is linked to PO line 1.
fn credit_case() -> Case {
    let mut case = Case::widgets(
        "widgets-credit.json",
        vec![link(501, 11, 1), link(501, 12, 2)],
    );
    case.kind = InvoiceKind::Credit;
    case
}

#[test]
fn negative_quantity_credit_keeps_prices_positive() {
    let built = credit_case().build_valid();
    let invoice = &built.document.invoice;

    assert_eq!(invoice.purpose, InvoicePurpose::Standard);
    assert_eq!(invoice.invoice_id, "SC-4001");
    let line = &invoice.lines[0];
    assert_eq!(line.po_line_number, 1);
    assert_eq!(line.quantity, dec!(-1));
    assert_eq!(line.unit_price, dec!(12.50));
    assert_eq!(invoice.tax.amount, dec!(-1.03));
    assert_eq!(built.sent_total, dec!(-13.53));
    assert_eq!(
        built.lines,
        vec![InvoicedLine {
            po_line_number: 1,
            quantity: dec!(1)
        }]
    );
    assert!(built.warnings.is_empty(), "{:#?}", built.warnings);
}

#[test]
fn credit_memo_references_the_original_invoice() {
    let mut case = credit_case();
    case.settings.credit_form = CreditForm::CreditMemo;
    case.original_invoice = Some(("SI-2001".to_owned(), time("2026-03-10T00:00:00-05:00")));
    let built = case.build_valid();
    let invoice = &built.document.invoice;

    assert_eq!(
        invoice.purpose,
        InvoicePurpose::CreditMemo {
            original_invoice_id: "SI-2001".to_owned(),
            original_invoice_date: Some(time("2026-03-10T00:00:00-05:00")),
        }
    );
    assert_eq!(invoice.lines[0].quantity, dec!(1));
    assert_eq!(invoice.tax.amount, dec!(1.03));
    assert_eq!(built.sent_total, dec!(13.53));
}

#[test]
fn credit_memo_without_original_invoice_is_rejected() {
    let mut case = credit_case();
    case.settings.credit_form = CreditForm::CreditMemo;
    let errors = case.build().expect_err("no original invoice");

    assert_mentions(&errors, "credit 701 must name the invoice it credits");
}
