//! Purchase orders, their revisions and their event timeline.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId, PoNumber, RevisionId};
use sqlx::SqliteConnection;

use super::codec::{corrupt, decode_time, encode_time, not_found, page};
use super::SqliteStore;
use crate::{PoEvent, PoFilter, PoStatus, PoStatusUpdate, PurchaseOrder, StoreResult};

const PO_COLUMNS: &str = "id, account_id, buyer_id, number, status, reason, \
    brightpearl_order_id, latest_revision_id, synced_revision_id, create_attempted_ref, \
    revision_count, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct PoRow {
    id: i64,
    account_id: i64,
    buyer_id: i64,
    number: String,
    status: String,
    reason: Option<String>,
    brightpearl_order_id: Option<i64>,
    latest_revision_id: Option<i64>,
    synced_revision_id: Option<i64>,
    create_attempted_ref: Option<String>,
    revision_count: i64,
    created_at: String,
    updated_at: String,
}

impl PoRow {
    fn into_po(self) -> StoreResult<PurchaseOrder> {
        let status = PoStatus::parse(&self.status)
            .ok_or_else(|| corrupt("purchase order", format!("status {:?}", self.status)))?;
        let latest = self.latest_revision_id.ok_or_else(|| {
            corrupt(
                "purchase order",
                format!("order {} has no revision", self.id),
            )
        })?;
        Ok(PurchaseOrder {
            id: PoId(self.id),
            account_id: AccountId(self.account_id),
            buyer_id: BuyerId(self.buyer_id),
            number: PoNumber(self.number),
            status,
            reason: self.reason,
            brightpearl_order_id: self.brightpearl_order_id,
            latest_revision: RevisionId(latest),
            synced_revision: self.synced_revision_id.map(RevisionId),
            create_attempted_ref: self.create_attempted_ref,
            revision_count: self.revision_count,
            created_at: decode_time("purchase order", &self.created_at)?,
            updated_at: decode_time("purchase order", &self.updated_at)?,
        })
    }
}

pub(super) async fn purchase_order(
    store: &SqliteStore,
    account: AccountId,
    id: PoId,
) -> StoreResult<PurchaseOrder> {
    let sql = format!("SELECT {PO_COLUMNS} FROM purchase_orders WHERE id = ? AND account_id = ?");
    sqlx::query_as::<_, PoRow>(&sql)
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("purchase order", id))?
        .into_po()
}

pub(super) async fn purchase_order_by_number(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
    number: &PoNumber,
) -> StoreResult<Option<PurchaseOrder>> {
    let sql = format!(
        "SELECT {PO_COLUMNS} FROM purchase_orders \
         WHERE account_id = ? AND buyer_id = ? AND number = ?"
    );
    sqlx::query_as::<_, PoRow>(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(number.as_str())
        .fetch_optional(&store.reader)
        .await?
        .map(PoRow::into_po)
        .transpose()
}

/// Lists orders newest first. The search matches a substring of the number,
/// ignoring the case of ASCII letters.
pub(super) async fn list_purchase_orders(
    store: &SqliteStore,
    account: AccountId,
    filter: &PoFilter,
) -> StoreResult<Vec<PurchaseOrder>> {
    let sql = format!(
        "SELECT {PO_COLUMNS} FROM purchase_orders \
         WHERE account_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR buyer_id = ?3) \
             AND (?4 IS NULL OR instr(lower(number), lower(?4)) > 0) \
         ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
    );
    let (limit, offset) = page(filter.limit, filter.offset);
    sqlx::query_as::<_, PoRow>(&sql)
        .bind(account.0)
        .bind(filter.status.map(PoStatus::as_str))
        .bind(filter.buyer.map(|buyer| buyer.0))
        .bind(filter.search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&store.reader)
        .await?
        .into_iter()
        .map(PoRow::into_po)
        .collect()
}

pub(super) async fn ensure_po(
    conn: &mut SqliteConnection,
    account: AccountId,
    po: PoId,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM purchase_orders WHERE id = ? AND account_id = ?")
            .bind(po.0)
            .bind(account.0)
            .fetch_optional(conn)
            .await?;
    found
        .map(|_| ())
        .ok_or_else(|| not_found("purchase order", po))
}

/// Applies a status change and appends its event, in one transaction.
pub(super) async fn set_po_status(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
    update: &PoStatusUpdate,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    ensure_po(&mut tx, account, po).await?;
    if let Some(synced) = update.synced_revision {
        ensure_revision_of(&mut tx, po, synced).await?;
    }

    sqlx::query(
        "UPDATE purchase_orders SET status = ?, reason = ?, \
             brightpearl_order_id = coalesce(?, brightpearl_order_id), \
             synced_revision_id = coalesce(?, synced_revision_id), updated_at = ? \
         WHERE id = ?",
    )
    .bind(update.status.as_str())
    .bind(&update.reason)
    .bind(update.brightpearl_order_id)
    .bind(update.synced_revision.map(|revision| revision.0))
    .bind(encode_time(now))
    .bind(po.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO po_events (account_id, po_id, at, status, message) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(encode_time(now))
    .bind(update.status.as_str())
    .bind(&update.event)
    .execute(&mut *tx)
    .await?;

    tx.commit().await?;
    Ok(())
}

pub(super) async fn ensure_revision_of(
    conn: &mut SqliteConnection,
    po: PoId,
    revision: RevisionId,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM revisions WHERE id = ? AND po_id = ?")
            .bind(revision.0)
            .bind(po.0)
            .fetch_optional(conn)
            .await?;
    found
        .map(|_| ())
        .ok_or_else(|| not_found("revision", revision))
}

pub(super) async fn mark_create_attempted(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
    external_ref: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE purchase_orders SET create_attempted_ref = ?, updated_at = ? \
         WHERE id = ? AND account_id = ?",
    )
    .bind(external_ref)
    .bind(encode_time(now))
    .bind(po.0)
    .bind(account.0)
    .execute(&store.writer)
    .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("purchase order", po));
    }
    Ok(())
}

/// Lists an order's events oldest first.
pub(super) async fn events(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<PoEvent>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT at, status, message FROM po_events WHERE po_id = ? ORDER BY id")
            .bind(po.0)
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(at, status, message)| {
            Ok(PoEvent {
                at: decode_time("event", &at)?,
                status: PoStatus::parse(&status)
                    .ok_or_else(|| corrupt("event", format!("status {status:?}")))?,
                message,
            })
        })
        .collect()
}
