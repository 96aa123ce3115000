use pobridge_cxml::{InvoiceLineKind, InvoicePurpose};
use pobridge_engine::invoicing::{build_invoice, line_kind, BuyerInvoicing};
use pobridge_store::InvoicedLine;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::support::{assert_mentions, link, order, staging_po, time, Case};

fn widgets_case() -> Case {
    Case::widgets(
        "widgets-invoiced.json",
        vec![link(501, 11, 1), link(501, 12, 2)],
    )
}

#[test]
fn invoice_echoes_po_lines() {
    let built = widgets_case().build_valid();
    let invoice = &built.document.invoice;

    assert_eq!(invoice.invoice_id, "SI-2001");
    assert_eq!(invoice.currency, "USD");
    assert_eq!(invoice.order.order_id, "PO-1001");
    assert_eq!(invoice.purpose, InvoicePurpose::Standard);
    assert_eq!(invoice.lines.len(), 2);
    let first = &invoice.lines[0];
    assert_eq!(first.invoice_line_number, 1);
    assert_eq!(first.po_line_number, 1);
    assert_eq!(first.supplier_part_id, "WID-BLU-10");
    assert_eq!(first.unit_of_measure, "EA");
    assert_eq!(first.unit_price, dec!(12.50));
    assert_eq!(first.quantity, dec!(4));
    assert_eq!(first.description, "Blue widget, 10 pack");
    let second = &invoice.lines[1];
    assert_eq!(second.po_line_number, 2);
    assert_eq!(second.unit_of_measure, "HUR");
    assert_eq!(second.quantity, dec!(1.5));
    assert_eq!(
        built.lines,
        vec![
            InvoicedLine {
                po_line_number: 1,
                quantity: dec!(4)
            },
            InvoicedLine {
                po_line_number: 2,
                quantity: dec!(1.5)
            },
        ]
    );
}

#[test]
fn bundle_components_are_never_invoiced() {
    let built = widgets_case().build_valid();
    let parts: Vec<&str> = built
        .document
        .invoice
        .lines
        .iter()
        .map(|line| line.supplier_part_id.as_str())
        .collect();

    assert_eq!(parts, ["WID-BLU-10", "SVC-INSTALL-HR"]);
}

#[test]
fn credentials_default_to_the_po_swapped() {
    let built = widgets_case().build_valid();
    let document = &built.document;

    assert_eq!(document.from.domain, "DUNS");
    assert_eq!(document.from.identity, "123456789");
    assert_eq!(document.to.domain, "NetworkID");
    assert_eq!(document.to.identity, "BUYER-1");
    assert_eq!(document.sender.identity, "123456789");
    assert_eq!(document.sender.shared_secret.expose(), "invoice-s3cret");
    assert_eq!(document.dtd_version, "1.2.020");
}

#[test]
fn remit_to_comes_from_settings() {
    let built = widgets_case().build_valid();
    let remit_to = built.document.invoice.remit_to.expect("a remit-to");

    assert_eq!(remit_to.address_id, "RT-1");
    assert_eq!(remit_to.name, "Widgets Supply Ltd");
    assert_eq!(remit_to.tax_number.as_deref(), Some("12-3456789"));
}

#[test]
fn invoice_date_is_the_accounts_calendar_date() {
    let mut case = widgets_case();
    // Stored in UTC, the tax date is the evening of the 9th in Chicago.
    case.order.invoices[0].tax_date = Some(time("2026-03-10T00:00:00+00:00"));
    let built = case.build_valid();
    assert_eq!(
        built.document.invoice.invoice_date,
        time("2026-03-09T00:00:00-05:00")
    );

    case.time_zone = chrono_tz::Europe::London;
    let built = case.build_valid();
    assert_eq!(
        built.document.invoice.invoice_date,
        time("2026-03-10T00:00:00+00:00")
    );
}

#[test]
fn price_differences_warn_and_keep_po_price() {
    let mut case = widgets_case();
    case.order.rows[0].net = dec!(48.00);
    let built = case.build_valid();

    assert_eq!(built.document.invoice.lines[0].unit_price, dec!(12.50));
    assert_mentions(
        &built.warnings,
        "row 11 (WID-BLU-10): Brightpearl's net 48.00",
    );
    assert_mentions(&built.warnings, "differs from Brightpearl's total");
}

#[test]
fn totals_compare_brightpearl_with_document() {
    let built = widgets_case().build_valid();

    assert_eq!(built.brightpearl_total, dec!(213.03));
    // 170.00 of lines, 14.03 tax, 15.00 shipping and 12.00 handling. A rule
    // skips the 2.00 packaging row.
    assert_eq!(built.sent_total, dec!(211.03));
    assert_mentions(
        &built.warnings,
        "total 211.03 differs from Brightpearl's total 213.03",
    );
}

#[test]
fn uninvoiced_order_is_rejected() {
    let mut case = widgets_case();
    case.order.invoices[0].invoice_reference = "pending".to_owned();
    let errors = case.build().expect_err("a pending invoice");

    assert_mentions(&errors, "order 501 has no invoice number yet");
}

