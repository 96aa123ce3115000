//! Faults a test can inject into an account's next replies.

use std::time::Duration;

use axum::http::Method;

/// Faults to inject, each counting down as requests consume it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The next n API requests get a 500 with an empty body and do nothing.
    pub fail_next_n_with_500: u32,
    /// While not 0, every n-th API request, counted from when the faults
    /// were set, gets a 500 with an empty body and does nothing.
    pub fail_every_nth_with_500: u32,
    /// The next n POSTs are carried out, then their connection is closed
    /// without any HTTP response, so the client cannot know the outcome.
    pub drop_connection_after_commit_next_n_posts: u32,
    /// The next n GETs are carried out, then their connection is closed
    /// without any HTTP response.
    pub drop_connection_next_n_gets: u32,
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
    /// Carry the request out, then close the connection without a reply.
    pub drop_connection: bool,
    pub delay: Duration,
}

impl Faults {
    /// Consumes the faults that apply to one request, the `seen`-th since
    /// the faults were set (counting from 1).
    pub(crate) fn plan(&mut self, method: &Method, seen: u32) -> FaultPlan {
        let mut plan = FaultPlan::default();
        if take(&mut self.throttle_next_n) {
            plan.throttle = true;
            return plan;
        }
        let nth = self.fail_every_nth_with_500;
        if take(&mut self.fail_next_n_with_500) || (nth > 0 && seen % nth == 0) {
            plan.fail_with_500 = true;
            return plan;
        }
        let dropped = match *method {
            Method::POST => take(&mut self.drop_connection_after_commit_next_n_posts),
            Method::GET => take(&mut self.drop_connection_next_n_gets),
            _ => false,
        };
        plan.drop_connection = dropped;
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
        assert!(!faults.plan(&Method::GET, 1).drop_connection);
        assert!(faults.plan(&Method::POST, 2).drop_connection);
        assert!(!faults.plan(&Method::POST, 3).drop_connection);
    }

    #[test]
    fn get_drop_fault_applies_only_to_gets() {
        let mut faults = Faults {
            drop_connection_next_n_gets: 1,
            ..Faults::default()
        };
        assert!(!faults.plan(&Method::POST, 1).drop_connection);
        assert!(!faults.plan(&Method::PATCH, 2).drop_connection);
        assert!(faults.plan(&Method::GET, 3).drop_connection);
        assert!(!faults.plan(&Method::GET, 4).drop_connection);
    }

    #[test]
    fn every_nth_fault_fails_each_nth_request() {
        let mut faults = Faults {
            fail_every_nth_with_500: 3,
            ..Faults::default()
        };
        let failed: Vec<u32> = (1..=9)
            .filter(|&seen| faults.plan(&Method::GET, seen).fail_with_500)
            .collect();
        assert_eq!(failed, [3, 6, 9]);
    }

    #[test]
    fn throttle_fault_wins_over_others() {
        let mut faults = Faults {
            throttle_next_n: 1,
            fail_next_n_with_500: 1,
            ..Faults::default()
        };
        let first = faults.plan(&Method::GET, 1);
        assert!(first.throttle);
        assert!(!first.fail_with_500);
        assert!(faults.plan(&Method::GET, 2).fail_with_500);
    }
}
