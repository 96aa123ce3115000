//! PostgreSQL implementation of [`crate::Store`], for installations where
//! several pobridge processes share one database.
//!
//! Every connection runs at READ COMMITTED, whatever the server's default.
//! Where the SQLite store relies on its single writer, this one takes
//! explicit locks inside the transaction:
//!
//! - `record_document` takes a transaction-level advisory lock on the
//!   document's buyer, payloadID and body hash before it looks for an
//!   earlier copy, so of identical documents recorded at once one is accepted.
//! - `record_document` also locks the purchase order's row before it adds a
//!   revision, so the revisions of one order are filed one at a time.
//! - Received orders are mostly written several to a transaction
//!   (`document_groups`), with the same locks taken in key order.
//! - `claim_jobs` locks due jobs with `FOR UPDATE SKIP LOCKED`, so two
//!   workers, in one process or several, never hold a claim on the same job
//!   at once, and claims do not wait for each other.
//! - Enqueueing, renewing and finishing a job each lock the job's row.
//!
//! No transaction relies on a snapshot staying valid, so none fails with a
//! serialization failure. Batches that lock several rows lock them in key
//! order, so two batches do not deadlock on each other's rows.
//!
//! Values read back equal those the SQLite store returns, with two exceptions:
//!
//! - NOTE: TIMESTAMPTZ keeps microseconds, so a time read back can be up to
//!   999 ns earlier than the time written, where SQLite keeps nanoseconds.
//!   Storing nanoseconds in a BIGINT beside each time would remove the
//!   difference.
//! - NOTE: PostgreSQL rejects the NUL character in TEXT and JSONB, so a
//!   string that contains one (in a reason, a Coupa response text or a
//!   parsed order) fails to store with a database error, where SQLite
//!   stores it.

mod accounts;
mod alone;
mod buyers;
mod catalog;
mod codec;
mod counts;
mod customers_page;
mod dashboard;
mod document_groups;
mod documents;
mod invoices;
mod invoicing;
mod items;
mod jobs;
mod orders;
mod portal;
mod product_search;
mod retention;
mod revisions;
mod send_slots;
mod store_impl;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection as _, Postgres, Transaction};

use crate::group_commit::{DocumentWrite, GroupCommit, GroupResult, WriteGroup};
use crate::identities::IdentityCache;
use crate::known_items::KnownItems;
pub use alone::{ALONE_LOCK_WAIT, ALONE_WRITES_PER_ACCOUNT, FIRST_LOCK_WAIT};

use crate::{RecordedDocument, SecretBox, StoreError, StoreResult};

/// The maximum number of connections each process keeps open. Received
/// orders are written a group at a time by [`GROUP_WRITERS`] connections,
/// and the rest serve lookups, the worker and the portal. NOTE: on a 2-vCPU
/// machine where the database was CPU-bound, 32 measured no better than 10.
/// The pool opens connections only as they are needed. The server's
/// `max_connections` (100 by default) must cover every process's pool.
pub const MAX_CONNECTIONS: u32 = 32;

/// How long a connection may sit idle in the pool before it is pinged on
/// its way out. By default sqlx pings every connection it hands out, one
/// more round trip for every transaction and lookup. A connection used a
/// moment ago is almost always still alive. When it is not, the query
/// fails and the connection is dropped like any broken one.
pub const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// How many groups of received documents one process writes at once.
/// The second starts only for a backlog of [`SPARE_WRITER_BACKLOG`].
pub const GROUP_WRITERS: usize = 2;

/// How many received documents must wait before a second group is written
/// beside the first.
///
/// With two writers always at hand, at 1,000 orders a second a group held
/// 1.3 orders on average, and a group's statements cost the database
/// server more than the few rows they write. With one, the orders
/// arriving during a commit gather into the next group. On a 2-vCPU
/// machine that also ran PostgreSQL, one writer cut the database server's CPU from
/// about 790 to 620 µs an order, and pobridge's from about 410 to 380 µs,
/// in three alternating runs of each (BENCHMARKS.md). A second writer for
/// a backlog keeps a group that waits for a lock, as happens while the
/// worker syncs, from holding up every order behind it.
pub const SPARE_WRITER_BACKLOG: usize = 4;

/// How many connections [`PostgresStore::open`] opens before it returns, one
/// for each group writer. Each is warmed up as every connection is (see
/// `document_groups::warm_up`), so the first orders after a start find
/// them ready.
const CONNECTIONS_AT_OPEN: usize = GROUP_WRITERS;

/// The oldest server release the migrations run on, as PostgreSQL's
/// `server_version_num` writes it. They use `UNIQUE NULLS NOT DISTINCT`, new
/// in PostgreSQL 15.
pub const MINIMUM_SERVER_VERSION: i32 = 150_000;

