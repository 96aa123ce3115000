//! New orders stored with one query each: the SQLite side of group commit's
//! usual case.
//!
//! Each query on a sqlx SQLite connection is a round trip to the
//! connection's thread, with a thread switch each way. Stored one statement
//! at a time, a new order took seven round trips, and `perf` at 1,000
//! orders a second put about a quarter of the server's CPU time in them.
//!
//! So a group first checks, in one statement, which of its documents are new
//! orders that need no answer from the database on the way: the buyer
//! exists, no identical document is stored, and the buyer has no order with
//! that number yet. Each such document is then stored by one query of six
//! statements. They are the same statements the step-by-step path runs, and
//! where that path binds an id that an earlier statement returned, these
//! read it back with `last_insert_rowid()` or by the order's key. Every
//! other document takes the step-by-step path of [`super::documents`], in
//! the same transaction, after the new orders.
//!
//! A document whose order number or identity matches an earlier document of
//! the group takes the step-by-step path too. That path then sees the
//! earlier document, as it would have in arrival order.

use std::collections::HashSet;
use std::sync::LazyLock;

use pobridge_core::{AccountId, BuyerId, DocumentId, PoId, PoNumber, RevisionId};
use sqlx::{Row, SqliteConnection};

use super::codec::{corrupt, encode_time};
use super::documents::{bind_document, INSERT_DOCUMENT};
use super::items::{bind_items, UPSERT_ITEMS};
use super::jobs::{bind_job, ENQUEUE_JOB};
use super::revisions::{bind_new_po, bind_revision_fields, INSERT_NEW_PO};
use crate::group_commit::DocumentWrite;
use crate::{DocumentOutcome, RecordedDocument, StoreResult};

/// Returns, of the documents listed as `[account, buyer, payloadID, body
/// SHA-256, order number]` in the JSON array `?`, the places of those whose
/// buyer exists, with no identical document stored and no order with that
/// number.
const PLAIN_NEW_ORDERS: &str = "SELECT m.key FROM json_each(?) AS m \
     WHERE EXISTS (SELECT 1 FROM buyers \
             WHERE id = m.value ->> 1 AND account_id = m.value ->> 0) \
         AND NOT EXISTS (SELECT 1 FROM documents \
             WHERE account_id = m.value ->> 0 AND buyer_id = m.value ->> 1 \
                 AND payload_id = m.value ->> 2 AND body_sha256 = m.value ->> 3) \
         AND NOT EXISTS (SELECT 1 FROM purchase_orders \
             WHERE account_id = m.value ->> 0 AND buyer_id = m.value ->> 1 \
                 AND number = m.value ->> 4) \
     ORDER BY m.key";

/// Inserts the first revision under the order [`INSERT_NEW_PO`] created,
/// found by its key, for the document inserted just before.
const INSERT_FIRST_REVISION: &str = "INSERT INTO revisions (account_id, po_id, document_id, \
         order_type, order_version, document_timestamp, document_timestamp_offset_seconds, \
         content_sha256, order_json, status, test, received_at) \
     VALUES (?, (SELECT id FROM purchase_orders \
             WHERE account_id = ? AND buyer_id = ? AND number = ?), \
         last_insert_rowid(), ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     RETURNING id";

/// Makes the revision inserted just before the order's latest, as
/// `add_revision` does for an order without revisions.
const SET_FIRST_REVISION: &str = "UPDATE purchase_orders SET \
         revision_count = revision_count + 1, updated_at = ?, \
         latest_revision_id = last_insert_rowid() \
     WHERE account_id = ? AND buyer_id = ? AND number = ?";

/// The query that stores one new order. Its statements return, in turn, the
/// job's, the order's, the document's and the revision's id.
static STORE_NEW_ORDER: LazyLock<String> = LazyLock::new(|| {
    [
        ENQUEUE_JOB,
        UPSERT_ITEMS,
        INSERT_NEW_PO,
        INSERT_DOCUMENT,
        INSERT_FIRST_REVISION,
        SET_FIRST_REVISION,
    ]
    .join(";\n")
});

