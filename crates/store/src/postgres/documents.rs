//! Inbound documents, their attachments, and the transaction that records a
//! document together with its purchase-order revision and sync job.

use pobridge_core::{AccountId, BuyerId, DocumentId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::buyers::ensure_buyer;
use super::codec::{encode_enum, enum_column, not_found};
use super::revisions::{add_revision, create_orders, AddedRevision, NewOrder};
use super::{ensure_row, lock_key, PostgresStore};
use crate::{
    Attachment, Document, DocumentOutcome, NewDocument, NewJob, NewRevision, OrderType,
    RecordedDocument, StoreError, StoreResult,
};

fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_foreign_key_violation())
}

/// Stores one document with its revision and job in a transaction of its
/// own, which waits at most `lock_wait` for each lock (see `alone`).
pub(super) async fn record_document(
    store: &PostgresStore,
    account: AccountId,
    document: &NewDocument,
    revision: Option<&NewRevision>,
    job: Option<&NewJob>,
    lock_wait: std::time::Duration,
) -> StoreResult<RecordedDocument> {
    // Any early return drops the transaction, which rolls everything back.
    // Each round trip costs this process and the server more CPU than most
    // of these statements do. So a new order without attachments, whose
    // items are stored unchanged, takes six: begin, the lock, the document,
    // the order with its revision and job, the items read, commit. The items
    // read is left out when this process's copy has them all.
    let mut tx = store
        .pool
        .begin_with(super::alone::begin_statement(lock_wait))
        .await?;
    let checks_copies = lock_copies(&mut tx, account, document).await?;
    let (id, copy_of) = match insert_document(&mut tx, account, document, checks_copies).await {
        Ok(inserted) => inserted,
        Err(StoreError::Database(error)) if is_foreign_key_violation(&error) => {
            drop(tx);
            return Err(missing_reference(store, account, document, error).await);
        }
        Err(error) => return Err(error),
    };
    insert_attachments(&mut tx, id, document).await?;
    if let Some(original) = copy_of {
        tx.commit().await?;
        return Ok(RecordedDocument {
            document: id,
            po: None,
            revision: None,
            is_latest: false,
            duplicate_of: Some(original),
        });
    }

    let mut queued = false;
    let added = match revision {
        Some(revision) => {
            let received_at = document.received_at;
            // The document's foreign key has shown that its buyer belongs
            // to the account.
            let buyer_checked = document.buyer == Some(revision.buyer);
            let created = match (revision.order_type, job) {
                (OrderType::New, Some(job)) if buyer_checked => {
                    let order = NewOrder {
                        account,
                        document: id,
                        received_at,
                        revision,
                        job,
                    };
                    create_orders(&mut tx, &[order]).await?.pop().flatten()
                }
                _ => None,
            };
            match created {
                Some(created) => {
                    queued = created.job.is_some();
                    Some(AddedRevision {
                        po: created.po,
                        revision: created.revision,
                        is_latest: true,
                    })
                }
                None => {
                    let added =
                        add_revision(&mut tx, account, id, received_at, revision, buyer_checked)
                            .await?;
                    Some(added)
                }
            }
        }
        None => None,
    };
    if let Some(job) = job.filter(|_| !queued) {
        super::jobs::enqueue_in(&mut tx, job, document.received_at).await?;
    }
    // Items come last: a written item stays locked until the commit, and
    // other orders may carry the same item.
    let remember = match revision {
        Some(revision) => Some(
            super::items::upsert_coupa_items(
                store,
                &mut tx,
                account,
                revision.buyer,
                &revision.items,
                document.received_at,
            )
            .await?,
        ),
        None => None,
    };
    let committing = std::time::Instant::now();
    tx.commit().await?;
    if let Some(remember) = remember {
        remember.committed(committing);
    }

    Ok(RecordedDocument {
        document: id,
        po: added.as_ref().map(|added| added.po),
        revision: added.as_ref().map(|added| added.revision),
        is_latest: added.is_some_and(|added| added.is_latest),
        duplicate_of: None,
    })
}

