//! From Brightpearl order rows to invoice lines and summary charges: which
//! PO line each row bills, what is echoed from that line, and the sign a
//! credit takes.

use std::collections::HashMap;

use pobridge_brightpearl::OrderRow;
use pobridge_cxml::{InvoiceLine, InvoiceLineKind, ItemDetail, ItemOut, OrderRequest};
use pobridge_store::{InvoiceKind, InvoicedLine, RowLink};
use rust_decimal::Decimal;

use super::build::{cents, BuildInput};
use super::settings::{classify, describe_rule, matching_rule, CreditForm, RowClass, TaxMapping};
use super::tax::{map_tax, RowTax, PURPOSE_SHIPPING, PURPOSE_SPECIAL_HANDLING, PURPOSE_TAX};

/// The Coupa line type of quantity lines, from the `LineType` extrinsic.
const QUANTITY_LINE_TYPE: &str = "Quantity";

/// Returns the invoice element a PO line needs: a service item when its
/// `LineType` extrinsic names another type than `Quantity`, and an item
/// otherwise, including when the extrinsic is absent.
pub fn line_kind(item: &ItemOut) -> InvoiceLineKind {
    let detail_extrinsics = item.detail.iter().flat_map(|detail| &detail.extrinsics);
    let line_type = detail_extrinsics
        .chain(&item.extrinsics)
        .find(|extrinsic| extrinsic.name.trim().eq_ignore_ascii_case("LineType"));
    match line_type {
        Some(extrinsic)
            if !extrinsic
                .text
                .trim()
                .eq_ignore_ascii_case(QUANTITY_LINE_TYPE) =>
        {
            InvoiceLineKind::Service
        }
        _ => InvoiceLineKind::Quantity,
    }
}

/// The sign Brightpearl's amounts take on the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// An invoice keeps Brightpearl's signs.
    AsIs,
    /// A credit memo carries positive amounts.
    Positive,
    /// A credit in the standard form carries negative quantities and
    /// amounts with positive prices.
    Negative,
}

impl Sign {
    fn of(input: &BuildInput) -> Self {
        match (input.kind, input.buyer_invoicing.credit_form) {
            (InvoiceKind::Invoice, _) => Sign::AsIs,
            (InvoiceKind::Credit, CreditForm::CreditMemo) => Sign::Positive,
            (InvoiceKind::Credit, CreditForm::NegativeQuantities) => Sign::Negative,
        }
    }

    fn apply(self, value: Decimal) -> Decimal {
        match self {
            Sign::AsIs => value,
            Sign::Positive => value.abs(),
            Sign::Negative => -value.abs(),
        }
    }
}

/// The lines, charges, taxes and messages the rows of one order add to an
/// invoice.
#[derive(Debug, Default)]
pub(super) struct Rows {
    /// Lines without tax, numbered in row order.
    pub lines: Vec<InvoiceLine>,
    /// The tax of each line, in line order.
    pub line_taxes: Vec<RowTax>,
    pub charge_taxes: Vec<RowTax>,
    pub invoiced: Vec<InvoicedLine>,
    pub shipping: Option<Decimal>,
    pub special_handling: Option<Decimal>,
    pub warnings: Vec<String>,
    /// Each row with money that a `skip` rule leaves off, such as
    /// `row 14 (PACKAGING) with 2.00 and its tax 0.17 (rule "product 901 -> skip")`. A
    /// skip rule is meant, so these are named only when the invoice's total
    /// then differs from Brightpearl's.
    pub skipped_by_rule: Vec<String>,
    pub errors: Vec<String>,
}

/// Turns every row of the input's order into a line, a charge or nothing.
pub(super) fn read_rows(input: &BuildInput) -> Rows {
    let mut reader = RowReader {
        input,
        sign: Sign::of(input),
        po_lines: PoLines::new(input.po, input.row_links),
        rows: Rows::default(),
    };
    for row in &input.order.rows {
        if let Err(error) = reader.add_row(row) {
            reader.rows.errors.push(error);
        }
    }
    reader.rows
}

