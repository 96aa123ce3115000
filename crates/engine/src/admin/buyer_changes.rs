//! Changing several fields of a buyer at once, as the portal's buyer form
//! does. Every value is checked first with the rules of `set_buyer`, and
//! nothing is stored unless all of them pass, so a form with one mistake
//! changes nothing.

use std::fmt;

use pobridge_store::{Buyer, ReferenceKind};

pub use super::buyer_invoicing::{apply_invoicing_field, parse_tax_map, TaxMapChange};
use super::buyers::{
    check_invoice_host, parse_buyer_name, parse_credential, parse_invoice_url, set_buyer,
    show_buyer, ChangedBuyer,
};
use super::{account, find_buyer, invalid, AdminError};
use crate::invoice_out::prepare::buyer_settings;
use crate::invoicing::BuyerInvoicing;
use crate::settings;
use crate::Engine;

/// One change of a buyer: a key of [`super::BUYER_KEYS`], or `from` for a
/// new buyer, with the value as `set_buyer` takes it. `Debug` hides the
/// value of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BuyerChange {
    pub key: &'static str,
    pub value: String,
}

impl BuyerChange {
    pub fn new(key: &'static str, value: impl Into<String>) -> Self {
        Self {
            key,
            value: value.into(),
        }
    }

    /// Whether the value is a shared secret, which is never logged or
    /// written to the audit trail.
    pub fn is_secret(&self) -> bool {
        is_secret_key(self.key)
    }

    /// Returns the change as the audit trail shows it.
    pub fn audit_text(&self) -> String {
        change_text(self.key, &self.value)
    }
}

/// Returns true when the buyer key `key` takes a shared secret.
fn is_secret_key(key: &str) -> bool {
    matches!(key, "secret" | "invoice-secret")
}

/// Shows a change of the buyer key `key` as `key=value`, or for a shared
/// secret only that it changed, so that no secret reaches the audit trail.
pub fn change_text(key: &str, value: &str) -> String {
    if is_secret_key(key) {
        format!("{key} changed")
    } else {
        format!("{key}={value}")
    }
}

impl fmt::Debug for BuyerChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.is_secret() {
            "********"
        } else {
            &self.value
        };
        write!(f, "{}={value:?}", self.key)
    }
}

/// A change that was not stored, and why.
#[derive(Debug)]
pub struct RejectedChange {
    pub key: &'static str,
    pub error: AdminError,
}

/// The outcome of [`set_buyer_fields`] when not every change was stored.
#[derive(Debug)]
pub struct RejectedChanges {
    pub rejected: Vec<RejectedChange>,
    /// Keys stored before a change failed in a way the checks cannot
    /// foresee, such as a name another buyer took in the meantime. Empty
    /// when the checks rejected the changes.
    pub saved: Vec<&'static str>,
}

/// Checks `changes` against the buyer named `buyer`, or against a new
/// buyer when `buyer` is `None`, without storing anything. Returns every
/// rejected change; changes to the same key are checked in order, so a
/// `tax-map` removal may follow the addition it undoes.
pub async fn check_buyer_changes(
    engine: &Engine,
    slug: &str,
    buyer: Option<&str>,
    changes: &[BuyerChange],
) -> Result<Vec<RejectedChange>, AdminError> {
    let account = account(engine, slug).await?;
    let current = match buyer {
        Some(name) => Some(find_buyer(engine, &account, name).await?),
        None => None,
    };
    let others: Vec<Buyer> = engine
        .store
        .list_buyers(account.id)
        .await?
        .into_iter()
        .filter(|other| current.as_ref().is_none_or(|buyer| buyer.id != other.id))
        .collect();
    let mut invoicing = match &current {
        Some(buyer) => buyer_settings(buyer, &mut Vec::new()),
        None => BuyerInvoicing::default(),
    };

    let mut rejected = Vec::new();
    for change in changes {
        let checked = match change.key {
            "tax-map" => check_tax_map(engine, &account, &mut invoicing, &change.value).await?,
            "invoice-url" => check_invoice_url(&change.value)
                .and_then(|()| check_invoice_host(engine, "invoice-url", &change.value)),
            _ => check_change(&others, &mut invoicing, change),
        };
        if let Err(error) = checked {
            rejected.push(RejectedChange {
                key: change.key,
                error,
            });
        }
    }
    Ok(rejected)
}

