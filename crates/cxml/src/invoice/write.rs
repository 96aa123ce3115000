//! Writing an `InvoiceDetailRequest`: the envelope, the header, the order
//! with its lines, and the summary, in the element order of
//! InvoiceDetail.dtd 1.2.020, which later versions keep.

use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::amounts::Totals;
use super::check::check_document;
use super::error::InvoiceError;
use super::format::{coupa_text, number};
use super::lines::write_line;
use super::model::{
    Invoice, InvoiceDocument, InvoicePurpose, InvoiceTax, InvoiceTaxDetail, RemitTo,
};
use super::xml::{
    amount_element, lang_element, money_element, stay_inline, text_element, XmlWriter, LANG,
};
use crate::time::format_timestamp;
use crate::write::{attribute, text_content, xml_chars};

/// The `xml:lang` of the root.
const ROOT_LANG: &str = "en-US";

/// Returns the DOCTYPE URL of an InvoiceDetail DTD version, such as
/// `http://xml.cxml.org/schemas/cXML/1.2.020/InvoiceDetail.dtd`.
pub fn invoice_dtd_url(version: &str) -> String {
    format!("http://xml.cxml.org/schemas/cXML/{version}/InvoiceDetail.dtd")
}

/// Writes an invoice as a cXML `InvoiceDetailRequest` for Coupa.
///
/// The document starts with the XML declaration and, on line 2, the
/// `InvoiceDetail.dtd` DOCTYPE that Coupa requires. Line subtotals are
/// quantity times unit price rounded to cents, the summary subtotal is
/// their sum, and the net and due amounts are subtotal + tax + shipping +
/// special handling. Descriptions, names and comments get Coupa's symbol
/// substitutions, while ids and units are written exactly as given.
///
/// Returns an [`InvoiceError`] for an invoice that would make an invalid or
/// misleading document, such as one without lines or with a line whose
/// quantity and price are both negative.
pub fn write_invoice(document: &InvoiceDocument) -> Result<String, InvoiceError> {
    check_document(document)?;
    let totals = Totals::compute(&document.invoice)?;

    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec<u8> never returns an I/O error.
    write_document(&mut writer, document, &totals).expect("writing to memory cannot fail");
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    // The writer copies only &str text and ASCII markup, so the bytes are
    // UTF-8.
    Ok(String::from_utf8(bytes).expect("the writer produces UTF-8"))
}

fn write_document(
    writer: &mut XmlWriter,
    document: &InvoiceDocument,
    totals: &Totals,
) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    // The version was checked to be 1.2.NNN, so it needs no escaping.
    let doctype = format!("cXML SYSTEM \"{}\"", invoice_dtd_url(&document.dtd_version));
    writer.write_event(Event::DocType(BytesText::from_escaped(doctype)))?;

    let payload_id = xml_chars(&document.payload_id);
    let timestamp = format_timestamp(&document.timestamp);
    writer
        .create_element("cXML")
        .with_attributes([
            attribute("payloadID", &payload_id),
            attribute("timestamp", &timestamp),
            attribute("version", &document.dtd_version),
            attribute("xml:lang", ROOT_LANG),
        ])
        .write_inner_content(|writer| {
            write_header(writer, document)?;
            write_request(writer, document, totals)
        })?;
    Ok(())
}

