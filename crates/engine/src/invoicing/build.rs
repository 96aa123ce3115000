//! Building the cXML invoice or credit for a purchase order from an
//! invoiced Brightpearl order. The invoice number, date and currency come
//! from Brightpearl, while part ids, units and prices are echoed from the PO
//! lines, because Coupa matches invoices against them.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone};
use chrono_tz::Tz;
use pobridge_brightpearl::Order;
use pobridge_cxml::{
    Invoice, InvoiceDocument, InvoicePurpose, InvoiceTax, OrderReference, OrderRequest, RemitTo,
    Secret, SenderCredential,
};
use pobridge_store::{InvoiceKind, InvoicedLine, RowLink};
use rust_decimal::{Decimal, RoundingStrategy};

use super::rows::{read_rows, Rows};
use super::settings::{BuyerCredentials, BuyerInvoicing, CreditForm, RowRule, TaxLevel};
use super::tax::apply_tax;

/// Everything one invoice is built from.
#[derive(Debug, Clone)]
pub struct BuildInput<'a> {
    /// The invoiced Brightpearl order or sales credit.
    pub order: &'a Order,
    /// The latest revision of the purchase order it fulfils.
    pub po: &'a OrderRequest,
    /// The PO's `orderDate`, written in the order reference.
    pub po_order_date: Option<DateTime<FixedOffset>>,
    /// Links from Brightpearl rows to PO lines, for this order and the
    /// orders its rows were cloned from.
    pub row_links: &'a [RowLink],
    /// Brightpearl units per PO unit, by PO line number, for lines mapped
    /// with a quantity factor; a line absent here has a factor of 1. Row
    /// quantities are divided by it, because Coupa bills in the PO's unit.
    pub quantity_factors: &'a BTreeMap<u32, Decimal>,
    pub buyer_invoicing: &'a BuyerInvoicing,
    /// The buyer's purchase-order credentials, the defaults of the invoice's.
    pub buyer_credentials: &'a BuyerCredentials,
    /// Row rules, of which the first that matches a row decides.
    pub rules: &'a [RowRule],
    pub kind: InvoiceKind,
    /// The number and date of the invoice a credit memo credits.
    pub original_invoice: Option<(String, DateTime<FixedOffset>)>,
    /// The Brightpearl account's time zone, whose calendar date of the tax
    /// date is the invoice date.
    pub time_zone: Tz,
    pub payload_id: &'a str,
    /// When the document is written.
    pub timestamp: DateTime<FixedOffset>,
    /// `Sender/UserAgent`, such as `pobridge 0.1.0`.
    pub user_agent: &'a str,
    /// The account's slug, for the commands that reasons suggest.
    pub account_slug: &'a str,
}

/// An invoice ready to write with [`pobridge_cxml::write_invoice`], and
/// what the store records with it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltInvoice {
    pub kind: InvoiceKind,
    pub document: InvoiceDocument,
    /// The quantity billed or credited per PO line, positive for credits
    /// too.
    pub lines: Vec<InvoicedLine>,
    /// Brightpearl's total of the order.
    pub brightpearl_total: Decimal,
    /// The document's net amount, negative for a credit with negative
    /// quantities.
    pub sent_total: Decimal,
    /// Messages for a person about problems that do not stop the invoice,
    /// such as a price that differs from the PO's.
    pub warnings: Vec<String>,
}

/// Brightpearl's invoice number, the invoice date and the currency.
struct Header {
    number: String,
    date: DateTime<FixedOffset>,
    currency: String,
}

/// Builds the invoice or credit for an invoiced Brightpearl order.
///
/// Returns every problem at once, each naming the row or setting and what
/// to do, so one look at the order fixes them all. A missing shared secret
/// is not one of them: the document then carries an empty secret, and
/// [`super::missing_for_coupa`] with [`super::check`] stops it from being
/// sent.
pub fn build_invoice(input: &BuildInput) -> Result<BuiltInvoice, Vec<String>> {
    let Parts {
        header,
        purpose,
        remit_to,
        tax,
        rows,
    } = read_parts(input)?;

    let settings = input.buyer_invoicing;
    let invoice = Invoice {
        invoice_id: header.number,
        invoice_date: header.date,
        purpose,
        currency: header.currency,
        order: OrderReference {
            order_id: input.po.header.order_id.clone(),
            order_date: input.po_order_date,
        },
        remit_to,
        tax_at_line: settings.tax_level == TaxLevel::Line,
        payment_term_days: settings.payment_term_days,
        lines: rows.lines,
        tax,
        shipping_amount: rows.shipping,
        special_handling_amount: rows.special_handling,
        comments: None,
        attachment_urls: Vec::new(),
    };

    let sent_total = document_total(&invoice);
    let brightpearl_total = brightpearl_total(input.order);
    let mut warnings = rows.warnings;
    if sent_total.abs() != cents(brightpearl_total).abs() {
        let cause = match rows.skipped_by_rule.as_slice() {
            [] => "see the other warnings for the rows left off or priced differently".to_owned(),
            skipped => format!(
                "skip rules leave off {}; any other warnings name further rows left off or \
                 priced differently",
                skipped.join(", ")
            ),
        };
        warnings.push(format!(
            "the invoice's total {sent_total} differs from Brightpearl's total {}: {cause}",
            cents(brightpearl_total)
        ));
    }
    Ok(BuiltInvoice {
        kind: input.kind,
        document: document(input, invoice),
        lines: rows.invoiced,
        brightpearl_total,
        sent_total,
        warnings,
    })
}

