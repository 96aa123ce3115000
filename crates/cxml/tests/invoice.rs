//! Written invoices: valid against InvoiceDetail.dtd 1.2.020 and the newest
//! InvoiceDetail.dtd in the corpus (checked with xmllint), adding up, and
//! carrying what Coupa reads where Coupa reads it.

mod common;
mod invoice_support;

use common::decimal;
use invoice_support::*;
use pobridge_cxml::{
    write_invoice, InvoiceDocument, InvoiceError, InvoiceLineKind, InvoicePurpose, LineTax,
};

fn written(document: &InvoiceDocument) -> String {
    write_invoice(document).unwrap_or_else(|error| panic!("not written: {error}"))
}

#[test]
fn standard_invoice_snapshot() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_valid_invoice(&xml);
    insta::assert_snapshot!(xml);
}

#[test]
fn standard_invoice_amounts_add_up() {
    let xml = written(&invoice_fixture("standard.json"));

    assert_eq!(
        texts(&xml, "SubtotalAmount/Money"),
        ["59.97", "10.31", "150.00", "220.28"]
    );
    let summary = |path: &str| text(&xml, &format!("InvoiceDetailSummary/{path}/Money"));
    assert_eq!(summary("SubtotalAmount"), "220.28");
    assert_eq!(summary("Tax"), "18.17");
    assert_eq!(summary("SpecialHandlingAmount"), "5.00");
    assert_eq!(summary("ShippingAmount"), "12.50");
    assert_eq!(summary("NetAmount"), "255.95");
    assert_eq!(summary("DueAmount"), "255.95");
    let currencies = attributes(&xml, "Money", "currency");
    assert!(currencies.len() > 10, "{currencies:?}");
    assert!(currencies.iter().all(|currency| currency == "USD"));
}

#[test]
fn summary_follows_dtd_order() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(
        children(&xml, "InvoiceDetailSummary"),
        [
            "SubtotalAmount",
            "Tax",
            "SpecialHandlingAmount",
            "ShippingAmount",
            "NetAmount",
            "DueAmount"
        ]
    );
    assert_eq!(
        texts(
            &xml,
            "InvoiceDetailSummary/Tax/TaxDetail/TaxableAmount/Money"
        ),
        ["220.28"]
    );
}

#[test]
fn request_header_follows_dtd_order() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(
        children(&xml, "InvoiceDetailRequestHeader"),
        [
            "InvoiceDetailHeaderIndicator",
            "InvoiceDetailLineIndicator",
            "InvoicePartner",
            "PaymentTerm",
            "Comments"
        ]
    );
    assert_eq!(attributes(&xml, "PaymentTerm", "payInNumberOfDays"), ["30"]);
    assert_eq!(
        attributes(&xml, "InvoiceDetailLineIndicator", "isTaxInLine"),
        Vec::<String>::new()
    );
}

#[test]
fn quantity_line_is_detail_item() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(
        children(&xml, "InvoiceDetailItem"),
        [
            "UnitOfMeasure",
            "UnitPrice",
            "InvoiceDetailItemReference",
            "SubtotalAmount"
        ]
    );
    assert_eq!(
        attributes(&xml, "InvoiceDetailItem", "quantity"),
        ["3", "2.5"]
    );
    assert_eq!(texts(&xml, "UnitPrice/Money"), ["19.99", "4.125", "150.00"]);
    assert_eq!(texts(&xml, "SupplierPartID"), ["SKU-100", "SKU-200"]);
    assert_eq!(texts(&xml, "SupplierPartAuxiliaryID"), ["1005379527029\\1"]);
}

#[test]
fn service_line_is_detail_service_item() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(
        children(&xml, "InvoiceDetailServiceItem"),
        [
            "InvoiceDetailServiceItemReference",
            "SubtotalAmount",
            "UnitOfMeasure",
            "UnitPrice"
        ]
    );
    assert_eq!(
        attributes(&xml, "InvoiceDetailServiceItemReference", "lineNumber"),
        ["4"]
    );
    // An empty supplier part id writes no ItemID.
    assert_eq!(
        children(&xml, "InvoiceDetailServiceItemReference"),
        ["Description"]
    );
}

