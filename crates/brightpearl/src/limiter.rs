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
//! within that number together: the limiter claims a send slot from the
//! budget after its own checks pass. It also waits for the next period whenever the headers report no more
//! than the reserve left. A 503 (or a 429) is waited out before the same
//! request is sent again.
//!
//! Every choice within the process is made by [`decide`], a pure function
//! of the recent send times, the last headers seen, the response (if any)
//! and the time now. [`Limiter`] only keeps that state, claims slots from
//! the shared budget and sleeps.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

use crate::shared_budget::{SharedBudget, SlotClaim, SEND_ALLOWANCE};

/// Brightpearl's throttle period, and the default length of the sliding
/// window that `requests_per_minute` counts in.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Wait after a 503 or 429 that carries no usable period.
const THROTTLED_FALLBACK: Duration = Duration::from_secs(60);
/// Shortest wait after a 503 or 429, so a period of `0` cannot turn the
/// retry into a tight loop.
const MIN_THROTTLED_WAIT: Duration = Duration::from_secs(1);

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

/// Decides what to do before a request (`reply` is `None`) or after one.
/// `sent` lists the send times of earlier requests in ascending order; all
/// times are offsets from one fixed origin.
pub(crate) fn decide(
    policy: Policy,
    sent: &[Duration],
    last: Option<&Observation>,
    reply: Option<&ReplySignal>,
    now: Duration,
) -> Decision {
    match reply {
        Some(reply) => judge_reply(reply),
        None => {
            let window_wait = sliding_window_wait(policy, sent, now);
            let header_wait =
                last.map_or(Duration::ZERO, |last| header_wait(policy, sent, last, now));
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

/// Time until fewer than `requests_per_minute` sends fall in the last
/// `policy.window`.
fn sliding_window_wait(policy: Policy, sent: &[Duration], now: Duration) -> Duration {
    let limit = policy.requests_per_minute.max(1) as usize;
    let recent: Vec<Duration> = sent
        .iter()
        .copied()
        .filter(|at| *at + policy.window > now)
        .collect();
    if recent.len() < limit {
        return Duration::ZERO;
    }
    // Once the send at this index leaves the window, `limit - 1` remain.
    let oldest_to_expire = recent[recent.len() - limit];
    (oldest_to_expire + policy.window).saturating_sub(now)
}

/// Time until the window the headers describe ends, when the requests left
/// in it (less those sent since) are at or below the reserve.
fn header_wait(policy: Policy, sent: &[Duration], last: &Observation, now: Duration) -> Duration {
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
    let sent_since = sent.iter().filter(|at| **at > last.sent_at).count();
    let left = u64::from(remaining).saturating_sub(sent_since as u64);
    if left <= u64::from(policy.reserve) {
        window_ends - now
    } else {
        Duration::ZERO
    }
}

/// A permission to send one request, granted by [`Limiter::acquire`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permit {
    pub sent_at: Duration,
}

/// Why [`Limiter::acquire`] gave no permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The wait needed is longer than the caller's budget allows.
    TooLong(Duration),
    /// The shared budget could not be read. The message contains the cause.
    SharedBudget(String),
}

/// The rate limiter of one Brightpearl account, shared by every caller in
/// the process that talks to that account.
pub struct Limiter {
    policy: Policy,
    origin: Instant,
    state: Mutex<State>,
    requests_sent: AtomicU64,
    shared: Option<Arc<dyn SharedBudget>>,
}

#[derive(Debug, Default)]
struct State {
    sent: VecDeque<Duration>,
    last: Option<Observation>,
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
            origin: Instant::now(),
            state: Mutex::new(State::default()),
            requests_sent: AtomicU64::new(0),
            shared: None,
        }
    }

    /// Counts `requests_per_minute` in a sliding window of this length
    /// instead of 60 s, so that tests need not run for minutes.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.policy.window = window.max(Duration::from_millis(1));
        self
    }

    /// Also claims a slot from `budget` before every request, so that every
    /// process using that budget keeps within `requests_per_minute`
    /// together. A slot stays taken for the window plus [`SEND_ALLOWANCE`].
    pub fn with_shared_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(budget);
        self
    }

    /// Requests sent through this limiter so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent.load(Ordering::Relaxed)
    }

    /// Returns the throttle headers of the most recent request that had a reply.
    pub fn last_headers(&self) -> Option<ThrottleHeaders> {
        self.lock().last.map(|last| last.headers)
    }

    /// Waits until a request may be sent and records it as sent. Fails
    /// without waiting, returning the wait needed, when that wait would
    /// take longer than `budget`, and fails when the shared budget cannot
    /// be read.
    pub(crate) async fn acquire(&self, budget: Duration) -> Result<Permit, Refusal> {
        let mut waited = Duration::ZERO;
        loop {
            let (wait, source) = match self.check_locally() {
                Err(wait) => (wait, "limiter"),
                Ok(permit) if self.shared.is_none() => return Ok(permit),
                Ok(_) => match self.claim_shared().await? {
                    SlotClaim::Granted => return Ok(self.record_send()),
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
    /// recorded only once the shared budget grants its slot.
    fn check_locally(&self) -> Result<Permit, Duration> {
        let mut guard = self.lock();
        let now = self.now();
        guard.prune(now, self.policy.window);
        let state = &mut *guard;
        let last = state.last;
        let sent = state.sent.make_contiguous();
        if let Decision::Wait(wait) = decide(self.policy, sent, last.as_ref(), None, now) {
            return Err(wait);
        }
        if self.shared.is_none() {
            state.sent.push_back(now);
            self.requests_sent.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Permit { sent_at: now })
    }

    async fn claim_shared(&self) -> Result<SlotClaim, Refusal> {
        let Some(shared) = &self.shared else {
            return Ok(SlotClaim::Granted);
        };
        let held_for = self.policy.window + SEND_ALLOWANCE;
        shared
            .claim(self.policy.requests_per_minute, held_for)
            .await
            .map_err(Refusal::SharedBudget)
    }

    fn record_send(&self) -> Permit {
        let mut state = self.lock();
        let now = self.now();
        state.sent.push_back(now);
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
        Permit { sent_at: now }
    }

    /// Records a reply's headers and returns whether it was a throttle that
    /// must be waited out and retried.
    pub(crate) fn observe(&self, permit: Permit, reply: ReplySignal) -> Decision {
        let mut state = self.lock();
        let now = self.now();
        let decision = decide(self.policy, &[], None, Some(&reply), now);
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
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl State {
    fn prune(&mut self, now: Duration, window: Duration) {
        while self.sent.front().is_some_and(|at| *at + window <= now) {
            self.sent.pop_front();
        }
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
