//! A request budget that several processes spend together.
//!
//! Every `pobridge serve` process on one PostgreSQL database talks to the
//! same Brightpearl accounts, so each account's `requests_per_minute` must
//! bound all of them together, not each one. The [`Limiter`] claims send
//! slots from a [`SharedBudget`] before each request: one, or one per
//! message of a multi-message that may count per message. The budget lives
//! outside this crate (the engine keeps it in the store), so this crate does
//! not depend on the store.
//!
//! [`Limiter`]: crate::Limiter

use std::time::Duration;

use async_trait::async_trait;

/// Extra time a shared send slot stays taken after its window. A slot is
/// recorded before the request leaves, and requests from different
/// processes reach Brightpearl after different delays (a commit, a
/// connection, a busy scheduler). Without the allowance, a request delayed
/// by a few milliseconds could land in the same receiver-side window as one
/// sent just after its slot expired.
pub const SEND_ALLOWANCE: Duration = Duration::from_millis(500);

/// The result of a claim for send slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotClaim {
    /// The slots were recorded: send the request now.
    Granted,
    /// The window has too few free slots and nothing was recorded. Enough
    /// slots free up after this long.
    Full(Duration),
}

/// The send slots of one Brightpearl account, shared by every process that
/// talks to it.
///
/// Implementations must serialize claims for one account and measure time
/// with one clock that every process agrees on, such as the database
/// server's. A slot is only a send time, so a process that dies holds
/// nothing that blocks the others: its slots expire with the window.
#[async_trait]
pub trait SharedBudget: Send + Sync {
    /// Records `count` slots now when the slots recorded in the last
    /// `window` leave room for them under `limit`, and returns
    /// [`SlotClaim::Granted`]. Otherwise records nothing and returns
    /// [`SlotClaim::Full`] with the wait. The caller keeps `count` between
    /// 1 and `limit`. Fails with a message when the budget cannot be read,
    /// such as when the database is unreachable.
    async fn claim(&self, limit: u32, window: Duration, count: u32) -> Result<SlotClaim, String>;
}