#[test]
fn po_number_is_echoed_exactly() {
    let mut document = invoice_fixture("standard.json");
    document.invoice.order.order_id = "PO 3309/A&B <1>".into();
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert_eq!(
        attributes(&xml, "OrderReference", "orderID"),
        ["PO 3309/A&B <1>"]
    );
    assert_eq!(
        attributes(&xml, "DocumentReference", "payloadID"),
        ["PO 3309/A&B <1>"]
    );
    assert_eq!(
        attributes(&xml, "OrderReference", "orderDate"),
        ["2023-12-20T14:05:00-08:00"]
    );
}

#[test]
fn remit_to_carries_address_id_and_tax_number() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(attributes(&xml, "Contact", "role"), ["remitTo"]);
    assert_eq!(attributes(&xml, "Contact", "addressID"), ["RT-42"]);
    assert_eq!(text(&xml, "Contact/Name"), "Acme Supplies Ltd");
    assert_eq!(
        attributes(&xml, "IdReference", "domain"),
        ["taxPrefix", "taxNumber"]
    );
    assert_eq!(
        attributes(&xml, "IdReference", "identifier"),
        ["GB", "GB123456789"]
    );
}

#[test]
fn tax_at_line_is_written_per_line() {
    let xml = written(&invoice_fixture("tax-at-line.json"));
    assert_valid_invoice(&xml);

    assert_eq!(
        attributes(&xml, "InvoiceDetailLineIndicator", "isTaxInLine"),
        ["yes"]
    );
    assert_eq!(
        children(&xml, "InvoiceDetailItem"),
        [
            "UnitOfMeasure",
            "UnitPrice",
            "InvoiceDetailItemReference",
            "SubtotalAmount",
            "Tax"
        ]
    );
    assert_eq!(
        texts(&xml, "InvoiceDetailItem/Tax/Money"),
        ["19.00"],
        "the third line carries no tax"
    );
    assert_eq!(texts(&xml, "InvoiceDetailServiceItem/Tax/Money"), ["7.60"]);
    assert_eq!(
        texts(&xml, "TaxDetail/TaxableAmount/Money"),
        ["200.00", "40.00"]
    );
    assert_eq!(
        attributes(&xml, "TaxDetail", "percentageRate"),
        ["19", "19"]
    );
    assert_eq!(attributes(&xml, "TaxDetail", "category"), ["VAT", "VAT"]);
    // An empty line tax description falls back to the category.
    assert_eq!(
        texts(&xml, "InvoiceDetailServiceItem/Tax/Description"),
        ["VAT"]
    );
    assert_eq!(text(&xml, "InvoiceDetailSummary/Tax/Money"), "26.60");
    assert_eq!(text(&xml, "InvoiceDetailSummary/NetAmount/Money"), "276.60");
}

#[test]
fn zero_tax_keeps_description() {
    let mut document = invoice_fixture("minimal.json");
    let xml = written(&document);
    assert_eq!(text(&xml, "InvoiceDetailSummary/Tax/Money"), "0.00");
    assert_eq!(text(&xml, "InvoiceDetailSummary/Tax/Description"), "none");

    document.invoice.tax.description = String::new();
    let xml = written(&document);
    assert_valid_invoice(&xml);
    assert_eq!(text(&xml, "InvoiceDetailSummary/Tax/Description"), "No tax");
}

#[test]
fn negative_quantity_credit_snapshot() {
    let xml = written(&invoice_fixture("credit-negative-quantity.json"));
    assert_valid_invoice(&xml);

    assert_eq!(
        attributes(&xml, "InvoiceDetailRequestHeader", "purpose"),
        ["standard"]
    );
    assert_eq!(attributes(&xml, "InvoiceDetailItem", "quantity"), ["-2"]);
    assert_eq!(texts(&xml, "UnitPrice/Money"), ["19.99"]);
    assert_eq!(
        text(&xml, "InvoiceDetailItem/SubtotalAmount/Money"),
        "-39.98"
    );
    assert_eq!(text(&xml, "InvoiceDetailSummary/DueAmount/Money"), "-43.28");
    insta::assert_snapshot!(xml);
}

