//! Invoices and credits sent (or to send) to a buyer's Coupa, with their
//! lines, and the quantities they have invoiced per purchase-order line.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId};
use rust_decimal::Decimal;
use sqlx::SqliteConnection;

use super::codec::{
    conflict_on_unique, corrupt, decode_decimal, decode_enum, decode_offset_time,
    decode_optional_time, decode_time, encode_enum, encode_json, encode_offset_time, encode_time,
    not_found, page,
};
use super::invoicing::decode_line_number;
use super::orders::ensure_po;
use super::SqliteStore;
use crate::{
    InvoiceContent, InvoiceFilter, InvoiceId, InvoiceKind, InvoiceRecord, InvoiceStatus,
    InvoiceUpdate, InvoicedLine, NewInvoice, NewJob, StoreResult, NOT_INVOICED,
};

const INVOICE_COLUMNS: &str = "id, account_id, po_id, buyer_id, brightpearl_order_id, \
    invoice_number, kind, invoice_date, invoice_date_offset_seconds, currency, \
    brightpearl_total, sent_total, document, status, reason, attempts, outcome_unknown, \
    coupa_status, coupa_text, created_at, updated_at, sent_at, document_removed_at";

/// Stores the invoice, its lines and, when given, `job`, in one transaction.
pub(super) async fn create_invoice(
    store: &SqliteStore,
    account: AccountId,
    invoice: &NewInvoice,
    job: Option<&NewJob>,
    now: DateTime<Utc>,
) -> StoreResult<InvoiceRecord> {
    create(store, account, invoice, |_| job.cloned(), now).await
}

/// Stores the invoice, its lines and the job `job_for` makes from the new
/// invoice's id, in one transaction.
pub(super) async fn create_invoice_with_job(
    store: &SqliteStore,
    account: AccountId,
    invoice: &NewInvoice,
    job_for: &(dyn Fn(InvoiceId) -> NewJob + Send + Sync),
    now: DateTime<Utc>,
) -> StoreResult<InvoiceRecord> {
    create(store, account, invoice, |id| Some(job_for(id)), now).await
}

async fn create(
    store: &SqliteStore,
    account: AccountId,
    invoice: &NewInvoice,
    job_for: impl FnOnce(InvoiceId) -> Option<NewJob>,
    now: DateTime<Utc>,
) -> StoreResult<InvoiceRecord> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.begin_write().await?;
    ensure_po_of_buyer(&mut tx, account, invoice.po, invoice.buyer).await?;
    let id = insert_invoice(&mut tx, account, invoice, now).await?;
    insert_lines(&mut tx, id, &invoice.lines).await?;
    if let Some(job) = job_for(id) {
        // A job of another account would run outside the tenant that asked for it.
        if job.account != account {
            return Err(not_found("account", job.account));
        }
        super::jobs::enqueue_in(&mut tx, &job, now).await?;
    }
    tx.commit().await?;

    Ok(new_record(id, account, invoice, now))
}

/// Fails with `NotFound` unless `po` is an order of `account` received from `buyer`.
async fn ensure_po_of_buyer(
    conn: &mut SqliteConnection,
    account: AccountId,
    po: PoId,
    buyer: BuyerId,
) -> StoreResult<()> {
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT buyer_id FROM purchase_orders WHERE id = ? AND account_id = ?")
            .bind(po.0)
            .bind(account.0)
            .fetch_optional(conn)
            .await?;
    match owner {
        Some(owner) if owner == buyer.0 => Ok(()),
        Some(_) => Err(not_found(
            "purchase order",
            format!("{po} of buyer {buyer}"),
        )),
        None => Err(not_found("purchase order", po)),
    }
}

