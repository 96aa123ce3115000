//! Newtypes for the identifiers that cross crate boundaries, so that an
//! account id is never passed where a buyer id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// The tenant: one supplier's pobridge account. Every store call takes it first.
    AccountId
);
row_id!(
    /// One Coupa buyer configured under an account.
    BuyerId
);
row_id!(
    /// One inbound cXML document as stored.
    DocumentId
);
row_id!(
    /// One purchase order, identified by (buyer, orderID).
    PoId
);
row_id!(
    /// One received revision of a purchase order.
    RevisionId
);
row_id!(
    /// One durable job in the queue.
    JobId
);

/// The URL-safe name of an account, as used in `/cxml/{account}` and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountSlug(String);

/// The reason an account slug was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid account slug {0:?}: use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit{hint}", hint = lower_case_hint(.0))]
pub struct InvalidSlug(pub String);

/// Suggests the lower-case spelling of `value` when that is a valid slug,
/// as for `ACME`.
fn lower_case_hint(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if lower != value && AccountSlug::parse(&lower).is_ok() {
        format!("; did you mean {lower:?}?")
    } else {
        String::new()
    }
}

impl AccountSlug {
    pub fn parse(value: &str) -> Result<Self, InvalidSlug> {
        let valid = !value.is_empty()
            && value.len() <= 63
            && !value.starts_with('-')
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidSlug(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountSlug {
    type Error = InvalidSlug;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AccountSlug> for String {
    fn from(slug: AccountSlug) -> Self {
        slug.0
    }
}

impl fmt::Display for AccountSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Coupa purchase order number: `OrderRequestHeader@orderID` exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoNumber(pub String);

impl PoNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PoNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_digits_and_dashes() {
        assert!(AccountSlug::parse("acme-widgets-2").is_ok());
    }

    #[test]
    fn slug_rejects_uppercase_slash_and_empty() {
        assert!(AccountSlug::parse("Acme").is_err());
        assert!(AccountSlug::parse("a/b").is_err());
        assert!(AccountSlug::parse("").is_err());
        assert!(AccountSlug::parse("-a").is_err());
    }

    #[test]
    fn slug_error_suggests_lower_case() {
        let upper = AccountSlug::parse("ACME").unwrap_err().to_string();
        let slash = AccountSlug::parse("A/B").unwrap_err().to_string();

        assert!(upper.ends_with("; did you mean \"acme\"?"), "{upper}");
        assert!(!slash.contains("did you mean"), "{slash}");
    }
}
