//! Purchase orders and their event timeline.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId, PoNumber, RevisionId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::codec::{corrupt, not_found, page};
use super::{ensure_row, PostgresStore};
use crate::{PoEvent, PoFilter, PoStatus, PoStatusUpdate, PurchaseOrder, StoreResult};

const PO_COLUMNS: &str = "id, account_id, buyer_id, number, status, reason, \
    brightpearl_order_id, latest_revision_id, synced_revision_id, create_attempted_ref, \
    revision_count, created_at, updated_at";

fn status_column(row: &PgRow, entity: &'static str) -> StoreResult<PoStatus> {
    let status: String = row.try_get("status")?;
    PoStatus::parse(&status).ok_or_else(|| corrupt(entity, format!("status {status:?}")))
}

fn po_from_row(row: PgRow) -> StoreResult<PurchaseOrder> {
    let id: i64 = row.try_get("id")?;
    let latest: Option<i64> = row.try_get("latest_revision_id")?;
    let latest =
        latest.ok_or_else(|| corrupt("purchase order", format!("order {id} has no revision")))?;
    let synced: Option<i64> = row.try_get("synced_revision_id")?;
    Ok(PurchaseOrder {
        id: PoId(id),
        account_id: AccountId(row.try_get("account_id")?),
        buyer_id: BuyerId(row.try_get("buyer_id")?),
        number: PoNumber(row.try_get("number")?),
        status: status_column(&row, "purchase order")?,
        reason: row.try_get("reason")?,
        brightpearl_order_id: row.try_get("brightpearl_order_id")?,
        latest_revision: RevisionId(latest),
        synced_revision: synced.map(RevisionId),
        create_attempted_ref: row.try_get("create_attempted_ref")?,
        revision_count: row.try_get("revision_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) async fn purchase_order(
    store: &PostgresStore,
    account: AccountId,
    id: PoId,
) -> StoreResult<PurchaseOrder> {
    let sql = format!("SELECT {PO_COLUMNS} FROM purchase_orders WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(&store.pool)
        .await?;
    po_from_row(row.ok_or_else(|| not_found("purchase order", id))?)
}

pub(super) async fn purchase_order_by_number(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
    number: &PoNumber,
) -> StoreResult<Option<PurchaseOrder>> {
    let sql = format!(
        "SELECT {PO_COLUMNS} FROM purchase_orders \
         WHERE account_id = $1 AND buyer_id = $2 AND number = $3"
    );
    sqlx::query(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(number.as_str())
        .fetch_optional(&store.pool)
        .await?
        .map(po_from_row)
        .transpose()
}

/// Lists orders newest first. The search matches a substring of the number,
/// ignoring the case of ASCII letters.
pub(super) async fn list_purchase_orders(
    store: &PostgresStore,
    account: AccountId,
    filter: &PoFilter,
) -> StoreResult<Vec<PurchaseOrder>> {
    let sql = format!(
        "SELECT {PO_COLUMNS} FROM purchase_orders \
         WHERE account_id = $1 \
             AND ($2::text IS NULL OR status = $2) \
             AND ($3::bigint IS NULL OR buyer_id = $3) \
             AND ($4::text IS NULL OR strpos(ascii_lower(number), ascii_lower($4)) > 0) \
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    let (limit, offset) = page(filter.limit, filter.offset);
    sqlx::query(&sql)
        .bind(account.0)
        .bind(filter.status.map(PoStatus::as_str))
        .bind(filter.buyer.map(|buyer| buyer.0))
        .bind(filter.search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&store.pool)
        .await?
        .into_iter()
        .map(po_from_row)
        .collect()
}

/// Fails with `NotFound` unless the purchase order belongs to the account.
pub(super) async fn ensure_po(
    conn: &mut PgConnection,
    account: AccountId,
    po: PoId,
) -> StoreResult<()> {
    ensure_row(
        conn,
        "purchase_orders",
        "account_id",
        po.0,
        account.0,
        "purchase order",
    )
    .await
}

/// Applies a status change and appends its event, in one transaction.
pub(super) async fn set_po_status(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
    update: &PoStatusUpdate,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    ensure_po(&mut tx, account, po).await?;
    if let Some(synced) = update.synced_revision {
        ensure_revision_of(&mut tx, po, synced).await?;
    }

    sqlx::query(
        "UPDATE purchase_orders SET status = $1, reason = $2, \
             brightpearl_order_id = coalesce($3, brightpearl_order_id), \
             synced_revision_id = coalesce($4, synced_revision_id), updated_at = $5 \
         WHERE id = $6",
    )
    .bind(update.status.as_str())
    .bind(&update.reason)
    .bind(update.brightpearl_order_id)
    .bind(update.synced_revision.map(|revision| revision.0))
    .bind(now)
    .bind(po.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO po_events (account_id, po_id, at, status, message) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(now)
    .bind(update.status.as_str())
    .bind(&update.event)
    .execute(&mut *tx)
    .await?;

    tx.commit().await?;
    Ok(())
}

async fn ensure_revision_of(
    conn: &mut PgConnection,
    po: PoId,
    revision: RevisionId,
) -> StoreResult<()> {
    ensure_row(conn, "revisions", "po_id", revision.0, po.0, "revision").await
}

pub(super) async fn mark_create_attempted(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
    external_ref: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE purchase_orders SET create_attempted_ref = $1, updated_at = $2 \
         WHERE id = $3 AND account_id = $4",
    )
    .bind(external_ref)
    .bind(now)
    .bind(po.0)
    .bind(account.0)
    .execute(&store.pool)
    .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("purchase order", po));
    }
    Ok(())
}

/// Lists an order's events oldest first.
pub(super) async fn events(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<PoEvent>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows =
        sqlx::query("SELECT at, status, message FROM po_events WHERE po_id = $1 ORDER BY id")
            .bind(po.0)
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|row| {
            Ok(PoEvent {
                at: row.try_get("at")?,
                status: status_column(&row, "event")?,
                message: row.try_get("message")?,
            })
        })
        .collect()
}