async fn insert_invoice(
    conn: &mut SqliteConnection,
    account: AccountId,
    invoice: &NewInvoice,
    now: DateTime<Utc>,
) -> StoreResult<InvoiceId> {
    let (invoice_date, offset_seconds) = encode_offset_time(invoice.invoice_date);
    let now = encode_time(now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invoices (account_id, po_id, buyer_id, brightpearl_order_id, \
             invoice_number, kind, invoice_date, invoice_date_offset_seconds, currency, \
             brightpearl_total, sent_total, document, status, reason, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account.0)
    .bind(invoice.po.0)
    .bind(invoice.buyer.0)
    .bind(invoice.brightpearl_order_id)
    .bind(&invoice.invoice_number)
    .bind(encode_enum(&invoice.kind))
    .bind(invoice_date)
    .bind(offset_seconds)
    .bind(&invoice.currency)
    .bind(invoice.brightpearl_total.to_string())
    .bind(invoice.sent_total.to_string())
    .bind(&invoice.document)
    .bind(invoice.status.as_str())
    .bind(&invoice.reason)
    .bind(&now)
    .bind(&now)
    .fetch_one(conn)
    .await
    .map_err(|err| {
        let key = format!("{} for buyer {}", invoice.invoice_number, invoice.buyer);
        conflict_on_unique(err, "invoice", key)
    })?;
    Ok(InvoiceId(id))
}

async fn insert_lines(
    conn: &mut SqliteConnection,
    invoice: InvoiceId,
    lines: &[InvoicedLine],
) -> StoreResult<()> {
    for (position, line) in (0_i64..).zip(lines) {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, po_line_number, quantity) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(invoice.0)
        .bind(position)
        .bind(i64::from(line.po_line_number))
        .bind(line.quantity.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Builds the record just inserted, with the defaults the table gives it.
fn new_record(
    id: InvoiceId,
    account: AccountId,
    invoice: &NewInvoice,
    now: DateTime<Utc>,
) -> InvoiceRecord {
    InvoiceRecord {
        id,
        account_id: account,
        po: invoice.po,
        buyer: invoice.buyer,
        brightpearl_order_id: invoice.brightpearl_order_id,
        invoice_number: invoice.invoice_number.clone(),
        kind: invoice.kind,
        invoice_date: invoice.invoice_date,
        currency: invoice.currency.clone(),
        brightpearl_total: invoice.brightpearl_total,
        sent_total: invoice.sent_total,
        document: invoice.document.clone(),
        status: invoice.status,
        reason: invoice.reason.clone(),
        lines: invoice.lines.clone(),
        attempts: 0,
        outcome_unknown: false,
        coupa_status: None,
        coupa_text: None,
        created_at: now,
        updated_at: now,
        sent_at: None,
        document_removed_at: None,
    }
}

pub(super) async fn invoice(
    store: &SqliteStore,
    account: AccountId,
    id: InvoiceId,
) -> StoreResult<InvoiceRecord> {
    let mut conn = store.reader.acquire().await?;
    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = ? AND account_id = ?");
    let rows = sqlx::query_as::<_, InvoiceRow>(&sql)
        .bind(id.0)
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await?;
    with_lines(&mut conn, rows)
        .await?
        .pop()
        .ok_or_else(|| not_found("invoice", id))
}

pub(super) async fn invoice_by_number(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
    number: &str,
) -> StoreResult<Option<InvoiceRecord>> {
    let mut conn = store.reader.acquire().await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices \
         WHERE account_id = ? AND buyer_id = ? AND invoice_number = ?"
    );
    let rows = sqlx::query_as::<_, InvoiceRow>(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(number)
        .fetch_all(&mut *conn)
        .await?;
    Ok(with_lines(&mut conn, rows).await?.pop())
}

/// Lists a purchase order's invoices in the order they were created.
pub(super) async fn invoices_for_po(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<InvoiceRecord>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE account_id = ? AND po_id = ? ORDER BY id"
    );
    let rows = sqlx::query_as::<_, InvoiceRow>(&sql)
        .bind(account.0)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?;
    with_lines(&mut conn, rows).await
}

/// Lists invoices newest first. The search matches a substring of the
/// invoice number, ignoring the case of ASCII letters.
pub(super) async fn list_invoices(
    store: &SqliteStore,
    account: AccountId,
    filter: &InvoiceFilter,
) -> StoreResult<Vec<InvoiceRecord>> {
    let mut conn = store.reader.acquire().await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices \
         WHERE account_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR instr(lower(invoice_number), lower(?3)) > 0) \
         ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"
    );
    let (limit, offset) = page(filter.limit, filter.offset);
    let rows = sqlx::query_as::<_, InvoiceRow>(&sql)
        .bind(account.0)
        .bind(filter.status.map(InvoiceStatus::as_str))
        .bind(filter.search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    with_lines(&mut conn, rows).await
}

/// Applies the update in one statement. The reason and Coupa's response are
/// replaced, and the optional fields are kept when `None`.
/// Applies `update`, only while the invoice's status is `from` when one is
/// given, and returns whether it did.
pub(super) async fn update_invoice(
    store: &SqliteStore,
    account: AccountId,
    id: InvoiceId,
    from: Option<InvoiceStatus>,
    update: &InvoiceUpdate,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE invoices SET status = ?, reason = ?, coupa_status = ?, coupa_text = ?, \
             attempts = attempts + ?, outcome_unknown = coalesce(?, outcome_unknown), \
             document = coalesce(?, document), \
             document_removed_at = CASE WHEN ? IS NULL THEN document_removed_at END, \
             sent_at = coalesce(?, sent_at), updated_at = ? \
         WHERE id = ? AND account_id = ? AND (? IS NULL OR status = ?)",
    )
    .bind(update.status.as_str())
    .bind(&update.reason)
    .bind(update.coupa_status.map(i64::from))
    .bind(&update.coupa_text)
    .bind(i32::from(update.counts_attempt))
    .bind(update.outcome_unknown)
    .bind(&update.document)
    .bind(&update.document)
    .bind(update.sent_at.map(encode_time))
    .bind(encode_time(now))
    .bind(id.0)
    .bind(account.0)
    .bind(from.map(InvoiceStatus::as_str))
    .bind(from.map(InvoiceStatus::as_str))
    .execute(&store.writer)
    .await?;
    if result.rows_affected() == 0 {
        ensure_invoice(&store.writer, account, id).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Fails with `NotFound` unless the account has the invoice.
async fn ensure_invoice(
    pool: &sqlx::SqlitePool,
    account: AccountId,
    id: InvoiceId,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE id = ? AND account_id = ?")
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(pool)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(not_found("invoice", id)),
    }
}

/// Replaces the content and lines in one transaction, so the stored lines
/// always describe the stored document.
pub(super) async fn replace_invoice_content(
    store: &SqliteStore,
    account: AccountId,
    id: InvoiceId,
    from: InvoiceStatus,
    content: &InvoiceContent,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (invoice_date, offset_seconds) = encode_offset_time(content.invoice_date);
    let mut tx = store.begin_write().await?;

    let result = sqlx::query(
        "UPDATE invoices SET invoice_date = ?, invoice_date_offset_seconds = ?, currency = ?, \
             brightpearl_total = ?, sent_total = ?, document = ?, status = ?, reason = ?, \
             updated_at = ?, document_removed_at = NULL \
         WHERE id = ? AND account_id = ? AND status = ?",
    )
    .bind(invoice_date)
    .bind(offset_seconds)
    .bind(&content.currency)
    .bind(content.brightpearl_total.to_string())
    .bind(content.sent_total.to_string())
    .bind(&content.document)
    .bind(content.status.as_str())
    .bind(&content.reason)
    .bind(encode_time(now))
    .bind(id.0)
    .bind(account.0)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        drop(tx);
        ensure_invoice(&store.writer, account, id).await?;
        return Ok(false);
    }

    sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = ?")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    insert_lines(&mut tx, id, &content.lines).await?;
    tx.commit().await?;
    Ok(true)
}