struct RowReader<'a> {
    input: &'a BuildInput<'a>,
    sign: Sign,
    po_lines: PoLines<'a>,
    rows: Rows,
}

impl RowReader<'_> {
    fn add_row(&mut self, row: &OrderRow) -> Result<(), String> {
        // A bundle's price is on its parent row, so its components would
        // bill the same goods twice.
        if row.bundle_child {
            return Ok(());
        }
        match classify(self.input.rules, row) {
            RowClass::Line => self.add_line(row),
            RowClass::Skip => {
                if row.net.is_zero() {
                    return Ok(());
                }
                match matching_rule(self.input.rules, row) {
                    Some(rule) => {
                        let tax = match cents(row.tax) {
                            tax if tax.is_zero() => String::new(),
                            tax => format!(" and its tax {tax}"),
                        };
                        self.rows.skipped_by_rule.push(format!(
                            "{} with {}{tax} (rule \"{}\")",
                            row_label(row),
                            cents(row.net),
                            describe_rule(rule)
                        ));
                    }
                    None => self.rows.warnings.push(format!(
                        "{} has no product and no row rule, so its {} is left off the \
                         invoice: add a row rule if it should be invoiced as a charge",
                        row_label(row),
                        cents(row.net)
                    )),
                }
                Ok(())
            }
            class => self.add_charge(row, class),
        }
    }

    fn add_line(&mut self, row: &OrderRow) -> Result<(), String> {
        let label = row_label(row);
        if !self.has_quantity(row, &label)? {
            return Ok(());
        }

        let item = self.po_lines.find(row, &label)?;
        let Some(detail) = &item.detail else {
            return Err(format!(
                "{label} bills PO line {}, which has no ItemDetail, so its unit price and \
                 unit of measure are unknown: invoice this line in Coupa by hand",
                item.line_label()
            ));
        };
        let po_quantity = self.po_quantity(row, item, detail, &label)?;
        self.check_price(
            row,
            &label,
            item.line_label(),
            po_quantity,
            detail.unit_price.amount,
        );
        let mapping = map_tax(
            self.input.buyer_invoicing,
            &label,
            row.tax_code.as_deref(),
            row.tax_rate,
            row.tax,
            &mut self.rows.warnings,
        )?;
        self.push_line(row, po_quantity, item, detail, mapping);
        Ok(())
    }

    /// Converts the row's quantity from Brightpearl units to the PO line's
    /// unit by the line's quantity factor. A quantity that is not a whole
    /// number of ten-thousandths of the PO unit is an error, because Coupa
    /// would receive a rounded quantity that bills a different amount.
    fn po_quantity(
        &self,
        row: &OrderRow,
        item: &ItemOut,
        detail: &ItemDetail,
        label: &str,
    ) -> Result<Decimal, String> {
        let line = item.line_label();
        let factor = self
            .input
            .quantity_factors
            .get(&line)
            .copied()
            .filter(|factor| !factor.is_zero())
            .unwrap_or(Decimal::ONE);
        // A factor stored before factors were bounded can make the quotient
        // too large for a decimal.
        let Some(quantity) = row.quantity.abs().checked_div(factor) else {
            return Err(format!(
                "{label} has quantity {} in Brightpearl units, which at {} per {} of PO line \
                 {line} is too large to compute; correct the item's quantity factor",
                row.quantity.normalize(),
                factor.normalize(),
                detail.unit_of_measure.trim(),
            ));
        };
        if quantity.is_zero() || quantity.round_dp(4) != quantity {
            return Err(format!(
                "{label} has quantity {} in Brightpearl units, which is {} {} of PO line \
                 {line} at {} per {}: invoice whole units of the PO, or invoice this line in \
                 Coupa by hand",
                row.quantity.normalize(),
                quantity.round_dp(6).normalize(),
                detail.unit_of_measure.trim(),
                factor.normalize(),
                detail.unit_of_measure.trim(),
            ));
        }
        Ok(quantity.normalize())
    }

    /// Returns false for a row to leave out because its quantity is 0.
    fn has_quantity(&mut self, row: &OrderRow, label: &str) -> Result<bool, String> {
        if row.quantity.is_zero() {
            self.rows.warnings.push(format!(
                "{label} has quantity 0, so it is left off the invoice"
            ));
            return Ok(false);
        }
        if self.input.kind == InvoiceKind::Invoice && row.quantity.is_sign_negative() {
            return Err(format!(
                "{label} has the negative quantity {} on an invoice: raise a sales credit \
                 in Brightpearl for returned goods instead",
                row.quantity
            ));
        }
        Ok(true)
    }

    fn push_line(
        &mut self,
        row: &OrderRow,
        po_quantity: Decimal,
        item: &ItemOut,
        detail: &ItemDetail,
        mapping: Option<TaxMapping>,
    ) {
        let quantity = self.sign.apply(po_quantity);
        let unit_price = detail.unit_price.amount;
        let po_line = item.line_label();
        self.rows.lines.push(InvoiceLine {
            invoice_line_number: next_number(&self.rows.lines),
            kind: line_kind(item),
            quantity,
            unit_of_measure: detail.unit_of_measure.clone(),
            unit_price,
            po_line_number: po_line,
            supplier_part_id: item.item_id.supplier_part_id.clone(),
            supplier_part_auxiliary_id: item.item_id.supplier_part_auxiliary_id.clone(),
            description: description(item, row),
            tax: None,
        });
        self.rows.line_taxes.push(RowTax {
            row_id: row.id,
            taxable: cents(quantity * unit_price),
            amount: self.sign.apply(row.tax),
            mapping,
            purpose: PURPOSE_TAX,
        });
        self.rows.invoiced.push(InvoicedLine {
            po_line_number: po_line,
            quantity: po_quantity,
        });
    }

    /// Coupa matches the invoice against the PO price, so the PO's price is
    /// sent and a different Brightpearl price is only reported.
    fn check_price(
        &mut self,
        row: &OrderRow,
        label: &str,
        po_line: u32,
        po_quantity: Decimal,
        unit_price: Decimal,
    ) {
        let expected = cents(po_quantity * unit_price);
        let actual = cents(row.net.abs());
        if expected == actual {
            return;
        }
        let brightpearl_price = (row.net.abs() / po_quantity).round_dp(4).normalize();
        self.rows.warnings.push(format!(
            "{label}: Brightpearl's net {} for {} of PO line {po_line}'s unit is \
             {brightpearl_price} each, but the PO prices it at {unit_price}; the invoice uses \
             the PO price",
            cents(row.net),
            po_quantity.normalize(),
        ));
    }

    fn add_charge(&mut self, row: &OrderRow, class: RowClass) -> Result<(), String> {
        let label = row_label(row);
        let amount = self.sign.apply(row.net);
        let (name, purpose) = match class {
            RowClass::Shipping => ("shipping", PURPOSE_SHIPPING),
            _ => ("special handling", PURPOSE_SPECIAL_HANDLING),
        };
        if !self.input.buyer_invoicing.header_charges_allowed {
            self.rows.warnings.push(format!(
                "{label} is a {name} charge of {}, left off the invoice because the buyer \
                 does not accept header charges (header-charges is no)",
                cents(row.net)
            ));
            return Ok(());
        }

        let mapping = map_tax(
            self.input.buyer_invoicing,
            &label,
            row.tax_code.as_deref(),
            row.tax_rate,
            row.tax,
            &mut self.rows.warnings,
        )?;
        let slot = match class {
            RowClass::Shipping => &mut self.rows.shipping,
            _ => &mut self.rows.special_handling,
        };
        *slot = Some(slot.unwrap_or_default() + amount);
        self.rows.charge_taxes.push(RowTax {
            row_id: row.id,
            taxable: amount,
            amount: self.sign.apply(row.tax),
            mapping,
            purpose,
        });
        Ok(())
    }
}

