//! Revisions of purchase orders, and the step of `record_document` that
//! files a new revision under its order.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, DocumentId, PoId, RevisionId};
use sqlx::{Row, SqliteConnection};

use super::codec::{
    corrupt, decode_enum, decode_json, decode_offset_time, decode_optional_time, decode_time,
    encode_enum, encode_offset_time, encode_time, not_found,
};
use super::documents::Checked;
use super::orders::ensure_po;
use super::{SqliteQuery, SqliteStore};
use crate::revision_order::{compare_revisions, RevisionOrderKey};
use crate::{NewRevision, PoStatus, Revision, RevisionStatus, StoreResult};

const REVISION_COLUMNS: &str = "id, po_id, document_id, order_type, order_version, \
    document_timestamp, document_timestamp_offset_seconds, content_sha256, order_json, status, \
    test, received_at";

/// The order and revision that [`add_revision`] stored, and whether the
/// revision is now the latest.
pub(super) struct AddedRevision {
    pub po: PoId,
    pub revision: RevisionId,
    pub is_latest: bool,
}

/// Stores a revision under its purchase order (created with status
/// `Received` on first sight) and decides whether it is the latest.
pub(super) async fn add_revision(
    conn: &mut SqliteConnection,
    checked: &mut Checked,
    account: AccountId,
    document: DocumentId,
    received_at: DateTime<Utc>,
    revision: &NewRevision,
) -> StoreResult<AddedRevision> {
    checked.buyer(conn, account, revision.buyer).await?;
    let (po, current_latest) = find_or_create_po(conn, account, revision, received_at).await?;
    let id = insert_revision(conn, account, po, document, received_at, revision).await?;

    let new_key = RevisionOrderKey::new(
        revision.order_type,
        revision.order_version,
        revision
            .document_timestamp
            .map(|time| time.with_timezone(&Utc)),
        id,
    );
    let is_latest = match current_latest {
        None => true,
        Some(latest) => {
            let latest_key = revision_order_key(conn, latest).await?;
            compare_revisions(&new_key, &latest_key) == Ordering::Greater
        }
    };

    // A new order has no other revision to supersede.
    if is_latest && current_latest.is_some() {
        sqlx::query(
            "UPDATE revisions SET status = 'superseded' \
             WHERE po_id = ? AND id <> ? AND status = 'pending'",
        )
        .bind(po.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    } else if !is_latest {
        set_status_in(conn, id, RevisionStatus::Superseded).await?;
    }
    sqlx::query(
        "UPDATE purchase_orders SET revision_count = revision_count + 1, updated_at = ?, \
             latest_revision_id = CASE WHEN ? THEN ? ELSE latest_revision_id END \
         WHERE id = ?",
    )
    .bind(encode_time(received_at))
    .bind(is_latest)
    .bind(id.0)
    .bind(po.0)
    .execute(&mut *conn)
    .await?;

    Ok(AddedRevision {
        po,
        revision: id,
        is_latest,
    })
}

/// Creates a purchase order, without revisions yet, and returns its id, or
/// no row when the buyer already has an order with that number. Its six
/// parameters are bound by [`bind_new_po`].
pub(super) const INSERT_NEW_PO: &str = "INSERT INTO purchase_orders (account_id, buyer_id, \
         number, status, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?) \
     ON CONFLICT (account_id, buyer_id, number) DO NOTHING RETURNING id";

/// Binds the parameters of [`INSERT_NEW_PO`], after any bound before.
pub(super) fn bind_new_po<'q>(
    query: SqliteQuery<'q>,
    account: AccountId,
    revision: &'q NewRevision,
    now: DateTime<Utc>,
) -> SqliteQuery<'q> {
    query
        .bind(account.0)
        .bind(revision.buyer.0)
        .bind(revision.po_number.as_str())
        .bind(PoStatus::Received.as_str())
        .bind(encode_time(now))
        .bind(encode_time(now))
}