fn check_change(
    others: &[Buyer],
    invoicing: &mut BuyerInvoicing,
    change: &BuyerChange,
) -> Result<(), AdminError> {
    let value = change.value.as_str();
    match change.key {
        "from" => {
            let from = parse_credential("from", value)?;
            let taken = others.iter().find(|other| {
                other.from.domain.eq_ignore_ascii_case(&from.domain)
                    && other.from.identity == from.identity
            });
            if let Some(other) = taken {
                return Err(AdminError::FromInUse {
                    credential: format!("{}:{}", from.domain, from.identity),
                    buyer: other.name.clone(),
                });
            }
        }
        "name" => {
            let name = parse_buyer_name("name", value)?;
            if others.iter().any(|other| other.name == name) {
                return Err(AdminError::BuyerExists(name.to_owned()));
            }
        }
        "to" | "sender" => {
            parse_credential(change.key, value)?;
        }
        "mode" => {
            if !matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "test" | "production"
            ) {
                return Err(invalid("mode", value, "test or production"));
            }
        }
        "invoice-url" => check_invoice_url(value)?,
        "secret" => {
            if value.trim().is_empty() {
                return Err(invalid("secret", "", "a non-empty shared secret"));
            }
        }
        key => apply_invoicing_field(invoicing, key, value)?,
    }
    Ok(())
}

/// The rule `set_buyer` applies to `invoice-url`: `none`, or an absolute
/// http or https URL with a host and no user name or password.
fn check_invoice_url(value: &str) -> Result<(), AdminError> {
    if value.trim() == "none" {
        return Ok(());
    }
    parse_invoice_url("invoice-url", value).map(drop)
}

/// Checks a `tax-map` value as `set_buyer` does: its form, and that a
/// mapped code is one of the account's Brightpearl tax codes.
async fn check_tax_map(
    engine: &Engine,
    account: &pobridge_store::Account,
    invoicing: &mut BuyerInvoicing,
    value: &str,
) -> Result<Result<(), AdminError>, AdminError> {
    if let Ok(TaxMapChange::Set { code, .. }) = parse_tax_map(value) {
        let known = settings::reference_code(
            &*engine.store,
            account.id,
            "tax-map",
            &code,
            ReferenceKind::TaxCodes,
            "tax codes",
        )
        .await?;
        if let Err(error) = known {
            return Ok(Err(settings::name_account(error, &account.slug).into()));
        }
    }
    Ok(apply_invoicing_field(invoicing, "tax-map", value))
}

/// Checks every change with [`check_buyer_changes`] and, when all pass,
/// stores them one by one with `set_buyer`, the name last so that the
/// others still find the buyer. Returns the buyer as changed and the
/// waiting jobs released, or the rejected changes.
pub async fn set_buyer_fields(
    engine: &Engine,
    slug: &str,
    buyer: &str,
    changes: &[BuyerChange],
) -> Result<Result<ChangedBuyer, RejectedChanges>, AdminError> {
    let rejected = check_buyer_changes(engine, slug, Some(buyer), changes).await?;
    if !rejected.is_empty() {
        return Ok(Err(RejectedChanges {
            rejected,
            saved: Vec::new(),
        }));
    }

    let mut ordered: Vec<&BuyerChange> = changes.iter().filter(|c| c.key != "name").collect();
    ordered.extend(changes.iter().filter(|c| c.key == "name"));
    let mut changed = ChangedBuyer {
        buyer: show_buyer(engine, slug, buyer).await?,
        released_jobs: 0,
    };
    let mut saved = Vec::new();
    for change in ordered {
        match set_buyer(engine, slug, buyer, change.key, &change.value).await {
            Ok(result) => {
                changed.released_jobs += result.released_jobs;
                changed.buyer = result.buyer;
                saved.push(change.key);
            }
            Err(AdminError::Store(error)) => return Err(AdminError::Store(error)),
            Err(error) => {
                let rejected = vec![RejectedChange {
                    key: change.key,
                    error,
                }];
                return Ok(Err(RejectedChanges { rejected, saved }));
            }
        }
    }
    Ok(Ok(changed))
}

