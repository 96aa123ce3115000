//! The dashboard's reads: an account's activity in a time range, and the
//! orders that wait for a person.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId, PoNumber};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::codec::corrupt;
use super::PostgresStore;
use crate::{
    DashboardActivity, InvoiceFailure, InvoiceId, OrderFailure, PoStatus, StoreResult, WaitingOrder,
};

pub(super) async fn dashboard_activity(
    store: &PostgresStore,
    account: AccountId,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<DashboardActivity> {
    let range = (account.0, since, until);
    let received = times(
        store,
        "SELECT created_at FROM purchase_orders \
         WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at",
        range,
    )
    .await?;
    // An order counts once, on its first `synced` event: later ones come
    // from timeline lines added while it stays synced, or from a held
    // change marked handled.
    let synced = times(
        store,
        "SELECT min(e.at) AS first FROM po_events e \
         WHERE e.account_id = $1 AND e.status = 'synced' AND e.at >= $2 AND e.at < $3 \
             AND NOT EXISTS (SELECT 1 FROM po_events earlier \
                 WHERE earlier.po_id = e.po_id AND earlier.status = 'synced' AND earlier.at < $2) \
         GROUP BY e.po_id ORDER BY first",
        range,
    )
    .await?;
    let sent = times(
        store,
        "SELECT sent_at FROM invoices \
         WHERE account_id = $1 AND sent_at >= $2 AND sent_at < $3 ORDER BY sent_at",
        range,
    )
    .await?;
    Ok(DashboardActivity {
        orders_received: received,
        orders_synced: synced,
        order_failures: order_failures(store, range).await?,
        invoices_sent: sent,
        invoice_failures: invoice_failures(store, range).await?,
    })
}

/// An account id and the start and end of a time range, bound as `$1`,
/// `$2` and `$3`.
type Range = (i64, DateTime<Utc>, DateTime<Utc>);

async fn times(store: &PostgresStore, sql: &str, range: Range) -> StoreResult<Vec<DateTime<Utc>>> {
    let rows: Vec<(DateTime<Utc>,)> = rows_in_range(store, sql, range).await?;
    Ok(rows.into_iter().map(|(time,)| time).collect())
}

async fn rows_in_range<T>(store: &PostgresStore, sql: &str, range: Range) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql)
        .bind(range.0)
        .bind(range.1)
        .bind(range.2)
        .fetch_all(&store.pool)
        .await?)
}

/// Reads each event that changed an order's status to `failed`. Only the
/// timelines of orders with a `failed` event in the range are read.
async fn order_failures(store: &PostgresStore, range: Range) -> StoreResult<Vec<OrderFailure>> {
    let rows: Vec<(i64, DateTime<Utc>, String)> = rows_in_range(
        store,
        "SELECT po_id, at, message FROM ( \
             SELECT e.po_id, e.at, e.status, e.message, \
                 lag(e.status) OVER (PARTITION BY e.po_id ORDER BY e.id) AS previous \
             FROM po_events e \
             WHERE e.account_id = $1 AND e.po_id IN (SELECT po_id FROM po_events \
                 WHERE account_id = $1 AND status = 'failed' AND at >= $2 AND at < $3) \
         ) AS changes \
         WHERE status = 'failed' AND at >= $2 AND at < $3 \
             AND (previous IS NULL OR previous <> 'failed') \
         ORDER BY at, po_id",
        range,
    )
    .await?;
    let failures = rows
        .into_iter()
        .map(|(po, at, reason)| OrderFailure {
            po: PoId(po),
            at,
            reason,
        })
        .collect();
    Ok(failures)
}

async fn invoice_failures(store: &PostgresStore, range: Range) -> StoreResult<Vec<InvoiceFailure>> {
    let rows: Vec<(i64, DateTime<Utc>, Option<String>)> = rows_in_range(
        store,
        "SELECT id, updated_at, reason FROM invoices \
         WHERE account_id = $1 AND status IN ('failed', 'needs_attention') \
             AND updated_at >= $2 AND updated_at < $3 \
         ORDER BY updated_at, id",
        range,
    )
    .await?;
    let failures = rows
        .into_iter()
        .map(|(id, at, reason)| InvoiceFailure {
            invoice: InvoiceId(id),
            at,
            reason,
        })
        .collect();
    Ok(failures)
}

/// Lists the waiting orders. `since` is the earliest event after the
/// latest one whose status differs from the order's own.
pub(super) async fn waiting_orders(
    store: &PostgresStore,
    account: AccountId,
    statuses: &[PoStatus],
) -> StoreResult<Vec<WaitingOrder>> {
    let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
    let rows = sqlx::query(
        "SELECT id, buyer_id, number, status, reason, coalesce(since, updated_at) AS since FROM ( \
             SELECT p.id, p.buyer_id, p.number, p.status, p.reason, p.updated_at, \
                 (SELECT min(e.at) FROM po_events e WHERE e.po_id = p.id \
                     AND e.id > coalesce((SELECT max(other.id) FROM po_events other \
                         WHERE other.po_id = p.id AND other.status <> p.status), 0)) AS since \
             FROM purchase_orders p \
             WHERE p.account_id = $1 AND p.status = ANY($2) \
         ) AS waiting \
         ORDER BY since, id",
    )
    .bind(account.0)
    .bind(names)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(waiting_from_row).collect()
}

fn waiting_from_row(row: PgRow) -> StoreResult<WaitingOrder> {
    let status: String = row.try_get("status")?;
    let status = PoStatus::parse(&status)
        .ok_or_else(|| corrupt("purchase order", format!("status {status:?}")))?;
    Ok(WaitingOrder {
        po: PoId(row.try_get("id")?),
        buyer: BuyerId(row.try_get("buyer_id")?),
        number: PoNumber(row.try_get("number")?),
        status,
        reason: row.try_get("reason")?,
        since: row.try_get("since")?,
    })
}
