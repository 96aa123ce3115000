//! The [`Sandbox`] handle and its Rust test controls.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pobridge_core::Clock;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::account::Account;
use crate::config::SandboxConfig;
use crate::faults::Faults;
use crate::oauth::AuthCode;
use crate::throttle::max_in_any_window;
use crate::webhooks::Event;

/// A running simulator's shared state. Cloning is cheap; clones share the
/// same accounts.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub clock: Arc<dyn Clock>,
    pub state: Mutex<State>,
    /// The base URL `spawn_local` bound, used for `api_domain` when the
    /// configuration leaves it empty.
    pub bound_base_url: Mutex<Option<String>>,
    pub http: reqwest::Client,
}

/// Everything behind the sandbox's one lock.
pub(crate) struct State {
    pub accounts: BTreeMap<String, Account>,
    pub next_instance_id: u64,
    pub auth_codes: HashMap<String, AuthCode>,
}

impl State {
    /// The account, created with the sample catalogue when missing.
    pub fn ensure_account(&mut self, code: &str, config: &SandboxConfig) -> &mut Account {
        if !self.accounts.contains_key(code) {
            let instance_id = self.next_instance_id;
            self.next_instance_id += 1;
            self.accounts
                .insert(code.to_owned(), Account::new(code, instance_id, config));
        }
        self.accounts
            .get_mut(code)
            .unwrap_or_else(|| unreachable!("the account was inserted above"))
    }
}

/// Credentials of a sandbox account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountHandle {
    pub code: String,
    /// The installation id token replies carry as `installation_instance_id`.
    pub installation_instance_id: String,
    /// The private-app token accepted as `brightpearl-account-token`.
    pub account_token: String,
    /// The private-app token accepted as `brightpearl-staff-token`.
    pub staff_token: String,
}

/// Tokens as if the OAuth flow had just completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub installation_instance_id: String,
    pub api_domain: String,
}

/// One API request an account received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path_and_query: String,
    /// The status the sandbox produced; for a dropped connection, the status
    /// the client never received.
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// Why a test control could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox account {0:?} does not exist")]
    UnknownAccount(String),
    #[error("order {0} does not exist")]
    UnknownOrder(u64),
    #[error("order {0} is already invoiced")]
    AlreadyInvoiced(u64),
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    #[error("order {0} is not invoiced")]
    NotInvoiced(u64),
    #[error("order {order_id} has no row {row_id}")]
    UnknownRow { order_id: u64, row_id: u64 },
    #[error(
        "quantity {requested} of row {row_id} is invalid: expected more than 0 and at most {available}"
    )]
    InvalidQuantity {
        row_id: u64,
        requested: Decimal,
        available: Decimal,
    },
}

