//! Invoices and credits sent (or to send) to a buyer's Coupa, with their
//! lines, and the quantities they have invoiced per purchase-order line.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId};
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::codec::{
    conflict_on_unique, corrupt, decimal_column, encode_enum, enum_column, line_number_column,
    not_found, offset_seconds, offset_time_columns, page,
};
use super::orders::ensure_po;
use super::PostgresStore;
use crate::{
    InvoiceContent, InvoiceFilter, InvoiceId, InvoiceRecord, InvoiceStatus, InvoiceUpdate,
    InvoicedLine, NewInvoice, NewJob, StoreResult, NOT_INVOICED,
};

const INVOICE_COLUMNS: &str = "id, account_id, po_id, buyer_id, brightpearl_order_id, \
    invoice_number, kind, invoice_date, invoice_date_offset_seconds, currency, \
    brightpearl_total::text AS brightpearl_total, sent_total::text AS sent_total, document, \
    status, reason, attempts, outcome_unknown, coupa_status, coupa_text, created_at, \
    updated_at, sent_at, document_removed_at";

/// Stores the invoice, its lines and, when given, `job`, in one transaction.
pub(super) async fn create_invoice(
    store: &PostgresStore,
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
    store: &PostgresStore,
    account: AccountId,
    invoice: &NewInvoice,
    job_for: &(dyn Fn(InvoiceId) -> NewJob + Send + Sync),
    now: DateTime<Utc>,
) -> StoreResult<InvoiceRecord> {
    create(store, account, invoice, |id| Some(job_for(id)), now).await
}

async fn create(
    store: &PostgresStore,
    account: AccountId,
    invoice: &NewInvoice,
    job_for: impl FnOnce(InvoiceId) -> Option<NewJob>,
    now: DateTime<Utc>,
) -> StoreResult<InvoiceRecord> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.begin().await?;
    ensure_po_of_buyer(&mut tx, account, invoice.po, invoice.buyer).await?;
    // A concurrent insert of the same number waits for this transaction and
    // then fails on the unique key, so the buyer's numbers stay unique.
    let row = insert_invoice(&mut tx, account, invoice, now).await?;
    let id = InvoiceId(row.try_get("id")?);
    insert_lines(&mut tx, id, &invoice.lines).await?;
    if let Some(job) = job_for(id) {
        // A job of another account would run outside the tenant that asked for it.
        if job.account != account {
            return Err(not_found("account", job.account));
        }
        super::jobs::enqueue_in(&mut tx, &job, now).await?;
    }
    tx.commit().await?;

    invoice_from_row(&row, invoice.lines.clone())
}

/// Fails with `NotFound` unless `po` is an order of `account` received from `buyer`.
async fn ensure_po_of_buyer(
    conn: &mut PgConnection,
    account: AccountId,
    po: PoId,
    buyer: BuyerId,
) -> StoreResult<()> {
    let of_buyer: Option<bool> = sqlx::query_scalar(
        "SELECT buyer_id = $3 FROM purchase_orders WHERE id = $1 AND account_id = $2",
    )
    .bind(po.0)
    .bind(account.0)
    .bind(buyer.0)
    .fetch_optional(conn)
    .await?;
    match of_buyer {
        Some(true) => Ok(()),
        Some(false) => Err(not_found(
            "purchase order",
            format!("{po} of buyer {buyer}"),
        )),
        None => Err(not_found("purchase order", po)),
    }
}