/// The PostgreSQL store. Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    secrets: SecretBox,
    /// Received documents waiting for the next group transaction.
    group: Arc<GroupCommit>,
    /// Accounts with their buyers, as the order endpoint last read them.
    identities: Arc<IdentityCache>,
    /// Coupa items as this process last read or wrote them.
    known_items: Arc<KnownItems>,
    /// Each account's turns to store a document alone.
    alone_turns: Arc<alone::AloneTurns>,
    /// How long a document stored alone waits for its turn and each lock.
    lock_wait: std::time::Duration,
}

impl WriteGroup for PostgresStore {
    async fn write_group(&self, writes: &[DocumentWrite]) -> StoreResult<Vec<GroupResult>> {
        document_groups::record_documents(self, writes).await
    }

    async fn write_alone(&self, write: DocumentWrite) -> StoreResult<RecordedDocument> {
        alone::record(self, write).await
    }
}

impl PostgresStore {
    /// Connects to the database named by a `postgres://` or `postgresql://`
    /// URL and applies pending migrations. The database must exist. Several
    /// processes may open it at once: the migrator holds an advisory lock
    /// while it runs.
    pub async fn open(url: &str) -> StoreResult<Self> {
        // The locking described in the module documentation assumes READ
        // COMMITTED, and a stricter level would add serialization failures.
        let options = PgConnectOptions::from_str(url)?
            // The startup options are split at spaces unless escaped.
            .options([("default_transaction_isolation", r"read\ committed")]);
        // The version check and the migrations use a connection outside the
        // pool, so every pooled connection finds the schema in place when it
        // is warmed up.
        let mut setup = PgConnection::connect_with(&options).await?;
        check_server_version(&mut setup).await?;
        sqlx::migrate!("./migrations/postgres")
            .run_direct(&mut setup)
            .await?;
        setup.close().await?;

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(|conn, _| {
                Box::pin(async move {
                    document_groups::warm_up(conn).await;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        // Holding each connection until all are open makes the pool open
        // that many.
        let mut opened = Vec::with_capacity(CONNECTIONS_AT_OPEN);
        for _ in 0..CONNECTIONS_AT_OPEN {
            opened.push(pool.acquire().await?);
        }
        drop(opened);
        Ok(Self {
            pool,
            secrets: SecretBox::without_key(),
            group: Arc::new(GroupCommit::with_spare_writers(
                GROUP_WRITERS,
                SPARE_WRITER_BACKLOG,
            )),
            identities: Arc::default(),
            known_items: Arc::default(),
            alone_turns: Arc::default(),
            lock_wait: ALONE_LOCK_WAIT,
        })
    }

    /// Seals the secrets this store writes, and opens those it reads, with
    /// `secrets`.
    pub fn with_secrets(self, secrets: SecretBox) -> Self {
        Self { secrets, ..self }
    }

    /// Sets how long a received document stored on its own waits for its
    /// account's turn and for each lock, instead of [`ALONE_LOCK_WAIT`].
    /// Tests use it to see the wait run out.
    pub fn with_lock_wait(self, lock_wait: std::time::Duration) -> Self {
        Self { lock_wait, ..self }
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

async fn check_server_version(conn: &mut PgConnection) -> StoreResult<()> {
    let (number, version): (i32, String) = sqlx::query_as(
        "SELECT current_setting('server_version_num')::integer, current_setting('server_version')",
    )
    .fetch_one(conn)
    .await?;
    if number >= MINIMUM_SERVER_VERSION {
        return Ok(());
    }
    let message = format!(
        "the PostgreSQL server runs version {version}; pobridge needs version {} or later",
        MINIMUM_SERVER_VERSION / 10_000
    );
    Err(StoreError::Database(sqlx::Error::Configuration(
        message.into(),
    )))
}

/// Waits for, then holds until the transaction ends, the advisory lock
/// named by `key`. Different keys may hash to the same lock, which only
/// makes unrelated transactions wait for each other.
async fn lock_key(conn: &mut PgConnection, key: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Fails with `NotFound` on `entity` unless `table` has a row with `id`
/// whose `scope_column` equals `scope`, such as a buyer of the account. The
/// table and column names are the callers' constants, never input.
async fn ensure_row(
    conn: &mut PgConnection,
    table: &str,
    scope_column: &str,
    id: i64,
    scope: i64,
    entity: &'static str,
) -> StoreResult<()> {
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1 AND {scope_column} = $2)");
    let found: bool = sqlx::query_scalar(&sql)
        .bind(id)
        .bind(scope)
        .fetch_one(conn)
        .await?;
    if found {
        Ok(())
    } else {
        Err(codec::not_found(entity, id))
    }
}
