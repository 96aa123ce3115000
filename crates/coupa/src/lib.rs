//! The Coupa transport: posts a cXML document (an invoice, later a ship
//! notice) to a buyer's Coupa and classifies the response so the engine can
//! decide between done, failed, retry and "probably delivered".
//!
//! Coupa responds synchronously with a cXML `Response` whose `Status` code is
//! what counts: 2xx accepted, 4xx rejected for good, 5xx worth retrying. A
//! 408 or 429 was not read, so it is retried like a 5xx. A request whose
//! response never arrived (a timeout, a connection dropped after the body
//! was sent) has an unknown outcome: Coupa may have accepted it.
//!
//! Redirects are never followed, and unless the operator allows private
//! addresses, nothing is posted to a loopback, private or link-local address
//! ([`address`]).

pub mod address;
mod explain;
mod outcome;

use std::sync::Arc;
use std::time::Duration;

pub use address::{AddressRejected, PrivateAddresses};
pub use explain::explain;
pub use outcome::{decide, Decision};

/// Result of one post, before any decision about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Coupa responded. `code` is the cXML status (the HTTP status when the
    /// body carried none) and `text` is its status text.
    Answered {
        code: u16,
        text: String,
        body: String,
    },
    /// The request never reached Coupa (no connection): safe to send again.
    NotSent { error: String },
    /// The request was not sent because the URL's address is not public and
    /// private addresses are rejected. Sending again gives the same result
    /// until someone changes the URL or the setting.
    NotAllowed { error: String },
    /// The request was sent but no response arrived, so Coupa may have accepted it.
    Unknown { error: String },
}

/// The body of one post.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A plain cXML document, sent as `text/xml; charset=UTF-8`.
    Xml(String),
    /// A `multipart/related` body with its full content type.
    Multipart { content_type: String, body: Vec<u8> },
}

/// Posts cXML documents to Coupa.
#[derive(Debug, Clone)]
pub struct CoupaClient {
    http: reqwest::Client,
    timeout: Duration,
    private_addresses: PrivateAddresses,
}

impl CoupaClient {
    /// Builds a client with an HTTP connection pool of its own, which never
    /// follows redirects. `timeout` bounds one post, since Coupa documents
    /// no limit of its own for invoices. A post that outlasts it has an
    /// unknown outcome.
    ///
    /// With [`PrivateAddresses::Reject`] the pool resolves host names with
    /// [`address`]'s public-only resolver and ignores the `HTTP_PROXY` and
    /// `HTTPS_PROXY` variables, because through a proxy the proxy's address
    /// would be checked instead of Coupa's.
    pub fn new(timeout: Duration, private_addresses: PrivateAddresses) -> Self {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("pobridge/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if private_addresses == PrivateAddresses::Reject {
            builder = builder
                .dns_resolver(Arc::new(address::PublicOnlyResolver))
                .no_proxy();
        }
        // No certificate, identity or proxy is read here, so building can
        // fail only when the TLS backend cannot start. reqwest 0.12's own
        // `Client::new` panics in that case too.
        let http = builder
            .build()
            .expect("the TLS backend of the Coupa client starts");
        Self {
            http,
            timeout,
            private_addresses,
        }
    }

    /// Posts `payload` to `url` and returns what happened, counted in
    /// `pobridge_coupa_posts_total` by [`outcome_label`].
    pub async fn post(&self, url: &str, payload: Payload) -> Delivery {
        let delivery = self.send(url, payload).await;
        metrics::counter!("pobridge_coupa_posts_total", "outcome" => outcome_label(&delivery))
            .increment(1);
        delivery
    }

