//! The Brightpearl send budget shared by every process on the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pobridge_core::AccountId;

use super::{lock_key, PostgresStore};
use crate::{SendSlot, StoreResult};

const MAX_WINDOW: Duration = Duration::from_secs(86_400);

/// Claims `count` send slots in one short transaction. The advisory lock on the
/// account serializes claims from every process, and the time is read
/// after the lock is held, so a claim that waited is recorded when it was
/// granted. Nothing is held after the commit, so a process that dies
/// blocks no other: its sends simply leave the window.
pub(super) async fn claim_send_slot(
    store: &PostgresStore,
    account: AccountId,
    limit: u32,
    window: Duration,
    count: u32,
) -> StoreResult<SendSlot> {
    let limit = limit.max(1);
    let count = count.clamp(1, limit);
    // Windows are a minute in production. The cap keeps the conversion and
    // `now - window` from overflowing.
    let window =
        chrono::Duration::from_std(window.min(MAX_WINDOW)).unwrap_or(chrono::Duration::days(1));
    let mut tx = store.begin().await?;
    lock_key(&mut tx, &format!("brightpearl_sends:{}", account.0)).await?;
    // clock_timestamp() rather than now(), because now() is when the
    // transaction began, before the lock wait. Every process reads the
    // server's clock, so their own clocks may differ.
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM brightpearl_sends WHERE account_id = $1 AND sent_at <= $2")
        .bind(account.0)
        .bind(now - window)
        .execute(&mut *tx)
        .await?;
    // `count` more fit once at most `limit - count` remain, so the send
    // that must leave the window first is the (limit - count + 1)-th
    // newest, when there are that many.
    let oldest_counted: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT sent_at FROM brightpearl_sends WHERE account_id = $1 \
         ORDER BY sent_at DESC OFFSET $2 LIMIT 1",
    )
    .bind(account.0)
    .bind(i64::from(limit - count))
    .fetch_optional(&mut *tx)
    .await?;
    let slot = match oldest_counted {
        Some(oldest) => SendSlot::Full((oldest + window - now).to_std().unwrap_or_default()),
        None => {
            sqlx::query(
                "INSERT INTO brightpearl_sends (account_id, sent_at) \
                 SELECT $1, $2 FROM generate_series(1, $3)",
            )
            .bind(account.0)
            .bind(now)
            .bind(i64::from(count))
            .execute(&mut *tx)
            .await?;
            SendSlot::Granted
        }
    };
    tx.commit().await?;
    Ok(slot)
}
