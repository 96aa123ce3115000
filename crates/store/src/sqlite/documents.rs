//! Inbound documents, their attachments, and the transaction that records a
//! document together with its purchase-order revision and sync job.

use std::collections::HashSet;

use pobridge_core::{AccountId, BuyerId, DocumentId};
use sqlx::{Row, SqliteConnection};

use super::buyers::ensure_buyer;
use super::codec::{
    decode_enum, decode_optional_time, decode_time, encode_enum, encode_time, not_found,
};
use super::{SqliteQuery, SqliteStore};
use crate::group_commit::DocumentWrite;
use crate::{Attachment, Document, DocumentOutcome, NewDocument, RecordedDocument, StoreResult};

/// Stores `writes` in one transaction, so one disk flush makes them all
/// durable (see [`crate::group_commit`]).
///
/// A write rarely fails, so the group first runs without savepoints, which
/// would cost two more statements a document. When one write fails, the
/// whole transaction is rolled back and each write is stored again in a
/// transaction of its own, so the others are stored and the failure is
/// reported for that write alone.
pub(super) async fn record_documents(
    store: &SqliteStore,
    writes: &[DocumentWrite],
) -> StoreResult<Vec<StoreResult<RecordedDocument>>> {
    if writes.len() > 1 {
        match record_together(store, writes).await {
            Ok(all) => return Ok(all.into_iter().map(Ok).collect()),
            Err(error) => {
                tracing::warn!(documents = writes.len(), error = ?error, "storing a group of documents failed; storing each alone");
            }
        }
    }
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        results.push(record_together(store, std::slice::from_ref(write)).await);
    }
    Ok(results
        .into_iter()
        .map(|result| result.map(|mut one| one.remove(0)))
        .collect())
}

/// Stores every write of `writes` in one transaction, or none of them.
async fn record_together(
    store: &SqliteStore,
    writes: &[DocumentWrite],
) -> StoreResult<Vec<RecordedDocument>> {
    // The write lock is held from here on, so no identical document can be
    // stored between a write's duplicate lookup and its insert.
    let mut tx = store.begin_write().await?;
    // Any early return drops the transaction, which rolls it back.
    let new_orders = super::new_orders::record_new_orders(&mut tx, writes).await?;
    let mut checked = Checked::default();
    let mut recorded = Vec::with_capacity(writes.len());
    for (write, new_order) in writes.iter().zip(new_orders) {
        recorded.push(match new_order {
            Some(new_order) => new_order,
            None => record_one(&mut tx, &mut checked, write).await?,
        });
    }
    tx.commit().await?;
    Ok(recorded)
}

/// The accounts and buyers a transaction has found, so that each is looked
/// up once however many of the group's documents name it. Each statement is
/// a round trip to the connection's thread, with two thread switches.
#[derive(Debug, Default)]
pub(super) struct Checked {
    accounts: HashSet<AccountId>,
    buyers: HashSet<(AccountId, BuyerId)>,
}

impl Checked {
    /// Fails with not found when `account` does not exist.
    pub(super) async fn account(
        &mut self,
        conn: &mut SqliteConnection,
        account: AccountId,
    ) -> StoreResult<()> {
        if !self.accounts.contains(&account) {
            super::accounts::ensure_account(conn, account).await?;
            self.accounts.insert(account);
        }
        Ok(())
    }

    /// Fails with not found when `buyer` is not one of `account`'s buyers.
    pub(super) async fn buyer(
        &mut self,
        conn: &mut SqliteConnection,
        account: AccountId,
        buyer: BuyerId,
    ) -> StoreResult<()> {
        if !self.buyers.contains(&(account, buyer)) {
            ensure_buyer(conn, account, buyer).await?;
            self.buyers.insert((account, buyer));
        }
        Ok(())
    }
}

/// Records one document with its revision and job, inside the group's
/// transaction.
pub(super) async fn record_one(
    conn: &mut SqliteConnection,
    checked: &mut Checked,
    write: &DocumentWrite,
) -> StoreResult<RecordedDocument> {
    let DocumentWrite {
        account,
        document,
        revision,
        job,
    } = write;
    let account = *account;
    let earlier = match (document.outcome, document.buyer) {
        (DocumentOutcome::Accepted, Some(buyer)) => {
            earliest_same_document(
                conn,
                account,
                buyer,
                &document.payload_id,
                &document.body_sha256,
            )
            .await?
        }
        _ => None,
    };
    if let Some(original) = earlier {
        let document_id = insert_document(
            conn,
            checked,
            account,
            document,
            DocumentOutcome::Duplicate,
            Some(original),
        )
        .await?;
        return Ok(RecordedDocument {
            document: document_id,
            po: None,
            revision: None,
            is_latest: false,
            duplicate_of: Some(original),
        });
    }

    let document_id = insert_document(
        conn,
        checked,
        account,
        document,
        document.outcome,
        document.duplicate_of,
    )
    .await?;
    let mut recorded = RecordedDocument {
        document: document_id,
        po: None,
        revision: None,
        is_latest: false,
        duplicate_of: None,
    };

    if let Some(revision) = revision {
        let added = super::revisions::add_revision(
            conn,
            checked,
            account,
            document_id,
            document.received_at,
            revision,
        )
        .await?;
        recorded.po = Some(added.po);
        recorded.revision = Some(added.revision);
        recorded.is_latest = added.is_latest;
        super::items::upsert_coupa_items(
            conn,
            account,
            revision.buyer,
            &revision.items,
            document.received_at,
        )
        .await?;
    }
    if let Some(job) = job {
        super::jobs::enqueue_in(conn, job, document.received_at).await?;
    }
    Ok(recorded)
}

