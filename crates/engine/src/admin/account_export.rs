//! The export of an account's logs and mappings as CSV files, one file per
//! kind of record: orders, their timelines, invoices, item mappings,
//! customer mappings and the audit trail.
//!
//! Every file starts with a UTF-8 byte order mark and a header line, and
//! times are in UTC as RFC 3339, except an invoice's date, which keeps the
//! offset it was written with. Text fields get the spreadsheet-formula
//! guard of [`super::item_csv`]. Numbers, ids and times are written as they
//! are, because a spreadsheet reads `-12.50` as a number, not a formula.
//! The item mappings file is the one the portal's items page imports.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use pobridge_core::BuyerId;
use pobridge_store::{Account, InvoiceFilter, InvoiceKind, InvoiceRecord, PoFilter, PurchaseOrder};

use super::item_csv::{escape_formula, export_item_mappings};
use super::{account, AdminError};
use crate::Engine;

/// Audit entries read per store call.
const AUDIT_PAGE: i64 = 500;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// One CSV file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// File name, such as `orders.csv`.
    pub name: &'static str,
    /// Records below the header line.
    pub rows: usize,
    pub contents: Vec<u8>,
}

/// Every file of an account's export and the time it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountExport {
    pub files: Vec<ExportFile>,
    pub created_at: DateTime<Utc>,
}

/// Reads the account's orders, order events, invoices, item mappings,
/// customer mappings and audit trail, and writes each as a CSV file.
pub async fn export_account(engine: &Engine, slug: &str) -> Result<AccountExport, AdminError> {
    let account = account(engine, slug).await?;
    let created_at = engine.clock.now();
    let buyers: HashMap<BuyerId, String> = engine
        .store
        .list_buyers(account.id)
        .await?
        .into_iter()
        .map(|buyer| (buyer.id, buyer.name))
        .collect();
    let names = BuyerNames(buyers);

    let orders = engine
        .store
        .list_purchase_orders(account.id, &PoFilter::default())
        .await?;
    let invoices = engine
        .store
        .list_invoices(account.id, &InvoiceFilter::default())
        .await?;

    let files = vec![
        orders_file(&orders, &names),
        events_file(engine, &account, &orders, &names).await?,
        invoices_file(&invoices, &orders, &names),
        item_mappings_file(engine, slug).await?,
        customer_mappings_file(engine, &account, &names).await?,
        audit_file(engine, &account).await?,
    ];
    Ok(AccountExport { files, created_at })
}

/// Buyer names by id. A buyer missing from the map is shown by its id.
struct BuyerNames(HashMap<BuyerId, String>);

impl BuyerNames {
    fn name(&self, id: BuyerId) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }
}

fn orders_file(orders: &[PurchaseOrder], names: &BuyerNames) -> ExportFile {
    let header = [
        "buyer",
        "po_number",
        "status",
        "reason",
        "brightpearl_order_id",
        "received_at",
        "updated_at",
    ];
    let rows = orders.iter().map(|order| {
        vec![
            text(&names.name(order.buyer_id)),
            text(&order.number.0),
            order.status.as_str().to_owned(),
            text(order.reason.as_deref().unwrap_or("")),
            optional(order.brightpearl_order_id),
            utc(order.created_at),
            utc(order.updated_at),
        ]
    });
    csv_file("orders.csv", &header, rows)
}

async fn events_file(
    engine: &Engine,
    account: &Account,
    orders: &[PurchaseOrder],
    names: &BuyerNames,
) -> Result<ExportFile, AdminError> {
    let header = ["buyer", "po_number", "at", "status", "message"];
    let mut rows = Vec::new();
    for order in orders {
        let events = engine.store.events(account.id, order.id).await?;
        rows.extend(events.into_iter().map(|event| {
            vec![
                text(&names.name(order.buyer_id)),
                text(&order.number.0),
                utc(event.at),
                event.status.as_str().to_owned(),
                text(&event.message),
            ]
        }));
    }
    Ok(csv_file("order_events.csv", &header, rows.into_iter()))
}

