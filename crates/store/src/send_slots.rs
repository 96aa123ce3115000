//! The Brightpearl send budget each account shares across processes: one
//! slot per request of quota, claimed before the request is sent.
//!
//! On PostgreSQL the slots are rows, so every process on the database
//! spends one budget. On SQLite, which serves one process, they are kept in
//! the store's memory by [`MemorySendSlots`]: a table would add a durable
//! write per Brightpearl request to the single writer connection that
//! order intake also waits for, and protect against nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pobridge_core::AccountId;

/// The outcome of [`crate::Store::claim_send_slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendSlot {
    /// The sends were recorded, so the request may go now.
    Granted,
    /// The window has too few free slots and nothing was recorded. Enough
    /// sends leave the window after this long.
    Full(Duration),
}

/// Send times per account, kept in memory, for a store that one process
/// uses.
#[derive(Debug, Default)]
pub(crate) struct MemorySendSlots {
    sends: Mutex<HashMap<AccountId, VecDeque<Instant>>>,
}

impl MemorySendSlots {
    /// Claims `count` slots for `account` at `now`, as
    /// [`crate::Store::claim_send_slot`] describes.
    pub(crate) fn claim(
        &self,
        account: AccountId,
        limit: u32,
        window: Duration,
        count: u32,
        now: Instant,
    ) -> SendSlot {
        let mut sends = self
            .sends
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let recent = sends.entry(account).or_default();
        while recent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            recent.pop_front();
        }
        let limit = limit.max(1) as usize;
        let count = (count as usize).clamp(1, limit);
        if recent.len() + count <= limit {
            recent.extend(std::iter::repeat_n(now, count));
            return SendSlot::Granted;
        }
        // Once the send at this index leaves the window, `limit - count`
        // remain and `count` more fit.
        let oldest_counted = recent[recent.len() + count - limit - 1];
        SendSlot::Full((oldest_counted + window).saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_slots_fill_then_free_with_the_window() {
        let slots = MemorySendSlots::default();
        let account = AccountId(1);
        let window = Duration::from_secs(10);
        let start = Instant::now();

        assert_eq!(slots.claim(account, 2, window, 1, start), SendSlot::Granted);
        let later = start + Duration::from_secs(4);
        assert_eq!(slots.claim(account, 2, window, 1, later), SendSlot::Granted);
        let full = slots.claim(account, 2, window, 1, later);
        assert_eq!(full, SendSlot::Full(Duration::from_secs(6)));
        let after_first_expires = start + window;
        assert_eq!(
            slots.claim(account, 2, window, 1, after_first_expires),
            SendSlot::Granted
        );
    }

    #[test]
    fn memory_slots_are_per_account() {
        let slots = MemorySendSlots::default();
        let window = Duration::from_secs(10);
        let now = Instant::now();

        assert_eq!(
            slots.claim(AccountId(1), 1, window, 1, now),
            SendSlot::Granted
        );
        assert_eq!(
            slots.claim(AccountId(2), 1, window, 1, now),
            SendSlot::Granted
        );
        assert_eq!(
            slots.claim(AccountId(1), 1, window, 1, now),
            SendSlot::Full(window)
        );
    }

    #[test]
    fn memory_slots_claim_several_at_once() {
        let slots = MemorySendSlots::default();
        let account = AccountId(1);
        let window = Duration::from_secs(10);
        let start = Instant::now();
        let later = start + Duration::from_secs(3);

        assert_eq!(slots.claim(account, 5, window, 3, start), SendSlot::Granted);
        assert_eq!(slots.claim(account, 5, window, 1, later), SendSlot::Granted);
        // Four of five are taken, so two more wait for the first three.
        assert_eq!(
            slots.claim(account, 5, window, 2, later),
            SendSlot::Full(Duration::from_secs(7))
        );
        assert_eq!(slots.claim(account, 5, window, 1, later), SendSlot::Granted);
        // A count above the limit is taken as the limit.
        let empty = start + Duration::from_secs(30);
        assert_eq!(slots.claim(account, 5, window, 9, empty), SendSlot::Granted);
        assert_eq!(
            slots.claim(account, 5, window, 1, empty),
            SendSlot::Full(window)
        );
    }
}
