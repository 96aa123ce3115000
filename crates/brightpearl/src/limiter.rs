//! Keeping within Brightpearl's request quota.
//!
//! Brightpearl allows about 200 requests a minute per pool and reports what
//! is left in two headers on every reply, as text:
//! `brightpearl-requests-remaining` (calls left in this window after this
//! one) and `brightpearl-next-throttle-period` (milliseconds until the
//! window resets). Once the quota is spent it returns 503.
//!
//! The limiter keeps within `requests_per_minute` in any sliding 60 seconds.
//! With a [`SharedBudget`], every process that talks to the account keeps
//! within that number together: the limiter claims send slots from the
//! budget after its own checks pass. It also waits for the next period
//! whenever the headers report too few requests left for the request's
//! cost plus the reserve. A 503 (or a 429) is waited out before the same
//! request is sent again.
//!
//! A plain request costs one request of quota. A multi-message costs one or
//! one per message, as [`crate::message_cost`] reads from the headers. Until
//! that is known, it is costed at one per message and sent as a probe while
//! no other request of this process is in flight, so that the drop in the
//! remaining count is its own.
//!
//! Every choice within the process is made by [`decide`], a pure function
//! of the recent sends, the last headers seen, the response (if any), the
//! time now and the request's cost. [`Limiter`] only keeps that state,
//! claims slots from the shared budget and sleeps.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::message_cost::{self, Counting, MultiMessageCost};
use crate::shared_budget::{SharedBudget, SlotClaim, SEND_ALLOWANCE};

/// Brightpearl's throttle period, and the default length of the sliding
/// window that `requests_per_minute` counts in.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Wait after a 503 or 429 that carries no usable period.
const THROTTLED_FALLBACK: Duration = Duration::from_secs(60);
/// Shortest wait after a 503 or 429, so a period of `0` cannot turn the
/// retry into a tight loop.
const MIN_THROTTLED_WAIT: Duration = Duration::from_secs(1);
/// The maximum time a caller waits for a probe or for requests in flight
/// before it checks again, in case a wake-up was missed.
const BUSY_RECHECK: Duration = Duration::from_millis(500);

/// Brightpearl's throttle headers, parsed as integers. A header that is
/// absent or not a non-negative integer is `None`: unknown, never an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleHeaders {
    /// Requests left in the current window after this one.
    pub remaining: Option<u32>,
    /// Time until the current window ends.
    pub next_period: Option<Duration>,
}

impl ThrottleHeaders {
    /// Parses the two header values as sent.
    pub fn parse(remaining: Option<&str>, next_period_ms: Option<&str>) -> Self {
        Self {
            remaining: remaining.and_then(|text| text.trim().parse().ok()),
            next_period: next_period_ms
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(Duration::from_millis),
        }
    }

    /// Reads the headers of a reply; header names are case-insensitive.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        Self::parse(
            text("brightpearl-requests-remaining"),
            text("brightpearl-next-throttle-period"),
        )
    }
}

/// The limits one limiter enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub requests_per_minute: u32,
    pub reserve: u32,
    /// The sliding window `requests_per_minute` counts in: [`WINDOW`]
    /// except in tests.
    pub window: Duration,
}

/// One request sent, with the requests of quota it may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendRecord {
    pub at: Duration,
    pub cost: u32,
    /// The order of the send within the limiter, to find it again.
    pub seq: u64,
}

/// Throttle headers as seen on one reply. Times are offsets from the
/// limiter's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observation {
    pub headers: ThrottleHeaders,
    /// When the request that got this reply was sent.
    pub sent_at: Duration,
    pub received_at: Duration,
}

/// The facts about a reply that [`decide`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplySignal {
    pub status: u16,
    pub headers: ThrottleHeaders,
    /// The `Retry-After` header in seconds, when a 429 carries one.
    pub retry_after: Option<Duration>,
}

