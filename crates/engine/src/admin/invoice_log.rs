//! The invoice log of the portal: an account's invoices and credits
//! filtered by status, invoice or PO number and invoice date, one page at a
//! time.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use pobridge_core::PoId;
use pobridge_store::{Account, InvoiceFilter, InvoiceKind, InvoiceRecord, InvoiceStatus};
use rust_decimal::Decimal;
use serde::Serialize;

use super::order_log::{account_zone, local_day, LogPage};
use super::{account, buyer_names, name_of, AdminError};
use crate::Engine;

/// Every invoice status, in the order a status filter lists them.
pub const INVOICE_STATUSES: [InvoiceStatus; 9] = [
    InvoiceStatus::Pending,
    InvoiceStatus::Held,
    InvoiceStatus::Sending,
    InvoiceStatus::Sent,
    InvoiceStatus::Failed,
    InvoiceStatus::ProbablyDelivered,
    InvoiceStatus::NeedsAttention,
    InvoiceStatus::ChangedAfterSending,
    InvoiceStatus::Superseded,
];

/// Invoices read from the store at once while the log looks for matches.
const SCAN_BATCH: i64 = 500;

/// A selection of the invoice log. The dates are local days of the
/// account's `time_zone` setting, both included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceLogQuery {
    pub status: Option<InvoiceStatus>,
    /// Part of the invoice number or of the PO number, ignoring case.
    pub search: Option<String>,
    /// The first invoice date shown.
    pub dated_from: Option<NaiveDate>,
    /// The last invoice date shown.
    pub dated_to: Option<NaiveDate>,
}

/// One invoice or credit as the invoice log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLogRow {
    pub id: pobridge_store::InvoiceId,
    pub invoice_number: String,
    pub po: PoId,
    pub po_number: String,
    pub buyer: String,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    /// The reason the invoice is held, failed or needs attention, or the
    /// action a person took.
    pub reason: Option<String>,
    /// ISO 4217 code of both totals.
    pub currency: String,
    pub brightpearl_total: Decimal,
    /// The total of the cXML document, once one is built.
    pub sent_total: Option<Decimal>,
    pub invoice_date: DateTime<FixedOffset>,
    pub updated_at: DateTime<Utc>,
}

/// One page of the invoice log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLog {
    /// Newest first, by when pobridge stored them.
    pub rows: Vec<InvoiceLogRow>,
    /// Whether more rows match after this page.
    pub has_more: bool,
    /// The IANA name of the time zone whose days the dates select.
    pub time_zone: String,
}

/// Reads one page of the account's invoices and credits that match
/// `query`, newest first.
pub async fn invoice_log(
    engine: &Engine,
    slug: &str,
    query: &InvoiceLogQuery,
    page: LogPage,
) -> Result<InvoiceLog, AdminError> {
    let account = account(engine, slug).await?;
    let end = page.offset + page.limit;

    let mut rows = matching_invoices(engine, &account, query, Some(end + 1)).await?;
    let has_more = rows.len() > end;
    rows.truncate(end);
    Ok(InvoiceLog {
        rows: rows.into_iter().skip(page.offset).collect(),
        has_more,
        time_zone: account_zone(&account).name().to_owned(),
    })
}

