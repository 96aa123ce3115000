//! Holding off a client that keeps failing the order endpoint's credential
//! check, so that shared secrets cannot be guessed at the request rate.
//!
//! Failures are counted per client address in three ways. The count per
//! account and From credential lets one buyer whose secret is wrong not
//! hold off other buyers posting from the same Coupa address. The counts
//! per account and over all accounts bound trying many From credentials
//! and many order URLs. A sender whose credentials passed from the client
//! address in the last [`PASSED_SENDER_DAYS`] days is held to its own count
//! only, so that others failing from a shared Coupa address, or from a
//! proxy's address, do not hold it off.
//!
//! A held-off request is answered before its credentials are checked, so
//! its answer tells nothing about them. Its status is 503, which Coupa
//! retries, so that a real order sent while its buyer's address is held
//! off (the secret was wrong, then fixed) arrives later instead of being
//! refused for good.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use pobridge_core::throttle::{client_key, Throttle};
use sha2::{Digest, Sha256};

/// Failed checks allowed per client address, account and From credential
/// in [`WINDOW_MINUTES`].
pub const FAILURES_PER_SENDER: usize = 10;
/// Failed checks allowed per client address and account in
/// [`WINDOW_MINUTES`], whatever the From credential.
pub const FAILURES_PER_ACCOUNT: usize = 50;
/// Failed checks allowed per client address in [`WINDOW_MINUTES`], over
/// all order URLs.
pub const FAILURES_PER_CLIENT: usize = 200;
/// The sliding window the failures are counted in. Shorter than the hour
/// Coupa waits between retries of a 5xx.
pub const WINDOW_MINUTES: i64 = 15;
/// How long a sender whose credentials passed is held to its own count.
pub const PASSED_SENDER_DAYS: i64 = 30;
/// Senders that passed, kept at most; at this count those that passed
/// longest ago are forgotten first.
const PASSED_SENDERS_MAX: usize = 10_000;

/// The keys one request is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialKeys {
    sender: String,
    account: String,
    client: String,
}

impl CredentialKeys {
    /// Keys a request from `ip` to the order URL of `account`, as the URL
    /// names it, whose first From credential is `from`. The key text is a
    /// digest, so that long values sent by a client cost no more memory.
    pub fn new(ip: IpAddr, account: &str, from: &str) -> Self {
        let client = client_key(ip);
        Self {
            sender: digest(&[&client, account, from]),
            account: digest(&[&client, account]),
            client: digest(&[&client]),
        }
    }
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // The length first, so that the parts' boundaries are part of the key.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// Failed credential checks at the order endpoint, counted in this
/// process's memory (see [`Throttle`] for what that leaves open).
#[derive(Debug)]
pub struct CredentialThrottle {
    per_sender: Throttle,
    per_account: Throttle,
    per_client: Throttle,
    /// Sender keys whose credentials passed, with the time they last did.
    passed: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Default for CredentialThrottle {
    fn default() -> Self {
        Self::new(
            FAILURES_PER_SENDER,
            FAILURES_PER_ACCOUNT,
            FAILURES_PER_CLIENT,
        )
    }
}

impl CredentialThrottle {
    /// Allows these failures in [`WINDOW_MINUTES`].
    pub fn new(per_sender: usize, per_account: usize, per_client: usize) -> Self {
        let window = Duration::minutes(WINDOW_MINUTES);
        Self {
            per_sender: Throttle::new(per_sender, window),
            per_account: Throttle::new(per_account, window),
            per_client: Throttle::new(per_client, window),
            passed: Mutex::new(HashMap::new()),
        }
    }

    /// Returns how long a request under `keys` must wait, or `None` when
    /// its credentials may be checked now.
    pub fn blocked_for(&self, keys: &CredentialKeys, now: DateTime<Utc>) -> Option<Duration> {
        let sender = self.per_sender.blocked_for(&keys.sender, now);
        if self.passed_recently(keys, now) {
            return sender;
        }
        let account = self.per_account.blocked_for(&keys.account, now);
        let client = self.per_client.blocked_for(&keys.client, now);
        sender.max(account).max(client)
    }

    /// Counts one failed check of a request that tried `attempts` values
    /// at once: a document with several From or Sender credentials counts
    /// once for each, so that it cannot try many secrets for the price of
    /// one.
    pub fn record_failure(&self, keys: &CredentialKeys, attempts: usize, now: DateTime<Utc>) {
        let attempts = attempts.max(1);
        self.per_sender.record_failures(&keys.sender, attempts, now);
        self.per_account
            .record_failures(&keys.account, attempts, now);
        self.per_client.record_failures(&keys.client, attempts, now);
    }

    /// Forgets the sender's failures after its credentials passed, and
    /// holds it to its own count from now on. The other counts are kept,
    /// so that one good document does not reopen guessing at other buyers.
    pub fn record_success(&self, keys: &CredentialKeys, now: DateTime<Utc>) {
        self.per_sender.clear(&keys.sender);
        let mut passed = self.lock_passed();
        if passed.len() >= PASSED_SENDERS_MAX && !passed.contains_key(&keys.sender) {
            let start = now - Duration::days(PASSED_SENDER_DAYS);
            passed.retain(|_, at| *at > start);
            if passed.len() >= PASSED_SENDERS_MAX {
                let oldest = passed
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    passed.remove(&oldest);
                }
            }
        }
        passed.insert(keys.sender.clone(), now);
    }

