//! Sending a failed GET again inside one call, for callers that opt in
//! with [`BrightpearlClient::with_read_retries`].
//!
//! Only reads are resent, and only after a transient failure: a 5xx without
//! an `errors` array, a timeout or a dropped connection. A GET changes
//! nothing in Brightpearl, so sending it twice is safe. Writes are never
//! resent, whatever their error. Each resend goes through the limiter and
//! the shared budget like any request. A call refused because the rate limit
//! outlasted `max_throttle_wait` is not resent.

use std::time::Duration;

use serde_json::Value;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::transport::Call;

/// How many times a read that failed transiently is sent again, and how
/// long the client waits before each resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRetries {
    /// Resends after the first attempt; 0 sends each read once.
    pub retries: u32,
    /// The wait before the first resend, doubled before each later one.
    pub first_delay: Duration,
}

impl ReadRetries {
    /// Sends each read once.
    pub const NONE: Self = Self {
        retries: 0,
        first_delay: Duration::ZERO,
    };

    /// Returns the wait before resend number `resend` (0 for the first).
    pub fn delay(&self, resend: u32) -> Duration {
        self.first_delay.saturating_mul(1 << resend.min(16))
    }
}

/// Returns true for an error after which the same read may succeed.
fn worth_resending(error: &BrightpearlError) -> bool {
    // A failed token refresh is left to the caller, because the refresh
    // is a POST to the token endpoint, not the read itself.
    error.kind() == &ErrorKind::Transient { throttled: false } && !error.refresh_failed()
}

impl BrightpearlClient {
    /// Returns a client for the same account, sharing its tokens and
    /// limiter, that resends a read after a transient failure up to
    /// `retries.retries` times.
    pub fn with_read_retries(&self, retries: ReadRetries) -> Self {
        Self {
            inner: self.inner.clone(),
            read_retries: retries,
        }
    }

    /// Sends `call`, resending a read after a transient failure as this
    /// client's [`ReadRetries`] allow.
    pub(crate) async fn send(&self, call: &Call) -> Result<Value, BrightpearlError> {
        let mut resend = 0;
        loop {
            let error = match self.inner.send(call).await {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            if !call.reads() || resend >= self.read_retries.retries || !worth_resending(&error) {
                return Err(error);
            }
            let delay = self.read_retries.delay(resend);
            resend += 1;
            tracing::warn!(
                request = %call.name(),
                resend,
                delay_ms = delay.as_millis() as u64,
                %error,
                "a Brightpearl read failed; sending it again"
            );
            metrics::counter!("pobridge_brightpearl_read_resends_total").increment(1);
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_from_the_first() {
        let retries = ReadRetries {
            retries: 4,
            first_delay: Duration::from_millis(250),
        };
        let delays: Vec<u128> = (0..4).map(|n| retries.delay(n).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000]);
    }

    #[test]
    fn none_sends_once() {
        assert_eq!(ReadRetries::NONE.retries, 0);
        assert_eq!(ReadRetries::NONE.delay(3), Duration::ZERO);
    }
}
