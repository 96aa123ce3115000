//! The next step after a post: a pure function of the delivery and of whether
//! an earlier attempt of the same invoice had an unknown outcome.

use crate::Delivery;

/// The next step for an invoice after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Coupa accepted the invoice.
    Sent,
    /// An earlier attempt may have been accepted and Coupa now refuses the
    /// number as already used: a person should confirm it in Coupa. The
    /// invoice is never renumbered.
    ProbablyDelivered,
    /// Coupa rejected the invoice for good, redirected it, or the invoice URL
    /// is not allowed. The reason is Coupa's text or the client's error.
    Failed { reason: String },
    /// Worth sending again later with the same invoice number.
    Retry {
        reason: String,
        outcome_unknown: bool,
    },
}

/// Coupa's text for a refused document, which is also its text for an
/// invoice number already used by the supplier.
const INVALID_ATTRIBUTES: &str = "Invalid attributes in document";

/// Decides the next step. `earlier_unknown` is true when an earlier attempt
/// of this invoice was sent without an answer.
pub fn decide(delivery: &Delivery, earlier_unknown: bool) -> Decision {
    match delivery {
        Delivery::Answered { code, text, .. } => match code {
            200..=299 => Decision::Sent,
            // Redirects are not followed, and sending again would get the
            // same redirect, so a person must check the invoice URL.
            300..=399 => Decision::Failed {
                reason: format!("Coupa {text} ({code}), which pobridge does not follow"),
            },
            417 if earlier_unknown && is_duplicate_number(text) => Decision::ProbablyDelivered,
            // A request that took too long to arrive, or one over Coupa's
            // rate limit, was not read; sending it later may succeed.
            408 | 429 => Decision::Retry {
                reason: format!("Coupa answered {code} {text}"),
                outcome_unknown: false,
            },
            400..=499 => Decision::Failed {
                reason: format!("Coupa refused the invoice ({code} {text})"),
            },
            _ => Decision::Retry {
                reason: format!("Coupa answered {code} {text}"),
                outcome_unknown: false,
            },
        },
        Delivery::NotSent { error } => Decision::Retry {
            reason: error.clone(),
            outcome_unknown: false,
        },
        Delivery::NotAllowed { error } => Decision::Failed {
            reason: error.clone(),
        },
        Delivery::Unknown { error } => Decision::Retry {
            reason: error.clone(),
            outcome_unknown: true,
        },
    }
}

/// True for the bare "Invalid attributes in document." Coupa sends for a
/// reused invoice number; its other 417 texts add a specific reason.
fn is_duplicate_number(text: &str) -> bool {
    let trimmed = text.trim().trim_end_matches('.');
    trimmed == INVALID_ATTRIBUTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: u16, text: &str) -> Delivery {
        Delivery::Answered {
            code,
            text: text.to_owned(),
            body: String::new(),
        }
    }

    #[test]
    fn decisions_follow_code_and_history() {
        let duplicate = "Invalid attributes in document.";
        let wrong_type = "Invalid attributes in document. Validation failed: Invoice lines order line must be the same type as invoice line";
        let cases = [
            (answered(200, "OK"), false, "sent"),
            (answered(201, "Accepted"), true, "sent"),
            (answered(417, duplicate), true, "probably delivered"),
            (answered(417, duplicate), false, "failed"),
            (answered(417, wrong_type), true, "failed"),
            (answered(401, "Invalid credentials"), true, "failed"),
            (answered(404, "Not Found"), false, "failed"),
            (answered(408, "Request Timeout"), false, "retry"),
            (answered(429, "Too Many Requests"), true, "retry"),
            (answered(500, "Unexpected server error."), false, "retry"),
            (answered(503, "Service Unavailable"), true, "retry"),
            (
                answered(302, "redirected to http://10.0.0.1/"),
                false,
                "failed",
            ),
            (answered(307, "redirected to https://x/"), true, "failed"),
            (
                Delivery::NotSent {
                    error: "refused".to_owned(),
                },
                false,
                "retry",
            ),
            (
                Delivery::NotAllowed {
                    error: "the invoice was not sent: 127.0.0.1".to_owned(),
                },
                false,
                "failed",
            ),
            (
                Delivery::Unknown {
                    error: "timed out".to_owned(),
                },
                false,
                "retry, unknown",
            ),
        ];
        for (delivery, earlier_unknown, expected) in cases {
            let decision = decide(&delivery, earlier_unknown);
            let label = match &decision {
                Decision::Sent => "sent",
                Decision::ProbablyDelivered => "probably delivered",
                Decision::Failed { .. } => "failed",
                Decision::Retry {
                    outcome_unknown: false,
                    ..
                } => "retry",
                Decision::Retry {
                    outcome_unknown: true,
                    ..
                } => "retry, unknown",
            };
            assert_eq!(
                label, expected,
                "{delivery:?} after unknown={earlier_unknown}"
            );
        }
    }
}
