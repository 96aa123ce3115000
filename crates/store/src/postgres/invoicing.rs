//! The Brightpearl orders tracked for each purchase order, their row links,
//! and the pollers' cursors. Invoices live in `invoices.rs`.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, PoId};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::codec::{
    encode_enum, encode_json, enum_column, json_column, line_number_column, missing_on_foreign_key,
};
use super::orders::ensure_po;
use super::PostgresStore;
use crate::{RowLink, StoreResult, TrackedOrder};

const TRACKED_COLUMNS: &str = "brightpearl_order_id, po_id, kind, parent_order_id, \
    invoice_reference, version, open, checked_at";

fn tracked_from_row(row: PgRow) -> StoreResult<TrackedOrder> {
    Ok(TrackedOrder {
        brightpearl_order_id: row.try_get("brightpearl_order_id")?,
        po_id: PoId(row.try_get("po_id")?),
        kind: enum_column(&row, "kind", "tracked order")?,
        parent_order_id: row.try_get("parent_order_id")?,
        invoice_reference: row.try_get("invoice_reference")?,
        version: row.try_get("version")?,
        open: row.try_get("open")?,
        checked_at: row.try_get("checked_at")?,
    })
}

/// Inserts the tracked order or replaces every field of the one with the
/// same Brightpearl order id. The composite foreign key rejects a purchase
/// order of another account.
pub(super) async fn upsert_tracked_order(
    store: &PostgresStore,
    account: AccountId,
    order: &TrackedOrder,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tracked_orders (account_id, brightpearl_order_id, po_id, kind, \
             parent_order_id, invoice_reference, version, open, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
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
    .bind(order.checked_at)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "purchase order", order.po_id))?;
    Ok(())
}

pub(super) async fn tracked_order(
    store: &PostgresStore,
    account: AccountId,
    brightpearl_order_id: i64,
) -> StoreResult<Option<TrackedOrder>> {
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = $1 AND brightpearl_order_id = $2"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(brightpearl_order_id)
        .fetch_optional(&store.pool)
        .await?
        .map(tracked_from_row)
        .transpose()
}

/// Lists the account's tracked orders by Brightpearl order id.
pub(super) async fn tracked_orders(
    store: &PostgresStore,
    account: AccountId,
    open_only: bool,
) -> StoreResult<Vec<TrackedOrder>> {
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = $1 AND (open OR NOT $2) ORDER BY brightpearl_order_id"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(open_only)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(tracked_from_row)
        .collect()
}

/// Lists one purchase order's tracked orders by Brightpearl order id.
pub(super) async fn tracked_orders_for_po(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<TrackedOrder>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!(
        "SELECT {TRACKED_COLUMNS} FROM tracked_orders \
         WHERE account_id = $1 AND po_id = $2 ORDER BY brightpearl_order_id"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(tracked_from_row)
        .collect()
}

/// Inserts the links or replaces the purchase order and line of those with
/// the same Brightpearl order and row, in one transaction. Rows are written
/// in key order, so that two transactions lock shared rows in the same order.
pub(super) async fn save_row_links(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
    links: &[RowLink],
) -> StoreResult<()> {
    let mut ordered = links.to_vec();
    ordered.sort_by_key(|link| (link.brightpearl_order_id, link.row_id));
    let mut tx = store.begin().await?;
    ensure_po(&mut tx, account, po).await?;
    for link in ordered {
        sqlx::query(
            "INSERT INTO row_links (account_id, brightpearl_order_id, row_id, po_id, line_number) \
             VALUES ($1, $2, $3, $4, $5) \
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
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<RowLink>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows = sqlx::query(
        "SELECT brightpearl_order_id, row_id, line_number FROM row_links \
         WHERE account_id = $1 AND po_id = $2 ORDER BY brightpearl_order_id, row_id",
    )
    .bind(account.0)
    .bind(po.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(RowLink {
                brightpearl_order_id: row.try_get("brightpearl_order_id")?,
                row_id: row.try_get("row_id")?,
                line_number: line_number_column(&row, "line_number", "row link")?,
            })
        })
        .collect()
}

pub(super) async fn save_poll_cursor(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
    cursor: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO poll_cursors (account_id, name, cursor, saved_at) \
         VALUES ($1, $2, $3::jsonb, $4) \
         ON CONFLICT (account_id, name) DO UPDATE SET cursor = excluded.cursor, \
             saved_at = excluded.saved_at",
    )
    .bind(account.0)
    .bind(name)
    .bind(encode_json(cursor))
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(|err| missing_on_foreign_key(err, "account", account))?;
    Ok(())
}

pub(super) async fn poll_cursor(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
) -> StoreResult<Option<serde_json::Value>> {
    let row = sqlx::query(
        "SELECT cursor::text AS cursor FROM poll_cursors WHERE account_id = $1 AND name = $2",
    )
    .bind(account.0)
    .bind(name)
    .fetch_optional(&store.pool)
    .await?;
    row.map(|row| json_column(&row, "cursor", "poll cursor"))
        .transpose()
}
