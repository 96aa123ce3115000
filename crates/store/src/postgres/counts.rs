//! Counts across all accounts for the metrics endpoint.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::{StatusCounts, StoreResult};

pub(super) async fn status_counts(
    store: &PostgresStore,
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

    let oldest_due_job: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= $1")
            .bind(now)
            .fetch_one(&store.pool)
            .await?;
    Ok(StatusCounts {
        jobs,
        oldest_due_job,
        purchase_orders,
        invoices,
    })
}

async fn count_by_status(store: &PostgresStore, sql: &str) -> StoreResult<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&store.pool).await?;
    Ok(rows.into_iter().collect())
}