#[test]
fn credit_memo_snapshot() {
    let xml = written(&invoice_fixture("credit-memo.json"));
    assert_valid_invoice(&xml);

    assert_eq!(
        attributes(&xml, "InvoiceDetailRequestHeader", "purpose"),
        ["creditMemo"]
    );
    assert_eq!(
        children(&xml, "InvoiceDetailRequestHeader"),
        [
            "InvoiceDetailHeaderIndicator",
            "InvoiceDetailLineIndicator",
            "InvoicePartner",
            "DocumentReference",
            "PaymentTerm",
            "Extrinsic"
        ]
    );
    // The header DocumentReference names the credited invoice; the order's
    // names the PO.
    assert_eq!(
        attributes(&xml, "DocumentReference", "payloadID"),
        ["SI-1001", "3309"]
    );
    assert_eq!(
        text(&xml, "Extrinsic/IdReference/Description"),
        "2024-01-02T09:30:00+01:00"
    );
    assert_eq!(attributes(&xml, "InvoiceDetailItem", "quantity"), ["2"]);
    assert_eq!(text(&xml, "InvoiceDetailSummary/DueAmount/Money"), "43.28");
    insta::assert_snapshot!(xml);
}

#[test]
fn credit_memo_without_original_date_has_no_extrinsic() {
    let mut document = invoice_fixture("credit-memo.json");
    document.invoice.purpose = InvoicePurpose::CreditMemo {
        original_invoice_id: "SI-1001".into(),
        original_invoice_date: None,
    };
    let xml = written(&document);
    assert_valid_invoice(&xml);
    assert!(texts(&xml, "Extrinsic").is_empty(), "{xml}");
}

#[test]
fn trademark_symbols_become_letters() {
    let mut document = invoice_fixture("standard.json");
    document.invoice.lines[0].description = "Widget\u{2122} Pro\u{ae} \u{a9}2024".into();
    document.invoice.lines[0].supplier_part_id = "SKU\u{2122}".into();
    document.invoice.comments = Some("Thanks\u{ae}".into());
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert_eq!(
        texts(&xml, "InvoiceDetailItemReference/Description")[0],
        "Widget(TM) Pro(R) (C)2024"
    );
    assert_eq!(text(&xml, "Comments"), "Thanks(R)");
    // Ids are echoed exactly, symbols included.
    assert_eq!(texts(&xml, "SupplierPartID")[0], "SKU\u{2122}");
}

#[test]
fn markup_characters_are_escaped() {
    let mut document = invoice_fixture("standard.json");
    document.invoice.lines[1].description = "Bolts & nuts <M6> \"zinc\"".into();
    document.invoice.lines[1].supplier_part_id = "A&B<1>".into();
    document.invoice.comments = Some("R&D <team> ]]>".into());
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert!(xml.contains("Bolts &amp; nuts &lt;M6&gt;"), "{xml}");
    assert_eq!(
        texts(&xml, "InvoiceDetailItemReference/Description")[1],
        "Bolts & nuts <M6> \"zinc\""
    );
    assert_eq!(texts(&xml, "SupplierPartID")[1], "A&B<1>");
    assert_eq!(text(&xml, "Comments"), "R&D <team> ]]>");
}

#[test]
fn text_is_utf8_without_bom() {
    let mut document = invoice_fixture("standard.json");
    document.invoice.lines[0].description = "Caf\u{e9} \u{2013} Gr\u{f6}\u{df}e \u{6f22}".into();
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert!(
        xml.as_bytes()
            .windows(3)
            .any(|bytes| bytes == "\u{2013}".as_bytes()),
        "the en dash is written as UTF-8 bytes, not a reference"
    );
    assert_eq!(
        texts(&xml, "InvoiceDetailItemReference/Description")[0],
        "Caf\u{e9} \u{2013} Gr\u{f6}\u{df}e \u{6f22}"
    );
}