#[cfg(test)]
mod tests {
    use pobridge_coupa::PrivateAddresses;

    use super::*;

    fn other(name: &str, identity: &str) -> Buyer {
        let mut buyer = crate::admin::test_buyer();
        buyer.name = name.to_owned();
        buyer.from.identity = identity.to_owned();
        buyer
    }

    fn check(key: &'static str, value: &str) -> Result<(), AdminError> {
        let others = [other("globex", "AN01")];
        check_change(
            &others,
            &mut BuyerInvoicing::default(),
            &BuyerChange::new(key, value),
        )
    }

    #[test]
    fn own_fields_follow_set_buyer_rules() {
        let cases = [
            ("to", "DUNS"),
            ("sender", ":x"),
            ("mode", "live"),
            ("invoice-url", "ftp://coupa.example/inv"),
            ("name", " "),
            ("secret", " "),
            ("from", "NetworkID"),
        ];
        for (key, value) in cases {
            let error = check(key, value).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{key}: ")), "{key}: {error}");
        }
        for (key, value) in [
            ("to", "DUNS:123"),
            ("mode", "Test"),
            ("invoice-url", "none"),
            ("invoice-url", "https://buyer.coupahost.com/cxml/invoices"),
            ("name", "initech"),
            ("from", "NetworkID:AN02"),
        ] {
            assert!(check(key, value).is_ok(), "{key}={value}");
        }
    }

    #[test]
    fn invoice_url_with_password_rejected() {
        let error = check(
            "invoice-url",
            "https://coupauser:TopSecretPw@buyer.coupahost.com/cxml/invoices",
        )
        .unwrap_err()
        .to_string();

        assert!(error.starts_with("invoice-url: "), "{error}");
        assert!(error.contains("user name or password"), "{error}");
        assert!(
            error.contains("buyer.coupahost.com/cxml/invoices"),
            "{error}"
        );
        assert!(!error.contains("TopSecretPw"), "{error}");
        assert!(!error.contains("coupauser"), "{error}");
    }

    #[test]
    fn invalid_invoice_url_hides_its_password() {
        for value in [
            "ftp://bob:TopSecretPw@coupa.example.com/",
            "https://bob:TopSecretPw@coupa example.com/x",
        ] {
            let error = check("invoice-url", value).unwrap_err().to_string();

            assert!(error.contains("http or https URL"), "{error}");
            assert!(error.contains("bob:****@"), "{error}");
            assert!(!error.contains("TopSecretPw"), "{error}");
        }
    }

    #[test]
    fn taken_name_and_from_are_rejected() {
        let name = check("name", "globex").unwrap_err();
        let from = check("from", "networkid:AN01").unwrap_err();

        assert!(matches!(name, AdminError::BuyerExists(_)), "{name}");
        assert!(matches!(from, AdminError::FromInUse { .. }), "{from}");
    }

    #[test]
    fn invoicing_keys_use_invoicing_rules() {
        let error = check("tax-level", "header").unwrap_err().to_string();
        assert!(error.starts_with("tax-level: "), "{error}");
        assert!(check("payment-days", "30").is_ok());
        let unknown = check("colour", "blue").unwrap_err().to_string();
        assert!(unknown.contains("key: \"colour\""), "{unknown}");
    }

    #[test]
    fn debug_hides_secret_values() {
        let shown = format!("{:?}", BuyerChange::new("invoice-secret", "s3cret"));
        assert!(!shown.contains("s3cret"), "{shown}");
        let plain = format!("{:?}", BuyerChange::new("mode", "test"));
        assert!(plain.contains("test"), "{plain}");
    }

    /// Builds an engine on an empty in-memory store with the account `acme`
    /// and its buyer `AN01`.
    async fn engine_with_buyer(private_addresses: PrivateAddresses) -> Engine {
        let store = pobridge_store::open("sqlite::memory:").await.unwrap();
        let clock: std::sync::Arc<dyn pobridge_core::Clock> = std::sync::Arc::new(
            pobridge_core::ManualClock::new(chrono::DateTime::UNIX_EPOCH),
        );
        let clients = crate::ClientPool::new(
            reqwest::Client::new(),
            pobridge_brightpearl::ClientConfig::default(),
            store.clone(),
            clock.clone(),
        );
        let config = crate::EngineConfig {
            coupa_private_addresses: private_addresses,
            ..crate::EngineConfig::default()
        };
        let engine = Engine::new(store, clock, clients, config);
        crate::admin::create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        crate::admin::add_buyer(&engine, "acme", &new_buyer("AN01", None))
            .await
            .unwrap();
        engine
    }

