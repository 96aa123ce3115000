//! Counts across all accounts for the metrics endpoint.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::codec::{decode_optional_time, encode_time};
use super::SqliteStore;
use crate::{StatusCounts, StoreResult};

pub(super) async fn status_counts(
    store: &SqliteStore,
    now: DateTime<Utc>,
) -> StoreResult<StatusCounts> {
    let jobs = count_by_status(
        store,
        "SELECT status, count(*) FROM jobs \
         WHERE status IN ('queued', 'running', 'waiting') GROUP BY status",
    )
    .await?;
    let purchase_orders = count_by_status(
        store,
        "SELECT status, count(*) FROM purchase_orders GROUP BY status",
    )
    .await?;
    let invoices = count_by_status(
        store,
        "SELECT status, count(*) FROM invoices GROUP BY status",
    )
    .await?;

    // Stored times sort as text in time order, so min() finds the earliest.
    let oldest_due: Option<String> =
        sqlx::query_scalar("SELECT min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= ?1")
            .bind(encode_time(now))
            .fetch_one(&store.reader)
            .await?;
    Ok(StatusCounts {
        jobs,
        oldest_due_job: decode_optional_time("job", oldest_due)?,
        purchase_orders,
        invoices,
    })
}

async fn count_by_status(store: &SqliteStore, sql: &str) -> StoreResult<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&store.reader).await?;
    Ok(rows.into_iter().collect())
}
