//! The cost of a multi-message in Brightpearl's request quota.
//!
//! Brightpearl does not document whether a multi-message of N messages
//! counts as one request or as N. A public Java client states that it counts
//! as one, which no capture confirms. The limiter therefore reads the cost
//! from the throttle headers: when the remaining count drops by exactly one
//! across a multi-message of two or more messages, it counts as one. When it
//! drops by N or more, it most likely counts per message, unless other
//! traffic in the pool used the difference, so that reading is kept only
//! until a drop of one shows otherwise. A setting can fix the reading
//! instead.

use std::time::Duration;

use serde::Deserialize;

use crate::limiter::Observation;

/// The configured way the limiter costs a multi-message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiMessageCost {
    /// Learn the cost from the throttle headers. Until it is learned, a
    /// multi-message of N messages is costed at N.
    #[default]
    Auto,
    /// A multi-message costs one request, whatever it carries.
    One,
    /// A multi-message costs one request per message.
    PerItem,
}

/// The way a limiter costs multi-messages now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Nothing learned yet, so a multi-message may cost one per message.
    Unknown,
    /// One request, whatever it carries.
    One,
    /// One request per message.
    PerItem,
}

impl Counting {
    pub(crate) fn from_setting(setting: MultiMessageCost) -> Self {
        match setting {
            MultiMessageCost::Auto => Self::Unknown,
            MultiMessageCost::One => Self::One,
            MultiMessageCost::PerItem => Self::PerItem,
        }
    }

    /// Requests of quota a request carrying `messages` messages may cost:
    /// 1 for a plain request (`messages` 0 or 1).
    pub(crate) fn cost(self, messages: u32) -> u32 {
        match self {
            _ if messages <= 1 => 1,
            Self::One => 1,
            Self::Unknown | Self::PerItem => messages,
        }
    }
}

/// Slack when comparing the ends of two replies' throttle windows, for
/// clock steps and rounding of `brightpearl-next-throttle-period`.
const SAME_WINDOW_TOLERANCE: Duration = Duration::from_millis(250);

/// Returns the earliest and latest time at which the window a reply reports
/// ends, because the server read its clock between sending and reply.
fn window_end(observation: &Observation) -> Option<(Duration, Duration)> {
    let period = observation.headers.next_period?;
    Some((
        observation.sent_at + period,
        observation.received_at + period,
    ))
}

/// Returns whether two replies report the same throttle window, that is
/// whether their window ends overlap within [`SAME_WINDOW_TOLERANCE`].
pub(crate) fn same_window(first: &Observation, second: &Observation) -> bool {
    let (Some(first), Some(second)) = (window_end(first), window_end(second)) else {
        return false;
    };
    first.0 <= second.1 + SAME_WINDOW_TOLERANCE && second.0 <= first.1 + SAME_WINDOW_TOLERANCE
}

/// Returns whether `newer` reports a later window than `older`.
pub(crate) fn later_window(older: &Observation, newer: &Observation) -> bool {
    match (window_end(older), window_end(newer)) {
        (Some(older), Some(newer)) => newer.0 > older.1 + SAME_WINDOW_TOLERANCE,
        _ => false,
    }
}

/// Reads the counting from a multi-message of `messages` messages (`probe`)
/// and the reply that had the lowest remaining count before it (`before`),
/// when no other request of this process was in flight between the two.
/// Returns `None` when the two replies are not from one window, when the
/// probe's reply came after `before`'s window could end, or when the drop
/// fits neither reading.
pub(crate) fn learn(before: &Observation, probe: &Observation, messages: u32) -> Option<Counting> {
    if messages < 2 {
        return None;
    }
    let (Some(earlier), Some(later)) = (before.headers.remaining, probe.headers.remaining) else {
        return None;
    };
    let same_window = same_window(before, probe) && before.received_at <= probe.sent_at;
    if !same_window || later > earlier {
        return None;
    }
    // Under a rolling window, requests leave it from the end `before`
    // reports, when its oldest request leaves, and a drop read across that
    // time is too small: ten requests in and nine out look like one. Only
    // a probe whose reply came before that end is read.
    let (earliest_end, _) = window_end(before)?;
    if probe.received_at >= earliest_end {
        return None;
    }
    match earlier - later {
        1 => Some(Counting::One),
        drop if drop >= messages => Some(Counting::PerItem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::ThrottleHeaders;

    fn observation(remaining: u32, period_ms: u64, sent_ms: u64, received_ms: u64) -> Observation {
        Observation {
            headers: ThrottleHeaders {
                remaining: Some(remaining),
                next_period: Some(Duration::from_millis(period_ms)),
            },
            sent_at: Duration::from_millis(sent_ms),
            received_at: Duration::from_millis(received_ms),
        }
    }

    #[test]
    fn learn_reads_the_drop_across_a_multi_message() {
        let before = observation(150, 40_000, 0, 100);
        // (remaining after, period, sent, received, messages, expected)
        let cases = [
            (149, 39_700, 200, 400, 10, Some(Counting::One)),
            (140, 39_700, 200, 400, 10, Some(Counting::PerItem)),
            (138, 39_700, 200, 400, 10, Some(Counting::PerItem)),
            (145, 39_700, 200, 400, 10, None),
            (150, 39_700, 200, 400, 10, None),
            (149, 39_700, 200, 400, 1, None),
            // The window reset between the two replies.
            (190, 59_000, 41_000, 41_100, 10, None),
            (149, 59_000, 41_000, 41_100, 10, None),
        ];
        for (remaining, period, sent, received, messages, expected) in cases {
            let probe = observation(remaining, period, sent, received);

            let learned = learn(&before, &probe, messages);

            assert_eq!(
                learned, expected,
                "remaining {remaining}, sent at {sent} ms"
            );
        }
    }

    #[test]
    fn learn_skips_probe_after_window_end() {
        // A rolling window whose oldest request leaves 300 ms after the
        // first send: requests may have left before the probe was counted.
        let before = observation(150, 300, 0, 100);
        let probe = observation(149, 50, 200, 400);
        assert!(same_window(&before, &probe));

        assert_eq!(learn(&before, &probe, 10), None);
    }

    #[test]
    fn learn_needs_the_earlier_reply_before_the_send() {
        let before = observation(150, 40_000, 0, 300);
        let overlapping = observation(149, 39_800, 200, 500);

        assert_eq!(learn(&before, &overlapping, 10), None);
    }

    #[test]
    fn learn_needs_both_headers() {
        let before = observation(150, 40_000, 0, 100);
        let mut probe = observation(149, 39_700, 200, 400);
        probe.headers.next_period = None;

        assert_eq!(learn(&before, &probe, 10), None);
    }

    #[test]
    fn cost_of_a_plain_request_is_one() {
        for counting in [Counting::Unknown, Counting::One, Counting::PerItem] {
            assert_eq!(counting.cost(1), 1);
            assert_eq!(counting.cost(0), 1);
        }
        assert_eq!(Counting::Unknown.cost(10), 10);
        assert_eq!(Counting::One.cost(10), 1);
        assert_eq!(Counting::PerItem.cost(7), 7);
    }
}
