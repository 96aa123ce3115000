//! The Brightpearl orders tracked for each purchase order, their row links,
//! and the pollers' cursors. Invoices live in `invoices.rs`.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, PoId};

use super::codec::{
    corrupt, decode_enum, decode_json, decode_time, encode_enum, encode_json, encode_time,
    missing_on_foreign_key,
};
use super::orders::ensure_po;
use super::SqliteStore;
use crate::{RowLink, StoreResult, TrackedOrder};

const TRACKED_COLUMNS: &str = "brightpearl_order_id, po_id, kind, parent_order_id, \
    invoice_reference, version, open, checked_at";

#[derive(sqlx::FromRow)]
struct TrackedRow {
    brightpearl_order_id: i64,
    po_id: i64,
    kind: String,
    parent_order_id: Option<i64>,
    invoice_reference: Option<String>,
    version: Option<i64>,
    open: bool,
    checked_at: String,
}

impl TrackedRow {
    fn into_tracked(self) -> StoreResult<TrackedOrder> {
        Ok(TrackedOrder {
            brightpearl_order_id: self.brightpearl_order_id,
            po_id: PoId(self.po_id),
            kind: decode_enum("tracked order", &self.kind)?,
            parent_order_id: self.parent_order_id,
            invoice_reference: self.invoice_reference,
            version: self.version,
            open: self.open,
            checked_at: decode_time("tracked order", &self.checked_at)?,
        })
    }
}

/// Inserts the tracked order or replaces every field of the one with the
/// same Brightpearl order id. The composite foreign key rejects a purchase
/// order of another account.
pub(super) async fn upsert_tracked_order(
    store: &SqliteStore,
    account: AccountId,
    order: &TrackedOrder,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tracked_orders (account_id, brightpearl_order_id, po_id, kind, \
             parent_order_id, invoice_reference, version, open, checked_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (account_id, brightpearl_order_id) DO UPDATE SET \
             po_id = excluded.po_id, kind = excluded.kind, \
             parent_order_id = excluded.parent_order_id, \
             invoice_reference = excluded.invoice_reference, version = excluded.version, \
             open = excluded.open, checked_at = excluded.checked_at",
    )
    .bind(account.0)
    .bind(order.brightpearl_order_id)
    .bind(order.po_id.0)
    .bind(encode_enum(&order.kind))
    .bind(order.parent_order_id)
    .bind(&order.invoice_reference)
    .bind(order.version)
    .bind(order.open)
    .bind(encode_time(order.checked_at))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "purchase order", order.po_id))?;
    Ok(())
}

pub(super) async fn tracked_order(
    store: &SqliteStore,
    account: AccountId,
    brightpearl_order_id: i64,
) -> StoreResult<Option<TrackedOrder>> {
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = ? AND brightpearl_order_id = ?"
    );
    sqlx::query_as::<_, TrackedRow>(&sql)
        .bind(account.0)
        .bind(brightpearl_order_id)
        .fetch_optional(&store.reader)
        .await?
        .map(TrackedRow::into_tracked)
        .transpose()
}

/// Lists the account's tracked orders by Brightpearl order id.
pub(super) async fn tracked_orders(
    store: &SqliteStore,
    account: AccountId,
    open_only: bool,
) -> StoreResult<Vec<TrackedOrder>> {
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = ? AND (? = 0 OR open = 1) ORDER BY brightpearl_order_id"
    );
    sqlx::query_as::<_, TrackedRow>(&sql)
        .bind(account.0)
        .bind(open_only)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(TrackedRow::into_tracked)
        .collect()
}

/// Lists one purchase order's tracked orders by Brightpearl order id.
pub(super) async fn tracked_orders_for_po(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<TrackedOrder>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = ? AND po_id = ? ORDER BY brightpearl_order_id"
    );
    sqlx::query_as::<_, TrackedRow>(&sql)
        .bind(account.0)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(TrackedRow::into_tracked)
        .collect()
}

/// Inserts the links or replaces the purchase order and line of those with
/// the same Brightpearl order and row, in one transaction.
pub(super) async fn save_row_links(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
    links: &[RowLink],
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    ensure_po(&mut tx, account, po).await?;
    for link in links {
        sqlx::query(
            "INSERT INTO row_links (account_id, brightpearl_order_id, row_id, po_id, line_number) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (account_id, brightpearl_order_id, row_id) DO UPDATE SET \
                 po_id = excluded.po_id, line_number = excluded.line_number",
        )
        .bind(account.0)
        .bind(link.brightpearl_order_id)
        .bind(link.row_id)
        .bind(po.0)
        .bind(i64::from(link.line_number))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Lists a purchase order's row links by Brightpearl order id, then row id.
pub(super) async fn row_links(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<RowLink>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT brightpearl_order_id, row_id, line_number FROM row_links \
         WHERE account_id = ? AND po_id = ? ORDER BY brightpearl_order_id, row_id",
    )
    .bind(account.0)
    .bind(po.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(brightpearl_order_id, row_id, line_number)| {
            Ok(RowLink {
                brightpearl_order_id,
                row_id,
                line_number: decode_line_number("row link", line_number)?,
            })
        })
        .collect()
}

/// Converts a stored PO line number back to the `u32` it was written from.
pub(super) fn decode_line_number(entity: &'static str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(entity, format!("line number {value}")))
}

pub(super) async fn save_poll_cursor(
    store: &SqliteStore,
    account: AccountId,
    name: &str,
    cursor: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO poll_cursors (account_id, name, cursor, saved_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (account_id, name) DO UPDATE SET cursor = excluded.cursor, \
             saved_at = excluded.saved_at",
    )
    .bind(account.0)
    .bind(name)
    .bind(encode_json(cursor))
    .bind(encode_time(now))
    .execute(&store.writer)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn poll_cursor(
    store: &SqliteStore,
    account: AccountId,
    name: &str,
) -> StoreResult<Option<serde_json::Value>> {
    let cursor: Option<String> =
        sqlx::query_scalar("SELECT cursor FROM poll_cursors WHERE account_id = ? AND name = ?")
            .bind(account.0)
            .bind(name)
            .fetch_optional(&store.reader)
            .await?;
    cursor
        .map(|text| decode_json("poll cursor", &text))
        .transpose()
}
