//! Checks, run before anything is written, that an invoice makes a valid
//! document that is not misleading. Checks that need the computed amounts, such
//! as signs and sums, are in [`super::amounts`].

use std::collections::HashSet;

use rust_decimal::Decimal;

use super::error::InvoiceError;
use super::model::{Invoice, InvoiceDocument, InvoiceLine, InvoiceLineKind, InvoicePurpose};
use crate::error::shown;
use crate::model::REDACTED;

/// Checks the envelope and the invoice.
pub(super) fn check_document(document: &InvoiceDocument) -> Result<(), InvoiceError> {
    required("payload_id", &document.payload_id, "a unique payloadID")?;
    required(
        "from.domain",
        &document.from.domain,
        "a domain such as DUNS",
    )?;
    required("from.identity", &document.from.identity, "our identity")?;
    required("to.domain", &document.to.domain, "a domain such as DUNS")?;
    required("to.identity", &document.to.identity, "the buyer's identity")?;
    required(
        "sender.domain",
        &document.sender.domain,
        "a domain such as DUNS",
    )?;
    required("sender.identity", &document.sender.identity, "our identity")?;

    let secret = document.sender.shared_secret.expose();
    required(
        "sender.shared_secret",
        secret,
        "the invoicing shared secret",
    )?;
    if secret == REDACTED {
        return Err(InvoiceError::RedactedSecret {
            placeholder: REDACTED,
        });
    }

    required(
        "user_agent",
        &document.user_agent,
        "a name such as pobridge 0.1.0",
    )?;
    check_dtd_version(&document.dtd_version)?;
    check_invoice(&document.invoice)
}

fn check_dtd_version(version: &str) -> Result<(), InvoiceError> {
    let digits = version.strip_prefix("1.2.").unwrap_or("");
    if digits.len() == 3 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(());
    }
    Err(InvoiceError::InvalidValue {
        field: "dtd_version".into(),
        value: shown(version),
        expected: "a cXML 1.2 version such as 1.2.020, because Coupa rejects other versions",
    })
}

fn check_invoice(invoice: &Invoice) -> Result<(), InvoiceError> {
    required(
        "invoice.invoice_id",
        &invoice.invoice_id,
        "our invoice number",
    )?;
    required(
        "invoice.order.order_id",
        &invoice.order.order_id,
        "the Coupa PO number",
    )?;
    check_currency(&invoice.currency)?;
    if let InvoicePurpose::CreditMemo {
        original_invoice_id,
        ..
    } = &invoice.purpose
    {
        required(
            "invoice.purpose.original_invoice_id",
            original_invoice_id,
            "the number of the invoice this credit memo credits",
        )?;
    }
    if let Some(remit_to) = &invoice.remit_to {
        required(
            "invoice.remit_to.address_id",
            &remit_to.address_id,
            "the remit-to code from the Coupa Supplier Portal",
        )?;
        required("invoice.remit_to.name", &remit_to.name, "our company name")?;
    }

    check_lines(invoice)?;
    check_summary(invoice)
}

fn check_currency(currency: &str) -> Result<(), InvoiceError> {
    if currency.len() == 3 && currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Ok(());
    }
    Err(InvoiceError::InvalidValue {
        field: "invoice.currency".into(),
        value: shown(currency),
        expected: "an ISO 4217 code of three upper-case letters, such as USD",
    })
}

fn check_lines(invoice: &Invoice) -> Result<(), InvoiceError> {
    if invoice.lines.is_empty() {
        return Err(InvoiceError::NoLines {
            invoice_id: shown(&invoice.invoice_id),
        });
    }
    let mut numbers = HashSet::new();
    for line in &invoice.lines {
        if !numbers.insert(line.invoice_line_number) {
            return Err(InvoiceError::DuplicateLineNumber {
                number: line.invoice_line_number,
            });
        }
        check_line(invoice, line)?;
    }
    Ok(())
}