    fn passed_recently(&self, keys: &CredentialKeys, now: DateTime<Utc>) -> bool {
        let passed = self.lock_passed();
        passed
            .get(&keys.sender)
            .is_some_and(|at| *at > now - Duration::days(PASSED_SENDER_DAYS))
    }

    fn lock_passed(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        // A thread that panicked while holding the lock leaves a usable map.
        self.passed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn minute(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + Duration::minutes(n)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_failing_buyer_does_not_hold_off_another() {
        let throttle = CredentialThrottle::new(2, 5, 10);
        let coupa = ip("198.51.100.20");
        let wrong = CredentialKeys::new(coupa, "acme", "NetworkID:MISCONFIGURED");
        let other = CredentialKeys::new(coupa, "acme", "NetworkID:FINE");

        throttle.record_failure(&wrong, 1, minute(0));
        throttle.record_failure(&wrong, 1, minute(1));

        assert_eq!(
            throttle.blocked_for(&wrong, minute(2)),
            Some(Duration::minutes(13))
        );
        assert_eq!(throttle.blocked_for(&other, minute(2)), None);
    }

    #[test]
    fn many_from_credentials_hit_the_account_limit() {
        let throttle = CredentialThrottle::new(2, 3, 10);
        let guesser = ip("203.0.113.5");
        for (n, from) in ["A", "B", "C"].into_iter().enumerate() {
            let keys = CredentialKeys::new(guesser, "acme", from);
            throttle.record_failure(&keys, 1, minute(n as i64));
        }

        let fresh_from = CredentialKeys::new(guesser, "acme", "D");
        let other_account = CredentialKeys::new(guesser, "globex", "D");
        let other_client = CredentialKeys::new(ip("203.0.113.6"), "acme", "D");

        assert_eq!(
            throttle.blocked_for(&fresh_from, minute(3)),
            Some(Duration::minutes(12))
        );
        assert_eq!(throttle.blocked_for(&other_account, minute(3)), None);
        assert_eq!(throttle.blocked_for(&other_client, minute(3)), None);
    }

    #[test]
    fn many_order_urls_hit_the_client_limit() {
        let throttle = CredentialThrottle::new(2, 2, 4);
        let guesser = ip("203.0.113.5");
        for n in 0..4 {
            let keys = CredentialKeys::new(guesser, &format!("slug-{n}"), "A");
            throttle.record_failure(&keys, 1, minute(n));
        }

        let next_url = CredentialKeys::new(guesser, "slug-9", "A");

        assert_eq!(
            throttle.blocked_for(&next_url, minute(4)),
            Some(Duration::minutes(11))
        );
    }

    #[test]
    fn document_with_many_credentials_counts_each() {
        let throttle = CredentialThrottle::new(10, 50, 200);
        let keys = CredentialKeys::new(ip("203.0.113.5"), "acme", "A");

        throttle.record_failure(&keys, 9, minute(0));
        let after_nine = throttle.blocked_for(&keys, minute(0));
        throttle.record_failure(&keys, 0, minute(0));
        let after_ten = throttle.blocked_for(&keys, minute(0));

        assert_eq!(after_nine, None);
        assert_eq!(after_ten, Some(Duration::minutes(15)), "0 counts as 1");
    }

    #[test]
    fn passed_sender_is_held_to_its_own_count() {
        let throttle = CredentialThrottle::new(2, 3, 10);
        let shared = ip("198.51.100.20");
        let buyer = CredentialKeys::new(shared, "acme", "NetworkID:BUYER");
        let newcomer = CredentialKeys::new(shared, "acme", "NetworkID:NEW");
        throttle.record_success(&buyer, minute(0));
        for from in ["X", "Y", "Z"] {
            let keys = CredentialKeys::new(shared, "acme", from);
            throttle.record_failure(&keys, 1, minute(1));
        }

        assert_eq!(throttle.blocked_for(&buyer, minute(2)), None);
        assert!(throttle.blocked_for(&newcomer, minute(2)).is_some());
        let long_after = minute(0) + Duration::days(PASSED_SENDER_DAYS) + Duration::minutes(1);
        throttle.record_failure(&newcomer, 3, long_after);
        assert!(
            throttle.blocked_for(&buyer, long_after).is_some(),
            "a pass is remembered for {PASSED_SENDER_DAYS} days"
        );
    }

    #[test]
    fn success_clears_only_the_sender() {
        let throttle = CredentialThrottle::new(1, 2, 10);
        let first = CredentialKeys::new(ip("2001:db8::1"), "acme", "A");
        throttle.record_failure(&first, 1, minute(0));
        assert!(throttle.blocked_for(&first, minute(1)).is_some());

        throttle.record_success(&first, minute(1));
        let same_network = CredentialKeys::new(ip("2001:db8::2"), "acme", "B");
        throttle.record_failure(&same_network, 1, minute(1));

        assert_eq!(throttle.blocked_for(&first, minute(2)), None);
        assert_eq!(
            throttle.blocked_for(&same_network, minute(2)),
            Some(Duration::minutes(14)),
            "the longer of its own wait and the /64 network's account wait"
        );
    }

    #[test]
    fn key_parts_do_not_run_together() {
        let client = ip("192.0.2.1");
        assert_ne!(
            CredentialKeys::new(client, "ab", "c"),
            CredentialKeys::new(client, "a", "bc")
        );
    }
}