/// Returns the purchase order's id and its latest revision, creating the
/// order (without revisions yet) when it does not exist.
///
/// The insert comes first because most documents are new orders: for them
/// this is one statement, and only a document for a stored order needs the
/// second.
async fn find_or_create_po(
    conn: &mut SqliteConnection,
    account: AccountId,
    revision: &NewRevision,
    now: DateTime<Utc>,
) -> StoreResult<(PoId, Option<RevisionId>)> {
    let created = bind_new_po(sqlx::query(INSERT_NEW_PO), account, revision, now)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?;
    if let Some(id) = created {
        return Ok((PoId(id), None));
    }

    let (id, latest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT id, latest_revision_id FROM purchase_orders \
         WHERE account_id = ? AND buyer_id = ? AND number = ?",
    )
    .bind(account.0)
    .bind(revision.buyer.0)
    .bind(revision.po_number.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok((PoId(id), latest.map(RevisionId)))
}

/// Binds a revision's own columns, from `order_type` to `test`, as
/// `revisions` lists them, after any bound before.
pub(super) fn bind_revision_fields<'q>(
    query: SqliteQuery<'q>,
    revision: &'q NewRevision,
) -> SqliteQuery<'q> {
    let (timestamp, offset_seconds) = revision.document_timestamp.map(encode_offset_time).unzip();
    query
        .bind(encode_enum(&revision.order_type))
        .bind(revision.order_version)
        .bind(timestamp)
        .bind(offset_seconds)
        .bind(&revision.content_sha256)
        .bind(revision.order.as_str())
        .bind(encode_enum(&revision.status))
        .bind(revision.test)
}

async fn insert_revision(
    conn: &mut SqliteConnection,
    account: AccountId,
    po: PoId,
    document: DocumentId,
    received_at: DateTime<Utc>,
    revision: &NewRevision,
) -> StoreResult<RevisionId> {
    let query = sqlx::query(
        "INSERT INTO revisions (account_id, po_id, document_id, order_type, order_version, \
             document_timestamp, document_timestamp_offset_seconds, content_sha256, order_json, \
             status, test, received_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(document.0);
    let row = bind_revision_fields(query, revision)
        .bind(encode_time(received_at))
        .fetch_one(&mut *conn)
        .await?;
    let id: i64 = row.try_get(0)?;
    Ok(RevisionId(id))
}

async fn revision_order_key(
    conn: &mut SqliteConnection,
    id: RevisionId,
) -> StoreResult<RevisionOrderKey> {
    let (order_type, order_version, timestamp): (String, Option<i64>, Option<String>) =
        sqlx::query_as(
            "SELECT order_type, order_version, document_timestamp FROM revisions WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| corrupt("purchase order", format!("latest revision {id} is missing")))?;
    Ok(RevisionOrderKey::new(
        decode_enum("revision", &order_type)?,
        order_version,
        decode_optional_time("revision", timestamp)?,
        id,
    ))
}

async fn set_status_in(
    conn: &mut SqliteConnection,
    id: RevisionId,
    status: RevisionStatus,
) -> StoreResult<()> {
    sqlx::query("UPDATE revisions SET status = ? WHERE id = ?")
        .bind(encode_enum(&status))
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    id: i64,
    po_id: i64,
    document_id: i64,
    order_type: String,
    order_version: Option<i64>,
    document_timestamp: Option<String>,
    document_timestamp_offset_seconds: Option<i32>,
    content_sha256: String,
    order_json: String,
    status: String,
    test: bool,
    received_at: String,
}

impl RevisionRow {
    fn into_revision(self) -> StoreResult<Revision> {
        let document_timestamp = match (
            self.document_timestamp,
            self.document_timestamp_offset_seconds,
        ) {
            (Some(utc), Some(offset)) => Some(decode_offset_time("revision", &utc, offset)?),
            _ => None,
        };
        Ok(Revision {
            id: RevisionId(self.id),
            po_id: PoId(self.po_id),
            document_id: DocumentId(self.document_id),
            order_type: decode_enum("revision", &self.order_type)?,
            order_version: self.order_version,
            document_timestamp,
            content_sha256: self.content_sha256,
            order: decode_json("revision", &self.order_json)?,
            status: decode_enum("revision", &self.status)?,
            test: self.test,
            received_at: decode_time("revision", &self.received_at)?,
        })
    }
}

/// Lists an order's revisions in arrival order.
pub(super) async fn revisions(
    store: &SqliteStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<Revision>> {
    let mut conn = store.reader.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE po_id = ? ORDER BY id");
    sqlx::query_as::<_, RevisionRow>(&sql)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(RevisionRow::into_revision)
        .collect()
}

pub(super) async fn revision(
    store: &SqliteStore,
    account: AccountId,
    id: RevisionId,
) -> StoreResult<Revision> {
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE id = ? AND account_id = ?");
    sqlx::query_as::<_, RevisionRow>(&sql)
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(&store.reader)
        .await?
        .ok_or_else(|| not_found("revision", id))?
        .into_revision()
}

pub(super) async fn set_revision_status(
    store: &SqliteStore,
    account: AccountId,
    revision: RevisionId,
    status: RevisionStatus,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE revisions SET status = ? WHERE id = ? AND account_id = ?")
        .bind(encode_enum(&status))
        .bind(revision.0)
        .bind(account.0)
        .execute(&store.writer)
        .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("revision", revision));
    }
    Ok(())
}
