//! Coupa buyers: their credentials, mode and order URL.

use pobridge_core::{AccountSlug, BuyerId};
use pobridge_coupa::PrivateAddresses;
use pobridge_store::{
    Account, Buyer, BuyerMode, CredentialRef, NewBuyer, PoFilter, ReferenceKind, StoreError,
};
use serde::Serialize;

use super::buyer_invoicing::{
    apply_invoicing_field, parse_tax_map, read_settings, settings_for_change, write_settings,
    InvoicingView, TaxMapChange, INVOICING_KEYS,
};
use super::{account, find_buyer, invalid, AdminError, MASKED_SECRET};
use crate::auth::digest_secret;
use crate::settings;
use crate::Engine;

/// Parses a cXML credential written as `DOMAIN:IDENTITY`, such as
/// `NetworkID:AN01000000001`. The identity may itself contain colons.
pub fn parse_credential(field: &'static str, value: &str) -> Result<CredentialRef, AdminError> {
    let expected = "DOMAIN:IDENTITY, such as NetworkID:AN01000000001";
    let Some((domain, identity)) = value.split_once(':') else {
        return Err(invalid(field, value, expected));
    };
    let (domain, identity) = (domain.trim(), identity.trim());
    if domain.is_empty() || identity.is_empty() {
        return Err(invalid(field, value, expected));
    }
    Ok(CredentialRef {
        domain: domain.to_owned(),
        identity: identity.to_owned(),
    })
}

/// Credential by which a new buyer is authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum BuyerAuth {
    /// The Sender credential carries this shared secret.
    SharedSecret(String),
    /// No secret: the buyer posts to its own order URL, which ends in this
    /// unguessable token.
    UrlToken(String),
}

impl std::fmt::Debug for BuyerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuyerAuth::SharedSecret(_) => f.write_str("SharedSecret(********)"),
            BuyerAuth::UrlToken(_) => f.write_str("UrlToken(********)"),
        }
    }
}

/// A buyer as the operator describes it, before validation.
#[derive(Debug, Clone)]
pub struct AddBuyer {
    /// Credentials as `DOMAIN:IDENTITY`.
    pub from: String,
    pub to: String,
    pub sender: String,
    pub auth: BuyerAuth,
    /// `test` or `production`.
    pub mode: String,
    pub invoice_url: Option<String>,
    /// Defaults to the From identity.
    pub name: Option<String>,
}

/// A buyer as shown to the operator. The shared secret is masked, and so is
/// the token of a per-buyer order path except right after the buyer is added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuyerView {
    pub id: BuyerId,
    pub name: String,
    pub from: String,
    pub to: String,
    pub sender: String,
    /// [`MASKED_SECRET`] when the buyer has a secret.
    pub shared_secret: Option<String>,
    /// `/cxml/{account}` or, for a buyer without a secret,
    /// `/cxml/{account}/{token}`, where the token is a credential and is
    /// shown only by [`add_buyer`]; elsewhere only its first
    /// [`TOKEN_PREFIX_SHOWN`] characters are shown.
    pub order_path: String,
    pub mode: BuyerMode,
    pub invoice_url: Option<String>,
    /// The settings of the invoices sent to the buyer's Coupa.
    pub invoicing: InvoicingView,
}

/// Characters of a per-buyer URL token shown in listings, enough to tell
/// two buyers' URLs apart but far too few to guess the rest.
pub const TOKEN_PREFIX_SHOWN: usize = 4;

impl BuyerView {
    fn new(slug: &AccountSlug, buyer: &Buyer, show_token: bool) -> Self {
        let order_path = match &buyer.url_token {
            Some(token) if show_token => format!("/cxml/{slug}/{token}"),
            Some(token) => format!("/cxml/{slug}/{}", mask_token(token)),
            None => format!("/cxml/{slug}"),
        };
        Self {
            id: buyer.id,
            name: buyer.name.clone(),
            from: credential_text(&buyer.from),
            to: credential_text(&buyer.to),
            sender: credential_text(&buyer.sender),
            shared_secret: buyer
                .shared_secret
                .as_ref()
                .map(|_| MASKED_SECRET.to_owned()),
            order_path,
            mode: buyer.mode,
            invoice_url: buyer.invoice_url.clone(),
            invoicing: InvoicingView::new(slug.as_str(), buyer),
        }
    }
}

