//! One simulated Brightpearl account and everything it holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::catalogue::Catalogue;
use crate::config::SandboxConfig;
use crate::faults::Faults;
use crate::orders::model::Order;
use crate::records::{PostalAddress, StoredContact, StoredProduct};
use crate::throttle::Quota;
use crate::webhooks::Webhook;
use crate::LoggedRequest;

/// How long an access token lives: 604800 s, as in the captured grant.
pub(crate) const ACCESS_TOKEN_SECONDS: i64 = 604_800;

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Token state of the account's one installation of the app.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tokens {
    pub access: Vec<AccessToken>,
    pub refresh: Vec<String>,
    /// The private-app `brightpearl-account-token`.
    pub account_token: String,
    /// The private-app `brightpearl-staff-token`.
    pub staff_token: String,
}

/// Next ids per record kind; each starts above the seed's ids.
#[derive(Debug, Clone)]
pub(crate) struct IdCounters {
    pub product: u64,
    pub contact: u64,
    pub address: u64,
    pub order: u64,
    pub row: u64,
    pub webhook: u64,
    pub invoice: u64,
    pub goods_note: u64,
}

impl IdCounters {
    pub fn next(counter: &mut u64) -> u64 {
        let id = *counter;
        *counter += 1;
        id
    }
}

/// One account's whole state.
pub(crate) struct Account {
    pub code: String,
    pub instance_id: u64,
    pub catalogue: Catalogue,
    pub addresses: BTreeMap<u64, PostalAddress>,
    pub contacts: BTreeMap<u64, StoredContact>,
    pub products: BTreeMap<u64, StoredProduct>,
    pub orders: BTreeMap<u64, Order>,
    pub webhooks: BTreeMap<u64, Webhook>,
    pub ids: IdCounters,
    pub tokens: Tokens,
    pub quota: Quota,
    pub faults: Faults,
    /// API requests that reached the faults since they were last set.
    pub fault_requests: u32,
    pub log: Vec<LoggedRequest>,
}

impl Account {
    pub fn new(code: &str, instance_id: u64, config: &SandboxConfig) -> Self {
        let seed = crate::seed::load();
        let ids = IdCounters {
            product: next_after(seed.products.keys()),
            contact: next_after(seed.contacts.keys()),
            address: next_after(seed.addresses.keys()),
            order: 100_001,
            row: 500_001,
            webhook: 1,
            invoice: seed.catalogue.settings.invoice_number_start,
            goods_note: 700_001,
        };
        Self {
            code: code.to_owned(),
            instance_id,
            catalogue: seed.catalogue,
            addresses: seed.addresses,
            contacts: seed.contacts,
            products: seed.products,
            orders: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            ids,
            tokens: Tokens {
                account_token: crate::oauth::random_token("acct"),
                staff_token: crate::oauth::random_token("staff"),
                ..Tokens::default()
            },
            quota: Quota::new(
                config.window_model,
                config.requests_per_window,
                config.window,
            ),
            faults: Faults::default(),
            fault_requests: 0,
            log: Vec::new(),
        }
    }

    /// Issues a fresh access token valid for seven days from `now`.
    pub fn issue_access_token(&mut self, now: DateTime<Utc>) -> AccessToken {
        let token = AccessToken {
            token: crate::oauth::random_token("at"),
            expires_at: now + chrono::Duration::seconds(ACCESS_TOKEN_SECONDS),
        };
        self.tokens.access.push(token.clone());
        token
    }

    pub fn issue_refresh_token(&mut self) -> String {
        let token = crate::oauth::random_token("rt");
        self.tokens.refresh.push(token.clone());
        token
    }
}

fn next_after<'a>(ids: impl Iterator<Item = &'a u64>) -> u64 {
    ids.max().map_or(1, |max| max + 1)
}
