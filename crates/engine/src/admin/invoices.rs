//! The invoice log and the detail of one invoice or credit sent, or to be
//! sent, to a buyer's Coupa.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use pobridge_core::PoId;
use pobridge_store::{
    Account, Buyer, InvoiceFilter, InvoiceKind, InvoiceRecord, InvoiceStatus, StoreError,
};
use rust_decimal::Decimal;
use serde::Serialize;

use super::invoice_log::INVOICE_STATUSES;
use super::MASKED_SECRET;
use super::{account, buyer_names, find_buyer, invalid, known_list, name_of, AdminError};
use crate::invoicing::BuyerInvoicing;
use crate::Engine;

/// One invoice or credit as the invoice log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRow {
    pub invoice_number: String,
    pub po_number: String,
    pub buyer: String,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    /// The reason the invoice is held, failed or needs attention, or the
    /// action a person took.
    pub reason: Option<String>,
    /// HTTP status of Coupa's last response.
    pub coupa_status: Option<u16>,
    /// Status text of Coupa's last response.
    pub coupa_text: Option<String>,
    /// ISO 4217 code of both totals.
    pub currency: String,
    /// The total Brightpearl shows for the invoice.
    pub brightpearl_total: Decimal,
    /// The total of the cXML document, which may differ after rounding and
    /// is negative for a credit sent as negative quantities. `None` while
    /// no document is built, as for an invoice held before its first build.
    pub sent_total: Option<Decimal>,
    /// True when a document is built and its total differs from
    /// Brightpearl's. A credit's totals are compared without their sign,
    /// because Brightpearl's is positive whatever form the credit is sent in.
    pub totals_differ: bool,
    pub invoice_date: DateTime<FixedOffset>,
    pub updated_at: DateTime<Utc>,
}

impl InvoiceRow {
    fn new(record: &InvoiceRecord, po_number: String, buyer: String) -> Self {
        Self {
            invoice_number: record.invoice_number.clone(),
            po_number,
            buyer,
            kind: record.kind,
            status: record.status,
            reason: record.reason.clone(),
            coupa_status: record.coupa_status,
            coupa_text: record.coupa_text.clone(),
            currency: record.currency.clone(),
            brightpearl_total: record.brightpearl_total,
            sent_total: record.is_built().then_some(record.sent_total),
            totals_differ: totals_differ(record),
            invoice_date: record.invoice_date,
            updated_at: record.updated_at,
        }
    }
}

fn totals_differ(record: &InvoiceRecord) -> bool {
    if !record.is_built() {
        return false;
    }
    match record.kind {
        InvoiceKind::Credit => record.brightpearl_total.abs() != record.sent_total.abs(),
        InvoiceKind::Invoice => record.brightpearl_total != record.sent_total,
    }
}

/// The selection of [`list_invoices`], as the operator typed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceQuery {
    /// An invoice status such as `failed`.
    pub status: Option<String>,
    /// Part of the invoice number, ignoring case.
    pub search: Option<String>,
    /// The maximum number of rows, newest first. `None` returns every row.
    pub limit: Option<i64>,
}

/// Lists an account's invoices and credits, newest first.
pub async fn list_invoices(
    engine: &Engine,
    slug: &str,
    query: &InvoiceQuery,
) -> Result<Vec<InvoiceRow>, AdminError> {
    let status = query.status.as_deref().map(parse_status).transpose()?;
    if let Some(limit) = query.limit.filter(|limit| *limit < 1) {
        return Err(invalid("--limit", &limit.to_string(), "a number above 0"));
    }
    let account = account(engine, slug).await?;

    let filter = InvoiceFilter {
        status,
        search: query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        limit: query.limit,
        offset: None,
    };
    let records = engine.store.list_invoices(account.id, &filter).await?;
    rows(engine, &account, &records).await
}

/// Parses an invoice status as the store names it, such as `failed`.
pub(super) fn parse_status(value: &str) -> Result<InvoiceStatus, AdminError> {
    InvoiceStatus::parse(value.trim()).ok_or_else(|| {
        let names: Vec<&str> = INVOICE_STATUSES
            .iter()
            .map(|status| status.as_str())
            .collect();
        invalid("--status", value, format!("one of {}", names.join(", ")))
    })
}

/// Builds log rows, reading each purchase order's number once.
async fn rows(
    engine: &Engine,
    account: &Account,
    records: &[InvoiceRecord],
) -> Result<Vec<InvoiceRow>, AdminError> {
    let names = buyer_names(engine, account).await?;
    let mut po_numbers: HashMap<PoId, String> = HashMap::new();
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let po_number = match po_numbers.get(&record.po) {
            Some(number) => number.clone(),
            None => {
                let po = engine.store.purchase_order(account.id, record.po).await?;
                po_numbers.insert(record.po, po.number.0.clone());
                po.number.0
            }
        };
        rows.push(InvoiceRow::new(
            record,
            po_number,
            name_of(&names, record.buyer),
        ));
    }
    Ok(rows)
}

/// One invoice line: a quantity of one purchase-order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLineView {
    pub po_line_number: u32,
    pub quantity: Decimal,
}