fn mask_token(token: &str) -> String {
    let prefix: String = token.chars().take(TOKEN_PREFIX_SHOWN).collect();
    format!("{prefix}{MASKED_SECRET}")
}

fn credential_text(credential: &CredentialRef) -> String {
    format!("{}:{}", credential.domain, credential.identity)
}

/// Adds a Coupa buyer to an account after checking every field.
pub async fn add_buyer(
    engine: &Engine,
    slug: &str,
    request: &AddBuyer,
) -> Result<BuyerView, AdminError> {
    let account = account(engine, slug).await?;
    let new_buyer = new_buyer(request)?;
    if let Some(url) = &request.invoice_url {
        check_invoice_host(engine, "--invoice-url", url)?;
    }

    let existing = engine.store.list_buyers(account.id).await?;
    if let Some(other) = existing
        .iter()
        .find(|buyer| same_credential(&buyer.from, &new_buyer.from))
    {
        return Err(AdminError::FromInUse {
            credential: credential_text(&new_buyer.from),
            buyer: other.name.clone(),
        });
    }

    let mut buyer = match engine.create_buyer(account.id, new_buyer.clone()).await {
        Ok(buyer) => buyer,
        Err(StoreError::Conflict { .. }) => return Err(AdminError::BuyerExists(new_buyer.name)),
        Err(error) => return Err(error.into()),
    };
    // Invoices are sent to the URL in the invoicing settings, which the
    // store creates empty.
    if let Some(url) = &buyer.invoice_url {
        let mut settings = read_settings(&buyer)?;
        settings.invoice_url = Some(url.clone());
        write_settings(&mut buyer, &settings);
        engine.store.update_buyer(account.id, &buyer).await?;
    }
    tracing::info!(tenant.id = %account.id, buyer.id = %buyer.id, buyer.name = %buyer.name, "buyer added");
    Ok(BuyerView::new(&account.slug, &buyer, true))
}

fn new_buyer(request: &AddBuyer) -> Result<NewBuyer, AdminError> {
    let from = parse_credential("--from", &request.from)?;
    let to = parse_credential("--to", &request.to)?;
    let sender = parse_credential("--sender", &request.sender)?;
    let mode = parse_mode("--mode", &request.mode)?;
    let invoice_url = request
        .invoice_url
        .as_deref()
        .map(|url| parse_invoice_url("--invoice-url", url))
        .transpose()?;
    let (shared_secret, url_token) = match &request.auth {
        BuyerAuth::SharedSecret(secret) if secret.trim().is_empty() => {
            return Err(invalid(
                "--secret",
                "",
                "a non-empty shared secret, or --no-secret",
            ));
        }
        BuyerAuth::SharedSecret(secret) => (Some(secret.trim().to_owned()), None),
        BuyerAuth::UrlToken(token) => (None, Some(token.clone())),
    };
    let name = match request.name.as_deref() {
        Some(name) => parse_buyer_name("--name", name)?,
        None => parse_buyer_name("--name", &from.identity)?,
    };
    Ok(NewBuyer {
        name,
        from,
        to,
        sender,
        shared_secret,
        url_token,
        mode,
        invoice_url,
    })
}

/// Maximum characters in a buyer name. The name is a segment of the buyer's
/// page URL in the portal, and a much longer one makes that URL too long
/// for servers and browsers.
pub const MAX_BUYER_NAME_CHARS: usize = 100;

/// Names the portal's routes take under `/settings/buyers/`, plus the dot
/// segments that browsers drop from a path, so no buyer page could have them.
const RESERVED_BUYER_NAMES: [&str; 3] = ["new", ".", ".."];

