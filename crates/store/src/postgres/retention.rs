//! Removal of old raw document bodies for the retention job.

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;
use sqlx::PgConnection;

use super::PostgresStore;
use crate::retention::final_po_status_names;
use crate::{RemovedBodies, StoreResult, FINAL_INVOICE_STATUS};

pub(super) async fn remove_document_bodies(
    store: &PostgresStore,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<RemovedBodies> {
    let mut tx = store.begin().await?;
    let documents = remove_documents(&mut tx, account, before, limit, now).await?;
    let invoices = remove_invoices(&mut tx, account, before, limit, now).await?;
    tx.commit().await?;
    Ok(RemovedBodies {
        documents,
        invoices,
    })
}

/// Empties the bodies and attachments of the oldest qualifying documents.
/// A revision that reopens the order meanwhile brings its own document, and
/// the sync reads the parsed revision, so the race loses nothing a sync needs.
/// Locked rows are skipped, so two processes never remove the same body.
async fn remove_documents(
    conn: &mut PgConnection,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT d.id FROM documents d \
         WHERE d.account_id = $1 AND d.body_removed_at IS NULL AND d.received_at < $2 \
           AND NOT EXISTS ( \
             SELECT 1 FROM revisions r \
             JOIN purchase_orders p ON p.account_id = r.account_id AND p.id = r.po_id \
             WHERE r.account_id = d.account_id AND r.document_id = d.id \
               AND p.status <> ALL($3)) \
         ORDER BY d.received_at, d.id LIMIT $4 \
         FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(account.0)
    .bind(before)
    .bind(final_po_status_names())
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }

    let removed = sqlx::query(
        "UPDATE documents SET masked_body = '\\x'::bytea, body_removed_at = $1 \
         WHERE account_id = $2 AND id = ANY($3)",
    )
    .bind(now)
    .bind(account.0)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE attachments SET bytes = '\\x'::bytea WHERE document_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    Ok(removed.rows_affected())
}

/// Empties the documents of the oldest qualifying sent invoices.
async fn remove_invoices(
    conn: &mut PgConnection,
    account: AccountId,
    before: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let removed = sqlx::query(
        "UPDATE invoices SET document = '', document_removed_at = $1 \
         WHERE id IN ( \
             SELECT id FROM invoices \
             WHERE account_id = $2 AND status = $3 AND document_removed_at IS NULL \
               AND coalesce(sent_at, updated_at) < $4 \
             ORDER BY coalesce(sent_at, updated_at), id LIMIT $5 \
             FOR UPDATE SKIP LOCKED) \
           AND status = $3",
    )
    .bind(now)
    .bind(account.0)
    .bind(FINAL_INVOICE_STATUS.as_str())
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await?;
    Ok(removed.rows_affected())
}
