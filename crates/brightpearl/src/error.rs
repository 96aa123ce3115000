//! The one error type of the Brightpearl client, classified so the sync
//! engine can decide between retrying, searching, pausing and giving up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// One entry of Brightpearl's `errors` array, such as
/// `{"code": "ORDC-005", "message": "You have not supplied an order type code"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{} {}", self.code, self.message),
            (false, true) => f.write_str(&self.code),
            _ => f.write_str(&self.message),
        }
    }
}

/// The kind of failure a [`BrightpearlError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying later: 502/503/504, a 5xx without an `errors` array,
    /// a timeout or connection error before a write was sent. `throttled`
    /// is true when Brightpearl's rate limit outlasted `max_throttle_wait`.
    Transient { throttled: bool },
    /// A write whose outcome is unknown: the request may have been applied.
    /// Search for the resource before writing again.
    Ambiguous,
    /// Authorization is lost: the token refresh failed or Brightpearl
    /// rejected the refreshed token. A person must reconnect the account.
    Unauthorized,
    /// Brightpearl rejected the request as invalid (400, or a 500 carrying
    /// an `errors` array). Retrying the same request cannot succeed.
    Validation { errors: Vec<ApiError> },
    /// The resource does not exist.
    NotFound,
    /// Anything else: a 403, an unexpected reply shape, a bad configuration.
    Other,
}

/// A failed Brightpearl call. The message names the request (method and
/// path, never a token or query values) and Brightpearl's codes and messages.
#[derive(Debug, Clone)]
pub struct BrightpearlError {
    kind: ErrorKind,
    request: Option<String>,
    message: String,
    refresh_failed: bool,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl BrightpearlError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            request: None,
            message: message.into(),
            refresh_failed: false,
            retry_after: None,
            source: None,
        }
    }

    /// Names the request, such as `GET order-service/order/1-3`.
    pub(crate) fn with_request(mut self, request: impl Into<String>) -> Self {
        self.request = Some(request.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    pub(crate) fn into_refresh_failure(mut self) -> Self {
        self.refresh_failed = true;
        self
    }

    /// Returns the classification the engine acts on.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// True when the failure happened while refreshing the OAuth token, as
    /// opposed to Brightpearl rejecting the API request itself.
    pub fn refresh_failed(&self) -> bool {
        self.refresh_failed
    }

    /// Returns how long Brightpearl asked the client to wait, when a
    /// throttle outlasted `max_throttle_wait`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Brightpearl's error entries, empty unless the kind is `Validation`.
    pub fn api_errors(&self) -> &[ApiError] {
        match &self.kind {
            ErrorKind::Validation { errors } => errors,
            _ => &[],
        }
    }

    pub(crate) fn validation(errors: Vec<ApiError>, status: u16) -> Self {
        let listed = errors
            .iter()
            .map(ApiError::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(
            ErrorKind::Validation { errors },
            format!("Brightpearl rejected the request (HTTP {status}): {listed}"),
        )
    }
}

impl fmt::Display for BrightpearlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(request) = &self.request {
            write!(f, "{request}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for BrightpearlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_request_and_codes() {
        let error = BrightpearlError::validation(
            vec![
                ApiError {
                    code: "ORDC-003".into(),
                    message: "You have supplied an invalid order id: 123".into(),
                },
                ApiError {
                    code: "ORDC-026".into(),
                    message: "You have not supplied a product name".into(),
                },
            ],
            400,
        )
        .with_request("POST order-service/order/123/row");

        assert_eq!(
            error.to_string(),
            "POST order-service/order/123/row: Brightpearl rejected the request (HTTP 400): \
             ORDC-003 You have supplied an invalid order id: 123; \
             ORDC-026 You have not supplied a product name"
        );
        assert_eq!(error.api_errors().len(), 2);
    }
}
