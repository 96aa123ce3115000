//! The invoice lines: `InvoiceDetailItem` for quantity lines and
//! `InvoiceDetailServiceItem` for amount lines, each in the element order
//! of InvoiceDetail.dtd 1.2.020, which later versions keep.

use std::io;

use rust_decimal::Decimal;

use super::format::{number, unit_price};
use super::model::{InvoiceLine, InvoiceLineKind, LineTax};
use super::xml::{amount_element, lang_element, money_element, text_element, XmlWriter};
use crate::write::{attribute, text_content, xml_chars};

/// Writes one line with its computed subtotal. `tax_at_line` decides
/// whether the line's tax is written.
pub(super) fn write_line(
    writer: &mut XmlWriter,
    line: &InvoiceLine,
    subtotal: Decimal,
    currency: &str,
    tax_at_line: bool,
) -> io::Result<()> {
    let tax = line.tax.as_ref().filter(|_| tax_at_line);
    match line.kind {
        InvoiceLineKind::Quantity => write_item(writer, line, subtotal, currency, tax),
        InvoiceLineKind::Service => write_service_item(writer, line, subtotal, currency, tax),
    }
}

/// Writes `InvoiceDetailItem`: UnitOfMeasure, UnitPrice,
/// InvoiceDetailItemReference, SubtotalAmount, Tax.
fn write_item(
    writer: &mut XmlWriter,
    line: &InvoiceLine,
    subtotal: Decimal,
    currency: &str,
    tax: Option<&LineTax>,
) -> io::Result<()> {
    let line_number = line.invoice_line_number.to_string();
    let quantity = number(line.quantity);
    writer
        .create_element("InvoiceDetailItem")
        .with_attributes([
            attribute("invoiceLineNumber", &line_number),
            attribute("quantity", &quantity),
        ])
        .write_inner_content(|writer| {
            write_unit(writer, line, currency)?;
            write_reference(writer, "InvoiceDetailItemReference", line)?;
            amount_element(writer, "SubtotalAmount", subtotal, currency)?;
            if let Some(tax) = tax {
                write_line_tax(writer, tax, subtotal, currency)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Writes `InvoiceDetailServiceItem`: InvoiceDetailServiceItemReference,
/// SubtotalAmount, UnitOfMeasure and UnitPrice, Tax.
fn write_service_item(
    writer: &mut XmlWriter,
    line: &InvoiceLine,
    subtotal: Decimal,
    currency: &str,
    tax: Option<&LineTax>,
) -> io::Result<()> {
    let line_number = line.invoice_line_number.to_string();
    let quantity = number(line.quantity);
    writer
        .create_element("InvoiceDetailServiceItem")
        .with_attributes([
            attribute("invoiceLineNumber", &line_number),
            attribute("quantity", &quantity),
        ])
        .write_inner_content(|writer| {
            write_reference(writer, "InvoiceDetailServiceItemReference", line)?;
            amount_element(writer, "SubtotalAmount", subtotal, currency)?;
            // The DTD allows UnitOfMeasure and UnitPrice only together.
            if !line.unit_of_measure.trim().is_empty() {
                write_unit(writer, line, currency)?;
            }
            if let Some(tax) = tax {
                write_line_tax(writer, tax, subtotal, currency)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_unit(writer: &mut XmlWriter, line: &InvoiceLine, currency: &str) -> io::Result<()> {
    text_element(writer, "UnitOfMeasure", &xml_chars(&line.unit_of_measure))?;
    writer
        .create_element("UnitPrice")
        .write_inner_content(|writer| {
            writer
                .create_element("Money")
                .with_attribute(attribute("currency", currency))
                .write_text_content(text_content(&unit_price(line.unit_price)))?;
            Ok(())
        })?;
    Ok(())
}

/// Writes the item reference: the PO line number, the part ids exactly as on the
/// PO, and the description.
fn write_reference(writer: &mut XmlWriter, name: &str, line: &InvoiceLine) -> io::Result<()> {
    let po_line_number = line.po_line_number.to_string();
    let element = writer
        .create_element(name)
        .with_attribute(attribute("lineNumber", &po_line_number));
    let has_item_id = !line.supplier_part_id.is_empty();
    let has_description = !line.description.trim().is_empty();
    if !has_item_id && !has_description {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|writer| {
        if has_item_id {
            write_item_id(writer, line)?;
        }
        if has_description {
            lang_element(writer, "Description", &line.description)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_item_id(writer: &mut XmlWriter, line: &InvoiceLine) -> io::Result<()> {
    writer
        .create_element("ItemID")
        .write_inner_content(|writer| {
            text_element(writer, "SupplierPartID", &xml_chars(&line.supplier_part_id))?;
            if let Some(auxiliary_id) = &line.supplier_part_auxiliary_id {
                text_element(writer, "SupplierPartAuxiliaryID", &xml_chars(auxiliary_id))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Writes a line `Tax` with one `TaxDetail` taxing the line subtotal.
fn write_line_tax(
    writer: &mut XmlWriter,
    tax: &LineTax,
    subtotal: Decimal,
    currency: &str,
) -> io::Result<()> {
    let description = if tax.description.trim().is_empty() {
        tax.category.as_str()
    } else {
        tax.description.as_str()
    };
    let category = xml_chars(&tax.category);
    let rate = tax.rate.map(number);
    let mut attributes = vec![
        attribute("purpose", "tax"),
        attribute("category", &category),
    ];
    if let Some(rate) = &rate {
        attributes.push(attribute("percentageRate", rate));
    }

    writer.create_element("Tax").write_inner_content(|writer| {
        money_element(writer, tax.amount, currency)?;
        lang_element(writer, "Description", description)?;
        writer
            .create_element("TaxDetail")
            .with_attributes(attributes)
            .write_inner_content(|writer| {
                amount_element(writer, "TaxableAmount", subtotal, currency)?;
                amount_element(writer, "TaxAmount", tax.amount, currency)
            })?;
        Ok(())
    })?;
    Ok(())
}