/// The limiter's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Before a request: send it now.
    Send,
    /// Before a request: wait this long, then ask again.
    Wait(Duration),
    /// After a reply: it is not a throttle; use it.
    Accept,
    /// After a reply: the request was throttled; wait, then send it again.
    RetryAfter(Duration),
}

/// Decides what to do before a request that costs `cost` requests of quota
/// (`reply` is `None`) or after one. `sent` lists earlier sends in
/// ascending order of time; all times are offsets from one fixed origin.
pub(crate) fn decide(
    policy: Policy,
    sent: &[SendRecord],
    last: Option<&Observation>,
    reply: Option<&ReplySignal>,
    now: Duration,
    cost: u32,
) -> Decision {
    match reply {
        Some(reply) => judge_reply(reply),
        None => {
            let window_wait = sliding_window_wait(policy, sent, now, cost);
            let header_wait = last.map_or(Duration::ZERO, |last| {
                header_wait(policy, sent, last, now, cost)
            });
            let wait = window_wait.max(header_wait);
            if wait.is_zero() {
                Decision::Send
            } else {
                Decision::Wait(wait)
            }
        }
    }
}

fn judge_reply(reply: &ReplySignal) -> Decision {
    let wait = match reply.status {
        503 => reply.headers.next_period,
        429 => reply.retry_after.or(reply.headers.next_period),
        _ => return Decision::Accept,
    };
    Decision::RetryAfter(wait.unwrap_or(THROTTLED_FALLBACK).max(MIN_THROTTLED_WAIT))
}

/// Time until the sends in the last `policy.window` cost no more than
/// `requests_per_minute` less `cost`. A cost above the limit is taken as
/// the limit, so that it can be sent into an empty window.
fn sliding_window_wait(policy: Policy, sent: &[SendRecord], now: Duration, cost: u32) -> Duration {
    let limit = policy.requests_per_minute.max(1);
    let cost = cost.clamp(1, limit);
    let recent = sent.iter().filter(|send| send.at + policy.window > now);
    let used: u32 = recent.clone().map(|send| send.cost).sum();
    let Some(mut excess) = (used + cost)
        .checked_sub(limit)
        .filter(|excess| *excess > 0)
    else {
        return Duration::ZERO;
    };
    // Sends leave the window oldest first.
    for send in recent {
        if send.cost >= excess {
            return (send.at + policy.window).saturating_sub(now);
        }
        excess -= send.cost;
    }
    Duration::ZERO
}

/// Time until the window the headers describe ends, when the requests left
/// in it (less those sent since) do not cover `cost` plus the reserve.
///
/// NOTE: the wait ends at `brightpearl-next-throttle-period`, which under a
/// calendar window is when the whole quota returns. Under a rolling window
/// it is when the oldest request leaves, so a multi-message costed at more
/// than one can still get a 503 there unless the limiter's own sliding
/// window keeps it within the quota.
fn header_wait(
    policy: Policy,
    sent: &[SendRecord],
    last: &Observation,
    now: Duration,
    cost: u32,
) -> Duration {
    let Some(remaining) = last.headers.remaining else {
        return Duration::ZERO;
    };
    let period = last.headers.next_period.unwrap_or(WINDOW);
    let window_ends = last.received_at + period;
    if now >= window_ends {
        return Duration::ZERO;
    }
    // Requests sent after the observed one may already have used quota the
    // header still counts as free.
    let sent_since: u64 = sent
        .iter()
        .filter(|send| send.at > last.sent_at)
        .map(|send| u64::from(send.cost))
        .sum();
    let left = u64::from(remaining).saturating_sub(sent_since);
    if left < u64::from(cost) + u64::from(policy.reserve) {
        window_ends - now
    } else {
        Duration::ZERO
    }
}

/// A permission to send one request, granted by [`Limiter::acquire`]. The
/// request counts as in flight until the permit is dropped, which the
/// sender does once it has handed the reply to [`Limiter::observe`] or
/// given up.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    pub sent_at: Duration,
    seq: u64,
    /// The messages the request carries: 1 unless it is a multi-message.
    messages: u32,
    /// The requests of quota it was costed at.
    cost: u32,
    /// Whether it is a multi-message sent alone to learn the counting.
    probe: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if self.probe {
            state.probe_in_flight = false;
        }
        drop(state);
        self.limiter.changed.notify_waiters();
    }
}