/// Inserts a document and returns its id. Its eleven parameters are bound
/// by [`bind_document`].
pub(super) const INSERT_DOCUMENT: &str = "INSERT INTO documents (account_id, buyer_id, \
         payload_id, body_sha256, masked_body, content_type, request_kind, deployment_test, \
         outcome, duplicate_of, received_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

/// Binds the parameters of [`INSERT_DOCUMENT`], after any bound before.
pub(super) fn bind_document<'q>(
    query: SqliteQuery<'q>,
    account: AccountId,
    document: &'q NewDocument,
    outcome: DocumentOutcome,
    duplicate_of: Option<DocumentId>,
) -> SqliteQuery<'q> {
    query
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
        .bind(encode_time(document.received_at))
}

/// Inserts the document with `outcome` and `duplicate_of`, which may differ
/// from the ones it was given with.
async fn insert_document(
    conn: &mut SqliteConnection,
    checked: &mut Checked,
    account: AccountId,
    document: &NewDocument,
    outcome: DocumentOutcome,
    duplicate_of: Option<DocumentId>,
) -> StoreResult<DocumentId> {
    checked.account(conn, account).await?;
    if let Some(buyer) = document.buyer {
        checked.buyer(conn, account, buyer).await?;
    }
    if let Some(original) = duplicate_of {
        ensure_document(conn, account, original).await?;
    }

    let row = bind_document(
        sqlx::query(INSERT_DOCUMENT),
        account,
        document,
        outcome,
        duplicate_of,
    )
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get(0)?;

    for attachment in &document.attachments {
        sqlx::query(
            "INSERT INTO attachments (document_id, content_id, content_type, bytes) \
             VALUES (?, ?, ?, ?)",
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
    conn: &mut SqliteConnection,
    account: AccountId,
    document: DocumentId,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM documents WHERE id = ? AND account_id = ?")
            .bind(document.0)
            .bind(account.0)
            .fetch_optional(conn)
            .await?;
    found
        .map(|_| ())
        .ok_or_else(|| not_found("document", document))
}

/// Returns the earliest document with the same buyer, payloadID and body hash.
pub(super) async fn find_duplicate_document(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
    payload_id: &str,
    body_sha256: &str,
) -> StoreResult<Option<DocumentId>> {
    let mut conn = store.reader.acquire().await?;
    earliest_same_document(&mut conn, account, buyer, payload_id, body_sha256).await
}

async fn earliest_same_document(
    conn: &mut SqliteConnection,
    account: AccountId,
    buyer: BuyerId,
    payload_id: &str,
    body_sha256: &str,
) -> StoreResult<Option<DocumentId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM documents \
         WHERE account_id = ? AND buyer_id = ? AND payload_id = ? AND body_sha256 = ? \
         ORDER BY id LIMIT 1",
    )
    .bind(account.0)
    .bind(buyer.0)
    .bind(payload_id)
    .bind(body_sha256)
    .fetch_optional(conn)
    .await?;
    Ok(id.map(DocumentId))
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: i64,
    account_id: i64,
    buyer_id: Option<i64>,
    payload_id: String,
    body_sha256: String,
    masked_body: Vec<u8>,
    content_type: String,
    request_kind: String,
    deployment_test: bool,
    outcome: String,
    duplicate_of: Option<i64>,
    received_at: String,
    body_removed_at: Option<String>,
}

impl DocumentRow {
    fn into_document(self) -> StoreResult<Document> {
        Ok(Document {
            id: DocumentId(self.id),
            account_id: AccountId(self.account_id),
            buyer: self.buyer_id.map(BuyerId),
            payload_id: self.payload_id,
            body_sha256: self.body_sha256,
            masked_body: self.masked_body,
            content_type: self.content_type,
            request_kind: self.request_kind,
            deployment_test: self.deployment_test,
            outcome: decode_enum("document", &self.outcome)?,
            duplicate_of: self.duplicate_of.map(DocumentId),
            received_at: decode_time("document", &self.received_at)?,
            body_removed_at: decode_optional_time("document", self.body_removed_at)?,
        })
    }
}

pub(super) async fn document(
    store: &SqliteStore,
    account: AccountId,
    id: DocumentId,
) -> StoreResult<Document> {
    sqlx::query_as::<_, DocumentRow>(
        "SELECT id, account_id, buyer_id, payload_id, body_sha256, masked_body, content_type, \
             request_kind, deployment_test, outcome, duplicate_of, received_at, \
             body_removed_at \
         FROM documents WHERE id = ? AND account_id = ?",
    )
    .bind(id.0)
    .bind(account.0)
    .fetch_optional(&store.reader)
    .await?
    .ok_or_else(|| not_found("document", id))?
    .into_document()
}

/// Lists a document's attachments in the order they were stored.
pub(super) async fn attachments(
    store: &SqliteStore,
    account: AccountId,
    document: DocumentId,
) -> StoreResult<Vec<Attachment>> {
    let mut conn = store.reader.acquire().await?;
    ensure_document(&mut conn, account, document).await?;
    let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT content_id, content_type, bytes FROM attachments WHERE document_id = ? ORDER BY id",
    )
    .bind(document.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(content_id, content_type, bytes)| Attachment {
            content_id,
            content_type,
            bytes,
        })
        .collect())
}
