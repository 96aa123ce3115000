//! Settings shared by every account's Brightpearl client.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::message_cost::MultiMessageCost;

/// The app's identity and the client's limits. One value serves every
/// account, and per-account data lives in [`pobridge_core::Connection`].
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// The app reference, sent as `brightpearl-app-ref` and as the OAuth `client_id`.
    pub app_ref: String,
    /// The developer reference, sent as `brightpearl-dev-ref` on OAuth calls when set.
    pub dev_ref: Option<String>,
    /// The OAuth client secret, sent to the token endpoint when set.
    pub client_secret: Option<String>,
    /// The URL where the user approves access, with `{account}` replaced by
    /// the account code.
    pub authorize_url_template: String,
    /// The token endpoint. When it contains `{account}` the account code is
    /// put there; otherwise it is sent as `account_code` in the form body.
    pub token_url_template: String,
    /// Requests allowed in any sliding 60 seconds, kept below Brightpearl's
    /// 200 so that other callers in the same pool have room.
    pub requests_per_minute: u32,
    /// The sliding window `requests_per_minute` counts in: one minute.
    /// Configuration files cannot set it, and only tests shorten it so that
    /// a full window passes in seconds.
    #[serde(skip)]
    pub requests_window: Duration,
    /// When Brightpearl reports this many requests remaining or fewer, the
    /// client waits for the next throttle period.
    pub throttle_reserve: u32,
    /// The maximum time one call waits for the rate limit before it fails
    /// as throttled, in seconds in configuration files.
    #[serde(deserialize_with = "seconds")]
    pub max_throttle_wait: Duration,
    /// Timeout of one HTTP request, in seconds in configuration files.
    #[serde(deserialize_with = "seconds")]
    pub request_timeout: Duration,
    /// The maximum number of discrete ids (a range counts as one) in one
    /// ID-set URL.
    pub max_ids_per_request: usize,
    /// Whether custom-field updates (JSON Patch) go inside multi-messages.
    /// Brightpearl's help page lists only POST, PUT and DELETE messages, so
    /// by default each update is sent on its own.
    pub multi_message_patch: bool,
    /// The cost of a multi-message against the quota: learned from the
    /// throttle headers, or fixed at one request or one per message.
    pub multi_message_cost: MultiMessageCost,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            app_ref: String::new(),
            dev_ref: None,
            client_secret: None,
            authorize_url_template: "https://oauth.brightpearl.com/authorize/{account}".to_owned(),
            token_url_template: "https://oauth.brightpearl.com/token/{account}".to_owned(),
            requests_per_minute: 190,
            requests_window: Duration::from_secs(60),
            throttle_reserve: 5,
            max_throttle_wait: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            max_ids_per_request: 100,
            multi_message_patch: false,
            multi_message_cost: MultiMessageCost::Auto,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("app_ref", &self.app_ref)
            .field("dev_ref", &self.dev_ref)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("authorize_url_template", &self.authorize_url_template)
            .field("token_url_template", &self.token_url_template)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("requests_window", &self.requests_window)
            .field("throttle_reserve", &self.throttle_reserve)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("request_timeout", &self.request_timeout)
            .field("max_ids_per_request", &self.max_ids_per_request)
            .field("multi_message_patch", &self.multi_message_patch)
            .field("multi_message_cost", &self.multi_message_cost)
            .finish()
    }
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid duration {value}: expected a non-negative number of seconds"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_client_secret() {
        let config = ClientConfig {
            client_secret: Some("s3cr3t".into()),
            ..ClientConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn deserializes_durations_in_seconds() {
        let config: ClientConfig = serde_json::from_value(serde_json::json!({
            "app_ref": "pobridge",
            "request_timeout": 12,
            "max_throttle_wait": 0.5
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(12));
        assert_eq!(config.max_throttle_wait, Duration::from_millis(500));
        assert_eq!(config.requests_per_minute, 190);
        assert_eq!(config.multi_message_cost, MultiMessageCost::Auto);
    }

    #[test]
    fn reads_multi_message_cost() {
        for (text, expected) in [
            ("auto", MultiMessageCost::Auto),
            ("one", MultiMessageCost::One),
            ("per_item", MultiMessageCost::PerItem),
        ] {
            let config: ClientConfig =
                serde_json::from_value(serde_json::json!({ "multi_message_cost": text })).unwrap();
            assert_eq!(config.multi_message_cost, expected, "{text}");
        }
        let invalid: Result<ClientConfig, _> =
            serde_json::from_value(serde_json::json!({ "multi_message_cost": "two" }));
        assert!(invalid.is_err());
    }

    #[test]
    fn rejects_negative_duration() {
        let result: Result<ClientConfig, _> =
            serde_json::from_value(serde_json::json!({ "request_timeout": -1 }));
        assert!(result.is_err());
    }
}
