use pobridge_engine::invoicing::{check, missing_for_coupa, BuyerInvoicing};
use pobridge_store::InvoiceKind;
use rust_decimal_macros::dec;

use crate::support::{assert_mentions, link, Case};

fn shipped_links() -> Vec<pobridge_store::RowLink> {
    vec![link(601, 21, 1), link(601, 22, 2)]
}

#[test]
fn back_order_is_invoiced_after_the_rest() {
    let first = Case::widgets("widgets-part-shipped.json", shipped_links());
    let first_built = first.build_valid();
    assert_eq!(check(&first_built, &first.po, &[], false, &[]), Ok(()));

    let back_order = Case::widgets("widgets-back-order.json", shipped_links());
    let built = back_order.build_valid();
    let line = &built.document.invoice.lines[0];
    assert_eq!(line.po_line_number, 1);
    assert_eq!(line.quantity, dec!(1));
    assert_eq!(built.document.invoice.invoice_id, "SI-3002");

    let before = [(1, dec!(3), dec!(0)), (2, dec!(1.5), dec!(0))];
    assert_eq!(check(&built, &back_order.po, &before, false, &[]), Ok(()));
}

#[test]
fn over_invoicing_is_rejected() {
    let case = Case::widgets("widgets-back-order.json", shipped_links());
    let built = case.build_valid();
    let before = [(1, dec!(4), dec!(0)), (2, dec!(1.5), dec!(0))];
    let errors = check(&built, &case.po, &before, false, &[]).expect_err("over-invoiced");

    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_mentions(&errors, "PO line 1 would be invoiced 5 of the 4 ordered");
}

#[test]
fn credit_up_to_the_invoiced_quantity_passes() {
    let mut case = Case::widgets("widgets-credit.json", vec![link(501, 11, 1)]);
    case.kind = InvoiceKind::Credit;
    let built = case.build_valid();

    assert_eq!(
        check(&built, &case.po, &[(1, dec!(4), dec!(0))], false, &[]),
        Ok(())
    );
    assert_eq!(
        check(&built, &case.po, &[(1, dec!(1), dec!(3))], false, &[]),
        Ok(())
    );
}

#[test]
fn over_crediting_is_rejected() {
    let mut case = Case::widgets("widgets-credit.json", vec![link(501, 11, 1)]);
    case.kind = InvoiceKind::Credit;
    let built = case.build_valid();
    let errors =
        check(&built, &case.po, &[(1, dec!(0), dec!(4))], false, &[]).expect_err("over-credited");

    assert_mentions(
        &errors,
        "PO line 1 would be credited 1 more, but only 0 is invoiced",
    );
}

#[test]
fn unknown_po_line_is_rejected() {
    let case = Case::widgets("widgets-part-shipped.json", shipped_links());
    let mut built = case.build_valid();
    built.document.invoice.lines[0].po_line_number = 9;
    built.lines[0].po_line_number = 9;
    let errors = check(&built, &case.po, &[], false, &[]).expect_err("unknown line");

    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_mentions(
        &errors,
        "invoice line 1 bills PO line 9, which PO PO-1001 does not have",
    );
}

#[test]
fn part_id_and_unit_must_match_the_po() {
    let case = Case::widgets("widgets-part-shipped.json", shipped_links());
    let mut built = case.build_valid();
    built.document.invoice.lines[0].unit_of_measure = "BX".to_owned();
    built.document.invoice.lines[1].supplier_part_id = "SVC-INSTALL".to_owned();
    let errors = check(&built, &case.po, &[], false, &[]).expect_err("mismatches");

    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_mentions(
        &errors,
        "invoice line 1 sends UnitOfMeasure \"BX\", but PO line 1 has \"EA\"",
    );
    assert_mentions(
        &errors,
        "invoice line 2 sends SupplierPartID \"SVC-INSTALL\"",
    );
}

#[test]
fn reused_invoice_number_is_rejected() {
    let case = Case::widgets("widgets-part-shipped.json", shipped_links());
    let built = case.build_valid();
    let errors = check(&built, &case.po, &[], true, &[]).expect_err("a reused number");

    assert_mentions(
        &errors,
        "invoice number SI-3001 was already sent to this buyer",
    );
}

#[test]
fn missing_settings_are_rejected() {
    let missing = missing_for_coupa(&BuyerInvoicing::default(), "acme", "globex");
    assert_eq!(missing.len(), 3, "{missing:#?}");
    assert_mentions(&missing, "invoice-url is missing");
    assert_mentions(&missing, "invoice-secret is missing");
    assert_mentions(&missing, "tax-map is empty");
    assert_mentions(&missing, "`pobridge buyer set acme globex invoice-url URL`");

    let case = Case::widgets("widgets-part-shipped.json", shipped_links());
    let built = case.build_valid();
    let errors = check(&built, &case.po, &[], false, &missing).expect_err("missing settings");
    assert_eq!(errors, missing);
}

#[test]
fn missing_setting_commands_quote_the_buyer() {
    let missing = missing_for_coupa(&BuyerInvoicing::default(), "acme", "Globex Europe's");

    assert_mentions(
        &missing,
        r#"`pobridge buyer set acme "Globex Europe's" tax-map CODE=CATEGORY:RATE`"#,
    );
}

#[test]
fn configured_buyer_misses_nothing() {
    assert_eq!(
        missing_for_coupa(&crate::support::settings(), "acme", "globex"),
        Vec::<String>::new()
    );
}