/// Returns the PO-line quantities the order's rows bill, or `None` when a
/// row matches no PO line. It needs no invoicing setting, so an invoice held
/// for a setting still records what it bills: a person who enters it in
/// Coupa by hand makes those quantities count as invoiced.
pub fn invoiced_lines(input: &BuildInput) -> Option<Vec<InvoicedLine>> {
    let rows = read_rows(input);
    rows.errors.is_empty().then_some(rows.invoiced)
}

/// The parts of an invoice read from the input, each checked.
struct Parts {
    header: Header,
    purpose: InvoicePurpose,
    remit_to: Option<RemitTo>,
    tax: InvoiceTax,
    rows: Rows,
}

fn read_parts(input: &BuildInput) -> Result<Parts, Vec<String>> {
    let mut errors = Vec::new();
    let header = keep(read_header(input), &mut errors);
    let purpose = keep(purpose(input), &mut errors);
    let remit_to = keep(remit_to(input.buyer_invoicing), &mut errors);

    let mut rows = read_rows(input);
    errors.append(&mut rows.errors);
    if rows.lines.is_empty() && errors.is_empty() {
        errors.push(no_line_reason(input));
    }
    let line_taxes = std::mem::take(&mut rows.line_taxes);
    let charge_taxes = std::mem::take(&mut rows.charge_taxes);
    let tax = apply_tax(
        input.buyer_invoicing,
        &mut rows.lines,
        line_taxes,
        charge_taxes,
    );
    let tax = tax
        .map_err(|mut tax_errors| errors.append(&mut tax_errors))
        .ok();

    match (header, purpose, remit_to, tax) {
        (Some(header), Some(purpose), Some(remit_to), Some(tax)) if errors.is_empty() => {
            Ok(Parts {
                header,
                purpose,
                remit_to,
                tax,
                rows,
            })
        }
        _ => Err(errors),
    }
}

/// Explains an order with no row to bill as a line. A credit for charges
/// alone (a refund of shipping) is usual, and Coupa requires a line on every
/// document, so a person enters it by hand. An invoice without a line
/// points at the row rules.
fn no_line_reason(input: &BuildInput) -> String {
    let order = input.order.id;
    match input.kind {
        InvoiceKind::Credit => {
            let number = input
                .order
                .issued_invoice()
                .map(|issued| issued.invoice_reference.trim())
                .unwrap_or_default();
            format!(
                "credit {order} refunds no PO line, only charges such as shipping or rows the \
                 row rules skip, and Coupa requires at least one line: enter the credit in the \
                 buyer's Coupa by hand, then record that with Entered in Coupa by hand on its \
                 page or `pobridge invoices {} confirm {number}`",
                input.account_slug
            )
        }
        InvoiceKind::Invoice => format!(
            "order {order} has no row to invoice as a line: check the row rules that skip or \
             classify its rows"
        ),
    }
}

fn keep<T>(result: Result<T, String>, errors: &mut Vec<String>) -> Option<T> {
    result.map_err(|error| errors.push(error)).ok()
}

fn document(input: &BuildInput, invoice: Invoice) -> InvoiceDocument {
    let settings = input.buyer_invoicing;
    let credentials = settings.credentials(input.buyer_credentials);
    let secret = settings.shared_secret.clone().unwrap_or_default();
    InvoiceDocument {
        payload_id: input.payload_id.to_owned(),
        timestamp: input.timestamp,
        from: credentials.from,
        to: credentials.to,
        sender: SenderCredential {
            domain: credentials.sender.domain,
            identity: credentials.sender.identity,
            shared_secret: Secret::new(secret),
        },
        user_agent: input.user_agent.to_owned(),
        dtd_version: settings.dtd_version.clone(),
        // NOTE: always production, because the input has no field for the
        // buyer's mode. The fix is to add one and copy it here.
        deployment_test: false,
        invoice,
    }
}

