//! Received orders stored several to a transaction: the PostgreSQL side of
//! group commit.
//!
//! [`crate::group_commit`] hands over the documents that arrived while the
//! previous group was being written. The usual one, a new order from a
//! known buyer, is stored here by statements that each write the rows of
//! every such document at once. They are a begin, the copy locks, the
//! documents, the orders with their revisions and jobs, the items read, and
//! the commit. Each
//! statement, and each round trip, costs the server and this process more
//! CPU than the few rows it writes, so a group of ten costs far less than
//! ten orders stored one by one.
//!
//! The statements cannot see each other's rows within one group, so a
//! document is left out when another document of the group names the same
//! purchase order (a resend, or an update of an order not stored yet).
//! Those, every other kind of document, and a whole group that fails, are
//! stored one at a time by [`super::documents::record_document`], outside
//! the writer.
//!
//! A group takes the same locks as that path, and takes each kind in key
//! order: the copy locks first, all of them, then the new orders' rows, then
//! the item-match locks by account. So two groups, or a group and a single
//! document, do not wait for each other in a circle on these locks. A group waits at most
//! 200 ms for any lock ([`GROUP_BEGIN`]). Otherwise a product refresh
//! holding an account's item-match lock would hold up the orders of every
//! account behind it. When the wait runs out, the group rolls back and its
//! documents are stored alone, where each waits only for itself.
//!
//! A document stored alone waits a bounded time for each lock, and the
//! documents of one account that wait long take at most
//! [`super::ALONE_WRITES_PER_ACCOUNT`] connections of each process (see
//! [`super::alone`]). Documents left out of a group start only after the
//! group's transaction ends.

use std::collections::HashMap;

use pobridge_core::{AccountId, BuyerId, DocumentId};
use sqlx::Connection as _;

use super::codec::{corrupt, encode_enum};
use super::documents::copy_lock_key;
use super::items::{self, upsert_seen_items, SeenItems};
use super::revisions::{
    add_revision, create_orders, insert_orders, AddedRevision, CreatedOrder, NewOrder,
};
use super::PostgresStore;
use crate::group_commit::{DocumentWrite, GroupResult};
use crate::{
    DocumentOutcome, NewDocument, NewJob, NewRevision, OrderType, RecordedDocument, StoreResult,
};

/// Starts a group's transaction, which waits at most 200 ms for any lock.
/// After that the group gives up and its documents are stored alone.
/// `SET LOCAL` ends with the transaction.
///
/// The group's statements run with the plan PostgreSQL made once for the
/// connection. Left to choose, it planned the documents statement again on
/// every call, and that planning took about 0.12 ms against 0.19 ms for
/// running it. A plan kept for the connection must not depend on how big
/// the tables were when it was made, so scans and hash and merge joins are
/// ruled out. Every statement here looks up a few keys. On empty tables,
/// `EXPLAIN` of the generic plans of the copy lookup, the items read and
/// the item refresh shows parameterized index scans.
///
/// NOTE: a generic plan that the same connection made earlier outside a
/// group, under PostgreSQL's own choice, is used as it was made. The
/// statements the two paths share are the order insert and the item
/// statements.
const GROUP_BEGIN: &str = "BEGIN; SET LOCAL lock_timeout = '200ms'; \
     SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; \
     SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

/// Runs the statements of a group, with no documents, on a new connection,
/// in a transaction that is rolled back.
///
/// A new connection otherwise parses and plans each statement during its
/// first group. The server's statement log showed 0.5 to 5 ms for each,
/// and at a start the first orders all wait for such groups. Run with the
/// group's settings, the statements keep the plans they make here, which
/// are the plans their groups use.
///
/// A failure is logged and the connection is used all the same: the
/// warm-up saves time, and a connection without it still works.
pub(super) async fn warm_up(conn: &mut sqlx::PgConnection) {
    let warmed: StoreResult<()> = async {
        let mut tx = conn.begin_with(GROUP_BEGIN).await?;
        lock_copies(&mut tx, &[]).await?;
        insert_documents(&mut tx, &[]).await?;
        insert_orders(&mut tx, &[]).await?;
        items::warm_up(&mut tx).await?;
        tx.rollback().await?;
        Ok(())
    }
    .await;
    if let Err(error) = warmed {
        tracing::warn!(error = ?error, "warming up a new database connection failed, so its first group prepares the order statements");
    }
}

/// A write the set statements can store: a new order from a known buyer,
/// without attachments.
struct Member<'a> {
    /// The write's place in the group.
    index: usize,
    account: AccountId,
    buyer: BuyerId,
    document: &'a NewDocument,
    revision: &'a NewRevision,
    job: &'a NewJob,
}