fn next_number(lines: &[InvoiceLine]) -> u32 {
    lines.last().map_or(1, |line| line.invoice_line_number + 1)
}

/// Names a row in messages by its id and SKU or name.
pub(super) fn row_label(row: &OrderRow) -> String {
    let name = row
        .sku
        .as_deref()
        .or(row.name.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty());
    match name {
        Some(name) => format!("row {} ({name})", row.id),
        None => format!("row {}", row.id),
    }
}

/// Returns the PO line's description, which Coupa shows on the invoice line,
/// or the row's name when the PO line has none.
fn description(item: &ItemOut, row: &OrderRow) -> String {
    let from_po = item
        .detail
        .iter()
        .flat_map(|detail| &detail.descriptions)
        .flat_map(|text| [Some(text.text.as_str()), text.short_name.as_deref()])
        .flatten()
        .map(str::trim)
        .find(|text| !text.is_empty());
    let text = from_po
        .or(row.name.as_deref())
        .unwrap_or(item.item_id.supplier_part_id.as_str());
    text.trim().to_owned()
}

/// The lines of a PO and the row links that point into them.
struct PoLines<'a> {
    po: &'a OrderRequest,
    line_by_row: HashMap<i64, u32>,
}

impl<'a> PoLines<'a> {
    fn new(po: &'a OrderRequest, links: &[RowLink]) -> Self {
        let line_by_row = links
            .iter()
            .map(|link| (link.row_id, link.line_number))
            .collect();
        Self { po, line_by_row }
    }

