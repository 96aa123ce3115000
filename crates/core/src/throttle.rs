//! Counting failed attempts per key in a sliding window, and finding the
//! client address such counts are kept under. The portal's login and the
//! order endpoint's credential checks both use them.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Keys one [`Throttle`] keeps at most. At this count it drops the keys
/// whose failures have all left the window, and when more than half are
/// still in it, the keys whose last failure is oldest, down to half. So
/// many senders cannot grow the memory without bound, and the cleanup runs
/// at most once per half of this many new keys.
const THROTTLE_MAX_KEYS: usize = 10_000;

/// Counts failures per key in a sliding window.
///
/// NOTE: the counts live in this process's memory. Several pobridge
/// processes behind one load balancer each allow the full limit, and a
/// restart clears the counts. Counting in the store would close both gaps.
#[derive(Debug)]
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Throttle {
    /// Allows `limit` failures per key within `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Returns how long `key` must wait before its next attempt, or `None`
    /// when it may try now.
    pub fn blocked_for(&self, key: &str, now: DateTime<Utc>) -> Option<Duration> {
        self.blocked_for_attempts(key, 1, now)
    }

    /// Returns how long `key` must wait before an attempt that tries
    /// `attempts` values at once, or `None` when it may try now: the
    /// attempt's failures must fit under the limit with those in the
    /// window.
    pub fn blocked_for_attempts(
        &self,
        key: &str,
        attempts: usize,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        let attempts = attempts.clamp(1, self.limit);
        let mut failures = self.lock();
        let recent = failures.get_mut(key)?;
        forget_before(recent, now - self.window);
        let excess = (recent.len() + attempts).checked_sub(self.limit)?;
        if excess == 0 {
            return None;
        }
        // The key may try again once enough of its oldest counted failures
        // leave the window.
        let freeing = recent[excess - 1];
        Some(freeing + self.window - now)
    }

    /// Counts one failure of `key` at `now`.
    pub fn record_failure(&self, key: &str, now: DateTime<Utc>) {
        self.record_failures(key, 1, now);
    }

    /// Counts `count` failures of `key` at `now`, as for one attempt that
    /// tried several values at once.
    pub fn record_failures(&self, key: &str, count: usize, now: DateTime<Utc>) {
        let mut failures = self.lock();
        if failures.len() >= THROTTLE_MAX_KEYS && !failures.contains_key(key) {
            let start = now - self.window;
            failures.retain(|_, times| {
                forget_before(times, start);
                !times.is_empty()
            });
            drop_oldest(&mut failures, THROTTLE_MAX_KEYS / 2);
        }
        let recent = failures.entry(key.to_owned()).or_default();
        forget_before(recent, now - self.window);
        // Only the newest `limit` failures decide when the key may try
        // again, so no more are kept.
        for _ in 0..count.min(self.limit) {
            recent.push_back(now);
        }
        while recent.len() > self.limit {
            recent.pop_front();
        }
    }

    /// Forgets the failures of `key`.
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<DateTime<Utc>>>> {
        // A thread that panicked while holding the lock leaves at worst one
        // half-updated count, which is still usable.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Keeps the `keep` keys whose last failure is newest.
fn drop_oldest(failures: &mut HashMap<String, VecDeque<DateTime<Utc>>>, keep: usize) {
    let mut last: Vec<DateTime<Utc>> = failures
        .values()
        .filter_map(|times| times.back().copied())
        .collect();
    if last.len() <= keep {
        return;
    }
    last.sort_unstable();
    let cutoff = last[last.len() - keep];
    failures.retain(|_, times| times.back().is_some_and(|time| *time > cutoff));
}

fn forget_before(times: &mut VecDeque<DateTime<Utc>>, start: DateTime<Utc>) {
    while times.front().is_some_and(|time| *time <= start) {
        times.pop_front();
    }
}

/// Marks that a reverse proxy in front of pobridge sets `X-Forwarded-For`,
/// so the client's IP address is the header's last entry. Add it as a
/// request extension only when every request comes through such a proxy,
/// because any client can send the header.
#[derive(Debug, Clone, Copy)]
pub struct TrustForwardedFor;

/// Returns the client's IP address: with `trust_forwarded_for`, the last
/// entry of the `X-Forwarded-For` lines `forwarded_for` when it parses,
/// else the connection's `peer` address when the server records it, else
/// unknown.
pub fn client_ip<'a>(
    peer: Option<IpAddr>,
    trust_forwarded_for: bool,
    forwarded_for: impl Iterator<Item = &'a str>,
) -> Option<IpAddr> {
    if !trust_forwarded_for {
        return peer;
    }
    let forwarded = forwarded_for
        .flat_map(|value| value.split(','))
        .last()
        .and_then(|entry| entry.trim().parse::<IpAddr>().ok());
    forwarded.or(peer)
}

/// Returns the part of `ip` that names one client: an IPv4 address whole,
/// an IPv6 address by its /64 network, since one host is commonly given a
/// whole /64 and can pick any address in it.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = v6.segments();
                format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn minute(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + Duration::minutes(n)
    }

    #[test]
    fn throttle_blocks_after_limit_until_window_passes() {
        let throttle = Throttle::new(3, Duration::minutes(15));
        for n in 0..3 {
            assert_eq!(throttle.blocked_for("a", minute(n)), None, "failure {n}");
            throttle.record_failure("a", minute(n));
        }

        let wait = throttle.blocked_for("a", minute(3));
        let other_key = throttle.blocked_for("b", minute(3));
        let after_oldest = throttle.blocked_for("a", minute(15));

        assert_eq!(wait, Some(Duration::minutes(12)));
        assert_eq!(other_key, None);
        assert_eq!(after_oldest, None, "the first failure left the window");
        throttle.record_failure("a", minute(15));
        assert_eq!(
            throttle.blocked_for("a", minute(15)),
            Some(Duration::minutes(1)),
            "the second failure is now the oldest of three"
        );
        throttle.clear("a");
        assert_eq!(throttle.blocked_for("a", minute(15)), None);
    }

    #[test]
    fn one_attempt_may_count_several_failures() {
        let throttle = Throttle::new(5, Duration::minutes(15));

        throttle.record_failures("a", 4, minute(0));
        let after_four = throttle.blocked_for("a", minute(1));
        throttle.record_failures("a", 100, minute(1));
        let after_many = throttle.blocked_for("a", minute(2));

        assert_eq!(after_four, None);
        assert_eq!(after_many, Some(Duration::minutes(14)));
    }

    #[test]
    fn key_count_is_bounded() {
        let throttle = Throttle::new(3, Duration::minutes(15));
        for n in 0..THROTTLE_MAX_KEYS + 10 {
            let at = minute(0) + Duration::milliseconds(n as i64);
            throttle.record_failure(&format!("key-{n}"), at);
        }

        let kept = throttle.lock().len();
        let newest = format!("key-{}", THROTTLE_MAX_KEYS + 9);

        assert!(kept <= THROTTLE_MAX_KEYS, "{kept} keys kept");
        assert!(throttle.lock().contains_key(&newest));
        assert!(
            !throttle.lock().contains_key("key-0"),
            "the oldest key was dropped"
        );
    }

    #[test]
    fn forwarded_for_counts_only_when_trusted() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let lines = ["203.0.113.9, 198.51.100.4", "192.0.2.7"];

        let untrusted = client_ip(Some(peer), false, lines.into_iter());
        let trusted = client_ip(Some(peer), true, lines.into_iter());
        let garbled = client_ip(Some(peer), true, ["not an address"].into_iter());
        let absent = client_ip(None, true, std::iter::empty());

        assert_eq!(untrusted, Some(peer));
        assert_eq!(
            trusted,
            Some("192.0.2.7".parse().unwrap()),
            "the last entry"
        );
        assert_eq!(garbled, Some(peer));
        assert_eq!(absent, None);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_network() {
        let key = |text: &str| client_key(text.parse().unwrap());

        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), key("2001:db8:1:2:aaaa::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
