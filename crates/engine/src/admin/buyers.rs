//! Coupa buyers: their credentials, mode and order URL.

use pobridge_core::{AccountSlug, BuyerId};
use pobridge_store::{Buyer, BuyerMode, CredentialRef, NewBuyer, StoreError};
use serde::Serialize;

use super::{account, invalid, AdminError, MASKED_SECRET};
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

/// A buyer as shown to the operator: the shared secret is masked, the
/// per-buyer order path is given in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuyerView {
    pub id: BuyerId,
    pub name: String,
    pub from: String,
    pub to: String,
    pub sender: String,
    /// [`MASKED_SECRET`] when the buyer has a secret.
    pub shared_secret: Option<String>,
    /// `/cxml/{account}` or, for a buyer without a secret, `/cxml/{account}/{token}`.
    pub order_path: String,
    pub mode: BuyerMode,
    pub invoice_url: Option<String>,
}

impl BuyerView {
    fn new(slug: &AccountSlug, buyer: &Buyer) -> Self {
        let order_path = match &buyer.url_token {
            Some(token) => format!("/cxml/{slug}/{token}"),
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
        }
    }
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

    let buyer = match engine.create_buyer(account.id, new_buyer.clone()).await {
        Ok(buyer) => buyer,
        Err(StoreError::Conflict { .. }) => return Err(AdminError::BuyerExists(new_buyer.name)),
        Err(error) => return Err(error.into()),
    };
    tracing::info!(tenant.id = %account.id, buyer.id = %buyer.id, buyer.name = %buyer.name, "buyer added");
    Ok(BuyerView::new(&account.slug, &buyer))
}

fn new_buyer(request: &AddBuyer) -> Result<NewBuyer, AdminError> {
    let from = parse_credential("--from", &request.from)?;
    let to = parse_credential("--to", &request.to)?;
    let sender = parse_credential("--sender", &request.sender)?;
    let mode = parse_mode(&request.mode)?;
    let invoice_url = request
        .invoice_url
        .as_deref()
        .map(parse_invoice_url)
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
    let name = match request.name.as_deref().map(str::trim) {
        Some("") => return Err(invalid("--name", "", "a non-empty buyer name")),
        Some(name) => name.to_owned(),
        None => from.identity.clone(),
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

fn same_credential(a: &CredentialRef, b: &CredentialRef) -> bool {
    a.domain.eq_ignore_ascii_case(&b.domain) && a.identity == b.identity
}

fn parse_mode(value: &str) -> Result<BuyerMode, AdminError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "test" => Ok(BuyerMode::Test),
        "production" => Ok(BuyerMode::Production),
        _ => Err(invalid("--mode", value, "test or production")),
    }
}

fn parse_invoice_url(value: &str) -> Result<String, AdminError> {
    let expected = "an absolute http or https URL";
    let url =
        reqwest::Url::parse(value.trim()).map_err(|_| invalid("--invoice-url", value, expected))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("--invoice-url", value, expected));
    }
    Ok(url.to_string())
}

/// Lists an account's buyers with their secrets masked.
pub async fn list_buyers(engine: &Engine, slug: &str) -> Result<Vec<BuyerView>, AdminError> {
    let account = account(engine, slug).await?;
    let buyers = engine.store.list_buyers(account.id).await?;
    Ok(buyers
        .iter()
        .map(|buyer| BuyerView::new(&account.slug, buyer))
        .collect())
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
    fn buyer_auth_debug_hides_values() {
        let shown = format!("{:?}", BuyerAuth::SharedSecret("s3cret".to_owned()));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
