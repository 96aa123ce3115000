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

/// A failed credential check. The message goes back to the sender, so it
/// names the failing element and the credential the sender sent, but never a
/// secret, a buyer's name or what is configured; [`AuthError::detail`] adds
/// those for the supplier's own log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the document has no Header with From, To and Sender credentials")]
    MissingHeader,
    /// Also the response to an order URL that names no account, so that
    /// account names cannot be probed.
    #[error("From: the credential {0} is not a buyer of this order URL; check the order URL and the From credential configured in Coupa")]
    UnknownFrom(String),
    #[error("Sender: the credential {0} and its shared secret do not match; check the Sender identity and shared secret configured in Coupa")]
    SenderMismatch(String, String),
    #[error("To: the credential {0} is not this supplier's identity for the buyer; check the supplier identity configured in Coupa")]
    ToMismatch(String, String, String),
    #[error("Sender: the credential {0} and its shared secret do not match; check the Sender identity and shared secret configured in Coupa")]
    TokenRequired(String, String),
}

impl AuthError {
    /// Returns the name of the buyer the From credentials named, when they
    /// named one.
    pub fn buyer(&self) -> Option<&str> {
        match self {
            AuthError::SenderMismatch(_, buyer)
            | AuthError::ToMismatch(_, buyer, _)
            | AuthError::TokenRequired(_, buyer) => Some(buyer),
            AuthError::MissingHeader | AuthError::UnknownFrom(_) => None,
        }
    }

    /// Returns the reason with what the supplier configured, for its own log only.
    pub fn detail(&self) -> String {
        match self {
            AuthError::SenderMismatch(_, buyer) => format!("{self} (buyer {buyer})"),
            AuthError::ToMismatch(_, buyer, configured) => {
                format!("{self} (buyer {buyer} is configured with To {configured})")
            }
            AuthError::TokenRequired(sent, buyer) => format!(
                "buyer {buyer} has no shared secret and is reachable only through its own order URL, but {sent} posted to the account URL"
            ),
            AuthError::MissingHeader | AuthError::UnknownFrom(_) => self.to_string(),
        }
    }
}

/// Describes the first From credential of a document, for [`AuthError::UnknownFrom`].
pub fn first_from(header: Option<&Header>) -> String {
    describe(header.and_then(|header| header.from.first()))
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
                return Err(AuthError::TokenRequired(
                    describe(header.sender.first()),
                    buyer.name.clone(),
                ));
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

fn secret_matches(credential: &Credential, stored: &str) -> bool {
    match credential.shared_secret.as_ref() {
        Some(given) => verify_secret(given.expose().trim(), stored),
        None => false,
    }
}

/// Prefix of a stored shared-secret digest.
const DIGEST_PREFIX: &str = "sha256$";

/// Turns a buyer's shared secret into what the store keeps: a random salt
/// and the SHA-256 of salt and secret. pobridge only ever verifies the
/// inbound secret, so it never needs the secret back. A fast hash is enough
/// because the secret is a machine credential the supplier generates, not
/// a person's password.
pub fn digest_secret(secret: &str) -> String {
    let salt: [u8; 16] = rand::random();
    format!(
        "{DIGEST_PREFIX}{}${}",
        hex::encode(salt),
        hex::encode(salted_hash(&salt, secret))
    )
}

/// Checks `given` against a stored digest in constant time.
pub fn verify_secret(given: &str, stored: &str) -> bool {
    let Some((salt, expected)) = stored
        .strip_prefix(DIGEST_PREFIX)
        .and_then(|rest| rest.split_once('$'))
    else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (hex::decode(salt), hex::decode(expected)) else {
        return false;
    };
    bool::from(salted_hash(&salt, given).as_slice().ct_eq(&expected))
}

fn salted_hash(salt: &[u8], secret: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

fn describe(credential: Option<&Credential>) -> String {
    match credential {
        Some(credential) => format!("{}:{}", credential.domain, credential.identity),
        None => "(none)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_verifies_only_the_same_secret() {
        let stored = digest_secret("s3cret");
        assert!(stored.starts_with(DIGEST_PREFIX));
        assert!(!stored.contains("s3cret"));
        assert!(verify_secret("s3cret", &stored));
        assert!(!verify_secret("s3cret ", &stored));
        assert!(!verify_secret("other", &stored));
    }

    #[test]
    fn digest_is_salted() {
        assert_ne!(digest_secret("same"), digest_secret("same"));
    }

    #[test]
    fn plain_stored_secret_never_verifies() {
        assert!(!verify_secret("s3cret", "s3cret"));
        assert!(!verify_secret("s3cret", "sha256$zz$zz"));
    }
}
