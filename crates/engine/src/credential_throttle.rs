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
//! A held-off request gets a 503 whether its credentials passed or not,
//! so its reply reveals nothing about them. The check and the count happen
//! under one lock with no wait between them, so parallel requests cannot
//! each find room under a limit. Coupa retries a 503, so a real order sent
//! while its buyer's address is held off (the secret was wrong, then fixed)
//! arrives later instead of being refused for good.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use pobridge_core::throttle::{client_key, Throttle};
use sha2::{Digest, Sha256};

/// Failed checks allowed per client address, account and claimed buyer
/// (or unknown From credential) in [`WINDOW_MINUTES`].
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
    /// names it, that claims to be `party`: the buyer its From credentials
    /// named, or its first From credential when they named none (see
    /// [`Party`]). The key text is a digest, so that long values sent by a
    /// client cost no more memory.
    pub fn new(ip: IpAddr, account: &str, party: &Party<'_>) -> Self {
        let client = client_key(ip);
        let party = match party {
            Party::Buyer(name) => format!("buyer {name}"),
            Party::Unknown(from) => format!("from {from}"),
        };
        Self {
            sender: digest(&[&client, account, &party]),
            account: digest(&[&client, account]),
            client: digest(&[&client]),
        }
    }
}

/// Whom a request claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party<'a> {
    /// The buyer, by name, that the request's From credentials named.
    Buyer(&'a str),
    /// No buyer: the request's first From credential as sent.
    Unknown(&'a str),
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
    /// Its lock is held for the whole of [`CredentialThrottle::admit`], so
    /// that requests checked at the same moment cannot each find room
    /// under a limit that only one of them fits.
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

    /// Decides whether the outcome of a request's credential check may be
    /// returned, and counts it. The request tried `attempts` values at
    /// once (one per From or Sender credential, since any of them may
    /// match). Its tries must fit under the limits with the failures
    /// already counted. If they do not, the request is held off whether it
    /// passed or not, and the wait is returned. A failure that is returned
    /// is counted. A pass clears the sender's failures and holds the sender to
    /// its own count from then on.
    pub fn admit(
        &self,
        keys: &CredentialKeys,
        passed: bool,
        attempts: usize,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let mut passed_senders = self.lock_passed();
        let sender = self
            .per_sender
            .blocked_for_attempts(&keys.sender, attempts, now);
        let exempt = passed_senders
            .get(&keys.sender)
            .is_some_and(|at| *at > now - Duration::days(PASSED_SENDER_DAYS));
        let wait = if exempt {
            sender
        } else {
            let account = self
                .per_account
                .blocked_for_attempts(&keys.account, attempts, now);
            let client = self
                .per_client
                .blocked_for_attempts(&keys.client, attempts, now);
            sender.max(account).max(client)
        };
        if let Some(wait) = wait {
            return Err(wait);
        }

        if passed {
            self.per_sender.clear(&keys.sender);
            remember_pass(&mut passed_senders, &keys.sender, now);
        } else {
            let attempts = attempts.max(1);
            self.per_sender.record_failures(&keys.sender, attempts, now);
            self.per_account
                .record_failures(&keys.account, attempts, now);
            self.per_client.record_failures(&keys.client, attempts, now);
        }
        Ok(())
    }

    fn lock_passed(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        // A thread that panicked while holding the lock leaves a usable map.
        self.passed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Records that `sender` passed at `now`, forgetting passes older than
/// [`PASSED_SENDER_DAYS`], then the oldest, when the map is full.
fn remember_pass(passed: &mut HashMap<String, DateTime<Utc>>, sender: &str, now: DateTime<Utc>) {
    if passed.len() >= PASSED_SENDERS_MAX && !passed.contains_key(sender) {
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
    passed.insert(sender.to_owned(), now);
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn minute(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap() + Duration::minutes(n)
    }

    fn keys(ip: &str, account: &str, buyer: &str) -> CredentialKeys {
        CredentialKeys::new(ip.parse().unwrap(), account, &Party::Buyer(buyer))
    }

    fn unknown(ip: &str, account: &str, from: &str) -> CredentialKeys {
        CredentialKeys::new(ip.parse().unwrap(), account, &Party::Unknown(from))
    }

    #[test]
    fn one_failing_buyer_does_not_hold_off_another() {
        let throttle = CredentialThrottle::new(2, 5, 10);
        let wrong = keys("198.51.100.20", "acme", "misconfigured");
        let other = keys("198.51.100.20", "acme", "fine");

        assert_eq!(throttle.admit(&wrong, false, 1, minute(0)), Ok(()));
        assert_eq!(throttle.admit(&wrong, false, 1, minute(1)), Ok(()));
        let third = throttle.admit(&wrong, false, 1, minute(2));
        let right_secret = throttle.admit(&wrong, true, 1, minute(2));

        assert_eq!(third, Err(Duration::minutes(13)));
        assert_eq!(
            right_secret,
            Err(Duration::minutes(13)),
            "held off even when it passed"
        );
        assert_eq!(throttle.admit(&other, true, 1, minute(2)), Ok(()));
    }

    #[test]
    fn many_from_credentials_hit_the_account_limit() {
        let throttle = CredentialThrottle::new(2, 3, 10);
        for (n, from) in ["A", "B", "C"].into_iter().enumerate() {
            let guess = unknown("203.0.113.5", "acme", from);
            assert_eq!(throttle.admit(&guess, false, 1, minute(n as i64)), Ok(()));
        }

        let fresh_from = throttle.admit(&unknown("203.0.113.5", "acme", "D"), false, 1, minute(3));
        let other_account =
            throttle.admit(&unknown("203.0.113.5", "globex", "D"), false, 1, minute(3));
        let other_client =
            throttle.admit(&unknown("203.0.113.6", "acme", "D"), false, 1, minute(3));

        assert_eq!(fresh_from, Err(Duration::minutes(12)));
        assert_eq!(other_account, Ok(()));
        assert_eq!(other_client, Ok(()));
    }

    #[test]
    fn many_order_urls_hit_the_client_limit() {
        let throttle = CredentialThrottle::new(2, 2, 4);
        for n in 0..4 {
            let guess = unknown("203.0.113.5", &format!("slug-{n}"), "A");
            assert_eq!(throttle.admit(&guess, false, 1, minute(n)), Ok(()));
        }

        let next_url = throttle.admit(&unknown("203.0.113.5", "slug-9", "A"), false, 1, minute(4));

        assert_eq!(next_url, Err(Duration::minutes(11)));
    }

    #[test]
    fn tries_of_one_document_must_fit_the_limit() {
        let throttle = CredentialThrottle::new(10, 50, 200);
        let guesser = keys("203.0.113.5", "acme", "globex");

        let nine = throttle.admit(&guesser, false, 9, minute(0));
        let two_more = throttle.admit(&guesser, false, 2, minute(0));
        let one_more = throttle.admit(&guesser, true, 1, minute(0));

        assert_eq!(nine, Ok(()));
        assert_eq!(two_more, Err(Duration::minutes(15)), "9 + 2 is over 10");
        assert_eq!(one_more, Ok(()), "9 + 1 fits");
    }

    #[test]
    fn passed_buyer_is_held_to_its_own_count() {
        let throttle = CredentialThrottle::new(2, 3, 10);
        let buyer = keys("198.51.100.20", "acme", "globex");
        let newcomer = keys("198.51.100.20", "acme", "initech");
        assert_eq!(throttle.admit(&buyer, true, 1, minute(0)), Ok(()));
        for from in ["X", "Y", "Z"] {
            let guess = unknown("198.51.100.20", "acme", from);
            assert_eq!(throttle.admit(&guess, false, 1, minute(1)), Ok(()));
        }

        assert_eq!(throttle.admit(&buyer, true, 1, minute(2)), Ok(()));
        assert!(throttle.admit(&newcomer, false, 1, minute(2)).is_err());
        let long_after = minute(0) + Duration::days(PASSED_SENDER_DAYS) + Duration::minutes(5);
        assert_eq!(throttle.admit(&newcomer, false, 3, long_after), Ok(()));
        assert!(
            throttle.admit(&buyer, true, 1, long_after).is_err(),
            "a pass is remembered for {PASSED_SENDER_DAYS} days"
        );
    }

    #[test]
    fn unknown_from_is_not_exempt_after_a_pass() {
        let throttle = CredentialThrottle::new(2, 2, 10);
        let buyer = keys("203.0.113.5", "acme", "globex");
        let made_up = unknown("203.0.113.5", "acme", "NetworkID:U0");
        assert_eq!(throttle.admit(&buyer, true, 1, minute(0)), Ok(()));

        assert_eq!(throttle.admit(&made_up, false, 1, minute(1)), Ok(()));
        assert_eq!(throttle.admit(&made_up, false, 1, minute(1)), Ok(()));

        assert!(throttle.admit(&made_up, false, 1, minute(2)).is_err());
    }

    #[test]
    fn ipv6_network_shares_a_count() {
        let throttle = CredentialThrottle::new(5, 2, 10);
        let first = keys("2001:db8::1", "acme", "A");
        let same_network = keys("2001:db8::2", "acme", "B");

        assert_eq!(throttle.admit(&first, false, 1, minute(0)), Ok(()));
        assert_eq!(throttle.admit(&same_network, false, 1, minute(1)), Ok(()));

        assert_eq!(
            throttle.admit(&same_network, false, 1, minute(2)),
            Err(Duration::minutes(13))
        );
    }

    #[test]
    fn key_parts_do_not_run_together() {
        assert_ne!(keys("192.0.2.1", "ab", "c"), keys("192.0.2.1", "a", "bc"));
        assert_ne!(keys("192.0.2.1", "a", "b"), unknown("192.0.2.1", "a", "b"));
    }
}
