use pobridge_engine::invoicing::TaxLevel;
use rust_decimal_macros::dec;

use crate::support::{assert_mentions, link, Case};

fn widgets_case() -> Case {
    Case::widgets(
        "widgets-invoiced.json",
        vec![link(501, 11, 1), link(501, 12, 2)],
    )
}

#[test]
fn allowed_header_charges_go_to_the_summary() {
    let built = widgets_case().build_valid();
    let invoice = &built.document.invoice;

    assert_eq!(invoice.shipping_amount, Some(dec!(15.00)));
    assert_eq!(invoice.special_handling_amount, Some(dec!(12.00)));
    assert_eq!(invoice.lines.len(), 2);
}

#[test]
fn refused_header_charges_are_left_out() {
    let mut case = widgets_case();
    case.settings.header_charges_allowed = false;
    // Brightpearl writes amounts with four decimals; warnings give cents.
    let shipping = case.order.rows.iter_mut().find(|row| row.id == 13).unwrap();
    shipping.net = dec!(15.0000);
    let built = case.build_valid();
    let invoice = &built.document.invoice;

    assert_eq!(invoice.shipping_amount, None);
    assert_eq!(invoice.special_handling_amount, None);
    assert_eq!(built.sent_total, dec!(184.03));
    assert_mentions(
        &built.warnings,
        "row 13 (SHIP-GROUND) is a shipping charge of 15.00",
    );
    assert_mentions(
        &built.warnings,
        "row 16 (Handling) is a special handling charge",
    );
}

#[test]
fn skip_rule_row_is_named_only_where_the_total_differs() {
    let built = widgets_case().build_valid();
    let parts: Vec<&str> = built
        .document
        .invoice
        .lines
        .iter()
        .map(|line| line.supplier_part_id.as_str())
        .collect();

    assert!(!parts.contains(&"PACKAGING"), "{parts:?}");
    // The skip rule is meant, so row 14 gets no warning of its own, but
    // the warning that the totals differ names it and its rule.
    let naming: Vec<&String> = built
        .warnings
        .iter()
        .filter(|warning| warning.contains("row 14"))
        .collect();
    assert_eq!(naming.len(), 1, "{:#?}", built.warnings);
    assert!(
        naming[0].starts_with("the invoice's total"),
        "{}",
        naming[0]
    );
    assert!(
        naming[0].contains(
            "skip rules leave off row 14 (PACKAGING) with 2.00 (rule \"product 901 -> skip\")"
        ),
        "{}",
        naming[0]
    );
}

#[test]
fn skip_rule_row_names_its_tax_in_cents() {
    let mut case = widgets_case();
    let packaging = case.order.rows.iter_mut().find(|row| row.id == 14).unwrap();
    packaging.net = dec!(2.0000);
    packaging.tax = dec!(0.1650);
    let built = case.build_valid();

    assert_mentions(
        &built.warnings,
        "row 14 (PACKAGING) with 2.00 and its tax 0.17 (rule",
    );
}

#[test]
fn unruled_free_text_row_with_money_warns() {
    let mut case = widgets_case();
    case.rules.pop();
    let handling = case.order.rows.iter_mut().find(|row| row.id == 16).unwrap();
    handling.net = dec!(12.0000);
    let built = case.build_valid();

    assert_eq!(built.document.invoice.special_handling_amount, None);
    assert_mentions(
        &built.warnings,
        "row 16 (Handling) has no product and no row rule, so its 12.00 is left off",
    );
    assert!(
        !built
            .warnings
            .iter()
            .any(|warning| warning.contains("row 15")),
        "a free-text row without money needs no warning: {:#?}",
        built.warnings
    );
}

#[test]
fn summary_tax_groups_details() {
    let built = widgets_case().build_valid();
    let invoice = &built.document.invoice;

    assert!(!invoice.tax_at_line);
    assert!(invoice.lines.iter().all(|line| line.tax.is_none()));
    assert_eq!(invoice.tax.amount, dec!(14.03));
    let details: Vec<(&str, String, &str)> = invoice
        .tax
        .details
        .iter()
        .map(|detail| {
            (
                detail.category.as_str(),
                detail.rate.unwrap().to_string(),
                detail.purpose.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        details,
        [
            ("sales", "0".to_owned(), "shippingTax"),
            ("sales", "0".to_owned(), "specialHandlingTax"),
            ("sales", "8.25".to_owned(), "tax"),
        ]
    );
    let goods = &invoice.tax.details[2];
    assert_eq!(goods.taxable_amount, Some(dec!(170.00)));
    assert_eq!(goods.tax_amount, dec!(14.03));
}

#[test]
fn line_tax_puts_brightpearl_tax_on_each_line() {
    let mut case = widgets_case();
    case.settings.tax_level = TaxLevel::Line;
    let built = case.build_valid();
    let invoice = &built.document.invoice;

    assert!(invoice.tax_at_line);
    let first = invoice.lines[0].tax.as_ref().expect("line 1 tax");
    assert_eq!(first.amount, dec!(4.13));
    assert_eq!(first.category, "sales");
    assert_eq!(first.rate, Some(dec!(8.25)));
    let second = invoice.lines[1].tax.as_ref().expect("line 2 tax");
    assert_eq!(second.amount, dec!(9.90));
    assert_eq!(invoice.tax.amount, dec!(14.03));
    assert!(invoice.tax.details.is_empty());
}

#[test]
fn line_tax_rejects_a_taxed_charge() {
    let mut case = widgets_case();
    case.settings.tax_level = TaxLevel::Line;
    case.order.rows[3].tax = dec!(1.2400);
    case.order.rows[3].tax_code = Some("T".to_owned());
    let errors = case.build().expect_err("a taxed charge at line level");

    assert_mentions(&errors, "row 13 is a charge with tax 1.24");
    assert_mentions(&errors, "set the buyer's tax-level to summary");
}

#[test]
fn differing_tax_rate_warns() {
    let mut case = widgets_case();
    case.order.rows[0].tax_rate = Some(dec!(8.0000));
    let built = case.build_valid();

    assert_mentions(
        &built.warnings,
        "row 11 (WID-BLU-10) is taxed at 8 % in Brightpearl",
    );
}
