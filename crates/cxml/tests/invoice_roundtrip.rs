//! Property tests: a generated invoice, written with `write_invoice` and read
//! back, keeps every value. pobridge's reader reads only the envelope of an
//! invoice. The whole invoice is read with an XML 1.0 reader built on
//! quick-xml (`xml_tree`), because a buyer's parser normalizes whitespace
//! that quick-xml keeps.

mod common;
mod generate;
mod invoice_support;
mod xml_tree;

use chrono::{DateTime, FixedOffset};
use generate::*;
use invoice_support::assert_valid_invoice;
use pobridge_cxml::{
    read_envelope, write_invoice, Body, Invoice, InvoiceCredential, InvoiceDocument, InvoiceLine,
    InvoiceLineKind, InvoicePurpose, InvoiceTax, InvoiceTaxDetail, Limits, LineTax, OrderReference,
    RemitTo, Secret, SenderCredential,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use xml_tree::XmlElement;

/// The random parts of one line. [`build`] applies the invoice's rules
/// for signs and taxes.
#[derive(Debug, Clone)]
struct LineSeed {
    service: bool,
    quantity: Decimal,
    unit_price: Decimal,
    /// In a standard invoice, 0 leaves both positive, 1 negates the
    /// quantity and 2 the price. A credit memo keeps both positive.
    negation: u8,
    unit_of_measure: String,
    po_line_number: u32,
    supplier_part_id: String,
    supplier_part_auxiliary_id: Option<String>,
    description: String,
    tax: Option<LineTaxSeed>,
}

#[derive(Debug, Clone)]
struct LineTaxSeed {
    amount: Decimal,
    category: String,
    rate: Option<Decimal>,
    description: String,
}

#[derive(Debug, Clone)]
struct DetailSeed {
    category: String,
    rate: Option<Decimal>,
    taxable_amount: Option<Decimal>,
    tax_amount: Decimal,
    description: Option<String>,
    purpose: Option<String>,
}

fn line_tax_seed() -> impl Strategy<Value = LineTaxSeed> {
    (
        positive_decimal(6, 4),
        required_text(),
        prop::option::of(positive_decimal(4, 3)),
        text(),
    )
        .prop_map(|(amount, category, rate, description)| LineTaxSeed {
            amount,
            category,
            rate,
            description,
        })
}

fn line_seed() -> impl Strategy<Value = LineSeed> {
    let amounts = (
        any::<bool>(),
        positive_decimal(7, 4),
        signed_decimal(9, 6),
        0u8..3,
    );
    let item = (
        text(),
        1u32..100_000,
        prop_oneof![Just(String::new()), required_text()],
        prop::option::of(text()),
        text(),
    );
    (amounts, item, prop::option::of(line_tax_seed())).prop_map(
        |((service, quantity, unit_price, negation), item, tax)| {
            let (unit_of_measure, po_line_number, part_id, auxiliary_id, description) = item;
            LineSeed {
                service,
                quantity,
                unit_price,
                negation,
                unit_of_measure,
                po_line_number,
                supplier_part_id: part_id,
                supplier_part_auxiliary_id: auxiliary_id,
                description,
                tax,
            }
        },
    )
}

fn detail_seed() -> impl Strategy<Value = DetailSeed> {
    (
        required_text(),
        prop::option::of(positive_decimal(4, 3)),
        prop::option::of(signed_decimal(8, 2)),
        signed_decimal(6, 4),
        prop::option::of(text()),
        prop::option::of(required_text()),
    )
        .prop_map(
            |(category, rate, taxable_amount, tax_amount, description, purpose)| DetailSeed {
                category,
                rate,
                taxable_amount,
                tax_amount,
                description,
                purpose,
            },
        )
}

fn credential() -> impl Strategy<Value = InvoiceCredential> {
    (required_text(), required_text())
        .prop_map(|(domain, identity)| InvoiceCredential { domain, identity })
}

fn remit_to() -> impl Strategy<Value = RemitTo> {
    (
        required_text(),
        required_text(),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(address_id, name, tax_prefix, tax_number)| RemitTo {
            address_id,
            name,
            tax_prefix,
            tax_number,
        })
}

fn purpose() -> impl Strategy<Value = InvoicePurpose> {
    let credit_memo = (required_text(), prop::option::of(timestamp())).prop_map(
        |(original_invoice_id, original_invoice_date)| InvoicePurpose::CreditMemo {
            original_invoice_id,
            original_invoice_date,
        },
    );
    prop_oneof![3 => Just(InvoicePurpose::Standard), 1 => credit_memo]
}

/// Generates an envelope around a placeholder invoice, which [`build`]
/// replaces.
fn envelope() -> impl Strategy<Value = InvoiceDocument> {
    let parties = (credential(), credential(), credential(), required_text());
    let dtd_version = prop::sample::select(vec!["1.2.020", "1.2.037", "1.2.069", "1.2.999"]);
    (
        required_text(),
        timestamp(),
        parties,
        required_text(),
        dtd_version,
        any::<bool>(),
    )
        .prop_map(
            |(payload_id, timestamp, parties, user_agent, dtd_version, deployment_test)| {
                let (from, to, sender, secret) = parties;
                InvoiceDocument {
                    payload_id,
                    timestamp,
                    from,
                    to,
                    sender: SenderCredential {
                        domain: sender.domain,
                        identity: sender.identity,
                        shared_secret: Secret::new(secret),
                    },
                    user_agent,
                    dtd_version: dtd_version.to_string(),
                    deployment_test,
                    invoice: placeholder_invoice(),
                }
            },
        )
}

fn placeholder_invoice() -> Invoice {
    Invoice {
        invoice_id: String::new(),
        invoice_date: DateTime::UNIX_EPOCH.fixed_offset(),
        purpose: InvoicePurpose::Standard,
        currency: String::new(),
        order: OrderReference {
            order_id: String::new(),
            order_date: None,
        },
        remit_to: None,
        tax_at_line: false,
        payment_term_days: None,
        lines: Vec::new(),
        tax: InvoiceTax::none(),
        shipping_amount: None,
        special_handling_amount: None,
        comments: None,
        attachment_urls: Vec::new(),
    }
}

/// The header-level random parts of an invoice.
#[derive(Debug, Clone)]
struct InvoiceSeed {
    invoice_id: String,
    invoice_date: DateTime<FixedOffset>,
    purpose: InvoicePurpose,
    currency: &'static str,
    order_id: String,
    order_date: Option<DateTime<FixedOffset>>,
    remit_to: Option<RemitTo>,
    tax_at_line: bool,
    payment_term_days: Option<u32>,
    summary_tax: (Decimal, String, Vec<DetailSeed>),
    shipping_amount: Option<Decimal>,
    special_handling_amount: Option<Decimal>,
    comments: Option<String>,
    attachment_urls: Vec<String>,
}

fn invoice_seed() -> impl Strategy<Value = InvoiceSeed> {
    let identity = (
        required_text(),
        timestamp(),
        purpose(),
        prop::sample::select(vec!["USD", "EUR", "GBP", "JPY", "CHF"]),
        required_text(),
        prop::option::of(timestamp()),
    );
    let terms = (
        prop::option::of(remit_to()),
        any::<bool>(),
        prop::option::of(0u32..400),
    );
    let summary_tax = (
        signed_decimal(6, 4),
        text(),
        prop::collection::vec(detail_seed(), 0..3),
    );
    let summary = (
        summary_tax,
        prop::option::of(signed_decimal(6, 3)),
        prop::option::of(signed_decimal(6, 3)),
        prop::option::of(text()),
        prop::collection::vec(required_text(), 0..3),
    );
    (identity, terms, summary).prop_map(|(identity, terms, summary)| {
        let (invoice_id, invoice_date, purpose, currency, order_id, order_date) = identity;
        let (remit_to, tax_at_line, payment_term_days) = terms;
        let (summary_tax, shipping_amount, special_handling_amount, comments, attachment_urls) =
            summary;
        InvoiceSeed {
            invoice_id,
            invoice_date,
            purpose,
            currency,
            order_id,
            order_date,
            remit_to,
            tax_at_line,
            payment_term_days,
            summary_tax,
            shipping_amount,
            special_handling_amount,
            comments,
            attachment_urls,
        }
    })
}

/// A whole invoice document that follows every rule `write_invoice`
/// documents, so writing it must succeed.
fn invoice_document() -> impl Strategy<Value = InvoiceDocument> {
    (
        envelope(),
        invoice_seed(),
        prop::collection::vec(line_seed(), 1..5),
    )
        .prop_map(|(document, seed, lines)| build(document, seed, lines))
}

fn build(
    mut document: InvoiceDocument,
    seed: InvoiceSeed,
    seeds: Vec<LineSeed>,
) -> InvoiceDocument {
    let credit_memo = matches!(seed.purpose, InvoicePurpose::CreditMemo { .. });
    let lines: Vec<InvoiceLine> = seeds
        .into_iter()
        .enumerate()
        .map(|(index, line)| build_line(line, index, credit_memo, seed.tax_at_line))
        .collect();

    let (tax_amount, tax_description, detail_seeds) = seed.summary_tax;
    let tax_amount = if seed.tax_at_line {
        lines
            .iter()
            .filter_map(|line| line.tax.as_ref())
            .map(|tax| cents(tax.amount))
            .sum()
    } else if credit_memo {
        tax_amount.abs()
    } else {
        tax_amount
    };
    let details = build_details(detail_seeds, tax_amount);
    let positive_in_credit_memo = |amount: Decimal| if credit_memo { amount.abs() } else { amount };

    document.invoice = Invoice {
        invoice_id: seed.invoice_id,
        invoice_date: seed.invoice_date,
        purpose: seed.purpose,
        currency: seed.currency.to_string(),
        order: OrderReference {
            order_id: seed.order_id,
            order_date: seed.order_date,
        },
        remit_to: seed.remit_to,
        tax_at_line: seed.tax_at_line,
        payment_term_days: seed.payment_term_days,
        lines,
        tax: InvoiceTax {
            amount: tax_amount,
            description: tax_description,
            details,
        },
        shipping_amount: seed.shipping_amount.map(positive_in_credit_memo),
        special_handling_amount: seed.special_handling_amount.map(positive_in_credit_memo),
        comments: seed.comments,
        attachment_urls: seed.attachment_urls,
    };
    document
}

fn build_line(seed: LineSeed, index: usize, credit_memo: bool, tax_at_line: bool) -> InvoiceLine {
    let magnitude = seed.unit_price.abs();
    let (quantity, unit_price) = match (credit_memo, seed.negation) {
        (true, _) | (false, 0) => (seed.quantity, magnitude),
        // A zero price keeps its sign here, so a negative quantity can meet
        // a negative zero price, which is not a negative price.
        (false, 1) if seed.unit_price.is_zero() => (-seed.quantity, seed.unit_price),
        (false, 1) => (-seed.quantity, magnitude),
        (false, _) => (seed.quantity, -magnitude),
    };
    let subtotal = cents(quantity * unit_price);
    let tax = seed.tax.filter(|_| tax_at_line).map(|tax| LineTax {
        amount: if subtotal.is_sign_negative() && !subtotal.is_zero() {
            -tax.amount
        } else {
            tax.amount
        },
        category: tax.category,
        rate: tax.rate,
        description: tax.description,
    });
    let unit_of_measure = match (seed.service, seed.unit_of_measure.trim().is_empty()) {
        (false, true) => "EA".to_string(),
        _ => seed.unit_of_measure,
    };
    InvoiceLine {
        invoice_line_number: u32::try_from(index + 1).expect("a few lines"),
        kind: if seed.service {
            InvoiceLineKind::Service
        } else {
            InvoiceLineKind::Quantity
        },
        quantity,
        unit_of_measure,
        unit_price,
        po_line_number: seed.po_line_number,
        supplier_part_id: seed.supplier_part_id,
        supplier_part_auxiliary_id: seed.supplier_part_auxiliary_id,
        description: seed.description,
        tax,
    }
}

/// Builds the summary's tax details, setting the last one's amount so that
/// their cents add up to `tax_amount`.
fn build_details(seeds: Vec<DetailSeed>, tax_amount: Decimal) -> Vec<InvoiceTaxDetail> {
    let count = seeds.len();
    let mut assigned = Decimal::ZERO;
    seeds
        .into_iter()
        .enumerate()
        .map(|(index, seed)| {
            let amount = if index + 1 == count {
                cents(tax_amount) - assigned
            } else {
                seed.tax_amount
            };
            assigned += cents(amount);
            InvoiceTaxDetail {
                category: seed.category,
                rate: seed.rate,
                taxable_amount: seed.taxable_amount,
                tax_amount: amount,
                description: seed.description,
                purpose: seed.purpose,
            }
        })
        .collect()
}

fn check_money(element: &XmlElement, expected: Decimal, currency: &str, field: &str) {
    let money = element.at(&["Money"]);
    assert_eq!(money.attr("currency"), Some(currency), "{field} currency");
    assert_eq!(parse_money(&money.own_text()), cents(expected), "{field}");
}

fn check_envelope(xml: &str, root: &XmlElement, document: &InvoiceDocument) {
    assert_eq!(
        root.attr("payloadID"),
        Some(xml_safe(&document.payload_id).as_str())
    );
    assert_same_time(
        root.attr("timestamp").expect("a timestamp"),
        &document.timestamp,
        "timestamp",
    );
    assert_eq!(root.attr("version"), Some(document.dtd_version.as_str()));

    let credentials = [
        ("From", &document.from.domain, &document.from.identity),
        ("To", &document.to.domain, &document.to.identity),
        ("Sender", &document.sender.domain, &document.sender.identity),
    ];
    for (party, domain, identity) in credentials {
        let credential = root.at(&["Header", party, "Credential"]);
        assert_eq!(
            credential.attr("domain"),
            Some(xml_safe(domain).as_str()),
            "{party}"
        );
        assert_eq!(
            credential.at(&["Identity"]).own_text(),
            xml_safe(identity),
            "{party}"
        );
    }
    let sender = root.at(&["Header", "Sender"]);
    assert_eq!(
        sender.at(&["Credential", "SharedSecret"]).own_text(),
        xml_safe(document.sender.shared_secret.expose())
    );
    assert_eq!(
        sender.at(&["UserAgent"]).own_text(),
        xml_safe(&document.user_agent)
    );
    let mode = if document.deployment_test {
        "test"
    } else {
        "production"
    };
    assert_eq!(root.at(&["Request"]).attr("deploymentMode"), Some(mode));

    check_with_project_reader(xml, document);
}

/// Reads the envelope with pobridge's own reader, which must agree with a
/// conforming XML parser.
fn check_with_project_reader(xml: &str, document: &InvoiceDocument) {
    let envelope = read_envelope(xml.as_bytes(), &Limits::default())
        .unwrap_or_else(|error| panic!("pobridge cannot read its own invoice: {error}"));
    assert_eq!(envelope.payload_id, xml_safe(&document.payload_id));
    let timestamp = envelope.timestamp.expect("a readable timestamp");
    assert_eq!(timestamp, document.timestamp);
    assert_eq!(timestamp.offset(), document.timestamp.offset());
    let header = envelope.header.expect("a Header");
    assert_eq!(header.from[0].identity, xml_safe(&document.from.identity));
    assert_eq!(header.to[0].domain, xml_safe(&document.to.domain));
    let secret = header.sender[0].shared_secret.as_ref().expect("a secret");
    assert_eq!(
        secret.expose(),
        xml_safe(document.sender.shared_secret.expose())
    );
    assert_eq!(header.user_agent, Some(xml_safe(&document.user_agent)));
    assert_eq!(
        envelope.body,
        Body::OtherRequest {
            name: "InvoiceDetailRequest".into(),
            deployment_test: document.deployment_test
        }
    );
}

fn check_request_header(request: &XmlElement, invoice: &Invoice) {
    let header = request.at(&["InvoiceDetailRequestHeader"]);
    assert_eq!(
        header.attr("invoiceID"),
        Some(xml_safe(&invoice.invoice_id).as_str())
    );
    assert_same_time(
        header.attr("invoiceDate").expect("an invoiceDate"),
        &invoice.invoice_date,
        "invoiceDate",
    );
    let tax_in_line = header
        .at(&["InvoiceDetailLineIndicator"])
        .attr("isTaxInLine");
    assert_eq!(tax_in_line, invoice.tax_at_line.then_some("yes"));
    assert_eq!(
        header
            .child("PaymentTerm")
            .and_then(|term| term.attr("payInNumberOfDays")),
        invoice
            .payment_term_days
            .map(|days| days.to_string())
            .as_deref()
    );

    check_remit_to(header, invoice.remit_to.as_ref());
    check_purpose(header, &invoice.purpose);
    check_comments(header, invoice);
}

fn check_remit_to(header: &XmlElement, remit_to: Option<&RemitTo>) {
    let partner = header.child("InvoicePartner");
    let Some(remit_to) = remit_to else {
        assert!(partner.is_none(), "no InvoicePartner without remit_to");
        return;
    };
    let partner = partner.expect("an InvoicePartner");
    let contact = partner.at(&["Contact"]);
    assert_eq!(
        contact.attr("addressID"),
        Some(xml_safe(&remit_to.address_id).as_str())
    );
    assert_eq!(contact.at(&["Name"]).own_text(), coupa_safe(&remit_to.name));
    for (domain, expected) in [
        ("taxPrefix", &remit_to.tax_prefix),
        ("taxNumber", &remit_to.tax_number),
    ] {
        let written = partner
            .all("IdReference")
            .find(|reference| reference.attr("domain") == Some(domain))
            .and_then(|reference| reference.attr("identifier"));
        assert_eq!(
            written,
            expected.as_deref().map(xml_safe).as_deref(),
            "{domain}"
        );
    }
}

fn check_purpose(header: &XmlElement, purpose: &InvoicePurpose) {
    let reference = header
        .child("DocumentReference")
        .and_then(|reference| reference.attr("payloadID"));
    let custom_date = header
        .child("Extrinsic")
        .map(|extrinsic| extrinsic.at(&["IdReference", "Description"]).own_text());
    match purpose {
        InvoicePurpose::Standard => {
            assert_eq!(header.attr("purpose"), Some("standard"));
            assert_eq!(reference, None);
            assert_eq!(custom_date, None);
        }
        InvoicePurpose::CreditMemo {
            original_invoice_id,
            original_invoice_date,
        } => {
            assert_eq!(header.attr("purpose"), Some("creditMemo"));
            assert_eq!(reference, Some(xml_safe(original_invoice_id).as_str()));
            match (original_invoice_date, custom_date) {
                (Some(expected), Some(written)) => {
                    assert_same_time(&written, expected, "original_invoice_date")
                }
                (None, None) => {}
                (expected, written) => panic!("original date {expected:?} written as {written:?}"),
            }
        }
    }
}

fn check_comments(header: &XmlElement, invoice: &Invoice) {
    let text = invoice.comments.as_deref().unwrap_or("");
    let comments = header.child("Comments");
    if text.is_empty() && invoice.attachment_urls.is_empty() {
        assert!(comments.is_none(), "no Comments without text or URLs");
        return;
    }
    let comments = comments.expect("a Comments element");
    assert_eq!(comments.own_text(), coupa_safe(text));
    let urls: Vec<String> = comments
        .all("Attachment")
        .map(|attachment| attachment.at(&["URL"]).own_text())
        .collect();
    let expected: Vec<String> = invoice
        .attachment_urls
        .iter()
        .map(|url| xml_safe(url))
        .collect();
    assert_eq!(urls, expected);
}

fn check_order(request: &XmlElement, invoice: &Invoice) -> Vec<Decimal> {
    let order = request.at(&["InvoiceDetailOrder"]);
    let reference = order.at(&["InvoiceDetailOrderInfo", "OrderReference"]);
    let order_id = xml_safe(&invoice.order.order_id);
    assert_eq!(reference.attr("orderID"), Some(order_id.as_str()));
    assert_eq!(
        reference.at(&["DocumentReference"]).attr("payloadID"),
        Some(order_id.as_str())
    );
    match (&invoice.order.order_date, reference.attr("orderDate")) {
        (Some(expected), Some(written)) => assert_same_time(written, expected, "orderDate"),
        (None, None) => {}
        (expected, written) => panic!("orderDate {expected:?} written as {written:?}"),
    }

    let written: Vec<&XmlElement> = order
        .elements()
        .filter(|element| element.name != "InvoiceDetailOrderInfo")
        .collect();
    assert_eq!(written.len(), invoice.lines.len(), "one element per line");
    written
        .into_iter()
        .zip(&invoice.lines)
        .map(|(element, line)| check_line(element, line, invoice))
        .collect()
}

/// Checks one line and returns its subtotal as written.
fn check_line(element: &XmlElement, line: &InvoiceLine, invoice: &Invoice) -> Decimal {
    let number = line.invoice_line_number;
    let (name, reference_name) = match line.kind {
        InvoiceLineKind::Quantity => ("InvoiceDetailItem", "InvoiceDetailItemReference"),
        InvoiceLineKind::Service => (
            "InvoiceDetailServiceItem",
            "InvoiceDetailServiceItemReference",
        ),
    };
    assert_eq!(element.name, name, "line {number}");
    assert_eq!(
        element.attr("invoiceLineNumber"),
        Some(number.to_string().as_str())
    );
    let quantity = parse_decimal(element.attr("quantity").expect("a quantity"));
    assert_eq!(quantity, line.quantity, "line {number} quantity");

    let unit_written =
        line.kind == InvoiceLineKind::Quantity || !line.unit_of_measure.trim().is_empty();
    match element.child("UnitOfMeasure") {
        Some(unit) if unit_written => {
            assert_eq!(
                unit.own_text(),
                xml_safe(&line.unit_of_measure),
                "line {number} unit"
            );
            let price = element.at(&["UnitPrice", "Money"]);
            assert_eq!(price.attr("currency"), Some(invoice.currency.as_str()));
            let written = price.own_text();
            assert!(
                written
                    .split_once('.')
                    .is_some_and(|(_, decimals)| decimals.len() >= 2),
                "{written}"
            );
            assert_eq!(
                parse_decimal(&written),
                line.unit_price,
                "line {number} price"
            );
        }
        None if !unit_written => assert!(element.child("UnitPrice").is_none()),
        other => panic!("line {number}: unit {other:?}, expected written: {unit_written}"),
    }

    check_line_reference(element.at(&[reference_name]), line);

    let subtotal = cents(line.quantity * line.unit_price);
    check_money(
        element.at(&["SubtotalAmount"]),
        subtotal,
        &invoice.currency,
        "line subtotal",
    );
    check_line_tax(element.child("Tax"), line, subtotal, invoice);
    subtotal
}

fn check_line_reference(reference: &XmlElement, line: &InvoiceLine) {
    let number = line.invoice_line_number;
    assert_eq!(
        reference.attr("lineNumber"),
        Some(line.po_line_number.to_string().as_str())
    );
    match reference.child("ItemID") {
        Some(item_id) => {
            assert_eq!(
                item_id.at(&["SupplierPartID"]).own_text(),
                xml_safe(&line.supplier_part_id),
                "line {number} part id"
            );
            let auxiliary = item_id
                .child("SupplierPartAuxiliaryID")
                .map(XmlElement::own_text);
            let expected = line.supplier_part_auxiliary_id.as_deref().map(xml_safe);
            assert_eq!(auxiliary, expected, "line {number} auxiliary id");
        }
        None => assert!(
            line.supplier_part_id.is_empty(),
            "line {number} has an ItemID"
        ),
    }
    let description = reference.child("Description").map(XmlElement::own_text);
    let expected =
        Some(coupa_safe(&line.description)).filter(|_| !line.description.trim().is_empty());
    assert_eq!(description, expected, "line {number} description");
}

fn check_line_tax(
    tax: Option<&XmlElement>,
    line: &InvoiceLine,
    subtotal: Decimal,
    invoice: &Invoice,
) {
    let number = line.invoice_line_number;
    let Some(expected) = line.tax.as_ref().filter(|_| invoice.tax_at_line) else {
        assert!(tax.is_none(), "line {number} has no tax");
        return;
    };

    let tax = tax.expect("a line Tax");
    let currency = invoice.currency.as_str();
    check_money(tax, expected.amount, currency, "line tax");
    let description = if expected.description.trim().is_empty() {
        &expected.category
    } else {
        &expected.description
    };
    assert_eq!(tax.at(&["Description"]).own_text(), coupa_safe(description));

    let detail = tax.at(&["TaxDetail"]);
    assert_eq!(detail.attr("purpose"), Some("tax"));
    assert_eq!(
        detail.attr("category"),
        Some(xml_safe(&expected.category).as_str())
    );
    assert_eq!(
        detail.attr("percentageRate").map(parse_decimal),
        expected.rate
    );
    check_money(
        detail.at(&["TaxableAmount"]),
        subtotal,
        currency,
        "taxable amount",
    );
    check_money(
        detail.at(&["TaxAmount"]),
        expected.amount,
        currency,
        "tax amount",
    );
}

fn check_summary(request: &XmlElement, invoice: &Invoice, line_subtotals: &[Decimal]) {
    let summary = request.at(&["InvoiceDetailSummary"]);
    let currency = invoice.currency.as_str();
    let subtotal: Decimal = line_subtotals.iter().sum();
    check_money(
        summary.at(&["SubtotalAmount"]),
        subtotal,
        currency,
        "subtotal",
    );

    let tax = summary.at(&["Tax"]);
    check_money(tax, invoice.tax.amount, currency, "summary tax");
    let description = match invoice.tax.description.trim() {
        "" if cents(invoice.tax.amount).is_zero() => "No tax".to_string(),
        "" => "Tax".to_string(),
        _ => coupa_safe(&invoice.tax.description),
    };
    assert_eq!(tax.at(&["Description"]).own_text(), description);
    let details: Vec<&XmlElement> = tax.all("TaxDetail").collect();
    assert_eq!(details.len(), invoice.tax.details.len());
    for (written, expected) in details.into_iter().zip(&invoice.tax.details) {
        check_tax_detail(written, expected, currency);
    }

    let charges = [
        ("SpecialHandlingAmount", invoice.special_handling_amount),
        ("ShippingAmount", invoice.shipping_amount),
    ];
    for (name, expected) in charges {
        match (summary.child(name), expected) {
            (Some(written), Some(amount)) => check_money(written, amount, currency, name),
            (None, None) => {}
            (written, expected) => panic!("{name}: {written:?}, expected {expected:?}"),
        }
    }
    let net = subtotal
        + cents(invoice.tax.amount)
        + invoice.shipping_amount.map(cents).unwrap_or_default()
        + invoice
            .special_handling_amount
            .map(cents)
            .unwrap_or_default();
    check_money(summary.at(&["NetAmount"]), net, currency, "net amount");
    check_money(summary.at(&["DueAmount"]), net, currency, "due amount");
}

fn check_tax_detail(written: &XmlElement, expected: &InvoiceTaxDetail, currency: &str) {
    assert_eq!(
        written.attr("category"),
        Some(xml_safe(&expected.category).as_str())
    );
    assert_eq!(
        written.attr("purpose"),
        expected.purpose.as_deref().map(xml_safe).as_deref()
    );
    assert_eq!(
        written.attr("percentageRate").map(parse_decimal),
        expected.rate
    );
    match (written.child("TaxableAmount"), expected.taxable_amount) {
        (Some(amount), Some(value)) => check_money(amount, value, currency, "taxable amount"),
        (None, None) => {}
        (amount, value) => panic!("TaxableAmount {amount:?}, expected {value:?}"),
    }
    check_money(
        written.at(&["TaxAmount"]),
        expected.tax_amount,
        currency,
        "detail tax",
    );
    let description = written.child("Description").map(XmlElement::own_text);
    assert_eq!(description, expected.description.as_deref().map(coupa_safe));
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn written_invoice_reads_back_every_value(document in invoice_document()) {
        let xml = write_invoice(&document)
            .unwrap_or_else(|error| panic!("a valid invoice is rejected: {error}\n{document:#?}"));
        let root = xml_tree::parse(&xml);
        let request = root.at(&["Request", "InvoiceDetailRequest"]);

        check_envelope(&xml, &root, &document);
        check_request_header(request, &document.invoice);
        let line_subtotals = check_order(request, &document.invoice);
        check_summary(request, &document.invoice, &line_subtotals);
    }
}

proptest! {
    // Each case runs xmllint twice, so fewer cases keep the test fast.
    #![proptest_config(config(16))]

    #[test]
    fn written_invoice_is_valid_against_the_dtds(document in invoice_document()) {
        let xml = write_invoice(&document)
            .unwrap_or_else(|error| panic!("a valid invoice is rejected: {error}"));
        assert_valid_invoice(&xml);
    }
}
