//! Removal of old raw document bodies for the retention job.

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use sqlx::SqliteConnection;

use super::codec::{encode_json, encode_time};
use super::SqliteStore;
use crate::retention::final_po_status_names;
use crate::{RemovedBodies, StoreResult, FINAL_INVOICE_STATUS};

pub(super) async fn remove_document_bodies(
    store: &SqliteStore,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<RemovedBodies> {
    let mut tx = store.begin_write().await?;
    let documents = remove_documents(&mut tx, account, before, limit, now).await?;
    let invoices = remove_invoices(&mut tx, account, before, limit, now).await?;
    tx.commit().await?;
    Ok(RemovedBodies {
        documents,
        invoices,
    })
}

/// Empties the bodies and attachments of the oldest qualifying documents.
async fn remove_documents(
    conn: &mut SqliteConnection,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT d.id FROM documents d \
         WHERE d.account_id = ? AND d.body_removed_at IS NULL AND d.received_at < ? \
           AND NOT EXISTS ( \
             SELECT 1 FROM revisions r \
             JOIN purchase_orders p ON p.account_id = r.account_id AND p.id = r.po_id \
             WHERE r.account_id = d.account_id AND r.document_id = d.id \
               AND p.status NOT IN (SELECT value FROM json_each(?))) \
         ORDER BY d.received_at, d.id LIMIT ?",
    )
    .bind(account.0)
    .bind(encode_time(before))
    .bind(encode_json(&final_po_status_names()))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }

    let ids = encode_json(&ids);
    let removed = sqlx::query(
        "UPDATE documents SET masked_body = x'', body_removed_at = ? \
         WHERE account_id = ? AND id IN (SELECT value FROM json_each(?))",
    )
    .bind(encode_time(now))
    .bind(account.0)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE attachments SET bytes = x'' WHERE document_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    Ok(removed.rows_affected())
}

/// Empties the documents of the oldest qualifying sent invoices.
async fn remove_invoices(
    conn: &mut SqliteConnection,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let removed = sqlx::query(
        "UPDATE invoices SET document = '', document_removed_at = ?1 \
         WHERE id IN ( \
             SELECT id FROM invoices \
             WHERE account_id = ?2 AND status = ?3 AND document_removed_at IS NULL \
               AND coalesce(sent_at, updated_at) < ?4 \
             ORDER BY coalesce(sent_at, updated_at), id LIMIT ?5)",
    )
    .bind(encode_time(now))
    .bind(account.0)
    .bind(FINAL_INVOICE_STATUS.as_str())
    .bind(encode_time(before))
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await?;
    Ok(removed.rows_affected())
}
