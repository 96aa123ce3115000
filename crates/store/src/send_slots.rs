//! The Brightpearl send budget each account shares across processes: one
//! slot per request, claimed before the request is sent.
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
    /// A send was recorded, so the request may go now.
    Granted,
    /// The window is full and nothing was recorded. The oldest send that
    /// counts against the limit leaves the window after this long.
    Full(Duration),
}

/// Send times per account, kept in memory, for a store that one process
/// uses.
#[derive(Debug, Default)]
pub(crate) struct MemorySendSlots {
    sends: Mutex<HashMap<AccountId, VecDeque<Instant>>>,
}

impl MemorySendSlots {
    /// Claims a slot for `account` at `now`, as
    /// [`crate::Store::claim_send_slot`] describes.
    pub(crate) fn claim(
        &self,
        account: AccountId,
        limit: u32,
        window: Duration,
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
        if recent.len() < limit {
            recent.push_back(now);
            return SendSlot::Granted;
        }
        // Once the send at this index leaves the window, `limit - 1` remain.
        let oldest_counted = recent[recent.len() - limit];
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

        assert_eq!(slots.claim(account, 2, window, start), SendSlot::Granted);
        let later = start + Duration::from_secs(4);
        assert_eq!(slots.claim(account, 2, window, later), SendSlot::Granted);
        let full = slots.claim(account, 2, window, later);
        assert_eq!(full, SendSlot::Full(Duration::from_secs(6)));
        let after_first_expires = start + window;
        assert_eq!(
            slots.claim(account, 2, window, after_first_expires),
            SendSlot::Granted
        );
    }

    #[test]
    fn memory_slots_are_per_account() {
        let slots = MemorySendSlots::default();
        let window = Duration::from_secs(10);
        let now = Instant::now();

        assert_eq!(slots.claim(AccountId(1), 1, window, now), SendSlot::Granted);
        assert_eq!(slots.claim(AccountId(2), 1, window, now), SendSlot::Granted);
        assert_eq!(
            slots.claim(AccountId(1), 1, window, now),
            SendSlot::Full(window)
        );
    }
}