/// Checks a buyer name as given to `buyer add --name` or `buyer set name`
/// and returns it trimmed. The portal percent-encodes the name in its URLs,
/// so `/`, `?`, `#` and `%` are allowed. Buyers stored before these rules
/// keep their names, because only a new name is checked.
pub(super) fn parse_buyer_name(field: &'static str, value: &str) -> Result<String, AdminError> {
    let name = value.trim();
    let length = name.chars().count();
    if name.is_empty() {
        return Err(invalid(field, value, "a non-empty buyer name"));
    }
    if length > MAX_BUYER_NAME_CHARS {
        let start: String = name.chars().take(40).collect();
        return Err(invalid(
            field,
            &format!("{start}..."),
            format!(
                "a buyer name of at most {MAX_BUYER_NAME_CHARS} characters; this one has {length}"
            ),
        ));
    }
    if RESERVED_BUYER_NAMES
        .iter()
        .any(|reserved| name.eq_ignore_ascii_case(reserved))
    {
        return Err(invalid(
            field,
            value,
            "a buyer name other than new, . or .., which the portal's buyer pages use in their URLs",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            value,
            "a buyer name without control characters such as tabs or line breaks",
        ));
    }
    Ok(name.to_owned())
}

fn same_credential(a: &CredentialRef, b: &CredentialRef) -> bool {
    a.domain.eq_ignore_ascii_case(&b.domain) && a.identity == b.identity
}

fn parse_mode(field: &'static str, value: &str) -> Result<BuyerMode, AdminError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "test" => Ok(BuyerMode::Test),
        "production" => Ok(BuyerMode::Production),
        _ => Err(invalid(field, value, "test or production")),
    }
}

pub(super) fn parse_invoice_url(field: &'static str, value: &str) -> Result<String, AdminError> {
    let expected = "an absolute http or https URL";
    // A rejected value is shown without its password.
    let without_password = pobridge_core::hide_url_password(value);
    let url = reqwest::Url::parse(value.trim())
        .map_err(|_| invalid(field, &without_password, expected))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(field, &without_password, expected));
    }
    if has_credentials(&url) {
        // The message shows the URL without them, so the password stays out
        // of terminals, logs and the portal.
        let mut without_credentials = url.clone();
        let _ = without_credentials.set_username("");
        let _ = without_credentials.set_password(None);
        return Err(invalid(
            field,
            without_credentials.as_str(),
            "a URL without a user name or password, since Coupa checks an invoice by its \
             shared secret",
        ));
    }
    Ok(url.to_string())
}

