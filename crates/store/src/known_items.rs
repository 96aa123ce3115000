//! The Coupa items this process last read or wrote, kept for at most
//! [`KNOWN_ITEMS_TTL`], so that an order's items found here are compared
//! with this copy instead of read from the database.
//!
//! Every order records its items: new ones are inserted, changed ones
//! updated, and `last_seen` moved once per [`crate::LAST_SEEN_RESOLUTION`].
//! To decide which, the items were read first, and on PostgreSQL that read
//! was one statement and one round trip in every group of orders. An item
//! kept here is compared with the copy instead, and only the items not kept
//! are read.
//!
//! What may be out of date, and for how long:
//! - An item changed by another process (another `pobridge serve` on the
//!   same database) in the last [`KNOWN_ITEMS_TTL`] can look unchanged
//!   here. An order carrying the item as it was before that change then
//!   leaves the item as the other process wrote it. So for up to
//!   [`KNOWN_ITEMS_TTL`], the stored identifiers and description can be
//!   those of an earlier order instead of the latest one.
//! - In this process, an order compared in the moment between another
//!   transaction's commit and its [`Remember::committed`] call is compared
//!   with the item as it was before that commit, so it can leave the item
//!   as that transaction wrote it.
//! - Otherwise the copy follows this process's writes: a transaction notes
//!   each item as it wrote it, and removes those whose write may have been
//!   skipped. What it read is not kept when another transaction wrote items
//!   after it began (the generation check below). A write whose outcome is
//!   unknown empties the copy through [`Remember`]'s drop. If the server
//!   applies that write after the copy was emptied, an item read meanwhile
//!   can look unchanged for up to [`KNOWN_ITEMS_TTL`], as with another
//!   process.
//!
//! Hand-written rather than a caching crate, for two reasons. The whole
//! copy is dropped at the end of each window, which bounds it by the items
//! seen in one window without any per-entry eviction. And a general cache
//! would not do the generation check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use pobridge_core::{AccountId, BuyerId};

use crate::{CoupaItem, LAST_SEEN_RESOLUTION};

/// How long a window of known items lasts. Every item in it is dropped
/// when it ends.
pub const KNOWN_ITEMS_TTL: Duration = Duration::from_secs(1);

/// The write an item seen on an order needs, given how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemChange {
    /// Stored exactly so, with a `last_seen` recent enough.
    None,
    /// A new description, or a `last_seen` to move.
    Refresh,
    /// New identifiers, which can change the item's mapping status.
    Upsert,
}

impl ItemChange {
    /// Compares `item`, seen on an order received at `seen_at`, with the
    /// stored item of the same key.
    pub(crate) fn of(
        stored: &CoupaItem,
        last_seen: DateTime<Utc>,
        item: &CoupaItem,
        seen_at: DateTime<Utc>,
    ) -> Self {
        let same_identifiers = stored.auxiliary_id == item.auxiliary_id
            && stored.buyer_part_id == item.buyer_part_id
            && stored.manufacturer_part_id == item.manufacturer_part_id;
        if !same_identifiers {
            Self::Upsert
        } else if stored.description != item.description
            || last_seen < seen_at - LAST_SEEN_RESOLUTION
        {
            Self::Refresh
        } else {
            Self::None
        }
    }
}

/// Known items, keyed by account, buyer, part id and unit of measure.
#[derive(Debug, Default)]
pub(crate) struct KnownItems {
    state: Mutex<State>,
}

type ItemKey = (AccountId, BuyerId, String, String);

fn key_of(account: AccountId, buyer: BuyerId, item: &CoupaItem) -> ItemKey {
    (
        account,
        buyer,
        item.part_id.clone(),
        item.unit_of_measure.clone(),
    )
}

#[derive(Debug, Default)]
struct State {
    /// Counts the committed transactions that wrote items, and every
    /// clear. What a transaction read is not kept when the count moved
    /// after it began.
    generation: u64,
    /// When the current window began; `None` when the copy is empty.
    window_start: Option<Instant>,
    entries: HashMap<ItemKey, Stored>,
}

/// An item as stored in the database.
#[derive(Debug, Clone)]
struct Stored {
    item: CoupaItem,
    last_seen: DateTime<Utc>,
}