/// Marks a caller waiting to send a probe, so that no other request of the
/// process starts before it. Dropped when the caller sends or gives up.
struct ProbeWaiter<'a> {
    limiter: &'a Limiter,
}

impl Drop for ProbeWaiter<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.probes_waiting = state.probes_waiting.saturating_sub(1);
        drop(state);
        self.limiter.changed.notify_waiters();
    }
}

/// Why [`Limiter::acquire`] gave no permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The wait needed is longer than the caller's budget allows.
    TooLong(Duration),
    /// The shared budget could not be read. The message contains the cause.
    SharedBudget(String),
}

/// The outcome of the checks within this process.
enum LocalCheck<'a> {
    /// The request may go once the shared budget grants its slots.
    Ready(Permit<'a>),
    /// The rate limit needs this wait.
    Wait(Duration),
    /// A probe is in flight or waiting, or this probe waits for the
    /// requests in flight.
    Busy,
}

/// The rate limiter of one Brightpearl account, shared by every caller in
/// the process that talks to that account.
pub struct Limiter {
    policy: Policy,
    /// Whether the counting of multi-messages is learned from the headers.
    learns: bool,
    origin: Instant,
    state: Mutex<State>,
    /// Woken whenever a request stops being in flight or a probe ends.
    changed: Notify,
    requests_sent: AtomicU64,
    quota_claimed: AtomicU64,
    shared: Option<Arc<dyn SharedBudget>>,
}

#[derive(Debug)]
struct State {
    sent: VecDeque<SendRecord>,
    last: Option<Observation>,
    /// The reply with the lowest remaining count in the latest window, the
    /// reference a probe's remaining count is compared with.
    lowest: Option<Observation>,
    counting: Counting,
    next_seq: u64,
    /// Permits granted or being claimed whose reply has not been observed.
    in_flight: usize,
    probe_in_flight: bool,
    probes_waiting: usize,
}

impl Limiter {
    /// Creates a limiter that allows `requests_per_minute` in any sliding 60 s and
    /// waits for the next period when at most `reserve` requests are left.
    pub fn new(requests_per_minute: u32, reserve: u32) -> Self {
        Self {
            policy: Policy {
                requests_per_minute: requests_per_minute.max(1),
                reserve,
                window: WINDOW,
            },
            learns: true,
            origin: Instant::now(),
            state: Mutex::new(State {
                sent: VecDeque::new(),
                last: None,
                lowest: None,
                counting: Counting::Unknown,
                next_seq: 0,
                in_flight: 0,
                probe_in_flight: false,
                probes_waiting: 0,
            }),
            changed: Notify::new(),
            requests_sent: AtomicU64::new(0),
            quota_claimed: AtomicU64::new(0),
            shared: None,
        }
    }

