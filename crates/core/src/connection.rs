//! An account's Brightpearl connection, shared by the client that uses it and
//! the store that keeps it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How pobridge authenticates to an account's Brightpearl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionAuth {
    /// A public app connected by the OAuth authorization-code grant.
    OAuth {
        access_token: String,
        refresh_token: String,
        expires_at: DateTime<Utc>,
    },
    /// A private app's static token, sent as `brightpearl-account-token`
    /// (or `brightpearl-staff-token` when `staff` is set).
    PrivateApp { token: String, staff: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connected,
    /// Brightpearl rejected the tokens and refresh failed: a person must reconnect.
    NeedsReauthorization,
}

/// An account's Brightpearl connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The Brightpearl account code typed in when connecting.
    pub account_code: String,
    /// Scheme and host of the API, such as `https://ws-use.brightpearl.com`,
    /// taken from the token response's `api_domain`.
    pub api_base: String,
    pub auth: ConnectionAuth,
    /// `installation_instance_id` from the first token response; half of the
    /// sales-order de-duplication key.
    pub installation_instance_id: Option<String>,
    /// True when the connection points at pobridge's own sandbox.
    pub is_sandbox: bool,
    pub status: ConnectionStatus,
    pub connected_at: DateTime<Utc>,
}

/// Turns the `api_domain` of a token response into a base URL. A bare host
/// (what Brightpearl sends) gets `https://`; a value with a scheme (what the
/// sandbox sends, so it can live on plain-HTTP loopback) is kept as it is.
pub fn api_base_from_domain(api_domain: &str) -> String {
    let trimmed = api_domain.trim().trim_end_matches('/');
    if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    }
}