/// Sums, per PO line, the quantities of the order's invoices that are
/// neither failed nor held: (line, invoiced minus credited, credited),
/// ordered by line number. The sums are exact decimals, done here because
/// SQLite's sum() would convert the stored text to floating point.
pub(super) async fn invoiced_quantities(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<(u32, Decimal, Decimal)>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT invoices.kind, invoice_lines.po_line_number, invoice_lines.quantity \
         FROM invoice_lines JOIN invoices ON invoices.id = invoice_lines.invoice_id \
         WHERE invoices.account_id = ? AND invoices.po_id = ? \
             AND invoices.status NOT IN (?, ?, ?)",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(NOT_INVOICED[0].as_str())
    .bind(NOT_INVOICED[1].as_str())
    .bind(NOT_INVOICED[2].as_str())
    .fetch_all(&mut *conn)
    .await?;

    let mut totals: BTreeMap<u32, (Decimal, Decimal)> = BTreeMap::new();
    for (kind, line_number, quantity) in rows {
        let line_number = decode_line_number("invoice line", line_number)?;
        let quantity = decode_decimal("invoice line", &quantity)?;
        let (net, credited) = totals.entry(line_number).or_default();
        match decode_enum::<InvoiceKind>("invoice", &kind)? {
            InvoiceKind::Invoice => *net = add(*net, quantity)?,
            InvoiceKind::Credit => {
                *net = add(*net, -quantity)?;
                *credited = add(*credited, quantity)?;
            }
        }
    }
    Ok(totals
        .into_iter()
        .map(|(line, (net, credited))| (line, net, credited))
        .collect())
}

