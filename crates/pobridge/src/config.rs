//! The service configuration: built-in defaults, then a TOML file, then
//! `POBRIDGE_` environment variables, then command-line flags.
//!
//! Nested keys are reached from the environment with a double underscore:
//! `POBRIDGE_BRIGHTPEARL__CLIENT_SECRET` sets `brightpearl.client_secret`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use pobridge_engine::PrivateAddresses;
use pobridge_portal::mail::{SmtpSettings, SmtpTls};
use pobridge_portal::PortalConfig;
use pobridge_store::secrets::SEALED_PREFIX;
use pobridge_store::{SecretBox, SecretKeyError, StoreError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The annotated example configuration that `pobridge config example` prints.
pub const EXAMPLE: &str = include_str!("../../../config.example.toml");

/// Everything the service reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[serde(deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// Base URL buyers and portal users reach this server at, used in
    /// printed order URLs and in e-mailed links. An http or https origin,
    /// without a trailing slash once read.
    #[serde(deserialize_with = "public_url")]
    pub public_url: Option<String>,
    pub database_url: String,
    /// Key that encrypts Brightpearl tokens and invoicing shared secrets in
    /// the database, and that decrypts an encrypted `smtp.password`: 32
    /// bytes as standard base64. Unset stores them as given.
    pub secrets_key: Option<SecretString>,
    pub payload_host: String,
    pub log_format: LogFormat,
    /// `tracing` filter directives for `serve`, such as `info` or `pobridge=debug`.
    pub log_level: String,
    pub limits: LimitsConfig,
    pub worker: WorkerConfig,
    pub brightpearl: BrightpearlConfig,
    pub coupa: CoupaConfig,
    pub sandbox: SandboxSettings,
    pub portal: PortalSettings,
    /// The SMTP server for the portal's e-mail; mail stays in the outbox
    /// when it is not set.
    pub smtp: Option<SmtpConfig>,
    pub alerts: AlertsConfig,
    pub retention: RetentionSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            public_url: None,
            database_url: "sqlite://pobridge.db".to_owned(),
            secrets_key: None,
            payload_host: "pobridge.local".to_owned(),
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            limits: LimitsConfig::default(),
            worker: WorkerConfig::default(),
            brightpearl: BrightpearlConfig::default(),
            coupa: CoupaConfig::default(),
            sandbox: SandboxSettings::default(),
            portal: PortalSettings::default(),
            smtp: None,
            alerts: AlertsConfig::default(),
            retention: RetentionSettings::default(),
        }
    }
}

/// Format of the log lines written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Bounds on inbound cXML documents.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(deserialize_with = "at_least_one")]
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "at_least_one")]
    pub max_depth: usize,
    #[serde(deserialize_with = "at_least_one")]
    pub max_attribute_bytes: usize,
    #[serde(deserialize_with = "at_least_one")]
    pub max_attributes: usize,
    #[serde(deserialize_with = "at_least_one")]
    pub max_item_out: usize,
    /// Bytes of order bodies read and handled at the same time.
    #[serde(deserialize_with = "at_least_one")]
    pub max_buffered_body_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let engine = pobridge_engine::EngineConfig::default();
        let limits = engine.limits;
        Self {
            max_body_bytes: limits.max_body_bytes,
            max_depth: limits.max_depth,
            max_attribute_bytes: limits.max_attribute_bytes,
            max_attributes: limits.max_attributes,
            max_item_out: limits.max_item_out,
            max_buffered_body_bytes: engine.max_buffered_body_bytes,
        }
    }
}

/// The job worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// How long a worker's claim on a job lasts before another may take it.
    #[serde(deserialize_with = "at_least_one")]
    pub job_lease_seconds: u32,
    /// Jobs a worker claims and runs at once. 0 runs no job in this
    /// process, which then only serves requests.
    pub job_batch: u16,
    /// The maximum wait, in seconds, before a failed job's next attempt.
    #[serde(deserialize_with = "at_least_one")]
    pub max_retry_delay_seconds: u32,
    /// Sync jobs of one account run together, their sales orders sent in
    /// one multi-message of at most 10; 1 sends each on its own.
    #[serde(deserialize_with = "sales_order_batch")]
    pub sales_order_batch: u16,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let engine = pobridge_engine::EngineConfig::default();
        Self {
            job_lease_seconds: u32::try_from(engine.job_lease.num_seconds()).unwrap_or(300),
            job_batch: u16::try_from(engine.job_batch).unwrap_or(8),
            max_retry_delay_seconds: u32::try_from(engine.max_retry_delay.num_seconds())
                .unwrap_or(3600),
            sales_order_batch: 10,
        }
    }
}

/// The Brightpearl app pobridge connects as, and its client's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrightpearlConfig {
    /// Empty means no app is registered, so `serve` uses the sandbox.
    pub app_ref: String,
    pub dev_ref: Option<String>,
    pub client_secret: Option<SecretString>,
    pub authorize_url_template: String,
    pub token_url_template: String,
    #[serde(deserialize_with = "at_least_one")]
    pub requests_per_minute: u32,
    pub throttle_reserve: u32,
    pub max_throttle_wait_seconds: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub request_timeout_seconds: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub max_ids_per_request: usize,
    pub multi_message_patch: bool,
    pub multi_message_cost: pobridge_brightpearl::MultiMessageCost,
    /// For tests only: the sliding window `requests_per_minute` counts in,
    /// 1 to 60 seconds. Brightpearl's window is a minute, so `serve` warns
    /// when it is set to anything else.
    #[serde(deserialize_with = "window_seconds")]
    pub window_seconds: u64,
}

