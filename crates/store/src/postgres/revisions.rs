//! Revisions of purchase orders, and the step of `record_document` that
//! files a new revision under its order.

use std::cmp::Ordering;

use chrono::{DateTime, SubsecRound, Utc};
use pobridge_core::{AccountId, DocumentId, JobId, PoId, RevisionId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::codec::{
    corrupt, decode_enum, encode_enum, enum_column, json_column, not_found, offset_seconds,
    offset_time_columns,
};
use super::orders::ensure_po;
use super::PostgresStore;
use crate::revision_order::{compare_revisions, RevisionOrderKey};
use crate::{NewJob, NewRevision, PoStatus, Revision, RevisionStatus, StoreResult};

const REVISION_COLUMNS: &str = "id, po_id, document_id, order_type, order_version, \
    document_timestamp, document_timestamp_offset_seconds, content_sha256, \
    order_json::text AS order_json, status, test, received_at";

/// The order and revision that [`add_revision`] stored, and whether the
/// revision is now the latest.
pub(super) struct AddedRevision {
    pub po: PoId,
    pub revision: RevisionId,
    pub is_latest: bool,
}

/// Stores a revision under its purchase order (created with status
/// `Received` on first sight) and decides whether it is the latest. The
/// order's row stays locked until the transaction ends, so revisions of one
/// order are filed one at a time and their ids grow in that order.
/// `buyer_checked` is true when the caller has already shown that the
/// revision's buyer belongs to the account.
pub(super) async fn add_revision(
    conn: &mut PgConnection,
    account: AccountId,
    document: DocumentId,
    received_at: DateTime<Utc>,
    revision: &NewRevision,
    buyer_checked: bool,
) -> StoreResult<AddedRevision> {
    if !buyer_checked {
        super::buyers::ensure_buyer(conn, account, revision.buyer).await?;
    }
    let (po, current_latest) = lock_or_create_po(conn, account, revision, received_at).await?;
    let id = insert_revision(conn, account, po, document, received_at, revision).await?;

    let new_key = RevisionOrderKey::new(
        revision.order_type,
        revision.order_version,
        // Compared as stored: PostgreSQL keeps microseconds.
        revision
            .document_timestamp
            .map(|time| time.with_timezone(&Utc).trunc_subsecs(6)),
        id,
    );
    let is_latest = match current_latest {
        None => true,
        Some(latest) => {
            let latest_key = revision_order_key(conn, latest).await?;
            compare_revisions(&new_key, &latest_key) == Ordering::Greater
        }
    };

    if is_latest {
        sqlx::query(
            "UPDATE revisions SET status = 'superseded' \
             WHERE po_id = $1 AND id <> $2 AND status = 'pending'",
        )
        .bind(po.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query("UPDATE revisions SET status = $1 WHERE id = $2")
            .bind(encode_enum(&RevisionStatus::Superseded))
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "UPDATE purchase_orders SET revision_count = revision_count + 1, updated_at = $1, \
             latest_revision_id = CASE WHEN $2 THEN $3 ELSE latest_revision_id END \
         WHERE id = $4",
    )
    .bind(received_at)
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

/// The order, revision and job that [`create_orders`] stored for one
/// document. `job` is `None` when an unfinished job with the same key was
/// already queued. The caller then merges into it.
pub(super) struct CreatedOrder {
    pub po: PoId,
    pub revision: RevisionId,
    pub job: Option<JobId>,
}

/// A new order to create: the document that brings it, with its revision
/// and sync job.
pub(super) struct NewOrder<'a> {
    pub account: AccountId,
    pub document: DocumentId,
    pub received_at: DateTime<Utc>,
    pub revision: &'a NewRevision,
    pub job: &'a NewJob,
}

/// Creates each document's purchase order with its first revision, and
/// queues its job, all in one statement. Returns one entry per order, in
/// order: `None` where the order already existed, which stores nothing for
/// that document.
///
/// Nearly every new order takes this path. It saves the round trips of
/// [`add_revision`], and its second write of the order's row, because the
/// revision's id is drawn first and the order is inserted already pointing
/// at it. The foreign keys between the two rows are checked at the end of
/// the statement, when both exist. The orders are inserted in key order, so
/// two transactions that create several wait for each other's new orders in
/// one direction only.
pub(super) async fn create_orders(
    conn: &mut PgConnection,
    orders: &[NewOrder<'_>],
) -> StoreResult<Vec<Option<CreatedOrder>>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    insert_orders(conn, orders).await
}

/// Runs the statement of [`create_orders`], even for no orders.
/// [`super::document_groups::warm_up`] runs it so.
pub(super) async fn insert_orders(
    conn: &mut PgConnection,
    orders: &[NewOrder<'_>],
) -> StoreResult<Vec<Option<CreatedOrder>>> {
    let revisions: Vec<&NewRevision> = orders.iter().map(|order| order.revision).collect();
    let jobs: Vec<&NewJob> = orders.iter().map(|order| order.job).collect();
    let order_json: Vec<&str> = revisions
        .iter()
        .map(|revision| revision.order.as_str())
        .collect();
    let job_payloads: Vec<String> = jobs.iter().map(|job| job.payload.to_string()).collect();
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "WITH input AS ( \
             SELECT d.account_id, d.buyer_id, d.number, d.received_at, d.document_id, \
                 d.order_type, d.order_version, d.order_json::jsonb AS order_json, \
                 d.document_timestamp, d.offset_seconds, d.content_sha256, d.status, d.test, \
                 d.job_account, d.job_kind, d.job_key, d.job_payload::jsonb AS job_payload, \
                 d.job_run_at, d.position, \
                 nextval(pg_get_serial_sequence('revisions', 'id')) AS revision_id \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], \
                     $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::timestamptz[], \
                     $10::integer[], $11::text[], $12::text[], $13::boolean[], $14::bigint[], \
                     $15::text[], $16::text[], $17::text[], $18::timestamptz[]) WITH ORDINALITY \
                 AS d (account_id, buyer_id, number, received_at, document_id, order_type, \
                     order_version, order_json, document_timestamp, offset_seconds, \
                     content_sha256, status, test, job_account, job_kind, job_key, \
                     job_payload, job_run_at, position)), \
         po AS ( \
             INSERT INTO purchase_orders (account_id, buyer_id, number, status, created_at, \
                 updated_at, latest_revision_id, revision_count, bill_to_address_id) \
             SELECT account_id, buyer_id, number, $19, received_at, received_at, revision_id, \
                 1, bill_to_address_key(order_json) \
             FROM input ORDER BY account_id, buyer_id, number \
             ON CONFLICT (account_id, buyer_id, number) DO NOTHING \
             RETURNING id, latest_revision_id), \
         revision AS ( \
             INSERT INTO revisions (id, account_id, po_id, document_id, order_type, \
                 order_version, document_timestamp, document_timestamp_offset_seconds, \
                 content_sha256, order_json, status, test, received_at) \
             OVERRIDING SYSTEM VALUE \
             SELECT po.latest_revision_id, input.account_id, po.id, input.document_id, \
                 input.order_type, input.order_version, input.document_timestamp, \
                 input.offset_seconds, input.content_sha256, input.order_json, input.status, \
                 input.test, input.received_at \
             FROM po JOIN input ON input.revision_id = po.latest_revision_id \
             RETURNING id), \
         job AS ( \
             INSERT INTO jobs (account_id, kind, job_key, payload, status, run_at, \
                 created_at) \
             SELECT input.job_account, input.job_kind, input.job_key, input.job_payload, \
                 'queued', input.job_run_at, input.received_at \
             FROM po JOIN input ON input.revision_id = po.latest_revision_id \
             ORDER BY input.job_account, input.job_key \
             ON CONFLICT (account_id, job_key) \
                 WHERE status IN ('queued', 'running', 'waiting') DO NOTHING \
             RETURNING id, account_id, job_key) \
         SELECT input.position, po.id, po.latest_revision_id, job.id \
         FROM input \
         JOIN po ON po.latest_revision_id = input.revision_id \
         LEFT JOIN job ON job.account_id = input.job_account AND job.job_key = input.job_key",
    )
    .bind(
        orders
            .iter()
            .map(|order| order.account.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.buyer.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.po_number.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        orders
            .iter()
            .map(|order| order.received_at)
            .collect::<Vec<_>>(),
    )
    .bind(
        orders
            .iter()
            .map(|order| order.document.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| encode_enum(&revision.order_type))
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.order_version)
            .collect::<Vec<_>>(),
    )
    .bind(&order_json)
    .bind(
        revisions
            .iter()
            .map(|revision| {
                revision
                    .document_timestamp
                    .map(|time| time.with_timezone(&Utc))
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.document_timestamp.as_ref().map(offset_seconds))
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.content_sha256.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| encode_enum(&revision.status))
            .collect::<Vec<_>>(),
    )
    .bind(
        revisions
            .iter()
            .map(|revision| revision.test)
            .collect::<Vec<_>>(),
    )
    .bind(jobs.iter().map(|job| job.account.0).collect::<Vec<_>>())
    .bind(jobs.iter().map(|job| job.kind.as_str()).collect::<Vec<_>>())
    .bind(jobs.iter().map(|job| job.key.as_str()).collect::<Vec<_>>())
    .bind(&job_payloads)
    .bind(jobs.iter().map(|job| job.run_at).collect::<Vec<_>>())
    .bind(PoStatus::Received.as_str())
    .fetch_all(&mut *conn)
    .await?;

    let mut created: Vec<Option<CreatedOrder>> = orders.iter().map(|_| None).collect();
    for (position, po, revision, job) in rows {
        // WITH ORDINALITY counts from one.
        let index = usize::try_from(position - 1)
            .map_err(|_| corrupt("purchase order", format!("position {position}")))?;
        if let Some(slot) = created.get_mut(index) {
            *slot = Some(CreatedOrder {
                po: PoId(po),
                revision: RevisionId(revision),
                job: job.map(JobId),
            });
        }
    }
    Ok(created)
}

/// Locks the purchase order's row, creating the order (without revisions
/// yet) when it does not exist, and returns its id and latest revision.
///
/// The lock is `FOR NO KEY UPDATE`, which does not block the foreign-key
/// checks of rows that refer to the order, such as invoices.
async fn lock_or_create_po(
    conn: &mut PgConnection,
    account: AccountId,
    revision: &NewRevision,
    now: DateTime<Utc>,
) -> StoreResult<(PoId, Option<RevisionId>)> {
    if let Some(locked) = lock_po(conn, account, revision).await? {
        return Ok(locked);
    }
    // When another transaction creates the order first, the insert waits for
    // it to commit and then does nothing, and the order is locked as it stored it.
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO purchase_orders (account_id, buyer_id, number, status, created_at, \
             updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (account_id, buyer_id, number) DO NOTHING RETURNING id",
    )
    .bind(account.0)
    .bind(revision.buyer.0)
    .bind(revision.po_number.as_str())
    .bind(PoStatus::Received.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = created {
        return Ok((PoId(id), None));
    }
    lock_po(conn, account, revision).await?.ok_or_else(|| {
        let number = &revision.po_number;
        corrupt(
            "purchase order",
            format!("order {number} vanished while locked"),
        )
    })
}

async fn lock_po(
    conn: &mut PgConnection,
    account: AccountId,
    revision: &NewRevision,
) -> StoreResult<Option<(PoId, Option<RevisionId>)>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, latest_revision_id FROM purchase_orders \
         WHERE account_id = $1 AND buyer_id = $2 AND number = $3 \
         FOR NO KEY UPDATE",
    )
    .bind(account.0)
    .bind(revision.buyer.0)
    .bind(revision.po_number.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, latest)| (PoId(id), latest.map(RevisionId))))
}