    /// Finds the PO line a row bills by its own row link, or else by the link
    /// of the row it was cloned from, because back orders and credits copy
    /// rows. Without a link, the row's SKU decides when exactly one PO line
    /// has it as SupplierPartID.
    fn find(&self, row: &OrderRow, label: &str) -> Result<&'a ItemOut, String> {
        // NOTE: only one cloned-from step is followed, so a back order of a
        // back order falls back to its SKU unless its parent's rows are linked.
        let linked = self.line_by_row.get(&row.id).or_else(|| {
            row.cloned_from_id
                .and_then(|source| self.line_by_row.get(&source))
        });
        if let Some(&line) = linked {
            return self.item(line).ok_or_else(|| {
                format!(
                    "{label} is linked to line {line}, which PO {} does not have: check that \
                     this Brightpearl order belongs to that PO",
                    self.order_id()
                )
            });
        }
        self.find_by_sku(row, label)
    }

    fn find_by_sku(&self, row: &OrderRow, label: &str) -> Result<&'a ItemOut, String> {
        let sku = row.sku.as_deref().map(str::trim).unwrap_or_default();
        let candidates: Vec<&ItemOut> = self
            .po
            .items
            .iter()
            .filter(|item| !sku.is_empty() && item.item_id.supplier_part_id.trim() == sku)
            .collect();
        match candidates.as_slice() {
            [item] => Ok(item),
            [] => Err(format!(
                "{label} matches no line of PO {}: it has no row link and no PO line has \
                 SupplierPartID {sku:?}; correct the SKU in Brightpearl or add a row rule to \
                 skip the row",
                self.order_id()
            )),
            several => Err(format!(
                "{label} has no row link and {} lines of PO {} have SupplierPartID {sku:?}, \
                 so the line it bills is unknown: invoice this order in Coupa by hand",
                several.len(),
                self.order_id()
            )),
        }
    }

    fn item(&self, line: u32) -> Option<&'a ItemOut> {
        self.po.items.iter().find(|item| item.line_label() == line)
    }

    fn order_id(&self) -> &str {
        self.po.header.order_id.trim()
    }
}