/// Reads a count, size or time that must be 1 or more: with 0 the service
/// would start and then do nothing, or reject everything.
fn at_least_one<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + From<u8> + std::fmt::Display,
{
    let value = T::deserialize(deserializer)?;
    if value >= T::from(1) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is invalid: expected 1 or more"
        )))
    }
}

/// Reads `worker.sales_order_batch`: a multi-message carries at most 10
/// messages.
fn sales_order_batch<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let value = u16::deserialize(deserializer)?;
    let max = pobridge_brightpearl::MAX_MESSAGES;
    if (1..=max).contains(&usize::from(value)) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is invalid: expected 1 to {max}, since a multi-message carries at most {max} \
             messages"
        )))
    }
}

/// Reads an optional port, which when given must not be 0.
fn optional_port<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u16>, D::Error> {
    match Option::<u16>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom(
            "0 is invalid: expected a port from 1 to 65535, or leave it out for the usual port",
        )),
        port => Ok(port),
    }
}

/// Reads `listen`, an IP address and port such as `127.0.0.1:8080`. The
/// standard parser's error names neither the value nor the form expected.
fn listen_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "listen {text:?} is invalid: expected an IP address and port, such as \
             127.0.0.1:8080 or [::1]:8080 (a host name such as localhost is not accepted)"
        ))
    })
}

/// Reads `public_url`, which must be an http or https origin such as
/// `https://pobridge.example.com`.
fn public_url<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    check_public_url(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Returns `text` without spaces around it or a trailing slash, or an
/// error naming why it cannot be the base of pobridge's links. Every link pobridge
/// builds, and every link in its pages, starts at the root of the address,
/// so a base with a path would break them.
fn check_public_url(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    // Every message shows the value without its password.
    let without_password = pobridge_core::hide_url_password(trimmed);
    let example = "such as https://pobridge.example.com";
    let url = url::Url::parse(trimmed).map_err(|error| {
        format!("public_url {without_password:?} is invalid ({error}): expected the address buyers and users reach pobridge at, {example}")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "public_url {without_password:?} is invalid: expected an http or https address, {example}"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "public_url {without_password:?} with a user name or password is invalid: remove them, {example}"
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "public_url {without_password:?} is invalid: pobridge serves from the root of its address, \
             so give the scheme, host and port only, {example}"
        ));
    }
    Ok(trimmed.trim_end_matches('/').to_owned())
}

/// Reads `brightpearl.window_seconds`, which must be 1 to 60.
fn window_seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = u64::deserialize(deserializer)?;
    if (1..=BRIGHTPEARL_WINDOW_SECONDS).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "brightpearl.window_seconds {value} is invalid: expected 1 to 60, and 60 outside tests"
        )))
    }
}

/// Brightpearl's throttle window, the default of `brightpearl.window_seconds`.
pub const BRIGHTPEARL_WINDOW_SECONDS: u64 = 60;

impl Default for BrightpearlConfig {
    fn default() -> Self {
        let client = pobridge_brightpearl::ClientConfig::default();
        Self {
            app_ref: client.app_ref,
            dev_ref: client.dev_ref,
            client_secret: client.client_secret.map(SecretString::from),
            authorize_url_template: client.authorize_url_template,
            token_url_template: client.token_url_template,
            requests_per_minute: client.requests_per_minute,
            throttle_reserve: client.throttle_reserve,
            max_throttle_wait_seconds: client.max_throttle_wait.as_secs(),
            request_timeout_seconds: client.request_timeout.as_secs(),
            max_ids_per_request: client.max_ids_per_request,
            multi_message_patch: client.multi_message_patch,
            multi_message_cost: client.multi_message_cost,
            window_seconds: client.requests_window.as_secs(),
        }
    }
}

/// Posting invoices to buyers' Coupa.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoupaConfig {
    /// Timeout of one invoice post, in seconds.
    #[serde(deserialize_with = "at_least_one")]
    pub request_timeout_seconds: u64,
    /// Whether invoices may be posted to loopback, private, link-local and
    /// other non-public addresses. Unset, [`Config::coupa_private_addresses`]
    /// decides.
    pub allow_private_addresses: Option<bool>,
}

impl Default for CoupaConfig {
    fn default() -> Self {
        let engine = pobridge_engine::EngineConfig::default();
        Self {
            request_timeout_seconds: engine.coupa_timeout.as_secs(),
            allow_private_addresses: None,
        }
    }
}

