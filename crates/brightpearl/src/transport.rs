//! Sending one API request: URL building, the rate limiter, the 401 →
//! refresh → retry-once rule, waiting out throttles, and turning transport
//! failures into error kinds.

use std::time::Duration;

use pobridge_core::ConnectionAuth;
use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use crate::client::Inner;
use crate::encode;
use crate::envelope;
use crate::error::{BrightpearlError, ErrorKind};
use crate::limiter::{Decision, Permit, Refusal, ReplySignal, ThrottleHeaders};

/// Tokens are refreshed ahead of time when they expire within this margin,
/// because a 401 costs a request of quota.
const EXPIRY_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// One API request, relative to `/public-api/{account}/`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    /// The messages a multi-message carries, which the limiter needs to
    /// cost it; 1 for any other request.
    messages: u32,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path, None)
    }

    pub(crate) fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, path, Some(body))
    }

    pub(crate) fn patch(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PATCH, path, Some(body))
    }

    fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body,
            messages: 1,
        }
    }

    /// Marks the call as a multi-message of `messages` messages.
    pub(crate) fn with_messages(mut self, messages: usize) -> Self {
        self.messages = u32::try_from(messages).unwrap_or(u32::MAX);
        self
    }

    pub(crate) fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Method and path, for messages and logs. Query values are left out
    /// because they can hold personal data such as e-mail addresses.
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Returns true for a GET, which changes nothing and is safe to send twice.
    pub(crate) fn reads(&self) -> bool {
        self.method == Method::GET
    }

    /// Returns true for a POST, which creates a resource and is not safe to
    /// send twice.
    fn creates(&self) -> bool {
        self.method == Method::POST
    }

    fn url(&self, api_base: &str, account_code: &str) -> String {
        let mut url = format!(
            "{}/public-api/{}/{}",
            api_base.trim_end_matches('/'),
            encode::component(account_code),
            self.path
        );
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&encode::query(
                self.query
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            ));
        }
        url
    }
}

/// The state of one call's retries: time spent waiting on throttles, and
/// whether the call already refreshed the token.
#[derive(Default)]
struct Progress {
    throttled_for: Duration,
    refreshed: bool,
}

struct RawReply {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
}

impl Inner {
    /// Sends `call` and returns the parsed body of a successful reply.
    pub(crate) async fn send(&self, call: &Call) -> Result<Value, BrightpearlError> {
        let name = call.name();
        self.send_inner(call, &name)
            .await
            .map_err(|error| error.with_request(name))
    }

    async fn send_inner(&self, call: &Call, name: &str) -> Result<Value, BrightpearlError> {
        let mut progress = Progress::default();
        loop {
            self.refresh_if_expiring().await?;
            let permit = self.wait_for_permit(call, &mut progress).await?;

            let (connection, generation) = self.tokens.snapshot();
            let auth_headers = crate::auth::headers(&self.config, &connection)?;
            let started = Instant::now();
            let reply = match self.attempt(call, &connection, auth_headers).await {
                Ok(reply) => reply,
                Err(error) => {
                    count_request("transport_error");
                    return Err(transport_failure(call, error));
                }
            };
            log_reply(name, &connection.account_code, &reply, started);
            count_request(reply_outcome(reply.status));

            if self
                .wait_out_throttle(name, &permit, &reply, &mut progress)
                .await?
            {
                continue;
            }
            if reply.status == StatusCode::UNAUTHORIZED {
                let oauth = matches!(connection.auth, ConnectionAuth::OAuth { .. });
                if oauth && !progress.refreshed {
                    tracing::info!(
                        request = name,
                        "Brightpearl returned 401; refreshing the token and retrying once"
                    );
                    self.tokens
                        .refresh(&self.http, &self.config, self.clock.as_ref(), generation)
                        .await?;
                    progress.refreshed = true;
                    continue;
                }
                self.tokens.mark_needs_reauthorization();
                return Err(reauthorization_required(oauth));
            }
            return classify_reply(call, &reply);
        }
    }

    /// Waits for the limiter, counting the wait against `max_throttle_wait`.
    async fn wait_for_permit(
        &self,
        call: &Call,
        progress: &mut Progress,
    ) -> Result<Permit<'_>, BrightpearlError> {
        let budget = self.config.max_throttle_wait;
        let waiting_since = Instant::now();
        let permit = self
            .limiter
            .acquire(budget.saturating_sub(progress.throttled_for), call.messages)
            .await
            .map_err(|refusal| match refusal {
                Refusal::TooLong(wait) => throttled(wait),
                Refusal::SharedBudget(reason) => shared_budget_unavailable(reason),
            })?;
        progress.throttled_for += waiting_since.elapsed();
        Ok(permit)
    }

    /// Records the reply's throttle headers and, when the reply is a
    /// throttle, sleeps before the retry and returns true.
    async fn wait_out_throttle(
        &self,
        name: &str,
        permit: &Permit<'_>,
        reply: &RawReply,
        progress: &mut Progress,
    ) -> Result<bool, BrightpearlError> {
        let signal = ReplySignal {
            status: reply.status.as_u16(),
            headers: ThrottleHeaders::from_headers(&reply.headers),
            retry_after: retry_after(&reply.headers),
        };
        let Decision::RetryAfter(wait) = self.limiter.observe(permit, signal) else {
            return Ok(false);
        };
        if progress.throttled_for + wait > self.config.max_throttle_wait {
            return Err(throttled(wait));
        }
        metrics::counter!("pobridge_brightpearl_throttle_waits_total", "source" => "reply")
            .increment(1);
        tracing::warn!(
            request = name,
            wait_ms = wait.as_millis() as u64,
            status = signal.status,
            "Brightpearl throttled the request; waiting before sending it again"
        );
        tokio::time::sleep(wait).await;
        progress.throttled_for += wait;
        Ok(true)
    }

    async fn refresh_if_expiring(&self) -> Result<(), BrightpearlError> {
        let (connection, generation) = self.tokens.snapshot();
        let ConnectionAuth::OAuth { expires_at, .. } = connection.auth else {
            return Ok(());
        };
        if expires_at - EXPIRY_MARGIN > self.clock.now() {
            return Ok(());
        }
        self.tokens
            .refresh(&self.http, &self.config, self.clock.as_ref(), generation)
            .await
    }

    async fn attempt(
        &self,
        call: &Call,
        connection: &pobridge_core::Connection,
        auth_headers: HeaderMap,
    ) -> Result<RawReply, reqwest::Error> {
        let url = call.url(&connection.api_base, &connection.account_code);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .headers(auth_headers)
            .header(ACCEPT, "application/json")
            .timeout(self.config.request_timeout);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }
}