    async fn send(&self, url: &str, payload: Payload) -> Delivery {
        if let Err(rejected) = self.check_literal_host(url) {
            return not_allowed(&rejected);
        }
        let (content_type, body) = match payload {
            Payload::Xml(text) => ("text/xml; charset=UTF-8".to_owned(), text.into_bytes()),
            Payload::Multipart { content_type, body } => (content_type, body),
        };
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .timeout(self.timeout)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return self.failed_request(&error),
        };
        let status = response.status().as_u16();
        let redirect = response
            .status()
            .is_redirection()
            .then(|| redirect_text(&response));
        match response.text().await {
            Ok(body) => match redirect {
                Some(text) => Delivery::Answered {
                    code: status,
                    text,
                    body,
                },
                None => answered(status, body),
            },
            Err(error) if error.is_timeout() => self.timed_out(),
            Err(error) => Delivery::Unknown {
                error: format!("the answer from Coupa broke off: {error}"),
            },
        }
    }

    /// Rejects a URL whose host is a literal non-public IP address, which
    /// reqwest connects to without asking the resolver.
    fn check_literal_host(&self, url: &str) -> Result<(), AddressRejected> {
        if self.private_addresses == PrivateAddresses::Allow {
            return Ok(());
        }
        match reqwest::Url::parse(url) {
            Ok(parsed) => address::check_literal_host(&parsed),
            // reqwest rejects the URL itself, before connecting.
            Err(_) => Ok(()),
        }
    }

    fn failed_request(&self, error: &reqwest::Error) -> Delivery {
        if let Some(rejected) = address::find_rejection(error) {
            return not_allowed(rejected);
        }
        // A connect timeout is both `is_connect` and `is_timeout`, and
        // nothing was sent then, so the connect check comes first.
        if error.is_connect() {
            Delivery::NotSent {
                error: format!("could not connect to Coupa: {}", with_causes(error)),
            }
        } else if error.is_timeout() {
            self.timed_out()
        } else {
            Delivery::Unknown {
                error: format!("no answer from Coupa: {}", with_causes(error)),
            }
        }
    }

    /// Builds the unknown outcome of a post that outlasted the timeout, with
    /// a message explaining why the invoice is sent again unchanged.
    fn timed_out(&self) -> Delivery {
        Delivery::Unknown {
            error: format!(
                "no answer from Coupa within {} s (timed out). The invoice may have \
                 arrived, so it is sent again with the same number, and Coupa rejects \
                 a second copy",
                format_seconds(self.timeout)
            ),
        }
    }
}

/// Names a delivery for metrics: the status class of Coupa's cXML code
/// (`2xx` to `5xx`, or `other`), `not_sent` or `unknown`.
pub fn outcome_label(delivery: &Delivery) -> &'static str {
    match delivery {
        Delivery::Answered { code, .. } => match code {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "other",
        },
        Delivery::NotSent { .. } => "not_sent",
        Delivery::NotAllowed { .. } => "not_allowed",
        Delivery::Unknown { .. } => "unknown",
    }
}

/// Builds the delivery of a post to a rejected address, and logs it, since
/// it may be one tenant probing the server's network.
fn not_allowed(rejected: &AddressRejected) -> Delivery {
    tracing::warn!(coupa.host = %rejected.host, address = ?rejected.address, "invoice post to a non-public address rejected");
    Delivery::NotAllowed {
        error: format!("the invoice was not sent: {rejected}"),
    }
}

/// Describes a redirect response for the invoice's reason: the `Location`
/// it names, resolved against the URL that was posted to.
fn redirect_text(response: &reqwest::Response) -> String {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok());
    match location {
        Some(location) => match response.url().join(location) {
            Ok(target) => format!("redirected to {target}"),
            Err(_) => format!("redirected to {location:?}"),
        },
        None => "redirected without a Location header".to_owned(),
    }
}

/// Writes `error` followed by each of its causes, so that the message of a
/// failed connection names the cause (a name that did not resolve, a
/// refused connection). reqwest's own message names only the URL.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let part = current.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = current.source();
    }
    text
}

/// Formats a duration as seconds without trailing zeros: `30`, `0.2`.
fn format_seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{}", duration.as_secs_f64())
    }
}

/// Reads the cXML `Status` of an answer; Coupa's code there is what counts
/// even when the HTTP status differs.
fn answered(http_status: u16, body: String) -> Delivery {
    let limits = pobridge_cxml::Limits::default();
    let status = match pobridge_cxml::read_envelope(body.as_bytes(), &limits) {
        Ok(pobridge_cxml::Envelope {
            body: pobridge_cxml::Body::Response { code, text },
            ..
        }) => Some((code, text)),
        _ => None,
    };
    let (code, text) =
        status.unwrap_or_else(|| (http_status, "the answer carried no cXML Status".to_owned()));
    Delivery::Answered { code, text, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered_with(code: u16) -> Delivery {
        Delivery::Answered {
            code,
            text: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn outcome_label_uses_status_class() {
        assert_eq!(outcome_label(&answered_with(201)), "2xx");
        assert_eq!(outcome_label(&answered_with(417)), "4xx");
        assert_eq!(outcome_label(&answered_with(560)), "5xx");
        assert_eq!(outcome_label(&answered_with(999)), "other");
        let unsent = Delivery::NotSent {
            error: "refused".to_owned(),
        };
        let not_allowed = Delivery::NotAllowed {
            error: "loopback".to_owned(),
        };
        assert_eq!(outcome_label(&not_allowed), "not_allowed");
        let unknown = Delivery::Unknown {
            error: "timed out".to_owned(),
        };
        assert_eq!(outcome_label(&unsent), "not_sent");
        assert_eq!(outcome_label(&unknown), "unknown");
    }
}