/// Returns whether `url` carries a user name or password.
fn has_credentials(url: &reqwest::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Rejects an invoice URL whose host is `localhost` or a literal loopback,
/// private or link-local address while the engine rejects private Coupa
/// addresses, since nothing would be posted to it. Host names are checked
/// only when an invoice is sent, so that no form waits on a DNS lookup. A
/// value that is not a URL passes here and fails the URL check.
pub(super) fn check_invoice_host(
    engine: &Engine,
    field: &'static str,
    value: &str,
) -> Result<(), AdminError> {
    if engine.config.coupa_private_addresses == PrivateAddresses::Allow {
        return Ok(());
    }
    let Ok(url) = reqwest::Url::parse(value.trim()) else {
        return Ok(());
    };
    if has_credentials(&url) {
        // `parse_invoice_url` rejects it with a message that hides them.
        return Ok(());
    }
    pobridge_coupa::address::check_url_host(&url).map_err(|reason| {
        AdminError::InvoiceUrlNotAllowed {
            field,
            value: value.trim().to_owned(),
            reason,
        }
    })
}

/// Lists an account's buyers with their secrets masked.
pub async fn list_buyers(engine: &Engine, slug: &str) -> Result<Vec<BuyerView>, AdminError> {
    let account = account(engine, slug).await?;
    let buyers = engine.store.list_buyers(account.id).await?;
    Ok(buyers
        .iter()
        .map(|buyer| BuyerView::new(&account.slug, buyer, false))
        .collect())
}

/// The keys [`set_buyer`] takes: the buyer's own fields, then its
/// invoicing settings.
pub const BUYER_KEYS: [&str; 20] = [
    "name",
    "to",
    "sender",
    "mode",
    "invoice-url",
    "secret",
    INVOICING_KEYS[0],
    INVOICING_KEYS[1],
    INVOICING_KEYS[2],
    INVOICING_KEYS[3],
    INVOICING_KEYS[4],
    INVOICING_KEYS[5],
    INVOICING_KEYS[6],
    INVOICING_KEYS[7],
    INVOICING_KEYS[8],
    INVOICING_KEYS[9],
    INVOICING_KEYS[10],
    INVOICING_KEYS[11],
    INVOICING_KEYS[12],
    INVOICING_KEYS[13],
];

/// Returns one buyer of the account, with its secrets masked.
pub async fn show_buyer(engine: &Engine, slug: &str, buyer: &str) -> Result<BuyerView, AdminError> {
    let account = account(engine, slug).await?;
    let buyer = find_buyer(engine, &account, buyer).await?;
    Ok(BuyerView::new(&account.slug, &buyer, false))
}

/// A buyer after [`set_buyer`], and the number of waiting jobs the change
/// released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedBuyer {
    pub buyer: BuyerView,
    pub released_jobs: u64,
}

/// Changes one field of a buyer, named by a key of [`BUYER_KEYS`].
/// `invoice-url none` clears the invoice URL. A new `secret` is stored as a
/// salted digest. A buyer that posted to its own order URL then posts to the
/// account's URL with the secret, and its old URL stops working. A `tax-map`
/// code must be one of the account's Brightpearl tax codes.
///
/// The account's waiting jobs are released afterwards, so that invoices held
/// for a missing setting are rebuilt with the new one.
pub async fn set_buyer(
    engine: &Engine,
    slug: &str,
    buyer: &str,
    key: &str,
    value: &str,
) -> Result<ChangedBuyer, AdminError> {
    let account = account(engine, slug).await?;
    let mut buyer = find_buyer(engine, &account, buyer).await?;
    if key == "tax-map" {
        check_tax_code(engine, &account, value).await?;
    }
    if key == "invoice-url" {
        check_invoice_host(engine, "invoice-url", value)?;
    }

    apply_buyer_field(&mut buyer, key, value)?;

    match engine.store.update_buyer(account.id, &buyer).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Err(AdminError::BuyerExists(buyer.name)),
        Err(error) => return Err(error.into()),
    }
    let released_jobs = engine
        .store
        .release_waiting_jobs(account.id, engine.clock.now())
        .await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, buyer.id = %buyer.id, field = %key, released_jobs, "buyer changed");
    Ok(ChangedBuyer {
        buyer: BuyerView::new(&account.slug, &buyer, false),
        released_jobs,
    })
}

/// Checks that a tax code being mapped is one of the account's Brightpearl
/// tax codes, so that a typo is caught now and not when an invoice is built.
async fn check_tax_code(engine: &Engine, account: &Account, value: &str) -> Result<(), AdminError> {
    let TaxMapChange::Set { code, .. } = parse_tax_map(value)? else {
        return Ok(());
    };
    settings::reference_code(
        &*engine.store,
        account.id,
        "tax-map",
        &code,
        ReferenceKind::TaxCodes,
        "tax codes",
    )
    .await?
    .map_err(|error| settings::name_account(error, &account.slug))?;
    Ok(())
}