/// One invoice or credit with every stored field, its document and the
/// purchase order's other invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceDetail {
    #[serde(flatten)]
    pub summary: InvoiceRow,
    /// The Brightpearl order (or credit) the invoice was raised on.
    pub brightpearl_order_id: i64,
    pub lines: Vec<InvoiceLineView>,
    /// Send attempts that counted.
    pub attempts: i32,
    /// True once an attempt's outcome was unknown, so Coupa may hold a copy.
    pub outcome_unknown: bool,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The cXML document, with shared secrets and card numbers masked. It
    /// is empty when none was built yet or retention removed it.
    pub document: String,
    /// When retention removed the document.
    pub document_removed_at: Option<DateTime<Utc>>,
    /// The purchase order's other invoices and credits, oldest first.
    pub other_invoices: Vec<InvoiceRow>,
}

/// Shows one invoice or credit by its number. `buyer` is needed only when
/// several buyers have an invoice with that number.
pub async fn show_invoice(
    engine: &Engine,
    slug: &str,
    number: &str,
    buyer: Option<&str>,
) -> Result<InvoiceDetail, AdminError> {
    let account = account(engine, slug).await?;
    let (record, owner) = find_invoice_for(engine, &account, number, buyer).await?;

    let siblings = engine.store.invoices_for_po(account.id, record.po).await?;
    let others: Vec<InvoiceRecord> = siblings
        .into_iter()
        .filter(|other| other.id != record.id)
        .collect();
    let mut listed = rows(engine, &account, std::slice::from_ref(&record)).await?;
    let summary = listed.remove(0);

    Ok(InvoiceDetail {
        summary,
        brightpearl_order_id: record.brightpearl_order_id,
        lines: record
            .lines
            .iter()
            .map(|line| InvoiceLineView {
                po_line_number: line.po_line_number,
                quantity: line.quantity,
            })
            .collect(),
        attempts: record.attempts,
        outcome_unknown: record.outcome_unknown,
        created_at: record.created_at,
        sent_at: record.sent_at,
        document: masked_document(&record.document, &owner),
        document_removed_at: record.document_removed_at,
        other_invoices: rows(engine, &account, &others).await?,
    })
}

/// Returns the stored document with its shared secrets and card numbers
/// masked. The store keeps it masked already; masking again means a
/// document stored unmasked by mistake is still not printed.
fn masked_document(document: &str, buyer: &Buyer) -> String {
    let masked = pobridge_cxml::mask_secrets(document.as_bytes());
    let mut text = String::from_utf8_lossy(&masked).into_owned();
    let secret = BuyerInvoicing::from_json(&buyer.invoicing)
        .ok()
        .and_then(|settings| settings.shared_secret)
        .filter(|secret| !secret.trim().is_empty());
    if let Some(secret) = secret {
        if text.contains(&secret) {
            tracing::warn!(buyer.id = %buyer.id, "stored invoice document contained the invoicing shared secret; masked it for display");
            text = text.replace(&secret, MASKED_SECRET);
        }
    }
    text
}

/// Finds an invoice of the account by number, among one buyer's invoices
/// when `buyer` names one.
pub(super) async fn find_invoice_for(
    engine: &Engine,
    account: &Account,
    number: &str,
    buyer: Option<&str>,
) -> Result<(InvoiceRecord, Buyer), AdminError> {
    let buyer = match buyer {
        Some(value) => Some(find_buyer(engine, account, value).await?),
        None => None,
    };
    find_invoice(engine, account, number, buyer.as_ref()).await
}

/// Finds an invoice by number among `buyer`'s invoices, or every buyer's.
/// Invoice numbers are unique per buyer, so without a buyer the number may
/// name several invoices, which is an error that lists their buyers.
pub(super) async fn find_invoice(
    engine: &Engine,
    account: &Account,
    number: &str,
    buyer: Option<&Buyer>,
) -> Result<(InvoiceRecord, Buyer), AdminError> {
    let number = number.trim();
    let buyers = match buyer {
        Some(buyer) => vec![buyer.clone()],
        None => engine.store.list_buyers(account.id).await?,
    };
    let mut found = Vec::new();
    for buyer in buyers {
        match engine
            .store
            .invoice_by_number(account.id, buyer.id, number)
            .await
        {
            Ok(Some(record)) => found.push((record, buyer)),
            Ok(None) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(AdminError::InvoiceNotFound {
            account: account.slug.to_string(),
            number: number.to_owned(),
            buyer: buyer.map(|buyer| buyer.name.clone()),
        }),
        _ => Err(AdminError::InvoiceAmbiguous {
            number: number.to_owned(),
            buyers: known_list(found.into_iter().map(|(_, buyer)| buyer.name)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer_with_secret(secret: &str) -> Buyer {
        Buyer {
            invoicing: serde_json::json!({ "shared_secret": secret }),
            ..crate::admin::test_buyer()
        }
    }

    #[test]
    fn document_secret_element_is_masked() {
        let document = "<cXML><Header><Sender><Credential domain=\"DUNS\"><Identity>1</Identity>\
                        <SharedSecret>inv-s3cret</SharedSecret></Credential></Sender></Header></cXML>";

        let masked = masked_document(document, &buyer_with_secret("inv-s3cret"));

        assert!(!masked.contains("inv-s3cret"), "{masked}");
        assert!(masked.contains("<SharedSecret>"), "{masked}");
    }

    #[test]
    fn configured_secret_outside_element_is_masked() {
        let document = "<cXML><Comments>inv-s3cret</Comments></cXML>";

        let masked = masked_document(document, &buyer_with_secret("inv-s3cret"));

        assert_eq!(
            masked,
            format!("<cXML><Comments>{MASKED_SECRET}</Comments></cXML>")
        );
    }
}