/// Stores the writes that fit the set statements in one transaction, and
/// leaves the rest, or all of them when that transaction fails, to be
/// stored alone.
pub(super) async fn record_documents(
    store: &PostgresStore,
    writes: &[DocumentWrite],
) -> StoreResult<Vec<GroupResult>> {
    let mut results: Vec<GroupResult> = writes.iter().map(|_| GroupResult::Alone).collect();
    let members = members(writes);
    if members.is_empty() {
        return Ok(results);
    }
    match store_together(store, &members).await {
        Ok(recorded) => {
            for (member, recorded) in members.iter().zip(recorded) {
                results[member.index] = GroupResult::Done(Ok(recorded));
            }
        }
        Err(error) => {
            tracing::warn!(documents = members.len(), error = ?error, "storing a group of orders failed, so each is stored alone");
        }
    }
    Ok(results)
}

/// Picks the writes that fit the set statements, leaving out every write
/// whose purchase order another write of the group also names.
fn members(writes: &[DocumentWrite]) -> Vec<Member<'_>> {
    let candidates: Vec<Member<'_>> = writes
        .iter()
        .enumerate()
        .filter_map(|(index, write)| candidate(index, write))
        .collect();
    let mut per_order: HashMap<(AccountId, BuyerId, &str), usize> = HashMap::new();
    for write in writes {
        if let Some(revision) = &write.revision {
            let key = (write.account, revision.buyer, revision.po_number.as_str());
            *per_order.entry(key).or_default() += 1;
        }
    }
    candidates
        .into_iter()
        .filter(|member| {
            let key = (
                member.account,
                member.buyer,
                member.revision.po_number.as_str(),
            );
            per_order.get(&key) == Some(&1)
        })
        .collect()
}

fn candidate(index: usize, write: &DocumentWrite) -> Option<Member<'_>> {
    let (Some(revision), Some(job), Some(buyer)) =
        (&write.revision, &write.job, write.document.buyer)
    else {
        return None;
    };
    let document = &write.document;
    let fits = document.outcome == DocumentOutcome::Accepted
        && document.duplicate_of.is_none()
        && document.attachments.is_empty()
        && revision.order_type == OrderType::New
        && revision.buyer == buyer;
    fits.then_some(Member {
        index,
        account: write.account,
        buyer,
        document,
        revision,
        job,
    })
}

