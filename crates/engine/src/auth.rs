//! Finding the buyer a document comes from and checking its credentials.
//!
//! The buyer is found by any From credential (domain case-insensitive,
//! identity exact). The document is accepted only if a Sender credential
//! carries that buyer's sender identity and shared secret, and a To
//! credential names the buyer's supplier identity. A buyer configured
//! without a secret is reachable only through its per-buyer URL token.

use pobridge_cxml::{Credential, Header};
use pobridge_store::{Buyer, CredentialRef};
use subtle::ConstantTimeEq;

/// Which credential check failed. Messages name the element and the
/// identity, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the document has no Header with From, To and Sender credentials")]
    MissingHeader,
    #[error("From: no configured buyer has the credential {0}; add the buyer with `pobridge buyer add` or correct the From credential in Coupa")]
    UnknownFrom(String),
    #[error("Sender: the credential {0} with its shared secret does not match buyer {1}; check the Sender identity and shared secret configured in Coupa")]
    SenderMismatch(String, String),
    #[error("To: the document is addressed to {0}, but buyer {1} sends to {2}; check the supplier identity configured in Coupa")]
    ToMismatch(String, String, String),
    #[error("buyer {0} has no shared secret and is reachable only through its own order URL")]
    TokenRequired(String),
}

/// Finds the buyer whose From credential appears in `header` and checks the
/// Sender and To credentials against it. `url_token_buyer` is the buyer named
/// by a per-buyer URL token, when the request came in through one.
pub fn authenticate<'a>(
    header: Option<&Header>,
    buyers: &'a [Buyer],
    url_token_buyer: Option<&'a Buyer>,
) -> Result<&'a Buyer, AuthError> {
    let header = header.ok_or(AuthError::MissingHeader)?;

    let candidates: Vec<&Buyer> = match url_token_buyer {
        Some(buyer) => vec![buyer],
        None => buyers.iter().collect(),
    };
    let buyer = candidates
        .into_iter()
        .find(|buyer| {
            header
                .from
                .iter()
                .any(|credential| same_party(credential, &buyer.from))
        })
        .ok_or_else(|| AuthError::UnknownFrom(describe(header.from.first())))?;

    match &buyer.shared_secret {
        Some(secret) => {
            let sender_ok = header.sender.iter().any(|credential| {
                same_party(credential, &buyer.sender) && secret_matches(credential, secret)
            });
            if !sender_ok {
                return Err(AuthError::SenderMismatch(
                    describe(header.sender.first()),
                    buyer.name.clone(),
                ));
            }
        }
        None => {
            if url_token_buyer.is_none() {
                return Err(AuthError::TokenRequired(buyer.name.clone()));
            }
            if !header
                .sender
                .iter()
                .any(|credential| same_party(credential, &buyer.sender))
            {
                return Err(AuthError::SenderMismatch(
                    describe(header.sender.first()),
                    buyer.name.clone(),
                ));
            }
        }
    }

    if !header
        .to
        .iter()
        .any(|credential| same_party(credential, &buyer.to))
    {
        return Err(AuthError::ToMismatch(
            describe(header.to.first()),
            buyer.name.clone(),
            format!("{}:{}", buyer.to.domain, buyer.to.identity),
        ));
    }
    Ok(buyer)
}

fn same_party(credential: &Credential, configured: &CredentialRef) -> bool {
    credential
        .domain
        .trim()
        .eq_ignore_ascii_case(configured.domain.trim())
        && credential.identity.trim() == configured.identity.trim()
}

fn secret_matches(credential: &Credential, secret: &str) -> bool {
    match credential.shared_secret.as_ref() {
        Some(given) => bool::from(given.expose().trim().as_bytes().ct_eq(secret.as_bytes())),
        None => false,
    }
}

fn describe(credential: Option<&Credential>) -> String {
    match credential {
        Some(credential) => format!("{}:{}", credential.domain, credential.identity),
        None => "(none)".to_owned(),
    }
}
