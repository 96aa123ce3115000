//! A copy of each account with its buyers, kept for at most
//! [`IDENTITY_TTL`], for the order endpoint. The endpoint reads them for
//! every document it receives, and they change rarely. On PostgreSQL that
//! read was one statement and one round trip in every order's path, about
//! a thousand statements a second at full load.
//!
//! Every write of an account or buyer through the same store empties the
//! copy, so this process reads its own changes at once. A change made by
//! another process (the command line, or another `pobridge serve` on the
//! same PostgreSQL database) reaches this process within [`IDENTITY_TTL`].
//! The order endpoint reads again, bypassing the copy, before it rejects a
//! document's credentials, so a credential added elsewhere is accepted at
//! once. Everything else keeps its old value for up to that long after
//! another process changes it:
//! - a removed credential is still accepted;
//! - a buyer's mode (test or production) and URL token still apply;
//! - a document from a deleted buyer passes the credential check, then
//!   fails to store, and Coupa gets a 500 and retries. When it was one of a
//!   group on PostgreSQL, the group's other documents are stored one by one.
//!
//! When the copy of an account is missing or too old, one request reads it
//! and the others that want it meanwhile wait for that read. They read on
//! their own only when it failed or was not kept. Before, every
//! order that arrived while the copy was missing read the account itself,
//! and each of them opened a database connection. In the order benchmark
//! that made the first 50 to 100 orders after a start take 10 to 60 ms.
//!
//! Hand-written rather than a caching crate, for two reasons. The entries
//! are bounded by the number of accounts (a slug that names no account is
//! never kept), so no eviction policy is needed. And a general cache would
//! not do the generation check below, which keeps a read that raced a
//! write from storing stale data.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pobridge_core::AccountSlug;

use crate::{Account, Buyer, StoreResult};

/// How long a copy of an account with its buyers is used.
pub const IDENTITY_TTL: Duration = Duration::from_secs(1);

/// How many locks the reads of missing copies are spread over. Reads of
/// two accounts that share a lock wait for each other, which costs little
/// because a read is one short statement. A fixed number keeps the locks
/// bounded whatever slugs requests name.
const READ_LOCKS: usize = 32;

/// The kept copies, and how many times they were emptied.
#[derive(Debug, Default)]
pub(crate) struct IdentityCache {
    state: Mutex<State>,
    /// Held while an account is read, so that requests that want the same
    /// missing copy wait for one read instead of each reading it.
    reads: ReadLocks,
}

#[derive(Debug)]
struct ReadLocks {
    hasher: RandomState,
    locks: [tokio::sync::Mutex<()>; READ_LOCKS],
}

impl Default for ReadLocks {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            locks: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        }
    }
}

impl ReadLocks {
    fn of(&self, slug: &AccountSlug) -> &tokio::sync::Mutex<()> {
        let index = self.hasher.hash_one(slug) as usize % READ_LOCKS;
        &self.locks[index]
    }
}

#[derive(Debug, Default)]
struct State {
    /// Counts [`IdentityCache::clear`] calls. A read that started before a
    /// clear is not kept after it.
    generation: u64,
    entries: HashMap<AccountSlug, Entry>,
}

#[derive(Debug)]
struct Entry {
    read_at: Instant,
    account: Account,
    buyers: Vec<Buyer>,
}

impl IdentityCache {
    /// Returns the account with `slug` and its buyers from a copy read less
    /// than [`IDENTITY_TTL`] before `now`, or else from `read`, keeping what
    /// it returns unless the cache was emptied meanwhile. A call that finds
    /// another call reading the same account waits for it and takes its
    /// copy. So `read` runs only when that read failed or was not kept.
    pub(crate) async fn get_or_read(
        &self,
        slug: &AccountSlug,
        now: Instant,
        read: impl std::future::Future<Output = StoreResult<(Account, Vec<Buyer>)>>,
    ) -> StoreResult<(Account, Vec<Buyer>)> {
        if let Some(found) = self.fresh(slug, now) {
            return Ok(found);
        }
        let stripe = self.reads.of(slug);
        // The first caller reads while holding the lock. The others wait for
        // it and then read on their own if its copy is not there, so that a
        // failing database costs each caller at most two reads' time instead
        // of making them read one after another.
        let _reading = match stripe.try_lock() {
            Ok(guard) => Some(guard),
            Err(_) => {
                drop(stripe.lock().await);
                if let Some(found) = self.fresh(slug, now) {
                    return Ok(found);
                }
                None
            }
        };
        let generation = self.lock().generation;
        let (account, buyers) = read.await?;
        let mut state = self.lock();
        if state.generation == generation {
            state.entries.insert(
                slug.clone(),
                Entry {
                    read_at: now,
                    account: account.clone(),
                    buyers: buyers.clone(),
                },
            );
        }
        Ok((account, buyers))
    }