/// Stores `members` in one transaction and returns what each recorded, in
/// the same order. Follows the steps of `record_document` for each.
async fn store_together(
    store: &PostgresStore,
    members: &[Member<'_>],
) -> StoreResult<Vec<RecordedDocument>> {
    // Any early return drops the transaction, which rolls everything back.
    let mut tx = store.pool.begin_with(GROUP_BEGIN).await?;
    lock_copies(&mut tx, members).await?;
    let stored = insert_documents(&mut tx, members).await?;
    let fresh: Vec<(&Member<'_>, DocumentId)> = members
        .iter()
        .zip(&stored)
        .filter(|(_, (_, copy_of))| copy_of.is_none())
        .map(|(member, (id, _))| (member, *id))
        .collect();
    let new_orders: Vec<NewOrder<'_>> = fresh
        .iter()
        .map(|(member, id)| NewOrder {
            account: member.account,
            document: *id,
            received_at: member.document.received_at,
            revision: member.revision,
            job: member.job,
        })
        .collect();
    let created = create_orders(&mut tx, &new_orders).await?;

    // Orders that already exist are locked one by one below. Taking them
    // in key order, as the statement above inserts new ones, keeps two
    // groups from waiting for each other in a circle.
    let mut by_key: Vec<(&(&Member<'_>, DocumentId), Option<CreatedOrder>)> =
        fresh.iter().zip(created).collect();
    by_key.sort_by(|((a, _), _), ((b, _), _)| {
        (a.account.0, a.buyer.0, a.revision.po_number.as_str()).cmp(&(
            b.account.0,
            b.buyer.0,
            b.revision.po_number.as_str(),
        ))
    });
    let mut added: HashMap<usize, AddedRevision> = HashMap::new();
    for ((member, id), created) in by_key {
        let received_at = member.document.received_at;
        let queued = created
            .as_ref()
            .is_some_and(|created| created.job.is_some());
        let revision = match created {
            Some(created) => AddedRevision {
                po: created.po,
                revision: created.revision,
                is_latest: true,
            },
            // The order exists: its row is locked and the revision filed
            // as any other, one document at a time.
            None => {
                add_revision(
                    &mut tx,
                    member.account,
                    *id,
                    received_at,
                    member.revision,
                    true,
                )
                .await?
            }
        };
        if !queued {
            super::jobs::enqueue_in(&mut tx, member.job, received_at).await?;
        }
        added.insert(member.index, revision);
    }
    // Items come last: a written item stays locked until the commit, and
    // other orders may carry the same item.
    let seen = fresh
        .iter()
        .map(|(member, _)| SeenItems {
            account: member.account,
            buyer: member.buyer,
            items: member
                .revision
                .items
                .iter()
                .map(|item| (item, member.document.received_at))
                .collect(),
        })
        .collect();
    let remember = upsert_seen_items(store, &mut tx, seen).await?;
    let committing = std::time::Instant::now();
    tx.commit().await?;
    remember.committed(committing);

    Ok(members
        .iter()
        .zip(stored)
        .map(
            |(member, (document, copy_of))| match added.remove(&member.index) {
                Some(added) => RecordedDocument {
                    document,
                    po: Some(added.po),
                    revision: Some(added.revision),
                    is_latest: added.is_latest,
                    duplicate_of: None,
                },
                None => RecordedDocument {
                    document,
                    po: None,
                    revision: None,
                    is_latest: false,
                    duplicate_of: copy_of,
                },
            },
        )
        .collect())
}

/// Takes every member's copy lock, in key order.
async fn lock_copies(conn: &mut sqlx::PgConnection, members: &[Member<'_>]) -> StoreResult<()> {
    let mut keys: Vec<String> = members
        .iter()
        .map(|member| copy_lock_key(member.account, member.buyer, member.document))
        .collect();
    keys.sort_unstable();
    // `unnest` returns the elements in array order, so the locks are taken
    // in that order.
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) \
         FROM unnest($1::text[]) AS k",
    )
    .bind(&keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts every member's document and returns, in member order, its id
/// and the earlier copy it repeats, if any. Such a document is stored as a
/// `Duplicate` of that copy. The statement starts after the copy locks are
/// taken, so its snapshot includes every copy committed before. The ids
/// are drawn before the insert, so each row is matched to its member by
/// position.
///
/// The copy is found through `documents_duplicate`. `OFFSET 0` keeps the
/// planner from turning `min(id)` into a walk down the primary key that
/// stops at the first row matching the key. Such a plan, made while the
/// table was small and kept for the connection, would read every document
/// when there is no copy, which is almost always. In a run with generic
/// plans and neither this fence nor the settings of [`GROUP_BEGIN`], each
/// group took longer as the orders came in. Which plan caused that was not
/// checked.
async fn insert_documents(
    conn: &mut sqlx::PgConnection,
    members: &[Member<'_>],
) -> StoreResult<Vec<(DocumentId, Option<DocumentId>)>> {
    let documents: Vec<&NewDocument> = members.iter().map(|member| member.document).collect();

    let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "WITH input AS MATERIALIZED ( \
             SELECT d.*, nextval(pg_get_serial_sequence('documents', 'id')) AS id, ( \
                     SELECT min(copy.id) FROM ( \
                         SELECT c.id FROM documents c \
                         WHERE c.account_id = d.account_id AND c.buyer_id = d.buyer_id \
                             AND c.payload_id = d.payload_id \
                             AND c.body_sha256 = d.body_sha256 \
                         OFFSET 0) AS copy) AS copy_id \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bytea[], \
                     $6::text[], $7::text[], $8::boolean[], $9::timestamptz[]) WITH ORDINALITY \
                 AS d (account_id, buyer_id, payload_id, body_sha256, masked_body, \
                     content_type, request_kind, deployment_test, received_at, position)), \
         stored AS ( \
             INSERT INTO documents (id, account_id, buyer_id, payload_id, body_sha256, \
                 masked_body, content_type, request_kind, deployment_test, outcome, \
                 duplicate_of, received_at) \
             OVERRIDING SYSTEM VALUE \
             SELECT id, account_id, buyer_id, payload_id, body_sha256, masked_body, \
                 content_type, request_kind, deployment_test, \
                 CASE WHEN copy_id IS NULL THEN $10 ELSE $11 END, copy_id, received_at \
             FROM input ORDER BY position) \
         SELECT position, id, copy_id FROM input ORDER BY position",
    )
    .bind(
        members
            .iter()
            .map(|member| member.account.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        members
            .iter()
            .map(|member| member.buyer.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.payload_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.body_sha256.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.masked_body.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.content_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.request_kind.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.deployment_test)
            .collect::<Vec<_>>(),
    )
    .bind(
        documents
            .iter()
            .map(|document| document.received_at)
            .collect::<Vec<_>>(),
    )
    .bind(encode_enum(&DocumentOutcome::Accepted))
    .bind(encode_enum(&DocumentOutcome::Duplicate))
    .fetch_all(&mut *conn)
    .await?;
    if rows.len() != members.len() {
        return Err(corrupt(
            "document",
            format!(
                "{} documents stored for {} in a group",
                rows.len(),
                members.len()
            ),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(_, id, copy_of)| (DocumentId(id), copy_of.map(DocumentId)))
        .collect())
}
