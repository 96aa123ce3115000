//! Holding off a client that keeps failing the order endpoint's credential
//! check, so that shared secrets cannot be guessed at the request rate.
//!
//! Failures are counted per client address in two ways. The count per
//! account and From credential lets one buyer whose secret is wrong not
//! hold off other buyers posting from the same Coupa address. The count per
//! account bounds trying many From credentials. A held-off request
//! is answered before its credentials are checked, so its answer tells
//! nothing about them. Its status is 503, which Coupa retries, so that a
//! real order sent while its buyer's address is held off (the secret was
//! wrong, then fixed) arrives later instead of being refused for good.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use pobridge_core::throttle::{client_key, Throttle};
use sha2::{Digest, Sha256};

/// Failed checks allowed per client address, account and From credential
/// in [`WINDOW_MINUTES`].
pub const FAILURES_PER_SENDER: usize = 10;
/// Failed checks allowed per client address and account in
/// [`WINDOW_MINUTES`], whatever the From credential.
pub const FAILURES_PER_CLIENT: usize = 50;
/// The sliding window the failures are counted in. Shorter than the hour
/// Coupa waits between retries of a 5xx.
pub const WINDOW_MINUTES: i64 = 15;

/// The keys one request is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialKeys {
    sender: String,
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
            client: digest(&[&client, account]),
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
    per_client: Throttle,
}

impl Default for CredentialThrottle {
    fn default() -> Self {
        Self::new(FAILURES_PER_SENDER, FAILURES_PER_CLIENT)
    }
}

impl CredentialThrottle {
    /// Allows these failures in [`WINDOW_MINUTES`].
    pub fn new(per_sender: usize, per_client: usize) -> Self {
        let window = Duration::minutes(WINDOW_MINUTES);
        Self {
            per_sender: Throttle::new(per_sender, window),
            per_client: Throttle::new(per_client, window),
        }
    }

    /// Returns how long a request under `keys` must wait, or `None` when
    /// its credentials may be checked now.
    pub fn blocked_for(&self, keys: &CredentialKeys, now: DateTime<Utc>) -> Option<Duration> {
        let sender = self.per_sender.blocked_for(&keys.sender, now);
        let client = self.per_client.blocked_for(&keys.client, now);
        sender.max(client)
    }

    /// Counts one failed check.
    pub fn record_failure(&self, keys: &CredentialKeys, now: DateTime<Utc>) {
        self.per_sender.record_failure(&keys.sender, now);
        self.per_client.record_failure(&keys.client, now);
    }

    /// Forgets the sender's failures after its credentials passed. The
    /// per-client count is kept, so that one good document does not reopen
    /// guessing at other buyers.
    pub fn clear_sender(&self, keys: &CredentialKeys) {
        self.per_sender.clear(&keys.sender);
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
        let throttle = CredentialThrottle::new(2, 5);
        let coupa = ip("198.51.100.20");
        let wrong = CredentialKeys::new(coupa, "acme", "NetworkID:MISCONFIGURED");
        let other = CredentialKeys::new(coupa, "acme", "NetworkID:FINE");

        throttle.record_failure(&wrong, minute(0));
        throttle.record_failure(&wrong, minute(1));

        assert_eq!(
            throttle.blocked_for(&wrong, minute(2)),
            Some(Duration::minutes(13))
        );
        assert_eq!(throttle.blocked_for(&other, minute(2)), None);
    }

    #[test]
    fn many_from_credentials_hit_the_client_limit() {
        let throttle = CredentialThrottle::new(2, 3);
        let guesser = ip("203.0.113.5");
        for (n, from) in ["A", "B", "C"].into_iter().enumerate() {
            let keys = CredentialKeys::new(guesser, "acme", from);
            throttle.record_failure(&keys, minute(n as i64));
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
    fn success_clears_only_the_sender() {
        let throttle = CredentialThrottle::new(1, 2);
        let client = ip("2001:db8::1");
        let first = CredentialKeys::new(client, "acme", "A");
        throttle.record_failure(&first, minute(0));
        assert!(throttle.blocked_for(&first, minute(1)).is_some());

        throttle.clear_sender(&first);
        assert_eq!(throttle.blocked_for(&first, minute(1)), None);
        let same_network = CredentialKeys::new(ip("2001:db8::2"), "acme", "B");
        throttle.record_failure(&same_network, minute(1));
        assert_eq!(
            throttle.blocked_for(&first, minute(2)),
            Some(Duration::minutes(13)),
            "the /64 network's two failures count against the account"
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
