//! An open-loop load of corpus OrderRequests against an order URL.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::corpus::with_identity;

/// The maximum number of requests one run keeps open at once. Each open
/// request uses a socket here and one in the server, so a server that falls
/// many seconds behind would otherwise exhaust either process's open-files
/// limit.
pub const MAX_OUTSTANDING: usize = 4_000;

/// What an open-loop run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// One latency per document sent, measured from its scheduled start.
    pub latencies: Vec<Duration>,
    /// Documents that got no HTTP 200, including those not sent.
    pub failures: usize,
    /// Documents not sent at their time because [`MAX_OUTSTANDING`]
    /// requests were still open. They have no latency.
    pub not_sent: usize,
    /// The first failure: its HTTP status or the error.
    pub first_failure: Option<String>,
}

impl LoadResult {
    /// Returns the `fraction` percentile (0.5 for p50) of the latencies, by
    /// the nearest-rank method.
    pub fn percentile(&self, fraction: f64) -> Duration {
        percentile(&self.latencies, fraction)
    }

    pub fn max(&self) -> Duration {
        self.latencies.iter().copied().max().unwrap_or_default()
    }
}

/// Returns the `fraction` percentile of `values` by the nearest-rank method,
/// or zero when there are none.
pub fn percentile(values: &[Duration], fraction: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() as f64 * fraction).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

/// Sends `rate` documents a second for `duration` to `url`, the `documents`
/// in rotation, each with a fresh payloadID and orderID that start with
/// `prefix`.
///
/// The load is open: each document is sent at its scheduled time whatever
/// the earlier answers' latency, and its latency counts from that time, so
/// a slow server cannot hide its queueing by slowing the sender down. A
/// document due while [`MAX_OUTSTANDING`] requests are open is not sent and
/// counts as a failure.
pub async fn open_loop(
    http: &reqwest::Client,
    url: &str,
    documents: &[Vec<u8>],
    rate: u64,
    duration: Duration,
    prefix: &str,
) -> LoadResult {
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let open = Arc::new(Semaphore::new(MAX_OUTSTANDING));
    let mut not_sent = 0;
    for index in 0..total {
        let scheduled = start + interval.mul_f64(index as f64);
        let body = with_identity(
            &documents[index as usize % documents.len()],
            &format!("{prefix}-{index}@pobridge.bench"),
            &format!("{}-{index}", prefix.to_uppercase()),
        );
        let request = http
            .post(url)
            .header("content-type", "text/xml; charset=UTF-8")
            .body(body);
        tokio::time::sleep_until(scheduled).await;
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            not_sent += 1;
            continue;
        };
        tasks.spawn(async move {
            let _open = permit;
            let failure = match request.send().await {
                Ok(response) if response.status().as_u16() == 200 => None,
                Ok(response) => Some(format!("HTTP {}", response.status())),
                Err(error) => Some(error.to_string()),
            };
            (scheduled.elapsed(), failure)
        });
    }

    let mut result = LoadResult {
        latencies: Vec::with_capacity(total as usize),
        failures: not_sent,
        not_sent,
        first_failure: (not_sent > 0)
            .then(|| format!("{not_sent} not sent because {MAX_OUTSTANDING} requests were open")),
    };
    while let Some(joined) = tasks.join_next().await {
        let (latency, failure) = match joined {
            Ok(outcome) => outcome,
            Err(error) => (Duration::ZERO, Some(format!("sender task failed: {error}"))),
        };
        result.latencies.push(latency);
        if let Some(failure) = failure {
            result.failures += 1;
            result.first_failure.get_or_insert(failure);
        }
    }
    result
}