/// The built-in Brightpearl simulator served under `/sandbox`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    pub enabled: bool,
    pub requests_per_window: u32,
    pub window_seconds: u64,
    pub window_model: WindowModel,
    /// Delay added to every sandbox API reply.
    pub latency_ms: u64,
    /// Delay added per order row of a Sales Order POST.
    pub latency_per_row_ms: u64,
    /// Whether a multi-message costs one request of quota, or one per message.
    pub multi_message_counts_as_one: bool,
    /// Whether a multi-message may carry PATCH messages.
    pub multi_message_allows_patch: bool,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        let sandbox = pobridge_sandbox::SandboxConfig::default();
        Self {
            enabled: false,
            requests_per_window: sandbox.requests_per_window,
            window_seconds: sandbox.window.as_secs(),
            window_model: WindowModel::CalendarMinute,
            latency_ms: 0,
            latency_per_row_ms: 0,
            multi_message_counts_as_one: sandbox.multi_message_counts_as_one,
            multi_message_allows_patch: sandbox.multi_message_allows_patch,
        }
    }
}

/// The web portal's logins and e-mailed links.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortalSettings {
    /// How long a login lasts, in hours.
    #[serde(deserialize_with = "at_least_one")]
    pub session_hours: i64,
    /// How long a set-password link in a welcome or invitation e-mail
    /// works, in hours.
    #[serde(deserialize_with = "at_least_one")]
    pub link_hours: i64,
    /// Take the client's IP address from the last `X-Forwarded-For` entry,
    /// set by a reverse proxy in front of pobridge. Failed logins and the
    /// order endpoint's failed credential checks are counted under it.
    pub trust_forwarded_for: bool,
}

impl Default for PortalSettings {
    fn default() -> Self {
        let portal = PortalConfig::new("");
        Self {
            session_hours: portal.session_hours,
            link_hours: portal.link_hours,
            trust_forwarded_for: false,
        }
    }
}

/// When alert e-mails go to an account's users.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Minutes between two alert checks of one account.
    #[serde(deserialize_with = "at_least_one")]
    pub check_minutes: u32,
    /// Minutes an order may wait or stay queued before users get a backlog
    /// alert. A value of 0 turns the alert off.
    pub backlog_minutes: u32,
    /// Days without a new order from a production buyer that has sent
    /// orders before users get an alert. A value of 0 turns the alert off.
    pub buyer_silent_days: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        let alerts = pobridge_engine::alerts::AlertConfig::default();
        Self {
            check_minutes: alerts.check_minutes,
            backlog_minutes: alerts.backlog_minutes,
            buyer_silent_days: alerts.buyer_silent_days,
        }
    }
}

/// When the bodies of received cXML documents and sent invoices are removed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days a body is kept; 0 keeps every body.
    pub raw_document_days: u32,
    /// Hours between two removal runs of one account.
    #[serde(deserialize_with = "at_least_one")]
    pub check_hours: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        let retention = pobridge_engine::retention::RetentionConfig::default();
        Self {
            raw_document_days: retention.raw_document_days,
            check_hours: retention.check_hours,
        }
    }
}

/// The security of the connection to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTlsMode {
    /// STARTTLS on a plain connection, required to succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption, only for a relay on the same host or a trusted network.
    None,
}

/// The SMTP server the portal's e-mail is sent through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Defaults to the usual port of `tls`: 587, 465 or 25.
    #[serde(default, deserialize_with = "optional_port")]
    pub port: Option<u16>,
    pub username: Option<String>,
    /// The password as given, or encrypted with `secrets_key` as
    /// `pobridge secret encrypt` prints it (`enc:v1:...`).
    pub password: Option<SecretString>,
    /// The From address, such as `pobridge <pobridge@example.com>`.
    pub from: String,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTlsMode,
}

fn default_smtp_tls() -> SmtpTlsMode {
    SmtpTlsMode::Starttls
}

/// The prefix that marks an encrypted setting, whatever its format version.
const ENCRYPTED_PREFIX: &str = "enc:";

/// An `[smtp]` setting that `serve` cannot use.
#[derive(Debug)]
pub enum SmtpConfigError {
    MissingKey,
    WrongKey,
    Malformed,
    Key(SecretKeyError),
}

impl std::fmt::Display for SmtpConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingKey => f.write_str(
                "smtp.password is encrypted, but no secrets_key is configured: set secrets_key \
                 (or POBRIDGE_SECRETS_KEY) to the key it was encrypted with",
            ),
            Self::WrongKey => f.write_str(
                "smtp.password does not decrypt with the configured secrets_key: set the key it \
                 was encrypted with, or encrypt the password again with `pobridge secret encrypt`",
            ),
            Self::Malformed => write!(
                f,
                "smtp.password starts with \"{ENCRYPTED_PREFIX}\" but is not a value that \
                 `pobridge secret encrypt` prints (\"{SEALED_PREFIX}\" and base64): encrypt the \
                 password again"
            ),
            Self::Key(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for SmtpConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Key(error) => Some(error),
            _ => None,
        }
    }
}

impl From<SecretKeyError> for SmtpConfigError {
    fn from(error: SecretKeyError) -> Self {
        Self::Key(error)
    }
}

/// Returns `password` as the SMTP server expects it: decrypted with
/// `secrets` when it is encrypted, else as given.
fn smtp_password(
    password: &SecretString,
    secrets: &SecretBox,
) -> Result<SecretString, SmtpConfigError> {
    let stored = password.expose_secret().trim();
    if !stored.starts_with(ENCRYPTED_PREFIX) {
        return Ok(password.clone());
    }
    if !stored.starts_with(SEALED_PREFIX) {
        return Err(SmtpConfigError::Malformed);
    }
    if !secrets.has_key() {
        return Err(SmtpConfigError::MissingKey);
    }
    match secrets.open("smtp.password", stored) {
        Ok(plain) => Ok(SecretString::from(plain)),
        Err(StoreError::SecretKey { .. }) => Err(SmtpConfigError::WrongKey),
        Err(_) => Err(SmtpConfigError::Malformed),
    }
}

