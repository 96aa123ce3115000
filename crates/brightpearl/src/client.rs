//! The client of one Brightpearl account. The typed calls live in the
//! modules named after the resources they touch.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use pobridge_core::{Clock, Connection};

use crate::auth::TokenState;
use crate::config::ClientConfig;
use crate::custom_fields::CustomFieldMeta;
use crate::limiter::Limiter;
use crate::oauth::TokenSink;
use crate::read_retry::ReadRetries;

/// A client for one Brightpearl account. Cloning is cheap and clones share
/// the tokens, so concurrent 401s on any clone cause one refresh.
#[derive(Clone)]
pub struct BrightpearlClient {
    pub(crate) inner: Arc<Inner>,
    /// The resends of failed reads by this handle. Clones made by
    /// [`BrightpearlClient::with_read_retries`] differ only here.
    pub(crate) read_retries: ReadRetries,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: TokenState,
    /// Order custom-field metadata from the last fetch, used to type patches.
    custom_fields: Mutex<Option<Arc<Vec<CustomFieldMeta>>>>,
    /// Set once Brightpearl rejects custom-field updates inside a
    /// multi-message, so later updates go out singly.
    pub(crate) multi_message_patch_rejected: AtomicBool,
}

impl Inner {
    pub(crate) fn custom_field_cache(&self) -> MutexGuard<'_, Option<Arc<Vec<CustomFieldMeta>>>> {
        self.custom_fields
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl BrightpearlClient {
    /// Builds a client for `connection`. `limiter` must be the one limiter
    /// of this Brightpearl account in the process; `sink` stores tokens
    /// after every refresh.
    pub fn new(
        http: reqwest::Client,
        config: Arc<ClientConfig>,
        connection: Connection,
        limiter: Arc<Limiter>,
        sink: Arc<dyn TokenSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                config,
                limiter,
                clock,
                tokens: TokenState::new(connection, sink),
                custom_fields: Mutex::new(None),
                multi_message_patch_rejected: AtomicBool::new(false),
            }),
            read_retries: ReadRetries::NONE,
        }
    }

    /// Returns the connection with the current tokens, including any refresh.
    pub fn connection(&self) -> Connection {
        self.inner.tokens.snapshot().0
    }

    /// Returns the account's rate limiter.
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.inner.limiter
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner.config
    }
}

impl std::fmt::Debug for BrightpearlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let connection = self.connection();
        f.debug_struct("BrightpearlClient")
            .field("account_code", &connection.account_code)
            .field("api_base", &connection.api_base)
            .finish_non_exhaustive()
    }
}