fn apply_buyer_field(buyer: &mut Buyer, key: &str, value: &str) -> Result<(), AdminError> {
    match key {
        "name" => buyer.name = parse_buyer_name("name", value)?,
        "to" => buyer.to = parse_credential("to", value)?,
        "sender" => buyer.sender = parse_credential("sender", value)?,
        "mode" => buyer.mode = parse_mode("mode", value)?,
        "invoice-url" => {
            let url = match value.trim() {
                "none" => None,
                _ => Some(parse_invoice_url("invoice-url", value)?),
            };
            let mut settings = settings_for_change(buyer, key)?;
            settings.invoice_url = url.clone();
            write_settings(buyer, &settings);
            buyer.invoice_url = url;
        }
        "secret" => {
            let secret = value.trim();
            if secret.is_empty() {
                return Err(invalid("secret", "", "a non-empty shared secret"));
            }
            buyer.shared_secret = Some(digest_secret(secret));
            buyer.url_token = None;
        }
        _ if INVOICING_KEYS.contains(&key) => {
            let mut settings = settings_for_change(buyer, key)?;
            apply_invoicing_field(&mut settings, key, value)?;
            write_settings(buyer, &settings);
        }
        _ => {
            let expected = format!("one of {}", BUYER_KEYS.join(", "));
            return Err(invalid("key", key, expected));
        }
    }
    Ok(())
}