fn write_header(writer: &mut XmlWriter, document: &InvoiceDocument) -> io::Result<()> {
    let from = &document.from;
    let to = &document.to;
    let sender = &document.sender;
    writer
        .create_element("Header")
        .write_inner_content(|writer| {
            writer
                .create_element("From")
                .write_inner_content(|writer| {
                    write_credential(writer, &from.domain, &from.identity, None)
                })?;
            writer.create_element("To").write_inner_content(|writer| {
                write_credential(writer, &to.domain, &to.identity, None)
            })?;
            writer
                .create_element("Sender")
                .write_inner_content(|writer| {
                    let secret = Some(sender.shared_secret.expose());
                    write_credential(writer, &sender.domain, &sender.identity, secret)?;
                    text_element(writer, "UserAgent", &xml_chars(&document.user_agent))
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_credential(
    writer: &mut XmlWriter,
    domain: &str,
    identity: &str,
    shared_secret: Option<&str>,
) -> io::Result<()> {
    let domain = xml_chars(domain);
    writer
        .create_element("Credential")
        .with_attribute(attribute("domain", &domain))
        .write_inner_content(|writer| {
            text_element(writer, "Identity", &xml_chars(identity))?;
            if let Some(secret) = shared_secret {
                text_element(writer, "SharedSecret", &xml_chars(secret))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_request(
    writer: &mut XmlWriter,
    document: &InvoiceDocument,
    totals: &Totals,
) -> io::Result<()> {
    let mode = if document.deployment_test {
        "test"
    } else {
        "production"
    };
    let invoice = &document.invoice;
    writer
        .create_element("Request")
        .with_attribute(attribute("deploymentMode", mode))
        .write_inner_content(|writer| {
            writer
                .create_element("InvoiceDetailRequest")
                .write_inner_content(|writer| {
                    write_request_header(writer, invoice)?;
                    write_order(writer, invoice, totals)?;
                    write_summary(writer, invoice, totals)
                })?;
            Ok(())
        })?;
    Ok(())
}

/// Writes `InvoiceDetailRequestHeader`: indicators, remit-to, the credited
/// invoice, payment term, comments and extrinsics, in that order.
fn write_request_header(writer: &mut XmlWriter, invoice: &Invoice) -> io::Result<()> {
    let (purpose, original) = match &invoice.purpose {
        InvoicePurpose::Standard => ("standard", None),
        InvoicePurpose::CreditMemo {
            original_invoice_id,
            original_invoice_date,
        } => (
            "creditMemo",
            Some((original_invoice_id, original_invoice_date)),
        ),
    };
    let invoice_id = xml_chars(&invoice.invoice_id);
    let invoice_date = format_timestamp(&invoice.invoice_date);
    writer
        .create_element("InvoiceDetailRequestHeader")
        .with_attributes([
            attribute("invoiceID", &invoice_id),
            attribute("purpose", purpose),
            attribute("operation", "new"),
            attribute("invoiceDate", &invoice_date),
        ])
        .write_inner_content(|writer| {
            write_indicators(writer, invoice.tax_at_line)?;
            if let Some(remit_to) = &invoice.remit_to {
                write_remit_to(writer, remit_to)?;
            }
            if let Some((original_id, _)) = original {
                write_document_reference(writer, original_id)?;
            }
            if let Some(days) = invoice.payment_term_days {
                let days = days.to_string();
                writer
                    .create_element("PaymentTerm")
                    .with_attribute(attribute("payInNumberOfDays", &days))
                    .write_empty()?;
            }
            write_comments(writer, invoice)?;
            if let Some((_, Some(original_date))) = original {
                let date = format_timestamp(original_date);
                write_custom_field(writer, "original_invoice_date", &date)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Writes the indicators the DTD requires first in the header. Only the tax
/// indicator is ever set, because shipping, handling and accounting are
/// never written per line.
fn write_indicators(writer: &mut XmlWriter, tax_at_line: bool) -> io::Result<()> {
    writer
        .create_element("InvoiceDetailHeaderIndicator")
        .write_empty()?;
    let line_indicator = writer.create_element("InvoiceDetailLineIndicator");
    if tax_at_line {
        line_indicator
            .with_attribute(attribute("isTaxInLine", "yes"))
            .write_empty()?;
    } else {
        line_indicator.write_empty()?;
    }
    Ok(())
}

/// Writes an `InvoicePartner` with `Contact role="remitTo"` and the tax
/// number, where Coupa reads them for VAT-compliant invoices.
fn write_remit_to(writer: &mut XmlWriter, remit_to: &RemitTo) -> io::Result<()> {
    let address_id = xml_chars(&remit_to.address_id);
    writer
        .create_element("InvoicePartner")
        .write_inner_content(|writer| {
            writer
                .create_element("Contact")
                .with_attributes([
                    attribute("role", "remitTo"),
                    attribute("addressID", &address_id),
                ])
                .write_inner_content(|writer| lang_element(writer, "Name", &remit_to.name))?;
            for (domain, identifier) in [
                ("taxPrefix", &remit_to.tax_prefix),
                ("taxNumber", &remit_to.tax_number),
            ] {
                if let Some(identifier) = identifier {
                    let identifier = xml_chars(identifier);
                    writer
                        .create_element("IdReference")
                        .with_attributes([
                            attribute("identifier", &identifier),
                            attribute("domain", domain),
                        ])
                        .write_empty()?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

fn write_document_reference(writer: &mut XmlWriter, payload_id: &str) -> io::Result<()> {
    let payload_id = xml_chars(payload_id);
    writer
        .create_element("DocumentReference")
        .with_attribute(attribute("payloadID", &payload_id))
        .write_empty()?;
    Ok(())
}

/// Writes the header `Comments`: the text, then one `Attachment` per URL,
/// all on one line so that no indentation becomes part of the text.
fn write_comments(writer: &mut XmlWriter, invoice: &Invoice) -> io::Result<()> {
    let text = invoice.comments.as_deref().unwrap_or("");
    if text.is_empty() && invoice.attachment_urls.is_empty() {
        return Ok(());
    }
    writer
        .create_element("Comments")
        .with_attribute(attribute("xml:lang", LANG))
        .write_inner_content(|writer| {
            writer.write_event(Event::Text(text_content(&coupa_text(text))))?;
            for url in &invoice.attachment_urls {
                writer
                    .create_element("Attachment")
                    .write_inner_content(|writer| {
                        stay_inline(writer)?;
                        text_element(writer, "URL", &xml_chars(url))?;
                        stay_inline(writer)
                    })?;
                stay_inline(writer)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Writes a Coupa custom field: `Extrinsic name="CustomFields"` holding an
/// `IdReference` whose `Description` is the value.
///
/// NOTE: Coupa's samples spell the domain both `CustomFields` and
/// `CustomField`, and which one Coupa requires is not verified.
fn write_custom_field(writer: &mut XmlWriter, field: &str, value: &str) -> io::Result<()> {
    writer
        .create_element("Extrinsic")
        .with_attribute(attribute("name", "CustomFields"))
        .write_inner_content(|writer| {
            writer
                .create_element("IdReference")
                .with_attributes([
                    attribute("identifier", field),
                    attribute("domain", "CustomFields"),
                ])
                .write_inner_content(|writer| lang_element(writer, "Description", value))?;
            Ok(())
        })?;
    Ok(())
}

/// Writes `InvoiceDetailOrder`: the PO reference, then the lines.
fn write_order(writer: &mut XmlWriter, invoice: &Invoice, totals: &Totals) -> io::Result<()> {
    let order_id = xml_chars(&invoice.order.order_id);
    let order_date = invoice.order.order_date.as_ref().map(format_timestamp);
    let mut attributes = vec![attribute("orderID", &order_id)];
    if let Some(order_date) = &order_date {
        attributes.push(attribute("orderDate", order_date));
    }

    writer
        .create_element("InvoiceDetailOrder")
        .write_inner_content(|writer| {
            writer
                .create_element("InvoiceDetailOrderInfo")
                .write_inner_content(|writer| {
                    writer
                        .create_element("OrderReference")
                        .with_attributes(attributes)
                        .write_inner_content(|writer| {
                            write_document_reference(writer, &invoice.order.order_id)
                        })?;
                    Ok(())
                })?;
            for (line, subtotal) in invoice.lines.iter().zip(&totals.line_subtotals) {
                write_line(
                    writer,
                    line,
                    *subtotal,
                    &invoice.currency,
                    invoice.tax_at_line,
                )?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Writes `InvoiceDetailSummary` in the order the DTD requires:
/// SubtotalAmount, Tax, SpecialHandlingAmount, ShippingAmount, NetAmount,
/// DueAmount.
fn write_summary(writer: &mut XmlWriter, invoice: &Invoice, totals: &Totals) -> io::Result<()> {
    let currency = invoice.currency.as_str();
    writer
        .create_element("InvoiceDetailSummary")
        .write_inner_content(|writer| {
            amount_element(writer, "SubtotalAmount", totals.subtotal, currency)?;
            write_summary_tax(writer, &invoice.tax, totals, currency)?;
            if let Some(amount) = totals.special_handling {
                amount_element(writer, "SpecialHandlingAmount", amount, currency)?;
            }
            if let Some(amount) = totals.shipping {
                amount_element(writer, "ShippingAmount", amount, currency)?;
            }
            amount_element(writer, "NetAmount", totals.net, currency)?;
            amount_element(writer, "DueAmount", totals.net, currency)
        })?;
    Ok(())
}

fn write_summary_tax(
    writer: &mut XmlWriter,
    tax: &InvoiceTax,
    totals: &Totals,
    currency: &str,
) -> io::Result<()> {
    let description = match tax.description.trim() {
        "" if totals.tax.is_zero() => "No tax",
        "" => "Tax",
        _ => tax.description.as_str(),
    };
    writer.create_element("Tax").write_inner_content(|writer| {
        money_element(writer, totals.tax, currency)?;
        lang_element(writer, "Description", description)?;
        for detail in &tax.details {
            write_tax_detail(writer, detail, currency)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_tax_detail(
    writer: &mut XmlWriter,
    detail: &InvoiceTaxDetail,
    currency: &str,
) -> io::Result<()> {
    let category = xml_chars(&detail.category);
    let purpose = detail.purpose.as_deref().map(xml_chars);
    let rate = detail.rate.map(number);
    let mut attributes = Vec::new();
    if let Some(purpose) = &purpose {
        attributes.push(attribute("purpose", purpose));
    }
    attributes.push(attribute("category", &category));
    if let Some(rate) = &rate {
        attributes.push(attribute("percentageRate", rate));
    }

    writer
        .create_element("TaxDetail")
        .with_attributes(attributes)
        .write_inner_content(|writer| {
            if let Some(taxable) = detail.taxable_amount {
                amount_element(writer, "TaxableAmount", taxable, currency)?;
            }
            amount_element(writer, "TaxAmount", detail.tax_amount, currency)?;
            if let Some(text) = &detail.description {
                lang_element(writer, "Description", text)?;
            }
            Ok(())
        })?;
    Ok(())
}