#[test]
fn currency_other_than_po_is_rejected() {
    let mut case = widgets_case();
    case.order.currency_code = Some("EUR".to_owned());
    let errors = case.build().expect_err("a currency mismatch");

    assert_mentions(&errors, "order 501 is in EUR but PO PO-1001 is in USD");
}

#[test]
fn unknown_sku_names_the_row() {
    let mut case = widgets_case();
    case.links.clear();
    case.order.rows[0].sku = Some("WID-RED-10".to_owned());
    let errors = case.build().expect_err("an unknown SKU");

    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_mentions(&errors, "row 11 (WID-RED-10) matches no line of PO PO-1001");
}

#[test]
fn unmapped_tax_code_names_the_row() {
    let mut case = widgets_case();
    case.settings.tax_map.remove("T");
    case.order.rows[0].tax = dec!(4.1300);
    let errors = case.build().expect_err("an unmapped tax code");

    assert_mentions(
        &errors,
        "row 11 (WID-BLU-10) carries tax 4.13 with tax code \"T\"",
    );
    assert_mentions(&errors, "row 12 (SVC-INSTALL-HR) carries tax 9.90");
}

#[test]
fn corpus_po_rows_map_by_sku() {
    let case = Case {
        order: order("staging-3309-invoiced.json"),
        po: staging_po(),
        links: Vec::new(),
        ..widgets_case()
    };
    let built = case.build_valid();
    let lines = &built.document.invoice.lines;

    assert_eq!(built.document.invoice.order.order_id, "3309");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].po_line_number, 1);
    assert_eq!(lines[0].kind, InvoiceLineKind::Quantity);
    assert_eq!(
        lines[0].supplier_part_auxiliary_id.as_deref(),
        Some("product-requisition:6236")
    );
    assert_eq!(lines[1].po_line_number, 2);
    assert_eq!(lines[1].unit_price, dec!(9.29));
    assert_eq!(built.sent_total, dec!(91.71));
    assert!(built.warnings.is_empty(), "{:#?}", built.warnings);
}

#[test]
fn non_quantity_line_type_is_a_service_item() {
    let mut case = widgets_case();
    let detail = case.po.items[1].detail.as_mut().unwrap();
    detail.extrinsics.push(pobridge_cxml::Extrinsic {
        name: "LineType".to_owned(),
        text: "Amount".to_owned(),
        raw_xml: "Amount".to_owned(),
    });
    assert_eq!(line_kind(&case.po.items[0]), InvoiceLineKind::Quantity);
    assert_eq!(line_kind(&case.po.items[1]), InvoiceLineKind::Service);

    let built = case.build_valid();
    assert_eq!(
        built.document.invoice.lines[1].kind,
        InvoiceLineKind::Service
    );
}

#[test]
fn empty_settings_still_build_with_swapped_credentials() {
    let mut case = widgets_case();
    case.settings = BuyerInvoicing::from_json(&serde_json::json!({})).unwrap();
    case.settings.tax_map = crate::support::settings().tax_map;
    let built = build_invoice(&case.input()).expect("an invoice");

    assert_eq!(built.document.sender.shared_secret.expose(), "");
    assert_eq!(built.document.invoice.remit_to, None);
    assert_eq!(built.document.invoice.shipping_amount, None);
}

#[test]
fn settings_debug_hides_the_secret() {
    let debug_text = format!("{:?}", crate::support::settings());

    assert!(!debug_text.contains("invoice-s3cret"), "{debug_text}");
    assert!(
        debug_text.contains("shared_secret: Some(\"********\")"),
        "{debug_text}"
    );
}

#[test]
fn quantity_factor_converts_rows_to_po_units() {
    // Line 1 is mapped at 10 Brightpearl units per PO unit, so the sales
    // order row carries 40 for the 4 ordered.
    let mut case = widgets_case();
    case.quantity_factors.insert(1, dec!(10));
    case.order.rows[0].quantity = dec!(40);
    let built = case.build_valid();

    let first = &built.document.invoice.lines[0];
    assert_eq!(first.quantity, dec!(4));
    assert_eq!(first.unit_price, dec!(12.50));
    assert_eq!(built.lines[0].quantity, dec!(4));
    assert_eq!(built.lines[0].po_line_number, 1);
}

/// A factor stored before factors were bounded, so small that the row's
/// quantity in PO units does not fit a decimal.
#[test]
fn quantity_factor_too_small_is_an_error() {
    let mut case = widgets_case();
    case.quantity_factors
        .insert(1, Decimal::from_i128_with_scale(1, 28));
    case.order.rows[0].quantity = dec!(40);
    let errors = case.build().unwrap_err();

    assert_mentions(
        &errors,
        "row 11 (WID-BLU-10) has quantity 40 in Brightpearl units, which at 0.0000000000000000000000000001 per EA of PO line 1 is too large to compute",
    );
}

#[test]
fn quantity_factor_refuses_part_of_a_po_unit() {
    let mut case = widgets_case();
    case.quantity_factors.insert(1, dec!(3));
    case.order.rows[0].quantity = dec!(4);
    let errors = case.build().unwrap_err();

    assert_mentions(
        &errors,
        "row 11 (WID-BLU-10) has quantity 4 in Brightpearl units, which is 1.333333 EA of PO line 1",
    );
}
