//! SQLite implementation of [`crate::Store`].
//!
//! One database file in WAL mode. Reads go through a pool of reader
//! connections. Every write goes through a single writer connection and
//! starts with `BEGIN IMMEDIATE`, so a transaction takes the write lock
//! before it reads and cannot fail to upgrade a read lock later. Other
//! processes that open the same file wait for the lock up to [`BUSY_TIMEOUT`].

mod accounts;
mod buyers;
mod catalog;
mod codec;
mod counts;
mod customers_page;
mod dashboard;
mod documents;
mod invoices;
mod invoicing;
mod items;
mod jobs;
mod new_orders;
mod orders;
mod portal;
mod product_search;
mod retention;
mod revisions;
mod store_impl;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::group_commit::{DocumentWrite, GroupCommit, GroupResult, WriteGroup};
use crate::identities::IdentityCache;
use crate::send_slots::MemorySendSlots;
use crate::{RecordedDocument, SecretBox, StoreError, StoreResult};

/// A statement with its arguments, as the shared statements of
/// [`new_orders`] bind theirs.
type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// How long a connection waits for another process's write lock before the
/// statement fails with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections of a file database. WAL readers do not block each
/// other or the writer, so this bounds only the number of concurrent reads
/// (each sqlx SQLite connection runs on its own thread).
pub const READER_CONNECTIONS: u32 = 8;

/// The SQLite store. Cloning shares the pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    secrets: SecretBox,
    /// Brightpearl send slots. A SQLite database serves one process, so
    /// memory is enough.
    send_slots: Arc<MemorySendSlots>,
    /// Received documents waiting for the next group transaction.
    group: Arc<GroupCommit>,
    /// Accounts with their buyers, as the order endpoint last read them.
    identities: Arc<IdentityCache>,
}

impl WriteGroup for SqliteStore {
    async fn write_group(&self, writes: &[DocumentWrite]) -> StoreResult<Vec<GroupResult>> {
        let results = documents::record_documents(self, writes).await?;
        Ok(results.into_iter().map(GroupResult::Done).collect())
    }

    /// Stores one write as a group of one. SQLite's groups leave no write
    /// out, so this runs only when called directly.
    async fn write_alone(&self, write: DocumentWrite) -> StoreResult<RecordedDocument> {
        let mut results = documents::record_documents(self, std::slice::from_ref(&write)).await?;
        results.pop().unwrap_or_else(|| {
            Err(StoreError::GroupFailed {
                detail: "storing the document returned no result".to_owned(),
            })
        })
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database named by `url` and applies
    /// pending migrations. Accepts `sqlite://PATH`, `sqlite:PATH` and
    /// `sqlite::memory:`; query parameters are passed on to sqlx.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit, so a commit that returned survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let store = if is_in_memory(url) {
            // An in-memory database lives as long as its last connection, and
            // shared-cache connections report table locks instead of waiting,
            // so readers and writer share one connection that is never closed.
            let pool = single_connection()
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            Self {
                reader: pool.clone(),
                writer: pool,
                secrets: SecretBox::without_key(),
                send_slots: Arc::default(),
                group: Arc::default(),
                identities: Arc::default(),
            }
        } else {
            let writer = single_connection().connect_with(options.clone()).await?;
            let reader = SqlitePoolOptions::new()
                .max_connections(READER_CONNECTIONS)
                // No ping, for the reason given at `single_connection`.
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Self {
                reader,
                writer,
                secrets: SecretBox::without_key(),
                send_slots: Arc::default(),
                group: Arc::default(),
                identities: Arc::default(),
            }
        };

        // NOTE: when two processes open a new file at the same moment, both may
        // apply a migration and one of them fails. Open the file once before
        // starting several processes on it.
        sqlx::migrate!("./migrations/sqlite")
            .run(&store.writer)
            .await?;
        Ok(store)
    }

    /// Seals the secrets this store writes, and opens those it reads, with
    /// `secrets`.
    pub fn with_secrets(self, secrets: SecretBox) -> Self {
        Self { secrets, ..self }
    }

    /// Starts a write transaction that holds the database write lock from its
    /// first statement.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Pool options for one connection. By default sqlx pings a connection
/// before handing it out. A SQLite connection has no peer that could have
/// gone away, and each ping is a hop to the connection's thread and back.
fn single_connection() -> PoolOptions<Sqlite> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
}

/// Returns the database file a `sqlite:` URL names, or `None` for an
/// in-memory database or a URL sqlx does not read as SQLite.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    if is_in_memory(url) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_connections_are_durable_wal_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pragmas.db").display());
        let store = SqliteStore::open(&url).await.unwrap();

        for pool in [&store.reader, &store.writer] {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            // 2 is FULL.
            assert_eq!(synchronous, 2);
            assert_eq!(foreign_keys, 1);
            assert_eq!(busy_timeout_ms, BUSY_TIMEOUT.as_millis() as i64);
        }
        assert_eq!(store.writer.options().get_max_connections(), 1);
    }
}
