//! The tax of an invoice: each row's Brightpearl tax, named with the Coupa
//! category and rate of its tax code, written per line or in the summary
//! as the buyer's tax level sets.

use std::collections::BTreeMap;

use pobridge_cxml::{InvoiceLine, InvoiceTax, InvoiceTaxDetail, LineTax};
use rust_decimal::Decimal;

use super::build::cents;
use super::settings::{BuyerInvoicing, TaxLevel, TaxMapping};

/// `TaxDetail@purpose` of tax on goods and services.
pub(super) const PURPOSE_TAX: &str = "tax";
/// `TaxDetail@purpose` of tax on freight.
pub(super) const PURPOSE_SHIPPING: &str = "shippingTax";
/// `TaxDetail@purpose` of tax on a handling fee.
pub(super) const PURPOSE_SPECIAL_HANDLING: &str = "specialHandlingTax";

/// The tax of one invoiced row or charge, signed like the amount it is on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RowTax {
    /// Brightpearl's row id, for messages.
    pub row_id: i64,
    /// The line or charge amount the tax is on.
    pub taxable: Decimal,
    pub amount: Decimal,
    /// `None` for an untaxed row whose tax code the tax map does not name.
    pub mapping: Option<TaxMapping>,
    /// `tax`, `shippingTax` or `specialHandlingTax`.
    pub purpose: &'static str,
}

/// Looks up a row's tax code in the buyer's tax map. A row that carries
/// tax needs a mapped code; an untaxed row with an unmapped code gets no
/// tax. A Brightpearl rate other than the mapped one is a warning.
pub(super) fn map_tax(
    settings: &BuyerInvoicing,
    label: &str,
    code: Option<&str>,
    brightpearl_rate: Option<Decimal>,
    tax: Decimal,
    warnings: &mut Vec<String>,
) -> Result<Option<TaxMapping>, String> {
    let code = code.map(str::trim).filter(|code| !code.is_empty());
    let mapping = code.and_then(|code| settings.tax_map.get(code));
    let Some(mapping) = mapping else {
        if tax.is_zero() {
            return Ok(None);
        }
        let tax = cents(tax);
        return Err(match code {
            Some(code) => format!(
                "{label} carries tax {tax} with tax code {code:?}, which the buyer's tax-map \
                 does not name: add {code:?} to tax-map with its Coupa category and rate"
            ),
            None => format!(
                "{label} carries tax {tax} but has no tax code: give the row a tax code in \
                 Brightpearl that the buyer's tax-map names"
            ),
        });
    };

    if let Some(rate) = brightpearl_rate {
        if rate.normalize() != mapping.rate.normalize() {
            warnings.push(format!(
                "{label} is taxed at {} % in Brightpearl, but tax-map gives {} % for its \
                 code; the invoice states the tax-map rate with Brightpearl's tax amount",
                rate.normalize(),
                mapping.rate.normalize()
            ));
        }
    }
    Ok(Some(mapping.clone()))
}

/// Puts the taxes on the lines or into the summary, as the buyer's tax level
/// sets, and returns the summary tax. `line_taxes` has one entry per line,
/// in line order.
pub(super) fn apply_tax(
    settings: &BuyerInvoicing,
    lines: &mut [InvoiceLine],
    line_taxes: Vec<RowTax>,
    charge_taxes: Vec<RowTax>,
) -> Result<InvoiceTax, Vec<String>> {
    match settings.tax_level {
        TaxLevel::Line => tax_at_line(lines, line_taxes, &charge_taxes),
        TaxLevel::Summary => {
            let all = line_taxes.into_iter().chain(charge_taxes).collect();
            Ok(tax_in_summary(all))
        }
    }
}

fn tax_at_line(
    lines: &mut [InvoiceLine],
    line_taxes: Vec<RowTax>,
    charge_taxes: &[RowTax],
) -> Result<InvoiceTax, Vec<String>> {
    // A summary tax at line level must equal the sum of the line taxes, so
    // tax on a summary charge has nowhere to go.
    let errors: Vec<String> = charge_taxes
        .iter()
        .filter(|charge| !charge.amount.is_zero())
        .map(|charge| {
            format!(
                "row {} is a charge with tax {}, which an invoice with tax at line level \
                 cannot carry: set the buyer's tax-level to summary",
                charge.row_id,
                cents(charge.amount)
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut total = Decimal::ZERO;
    for (line, tax) in lines.iter_mut().zip(line_taxes) {
        let Some(mapping) = tax.mapping else {
            continue;
        };
        let amount = cents(tax.amount);
        total += amount;
        line.tax = Some(LineTax {
            amount,
            category: mapping.category,
            rate: Some(mapping.rate),
            description: String::new(),
        });
    }
    Ok(InvoiceTax {
        amount: total,
        description: String::new(),
        details: Vec::new(),
    })
}

/// Groups the taxes into one `TaxDetail` per category, rate and purpose,
/// sorted by those three.
fn tax_in_summary(taxes: Vec<RowTax>) -> InvoiceTax {
    let mut groups: BTreeMap<(String, Decimal, &'static str), (Decimal, Decimal)> = BTreeMap::new();
    for tax in taxes {
        let Some(mapping) = tax.mapping else {
            continue;
        };
        let key = (mapping.category, mapping.rate.normalize(), tax.purpose);
        let group = groups.entry(key).or_default();
        group.0 += cents(tax.taxable);
        group.1 += cents(tax.amount);
    }

    let details: Vec<InvoiceTaxDetail> = groups
        .into_iter()
        .map(
            |((category, rate, purpose), (taxable, amount))| InvoiceTaxDetail {
                category,
                rate: Some(rate),
                taxable_amount: Some(taxable),
                tax_amount: amount,
                description: None,
                purpose: Some(purpose.to_owned()),
            },
        )
        .collect();
    InvoiceTax {
        amount: details.iter().map(|detail| detail.tax_amount).sum(),
        description: String::new(),
        details,
    }
}
