//! The rule for how finishing a claimed job changes it, shared by every
//! store implementation.

use chrono::{DateTime, Utc};

use crate::{JobOutcome, JobStatus};

/// The column values that finishing a job writes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Finish<'a> {
    pub(crate) status: JobStatus,
    /// `None` keeps the current run_at.
    pub(crate) run_at: Option<DateTime<Utc>>,
    /// `None` keeps the current error.
    pub(crate) last_error: Option<&'a str>,
    pub(crate) counts_attempt: bool,
    pub(crate) first_failure: FirstFailure,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FirstFailure {
    Keep,
    Clear,
    /// Set to the finish time unless already set.
    SetIfUnset,
}

/// Decides the job's new state from the outcome and, when the job was
/// enqueued again during the run, the earliest requested time.
pub(crate) fn plan_finish(outcome: &JobOutcome, rerun_at: Option<DateTime<Utc>>) -> Finish<'_> {
    let mut finish = match outcome {
        JobOutcome::Done => Finish {
            status: JobStatus::Done,
            run_at: None,
            last_error: None,
            counts_attempt: false,
            first_failure: FirstFailure::Clear,
        },
        JobOutcome::Retry {
            run_at,
            error,
            counts,
        } => Finish {
            status: JobStatus::Queued,
            run_at: Some(*run_at),
            last_error: Some(error),
            counts_attempt: *counts,
            first_failure: FirstFailure::SetIfUnset,
        },
        JobOutcome::Wait { reason } => Finish {
            status: JobStatus::Waiting,
            run_at: None,
            last_error: Some(reason),
            counts_attempt: false,
            first_failure: FirstFailure::Keep,
        },
        JobOutcome::Failed { error } => Finish {
            status: JobStatus::Failed,
            run_at: None,
            last_error: Some(error),
            counts_attempt: false,
            first_failure: FirstFailure::Keep,
        },
    };
    if let Some(rerun_at) = rerun_at {
        finish.status = JobStatus::Queued;
        finish.run_at = Some(
            finish
                .run_at
                .map_or(rerun_at, |run_at| run_at.min(rerun_at)),
        );
    }
    finish
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 9, minute, 0).unwrap()
    }

    #[test]
    fn finish_without_rerun_follows_the_outcome() {
        let retry = JobOutcome::Retry {
            run_at: at(5),
            error: "timed out".into(),
            counts: true,
        };
        let finish = plan_finish(&retry, None);
        assert_eq!(finish.status, JobStatus::Queued);
        assert_eq!(finish.run_at, Some(at(5)));
        assert!(finish.counts_attempt);
        assert_eq!(finish.first_failure, FirstFailure::SetIfUnset);

        let done = plan_finish(&JobOutcome::Done, None);
        assert_eq!(done.status, JobStatus::Done);
        assert_eq!(done.first_failure, FirstFailure::Clear);
    }

    #[test]
    fn finish_with_rerun_queues_the_job_again() {
        let cases = [
            (JobOutcome::Done, at(3)),
            (
                JobOutcome::Wait {
                    reason: "unmapped".into(),
                },
                at(3),
            ),
            (
                JobOutcome::Failed {
                    error: "rejected".into(),
                },
                at(3),
            ),
            (
                JobOutcome::Retry {
                    run_at: at(1),
                    error: "throttled".into(),
                    counts: false,
                },
                at(1),
            ),
            (
                JobOutcome::Retry {
                    run_at: at(9),
                    error: "throttled".into(),
                    counts: false,
                },
                at(3),
            ),
        ];
        for (outcome, expected_run_at) in cases {
            let finish = plan_finish(&outcome, Some(at(3)));
            assert_eq!(finish.status, JobStatus::Queued, "{outcome:?}");
            assert_eq!(finish.run_at, Some(expected_run_at), "{outcome:?}");
        }
    }
}
