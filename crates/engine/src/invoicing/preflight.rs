//! The last checks before an invoice goes to Coupa, for what Coupa would
//! reject or a person would regret: lines the PO does not have, more billed
//! than ordered, more credited than billed, a reused invoice number and
//! missing settings.

use std::collections::BTreeMap;

use pobridge_cxml::{InvoiceLine, ItemOut, OrderRequest};
use pobridge_store::InvoiceKind;
use rust_decimal::Decimal;

use super::build::BuiltInvoice;
use super::rows::line_kind;

/// The quantities of one PO line billed before this invoice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Billed {
    /// Invoiced, less what was credited.
    net: Decimal,
    credited: Decimal,
}

/// Checks a built invoice against its PO and what was sent before.
///
/// `already_invoiced` has, per PO line number, the quantity invoiced net of
/// credits and the quantity credited, over the invoices that count as sent.
/// `number_used_before` is true when this buyer already received the
/// invoice number. `missing_settings` is [`super::missing_for_coupa`] of the
/// buyer's settings. Returns every problem found.
pub fn check(
    built: &BuiltInvoice,
    po: &OrderRequest,
    already_invoiced: &[(u32, Decimal, Decimal)],
    number_used_before: bool,
    missing_settings: &[String],
) -> Result<(), Vec<String>> {
    let mut errors: Vec<String> = missing_settings.to_vec();
    let invoice = &built.document.invoice;
    if number_used_before {
        errors.push(format!(
            "invoice number {} was already sent to this buyer, and Coupa rejects a reused \
             number: give the invoice a new number in Brightpearl",
            invoice.invoice_id
        ));
    }

    for line in &invoice.lines {
        match po_item(po, line.po_line_number) {
            Some(item) => errors.extend(compare_line(line, item)),
            None => errors.push(format!(
                "invoice line {} bills PO line {}, which PO {} does not have",
                line.invoice_line_number,
                line.po_line_number,
                po.header.order_id.trim()
            )),
        }
    }
    errors.extend(check_quantities(built, po, already_invoiced));

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn po_item(po: &OrderRequest, line_number: u32) -> Option<&ItemOut> {
    po.items
        .iter()
        .find(|item| item.line_label() == line_number)
}

/// Coupa matches an invoice line on these values exactly, so each must be
/// the PO line's.
fn compare_line(line: &InvoiceLine, item: &ItemOut) -> Vec<String> {
    let mut errors = Vec::new();
    let mut differs = |what: &str, sent: &str, expected: &str| {
        if sent != expected {
            errors.push(format!(
                "invoice line {} sends {what} {sent:?}, but PO line {} has {expected:?}",
                line.invoice_line_number, line.po_line_number
            ));
        }
    };

    differs(
        "SupplierPartID",
        &line.supplier_part_id,
        &item.item_id.supplier_part_id,
    );
    differs(
        "SupplierPartAuxiliaryID",
        line.supplier_part_auxiliary_id.as_deref().unwrap_or(""),
        item.item_id
            .supplier_part_auxiliary_id
            .as_deref()
            .unwrap_or(""),
    );
    let po_unit = item
        .detail
        .as_ref()
        .map(|detail| detail.unit_of_measure.as_str());
    differs(
        "UnitOfMeasure",
        &line.unit_of_measure,
        po_unit.unwrap_or(""),
    );
    let expected_kind = line_kind(item);
    differs(
        "line type",
        &format!("{:?}", line.kind),
        &format!("{expected_kind:?}"),
    );
    errors
}

fn check_quantities(
    built: &BuiltInvoice,
    po: &OrderRequest,
    already_invoiced: &[(u32, Decimal, Decimal)],
) -> Vec<String> {
    let mut before: BTreeMap<u32, Billed> = BTreeMap::new();
    for &(line, net, credited) in already_invoiced {
        let billed = before.entry(line).or_default();
        billed.net += net;
        billed.credited += credited;
    }
    let mut now: BTreeMap<u32, Decimal> = BTreeMap::new();
    for line in &built.lines {
        *now.entry(line.po_line_number).or_default() += line.quantity;
    }

    let mut errors = Vec::new();
    for (line, quantity) in now {
        let Some(item) = po_item(po, line) else {
            continue;
        };
        let billed = before.get(&line).copied().unwrap_or_default();
        // NOTE: service (amount) lines are compared by quantity too, which
        // holds only while Coupa sends them with a quantity of what is billed.
        let error = match built.kind {
            InvoiceKind::Invoice => over_invoiced(line, item.quantity, billed, quantity),
            InvoiceKind::Credit => over_credited(line, billed, quantity),
        };
        errors.extend(error);
    }
    errors
}

fn over_invoiced(line: u32, ordered: Decimal, billed: Billed, quantity: Decimal) -> Option<String> {
    let total = billed.net + quantity;
    (total > ordered).then(|| {
        format!(
            "PO line {line} would be invoiced {} of the {} ordered ({} already invoiced net \
             of credits, {} on this invoice): check for an invoice sent twice, ask the \
             buyer to raise the PO quantity, or, when an earlier invoice for these goods \
             was cancelled in Coupa, raise a sales credit for it in Brightpearl so the \
             credit is sent and the quantity is free again",
            total.normalize(),
            ordered.normalize(),
            billed.net.normalize(),
            quantity.normalize()
        )
    })
}

fn over_credited(line: u32, billed: Billed, quantity: Decimal) -> Option<String> {
    (quantity > billed.net).then(|| {
        format!(
            "PO line {line} would be credited {} more, but only {} is invoiced net of the {} \
             already credited: check that the invoice being credited was sent to Coupa",
            quantity.normalize(),
            billed.net.normalize(),
            billed.credited.normalize()
        )
    })
}