/// Inserts the invoice and returns its row as stored, with the defaults
/// the table gives it.
async fn insert_invoice(
    conn: &mut PgConnection,
    account: AccountId,
    invoice: &NewInvoice,
    now: DateTime<Utc>,
) -> StoreResult<PgRow> {
    let sql = format!(
        "INSERT INTO invoices (account_id, po_id, buyer_id, brightpearl_order_id, \
             invoice_number, kind, invoice_date, invoice_date_offset_seconds, currency, \
             brightpearl_total, sent_total, document, status, reason, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11::numeric, $12, $13, \
             $14, $15, $15) \
         RETURNING {INVOICE_COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(invoice.po.0)
        .bind(invoice.buyer.0)
        .bind(invoice.brightpearl_order_id)
        .bind(&invoice.invoice_number)
        .bind(encode_enum(&invoice.kind))
        .bind(invoice.invoice_date)
        .bind(offset_seconds(&invoice.invoice_date))
        .bind(&invoice.currency)
        .bind(invoice.brightpearl_total.to_string())
        .bind(invoice.sent_total.to_string())
        .bind(&invoice.document)
        .bind(invoice.status.as_str())
        .bind(&invoice.reason)
        .bind(now)
        .fetch_one(conn)
        .await
        .map_err(|err| {
            let key = format!("{} for buyer {}", invoice.invoice_number, invoice.buyer);
            conflict_on_unique(err, "invoice", key)
        })
}

async fn insert_lines(
    conn: &mut PgConnection,
    invoice: InvoiceId,
    lines: &[InvoicedLine],
) -> StoreResult<()> {
    for (position, line) in (0_i32..).zip(lines) {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, po_line_number, quantity) \
             VALUES ($1, $2, $3, $4::numeric)",
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

pub(super) async fn invoice(
    store: &PostgresStore,
    account: AccountId,
    id: InvoiceId,
) -> StoreResult<InvoiceRecord> {
    let mut conn = store.pool.acquire().await?;
    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND account_id = $2");
    let rows = sqlx::query(&sql)
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
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
    number: &str,
) -> StoreResult<Option<InvoiceRecord>> {
    let mut conn = store.pool.acquire().await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices \
         WHERE account_id = $1 AND buyer_id = $2 AND invoice_number = $3"
    );
    let rows = sqlx::query(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(number)
        .fetch_all(&mut *conn)
        .await?;
    Ok(with_lines(&mut conn, rows).await?.pop())
}

/// Lists a purchase order's invoices in the order they were created.
pub(super) async fn invoices_for_po(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<InvoiceRecord>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE account_id = $1 AND po_id = $2 ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(account.0)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?;
    with_lines(&mut conn, rows).await
}

/// Lists invoices newest first. The search matches a substring of the
/// invoice number, ignoring the case of ASCII letters.
pub(super) async fn list_invoices(
    store: &PostgresStore,
    account: AccountId,
    filter: &InvoiceFilter,
) -> StoreResult<Vec<InvoiceRecord>> {
    let mut conn = store.pool.acquire().await?;
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices \
         WHERE account_id = $1 \
             AND ($2::text IS NULL OR status = $2) \
             AND ($3::text IS NULL \
                 OR strpos(ascii_lower(invoice_number), ascii_lower($3)) > 0) \
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    );
    let (limit, offset) = page(filter.limit, filter.offset);
    let rows = sqlx::query(&sql)
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
    store: &PostgresStore,
    account: AccountId,
    id: InvoiceId,
    from: Option<InvoiceStatus>,
    update: &InvoiceUpdate,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE invoices SET status = $1, reason = $2, coupa_status = $3, coupa_text = $4, \
             attempts = attempts + $5, outcome_unknown = coalesce($6, outcome_unknown), \
             document = coalesce($7, document), sent_at = coalesce($8, sent_at), \
             document_removed_at = CASE WHEN $7 IS NULL THEN document_removed_at END, \
             updated_at = $9 \
         WHERE id = $10 AND account_id = $11 AND ($12::text IS NULL OR status = $12)",
    )
    .bind(update.status.as_str())
    .bind(&update.reason)
    .bind(update.coupa_status.map(i32::from))
    .bind(&update.coupa_text)
    .bind(i32::from(update.counts_attempt))
    .bind(update.outcome_unknown)
    .bind(&update.document)
    .bind(update.sent_at)
    .bind(now)
    .bind(id.0)
    .bind(account.0)
    .bind(from.map(InvoiceStatus::as_str))
    .execute(&store.pool)
    .await?;
    if result.rows_affected() == 0 {
        ensure_invoice(&store.pool, account, id).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Fails with `NotFound` unless the account has the invoice.
async fn ensure_invoice(pool: &sqlx::PgPool, account: AccountId, id: InvoiceId) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE id = $1 AND account_id = $2")
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
    store: &PostgresStore,
    account: AccountId,
    id: InvoiceId,
    from: InvoiceStatus,
    content: &InvoiceContent,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    let result = sqlx::query(
        "UPDATE invoices SET invoice_date = $1, invoice_date_offset_seconds = $2, \
             currency = $3, brightpearl_total = $4::numeric, sent_total = $5::numeric, \
             document = $6, status = $7, reason = $8, updated_at = $9, \
             document_removed_at = NULL \
         WHERE id = $10 AND account_id = $11 AND status = $12",
    )
    .bind(content.invoice_date)
    .bind(offset_seconds(&content.invoice_date))
    .bind(&content.currency)
    .bind(content.brightpearl_total.to_string())
    .bind(content.sent_total.to_string())
    .bind(&content.document)
    .bind(content.status.as_str())
    .bind(&content.reason)
    .bind(now)
    .bind(id.0)
    .bind(account.0)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        drop(tx);
        ensure_invoice(&store.pool, account, id).await?;
        return Ok(false);
    }

    sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    insert_lines(&mut tx, id, &content.lines).await?;
    tx.commit().await?;
    Ok(true)
}