/// Stores the new orders of `writes` and returns what each stored, at its
/// place in `writes`. The places left `None` are for the step-by-step path.
pub(super) async fn record_new_orders(
    conn: &mut SqliteConnection,
    writes: &[DocumentWrite],
) -> StoreResult<Vec<Option<RecordedDocument>>> {
    let mut recorded = vec![None; writes.len()];
    let candidates = candidates(writes);
    if candidates.is_empty() {
        return Ok(recorded);
    }
    let keys: Vec<_> = candidates
        .iter()
        .map(|&index| {
            let write = &writes[index];
            let document = &write.document;
            let number = write.revision.as_ref().map(|revision| &revision.po_number);
            (
                write.account.0,
                document.buyer.map(|buyer| buyer.0),
                &document.payload_id,
                &document.body_sha256,
                number.map(PoNumber::as_str),
            )
        })
        .collect();
    let keys = serde_json::to_string(&keys)
        .map_err(|error| corrupt("document group", error.to_string()))?;
    let plain: Vec<i64> = sqlx::query_scalar(PLAIN_NEW_ORDERS)
        .bind(keys)
        .fetch_all(&mut *conn)
        .await?;
    for place in plain {
        let index = usize::try_from(place)
            .ok()
            .and_then(|place| candidates.get(place).copied())
            .ok_or_else(|| corrupt("document group", format!("no document at place {place}")))?;
        recorded[index] = Some(store_new_order(conn, &writes[index]).await?);
    }
    Ok(recorded)
}

/// Returns the places of the writes that may be new orders: an accepted
/// document from a buyer, with its revision and job, no attachments, and
/// nothing in common with an earlier write of the group.
fn candidates(writes: &[DocumentWrite]) -> Vec<usize> {
    let mut documents_seen = HashSet::new();
    let mut orders_seen = HashSet::new();
    let mut candidates = Vec::new();
    for (index, write) in writes.iter().enumerate() {
        let document = &write.document;
        let document_key = document.buyer.map(|buyer| {
            (
                write.account,
                buyer,
                document.payload_id.as_str(),
                document.body_sha256.as_str(),
            )
        });
        let order_key = write
            .revision
            .as_ref()
            .map(|revision| (write.account, revision.buyer, revision.po_number.as_str()));
        let fresh = document_key.is_none_or(|key| !documents_seen.contains(&key))
            && order_key.is_none_or(|key| !orders_seen.contains(&key));
        if fresh && is_plain(write) {
            candidates.push(index);
        }
        documents_seen.extend(document_key);
        orders_seen.extend(order_key);
    }
    candidates
}

fn is_plain(write: &DocumentWrite) -> bool {
    let (Some(revision), Some(job)) = (&write.revision, &write.job) else {
        return false;
    };
    let document = &write.document;
    document.outcome == DocumentOutcome::Accepted
        && document.buyer == Some(revision.buyer)
        && document.duplicate_of.is_none()
        && document.attachments.is_empty()
        && job.account == write.account
}