impl Sandbox {
    /// Creates a sandbox with no accounts.
    pub fn new(config: SandboxConfig, clock: Arc<dyn Clock>) -> Self {
        let shared = Shared {
            config,
            clock,
            state: Mutex::new(State {
                accounts: BTreeMap::new(),
                next_instance_id: 13,
                auth_codes: HashMap::new(),
            }),
            bound_base_url: Mutex::new(None),
            http: reqwest::Client::new(),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_bound_base_url(&self, base_url: &str) {
        *self
            .shared
            .bound_base_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(base_url.to_owned());
    }

    fn default_api_domain(&self) -> String {
        if !self.config().api_domain.is_empty() {
            return self.config().api_domain.clone();
        }
        self.shared
            .bound_base_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .unwrap_or_default()
    }

    pub(crate) fn has_account(&self, code: &str) -> bool {
        self.lock().accounts.contains_key(code)
    }

    /// Runs `f` on the account, or returns `UnknownAccount`.
    pub(crate) fn with_account<T>(
        &self,
        code: &str,
        f: impl FnOnce(&mut Account, DateTime<Utc>) -> Result<T, SandboxError>,
    ) -> Result<T, SandboxError> {
        let now = self.now();
        let mut state = self.lock();
        let account = state
            .accounts
            .get_mut(code)
            .ok_or_else(|| SandboxError::UnknownAccount(code.to_owned()))?;
        f(account, now)
    }

    fn with_ensured_account<T>(
        &self,
        code: &str,
        f: impl FnOnce(&mut Account, DateTime<Utc>) -> T,
    ) -> T {
        let now = self.now();
        let mut state = self.lock();
        f(state.ensure_account(code, self.config()), now)
    }

    /// Creates an account with the sample catalogue, or returns the existing
    /// one's credentials.
    pub fn create_account(&self, code: &str) -> AccountHandle {
        self.with_ensured_account(code, |account, _| AccountHandle {
            code: account.code.clone(),
            installation_instance_id: account.instance_id.to_string(),
            account_token: account.tokens.account_token.clone(),
            staff_token: account.tokens.staff_token.clone(),
        })
    }

    /// Issues tokens as if a person had approved the app for `code`,
    /// creating the account when needed.
    pub fn connect(&self, code: &str) -> TokenGrant {
        let api_domain = self.default_api_domain();
        self.with_ensured_account(code, |account, now| {
            let access = account.issue_access_token(now);
            let refresh_token = account.issue_refresh_token();
            TokenGrant {
                access_token: access.token,
                refresh_token,
                expires_in: (access.expires_at - now).num_seconds(),
                installation_instance_id: account.instance_id.to_string(),
                api_domain,
            }
        })
    }

    /// Makes every access token of the account expired, so the next API
    /// call gets 401 "Authorization token expired".
    pub fn expire_access_tokens(&self, code: &str) {
        self.with_ensured_account(code, |account, now| {
            for token in &mut account.tokens.access {
                token.expires_at = token.expires_at.min(now - chrono::Duration::seconds(1));
            }
        });
    }

    /// Forgets every refresh token of the account, so refreshing fails with
    /// `invalid_grant` and a person must approve the app again.
    pub fn revoke_refresh_tokens(&self, code: &str) {
        self.with_ensured_account(code, |account, _| account.tokens.refresh.clear());
    }

    /// Replaces the account's pending faults.
    pub fn set_faults(&self, code: &str, faults: Faults) {
        self.with_ensured_account(code, |account, _| {
            account.faults = faults;
            account.fault_requests = 0;
        });
    }

    /// Counts `n` requests against the account's current window, standing
    /// for other apps that share the pool.
    pub fn preconsume_quota(&self, code: &str, n: u32) {
        self.with_ensured_account(code, |account, now| account.quota.preconsume(now, n));
    }

    /// The account's sales orders as Order GET returns them, by id.
    pub fn sales_orders(&self, code: &str) -> Vec<Value> {
        self.with_account(code, |account, _| {
            Ok(account
                .orders
                .values()
                .filter(|o| o.order_type == "SO")
                .map(|o| o.to_order_json(&account.catalogue, true))
                .collect())
        })
        .unwrap_or_default()
    }

    /// Every API request the account received, oldest first.
    pub fn request_log(&self, code: &str) -> Vec<LoggedRequest> {
        self.with_account(code, |account, _| Ok(account.log.clone()))
            .unwrap_or_default()
    }

    /// The most API requests the account received inside any sliding window
    /// of length `window`.
    pub fn requests_in_any_window(&self, code: &str, window: Duration) -> u32 {
        let times: Vec<DateTime<Utc>> = self
            .request_log(code)
            .into_iter()
            .map(|entry| entry.at)
            .collect();
        max_in_any_window(&times, window)
    }

    /// Invoices an order at once, as staff would in the Brightpearl UI:
    /// `invoiceReference` becomes the next `SI-nnnn` (`SC-nnnn` for a sales
    /// credit), `state.tax` `INVOICED`, `closedOn` is set, and the tax date
    /// moves to local midnight of today. Returns the invoice reference.
    pub fn invoice_order(&self, code: &str, order_id: u64) -> Result<String, SandboxError> {
        self.with_account(code, |account, now| {
            crate::orders::invoicing::invoice_now(account, order_id, now)
        })
    }

    /// Takes an order's invoice back, as staff would by reversing it:
    /// `invoiceReference` becomes `""`, `state.tax` `READY`, `closedOn` is
    /// removed, and `version` and `updatedOn` move on. Fails with
    /// `NotInvoiced` when there is no invoice or close in progress.
    pub fn uninvoice_order(&self, code: &str, order_id: u64) -> Result<(), SandboxError> {
        self.with_account(code, |account, now| {
            crate::orders::invoicing::uninvoice_now(account, order_id, now)
        })
    }

    /// Splits a back order off a sales order, as staff would: a new sales
    /// order with `parentOrderId` = `order_id` gets the given quantities of
    /// the given rows (and their bundle components), each new row carrying
    /// `clonedFromId`, and the original rows shrink by the same amounts.
    /// `rows` are (row id, quantity) pairs. Returns the new order's id.
    pub fn split_back_order(
        &self,
        code: &str,
        order_id: u64,
        rows: &[(u64, Decimal)],
    ) -> Result<u64, SandboxError> {
        let new_id = self.with_account(code, |account, now| {
            crate::orders::derived::split_back_order(account, order_id, rows, now)
        })?;
        let now = self.now();
        let events = vec![
            Event::new("sales-order.created", new_id, now),
            Event::new("order.modified", order_id, now),
        ];
        self.deliver_webhooks(code, events);
        Ok(new_id)
    }

    /// Raises a sales credit (`orderTypeCode` `SC`, order type 3) against a
    /// sales order, as staff would: its rows are copies of the given
    /// quantities of the given rows, each carrying `clonedFromId`, and it
    /// starts un-invoiced, so [`Sandbox::invoice_order`] can invoice it.
    /// `rows` are (row id, quantity) pairs. Returns the credit's id.
    pub fn raise_sales_credit(
        &self,
        code: &str,
        order_id: u64,
        rows: &[(u64, Decimal)],
    ) -> Result<u64, SandboxError> {
        let credit_id = self.with_account(code, |account, now| {
            crate::orders::derived::raise_sales_credit(account, order_id, rows, now)
        })?;
        let events = vec![Event::new("sales-credit.created", credit_id, self.now())];
        self.deliver_webhooks(code, events);
        Ok(credit_id)
    }

    /// Adds a product given in the Product GET shape; `id` is assigned when
    /// absent. Returns the id.
    pub fn add_product(&self, code: &str, product: Value) -> Result<u64, SandboxError> {
        self.with_ensured_account(code, |account, _| {
            crate::resources::products::insert_product(account, product)
        })
    }

    /// Adds a contact given in the Contact GET shape; `contactId` is
    /// assigned when absent. Returns the id.
    pub fn add_contact(&self, code: &str, contact: Value) -> Result<u64, SandboxError> {
        self.with_ensured_account(code, |account, _| {
            crate::resources::contacts::insert_contact(account, contact)
        })
    }

    /// Adds a postal address given as a Postal Address POST body. Returns
    /// its id.
    pub fn add_postal_address(&self, code: &str, address: Value) -> Result<u64, SandboxError> {
        self.with_ensured_account(code, |account, _| {
            crate::resources::contacts::insert_address(account, &address)
                .map_err(SandboxError::InvalidRecord)
        })
    }

    /// Ships every stock row of an order on one goods-out note, setting
    /// `shippingStatusCode` to `ASS`, and raises the goods-out-note and
    /// order webhooks. Returns the note id.
    pub fn ship_order(
        &self,
        code: &str,
        order_id: u64,
        tracking_reference: &str,
    ) -> Result<u64, SandboxError> {
        let (note_id, events) = self.with_account(code, |account, now| {
            crate::orders::goods_out::ship(account, order_id, tracking_reference, now)
        })?;
        self.deliver_webhooks(code, events);
        Ok(note_id)
    }
}
