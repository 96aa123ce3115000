//! The amounts an invoice writes, computed from its lines so that the
//! document always adds up: each is rounded to cents before it is summed,
//! so the written numbers add up exactly.

use rust_decimal::Decimal;

use super::error::InvoiceError;
use super::format::cents;
use super::model::{Invoice, InvoiceLine};

/// Every computed amount of one invoice, rounded to cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Totals {
    /// Quantity times unit price of each line, in line order.
    pub line_subtotals: Vec<Decimal>,
    /// `InvoiceDetailSummary/SubtotalAmount`: the sum of the line subtotals.
    pub subtotal: Decimal,
    /// `InvoiceDetailSummary/Tax`.
    pub tax: Decimal,
    pub shipping: Option<Decimal>,
    pub special_handling: Option<Decimal>,
    /// `NetAmount` and `DueAmount`: subtotal, tax, shipping and special
    /// handling together.
    pub net: Decimal,
}

impl Totals {
    /// Computes the amounts and checks that the taxes agree with them.
    pub(super) fn compute(invoice: &Invoice) -> Result<Self, InvoiceError> {
        let mut line_subtotals = Vec::with_capacity(invoice.lines.len());
        for line in &invoice.lines {
            let subtotal = line_subtotal(line)?;
            check_line_tax_sign(line, subtotal)?;
            line_subtotals.push(subtotal);
        }
        let subtotal = sum("invoice subtotal", line_subtotals.iter().copied())?;

        let tax = cents(invoice.tax.amount);
        check_tax_sums(invoice, tax)?;
        let shipping = invoice.shipping_amount.map(cents);
        let special_handling = invoice.special_handling_amount.map(cents);

        let parts = [Some(subtotal), Some(tax), shipping, special_handling];
        let net = sum("net amount", parts.into_iter().flatten())?;
        Ok(Self {
            line_subtotals,
            subtotal,
            tax,
            shipping,
            special_handling,
            net,
        })
    }
}

fn line_subtotal(line: &InvoiceLine) -> Result<Decimal, InvoiceError> {
    line.quantity
        .checked_mul(line.unit_price)
        .map(cents)
        .ok_or_else(|| InvoiceError::Overflow {
            field: format!("line {} subtotal", line.invoice_line_number),
        })
}

fn check_line_tax_sign(line: &InvoiceLine, subtotal: Decimal) -> Result<(), InvoiceError> {
    let Some(tax) = &line.tax else {
        return Ok(());
    };
    let tax_amount = cents(tax.amount);
    let opposite = (subtotal > Decimal::ZERO && tax_amount < Decimal::ZERO)
        || (subtotal < Decimal::ZERO && tax_amount > Decimal::ZERO);
    if opposite {
        return Err(InvoiceError::MixedSigns {
            line: line.invoice_line_number,
            subtotal,
            tax: tax_amount,
        });
    }
    Ok(())
}

fn check_tax_sums(invoice: &Invoice, tax: Decimal) -> Result<(), InvoiceError> {
    if invoice.tax_at_line {
        let line_taxes = invoice
            .lines
            .iter()
            .filter_map(|line| line.tax.as_ref())
            .map(|line_tax| cents(line_tax.amount));
        let lines = sum("sum of the line taxes", line_taxes)?;
        if lines != tax {
            return Err(InvoiceError::TaxMismatch {
                summary: tax,
                lines,
            });
        }
    }

    if !invoice.tax.details.is_empty() {
        let detail_taxes = invoice.tax.details.iter().map(|d| cents(d.tax_amount));
        let details = sum("sum of tax.details", detail_taxes)?;
        if details != tax {
            return Err(InvoiceError::TaxDetailsMismatch {
                summary: tax,
                details,
            });
        }
    }
    Ok(())
}

fn sum(field: &str, amounts: impl Iterator<Item = Decimal>) -> Result<Decimal, InvoiceError> {
    let mut total = Decimal::ZERO;
    for amount in amounts {
        total = total
            .checked_add(amount)
            .ok_or_else(|| InvoiceError::Overflow {
                field: field.to_string(),
            })?;
    }
    Ok(total)
}