/// Classifies a final reply. A 5xx to a creating POST may come after the
/// record was written, so its outcome is unknown.
fn classify_reply(call: &Call, reply: &RawReply) -> Result<Value, BrightpearlError> {
    envelope::classify(reply.status, &reply.body).map_err(|error| {
        if call.creates() && error.kind() == &(ErrorKind::Transient { throttled: false }) {
            error.with_kind(ErrorKind::Ambiguous)
        } else {
            error
        }
    })
}

/// Names the outcome of one HTTP exchange with Brightpearl for the
/// `pobridge_brightpearl_requests_total` counter. The limiter waits out
/// both 503 and 429 as throttles, so both count as `throttled`.
fn reply_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "success",
        429 | 503 => "throttled",
        401 => "unauthorized",
        400..=499 => "client_error",
        500..=599 => "server_error",
        _ => "other",
    }
}

fn count_request(outcome: &'static str) {
    metrics::counter!("pobridge_brightpearl_requests_total", "outcome" => outcome).increment(1);
}

fn log_reply(name: &str, account: &str, reply: &RawReply, started: Instant) {
    let ruid = reply
        .headers
        .get("ruid")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::debug!(
        request = name,
        account,
        status = reply.status.as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        ruid,
        "Brightpearl replied"
    );
}

/// Reads the `Retry-After` header as whole seconds. The HTTP-date form is
/// ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse().ok().map(Duration::from_secs)
}

fn throttled(wait: Duration) -> BrightpearlError {
    BrightpearlError::new(
        ErrorKind::Transient { throttled: true },
        format!(
            "Brightpearl's rate limit needs another {} s, longer than max_throttle_wait allows; try again later",
            wait.as_secs().max(1)
        ),
    )
    .with_retry_after(wait)
}

/// Nothing was sent, so even a write is safe to try again.
fn shared_budget_unavailable(reason: String) -> BrightpearlError {
    BrightpearlError::new(
        ErrorKind::Transient { throttled: false },
        format!("could not claim a slot in the shared Brightpearl request budget: {reason}"),
    )
}

fn reauthorization_required(after_refresh: bool) -> BrightpearlError {
    let message = if after_refresh {
        "Brightpearl rejected the refreshed token (HTTP 401): re-authorization required; reconnect the account"
    } else {
        "Brightpearl rejected the private-app token (HTTP 401): re-authorization required; create a new token in Brightpearl"
    };
    BrightpearlError::new(ErrorKind::Unauthorized, message)
}

/// Classifies a request that got no complete reply. A write that may have
/// reached Brightpearl is ambiguous: it may have been applied.
fn transport_failure(call: &Call, error: reqwest::Error) -> BrightpearlError {
    let (kind, message) = if error.is_builder() {
        (
            ErrorKind::Other,
            format!("the request could not be built: {error}"),
        )
    } else if error.is_connect() {
        (
            ErrorKind::Transient { throttled: false },
            format!("could not connect to Brightpearl: {error}"),
        )
    } else if call.creates() {
        (
            ErrorKind::Ambiguous,
            format!(
                "the outcome is unknown ({error}); search for the record before sending it again"
            ),
        )
    } else if error.is_timeout() {
        (
            ErrorKind::Transient { throttled: false },
            format!("Brightpearl did not reply in time: {error}"),
        )
    } else {
        (
            ErrorKind::Transient { throttled: false },
            format!("the request to Brightpearl failed: {error}"),
        )
    };
    BrightpearlError::new(kind, message).with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_account_and_query_values() {
        let call = Call::get("contact-service/contact-search")
            .query("primaryEmail", "ap+x@buyer.example")
            .query("pageSize", "500");
        assert_eq!(
            call.url("http://127.0.0.1:9/", "acme"),
            "http://127.0.0.1:9/public-api/acme/contact-service/contact-search?primaryEmail=ap%2Bx%40buyer.example&pageSize=500"
        );
        assert_eq!(call.name(), "GET contact-service/contact-search");
    }

    #[test]
    fn reply_outcome_separates_throttles_from_errors() {
        let outcome = |code: u16| reply_outcome(StatusCode::from_u16(code).unwrap());
        assert_eq!(outcome(200), "success");
        assert_eq!(outcome(207), "success");
        assert_eq!(outcome(503), "throttled");
        assert_eq!(outcome(429), "throttled");
        assert_eq!(outcome(401), "unauthorized");
        assert_eq!(outcome(404), "client_error");
        assert_eq!(outcome(500), "server_error");
        assert_eq!(outcome(302), "other");
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
