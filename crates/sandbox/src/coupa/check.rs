//! Coupa's checks on a posted invoice, in the order Coupa reports them:
//! parsing, DTD version, DTD structure, credentials, purchase-order
//! references, lines, a credit memo's original invoice, invoice number,
//! header charges.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::invoice::{self, Credential, Header, Invoice, InvoiceLine};
use super::multipart::{self, InvoiceAttachment, MultipartError};
use super::status::Status;
use super::tree::{self, ReadFailure};
use super::{AcceptedInvoice, CoupaBuyerConfig, InvoicedLine, IssuedLine, IssuedPo, State};

/// Checks a posted body against the registered buyers, orders and earlier
/// invoices. Returns the accepting buyer's index and the invoice to record,
/// or the status that rejects it.
pub(crate) fn assess(
    state: &State,
    content_type: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(usize, AcceptedInvoice), Status> {
    let (document, attachments) = unpack(content_type, body)?;
    let root = tree::read(&document).map_err(|failure| match failure {
        ReadFailure::Unparsable => Status::unparsable(),
        ReadFailure::UnsupportedVersion => Status::unsupported_version(),
    })?;
    if let Some(detail) = super::dtd::first_violation(&root) {
        return Err(Status::dtd_invalid(&detail));
    }

    let buyer_index = find_buyer(&state.buyers, &invoice::header(&root))
        .ok_or_else(Status::invalid_credentials)?;
    let buyer = &state.buyers[buyer_index];
    // NOTE: Coupa's status for an unreadable amount or quantity is not
    // published, so "Invalid attributes in document." is a guess.
    let invoice = invoice::invoice(&root)
        .map_err(|_| Status::invalid_attributes())?
        .ok_or_else(Status::server_error)?;

    let lines = match_lines(&state.orders, &invoice)?;
    // NOTE: Coupa documents that a credit memo needs its original invoice
    // number, but requiring one it accepted is an assumption.
    if invoice.purpose == "creditMemo" && !credits_a_known_invoice(state, buyer_index, &invoice) {
        return Err(Status::server_error());
    }
    let reused = state
        .accepted
        .iter()
        .any(|(index, earlier)| *index == buyer_index && earlier.invoice_id == invoice.invoice_id);
    if reused {
        return Err(Status::invalid_attributes());
    }
    if !buyer.allow_header_charges && has_header_charges(&invoice) {
        return Err(Status::extra_charges());
    }

    let po_numbers: Vec<String> = invoice
        .orders
        .iter()
        .filter_map(|order| order.po_number.clone())
        .collect();
    let accepted = AcceptedInvoice {
        invoice_id: invoice.invoice_id.clone(),
        purpose: invoice.purpose.clone(),
        original_invoice_id: invoice.original_invoice_id.clone(),
        po_number: po_numbers.first().cloned().unwrap_or_default(),
        po_numbers,
        supplier_name: buyer.supplier_name.clone(),
        total: invoice.summary.total(),
        currency: invoice.summary.currency.clone(),
        lines,
        attachments,
        received_at: now,
        raw: String::from_utf8_lossy(&document).into_owned(),
    };
    Ok((buyer_index, accepted))
}

/// Separates the cXML document and the attachments of a single or
/// multipart body.
fn unpack(content_type: &str, body: &[u8]) -> Result<(Vec<u8>, Vec<InvoiceAttachment>), Status> {
    if !multipart::is_multipart(content_type) {
        return Ok((body.to_vec(), Vec::new()));
    }
    // NOTE: Coupa documents both 500 and 502 for a multipart body whose
    // CRLFs were changed to LFs. The sandbox sends 502, the code in Coupa's
    // error table.
    match multipart::split(content_type, body) {
        Ok(split) => Ok((split.document, split.attachments)),
        Err(MultipartError::NotCrlf) => Err(Status::bad_gateway()),
        Err(MultipartError::Malformed) => Err(Status::unparsable()),
    }
}

/// Finds the first buyer whose From, To and Sender credentials and shared
/// secret all match. Domains compare case-insensitively, identities exactly.
fn find_buyer(buyers: &[CoupaBuyerConfig], header: &Header) -> Option<usize> {
    buyers.iter().position(|buyer| {
        let sender_ok = header.sender.iter().any(|credential| {
            same_party(credential, &buyer.sender)
                && credential.shared_secret.as_deref() == Some(buyer.shared_secret.as_str())
        });
        header
            .from
            .iter()
            .any(|c| same_party(c, &buyer.invoice_from))
            && header.to.iter().any(|c| same_party(c, &buyer.invoice_to))
            && sender_ok
    })
}

fn same_party(credential: &Credential, (domain, identity): &(String, String)) -> bool {
    credential.domain.eq_ignore_ascii_case(domain.trim()) && credential.identity == identity.trim()
}

/// Matches every line of every referenced purchase order, returning the
/// lines as recorded. Lines of blocks without an `OrderReference` (contract
/// or non-PO lines) are recorded unmatched.
fn match_lines(
    orders: &std::collections::BTreeMap<String, IssuedPo>,
    invoice: &Invoice,
) -> Result<Vec<InvoicedLine>, Status> {
    let mut recorded = Vec::new();
    for block in &invoice.orders {
        let po = match &block.po_number {
            Some(number) => Some(
                orders
                    .get(number)
                    .ok_or_else(|| Status::unknown_order(number))?,
            ),
            None => None,
        };
        for line in &block.lines {
            let po_line = po.map(|po| match_line(po, line)).transpose()?;
            recorded.push(InvoicedLine {
                po_number: block.po_number.clone(),
                po_line_number: po_line.map(|l| l.line_number),
                service: line.service,
                supplier_part_id: line.supplier_part_id.clone(),
                unit_of_measure: line.unit_of_measure.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                subtotal: line.subtotal,
            });
        }
    }
    Ok(recorded)
}

/// Finds the PO line an invoice line refers to: by line number, or when
/// that is blank by supplier part id and unit of measure, as Coupa does.
fn match_line<'a>(po: &'a IssuedPo, line: &InvoiceLine) -> Result<&'a IssuedLine, Status> {
    let found = match &line.line_number {
        Some(number) => number
            .parse::<u32>()
            .ok()
            .and_then(|n| po.lines.iter().find(|l| l.line_number == n)),
        None => po.lines.iter().find(|l| {
            line.supplier_part_id.as_deref() == Some(l.supplier_part_id.trim())
                && line.unit_of_measure.as_deref() == Some(l.unit_of_measure.trim())
        }),
    };
    let po_line = found.ok_or_else(Status::server_error)?;

    // A quantity line must state its unit; a service line only may.
    let uom_matches = match &line.unit_of_measure {
        Some(uom) => uom == po_line.unit_of_measure.trim(),
        None => line.service,
    };
    if !uom_matches {
        return Err(Status::server_error());
    }
    if line.service != po_line.service {
        return Err(Status::line_type_mismatch());
    }
    Ok(po_line)
}

/// True when a credit memo's header `DocumentReference` names an invoice
/// this buyer's supplier sent and Coupa accepted.
fn credits_a_known_invoice(state: &State, buyer_index: usize, invoice: &Invoice) -> bool {
    let Some(original) = &invoice.original_invoice_id else {
        return false;
    };
    state
        .accepted
        .iter()
        .any(|(index, earlier)| *index == buyer_index && earlier.invoice_id == *original)
}

fn has_header_charges(invoice: &Invoice) -> bool {
    let summary = &invoice.summary;
    [summary.shipping, summary.special_handling]
        .iter()
        .flatten()
        .any(|amount| *amount != Decimal::ZERO)
}
