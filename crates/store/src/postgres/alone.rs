//! Received documents stored one at a time: those a group leaves out, and
//! every document of a group that failed.
//!
//! Such a document can wait for a lock that another transaction holds for
//! long, such as the item-match lock of an account whose identifier
//! settings were just changed over many items. Meanwhile it keeps one of
//! the pool's connections. So that one account's waiting documents cannot
//! take every connection and hold up other accounts' documents:
//!
//! - each account stores at most [`ALONE_WRITES_PER_ACCOUNT`] documents
//!   this way at once, and the others wait for their turn without a
//!   connection;
//! - neither that turn nor any lock is waited for longer than the store's
//!   lock wait ([`ALONE_LOCK_WAIT`] unless set otherwise). Then the
//!   document is not stored and the error goes back to the order endpoint,
//!   which answers 500, so Coupa sends the document again later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pobridge_core::AccountId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::PostgresStore;
use crate::group_commit::DocumentWrite;
use crate::{RecordedDocument, StoreError, StoreResult};

/// How many documents of one account are stored one at a time at once, of
/// the pool's [`super::MAX_CONNECTIONS`].
pub const ALONE_WRITES_PER_ACCOUNT: usize = 4;

/// How long a document stored alone waits for its turn, and for each lock
/// its transaction takes. A product write transaction keeps the item-match
/// lock for far less ([`crate::PRODUCTS_PER_TRANSACTION`]), and Coupa waits
/// 60 s for a response.
pub const ALONE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The turns of each account that has stored a document alone since the
/// process started. Entries are never removed; there is one per account.
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

/// Stores `write` in a transaction of its own, in one of its account's
/// turns.
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
    let _turn = store.alone_turns.take(account, store.lock_wait).await?;
    super::documents::record_document(store, account, &document, revision.as_ref(), job.as_ref())
        .await
}

/// Returns the statement that starts a document's own transaction: `BEGIN`
/// and a lock timeout of `wait` in whole milliseconds.
pub(super) fn begin_statement(wait: Duration) -> String {
    format!(
        "BEGIN; SET LOCAL lock_timeout = '{}ms'",
        wait.as_millis().max(1)
    )
}
