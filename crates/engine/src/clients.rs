//! One Brightpearl client per connected account, sharing one limiter per
//! account so that every caller in the process spends the same budget. Each
//! limiter also claims its send slots from the store, so that the processes
//! sharing a PostgreSQL database spend one budget together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pobridge_brightpearl::{
    BrightpearlClient, ClientConfig, Limiter, SharedBudget, SlotClaim, TokenSink,
};
use pobridge_core::{AccountId, Clock, Connection};
use pobridge_store::{SendSlot, Store, StoreResult};

/// Builds and caches Brightpearl clients for accounts.
#[derive(Clone)]
pub struct ClientPool {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    limiters: Arc<Mutex<HashMap<AccountId, Arc<Limiter>>>>,
    /// Clients kept between jobs, with the stored connection each was built
    /// from, so that what a client caches (custom-field metadata, fresh
    /// tokens) is not thrown away after every job.
    clients: Arc<Mutex<HashMap<AccountId, (Connection, BrightpearlClient)>>>,
}

impl ClientPool {
    pub fn new(
        http: reqwest::Client,
        config: ClientConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            config: Arc::new(config),
            store,
            clock,
            limiters: Arc::new(Mutex::new(HashMap::new())),
            clients: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Returns a client for the account's stored connection, or `None` when
    /// the account has never connected Brightpearl.
    pub async fn client(&self, account: AccountId) -> StoreResult<Option<BrightpearlClient>> {
        let Some(connection) = self.store.connection(account).await? else {
            return Ok(None);
        };
        Ok(Some(self.client_for(account, connection)))
    }

    /// Returns the account's client for `connection`, the stored
    /// connection. A cached client is reused while the stored connection is
    /// the one it was built from or the one it has refreshed to. A
    /// reconnection replaces it.
    pub fn client_for(&self, account: AccountId, connection: Connection) -> BrightpearlClient {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((built_from, client)) = clients.get(&account) {
            if *built_from == connection || client.connection() == connection {
                return client.clone();
            }
        }
        let sink = Arc::new(StoreTokenSink {
            store: self.store.clone(),
            account,
        });
        let client = BrightpearlClient::new(
            self.http.clone(),
            self.config.clone(),
            connection.clone(),
            self.limiter(account),
            sink,
            self.clock.clone(),
        );
        clients.insert(account, (connection, client.clone()));
        client
    }

    /// Returns the account's limiter, creating it on first use.
    pub fn limiter(&self, account: AccountId) -> Arc<Limiter> {
        let mut limiters = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        limiters
            .entry(account)
            .or_insert_with(|| {
                let budget = Arc::new(StoreSendBudget {
                    store: self.store.clone(),
                    account,
                });
                let limiter = Limiter::new(
                    self.config.requests_per_minute,
                    self.config.throttle_reserve,
                )
                .with_window(self.config.requests_window)
                .with_multi_message_cost(self.config.multi_message_cost)
                .with_shared_budget(budget);
                Arc::new(limiter)
            })
            .clone()
    }

    /// Brightpearl requests sent for `account` by this process so far.
    pub fn requests_sent(&self, account: AccountId) -> u64 {
        self.limiter(account).requests_sent()
    }
}

/// Persists refreshed tokens so a restart keeps them.
struct StoreTokenSink {
    store: Arc<dyn Store>,
    account: AccountId,
}

#[async_trait]
impl TokenSink for StoreTokenSink {
    async fn save(&self, connection: &Connection) -> Result<(), String> {
        self.store
            .save_connection(self.account, connection)
            .await
            .map_err(|error| format!("could not store refreshed Brightpearl tokens: {error}"))
    }
}

/// The account's send slots in the store, which every process on a shared
/// database claims from.
struct StoreSendBudget {
    store: Arc<dyn Store>,
    account: AccountId,
}

#[async_trait]
impl SharedBudget for StoreSendBudget {
    async fn claim(&self, limit: u32, window: Duration, count: u32) -> Result<SlotClaim, String> {
        let slot = self
            .store
            .claim_send_slot(self.account, limit, window, count)
            .await
            .map_err(|error| match std::error::Error::source(&error) {
                Some(cause) => format!("{error}: {cause}"),
                None => error.to_string(),
            })?;
        Ok(match slot {
            SendSlot::Granted => SlotClaim::Granted,
            SendSlot::Full(wait) => SlotClaim::Full(wait),
        })
    }
}
