//! Inbound documents, their attachments, and the transaction that records a
//! document together with its purchase-order revision and sync job.

use pobridge_core::{AccountId, BuyerId, DocumentId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::buyers::ensure_buyer;
use super::codec::{encode_enum, enum_column, not_found};
use super::{ensure_row, lock_key, PostgresStore};
use crate::{
    Attachment, Document, DocumentOutcome, NewDocument, NewJob, NewRevision, RecordedDocument,
    StoreResult,
};

pub(super) async fn record_document(
    store: &PostgresStore,
    account: AccountId,
    document: &NewDocument,
    revision: Option<&NewRevision>,
    job: Option<&NewJob>,
) -> StoreResult<RecordedDocument> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.begin().await?;
    if let Some(original) = earlier_copy(&mut tx, account, document).await? {
        let id = insert_document(
            &mut tx,
            account,
            document,
            DocumentOutcome::Duplicate,
            Some(original),
        )
        .await?;
        tx.commit().await?;
        return Ok(RecordedDocument {
            document: id,
            po: None,
            revision: None,
            is_latest: false,
            duplicate_of: Some(original),
        });
    }

    let id = insert_document(
        &mut tx,
        account,
        document,
        document.outcome,
        document.duplicate_of,
    )
    .await?;
    let added = match revision {
        Some(revision) => {
            let received_at = document.received_at;
            let added =
                super::revisions::add_revision(&mut tx, account, id, received_at, revision).await?;
            let items = &revision.items;
            super::items::upsert_coupa_items(&mut tx, account, revision.buyer, items, received_at)
                .await?;
            Some(added)
        }
        None => None,
    };
    if let Some(job) = job {
        super::jobs::enqueue_in(&mut tx, job, document.received_at).await?;
    }
    tx.commit().await?;

    Ok(RecordedDocument {
        document: id,
        po: added.as_ref().map(|added| added.po),
        revision: added.as_ref().map(|added| added.revision),
        is_latest: added.is_some_and(|added| added.is_latest),
        duplicate_of: None,
    })
}

/// Returns the earliest stored document that an `Accepted` document
/// repeats: same buyer, payloadID and body hash. Identical documents recorded
/// at the same time wait here for each other's transaction, so the later one
/// finds the earlier.
async fn earlier_copy(
    conn: &mut PgConnection,
    account: AccountId,
    document: &NewDocument,
) -> StoreResult<Option<DocumentId>> {
    let (DocumentOutcome::Accepted, Some(buyer)) = (document.outcome, document.buyer) else {
        return Ok(None);
    };
    let key = format!(
        "document {account} {buyer} {:?} {:?}",
        document.payload_id, document.body_sha256
    );
    lock_key(conn, &key).await?;
    earliest_same_document(
        conn,
        account,
        buyer,
        &document.payload_id,
        &document.body_sha256,
    )
    .await
}

/// Inserts the document with `outcome` and `duplicate_of`, which may differ
/// from the ones it was given with.
async fn insert_document(
    conn: &mut PgConnection,
    account: AccountId,
    document: &NewDocument,
    outcome: DocumentOutcome,
    duplicate_of: Option<DocumentId>,
) -> StoreResult<DocumentId> {
    super::accounts::ensure_account(conn, account).await?;
    if let Some(buyer) = document.buyer {
        ensure_buyer(conn, account, buyer).await?;
    }
    if let Some(original) = duplicate_of {
        ensure_document(conn, account, original).await?;
    }

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO documents (account_id, buyer_id, payload_id, body_sha256, masked_body, \
             content_type, request_kind, deployment_test, outcome, duplicate_of, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(account.0)
    .bind(document.buyer.map(|buyer| buyer.0))
    .bind(&document.payload_id)
    .bind(&document.body_sha256)
    .bind(&document.masked_body)
    .bind(&document.content_type)
    .bind(&document.request_kind)
    .bind(document.deployment_test)
    .bind(encode_enum(&outcome))
    .bind(duplicate_of.map(|original| original.0))
    .bind(document.received_at)
    .fetch_one(&mut *conn)
    .await?;

    for attachment in &document.attachments {
        sqlx::query(
            "INSERT INTO attachments (document_id, content_id, content_type, bytes) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&attachment.content_id)
        .bind(&attachment.content_type)
        .bind(&attachment.bytes)
        .execute(&mut *conn)
        .await?;
    }
    Ok(DocumentId(id))
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

async fn earliest_same_document(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
    payload_id: &str,
    body_sha256: &str,
) -> StoreResult<Option<DocumentId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT min(id) FROM documents \
         WHERE account_id = $1 AND buyer_id = $2 AND payload_id = $3 AND body_sha256 = $4",
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
