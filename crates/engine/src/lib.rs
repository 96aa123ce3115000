//! The pobridge sync engine.
//!
//! [`Engine::receive_order`] is the order endpoint's whole job: check the
//! credentials, store the document durably, queue the sync and produce the
//! cXML answer, without waiting on Brightpearl. [`worker`] runs queued jobs:
//! it turns the latest revision of a purchase order into exactly one
//! Brightpearl sales order, or parks it with a reason a person can act on,
//! and it polls Brightpearl for invoiced orders and posts each invoice to the
//! buyer's Coupa once ([`invoice_out`]).
//!
//! The engine writes no SQL (that is the store's) and speaks no HTTP of its
//! own (the web crate maps [`intake::IntakeReply`] to a response).

pub mod admin;
pub mod alerts;
pub mod auth;
pub mod clients;
pub mod credential_throttle;
pub mod customers;
pub mod errors;
pub mod intake;
pub mod invoice_jobs;
pub mod invoice_out;
pub mod invoice_poll;
pub mod invoicing;
pub mod products;
pub mod reference;
pub mod retention;
pub mod sales_order;
pub mod settings;
pub mod sync;
mod sync_batch;
pub mod validate;
pub mod worker;

use std::sync::Arc;

use pobridge_core::Clock;
use pobridge_coupa::CoupaClient;
use pobridge_store::Store;

pub use clients::ClientPool;
pub use intake::{IntakeReply, IntakeRequest};
pub use pobridge_coupa::PrivateAddresses;

/// Engine settings read from the service configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub limits: pobridge_cxml::Limits,
    /// Host name used in the payloadIDs of the cXML pobridge writes.
    pub payload_host: String,
    /// How long a worker's claim on a job lasts before another may take it.
    pub job_lease: chrono::Duration,
    /// Jobs a worker claims at once.
    pub job_batch: i64,
    /// The longest a job waits before its next attempt after a failure.
    /// A later `run_at` that a job asks for (backoff reaches one hour) is
    /// brought forward to this.
    pub max_retry_delay: chrono::Duration,
    /// How many ready sync jobs of one account run together, so that their
    /// sales orders go to Brightpearl in one multi-message (at most ten).
    /// 1, the default here, sends every sales order on its own; the
    /// service's configuration defaults to 10.
    pub sales_order_batch: usize,
    /// Bytes of order bodies read and handled at the same time. A request
    /// waits, its body unread, until its announced length (or the body
    /// limit, when none is announced) fits, so that unauthenticated senders
    /// cannot make the server hold more than this much body at once.
    pub max_buffered_body_bytes: usize,
    /// How long one post of an invoice to a buyer's Coupa may take. A post
    /// that outlasts it has an unknown outcome and is retried.
    pub coupa_timeout: std::time::Duration,
    /// Whether invoices may be posted to loopback, private and link-local
    /// addresses. Rejected by default, because each account's staff choose
    /// their buyers' invoice URLs. The invoice-URL checks of [`admin`] follow
    /// it too.
    pub coupa_private_addresses: PrivateAddresses,
    /// The base URL buyers post orders to, such as
    /// `https://pobridge.example.com`. A ProfileResponse names the order URL
    /// under it, and leaves its URLs empty when this is `None`.
    pub public_url: Option<String>,
    /// When the periodic alert check e-mails an account's users.
    pub alerts: alerts::AlertConfig,
    /// When raw document bodies are removed.
    pub retention: retention::RetentionConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            limits: pobridge_cxml::Limits::default(),
            payload_host: "pobridge.local".to_owned(),
            job_lease: chrono::Duration::seconds(60),
            job_batch: 8,
            max_retry_delay: chrono::Duration::hours(1),
            sales_order_batch: 1,
            max_buffered_body_bytes: 32 * 1024 * 1024,
            coupa_timeout: std::time::Duration::from_secs(60),
            coupa_private_addresses: PrivateAddresses::Reject,
            public_url: None,
            alerts: alerts::AlertConfig::default(),
            retention: retention::RetentionConfig::default(),
        }
    }
}

/// The engine: a store, a clock, Brightpearl clients, the Coupa client and
/// the configuration.
#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub clients: ClientPool,
    /// Posts invoices to buyers' Coupa with [`EngineConfig::coupa_timeout`],
    /// over an HTTP client of its own that follows
    /// [`EngineConfig::coupa_private_addresses`].
    pub coupa: CoupaClient,
    pub config: Arc<EngineConfig>,
    /// Woken when a job is queued, so an idle worker starts at once.
    pub wake: Arc<tokio::sync::Notify>,
    /// Serializes finding or creating a contact for the same company.
    pub contact_locks: customers::ContactLocks,
    /// Failed credential checks at the order endpoint, per client.
    pub credential_throttle: Arc<credential_throttle::CredentialThrottle>,
}

impl Engine {
    /// Stores a new buyer, keeping only a digest of its shared secret.
    pub async fn create_buyer(
        &self,
        account: pobridge_core::AccountId,
        mut buyer: pobridge_store::NewBuyer,
    ) -> pobridge_store::StoreResult<pobridge_store::Buyer> {
        buyer.shared_secret = buyer.shared_secret.as_deref().map(auth::digest_secret);
        self.store
            .create_buyer(account, &buyer, self.clock.now())
            .await
    }

    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        clients: ClientPool,
        config: EngineConfig,
    ) -> Self {
        let coupa = CoupaClient::new(config.coupa_timeout, config.coupa_private_addresses);
        Self {
            store,
            clock,
            clients,
            coupa,
            config: Arc::new(config),
            wake: Arc::new(tokio::sync::Notify::new()),
            contact_locks: customers::ContactLocks::default(),
            credential_throttle: Arc::default(),
        }
    }
}