#[test]
fn doctype_is_on_line_two() {
    let mut document = invoice_fixture("minimal.json");
    let xml = written(&document);
    assert_eq!(
        xml.lines().nth(1),
        Some(
            "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.020/InvoiceDetail.dtd\">"
        )
    );
    assert_eq!(attributes(&xml, "cXML", "version"), ["1.2.020"]);

    document.dtd_version = "1.2.069".into();
    let xml = written(&document);
    assert_eq!(
        xml.lines().nth(1),
        Some(
            "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.069/InvoiceDetail.dtd\">"
        )
    );
    assert_valid_invoice(&xml);
}

#[test]
fn timestamps_keep_offset() {
    let xml = written(&invoice_fixture("standard.json"));
    assert_eq!(
        attributes(&xml, "cXML", "timestamp"),
        ["2024-01-02T10:00:00+01:00"]
    );
    assert_eq!(
        attributes(&xml, "InvoiceDetailRequestHeader", "invoiceDate"),
        ["2024-01-02T09:30:00+01:00"]
    );
}

#[test]
fn header_credentials_and_deployment_mode() {
    let mut document = invoice_fixture("minimal.json");
    let xml = written(&document);
    assert_eq!(text(&xml, "From/Credential/Identity"), "123456789");
    assert_eq!(text(&xml, "To/Credential/Identity"), "ACME-COUPA");
    assert_eq!(
        text(&xml, "Sender/Credential/SharedSecret"),
        "invoice-s3cret"
    );
    assert_eq!(text(&xml, "Sender/UserAgent"), "pobridge 0.1.0");
    assert_eq!(
        attributes(&xml, "Request", "deploymentMode"),
        ["production"]
    );

    document.deployment_test = true;
    let xml = written(&document);
    assert_valid_invoice(&xml);
    assert_eq!(attributes(&xml, "Request", "deploymentMode"), ["test"]);
}

#[test]
fn line_subtotal_rounds_half_away_from_zero() {
    let mut document = invoice_fixture("minimal.json");
    document.invoice.lines[0].quantity = decimal("3");
    document.invoice.lines[0].unit_price = decimal("0.335");
    let xml = written(&document);
    assert_eq!(text(&xml, "InvoiceDetailItem/SubtotalAmount/Money"), "1.01");
    assert_eq!(texts(&xml, "UnitPrice/Money"), ["0.335"]);

    document.invoice.lines[0].quantity = decimal("-3");
    let xml = written(&document);
    assert_eq!(
        text(&xml, "InvoiceDetailItem/SubtotalAmount/Money"),
        "-1.01"
    );
    assert_eq!(text(&xml, "InvoiceDetailSummary/NetAmount/Money"), "-1.01");
}

#[test]
fn attachment_urls_go_into_comments() {
    let mut document = invoice_fixture("minimal.json");
    document.invoice.comments = Some("See attached.".into());
    document.invoice.attachment_urls =
        vec!["cid:inv.pdf".into(), "https://a.example/x?a=1&b=2".into()];
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert!(
        xml.contains(
            "<Comments xml:lang=\"en\">See attached.<Attachment><URL>cid:inv.pdf</URL></Attachment>\
             <Attachment><URL>https://a.example/x?a=1&amp;b=2</URL></Attachment></Comments>"
        ),
        "{xml}"
    );
}

#[test]
fn service_line_without_unit_omits_unit_and_price() {
    let mut document = invoice_fixture("minimal.json");
    document.invoice.lines[0].kind = InvoiceLineKind::Service;
    document.invoice.lines[0].unit_of_measure = String::new();
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert_eq!(
        children(&xml, "InvoiceDetailServiceItem"),
        ["InvoiceDetailServiceItemReference", "SubtotalAmount"]
    );
}

#[test]
fn minimal_invoice_is_valid_against_every_dtd() {
    // The smallest invoice that must validate: one line, no tax, no
    // optional header parts.
    let xml = written(&invoice_fixture("minimal.json"));
    let dtds = all_invoice_dtds();
    assert!(dtds.len() >= 3, "{dtds:?}");
    for dtd in dtds {
        if let Err(errors) = xmllint_text(&xml, &dtd) {
            panic!("invalid against {}:\n{errors}\n{xml}", dtd.display());
        }
    }
    assert_eq!(text(&xml, "InvoiceDetailSummary/NetAmount/Money"), "5.00");
}