fn read_header(input: &BuildInput) -> Result<Header, String> {
    let order = input.order;
    let Some(issued) = order.issued_invoice() else {
        return Err(format!(
            "order {} has no invoice number yet (its invoice reference is empty or pending): \
             invoice the order in Brightpearl first",
            order.id
        ));
    };
    let Some(tax_date) = issued.tax_date else {
        return Err(format!(
            "invoice {} of order {} has no tax date: set the tax date in Brightpearl",
            issued.invoice_reference, order.id
        ));
    };

    let currency = order.currency_code.as_deref().map(str::trim);
    let po_currency = po_currency(input.po);
    let currency = match (currency, po_currency) {
        (None, _) => {
            return Err(format!(
                "order {} has no order currency: check the order in Brightpearl",
                order.id
            ))
        }
        (Some(ours), Some(theirs)) if ours != theirs => {
            return Err(format!(
                "order {} is in {ours} but PO {} is in {theirs}: Coupa accepts invoices only \
                 in the PO's currency, so invoice this order in Coupa by hand",
                order.id,
                input.po.header.order_id.trim()
            ))
        }
        (Some(ours), _) => ours.to_owned(),
    };

    Ok(Header {
        number: issued.invoice_reference.trim().to_owned(),
        date: invoice_date(tax_date, input.time_zone),
        currency,
    })
}

fn po_currency(po: &OrderRequest) -> Option<&str> {
    let line_currency = po
        .items
        .iter()
        .filter_map(|item| item.detail.as_ref())
        .map(|detail| detail.unit_price.currency.as_str())
        .next();
    let header_currency = po
        .header
        .total
        .as_ref()
        .map(|money| money.currency.as_str());
    line_currency.or(header_currency)
}

/// Returns the start of the tax date's calendar day in the account's zone.
/// Brightpearl writes tax dates as local midnight, which reads as the day
/// before when the stored offset is not the account's.
pub fn invoice_date(tax_date: DateTime<FixedOffset>, zone: Tz) -> DateTime<FixedOffset> {
    let local = tax_date.with_timezone(&zone);
    let midnight = local.date_naive().and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight).earliest() {
        Some(start) => start.fixed_offset(),
        // A change to summer time skipped midnight, so the day starts later.
        None => local.fixed_offset(),
    }
}

fn purpose(input: &BuildInput) -> Result<InvoicePurpose, String> {
    let credit_memo = input.kind == InvoiceKind::Credit
        && input.buyer_invoicing.credit_form == CreditForm::CreditMemo;
    if !credit_memo {
        return Ok(InvoicePurpose::Standard);
    }
    match &input.original_invoice {
        Some((number, date)) => Ok(InvoicePurpose::CreditMemo {
            original_invoice_id: number.clone(),
            original_invoice_date: Some(*date),
        }),
        None => Err(format!(
            "credit {} must name the invoice it credits, because the buyer's credit-form is \
             credit-memo: send the original invoice first, or set credit-form to \
             negative-quantities",
            input.order.id
        )),
    }
}

fn remit_to(settings: &BuyerInvoicing) -> Result<Option<RemitTo>, String> {
    let Some(address_id) = non_blank(&settings.remit_to_address_id) else {
        return Ok(None);
    };
    let Some(name) = non_blank(&settings.remit_to_name) else {
        return Err(
            "remit-to-name is missing: set it to our company name, which Coupa requires with \
             remit-to"
                .to_owned(),
        );
    };
    Ok(Some(RemitTo {
        address_id: address_id.to_owned(),
        name: name.to_owned(),
        tax_prefix: non_blank(&settings.supplier_tax_prefix).map(str::to_owned),
        tax_number: non_blank(&settings.supplier_tax_number).map(str::to_owned),
    }))
}

fn non_blank(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// Computes the net amount as the writer does: each line subtotal, the tax
/// and the charges rounded to cents, then added.
fn document_total(invoice: &Invoice) -> Decimal {
    let subtotal: Decimal = invoice
        .lines
        .iter()
        .map(|line| cents(line.quantity * line.unit_price))
        .sum();
    let charges = [invoice.shipping_amount, invoice.special_handling_amount];
    subtotal + cents(invoice.tax.amount) + charges.into_iter().flatten().map(cents).sum::<Decimal>()
}

fn brightpearl_total(order: &Order) -> Decimal {
    order.total_value.total.unwrap_or_else(|| {
        order
            .rows
            .iter()
            .filter(|row| !row.bundle_child)
            .map(|row| row.net + row.tax)
            .sum()
    })
}

/// Rounds to cents half away from zero, as the invoice writer does.
pub(super) fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}
