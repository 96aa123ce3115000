//! Settings of a [`crate::Sandbox`], including the switches for behaviour
//! the reference material leaves open.

use std::time::Duration;

/// How the per-account request quota resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowModel {
    /// The quota resets at the start of every window aligned to the epoch
    /// (the top of each minute for a 60 s window), which is what the
    /// captured throttle headers show.
    #[default]
    CalendarMinute,
    /// At most `requests_per_window` requests in any sliding window, which
    /// is how Brightpearl's help page describes it.
    Rolling,
}

/// Settings of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Requests allowed per account pool and window (Brightpearl: 200).
    pub requests_per_window: u32,
    /// Window length (Brightpearl: 60 s).
    pub window: Duration,
    pub window_model: WindowModel,
    /// What token replies return as `api_domain`. Empty means the scheme,
    /// host and mount path the token request itself came in on, such as
    /// `http://127.0.0.1:4100/sandbox`.
    pub api_domain: String,
    /// The app reference clients must send as `client_id` and in the
    /// `brightpearl-app-ref` header.
    pub app_ref: String,
    /// When set, token requests must carry this `client_secret`.
    pub client_secret: Option<String>,
    /// Added to every API reply.
    pub latency: Duration,
    /// Added per order row written by a Sales Order POST.
    pub latency_per_row: Duration,
    /// True: a multi-message costs one request of quota whatever it holds.
    /// False: it costs one request per message.
    pub multi_message_counts_as_one: bool,
    /// Whether a multi-message may carry PATCH messages (the help page lists
    /// only POST, PUT and DELETE).
    pub multi_message_allows_patch: bool,
    /// What a repeated Sales Order POST with the same `externalRef` and
    /// `installedIntegrationInstanceId` returns. True: `{"response": id}`
    /// of the existing order. False: a 200 with `{}`. Brightpearl documents
    /// only "200, nothing changes".
    pub duplicate_sales_order_returns_existing_id: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            requests_per_window: 200,
            window: Duration::from_secs(60),
            window_model: WindowModel::CalendarMinute,
            api_domain: String::new(),
            app_ref: "pobridge".to_owned(),
            client_secret: None,
            latency: Duration::ZERO,
            latency_per_row: Duration::ZERO,
            multi_message_counts_as_one: true,
            multi_message_allows_patch: false,
            duplicate_sales_order_returns_existing_id: true,
        }
    }
}