/// Takes the lock under which an `Accepted` document looks for an earlier
/// copy of itself (same buyer, payloadID and body hash), and returns
/// whether it looks. Identical documents recorded at the same time wait
/// here for each other's transaction, so the later one finds the earlier.
async fn lock_copies(
    conn: &mut PgConnection,
    account: AccountId,
    document: &NewDocument,
) -> StoreResult<bool> {
    let (DocumentOutcome::Accepted, Some(buyer)) = (document.outcome, document.buyer) else {
        return Ok(false);
    };
    lock_key(conn, &copy_lock_key(account, buyer, document)).await?;
    Ok(true)
}

/// Returns the advisory lock key under which a document looks for earlier
/// copies of itself.
pub(super) fn copy_lock_key(account: AccountId, buyer: BuyerId, document: &NewDocument) -> String {
    format!(
        "document {account} {buyer} {:?} {:?}",
        document.payload_id, document.body_sha256
    )
}

/// Inserts the document and returns its id, with the earlier copy it
/// repeats when `checks_copies` finds one. Such a document is stored as a
/// `Duplicate` of that copy. The statement starts after the lock is taken,
/// so its snapshot includes every copy committed before. `OFFSET 0` keeps
/// the copy lookup on its index, as in `document_groups::insert_documents`.
async fn insert_document(
    conn: &mut PgConnection,
    account: AccountId,
    document: &NewDocument,
    checks_copies: bool,
) -> StoreResult<(DocumentId, Option<DocumentId>)> {
    let (id, duplicate_of): (i64, Option<i64>) = sqlx::query_as(
        "INSERT INTO documents (account_id, buyer_id, payload_id, body_sha256, masked_body, \
             content_type, request_kind, deployment_test, outcome, duplicate_of, received_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, \
             CASE WHEN copy.id IS NULL THEN $9 ELSE $13 END, coalesce(copy.id, $10), $11 \
         FROM (SELECT CASE WHEN $12 THEN ( \
                 SELECT min(id) FROM (SELECT id FROM documents \
                     WHERE account_id = $1 AND buyer_id = $2 AND payload_id = $3 \
                         AND body_sha256 = $4 OFFSET 0) AS found) END AS id) AS copy \
         RETURNING id, duplicate_of",
    )
    .bind(account.0)
    .bind(document.buyer.map(|buyer| buyer.0))
    .bind(&document.payload_id)
    .bind(&document.body_sha256)
    .bind(&document.masked_body)
    .bind(&document.content_type)
    .bind(&document.request_kind)
    .bind(document.deployment_test)
    .bind(encode_enum(&document.outcome))
    .bind(document.duplicate_of.map(|original| original.0))
    .bind(document.received_at)
    .bind(checks_copies)
    .bind(encode_enum(&DocumentOutcome::Duplicate))
    .fetch_one(&mut *conn)
    .await?;
    let copy_of = if checks_copies { duplicate_of } else { None };
    Ok((DocumentId(id), copy_of.map(DocumentId)))
}