fn invoices_file(
    invoices: &[InvoiceRecord],
    orders: &[PurchaseOrder],
    names: &BuyerNames,
) -> ExportFile {
    let po_numbers: HashMap<_, _> = orders
        .iter()
        .map(|order| (order.id, order.number.0.as_str()))
        .collect();
    let header = [
        "buyer",
        "invoice_number",
        "po_number",
        "kind",
        "status",
        "reason",
        "brightpearl_order_id",
        "invoice_date",
        "currency",
        "brightpearl_total",
        "sent_total",
        "created_at",
        "updated_at",
        "sent_at",
        "document_removed_at",
    ];
    let rows = invoices.iter().map(|invoice| {
        let kind = match invoice.kind {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::Credit => "credit",
        };
        vec![
            text(&names.name(invoice.buyer)),
            text(&invoice.invoice_number),
            text(po_numbers.get(&invoice.po).copied().unwrap_or("")),
            kind.to_owned(),
            invoice.status.as_str().to_owned(),
            text(invoice.reason.as_deref().unwrap_or("")),
            invoice.brightpearl_order_id.to_string(),
            invoice
                .invoice_date
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            text(&invoice.currency),
            invoice.brightpearl_total.to_string(),
            // Empty for an invoice never built, as the invoice list shows it,
            // so a reader does not take 0 for an amount sent to Coupa.
            if invoice.is_built() {
                invoice.sent_total.to_string()
            } else {
                String::new()
            },
            utc(invoice.created_at),
            utc(invoice.updated_at),
            invoice.sent_at.map(utc).unwrap_or_default(),
            invoice.document_removed_at.map(utc).unwrap_or_default(),
        ]
    });
    csv_file("invoices.csv", &header, rows)
}

/// Reuses the items page's export, so the file imports back there.
async fn item_mappings_file(engine: &Engine, slug: &str) -> Result<ExportFile, AdminError> {
    let contents = export_item_mappings(engine, slug).await?;
    let rows = csv::Reader::from_reader(contents.as_slice())
        .records()
        .count();
    Ok(ExportFile {
        name: "item_mappings.csv",
        rows,
        contents,
    })
}

async fn customer_mappings_file(
    engine: &Engine,
    account: &Account,
    names: &BuyerNames,
) -> Result<ExportFile, AdminError> {
    let mappings = engine.store.chosen_customer_mappings(account.id).await?;
    let header = [
        "buyer",
        "bill_to_address_id",
        "contact_id",
        "chosen_by",
        "updated_at",
    ];
    let rows = mappings.iter().map(|chosen| {
        let mapping = &chosen.mapping;
        vec![
            text(&names.name(mapping.buyer)),
            text(mapping.bill_to_address_id.as_deref().unwrap_or("")),
            mapping.contact_id.to_string(),
            text(chosen.chosen_by.as_deref().unwrap_or("")),
            utc(chosen.updated_at),
        ]
    });
    Ok(csv_file("customer_mappings.csv", &header, rows))
}

/// Writes the whole audit trail, oldest first, reading it page by page.
async fn audit_file(engine: &Engine, account: &Account) -> Result<ExportFile, AdminError> {
    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let page = engine
            .store
            .audit_page(account.id, before, AUDIT_PAGE)
            .await?;
        let full = page.len() as i64 == AUDIT_PAGE;
        before = page.last().map(|entry| entry.id);
        entries.extend(page);
        if !full {
            break;
        }
    }
    entries.reverse();

    let header = ["at", "actor", "action", "detail"];
    let rows = entries.iter().map(|entry| {
        vec![
            utc(entry.at),
            text(&entry.actor),
            text(&entry.action),
            text(&entry.detail),
        ]
    });
    Ok(csv_file("audit.csv", &header, rows))
}

fn csv_file(
    name: &'static str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> ExportFile {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BYTE_ORDER_MARK.to_vec());
    // The writer's only errors are I/O errors, and writing to a Vec has none.
    writer
        .write_record(header)
        .expect("writing CSV to memory cannot fail");
    let mut count = 0;
    for row in rows {
        writer
            .write_record(&row)
            .expect("writing CSV to memory cannot fail");
        count += 1;
    }
    let contents = writer
        .into_inner()
        .expect("writing CSV to memory cannot fail");
    ExportFile {
        name,
        rows: count,
        contents,
    }
}

fn text(value: &str) -> String {
    escape_formula(value)
}

fn optional(value: Option<i64>) -> String {
    value.map(|id| id.to_string()).unwrap_or_default()
}

fn utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_file_guards_formulas_and_counts_rows() {
        let rows = vec![
            vec![text("=HYPERLINK(\"x\")"), text("plain")],
            vec![text("@sum"), "-12.50".to_owned()],
        ];

        let file = csv_file("test.csv", &["a", "b"], rows.into_iter());

        let written = String::from_utf8(file.contents).unwrap();
        assert_eq!(file.rows, 2);
        assert!(written.starts_with("\u{feff}a,b\r\n"), "{written}");
        assert!(
            written.contains("\"'=HYPERLINK(\"\"x\"\")\",plain"),
            "{written}"
        );
        assert!(written.contains("'@sum,-12.50"), "{written}");
    }
}