/// Rule by which the sandbox's request quota resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowModel {
    /// At the start of each window, as Brightpearl's throttle headers show.
    CalendarMinute,
    /// Over any sliding window, as Brightpearl's help page describes it.
    Rolling,
}

/// Reads the configuration from the defaults, `file` (when given) and the
/// environment.
pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
    // Every field has a serde default, so an empty figment yields `Config::default()`.
    let mut figment = Figment::new();
    if let Some(path) = file {
        if !path.exists() {
            return Err(Box::new(figment::Error::from(format!(
                "configuration file {} not found; check --config or POBRIDGE_CONFIG",
                path.display()
            ))));
        }
        figment = figment.merge(Toml::file(path));
    }
    // POBRIDGE_CONFIG names the file and is not a setting itself.
    // The browser tests' POBRIDGE_CHROMIUM and POBRIDGE_CHROMEDRIVER name
    // programs for the test harness, not settings of the service.
    let env =
        Env::prefixed("POBRIDGE_")
            .split("__")
            .ignore(&["config", "chromium", "chromedriver"]);
    figment
        .merge(env)
        .extract()
        .map_err(|error| Box::new(keys_without_profile(error)))
}

/// Names each key of `error` as the user wrote it: `worker.job_lease_seconds`
/// in a file and `POBRIDGE_WORKER__JOB_LEASE_SECONDS` in the environment.
/// figment puts its profile first (`default.worker.job_lease_seconds`), and
/// pobridge reads no profiles, so that prefix names nothing a user wrote.
fn keys_without_profile(error: figment::Error) -> figment::Error {
    let mut errors: Vec<figment::Error> = error
        .into_iter()
        .map(|mut error| {
            error.metadata = error.metadata.map(|metadata| {
                if metadata.name.contains("environment variable") {
                    metadata.interpolater(|_: &figment::Profile, keys: &[&str]| {
                        format!("POBRIDGE_{}", keys.join("__").to_uppercase())
                    })
                } else {
                    metadata.interpolater(|_: &figment::Profile, keys: &[&str]| keys.join("."))
                }
            });
            error
        })
        .collect();
    // `into_iter` took the chain apart, first error first, and `chain`
    // puts its argument in front, so the chain is rebuilt from the end.
    let mut chained = errors.pop().expect("an error yields at least itself");
    while let Some(earlier) = errors.pop() {
        chained = chained.chain(earlier);
    }
    chained
}

impl Config {
    /// Returns whether `serve` runs the sandbox: when `flag` or the
    /// configuration enables it, or when no Brightpearl app is configured.
    pub fn runs_sandbox(&self, flag: bool) -> bool {
        flag || self.sandbox.enabled || self.brightpearl.app_ref.trim().is_empty()
    }