    /// Returns the copy of `slug` when it was read less than
    /// [`IDENTITY_TTL`] before `now`.
    fn fresh(&self, slug: &AccountSlug, now: Instant) -> Option<(Account, Vec<Buyer>)> {
        let state = self.lock();
        let entry = state.entries.get(slug)?;
        (now.saturating_duration_since(entry.read_at) < IDENTITY_TTL)
            .then(|| (entry.account.clone(), entry.buyers.clone()))
    }

    /// Returns a guard that drops every copy when it goes out of scope. Each
    /// write of an account or buyer keeps one until it ends, so the copies
    /// are dropped also when the write's future is dropped after the
    /// database committed it.
    pub(crate) fn clear_after(&self) -> ClearAfter<'_> {
        ClearAfter { cache: self }
    }

    /// Drops every copy.
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Empties an [`IdentityCache`] when dropped.
pub(crate) struct ClearAfter<'a> {
    cache: &'a IdentityCache,
}

impl Drop for ClearAfter<'_> {
    fn drop(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use pobridge_core::{AccountId, AccountSettings};

    use super::*;

    fn account(email: &str) -> Account {
        Account {
            id: AccountId(1),
            slug: AccountSlug::parse("acme").unwrap(),
            email: email.to_owned(),
            settings: AccountSettings::default(),
            created_at: Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap(),
        }
    }

    async fn read(cache: &IdentityCache, now: Instant, email: &str) -> String {
        let slug = AccountSlug::parse("acme").unwrap();
        let (found, _) = cache
            .get_or_read(&slug, now, async { Ok((account(email), Vec::new())) })
            .await
            .unwrap();
        found.email
    }

    #[tokio::test]
    async fn copy_expires_after_ttl() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        assert_eq!(
            read(&cache, start, "first@acme.test").await,
            "first@acme.test"
        );
        let later = start + IDENTITY_TTL - Duration::from_millis(1);
        assert_eq!(
            read(&cache, later, "second@acme.test").await,
            "first@acme.test"
        );
        let expired = start + IDENTITY_TTL;
        assert_eq!(
            read(&cache, expired, "third@acme.test").await,
            "third@acme.test"
        );
    }

    #[tokio::test]
    async fn clear_drops_copies() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        read(&cache, start, "first@acme.test").await;
        cache.clear();
        assert_eq!(
            read(&cache, start, "second@acme.test").await,
            "second@acme.test"
        );
    }

    #[tokio::test]
    async fn dropped_guard_clears_copies() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        read(&cache, start, "first@acme.test").await;
        drop(cache.clear_after());
        assert_eq!(
            read(&cache, start, "second@acme.test").await,
            "second@acme.test"
        );
    }

    #[tokio::test]
    async fn read_that_raced_a_clear_is_not_kept() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        let slug = AccountSlug::parse("acme").unwrap();
        let raced = cache
            .get_or_read(&slug, start, async {
                cache.clear();
                Ok((account("stale@acme.test"), Vec::new()))
            })
            .await
            .unwrap();
        assert_eq!(
            raced.0.email, "stale@acme.test",
            "the caller still gets what it read"
        );
        assert_eq!(
            read(&cache, start, "fresh@acme.test").await,
            "fresh@acme.test"
        );
    }

    #[tokio::test]
    async fn failed_read_keeps_nothing() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        let slug = AccountSlug::parse("acme").unwrap();
        let failed = cache
            .get_or_read(&slug, start, async {
                Err(crate::StoreError::NotFound {
                    entity: "account",
                    key: "acme".to_owned(),
                })
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(
            read(&cache, start, "found@acme.test").await,
            "found@acme.test"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_read_once() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        let slug = AccountSlug::parse("acme").unwrap();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let lookups = (0..10).map(|_| {
            cache.get_or_read(&slug, start, async {
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok((account("read@acme.test"), Vec::new()))
            })
        });
        let found = futures::future::join_all(lookups).await;
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        for found in found {
            assert_eq!(found.unwrap().0.email, "read@acme.test");
        }
    }

    #[tokio::test]
    async fn waiters_read_again_after_a_failed_read() {
        let cache = IdentityCache::default();
        let start = Instant::now();
        let slug = AccountSlug::parse("acme").unwrap();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let lookups = (0..3).map(|_| {
            cache.get_or_read(&slug, start, async {
                let attempt = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                if attempt == 0 {
                    return Err(crate::StoreError::NotFound {
                        entity: "account",
                        key: "acme".to_owned(),
                    });
                }
                Ok((account("second@acme.test"), Vec::new()))
            })
        });
        let found = futures::future::join_all(lookups).await;
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "each waiter reads on its own after the failed read"
        );
        assert_eq!(found.iter().filter(|found| found.is_err()).count(), 1);
    }
}