/// Stores one new order with [`STORE_NEW_ORDER`].
async fn store_new_order(
    conn: &mut SqliteConnection,
    write: &DocumentWrite,
) -> StoreResult<RecordedDocument> {
    let (Some(revision), Some(job)) = (&write.revision, &write.job) else {
        return Err(corrupt(
            "document group",
            "a new order without its revision or job".into(),
        ));
    };
    let DocumentWrite {
        account, document, ..
    } = write;
    let account: AccountId = *account;
    let buyer: BuyerId = revision.buyer;
    let received_at = document.received_at;

    let query = bind_job(sqlx::query(STORE_NEW_ORDER.as_str()), job, received_at);
    let query = bind_items(query, account, buyer, &revision.items, received_at);
    let query = bind_new_po(query, account, revision, received_at);
    let query = bind_document(query, account, document, document.outcome, None);
    let query = bind_revision_fields(
        query
            .bind(account.0)
            .bind(account.0)
            .bind(buyer.0)
            .bind(revision.po_number.as_str()),
        revision,
    )
    .bind(encode_time(received_at));
    let query = query
        .bind(encode_time(received_at))
        .bind(account.0)
        .bind(buyer.0)
        .bind(revision.po_number.as_str());

    let rows = query.fetch_all(&mut *conn).await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    // The job's id comes first, and the store does not report it.
    let [_job, po, document_id, revision_id] = ids[..] else {
        return Err(corrupt(
            "document group",
            format!(
                "storing the new order {} returned {} ids, not 4",
                revision.po_number.as_str(),
                ids.len()
            ),
        ));
    };
    Ok(RecordedDocument {
        document: DocumentId(document_id),
        po: Some(PoId(po)),
        revision: Some(RevisionId(revision_id)),
        is_latest: true,
        duplicate_of: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use pobridge_core::AccountSlug;
    use sqlx::Column;

    use super::*;
    use crate::sqlite::documents::{record_one, Checked};
    use crate::sqlite::SqliteStore;
    use crate::{
        BuyerMode, CoupaItem, CredentialRef, NewBuyer, NewDocument, NewJob, NewRevision, OrderType,
        RevisionStatus, Store,
    };

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    /// Opens a store with one account and one buyer, whose ids are 1 in each.
    async fn store() -> (tempfile::TempDir, SqliteStore, AccountId, BuyerId) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("orders.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let slug = AccountSlug::parse("acme").unwrap();
        let account = store
            .create_account(&slug, "ops@acme.example", at(0))
            .await
            .unwrap()
            .id;
        let credential = |identity: &str| CredentialRef {
            domain: "DUNS".to_owned(),
            identity: identity.to_owned(),
        };
        let buyer = NewBuyer {
            name: "Globex".to_owned(),
            from: credential("globex"),
            to: credential("acme"),
            sender: credential("coupa"),
            shared_secret: Some("secret".to_owned()),
            url_token: None,
            mode: BuyerMode::Production,
            invoice_url: None,
        };
        let buyer = store.create_buyer(account, &buyer, at(0)).await.unwrap().id;
        (dir, store, account, buyer)
    }

    fn item(part: &str, description: &str) -> CoupaItem {
        CoupaItem {
            part_id: part.to_owned(),
            auxiliary_id: Some(format!("aux {part}")),
            buyer_part_id: None,
            manufacturer_part_id: Some("Ü-1".to_owned()),
            unit_of_measure: "EA".to_owned(),
            description: description.to_owned(),
        }
    }

    fn write(
        account: AccountId,
        buyer: BuyerId,
        payload: &str,
        number: &str,
        seconds: i64,
    ) -> DocumentWrite {
        let received_at = at(seconds);
        let timestamp = received_at.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
        DocumentWrite {
            account,
            document: NewDocument {
                buyer: Some(buyer),
                payload_id: payload.to_owned(),
                body_sha256: format!("sha {payload}"),
                masked_body: format!("<cXML payloadID=\"{payload}\"/>").into_bytes(),
                content_type: "text/xml".to_owned(),
                request_kind: "OrderRequest".to_owned(),
                deployment_test: false,
                outcome: DocumentOutcome::Accepted,
                duplicate_of: None,
                received_at,
                attachments: Vec::new(),
            },
            revision: Some(NewRevision {
                buyer,
                po_number: PoNumber(number.to_owned()),
                order_type: OrderType::New,
                order_version: Some(1),
                document_timestamp: Some(timestamp),
                content_sha256: format!("content {number}"),
                order: serde_json::json!({ "header": { "order_id": number } }).into(),
                status: RevisionStatus::Pending,
                test: false,
                items: vec![
                    item("A-1", "Lamp – brass"),
                    item("B \"2\"", "Shade"),
                    item("A-1", "Lamp, brass"),
                ],
            }),
            job: Some(NewJob {
                account,
                kind: "sync_order".to_owned(),
                key: format!("sync_order:{number}"),
                payload: serde_json::json!({ "number": number }),
                run_at: received_at,
            }),
        }
    }

    /// Lists every row of the tables a received order writes, as text.
    async fn rows(store: &SqliteStore) -> Vec<String> {
        let mut all = Vec::new();
        for table in [
            "documents",
            "purchase_orders",
            "revisions",
            "jobs",
            "coupa_items",
        ] {
            let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY rowid"))
                .fetch_all(&store.reader)
                .await
                .unwrap();
            for row in rows {
                all.push(format!("{table}: {}", row_text(&row)));
            }
        }
        all
    }

    /// Lists the rows of the tables a received order writes, sorted, each
    /// naming other rows by their keys rather than ids.
    async fn natural_rows(store: &SqliteStore) -> Vec<String> {
        let queries = [
            "SELECT 'document', d.payload_id, d.outcome, d.received_at, d.masked_body, \
                 (SELECT o.payload_id FROM documents o WHERE o.id = d.duplicate_of) \
             FROM documents d",
            "SELECT 'order', p.number, p.status, p.revision_count, p.created_at, p.updated_at, \
                 (SELECT d.payload_id FROM revisions r JOIN documents d ON d.id = r.document_id \
                  WHERE r.id = p.latest_revision_id) \
             FROM purchase_orders p",
            "SELECT 'revision', p.number, d.payload_id, r.status, r.order_type, r.order_json, \
                 r.document_timestamp, r.document_timestamp_offset_seconds, r.received_at \
             FROM revisions r JOIN purchase_orders p ON p.id = r.po_id \
                 JOIN documents d ON d.id = r.document_id",
            "SELECT 'job', job_key, status, payload, run_at, rerun_at, created_at FROM jobs",
            "SELECT 'item', part_id, unit_of_measure, auxiliary_id, manufacturer_part_id, \
                 description, part_id_folded, description_folded, first_seen, last_seen \
             FROM coupa_items",
        ];
        let mut all = Vec::new();
        for query in queries {
            for row in sqlx::query(query).fetch_all(&store.reader).await.unwrap() {
                all.push(row_text(&row));
            }
        }
        all.sort();
        all
    }

    fn row_text(row: &sqlx::sqlite::SqliteRow) -> String {
        (0..row.columns().len())
            .map(|index| {
                let value: Option<Vec<u8>> = row.try_get_unchecked(index).unwrap();
                let name = row.columns()[index].name().to_owned();
                format!("{name}={:?}", value.as_deref().map(String::from_utf8_lossy))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Stores `writes` one statement at a time, in order, in one transaction.
    async fn step_by_step(store: &SqliteStore, writes: &[DocumentWrite]) -> Vec<RecordedDocument> {
        let mut tx = store.begin_write().await.unwrap();
        let mut checked = Checked::default();
        let mut recorded = Vec::new();
        for write in writes {
            recorded.push(record_one(&mut tx, &mut checked, write).await.unwrap());
        }
        tx.commit().await.unwrap();
        recorded
    }

    async fn grouped(store: &SqliteStore, writes: &[DocumentWrite]) -> Vec<RecordedDocument> {
        let results = super::super::documents::record_documents(store, writes)
            .await
            .unwrap();
        results.into_iter().map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn group_with_repeats_matches_step_by_step() {
        let (_one, quick, account, buyer) = store().await;
        let (_two, slow, _, _) = store().await;
        // The third repeats the first document, the fourth the second
        // order's number, so both must see what came before them.
        let writes = [
            write(account, buyer, "p1", "PO-1", 1),
            write(account, buyer, "p2", "PO-2", 2),
            write(account, buyer, "p1", "PO-1", 3),
            write(account, buyer, "p4", "PO-2", 4),
            write(account, buyer, "p5", "PO-5", 5),
        ];
        assert_eq!(candidates(&writes), [0, 1, 4]);
        let (_three, direct, _, _) = store().await;
        let mut tx = direct.begin_write().await.unwrap();
        let stored = record_new_orders(&mut tx, &writes).await.unwrap();
        let stored: Vec<bool> = stored.iter().map(Option::is_some).collect();
        assert_eq!(stored, [true, true, false, false, true]);
        drop(tx);

        let quick_recorded = grouped(&quick, &writes).await;
        let slow_recorded = step_by_step(&slow, &writes).await;

        let outcomes = |recorded: &[RecordedDocument]| {
            recorded
                .iter()
                .map(|one| (one.po.is_some(), one.is_latest, one.duplicate_of.is_some()))
                .collect::<Vec<_>>()
        };
        assert_eq!(outcomes(&quick_recorded), outcomes(&slow_recorded));
        assert_eq!(
            quick_recorded[2].duplicate_of,
            Some(quick_recorded[0].document)
        );
        assert_eq!(quick_recorded[3].po, quick_recorded[1].po);
        // The new orders go first, so ids differ: rows are compared by the
        // keys they name instead.
        assert_eq!(natural_rows(&quick).await, natural_rows(&slow).await);
    }

    #[tokio::test]
    async fn single_order_matches_step_by_step() {
        let (_one, quick, account, buyer) = store().await;
        let (_two, slow, _, _) = store().await;
        let writes = [write(account, buyer, "p1", "PO-1", 1)];

        let quick_recorded = grouped(&quick, &writes).await;
        let slow_recorded = step_by_step(&slow, &writes).await;

        assert_eq!(quick_recorded, slow_recorded);
        assert_eq!(rows(&quick).await, rows(&slow).await);
        // The document, order, revision, job and two items.
        assert_eq!(rows(&quick).await.len(), 6);
    }
}