    /// Counts `requests_per_minute` in a sliding window of this length
    /// instead of 60 s, so that tests need not run for minutes.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.policy.window = window.max(Duration::from_millis(1));
        self
    }

    /// Sets how a multi-message is costed: learned from the headers
    /// (the default) or fixed.
    pub fn with_multi_message_cost(mut self, setting: MultiMessageCost) -> Self {
        self.learns = setting == MultiMessageCost::Auto;
        self.lock().counting = Counting::from_setting(setting);
        self
    }

    /// Also claims slots from `budget` before every request, one per
    /// request of quota it may cost, so that every process using that
    /// budget keeps within `requests_per_minute` together. A slot stays
    /// taken for the window plus [`SEND_ALLOWANCE`].
    pub fn with_shared_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(budget);
        self
    }

    /// Requests sent through this limiter so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent.load(Ordering::Relaxed)
    }

    /// Requests of quota the sends so far were costed at: the slots claimed
    /// from the shared budget, when there is one.
    pub fn quota_claimed(&self) -> u64 {
        self.quota_claimed.load(Ordering::Relaxed)
    }

    /// Returns how multi-messages are costed now.
    pub fn multi_message_counting(&self) -> Counting {
        self.lock().counting
    }

    /// Returns the throttle headers of the most recent request that had a reply.
    pub fn last_headers(&self) -> Option<ThrottleHeaders> {
        self.lock().last.map(|last| last.headers)
    }

    /// Waits until a request carrying `messages` messages (1 unless it is a
    /// multi-message) may be sent and records it as sent. Fails without
    /// waiting, returning the wait needed, when that wait would take longer
    /// than `budget`, and fails when the shared budget cannot be read.
    /// Waits for requests in flight, which end within their timeout, do not
    /// count against `budget`.
    pub(crate) async fn acquire(
        &self,
        budget: Duration,
        messages: u32,
    ) -> Result<Permit<'_>, Refusal> {
        let mut waited = Duration::ZERO;
        let mut waiter = None;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let probe = self.sends_as_probe(messages);
            if !probe {
                // Dropped here rather than under the state lock, which its
                // `Drop` takes.
                waiter = None;
            }
            let (wait, source) = match self.check_locally(messages, probe, &mut waiter) {
                LocalCheck::Busy => {
                    let _ = tokio::time::timeout(BUSY_RECHECK, changed).await;
                    continue;
                }
                LocalCheck::Wait(wait) => (wait, "limiter"),
                LocalCheck::Ready(permit) if self.shared.is_none() => return Ok(permit),
                LocalCheck::Ready(permit) => match self.claim_shared(permit.cost).await? {
                    SlotClaim::Granted => return Ok(self.record_send(permit)),
                    SlotClaim::Full(wait) => (wait, "shared"),
                },
            };
            if waited + wait > budget {
                return Err(Refusal::TooLong(wait));
            }
            metrics::counter!("pobridge_brightpearl_throttle_waits_total", "source" => source)
                .increment(1);
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                source,
                "waiting for the Brightpearl rate limit"
            );
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// Applies this process's own checks. Without a shared budget, a request
    /// that passes is recorded as sent in the same lock, so concurrent
    /// callers cannot both take the last place. With one, the send is
    /// recorded only once the shared budget grants its slots.
    fn check_locally<'a>(
        &'a self,
        messages: u32,
        probe: bool,
        waiter: &mut Option<ProbeWaiter<'a>>,
    ) -> LocalCheck<'a> {
        let mut guard = self.lock();
        let now = self.now();
        guard.prune(now, self.policy.window);
        let state = &mut *guard;
        if state.probe_in_flight || (!probe && state.probes_waiting > 0) {
            return LocalCheck::Busy;
        }
        if probe && state.in_flight > 0 {
            if waiter.is_none() {
                state.probes_waiting += 1;
                *waiter = Some(ProbeWaiter { limiter: self });
            }
            return LocalCheck::Busy;
        }
        let cost = state.counting.cost(messages);
        let last = state.last;
        let sent = state.sent.make_contiguous();
        if let Decision::Wait(wait) = decide(self.policy, sent, last.as_ref(), None, now, cost) {
            return LocalCheck::Wait(wait);
        }
        state.in_flight += 1;
        state.probe_in_flight = probe;
        let seq = state.next_seq;
        state.next_seq += 1;
        let permit = Permit {
            limiter: self,
            sent_at: now,
            seq,
            messages,
            cost,
            probe,
        };
        if self.shared.is_none() {
            Self::push_send(state, &permit);
            self.count_send(cost);
        }
        LocalCheck::Ready(permit)
    }

    /// Returns whether a request of `messages` messages goes out as a probe,
    /// which is a multi-message sent while the counting is still unknown.
    fn sends_as_probe(&self, messages: u32) -> bool {
        self.learns && messages >= 2 && self.lock().counting != Counting::One
    }

    async fn claim_shared(&self, cost: u32) -> Result<SlotClaim, Refusal> {
        let Some(shared) = &self.shared else {
            return Ok(SlotClaim::Granted);
        };
        let held_for = self.policy.window + SEND_ALLOWANCE;
        let count = cost.clamp(1, self.policy.requests_per_minute);
        shared
            .claim(self.policy.requests_per_minute, held_for, count)
            .await
            .map_err(Refusal::SharedBudget)
    }

    fn record_send<'a>(&'a self, mut permit: Permit<'a>) -> Permit<'a> {
        let mut state = self.lock();
        permit.sent_at = self.now();
        Self::push_send(&mut state, &permit);
        self.count_send(permit.cost);
        permit
    }

    fn push_send(state: &mut State, permit: &Permit<'_>) {
        state.sent.push_back(SendRecord {
            at: permit.sent_at,
            cost: permit.cost,
            seq: permit.seq,
        });
    }

    fn count_send(&self, cost: u32) {
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
        self.quota_claimed
            .fetch_add(u64::from(cost), Ordering::Relaxed);
    }

    /// Records a reply's headers and returns whether it was a throttle that
    /// must be waited out and retried. A probe's reply also sets the
    /// counting of multi-messages when the headers show it.
    pub(crate) fn observe(&self, permit: &Permit<'_>, reply: ReplySignal) -> Decision {
        let mut state = self.lock();
        let now = self.now();
        let decision = decide(self.policy, &[], None, Some(&reply), now, permit.cost);
        let mut headers = reply.headers;
        if let Decision::RetryAfter(wait) = decision {
            // Every other caller must pause too, even when the throttled
            // reply carried no headers.
            headers = ThrottleHeaders {
                remaining: Some(0),
                next_period: Some(wait),
            };
        }
        let observation = Observation {
            headers,
            sent_at: permit.sent_at,
            received_at: now,
        };
        if decision == Decision::Accept {
            if permit.probe {
                state.learn_counting(permit, &observation);
            }
            state.track_lowest(observation);
        }
        let newer = state
            .last
            .is_none_or(|last| permit.sent_at >= last.sent_at || decision != Decision::Accept);
        if newer && (headers.remaining.is_some() || headers.next_period.is_some()) {
            state.last = Some(observation);
        }
        decision
    }

    fn now(&self) -> Duration {
        Instant::now().duration_since(self.origin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("policy", &self.policy)
            .field("requests_sent", &self.requests_sent())
            .field("quota_claimed", &self.quota_claimed())
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl State {
    fn prune(&mut self, now: Duration, window: Duration) {
        while self
            .sent
            .front()
            .is_some_and(|send| send.at + window <= now)
        {
            self.sent.pop_front();
        }
    }

    /// Keeps the reply with the lowest remaining count of the latest
    /// window. Within one window the count only falls, so that reply is
    /// the one the server handled last.
    fn track_lowest(&mut self, observation: Observation) {
        let Some(remaining) = observation.headers.remaining else {
            return;
        };
        let replace = match &self.lowest {
            None => true,
            Some(lowest) => {
                message_cost::later_window(lowest, &observation)
                    || (message_cost::same_window(lowest, &observation)
                        && lowest.headers.remaining.is_none_or(|low| remaining < low))
            }
        };
        if replace {
            self.lowest = Some(observation);
        }
    }

    fn learn_counting(&mut self, permit: &Permit<'_>, observation: &Observation) {
        let Some(before) = self.lowest else {
            return;
        };
        let Some(counting) = message_cost::learn(&before, observation, permit.messages) else {
            return;
        };
        if counting != self.counting {
            tracing::info!(
                messages = permit.messages,
                remaining_before = before.headers.remaining,
                remaining_after = observation.headers.remaining,
                counting = ?counting,
                "read how Brightpearl counts a multi-message from the throttle headers"
            );
        }
        self.counting = counting;
        if counting == Counting::One {
            // The probe was recorded at one per message.
            if let Some(send) = self.sent.iter_mut().find(|send| send.seq == permit.seq) {
                send.cost = 1;
            }
        }
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
