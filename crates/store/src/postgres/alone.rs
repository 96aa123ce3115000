//! Received documents stored one at a time: those a group leaves out, and
//! every document of a group that failed.
//!
//! Such a document can wait for a lock that another transaction keeps for
//! long, such as the item-match lock of an account whose identifier
//! settings were just changed over many items. Meanwhile it keeps one of
//! the pool's connections. So that one account's waiting documents cannot
//! take every connection and hold up other accounts' documents:
//!
//! - a document first waits at most [`FIRST_LOCK_WAIT`] for each lock, as a
//!   group does. Most documents need no lock that is held for long, so they
//!   are stored at once, whatever else the account is waiting for;
//! - when that wait runs out, the document tries again in one of its
//!   account's turns. Each process gives an account
//!   [`ALONE_WRITES_PER_ACCOUNT`] turns, so the account's other such
//!   documents wait for a turn without a connection;
//! - the turn, and each lock of the second try, is waited for at most the
//!   store's lock wait ([`ALONE_LOCK_WAIT`] unless set otherwise). Then the
//!   document is not stored, and the order endpoint responds with 500, so
//!   Coupa sends the document again later.
//!
//! NOTE: the lock wait bounds each wait, not the whole write. A document
//! that meets several held locks, or an empty pool, waits for each in turn,
//! and can take longer than the 60 s Coupa waits for a response. When its
//! transaction then commits, Coupa's next try is stored as a duplicate.
//! The turns also bound one account in one process only: several accounts,
//! or several processes, can together still wait on every connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pobridge_core::AccountId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::PostgresStore;
use crate::group_commit::DocumentWrite;
use crate::{RecordedDocument, StoreError, StoreResult};

/// The maximum number of an account's documents that one process stores
/// in a second try at the same time, out of the pool's
/// [`super::MAX_CONNECTIONS`] connections.
pub const ALONE_WRITES_PER_ACCOUNT: usize = 4;

/// How long a document's second try waits for its turn and for each lock.
/// A product write transaction keeps the item-match lock for far less
/// ([`crate::PRODUCTS_PER_TRANSACTION`]), and Coupa waits 60 s for a
/// response.
pub const ALONE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long a document's first try waits for each lock, as long as a group
/// waits.
pub const FIRST_LOCK_WAIT: Duration = Duration::from_millis(200);

/// PostgreSQL's `lock_not_available`, the error of a lock wait that ran
/// out.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// The turns of each account that has needed a second try since the
/// process started. Entries are never removed, so there is one per account.
#[derive(Debug, Default)]
pub(super) struct AloneTurns {
    per_account: Mutex<HashMap<AccountId, Arc<Semaphore>>>,
}

impl AloneTurns {
    /// Waits at most `wait` for one of `account`'s turns.
    async fn take(&self, account: AccountId, wait: Duration) -> StoreResult<OwnedSemaphorePermit> {
        let turns = {
            let mut per_account = self
                .per_account
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            per_account
                .entry(account)
                .or_insert_with(|| Arc::new(Semaphore::new(ALONE_WRITES_PER_ACCOUNT)))
                .clone()
        };
        match tokio::time::timeout(wait, turns.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed.
            Ok(Err(_)) | Err(_) => Err(StoreError::Busy {
                detail: format!(
                    "timed out after {} ms waiting for a turn to store a document of account \
                     {account}, which stores at most {ALONE_WRITES_PER_ACCOUNT} at once",
                    wait.as_millis()
                ),
            }),
        }
    }
}

/// Stores `write` in a transaction of its own, and when a lock wait runs
/// out, once more in one of its account's turns.
pub(super) async fn record(
    store: &PostgresStore,
    write: DocumentWrite,
) -> StoreResult<RecordedDocument> {
    let DocumentWrite {
        account,
        document,
        revision,
        job,
    } = write;
    let attempt = |lock_wait| {
        super::documents::record_document(
            store,
            account,
            &document,
            revision.as_ref(),
            job.as_ref(),
            lock_wait,
        )
    };
    match attempt(FIRST_LOCK_WAIT.min(store.lock_wait)).await {
        Err(error) if is_lock_timeout(&error) => {}
        done => return done,
    }
    let _turn = store.alone_turns.take(account, store.lock_wait).await?;
    match attempt(store.lock_wait).await {
        Err(error) if is_lock_timeout(&error) => Err(StoreError::Busy {
            detail: format!(
                "timed out after {} ms waiting for a lock to store a document of account \
                 {account}: {error}",
                store.lock_wait.as_millis()
            ),
        }),
        done => done,
    }
}

fn is_lock_timeout(error: &StoreError) -> bool {
    let StoreError::Database(error) = error else {
        return false;
    };
    error
        .as_database_error()
        .and_then(|database| database.code())
        .is_some_and(|code| code == LOCK_NOT_AVAILABLE)
}

/// Returns the statement that starts a document's own transaction: `BEGIN`
/// and a lock timeout of `wait` in whole milliseconds. PostgreSQL takes 1
/// to `i32::MAX` milliseconds (0 would mean no limit), so `wait` is clamped
/// to that range.
pub(super) fn begin_statement(wait: Duration) -> String {
    let milliseconds = wait.as_millis().clamp(1, i32::MAX as u128);
    format!("BEGIN; SET LOCAL lock_timeout = '{milliseconds}ms'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_statement_clamps_the_wait() {
        assert_eq!(
            begin_statement(Duration::from_millis(1500)),
            "BEGIN; SET LOCAL lock_timeout = '1500ms'"
        );
        assert_eq!(
            begin_statement(Duration::ZERO),
            "BEGIN; SET LOCAL lock_timeout = '1ms'"
        );
        assert_eq!(
            begin_statement(Duration::from_secs(u64::MAX)),
            format!("BEGIN; SET LOCAL lock_timeout = '{}ms'", i32::MAX)
        );
    }
}