/// Adds two quantities, reporting an overflow of Decimal's 96-bit mantissa
/// instead of panicking.
fn add(total: Decimal, quantity: Decimal) -> StoreResult<Decimal> {
    total.checked_add(quantity).ok_or_else(|| {
        corrupt(
            "invoice line",
            format!("sum {total} + {quantity} overflows"),
        )
    })
}

/// Loads the lines of `rows` in one query and returns one record per row,
/// in the same order.
async fn with_lines(
    conn: &mut SqliteConnection,
    rows: Vec<InvoiceRow>,
) -> StoreResult<Vec<InvoiceRecord>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let lines: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT invoice_id, po_line_number, quantity FROM invoice_lines \
         WHERE invoice_id IN (SELECT value FROM json_each(?)) ORDER BY invoice_id, position",
    )
    .bind(encode_json(&ids))
    .fetch_all(&mut *conn)
    .await?;

    let mut by_invoice: HashMap<i64, Vec<InvoicedLine>> = HashMap::new();
    for (invoice_id, line_number, quantity) in lines {
        by_invoice
            .entry(invoice_id)
            .or_default()
            .push(InvoicedLine {
                po_line_number: decode_line_number("invoice line", line_number)?,
                quantity: decode_decimal("invoice line", &quantity)?,
            });
    }
    rows.into_iter()
        .map(|row| {
            let lines = by_invoice.remove(&row.id).unwrap_or_default();
            row.into_record(lines)
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: i64,
    account_id: i64,
    po_id: i64,
    buyer_id: i64,
    brightpearl_order_id: i64,
    invoice_number: String,
    kind: String,
    invoice_date: String,
    invoice_date_offset_seconds: i32,
    currency: String,
    brightpearl_total: String,
    sent_total: String,
    document: String,
    status: String,
    reason: Option<String>,
    attempts: i32,
    outcome_unknown: bool,
    coupa_status: Option<i64>,
    coupa_text: Option<String>,
    created_at: String,
    updated_at: String,
    sent_at: Option<String>,
    document_removed_at: Option<String>,
}

impl InvoiceRow {
    fn into_record(self, lines: Vec<InvoicedLine>) -> StoreResult<InvoiceRecord> {
        let status = InvoiceStatus::parse(&self.status)
            .ok_or_else(|| corrupt("invoice", format!("status {:?}", self.status)))?;
        let coupa_status = self
            .coupa_status
            .map(|code| {
                u16::try_from(code).map_err(|_| corrupt("invoice", format!("Coupa status {code}")))
            })
            .transpose()?;
        Ok(InvoiceRecord {
            id: InvoiceId(self.id),
            account_id: AccountId(self.account_id),
            po: PoId(self.po_id),
            buyer: BuyerId(self.buyer_id),
            brightpearl_order_id: self.brightpearl_order_id,
            invoice_number: self.invoice_number,
            kind: decode_enum("invoice", &self.kind)?,
            invoice_date: decode_offset_time(
                "invoice",
                &self.invoice_date,
                self.invoice_date_offset_seconds,
            )?,
            currency: self.currency,
            brightpearl_total: decode_decimal("invoice", &self.brightpearl_total)?,
            sent_total: decode_decimal("invoice", &self.sent_total)?,
            document: self.document,
            status,
            reason: self.reason,
            lines,
            attempts: self.attempts,
            outcome_unknown: self.outcome_unknown,
            coupa_status,
            coupa_text: self.coupa_text,
            created_at: decode_time("invoice", &self.created_at)?,
            updated_at: decode_time("invoice", &self.updated_at)?,
            sent_at: decode_optional_time("invoice", self.sent_at)?,
            document_removed_at: decode_optional_time("invoice", self.document_removed_at)?,
        })
    }
}