#[test]
fn handwritten_minimal_invoice_is_valid() {
    let document = invoice_fixture_path("reproducer-minimal-invoice.xml");
    for dtd in all_invoice_dtds() {
        assert_eq!(xmllint(&document, &dtd), Ok(()), "{}", dtd.display());
    }
}

#[test]
fn summary_out_of_order_fails_validation() {
    let document = invoice_fixture_path("reproducer-summary-shipping-before-tax.xml");
    for dtd in invoice_dtds() {
        let errors = xmllint(&document, &dtd).expect_err("shipping before tax is invalid");
        assert!(errors.contains("InvoiceDetailSummary"), "{errors}");
    }
}

#[test]
fn unit_price_before_unit_fails_validation() {
    let document = invoice_fixture_path("reproducer-unit-price-before-unit-of-measure.xml");
    for dtd in invoice_dtds() {
        let errors = xmllint(&document, &dtd).expect_err("UnitPrice first is invalid");
        assert!(errors.contains("InvoiceDetailItem"), "{errors}");
    }
}

#[test]
fn dropping_a_required_element_fails_validation() {
    let xml = written(&invoice_fixture("minimal.json"));
    let required = [
        "InvoiceDetailHeaderIndicator",
        "InvoiceDetailLineIndicator",
        "UserAgent",
        "UnitOfMeasure",
        "InvoiceDetailItemReference",
        "Tax",
        "NetAmount",
    ];
    for name in required {
        let broken = without_first_element(&xml, name);
        assert_ne!(broken, xml, "{name} not found");
        for dtd in invoice_dtds() {
            assert!(
                xmllint_text(&broken, &dtd).is_err(),
                "still valid without {name} against {}",
                dtd.display()
            );
        }
    }
}

/// Removes the first `<name .../>` or `<name ...>...</name>` element.
fn without_first_element(xml: &str, name: &str) -> String {
    let start = [
        format!("<{name}>"),
        format!("<{name} "),
        format!("<{name}/>"),
    ]
    .iter()
    .filter_map(|open| xml.find(open.as_str()))
    .min()
    .unwrap_or_else(|| panic!("no <{name}>"));
    let open_end = start + xml[start..].find('>').unwrap();
    let end = if xml[..open_end].ends_with('/') {
        open_end + 1
    } else {
        let close = format!("</{name}>");
        start + xml[start..].find(close.as_str()).unwrap() + close.len()
    };
    format!("{}{}", &xml[..start], &xml[end..])
}

#[test]
fn secret_stays_out_of_debug_and_json() {
    let document = invoice_fixture("minimal.json");
    let debug = format!("{document:?}");
    assert!(!debug.contains("invoice-s3cret"), "{debug}");
    let json = serde_json::to_string(&document).unwrap();
    assert!(!json.contains("invoice-s3cret"), "{json}");

    // A document read back from JSON contains the placeholder, which must
    // never be sent as the secret.
    let read_back: InvoiceDocument = serde_json::from_str(&json).unwrap();
    let error = write_invoice(&read_back).unwrap_err();
    assert!(
        matches!(error, InvoiceError::RedactedSecret { .. }),
        "{error}"
    );
}

#[test]
fn json_without_dtd_version_uses_default() {
    let document = invoice_fixture("minimal.json");
    assert_eq!(document.dtd_version, "1.2.020");
    assert!(!document.deployment_test);
    assert_eq!(document.invoice.remit_to, None);
    assert!(document.invoice.attachment_urls.is_empty());
}

#[test]
fn line_tax_without_rate_is_valid() {
    let mut document = invoice_fixture("minimal.json");
    document.invoice.tax_at_line = true;
    document.invoice.lines[0].tax = Some(LineTax {
        amount: decimal("0.40"),
        category: "sales".into(),
        rate: None,
        description: "Sales tax".into(),
    });
    document.invoice.tax.amount = decimal("0.4");
    let xml = written(&document);

    assert_valid_invoice(&xml);
    assert_eq!(
        attributes(&xml, "TaxDetail", "percentageRate"),
        Vec::<String>::new()
    );
    assert_eq!(text(&xml, "InvoiceDetailSummary/NetAmount/Money"), "5.40");
}