    /// Returns the base URL at which pobridge reaches its own server: the
    /// listen address, with a wildcard address replaced by loopback.
    pub fn loopback_base_url(listen: SocketAddr) -> String {
        let ip = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, listen.port()))
    }

    /// Returns the base URL printed in buyers' order URLs.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => Self::loopback_base_url(self.listen),
        }
    }

    /// Builds the portal settings with `public_url` as the base of e-mailed
    /// links.
    pub fn portal_config(&self, public_url: String) -> PortalConfig {
        let mut portal = PortalConfig::new(public_url);
        portal.session_hours = self.portal.session_hours;
        portal.link_hours = self.portal.link_hours;
        portal
    }

    /// Builds the box that seals secrets in the store from `secrets_key`, or
    /// one without a key when the setting is unset or empty. Fails when the
    /// key is not 32 bytes of standard base64.
    pub fn secret_box(&self) -> Result<SecretBox, SecretKeyError> {
        let key = self.secrets_key.as_ref().map(|key| key.expose_secret());
        match non_empty(key) {
            Some(key) => SecretBox::from_base64(&key),
            None => Ok(SecretBox::without_key()),
        }
    }

    /// Builds the SMTP settings of the mail delivery loop, if configured,
    /// decrypting an encrypted password with `secrets_key`. Fails when the
    /// password is encrypted and the key is missing or a different one.
    pub fn smtp_settings(&self) -> Result<Option<SmtpSettings>, SmtpConfigError> {
        let Some(smtp) = self.smtp.as_ref() else {
            return Ok(None);
        };
        let tls = match smtp.tls {
            SmtpTlsMode::Starttls => SmtpTls::Starttls,
            SmtpTlsMode::Tls => SmtpTls::Tls,
            SmtpTlsMode::None => SmtpTls::None,
        };
        let password = match &smtp.password {
            Some(password) => Some(smtp_password(password, &self.secret_box()?)?),
            None => None,
        };
        Ok(Some(SmtpSettings {
            host: smtp.host.trim().to_owned(),
            port: smtp.port.unwrap_or_else(|| tls.default_port()),
            username: non_empty(smtp.username.as_deref()),
            password,
            from: smtp.from.trim().to_owned(),
            tls,
        }))
    }

    /// Returns true when `smtp.password` is set and not encrypted.
    pub fn smtp_password_in_plain_text(&self) -> bool {
        let password = self.smtp.as_ref().and_then(|smtp| smtp.password.as_ref());
        password.is_some_and(|password| {
            let text = password.expose_secret().trim();
            !text.is_empty() && !text.starts_with(ENCRYPTED_PREFIX)
        })
    }

    /// Decides whether invoices may be posted to private addresses, and
    /// returns the rule that decided it, for `serve` to log. An explicit
    /// `coupa.allow_private_addresses` wins. Unset, they are allowed only
    /// when the process runs the sandbox (`runs_sandbox`), whose Coupa is on
    /// the server's own loopback address.
    pub fn coupa_private_addresses(&self, runs_sandbox: bool) -> (PrivateAddresses, &'static str) {
        match (self.coupa.allow_private_addresses, runs_sandbox) {
            (Some(true), _) => (
                PrivateAddresses::Allow,
                "allowed by coupa.allow_private_addresses = true",
            ),
            (Some(false), _) => (
                PrivateAddresses::Reject,
                "rejected by coupa.allow_private_addresses = false",
            ),
            (None, true) => (
                PrivateAddresses::Allow,
                "allowed because the sandbox Coupa runs on this server's loopback address; \
                 set coupa.allow_private_addresses = false to reject them",
            ),
            (None, false) => (
                PrivateAddresses::Reject,
                "rejected, the default without the sandbox; set \
                 coupa.allow_private_addresses = true only for a Coupa on this server's network",
            ),
        }
    }

    /// Builds the engine settings. `runs_sandbox` is true when the process
    /// runs the sandbox, which allows invoices to private addresses unless
    /// `coupa.allow_private_addresses` is set.
    pub fn engine_config(&self, runs_sandbox: bool) -> pobridge_engine::EngineConfig {
        let defaults = pobridge_engine::EngineConfig::default();
        let mut limits = defaults.limits.clone();
        limits.max_body_bytes = self.limits.max_body_bytes;
        limits.max_depth = self.limits.max_depth;
        limits.max_attribute_bytes = self.limits.max_attribute_bytes;
        limits.max_attributes = self.limits.max_attributes;
        limits.max_item_out = self.limits.max_item_out;
        pobridge_engine::EngineConfig {
            limits,
            payload_host: self.payload_host.clone(),
            job_lease: chrono::Duration::seconds(i64::from(self.worker.job_lease_seconds)),
            job_batch: i64::from(self.worker.job_batch),
            max_retry_delay: chrono::Duration::seconds(i64::from(
                self.worker.max_retry_delay_seconds,
            )),
            sales_order_batch: usize::from(self.worker.sales_order_batch),
            max_buffered_body_bytes: self.limits.max_buffered_body_bytes,
            coupa_timeout: Duration::from_secs(self.coupa.request_timeout_seconds),
            coupa_private_addresses: self.coupa_private_addresses(runs_sandbox).0,
            public_url: Some(self.public_base_url()),
            alerts: pobridge_engine::alerts::AlertConfig {
                check_minutes: self.alerts.check_minutes,
                backlog_minutes: self.alerts.backlog_minutes,
                buyer_silent_days: self.alerts.buyer_silent_days,
            },
            retention: pobridge_engine::retention::RetentionConfig {
                raw_document_days: self.retention.raw_document_days,
                check_hours: self.retention.check_hours,
            },
        }
    }

    /// Builds the Brightpearl client settings. With `sandbox_base` (such as
    /// `http://127.0.0.1:8080/sandbox`) the OAuth URLs point at the sandbox
    /// and an unset app reference becomes the sandbox's default.
    pub fn client_config(&self, sandbox_base: Option<&str>) -> pobridge_brightpearl::ClientConfig {
        let settings = &self.brightpearl;
        let mut client = pobridge_brightpearl::ClientConfig {
            app_ref: settings.app_ref.trim().to_owned(),
            dev_ref: non_empty(settings.dev_ref.as_deref()),
            client_secret: non_empty(
                settings
                    .client_secret
                    .as_ref()
                    .map(|secret| secret.expose_secret()),
            ),
            authorize_url_template: settings.authorize_url_template.clone(),
            token_url_template: settings.token_url_template.clone(),
            requests_per_minute: settings.requests_per_minute,
            requests_window: Duration::from_secs(settings.window_seconds),
            throttle_reserve: settings.throttle_reserve,
            max_throttle_wait: Duration::from_secs(settings.max_throttle_wait_seconds),
            request_timeout: Duration::from_secs(settings.request_timeout_seconds),
            max_ids_per_request: settings.max_ids_per_request,
            multi_message_patch: settings.multi_message_patch,
            multi_message_cost: settings.multi_message_cost,
        };
        if let Some(base) = sandbox_base {
            client.authorize_url_template = format!("{base}/authorize/{{account}}");
            client.token_url_template = format!("{base}/token/{{account}}");
            if client.app_ref.is_empty() {
                client.app_ref = pobridge_sandbox::SandboxConfig::default().app_ref;
            }
        }
        client
    }

    /// Builds the settings of the sandbox served at `api_base` (its `api_domain`),
    /// accepting the app of `client`.
    pub fn sandbox_config(
        &self,
        api_base: &str,
        client: &pobridge_brightpearl::ClientConfig,
    ) -> pobridge_sandbox::SandboxConfig {
        let settings = &self.sandbox;
        pobridge_sandbox::SandboxConfig {
            requests_per_window: settings.requests_per_window,
            window: Duration::from_secs(settings.window_seconds),
            window_model: match settings.window_model {
                WindowModel::CalendarMinute => pobridge_sandbox::WindowModel::CalendarMinute,
                WindowModel::Rolling => pobridge_sandbox::WindowModel::Rolling,
            },
            api_domain: api_base.to_owned(),
            app_ref: client.app_ref.clone(),
            client_secret: client.client_secret.clone(),
            latency: Duration::from_millis(settings.latency_ms),
            latency_per_row: Duration::from_millis(settings.latency_per_row_ms),
            multi_message_counts_as_one: settings.multi_message_counts_as_one,
            multi_message_allows_patch: settings.multi_message_allows_patch,
            ..pobridge_sandbox::SandboxConfig::default()
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<Config, Box<figment::Error>> {
        Figment::new()
            .merge(Toml::string(text))
            .extract()
            .map_err(Box::new)
    }

    #[test]
    fn example_parses_as_the_config() {
        let config = from_toml(EXAMPLE).unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.database_url, "sqlite://pobridge.db");
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let config = from_toml("").unwrap();
        assert_eq!(config.limits.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(config.brightpearl.requests_per_minute, 190);
        assert_eq!(
            config.engine_config(false).coupa_timeout,
            Duration::from_secs(60)
        );
        assert_eq!(
            config.engine_config(false).public_url.as_deref(),
            Some("http://127.0.0.1:8080"),
            "the ProfileResponse URLs start with the listen address"
        );
        assert!(config.runs_sandbox(false), "no app_ref means sandbox");
    }

    #[test]
    fn out_of_range_values_rejected() {
        for (text, expected) in [
            ("[retention]\ncheck_hours = 0", "expected 1 or more"),
            ("[worker]\nsales_order_batch = 11", "expected 1 to 10"),
            ("[worker]\nsales_order_batch = 0", "expected 1 to 10"),
            (
                "[smtp]\nhost = \"mail.example\"\nfrom = \"ops@example.com\"\nport = 0",
                "expected a port from 1 to 65535",
            ),
        ] {
            let error = from_toml(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let config = from_toml("[worker]\nsales_order_batch = 10").unwrap();
        assert_eq!(config.worker.sales_order_batch, 10);
    }

    #[test]
    fn listen_errors_name_the_value_and_form() {
        for text in [
            "127.0.0.1",
            "localhost:18490",
            "127.0.0.1:99999",
            "http://127.0.0.1:8080",
        ] {
            let error = from_toml(&format!("listen = {text:?}"))
                .unwrap_err()
                .to_string();

            assert!(
                error.contains(&format!("listen {text:?} is invalid")),
                "{error}"
            );
            assert!(error.contains("127.0.0.1:8080"), "{error}");
        }
        let config = from_toml("listen = \" [::1]:8090 \"").unwrap();
        assert_eq!(config.listen.port(), 8090);
    }

    #[test]
    fn public_url_is_an_origin() {
        for (text, read) in [
            (
                "https://pobridge.example.com",
                "https://pobridge.example.com",
            ),
            (
                " https://pobridge.example.com/ ",
                "https://pobridge.example.com",
            ),
            ("http://127.0.0.1:8090", "http://127.0.0.1:8090"),
        ] {
            let config = from_toml(&format!("public_url = {text:?}")).unwrap();
            assert_eq!(config.public_url.as_deref(), Some(read), "{text}");
        }
    }

    #[test]
    fn public_url_rejects_other_forms() {
        for (text, expected) in [
            (
                "pobridge.example.com",
                "is invalid (relative URL without a base)",
            ),
            (
                "ftp://pobridge.example.com",
                "expected an http or https address",
            ),
            (
                "https://pobridge.example.com/orders",
                "serves from the root",
            ),
            ("https://pobridge.example.com/?x=1", "serves from the root"),
            ("https://pobridge.example.com/#top", "serves from the root"),
            (
                "https://ops:hunter2@pobridge.example.com",
                "user name or password",
            ),
            (
                "ftp://ops:hunter2@pobridge.example.com",
                "http or https address",
            ),
            ("ops:hunter2@pobridge.example.com", "http or https address"),
            ("https://ops:hunter2@pobridge example.com", "is invalid ("),
        ] {
            let error = from_toml(&format!("public_url = {text:?}"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("public_url"), "{text}: {error}");
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("hunter2"), "{text}: {error}");
        }
    }

    #[test]
    fn retention_settings_reach_the_engine() {
        let defaults = from_toml("").unwrap().engine_config(false).retention;
        let config = from_toml("[retention]\nraw_document_days = 400").unwrap();
        let retention = config.engine_config(false).retention;

        assert_eq!(defaults.raw_document_days, 0);
        assert_eq!(defaults.check_hours, 24);
        assert_eq!(retention.raw_document_days, 400);
        assert_eq!(retention.check_hours, 24);
    }

    #[test]
    fn alert_thresholds_reach_the_engine() {
        let defaults = from_toml("").unwrap().engine_config(false).alerts;
        let config = from_toml("[alerts]\nbacklog_minutes = 30\nbuyer_silent_days = 0").unwrap();
        let alerts = config.engine_config(false).alerts;

        assert_eq!(defaults.backlog_minutes, 240);
        assert_eq!(defaults.buyer_silent_days, 7);
        assert_eq!(alerts.backlog_minutes, 30);
        assert_eq!(alerts.buyer_silent_days, 0);
        assert_eq!(alerts.check_minutes, 15);
    }

    #[test]
    fn private_addresses_follow_sandbox_unless_set() {
        let allowed = |text: &str, runs_sandbox: bool| {
            let config = from_toml(text).unwrap();
            let (rule, _) = config.coupa_private_addresses(runs_sandbox);
            assert_eq!(
                config.engine_config(runs_sandbox).coupa_private_addresses,
                rule
            );
            rule == PrivateAddresses::Allow
        };
        let explicit_true = "[coupa]\nallow_private_addresses = true\n";
        let explicit_false = "[coupa]\nallow_private_addresses = false\n";

        assert!(!allowed("", false), "rejected by default");
        assert!(allowed("", true), "allowed for the sandbox Coupa");
        assert!(allowed(explicit_true, false));
        assert!(allowed(explicit_true, true));
        assert!(!allowed(explicit_false, false));
        assert!(!allowed(explicit_false, true), "an explicit false wins");
        assert_eq!(
            pobridge_engine::EngineConfig::default().coupa_private_addresses,
            PrivateAddresses::Reject
        );
    }

    #[test]
    fn private_address_rule_names_the_setting() {
        let config = from_toml("").unwrap();
        for runs_sandbox in [false, true] {
            let (_, rule) = config.coupa_private_addresses(runs_sandbox);
            assert!(rule.contains("coupa.allow_private_addresses"), "{rule}");
        }
        let (_, sandbox) = config.coupa_private_addresses(true);
        assert!(sandbox.contains("sandbox"), "{sandbox}");
        assert!(from_toml("[coupa]\nallow_private_addresses = \"yes\"\n").is_err());
    }

    #[test]
    fn brightpearl_window_reaches_the_client_and_is_checked() {
        let config = Config::default();
        let client = config.client_config(None);
        assert_eq!(client.requests_window, Duration::from_secs(60));

        let config = from_toml("[brightpearl]\nwindow_seconds = 3\n").unwrap();
        assert_eq!(
            config.client_config(None).requests_window,
            Duration::from_secs(3)
        );
        for bad in ["0", "61"] {
            let error = from_toml(&format!("[brightpearl]\nwindow_seconds = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("expected 1 to 60"), "{bad}: {error}");
        }
    }

    #[test]
    fn zero_counts_and_times_are_rejected() {
        let cases = [
            ("worker", "job_lease_seconds"),
            ("limits", "max_depth"),
            ("brightpearl", "requests_per_minute"),
            ("brightpearl", "request_timeout_seconds"),
            ("coupa", "request_timeout_seconds"),
            ("portal", "session_hours"),
            ("portal", "link_hours"),
            ("alerts", "check_minutes"),
        ];
        for (section, key) in cases {
            let error = from_toml(&format!("[{section}]\n{key} = 0\n"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("expected 1 or more"), "{key}: {error}");
            assert!(error.contains(key), "the error names {key}: {error}");
        }
        let error = from_toml("[portal]\nlink_hours = -2\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("-2 is invalid"), "{error}");
        // 0 is how a process is kept from running jobs.
        let config = from_toml("[worker]\njob_batch = 0\n").unwrap();
        assert_eq!(config.worker.job_batch, 0);
    }

    #[test]
    fn multi_message_cost_reaches_the_client() {
        let config = from_toml("[brightpearl]\nmulti_message_cost = \"per_item\"\n").unwrap();
        assert_eq!(
            config.client_config(None).multi_message_cost,
            pobridge_brightpearl::MultiMessageCost::PerItem
        );
        assert!(from_toml("[brightpearl]\nmulti_message_cost = \"two\"\n").is_err());
    }

    #[test]
    fn file_errors_name_the_key_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pobridge.toml");
        std::fs::write(&path, "[worker]\njob_lease_seconds = \"x\"\n").unwrap();

        let error = load(Some(&path)).unwrap_err().to_string();

        assert!(
            error.contains("for key \"worker.job_lease_seconds\""),
            "{error}"
        );
        assert!(!error.contains("default."), "{error}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let error = from_toml("lisen = \"127.0.0.1:1\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("lisen"), "{error}");
    }

    #[test]
    fn client_secret_is_hidden_from_debug() {
        let config = from_toml("[brightpearl]\nclient_secret = \"s3cr3t-value\"").unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        let client = config.client_config(None);
        assert_eq!(client.client_secret.as_deref(), Some("s3cr3t-value"));
    }

    #[test]
    fn secrets_key_is_optional_and_hidden_from_debug() {
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let config = from_toml(&format!("secrets_key = \"{key}\"")).unwrap();

        assert!(config.secret_box().unwrap().has_key());
        assert!(!format!("{config:?}").contains(key));
        assert!(!from_toml("").unwrap().secret_box().unwrap().has_key());
        assert!(!from_toml("secrets_key = \" \"")
            .unwrap()
            .secret_box()
            .unwrap()
            .has_key());
    }

    #[test]
    fn bad_secrets_key_says_what_to_provide() {
        for bad in ["not base64!", "c2hvcnQ="] {
            let config = from_toml(&format!("secrets_key = \"{bad}\"")).unwrap();

            let error = config.secret_box().unwrap_err().to_string();

            assert!(error.contains("secrets_key"), "{error}");
            assert!(
                error.contains("32 random bytes encoded as standard base64"),
                "{error}"
            );
        }
    }

    #[test]
    fn sandbox_client_uses_sandbox_oauth_urls() {
        let config = from_toml("").unwrap();
        let client = config.client_config(Some("http://127.0.0.1:9/sandbox"));
        assert_eq!(
            client.token_url_template,
            "http://127.0.0.1:9/sandbox/token/{account}"
        );
        assert!(!client.app_ref.is_empty());
    }

    #[test]
    fn smtp_is_off_until_configured() {
        let config = from_toml("").unwrap();

        assert!(config.smtp_settings().unwrap().is_none());
        assert_eq!(config.portal_config("http://x".to_owned()).link_hours, 24);
    }

    #[test]
    fn smtp_port_follows_the_tls_mode() {
        let text = "[smtp]\nhost = \"mail.example.com\"\nfrom = \"pobridge@example.com\"\n\
                    username = \"pobridge\"\npassword = \"smtp-s3cret\"\n";
        let settings = |text: &str| from_toml(text).unwrap().smtp_settings().unwrap().unwrap();
        let starttls = settings(text);
        let tls = settings(&format!("{text}tls = \"tls\"\n"));
        let relay = settings(&format!("{text}tls = \"none\"\nport = 2525\n"));

        assert_eq!((starttls.tls, starttls.port), (SmtpTls::Starttls, 587));
        assert_eq!((tls.tls, tls.port), (SmtpTls::Tls, 465));
        assert_eq!((relay.tls, relay.port), (SmtpTls::None, 2525));
        assert_eq!(starttls.username.as_deref(), Some("pobridge"));
        let shown = format!("{:?}", from_toml(text).unwrap());
        assert!(!shown.contains("smtp-s3cret"), "{shown}");
    }

    const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const OTHER_KEY: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

    fn smtp_with_password(password: &str, key: Option<&str>) -> Config {
        let mut text = format!(
            "[smtp]\nhost = \"mail.example.com\"\nfrom = \"pobridge@example.com\"\n\
             password = \"{password}\"\n"
        );
        if let Some(key) = key {
            text = format!("secrets_key = \"{key}\"\n{text}");
        }
        from_toml(&text).unwrap()
    }

    fn encrypted(plain: &str, key: &str) -> String {
        SecretBox::from_base64(key).unwrap().seal(plain)
    }

    #[test]
    fn encrypted_smtp_password_is_decrypted_with_the_key() {
        let sealed = encrypted("smtp-s3cret", KEY);
        let config = smtp_with_password(&sealed, Some(KEY));

        let settings = config.smtp_settings().unwrap().unwrap();

        let password = settings.password.unwrap();
        assert_eq!(password.expose_secret(), "smtp-s3cret");
        assert!(!config.smtp_password_in_plain_text());
        assert!(!format!("{config:?}").contains("smtp-s3cret"));
    }

    #[test]
    fn plain_smtp_password_is_used_as_given() {
        let config = smtp_with_password("smtp-s3cret", Some(KEY));

        let settings = config.smtp_settings().unwrap().unwrap();

        assert_eq!(settings.password.unwrap().expose_secret(), "smtp-s3cret");
        assert!(config.smtp_password_in_plain_text());
    }

    #[test]
    fn encrypted_smtp_password_without_the_key_is_rejected() {
        let sealed = encrypted("smtp-s3cret", KEY);
        let cases = [
            (
                smtp_with_password(&sealed, None),
                "no secrets_key is configured",
            ),
            (
                smtp_with_password(&sealed, Some(OTHER_KEY)),
                "does not decrypt with the configured secrets_key",
            ),
            (
                smtp_with_password("enc:v9:AAAA", Some(KEY)),
                "encrypt the password again",
            ),
            (
                smtp_with_password("enc:v1:not base64!", Some(KEY)),
                "encrypt the password again",
            ),
        ];
        for (config, expected) in cases {
            let error = config.smtp_settings().unwrap_err().to_string();

            assert!(error.contains("smtp.password"), "{error}");
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("smtp-s3cret"), "{error}");
        }
    }

    #[test]
    fn smtp_needs_host_and_from() {
        let error = from_toml("[smtp]\nhost = \"mail.example.com\"\n")
            .unwrap_err()
            .to_string();

        assert!(error.contains("from"), "{error}");
    }

    #[test]
    fn wildcard_listen_address_is_reached_on_loopback() {
        let listen: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(Config::loopback_base_url(listen), "http://127.0.0.1:8080");
        let listen: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(Config::loopback_base_url(listen), "http://[::1]:8080");
    }
}