fn check_line(invoice: &Invoice, line: &InvoiceLine) -> Result<(), InvoiceError> {
    let number = line.invoice_line_number;
    if line.quantity.is_zero() {
        return Err(InvoiceError::InvalidValue {
            field: format!("line {number} quantity"),
            value: line.quantity.to_string(),
            expected: "a quantity other than 0",
        });
    }
    if is_negative(line.quantity) && is_negative(line.unit_price) {
        return Err(InvoiceError::BothNegative {
            line: number,
            quantity: line.quantity,
            unit_price: line.unit_price,
        });
    }
    if matches!(invoice.purpose, InvoicePurpose::CreditMemo { .. }) {
        positive_in_credit_memo(format!("line {number} quantity"), line.quantity)?;
        positive_in_credit_memo(format!("line {number} unit_price"), line.unit_price)?;
    }
    if line.kind == InvoiceLineKind::Quantity {
        required(
            &format!("line {number} unit_of_measure"),
            &line.unit_of_measure,
            "the PO line's unit of measure, such as EA",
        )?;
    }
    check_line_tax(invoice, line)
}

fn check_line_tax(invoice: &Invoice, line: &InvoiceLine) -> Result<(), InvoiceError> {
    let Some(tax) = &line.tax else {
        return Ok(());
    };
    let number = line.invoice_line_number;
    if !invoice.tax_at_line {
        return Err(InvoiceError::LineTaxWithoutTaxAtLine { line: number });
    }
    required(
        &format!("line {number} tax.category"),
        &tax.category,
        "a tax category such as sales or VAT",
    )?;
    if let Some(rate) = tax.rate {
        not_negative(format!("line {number} tax.rate"), rate)?;
    }

    if matches!(invoice.purpose, InvoicePurpose::CreditMemo { .. }) {
        positive_in_credit_memo(format!("line {number} tax.amount"), tax.amount)?;
    }
    Ok(())
}

fn check_summary(invoice: &Invoice) -> Result<(), InvoiceError> {
    for (index, detail) in invoice.tax.details.iter().enumerate() {
        required(
            &format!("invoice.tax.details[{index}].category"),
            &detail.category,
            "a tax category such as sales or VAT",
        )?;
        if let Some(rate) = detail.rate {
            not_negative(format!("invoice.tax.details[{index}].rate"), rate)?;
        }
    }
    if !matches!(invoice.purpose, InvoicePurpose::CreditMemo { .. }) {
        return Ok(());
    }
    positive_in_credit_memo("invoice.tax.amount".into(), invoice.tax.amount)?;
    if let Some(amount) = invoice.shipping_amount {
        positive_in_credit_memo("invoice.shipping_amount".into(), amount)?;
    }
    if let Some(amount) = invoice.special_handling_amount {
        positive_in_credit_memo("invoice.special_handling_amount".into(), amount)?;
    }
    Ok(())
}

fn required(field: &str, value: &str, expected: &'static str) -> Result<(), InvoiceError> {
    if value.trim().is_empty() {
        return Err(InvoiceError::Empty {
            field: field.to_string(),
            expected,
        });
    }
    Ok(())
}

/// Returns true below zero. A zero with its sign bit set, such as the
/// `-0.00` that negating a zero price gives, is not negative.
fn is_negative(value: Decimal) -> bool {
    value.is_sign_negative() && !value.is_zero()
}

fn positive_in_credit_memo(field: String, value: Decimal) -> Result<(), InvoiceError> {
    if is_negative(value) {
        return Err(InvoiceError::NegativeInCreditMemo { field, value });
    }
    Ok(())
}

fn not_negative(field: String, value: Decimal) -> Result<(), InvoiceError> {
    if is_negative(value) {
        return Err(InvoiceError::InvalidValue {
            field,
            value: value.to_string(),
            expected: "a rate of 0 or more",
        });
    }
    Ok(())
}
