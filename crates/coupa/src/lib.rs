//! The Coupa transport: posts a cXML document (an invoice, later a ship
//! notice) to a buyer's Coupa and classifies the response so the engine can
//! decide between done, failed, retry and "probably delivered".
//!
//! Coupa responds synchronously with a cXML `Response` whose `Status` code is
//! what counts: 2xx accepted, 4xx rejected for good, 5xx worth retrying. A
//! request whose response never arrived (a timeout, a connection dropped after
//! the body was sent) has an unknown outcome: Coupa may have accepted it.

mod explain;
mod outcome;

use std::time::Duration;

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
}

impl CoupaClient {
    /// `timeout` bounds one post; Coupa documents no limit of its own for
    /// invoices, and a post that outlasts it has an unknown outcome.
    pub fn new(http: reqwest::Client, timeout: Duration) -> Self {
        Self { http, timeout }
    }

    /// Posts `payload` to `url` and returns what happened.
    pub async fn post(&self, url: &str, payload: Payload) -> Delivery {
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
            Err(error) => return failed_request(&error),
        };
        let status = response.status().as_u16();
        match response.text().await {
            Ok(body) => answered(status, body),
            Err(error) => Delivery::Unknown {
                error: format!("the answer from Coupa broke off: {error}"),
            },
        }
    }
}

fn failed_request(error: &reqwest::Error) -> Delivery {
    if error.is_connect() {
        Delivery::NotSent {
            error: format!("could not connect to Coupa: {error}"),
        }
    } else {
        Delivery::Unknown {
            error: format!("no answer from Coupa: {error}"),
        }
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