/// Removes a buyer that has no purchase orders, with its stored documents,
/// Coupa items and mappings. A buyer with orders is rejected with their
/// count, because the orders refer to it.
pub async fn remove_buyer(engine: &Engine, slug: &str, buyer: &str) -> Result<(), AdminError> {
    let account = account(engine, slug).await?;
    let buyer = find_buyer(engine, &account, buyer).await?;

    match engine.store.delete_buyer(account.id, buyer.id).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            let filter = PoFilter {
                buyer: Some(buyer.id),
                ..PoFilter::default()
            };
            let orders = engine
                .store
                .list_purchase_orders(account.id, &filter)
                .await?;
            return Err(AdminError::BuyerHasOrders {
                buyer: buyer.name,
                count: orders.len(),
            });
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(tenant.id = %account.id, buyer.id = %buyer.id, "buyer removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_splits_at_first_colon() {
        let parsed = parse_credential("--from", "NetworkID:AN:01").unwrap();
        assert_eq!(parsed.domain, "NetworkID");
        assert_eq!(parsed.identity, "AN:01");
    }

    #[test]
    fn credential_without_domain_or_identity_is_rejected() {
        for value in ["NetworkID", ":AN01", "NetworkID:", ""] {
            let error = parse_credential("--from", value).unwrap_err().to_string();
            assert!(error.contains("DOMAIN:IDENTITY"), "{value:?}: {error}");
        }
    }

    #[test]
    fn listed_url_token_shows_only_its_prefix() {
        assert_eq!(mask_token("AbCdEfGhIj"), "AbCd********");
        assert_eq!(mask_token("ab"), "ab********");
    }

    fn tokened_buyer() -> Buyer {
        Buyer {
            url_token: Some("AbCdEfGh".to_owned()),
            invoice_url: Some("https://coupa.example/inv".to_owned()),
            ..crate::admin::test_buyer()
        }
    }

    #[test]
    fn new_secret_is_digested_and_replaces_token() {
        let mut buyer = tokened_buyer();

        apply_buyer_field(&mut buyer, "secret", " s3cret \n").unwrap();

        let stored = buyer.shared_secret.unwrap();
        assert!(stored.starts_with("sha256$"), "{stored}");
        assert!(!stored.contains("s3cret"), "{stored}");
        assert!(crate::auth::verify_secret("s3cret", &stored));
        assert_eq!(buyer.url_token, None);
    }

    #[test]
    fn invoice_url_none_clears_it() {
        let mut buyer = tokened_buyer();

        apply_buyer_field(&mut buyer, "invoice-url", "none").unwrap();

        assert_eq!(buyer.invoice_url, None);
        assert_eq!(buyer.invoicing["invoice_url"], serde_json::Value::Null);
    }

    #[test]
    fn invoice_url_is_written_to_invoicing_settings() {
        let mut buyer = tokened_buyer();

        apply_buyer_field(
            &mut buyer,
            "invoice-url",
            "https://acme.coupahost.com/cxml/invoices",
        )
        .unwrap();

        let url = "https://acme.coupahost.com/cxml/invoices";
        assert_eq!(buyer.invoice_url.as_deref(), Some(url));
        assert_eq!(buyer.invoicing["invoice_url"], url);
    }

    #[test]
    fn invoicing_key_changes_only_invoicing() {
        let mut buyer = tokened_buyer();

        apply_buyer_field(&mut buyer, "invoice-secret", "inv-s3cret").unwrap();

        assert_eq!(buyer.invoicing["shared_secret"], "inv-s3cret");
        assert_eq!(buyer.shared_secret, None);
        let view = BuyerView::new(&AccountSlug::parse("acme").unwrap(), &buyer, false);
        assert_eq!(view.invoicing.shared_secret.as_deref(), Some(MASKED_SECRET));
    }

    #[test]
    fn set_checks_values_like_add() {
        let mut buyer = tokened_buyer();
        let cases = [
            ("to", "DUNS"),
            ("sender", ":x"),
            ("mode", "live"),
            ("invoice-url", "ftp://coupa.example/inv"),
            ("name", " "),
            ("secret", ""),
        ];

        for (key, value) in cases {
            let error = apply_buyer_field(&mut buyer, key, value)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(&format!("{key}: ")), "{key}: {error}");
        }
        assert_eq!(buyer, tokened_buyer());
    }

    #[test]
    fn url_breaking_buyer_names_rejected() {
        let long = "b".repeat(MAX_BUYER_NAME_CHARS + 1);
        let cases = [
            ("new", "other than new"),
            ("NEW", "other than new"),
            (".", "other than new, . or .."),
            ("..", "other than new, . or .."),
            (long.as_str(), "at most 100 characters; this one has 101"),
            ("Acme\nLtd", "without control characters"),
            ("Acme\u{7}", "without control characters"),
        ];

        for (name, expected) in cases {
            let error = parse_buyer_name("name", name).unwrap_err().to_string();
            assert!(error.contains(expected), "{name:?}: {error}");
        }
    }

    #[test]
    fn url_characters_kept_in_names() {
        let longest = "b".repeat(MAX_BUYER_NAME_CHARS);
        for name in [
            "Acme/EU",
            "a?b#c%d",
            "newton",
            "...",
            "Bücher & Co",
            &longest,
        ] {
            assert_eq!(parse_buyer_name("name", name).unwrap(), name);
        }
        assert_eq!(parse_buyer_name("name", "  Acme ").unwrap(), "Acme");
    }

    #[test]
    fn default_buyer_name_checked() {
        let mut request = AddBuyer {
            from: "NetworkID:..".to_owned(),
            to: "DUNS:123".to_owned(),
            sender: "NetworkID:AN1".to_owned(),
            auth: BuyerAuth::SharedSecret("s3cret".to_owned()),
            mode: "test".to_owned(),
            invoice_url: None,
            name: None,
        };

        let error = new_buyer(&request).unwrap_err().to_string();
        assert!(error.starts_with("--name: "), "{error}");

        request.name = Some("Acme".to_owned());
        assert_eq!(new_buyer(&request).unwrap().name, "Acme");
    }

    #[test]
    fn unknown_buyer_key_lists_keys() {
        let error = apply_buyer_field(&mut tokened_buyer(), "from", "a:b")
            .unwrap_err()
            .to_string();

        assert!(error.contains("key: \"from\" is not valid"), "{error}");
        assert!(
            error.contains("invoice-url, secret, invoice-from"),
            "{error}"
        );
        assert!(error.contains("dtd-version, payment-days"), "{error}");
    }

    #[test]
    fn buyer_auth_debug_hides_values() {
        let shown = format!("{:?}", BuyerAuth::SharedSecret("s3cret".to_owned()));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
