//! The per-account request quota and the throttle headers it produces.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::WindowModel;

/// What the throttle headers report after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuotaState {
    /// `brightpearl-requests-remaining`.
    pub remaining: u32,
    /// `brightpearl-next-throttle-period`, in milliseconds.
    pub next_period_ms: u64,
}

/// One account pool's quota.
#[derive(Debug)]
pub(crate) struct Quota {
    model: WindowModel,
    limit: u32,
    window_ms: i64,
    /// Calendar model: the window index and the requests counted in it.
    calendar: (i64, u32),
    /// Rolling model: the times of counted requests inside the window.
    rolling: VecDeque<DateTime<Utc>>,
}

impl Quota {
    pub fn new(model: WindowModel, limit: u32, window: Duration) -> Self {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        Self {
            model,
            limit,
            window_ms,
            calendar: (i64::MIN, 0),
            rolling: VecDeque::new(),
        }
    }

    /// Counts `cost` requests at `now`. Returns the state after counting, or
    /// `Err` with the state to report on the 503 when too few remain.
    pub fn take(&mut self, now: DateTime<Utc>, cost: u32) -> Result<QuotaState, QuotaState> {
        self.expire(now);
        let used = self.used();
        if used.saturating_add(cost) > self.limit {
            return Err(QuotaState {
                remaining: self.limit.saturating_sub(used),
                next_period_ms: self.next_period_ms(now),
            });
        }
        self.count(now, cost);
        Ok(self.state(now))
    }

    /// Counts `n` requests as if other apps sharing the pool had sent them,
    /// without ever failing.
    pub fn preconsume(&mut self, now: DateTime<Utc>, n: u32) {
        self.expire(now);
        let room = self.limit.saturating_sub(self.used());
        self.count(now, n.min(room));
    }

    /// The state as it stands, for replies that count nothing.
    pub fn state(&mut self, now: DateTime<Utc>) -> QuotaState {
        self.expire(now);
        QuotaState {
            remaining: self.limit.saturating_sub(self.used()),
            next_period_ms: self.next_period_ms(now),
        }
    }

    fn count(&mut self, now: DateTime<Utc>, n: u32) {
        match self.model {
            WindowModel::CalendarMinute => self.calendar.1 += n,
            WindowModel::Rolling => self.rolling.extend(std::iter::repeat_n(now, n as usize)),
        }
    }

    fn used(&self) -> u32 {
        match self.model {
            WindowModel::CalendarMinute => self.calendar.1,
            WindowModel::Rolling => u32::try_from(self.rolling.len()).unwrap_or(u32::MAX),
        }
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        match self.model {
            WindowModel::CalendarMinute => {
                let index = now.timestamp_millis().div_euclid(self.window_ms);
                if index != self.calendar.0 {
                    self.calendar = (index, 0);
                }
            }
            WindowModel::Rolling => {
                let horizon = now - chrono::Duration::milliseconds(self.window_ms);
                while self.rolling.front().is_some_and(|at| *at <= horizon) {
                    self.rolling.pop_front();
                }
            }
        }
    }

    fn next_period_ms(&self, now: DateTime<Utc>) -> u64 {
        let ms = match self.model {
            WindowModel::CalendarMinute => {
                self.window_ms - now.timestamp_millis().rem_euclid(self.window_ms)
            }
            // The time until the oldest counted request leaves the window,
            // which is when the next request of quota frees up.
            WindowModel::Rolling => match self.rolling.front() {
                Some(oldest) => (*oldest - now).num_milliseconds() + self.window_ms,
                None => self.window_ms,
            },
        };
        u64::try_from(ms.max(0)).unwrap_or(0)
    }
}

/// The largest number of `times` inside any window of length `window`
/// (both ends inclusive of the first request, exclusive of `first + window`).
pub(crate) fn max_in_any_window(times: &[DateTime<Utc>], window: Duration) -> u32 {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    u32::try_from(best).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64, millis: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_040 + seconds, millis * 1_000_000)
            .unwrap()
    }

    #[test]
    fn calendar_window_counts_down_and_resets_on_boundary() {
        let mut quota = Quota::new(WindowModel::CalendarMinute, 3, Duration::from_secs(60));
        // 1_700_000_040 is a whole minute.
        assert_eq!(
            quota.take(at(10, 0), 1).unwrap(),
            QuotaState {
                remaining: 2,
                next_period_ms: 50_000
            }
        );
        assert_eq!(quota.take(at(11, 0), 1).unwrap().remaining, 1);
        assert_eq!(quota.take(at(12, 0), 1).unwrap().remaining, 0);
        let refused = quota.take(at(59, 500), 1).unwrap_err();
        assert_eq!(
            refused,
            QuotaState {
                remaining: 0,
                next_period_ms: 500
            }
        );
        assert_eq!(quota.take(at(60, 0), 1).unwrap().remaining, 2);
    }

    #[test]
    fn rolling_window_frees_slots_one_by_one() {
        let mut quota = Quota::new(WindowModel::Rolling, 2, Duration::from_secs(10));
        quota.take(at(0, 0), 1).unwrap();
        quota.take(at(5, 0), 1).unwrap();
        let refused = quota.take(at(9, 0), 1).unwrap_err();
        assert_eq!(refused.next_period_ms, 1_000);
        assert_eq!(quota.take(at(10, 0), 1).unwrap().remaining, 0);
    }

    #[test]
    fn preconsumed_quota_lowers_remaining() {
        let mut quota = Quota::new(WindowModel::CalendarMinute, 200, Duration::from_secs(60));
        quota.preconsume(at(1, 0), 134);
        assert_eq!(quota.take(at(2, 0), 1).unwrap().remaining, 65);
    }

    #[test]
    fn max_in_any_window_slides() {
        let times = [at(0, 0), at(1, 0), at(2, 0), at(11, 0), at(12, 0)];
        assert_eq!(max_in_any_window(&times, Duration::from_secs(10)), 3);
        assert_eq!(max_in_any_window(&times, Duration::from_secs(12)), 4);
    }
}