/// Sums, per PO line, the quantities of the order's invoices that are
/// neither failed nor held: (line, invoiced minus credited, credited),
/// ordered by line number. NUMERIC sums are exact.
pub(super) async fn invoiced_quantities(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<(u32, Decimal, Decimal)>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows = sqlx::query(
        "SELECT invoice_lines.po_line_number, \
             sum(CASE invoices.kind WHEN 'credit' THEN -quantity ELSE quantity END)::text \
                 AS net, \
             sum(CASE invoices.kind WHEN 'credit' THEN quantity ELSE 0 END)::text AS credited \
         FROM invoice_lines JOIN invoices ON invoices.id = invoice_lines.invoice_id \
         WHERE invoices.account_id = $1 AND invoices.po_id = $2 \
             AND NOT (invoices.status = ANY($3)) \
         GROUP BY invoice_lines.po_line_number ORDER BY invoice_lines.po_line_number",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(NOT_INVOICED.map(InvoiceStatus::as_str).to_vec())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                line_number_column(&row, "po_line_number", "invoice line")?,
                decimal_column(&row, "net", "invoiced quantity")?,
                decimal_column(&row, "credited", "credited quantity")?,
            ))
        })
        .collect()
}

/// Loads the lines of `rows` in one query and returns one record per row,
/// in the same order.
async fn with_lines(conn: &mut PgConnection, rows: Vec<PgRow>) -> StoreResult<Vec<InvoiceRecord>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = rows
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<Vec<i64>, _>>()?;
    let lines = sqlx::query(
        "SELECT invoice_id, po_line_number, quantity::text AS quantity FROM invoice_lines \
         WHERE invoice_id = ANY($1) ORDER BY invoice_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;

    let mut by_invoice: HashMap<i64, Vec<InvoicedLine>> = HashMap::new();
    for line in lines {
        by_invoice
            .entry(line.try_get("invoice_id")?)
            .or_default()
            .push(InvoicedLine {
                po_line_number: line_number_column(&line, "po_line_number", "invoice line")?,
                quantity: decimal_column(&line, "quantity", "invoice line")?,
            });
    }
    rows.iter()
        .zip(ids)
        .map(|(row, id)| invoice_from_row(row, by_invoice.remove(&id).unwrap_or_default()))
        .collect()
}

fn invoice_from_row(row: &PgRow, lines: Vec<InvoicedLine>) -> StoreResult<InvoiceRecord> {
    let status: String = row.try_get("status")?;
    let status = InvoiceStatus::parse(&status)
        .ok_or_else(|| corrupt("invoice", format!("status {status:?}")))?;
    let coupa_status: Option<i32> = row.try_get("coupa_status")?;
    let coupa_status = coupa_status
        .map(|code| {
            u16::try_from(code).map_err(|_| corrupt("invoice", format!("Coupa status {code}")))
        })
        .transpose()?;
    let invoice_date = offset_time_columns(
        row,
        "invoice_date",
        "invoice_date_offset_seconds",
        "invoice",
    )?
    .ok_or_else(|| corrupt("invoice", "invoice date is missing".to_owned()))?;
    Ok(InvoiceRecord {
        id: InvoiceId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        po: PoId(row.try_get("po_id")?),
        buyer: BuyerId(row.try_get("buyer_id")?),
        brightpearl_order_id: row.try_get("brightpearl_order_id")?,
        invoice_number: row.try_get("invoice_number")?,
        kind: enum_column(row, "kind", "invoice")?,
        invoice_date,
        currency: row.try_get("currency")?,
        brightpearl_total: decimal_column(row, "brightpearl_total", "invoice")?,
        sent_total: decimal_column(row, "sent_total", "invoice")?,
        document: row.try_get("document")?,
        status,
        reason: row.try_get("reason")?,
        lines,
        attempts: row.try_get("attempts")?,
        outcome_unknown: row.try_get("outcome_unknown")?,
        coupa_status,
        coupa_text: row.try_get("coupa_text")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        sent_at: row.try_get("sent_at")?,
        document_removed_at: row.try_get("document_removed_at")?,
    })
}