async fn insert_revision(
    conn: &mut PgConnection,
    account: AccountId,
    po: PoId,
    document: DocumentId,
    received_at: DateTime<Utc>,
    revision: &NewRevision,
) -> StoreResult<RevisionId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO revisions (account_id, po_id, document_id, order_type, order_version, \
             document_timestamp, document_timestamp_offset_seconds, content_sha256, order_json, \
             status, test, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12) RETURNING id",
    )
    .bind(account.0)
    .bind(po.0)
    .bind(document.0)
    .bind(encode_enum(&revision.order_type))
    .bind(revision.order_version)
    .bind(revision.document_timestamp)
    .bind(revision.document_timestamp.as_ref().map(offset_seconds))
    .bind(&revision.content_sha256)
    .bind(revision.order.as_str())
    .bind(encode_enum(&revision.status))
    .bind(revision.test)
    .bind(received_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(RevisionId(id))
}

async fn revision_order_key(
    conn: &mut PgConnection,
    id: RevisionId,
) -> StoreResult<RevisionOrderKey> {
    let (order_type, order_version, document_timestamp): (
        String,
        Option<i64>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "SELECT order_type, order_version, document_timestamp FROM revisions WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| corrupt("purchase order", format!("latest revision {id} is missing")))?;
    Ok(RevisionOrderKey::new(
        decode_enum("revision", &order_type)?,
        order_version,
        document_timestamp,
        id,
    ))
}

fn revision_from_row(row: PgRow) -> StoreResult<Revision> {
    Ok(Revision {
        id: RevisionId(row.try_get("id")?),
        po_id: PoId(row.try_get("po_id")?),
        document_id: DocumentId(row.try_get("document_id")?),
        order_type: enum_column(&row, "order_type", "revision")?,
        order_version: row.try_get("order_version")?,
        document_timestamp: offset_time_columns(
            &row,
            "document_timestamp",
            "document_timestamp_offset_seconds",
            "revision",
        )?,
        content_sha256: row.try_get("content_sha256")?,
        order: json_column(&row, "order_json", "revision")?,
        status: enum_column(&row, "status", "revision")?,
        test: row.try_get("test")?,
        received_at: row.try_get("received_at")?,
    })
}

/// Lists an order's revisions in arrival order.
pub(super) async fn revisions(
    store: &PostgresStore,
    account: AccountId,
    po: PoId,
) -> StoreResult<Vec<Revision>> {
    let mut conn = store.pool.acquire().await?;
    ensure_po(&mut conn, account, po).await?;
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE po_id = $1 ORDER BY id");
    sqlx::query(&sql)
        .bind(po.0)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(revision_from_row)
        .collect()
}

pub(super) async fn revision(
    store: &PostgresStore,
    account: AccountId,
    id: RevisionId,
) -> StoreResult<Revision> {
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(&store.pool)
        .await?;
    revision_from_row(row.ok_or_else(|| not_found("revision", id))?)
}

pub(super) async fn set_revision_status(
    store: &PostgresStore,
    account: AccountId,
    revision: RevisionId,
    status: RevisionStatus,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE revisions SET status = $1 WHERE id = $2 AND account_id = $3")
        .bind(encode_enum(&status))
        .bind(revision.0)
        .bind(account.0)
        .execute(&store.pool)
        .await?;
    if result.rows_affected() == 0 {
        return Err(not_found("revision", revision));
    }
    Ok(())
}