async fn insert_attachments(
    conn: &mut PgConnection,
    id: DocumentId,
    document: &NewDocument,
) -> StoreResult<()> {
    for attachment in &document.attachments {
        sqlx::query(
            "INSERT INTO attachments (document_id, content_id, content_type, bytes) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id.0)
        .bind(&attachment.content_id)
        .bind(&attachment.content_type)
        .bind(&attachment.bytes)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Finds which of the document's references failed its foreign keys: the
/// account, a buyer of another account, or an original of another account.
/// Runs outside the failed transaction, only on that error path, and
/// returns `error` itself when every reference is found by then.
async fn missing_reference(
    store: &PostgresStore,
    account: AccountId,
    document: &NewDocument,
    error: sqlx::Error,
) -> StoreError {
    let mut conn = match store.pool.acquire().await {
        Ok(conn) => conn,
        Err(acquire_error) => return acquire_error.into(),
    };
    let found = async {
        super::accounts::ensure_account(&mut conn, account).await?;
        if let Some(buyer) = document.buyer {
            ensure_buyer(&mut conn, account, buyer).await?;
        }
        if let Some(original) = document.duplicate_of {
            ensure_document(&mut conn, account, original).await?;
        }
        Ok::<(), StoreError>(())
    }
    .await;
    match found {
        Err(missing) => missing,
        Ok(()) => StoreError::Database(error),
    }
}

async fn ensure_document(
    conn: &mut PgConnection,
    account: AccountId,
    document: DocumentId,
) -> StoreResult<()> {
    ensure_row(
        conn,
        "documents",
        "account_id",
        document.0,
        account.0,
        "document",
    )
    .await
}

/// Returns the earliest document with the same buyer, payloadID and body hash.
pub(super) async fn find_duplicate_document(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
    payload_id: &str,
    body_sha256: &str,
) -> StoreResult<Option<DocumentId>> {
    let mut conn = store.pool.acquire().await?;
    earliest_same_document(&mut conn, account, buyer, payload_id, body_sha256).await
}

/// Returns the first stored document with this buyer, payloadID and body
/// hash. `OFFSET 0` keeps the lookup on its index, as in
/// `document_groups::insert_documents`.
async fn earliest_same_document(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
    payload_id: &str,
    body_sha256: &str,
) -> StoreResult<Option<DocumentId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT min(id) FROM (SELECT id FROM documents \
             WHERE account_id = $1 AND buyer_id = $2 AND payload_id = $3 AND body_sha256 = $4 \
             OFFSET 0) AS found",
    )
    .bind(account.0)
    .bind(buyer.0)
    .bind(payload_id)
    .bind(body_sha256)
    .fetch_one(conn)
    .await?;
    Ok(id.map(DocumentId))
}

fn document_from_row(row: PgRow) -> StoreResult<Document> {
    let buyer: Option<i64> = row.try_get("buyer_id")?;
    let duplicate_of: Option<i64> = row.try_get("duplicate_of")?;
    Ok(Document {
        id: DocumentId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        buyer: buyer.map(BuyerId),
        payload_id: row.try_get("payload_id")?,
        body_sha256: row.try_get("body_sha256")?,
        masked_body: row.try_get("masked_body")?,
        content_type: row.try_get("content_type")?,
        request_kind: row.try_get("request_kind")?,
        deployment_test: row.try_get("deployment_test")?,
        outcome: enum_column(&row, "outcome", "document")?,
        duplicate_of: duplicate_of.map(DocumentId),
        received_at: row.try_get("received_at")?,
        body_removed_at: row.try_get("body_removed_at")?,
    })
}

pub(super) async fn document(
    store: &PostgresStore,
    account: AccountId,
    id: DocumentId,
) -> StoreResult<Document> {
    let row = sqlx::query(
        "SELECT id, account_id, buyer_id, payload_id, body_sha256, masked_body, content_type, \
             request_kind, deployment_test, outcome, duplicate_of, received_at, \
             body_removed_at \
         FROM documents WHERE id = $1 AND account_id = $2",
    )
    .bind(id.0)
    .bind(account.0)
    .fetch_optional(&store.pool)
    .await?;
    document_from_row(row.ok_or_else(|| not_found("document", id))?)
}

/// Lists a document's attachments in the order they were stored.
pub(super) async fn attachments(
    store: &PostgresStore,
    account: AccountId,
    document: DocumentId,
) -> StoreResult<Vec<Attachment>> {
    let mut conn = store.pool.acquire().await?;
    ensure_document(&mut conn, account, document).await?;
    let rows = sqlx::query(
        "SELECT content_id, content_type, bytes FROM attachments \
         WHERE document_id = $1 ORDER BY id",
    )
    .bind(document.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Attachment {
                content_id: row.try_get("content_id")?,
                content_type: row.try_get("content_type")?,
                bytes: row.try_get("bytes")?,
            })
        })
        .collect()
}
