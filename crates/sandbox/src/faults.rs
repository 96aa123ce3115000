//! Faults a test can inject into an account's next replies.

use std::time::Duration;

/// Faults to inject, each counting down as requests consume it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The next n API requests get a 500 with an empty body and do nothing.
    pub fail_next_n_with_500: u32,
    /// The next n POSTs are carried out, then their connection is closed
    /// without any HTTP response, so the client cannot know the outcome.
    pub drop_connection_after_commit_next_n_posts: u32,
    /// The next n API requests are carried out, then answered after
    /// `slow_by`.
    pub slow_next_n: u32,
    pub slow_by: Duration,
    /// The next n API requests get the 503 throttle reply whatever quota
    /// remains.
    pub throttle_next_n: u32,
}

/// What the faults decided for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    pub throttle: bool,
    pub fail_with_500: bool,
    pub drop_after_commit: bool,
    pub delay: Duration,
}

impl Faults {
    /// Consumes the faults that apply to one request.
    pub(crate) fn plan(&mut self, is_post: bool) -> FaultPlan {
        let mut plan = FaultPlan::default();
        if take(&mut self.throttle_next_n) {
            plan.throttle = true;
            return plan;
        }
        if take(&mut self.fail_next_n_with_500) {
            plan.fail_with_500 = true;
            return plan;
        }
        if is_post && take(&mut self.drop_connection_after_commit_next_n_posts) {
            plan.drop_after_commit = true;
        }
        if take(&mut self.slow_next_n) {
            plan.delay = self.slow_by;
        }
        plan
    }
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_fault_applies_only_to_posts() {
        let mut faults = Faults {
            drop_connection_after_commit_next_n_posts: 1,
            ..Faults::default()
        };
        assert!(!faults.plan(false).drop_after_commit);
        assert!(faults.plan(true).drop_after_commit);
        assert!(!faults.plan(true).drop_after_commit);
    }

    #[test]
    fn throttle_fault_wins_over_others() {
        let mut faults = Faults {
            throttle_next_n: 1,
            fail_next_n_with_500: 1,
            ..Faults::default()
        };
        let first = faults.plan(false);
        assert!(first.throttle);
        assert!(!first.fail_with_500);
        assert!(faults.plan(false).fail_with_500);
    }
}