impl KnownItems {
    /// Returns the write `item` needs when the copy contains its key, or
    /// `None` when the item must be read.
    pub(crate) fn change(
        &self,
        account: AccountId,
        buyer: BuyerId,
        item: &CoupaItem,
        seen_at: DateTime<Utc>,
        now: Instant,
    ) -> Option<ItemChange> {
        let mut state = self.lock();
        state.end_window_if_over(now);
        let stored = state.entries.get(&key_of(account, buyer, item))?;
        Some(ItemChange::of(
            &stored.item,
            stored.last_seen,
            item,
            seen_at,
        ))
    }

    /// Starts recording what one transaction reads and writes. Call it
    /// before the transaction reads any item, with the current time.
    pub(crate) fn remember(self: &Arc<Self>, now: Instant) -> Remember {
        Remember {
            known: Arc::clone(self),
            generation: self.lock().generation,
            began: now,
            reads: Vec::new(),
            writes: Vec::new(),
            unsure: Vec::new(),
            wrote: false,
            done: false,
        }
    }

    /// Empties the copy. Call it after any write of items that did not go
    /// through a [`Remember`], such as removing a buyer.
    pub(crate) fn clear(&self) {
        self.lock().empty();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock completes or panics before any entry
        // is half-written, so a poisoned state is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn empty(&mut self) {
        self.generation += 1;
        self.window_start = None;
        self.entries.clear();
    }

    fn end_window_if_over(&mut self, now: Instant) {
        if self
            .window_start
            .is_some_and(|start| now.saturating_duration_since(start) >= KNOWN_ITEMS_TTL)
        {
            self.window_start = None;
            self.entries.clear();
        }
    }
}

/// A record of the items one transaction read and wrote, to keep once it
/// commits. Dropped without [`Remember::committed`] after writing, it
/// empties the copy, because the write may or may not have been committed.
#[derive(Debug)]
#[must_use = "call `committed` after the commit, or the items are not kept"]
pub(crate) struct Remember {
    known: Arc<KnownItems>,
    generation: u64,
    /// When the transaction began. Its reads show the items as they were
    /// at some moment after this.
    began: Instant,
    /// Items read unchanged.
    reads: Vec<(ItemKey, Stored)>,
    /// Items written whole, or refreshed, as they are once committed: their
    /// rows stay locked until the commit.
    writes: Vec<(ItemKey, Stored)>,
    /// Items written by a statement that may have skipped them.
    unsure: Vec<ItemKey>,
    wrote: bool,
    done: bool,
}

impl Remember {
    /// Notes an item read as stored. `last_seen` is the stored one.
    pub(crate) fn read(
        &mut self,
        account: AccountId,
        buyer: BuyerId,
        item: &CoupaItem,
        last_seen: DateTime<Utc>,
    ) {
        self.reads.push(entry(account, buyer, item, last_seen));
    }

    /// Notes an item as this transaction wrote it. `last_seen` may be
    /// earlier than the stored one, never later, so it is cut to the
    /// microseconds the database keeps.
    pub(crate) fn wrote(
        &mut self,
        account: AccountId,
        buyer: BuyerId,
        item: &CoupaItem,
        last_seen: DateTime<Utc>,
    ) {
        self.wrote = true;
        let last_seen = last_seen.trunc_subsecs(6);
        self.writes.push(entry(account, buyer, item, last_seen));
    }

    /// Notes an item whose write may have been skipped, so its stored
    /// state is not known.
    pub(crate) fn wrote_maybe(&mut self, account: AccountId, buyer: BuyerId, item: &CoupaItem) {
        self.wrote = true;
        self.unsure.push(key_of(account, buyer, item));
    }

    /// Updates the copy now that the transaction has committed.
    /// `committing` is the time just before the commit was sent.
    ///
    /// Every kept item was read or written at or after the start of its
    /// window, so none is used longer than [`KNOWN_ITEMS_TTL`] after that.
    /// A read is dated from the transaction's start, which came before it.
    /// A write is dated from `committing`, because its row stays locked
    /// until the commit. Each is kept only when its date lies in the
    /// current window, or opens a new one that has not ended.
    pub(crate) fn committed(self, committing: Instant) {
        self.committed_at(committing, Instant::now());
    }