    fn new_buyer(identity: &str, invoice_url: Option<&str>) -> crate::admin::AddBuyer {
        crate::admin::AddBuyer {
            from: format!("NetworkID:{identity}"),
            to: "DUNS:123".to_owned(),
            sender: format!("NetworkID:{identity}"),
            auth: crate::admin::BuyerAuth::SharedSecret("s3cret".to_owned()),
            mode: "production".to_owned(),
            invoice_url: invoice_url.map(str::to_owned),
            name: None,
        }
    }

    const PRIVATE_URLS: [&str; 6] = [
        "http://127.0.0.1:8080/sandbox-coupa/cxml/invoices",
        "http://localhost:8080/cxml/invoices",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/cxml/invoices",
        "https://[::ffff:192.168.0.1]/cxml/invoices",
        "https://[fd00::1]/cxml/invoices",
    ];

    #[tokio::test]
    async fn private_invoice_url_is_rejected_early() {
        let engine = engine_with_buyer(PrivateAddresses::Reject).await;

        for url in PRIVATE_URLS {
            let error = set_buyer(&engine, "acme", "AN01", "invoice-url", url)
                .await
                .unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, AdminError::InvoiceUrlNotAllowed { .. }),
                "{url}: {message}"
            );
            assert!(message.starts_with("invoice-url: "), "{message}");
            assert!(
                message.contains("coupa.allow_private_addresses"),
                "{message}"
            );

            let changes = [BuyerChange::new("invoice-url", url)];
            let rejected = check_buyer_changes(&engine, "acme", Some("AN01"), &changes)
                .await
                .unwrap();
            assert_eq!(rejected.len(), 1, "{url}");
        }
        let stored = show_buyer(&engine, "acme", "AN01").await.unwrap();
        assert_eq!(stored.invoice_url, None, "nothing was stored");
    }

    #[tokio::test]
    async fn rejected_invoice_url_names_address() {
        let engine = engine_with_buyer(PrivateAddresses::Reject).await;

        let metadata = set_buyer(&engine, "acme", "AN01", "invoice-url", PRIVATE_URLS[2])
            .await
            .unwrap_err()
            .to_string();
        let localhost = set_buyer(&engine, "acme", "AN01", "invoice-url", PRIVATE_URLS[1])
            .await
            .unwrap_err()
            .to_string();

        assert!(
            metadata.contains("169.254.169.254 is a link-local address"),
            "{metadata}"
        );
        assert!(
            localhost.contains("host localhost is a name of this server itself"),
            "{localhost}"
        );
    }

    #[tokio::test]
    async fn new_buyer_private_invoice_url_rejected() {
        let engine = engine_with_buyer(PrivateAddresses::Reject).await;
        let buyer = new_buyer("AN02", Some(PRIVATE_URLS[0]));

        let error = crate::admin::add_buyer(&engine, "acme", &buyer)
            .await
            .unwrap_err()
            .to_string();

        assert!(error.starts_with("--invoice-url: "), "{error}");
        assert!(error.contains("127.0.0.1 is a loopback address"), "{error}");
    }

    #[tokio::test]
    async fn host_names_and_allowed_urls_kept() {
        let guarded = engine_with_buyer(PrivateAddresses::Reject).await;
        // A name is looked up only when an invoice is sent.
        let by_name = "https://coupa.internal.example/cxml/invoices";
        let changed = set_buyer(&guarded, "acme", "AN01", "invoice-url", by_name)
            .await
            .unwrap();
        assert_eq!(changed.buyer.invoice_url.as_deref(), Some(by_name));

        let open = engine_with_buyer(PrivateAddresses::Allow).await;
        for url in PRIVATE_URLS {
            let changed = set_buyer(&open, "acme", "AN01", "invoice-url", url)
                .await
                .unwrap();
            assert!(changed.buyer.invoice_url.is_some(), "{url}");
        }
    }
}