/// Reads the account's invoices that match `query`, newest first, and stops
/// once `max_rows` are found.
///
/// NOTE: the store searches invoice numbers but neither PO numbers nor
/// dates, so every invoice with the query's status is read in batches of
/// [`SCAN_BATCH`] and checked here, with one read of each distinct purchase
/// order. Date and PO-number filters in `InvoiceFilter` would let the
/// database do this.
pub(super) async fn matching_invoices(
    engine: &Engine,
    account: &Account,
    query: &InvoiceLogQuery,
    max_rows: Option<usize>,
) -> Result<Vec<InvoiceLogRow>, AdminError> {
    let zone = account_zone(account);
    let names = buyer_names(engine, account).await?;
    let search = query
        .search
        .as_deref()
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());
    let mut po_numbers: HashMap<PoId, String> = HashMap::new();
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let filter = InvoiceFilter {
            status: query.status,
            search: None,
            limit: Some(SCAN_BATCH),
            offset: Some(offset),
        };
        let batch = engine.store.list_invoices(account.id, &filter).await?;
        let exhausted = (batch.len() as i64) < SCAN_BATCH;
        offset += batch.len() as i64;

        for record in batch {
            let day = local_day(record.invoice_date.with_timezone(&Utc), zone);
            let in_range = query.dated_from.is_none_or(|from| day >= from)
                && query.dated_to.is_none_or(|to| day <= to);
            if !in_range {
                continue;
            }
            let po_number = po_number(engine, account, &mut po_numbers, record.po).await?;
            let matches = search.as_deref().is_none_or(|text| {
                record.invoice_number.to_lowercase().contains(text)
                    || po_number.to_lowercase().contains(text)
            });
            if !matches {
                continue;
            }
            let buyer = name_of(&names, record.buyer);
            found.push(log_row(record, po_number, buyer));
            if max_rows.is_some_and(|max_rows| found.len() >= max_rows) {
                return Ok(found);
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}

/// Returns the number of purchase order `po`, reading it once.
async fn po_number(
    engine: &Engine,
    account: &Account,
    known: &mut HashMap<PoId, String>,
    po: PoId,
) -> Result<String, AdminError> {
    if let Some(number) = known.get(&po) {
        return Ok(number.clone());
    }
    let number = engine.store.purchase_order(account.id, po).await?.number.0;
    known.insert(po, number.clone());
    Ok(number)
}

fn log_row(record: InvoiceRecord, po_number: String, buyer: String) -> InvoiceLogRow {
    InvoiceLogRow {
        id: record.id,
        sent_total: record.is_built().then_some(record.sent_total),
        invoice_number: record.invoice_number,
        po: record.po,
        po_number,
        buyer,
        kind: record.kind,
        status: record.status,
        reason: record.reason,
        currency: record.currency,
        brightpearl_total: record.brightpearl_total,
        invoice_date: record.invoice_date,
        updated_at: record.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::log_fixtures::{account_with_buyer, engine_at, invoice, receive, set_zone};

    const ALL: LogPage = LogPage {
        offset: 0,
        limit: 100,
    };

    fn numbers(log: &InvoiceLog) -> Vec<&str> {
        log.rows
            .iter()
            .map(|row| row.invoice_number.as_str())
            .collect()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// INV-1 of PO-100 dated 9 May and INV-2 of PO-200 dated 10 May, in
    /// London; INV-2 was stored last.
    async fn two_invoices() -> Engine {
        let (engine, _clock) = engine_at("2024-05-10T12:00:00Z").await;
        let (account, buyer) = account_with_buyer(&engine, "acme").await;
        set_zone(&engine, account, "Europe/London").await;
        let first = receive(
            &engine,
            account,
            buyer,
            "PO-100",
            "2024-05-09T08:00:00Z",
            "<x/>",
        )
        .await;
        let second = receive(
            &engine,
            account,
            buyer,
            "PO-200",
            "2024-05-10T08:00:00Z",
            "<x/>",
        )
        .await;
        invoice(
            &engine,
            account,
            buyer,
            first,
            "INV-1",
            "2024-05-09T12:00:00+00:00",
        )
        .await;
        // 23:30 UTC on 9 May is 00:30 on 10 May in London.
        invoice(
            &engine,
            account,
            buyer,
            second,
            "INV-2",
            "2024-05-09T23:30:00+00:00",
        )
        .await;
        engine
    }

    #[tokio::test]
    async fn search_matches_invoice_or_po_number() {
        let engine = two_invoices().await;
        let by = |text: &str| InvoiceLogQuery {
            search: Some(text.to_owned()),
            ..InvoiceLogQuery::default()
        };

        let invoice_number = invoice_log(&engine, "acme", &by("inv-1"), ALL)
            .await
            .unwrap();
        let po_number = invoice_log(&engine, "acme", &by("po-200"), ALL)
            .await
            .unwrap();
        let both = invoice_log(&engine, "acme", &by(" "), ALL).await.unwrap();

        assert_eq!(numbers(&invoice_number), ["INV-1"]);
        assert_eq!(numbers(&po_number), ["INV-2"]);
        assert_eq!(po_number.rows[0].po_number, "PO-200");
        assert_eq!(numbers(&both), ["INV-2", "INV-1"]);
    }

    #[tokio::test]
    async fn dates_select_local_invoice_days() {
        let engine = two_invoices().await;
        let on = |date: &str| InvoiceLogQuery {
            dated_from: Some(day(date)),
            dated_to: Some(day(date)),
            ..InvoiceLogQuery::default()
        };

        let ninth = invoice_log(&engine, "acme", &on("2024-05-09"), ALL)
            .await
            .unwrap();
        let tenth = invoice_log(&engine, "acme", &on("2024-05-10"), ALL)
            .await
            .unwrap();

        assert_eq!(numbers(&ninth), ["INV-1"]);
        assert_eq!(numbers(&tenth), ["INV-2"]);
        assert_eq!(tenth.time_zone, "Europe/London");
    }

    #[tokio::test]
    async fn status_and_pages_narrow_the_log() {
        let engine = two_invoices().await;
        let failed = InvoiceLogQuery {
            status: Some(InvoiceStatus::Failed),
            ..InvoiceLogQuery::default()
        };
        let first = LogPage {
            offset: 0,
            limit: 1,
        };
        let second = LogPage {
            offset: 1,
            limit: 1,
        };

        let none = invoice_log(&engine, "acme", &failed, ALL).await.unwrap();
        let one = invoice_log(&engine, "acme", &InvoiceLogQuery::default(), first)
            .await
            .unwrap();
        let two = invoice_log(&engine, "acme", &InvoiceLogQuery::default(), second)
            .await
            .unwrap();

        assert!(none.rows.is_empty());
        assert_eq!(numbers(&one), ["INV-2"]);
        assert!(one.has_more);
        assert_eq!(numbers(&two), ["INV-1"]);
        assert!(!two.has_more);
    }

    #[tokio::test]
    async fn other_accounts_invoices_are_not_listed() {
        let engine = two_invoices().await;
        account_with_buyer(&engine, "globex").await;

        let log = invoice_log(&engine, "globex", &InvoiceLogQuery::default(), ALL)
            .await
            .unwrap();

        assert!(log.rows.is_empty());
    }
}