    fn committed_at(mut self, committing: Instant, now: Instant) {
        self.done = true;
        let mut state = self.known.lock();
        let current = state.generation == self.generation;
        if self.wrote {
            state.generation += 1;
        }
        state.end_window_if_over(now);
        for key in &self.unsure {
            state.entries.remove(key);
        }

        if !current {
            // Another transaction wrote items after this one began, so what
            // this one read or wrote may be older than that write.
            for (key, _) in self.reads.iter().chain(&self.writes) {
                state.entries.remove(key);
            }
            return;
        }

        let open = |since: Instant| now.saturating_duration_since(since) < KNOWN_ITEMS_TTL;
        let window_start = match state.window_start {
            Some(start) => start,
            None if !self.reads.is_empty() && open(self.began) => self.began,
            None if !self.writes.is_empty() && open(committing) => committing,
            None => return,
        };
        state.window_start = Some(window_start);
        if self.began >= window_start {
            for (key, stored) in self.reads.drain(..) {
                state.entries.insert(key, stored);
            }
        }
        for (key, stored) in self.writes.drain(..) {
            if committing >= window_start {
                state.entries.insert(key, stored);
            } else {
                state.entries.remove(&key);
            }
        }
    }
}

fn entry(
    account: AccountId,
    buyer: BuyerId,
    item: &CoupaItem,
    last_seen: DateTime<Utc>,
) -> (ItemKey, Stored) {
    let stored = Stored {
        item: item.clone(),
        last_seen,
    };
    (key_of(account, buyer, item), stored)
}

impl Drop for Remember {
    fn drop(&mut self) {
        if !self.done && self.wrote {
            self.known.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const ACCOUNT: AccountId = AccountId(1);
    const BUYER: BuyerId = BuyerId(2);

    fn item(description: &str) -> CoupaItem {
        CoupaItem {
            part_id: "P-1".to_owned(),
            auxiliary_id: Some("AUX".to_owned()),
            buyer_part_id: None,
            manufacturer_part_id: None,
            unit_of_measure: "EA".to_owned(),
            description: description.to_owned(),
        }
    }

    fn seen() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap()
    }

    fn change(known: &KnownItems, description: &str, now: Instant) -> Option<ItemChange> {
        known.change(ACCOUNT, BUYER, &item(description), seen(), now)
    }

    fn read(known: &Arc<KnownItems>, description: &str, now: Instant) {
        let mut remember = known.remember(now);
        remember.read(ACCOUNT, BUYER, &item(description), seen());
        remember.committed_at(now, now);
    }

    #[test]
    fn change_compares_identifiers_then_description_and_time() {
        let stored = item("Pipe");
        let mut renumbered = item("Pipe");
        renumbered.buyer_part_id = Some("B-1".to_owned());
        let stale = seen() + LAST_SEEN_RESOLUTION + chrono::TimeDelta::seconds(1);
        let limit = seen() + LAST_SEEN_RESOLUTION;

        assert_eq!(
            ItemChange::of(&stored, seen(), &item("Pipe"), seen()),
            ItemChange::None
        );
        assert_eq!(
            ItemChange::of(&stored, seen(), &item("Pipe"), limit),
            ItemChange::None
        );
        assert_eq!(
            ItemChange::of(&stored, seen(), &item("Pipe"), stale),
            ItemChange::Refresh
        );
        assert_eq!(
            ItemChange::of(&stored, seen(), &item("Valve"), seen()),
            ItemChange::Refresh
        );
        assert_eq!(
            ItemChange::of(&stored, seen(), &renumbered, seen()),
            ItemChange::Upsert
        );
    }

    #[test]
    fn kept_item_lasts_until_window_ends() {
        let known = Arc::new(KnownItems::default());
        let start = Instant::now();
        read(&known, "Pipe", start);

        let later = start + KNOWN_ITEMS_TTL - Duration::from_millis(1);
        assert_eq!(change(&known, "Pipe", later), Some(ItemChange::None));
        assert_eq!(change(&known, "Valve", later), Some(ItemChange::Refresh));
        assert_eq!(change(&known, "Pipe", start + KNOWN_ITEMS_TTL), None);
    }

    #[test]
    fn other_buyer_is_not_known() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);

