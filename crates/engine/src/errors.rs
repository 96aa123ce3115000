//! How a failed sync attempt is classified and when it runs again.
//!
//! There are three classes. A transient failure (throttling, 5xx, timeouts)
//! is retried with capped exponential backoff until the account's retry
//! window ends. A failure waiting on a person (authorization lost, awaiting
//! mapping or customer) parks the job until it is released. A permanent
//! failure (a Brightpearl validation error, even when sent as HTTP 500 with
//! an errors array) fails the job at once.

use chrono::{DateTime, Duration, Utc};
use pobridge_brightpearl::{BrightpearlError, ErrorKind};
use pobridge_store::{Job, JobOutcome};

/// The class of a Brightpearl failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureClass {
    /// Retry later; `counts` is false while throttled, which must not use up attempts.
    Transient { counts: bool },
    /// The outcome of a write is unknown: retry, searching before writing again.
    Ambiguous,
    /// Authorization is lost: pause the account until someone reconnects.
    Reauthorize,
    /// Retrying cannot help.
    Permanent,
}

pub fn classify(error: &BrightpearlError) -> FailureClass {
    match error.kind() {
        ErrorKind::Transient { throttled } => FailureClass::Transient { counts: !throttled },
        ErrorKind::Ambiguous => FailureClass::Ambiguous,
        ErrorKind::Unauthorized => FailureClass::Reauthorize,
        ErrorKind::Validation { .. } | ErrorKind::NotFound | ErrorKind::Other => {
            FailureClass::Permanent
        }
    }
}

/// Delay before the next attempt after `attempts` counted failures: one
/// minute doubling up to one hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 6) as u32;
    Duration::minutes((1_i64 << exponent).min(60))
}

/// The job outcome for a transient or ambiguous failure: retried until
/// `retry_hours` have passed since the first failure of this run, then failed.
pub fn retry_or_fail(
    job: &Job,
    now: DateTime<Utc>,
    retry_hours: u32,
    counts: bool,
    error: String,
) -> JobOutcome {
    let first_failure = job.first_failure_at.unwrap_or(now);
    if now - first_failure >= Duration::hours(i64::from(retry_hours)) {
        return JobOutcome::Failed {
            error: format!("{error} (gave up after retrying for {retry_hours} hours)"),
        };
    }
    let delay = if counts {
        backoff(job.attempts)
    } else {
        Duration::seconds(60)
    };
    JobOutcome::Retry {
        run_at: now + delay,
        error,
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_one_hour() {
        let table = [
            (0, 1),
            (1, 2),
            (2, 4),
            (3, 8),
            (4, 16),
            (5, 32),
            (6, 60),
            (7, 60),
            (100, 60),
            (-3, 1),
        ];
        for (attempts, minutes) in table {
            assert_eq!(
                backoff(attempts),
                Duration::minutes(minutes),
                "attempts = {attempts}"
            );
        }
    }
}