        assert_eq!(
            known.change(ACCOUNT, BuyerId(3), &item("Pipe"), seen(), now),
            None
        );
    }

    #[test]
    fn write_replaces_kept_item() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);
        let mut writer = known.remember(now);
        writer.wrote(ACCOUNT, BUYER, &item("Valve"), seen());
        writer.committed_at(now, now);

        assert_eq!(change(&known, "Valve", now), Some(ItemChange::None));
    }

    #[test]
    fn maybe_skipped_write_forgets_item() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);
        let mut writer = known.remember(now);
        writer.wrote_maybe(ACCOUNT, BUYER, &item("Valve"));
        writer.committed_at(now, now);

        assert_eq!(change(&known, "Pipe", now), None);
    }

    #[test]
    fn read_that_raced_a_write_is_not_kept() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        let mut reader = known.remember(now);
        reader.read(ACCOUNT, BUYER, &item("Pipe"), seen());
        let mut writer = known.remember(now);
        writer.wrote(ACCOUNT, BUYER, &item("Valve"), seen());
        writer.committed_at(now, now);
        reader.committed_at(now, now);

        assert_eq!(change(&known, "Valve", now), None);
    }

    #[test]
    fn read_begun_before_window_is_not_kept() {
        let known = Arc::new(KnownItems::default());
        let start = Instant::now();
        let mut early = known.remember(start);
        early.read(ACCOUNT, BuyerId(3), &item("Pipe"), seen());
        let opened = start + Duration::from_millis(10);
        let mut later = known.remember(opened);
        later.read(ACCOUNT, BUYER, &item("Pipe"), seen());
        later.committed_at(opened, opened);
        early.committed_at(
            opened + Duration::from_millis(10),
            opened + Duration::from_millis(10),
        );

        assert_eq!(change(&known, "Pipe", opened), Some(ItemChange::None));
        let other_buyer = known.change(ACCOUNT, BuyerId(3), &item("Pipe"), seen(), opened);
        assert_eq!(other_buyer, None);
    }

    #[test]
    fn write_committed_before_window_is_not_kept() {
        let known = Arc::new(KnownItems::default());
        let start = Instant::now();
        let mut writer = known.remember(start);
        writer.wrote(ACCOUNT, BuyerId(3), &item("Pipe"), seen());
        let opened = start + Duration::from_millis(10);
        let mut reader = known.remember(opened);
        reader.read(ACCOUNT, BUYER, &item("Pipe"), seen());
        reader.committed_at(opened, opened);
        writer.committed_at(start, opened + Duration::from_millis(10));

        let written = known.change(ACCOUNT, BuyerId(3), &item("Pipe"), seen(), opened);
        assert_eq!(written, None);
    }

    #[test]
    fn read_older_than_ttl_is_not_kept() {
        let known = Arc::new(KnownItems::default());
        let start = Instant::now();
        let mut slow = known.remember(start);
        slow.read(ACCOUNT, BUYER, &item("Pipe"), seen());
        let committed = start + KNOWN_ITEMS_TTL;
        slow.committed_at(committed, committed);

        assert_eq!(change(&known, "Pipe", committed), None);
    }

    #[test]
    fn write_dropped_before_commit_empties_the_copy() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);
        let mut failed = known.remember(now);
        failed.wrote(ACCOUNT, BUYER, &item("Valve"), seen());
        drop(failed);

        assert_eq!(change(&known, "Pipe", now), None);
    }

    #[test]
    fn read_dropped_before_commit_changes_nothing() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);
        let mut failed = known.remember(now);
        failed.read(ACCOUNT, BUYER, &item("Valve"), seen());
        drop(failed);

        assert_eq!(change(&known, "Pipe", now), Some(ItemChange::None));
    }

    #[test]
    fn clear_drops_items_and_earlier_reads() {
        let known = Arc::new(KnownItems::default());
        let now = Instant::now();
        read(&known, "Pipe", now);
        let mut reader = known.remember(now);
        reader.read(ACCOUNT, BUYER, &item("Pipe"), seen());
        known.clear();
        reader.committed_at(now, now);

        assert_eq!(change(&known, "Pipe", now), None);
    }
}
