//! Encryption of secrets at rest: the Brightpearl tokens of a connection and
//! the invoicing shared secret of a buyer.
//!
//! A sealed value is stored as `enc:v1:` followed by the standard base64 of
//! a random 12-byte nonce and the ChaCha20-Poly1305 ciphertext. Without a
//! key, values are stored as given. A value without the prefix is read as
//! given whatever the key, so databases written without a key keep working,
//! and the next write of that value seals it.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{decode_json, encode_json};
use crate::{StoreError, StoreResult};

/// The prefix of a sealed value, naming the format version.
pub const SEALED_PREFIX: &str = "enc:v1:";

/// Length of the key in bytes.
pub const KEY_BYTES: usize = 32;

const NONCE_BYTES: usize = 12;

/// Description of a valid key, used in error messages.
const KEY_EXPECTED: &str = "32 random bytes encoded as standard base64 (44 characters), \
     such as the output of `openssl rand -base64 32`";

/// Why a configured key was rejected.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("secrets_key is not valid base64 ({cause}); expected {KEY_EXPECTED}")]
    NotBase64 { cause: base64::DecodeError },
    #[error("secrets_key decodes to {length} bytes; expected {KEY_EXPECTED}")]
    WrongLength { length: usize },
}

/// Seals secrets before they are written and opens them after they are
/// read. Without a key it passes values through unchanged. `Debug` shows
/// only whether a key is set.
#[derive(Clone, Default)]
pub struct SecretBox {
    cipher: Option<ChaCha20Poly1305>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SecretBox")
            .field("has_key", &self.has_key())
            .finish()
    }
}

impl SecretBox {
    /// A box without a key, which stores secrets as given.
    pub fn without_key() -> Self {
        Self::default()
    }

    pub fn new(key: &[u8; KEY_BYTES]) -> Self {
        Self {
            cipher: Some(ChaCha20Poly1305::new(Key::from_slice(key))),
        }
    }

    /// Parses the `secrets_key` setting: standard base64 of 32 bytes,
    /// surrounding whitespace ignored.
    pub fn from_base64(text: &str) -> Result<Self, SecretKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|cause| SecretKeyError::NotBase64 { cause })?;
        let key: [u8; KEY_BYTES] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| SecretKeyError::WrongLength {
                    length: bytes.len(),
                })?;
        Ok(Self::new(&key))
    }

    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// Returns `plain` sealed with a fresh random nonce, or `plain` itself
    /// when there is no key.
    pub fn seal(&self, plain: &str) -> String {
        let Some(cipher) = &self.cipher else {
            return plain.to_owned();
        };
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let ciphertext = cipher
            .encrypt(nonce, plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption fails only past 256 GiB of input");
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed))
    }

    /// Returns the plain text of a stored value of `entity`. A value without
    /// [`SEALED_PREFIX`] is returned as it is. A sealed value read without a
    /// key, or that does not open with this key, fails with
    /// [`StoreError::SecretKey`].
    pub fn open(&self, entity: &'static str, stored: &str) -> StoreResult<String> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let Some(cipher) = &self.cipher else {
            return Err(StoreError::SecretKey {
                entity,
                reason: "no secrets_key is configured",
            });
        };
        let wrong_key = || StoreError::SecretKey {
            entity,
            reason: "it does not decrypt with the configured secrets_key",
        };
        let sealed = STANDARD.decode(encoded).map_err(|_| corrupt(entity))?;
        if sealed.len() < NONCE_BYTES {
            return Err(corrupt(entity));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| wrong_key())?;
        String::from_utf8(plain).map_err(|_| corrupt(entity))
    }

    /// Serializes `value` to JSON and seals the whole text, stored as a JSON
    /// string so that the PostgreSQL JSONB column accepts it. Without a key
    /// the JSON is stored as it is.
    pub(crate) fn seal_json<T: Serialize>(&self, value: &T) -> String {
        let json = encode_json(value);
        if !self.has_key() {
            return json;
        }
        encode_json(&self.seal(&json))
    }

    /// Decodes what [`Self::seal_json`] stored, or plain JSON of `T`.
    pub(crate) fn open_json<T: DeserializeOwned>(
        &self,
        entity: &'static str,
        text: &str,
    ) -> StoreResult<T> {
        match serde_json::from_str::<String>(text) {
            Ok(sealed) if sealed.starts_with(SEALED_PREFIX) => {
                decode_json(entity, &self.open(entity, &sealed)?)
            }
            _ => decode_json(entity, text),
        }
    }

    /// Seals the `shared_secret` string of a buyer's invoicing settings,
    /// leaving the other settings as they are. A secret that
    /// [`Self::open_invoicing`] could not open goes back as it was stored,
    /// unless `shared_secret` contains a new one.
    pub(crate) fn seal_invoicing(&self, invoicing: &serde_json::Value) -> serde_json::Value {
        let mut sealed = invoicing.clone();
        let Some(settings) = sealed.as_object_mut() else {
            return sealed;
        };
        let sealed_before = settings.remove(INVOICING_SEALED_SECRET);
        settings.remove(INVOICING_SECRET_UNREADABLE);
        let new_secret = settings
            .get(INVOICING_SECRET)
            .and_then(serde_json::Value::as_str)
            .map(|plain| self.seal(plain));
        match (new_secret, sealed_before) {
            (Some(secret), _) => {
                settings.insert(INVOICING_SECRET.to_owned(), secret.into());
            }
            (None, Some(sealed_before)) => {
                settings.insert(INVOICING_SECRET.to_owned(), sealed_before);
            }
            (None, None) => {}
        }
        sealed
    }

    /// Opens what [`Self::seal_invoicing`] sealed.
    ///
    /// A secret sealed with a key this box does not have leaves the rest
    /// readable: `shared_secret` becomes null, the sealed text moves to
    /// [`INVOICING_SEALED_SECRET`] and the reason to
    /// [`INVOICING_SECRET_UNREADABLE`]. Otherwise one buyer's invoicing
    /// secret, written by a command run with another `secrets_key`, would
    /// make every read of the account's buyers fail, order intake
    /// included.
    pub(crate) fn open_invoicing(
        &self,
        mut invoicing: serde_json::Value,
    ) -> StoreResult<serde_json::Value> {
        let Some(settings) = invoicing.as_object_mut() else {
            return Ok(invoicing);
        };
        let Some(stored) = settings
            .get(INVOICING_SECRET)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
        else {
            return Ok(invoicing);
        };
        match self.open("buyer invoicing", &stored) {
            Ok(plain) => {
                settings.insert(INVOICING_SECRET.to_owned(), plain.into());
            }
            Err(error @ StoreError::SecretKey { .. }) => {
                settings.insert(INVOICING_SECRET.to_owned(), serde_json::Value::Null);
                settings.insert(INVOICING_SEALED_SECRET.to_owned(), stored.into());
                settings.insert(
                    INVOICING_SECRET_UNREADABLE.to_owned(),
                    error.to_string().into(),
                );
            }
            Err(error) => return Err(error),
        }
        Ok(invoicing)
    }
}

/// The key of the shared secret in a buyer's invoicing settings, as the
/// engine's `BuyerInvoicing` serializes it.
const INVOICING_SECRET: &str = "shared_secret";

/// The key under which a read buyer's invoicing settings keep a shared
/// secret that could not be opened, as it was stored.
pub const INVOICING_SEALED_SECRET: &str = "shared_secret_sealed";

/// The key under which a read buyer's invoicing settings give the reason
/// their shared secret could not be opened. The engine's `BuyerInvoicing` reads
/// it under this name.
pub const INVOICING_SECRET_UNREADABLE: &str = "shared_secret_unreadable";

fn corrupt(entity: &'static str) -> StoreError {
    StoreError::Corrupt {
        entity,
        detail: format!("a value starting with {SEALED_PREFIX} is not valid sealed data"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_BYTES] = [7; KEY_BYTES];

    #[test]
    fn sealed_value_opens_with_same_key() {
        let secrets = SecretBox::new(&KEY);

        let sealed = secrets.seal("refresh-token");

        assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
        assert!(!sealed.contains("refresh-token"), "{sealed}");
        assert_eq!(
            secrets.open("connection", &sealed).unwrap(),
            "refresh-token"
        );
    }

    #[test]
    fn each_seal_uses_a_new_nonce() {
        let secrets = SecretBox::new(&KEY);

        assert_ne!(secrets.seal("same"), secrets.seal("same"));
    }

    #[test]
    fn without_key_values_pass_through() {
        let secrets = SecretBox::without_key();

        assert_eq!(secrets.seal("token"), "token");
        assert_eq!(secrets.open("connection", "token").unwrap(), "token");
    }

    #[test]
    fn sealed_value_without_key_names_setting() {
        let sealed = SecretBox::new(&KEY).seal("token");

        let error = SecretBox::without_key()
            .open("connection", &sealed)
            .unwrap_err();

        assert!(matches!(error, StoreError::SecretKey { .. }), "{error:?}");
        assert!(error.to_string().contains("secrets_key"), "{error}");
    }

    #[test]
    fn truncated_sealed_value_is_corrupt() {
        let error = SecretBox::new(&KEY)
            .open("connection", "enc:v1:AAAA")
            .unwrap_err();

        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    }

    #[test]
    fn key_parsing_rejects_bad_input() {
        let short = STANDARD.encode([1u8; 16]);

        let not_base64 = SecretBox::from_base64("not base64!").unwrap_err();
        let wrong_length = SecretBox::from_base64(&short).unwrap_err();

        assert!(matches!(not_base64, SecretKeyError::NotBase64 { .. }));
        assert!(not_base64.to_string().contains("openssl rand -base64 32"));
        assert!(matches!(
            wrong_length,
            SecretKeyError::WrongLength { length: 16 }
        ));
        assert!(SecretBox::from_base64(&STANDARD.encode(KEY))
            .unwrap()
            .has_key());
    }

    #[test]
    fn invoicing_of_another_key_stays_readable() {
        let stored = SecretBox::new(&KEY).seal_invoicing(
            &serde_json::json!({"shared_secret": "s3cret", "invoice_url": "https://x"}),
        );
        let other_key = SecretBox::new(&[9; KEY_BYTES]);

        for reader in [SecretBox::without_key(), other_key] {
            let read = reader.open_invoicing(stored.clone()).unwrap();

            assert_eq!(read["invoice_url"], "https://x");
            assert!(read["shared_secret"].is_null(), "{read}");
            assert_eq!(read[INVOICING_SEALED_SECRET], stored["shared_secret"]);
            let reason = read[INVOICING_SECRET_UNREADABLE].as_str().unwrap();
            assert!(reason.contains("secrets_key"), "{reason}");

            let written_back = reader.seal_invoicing(&read);
            assert_eq!(written_back, stored, "the sealed secret is kept");
        }
    }

    #[test]
    fn new_invoicing_secret_replaces_an_unreadable_one() {
        let stored =
            SecretBox::new(&KEY).seal_invoicing(&serde_json::json!({"shared_secret": "old"}));
        let reader = SecretBox::without_key();
        let mut read = reader.open_invoicing(stored).unwrap();

        read["shared_secret"] = "new".into();
        let written = reader.seal_invoicing(&read);

        assert_eq!(written, serde_json::json!({"shared_secret": "new"}));
    }

    #[test]
    fn invoicing_seals_only_shared_secret() {
        let secrets = SecretBox::new(&KEY);
        let settings = serde_json::json!({"shared_secret": "s3cret", "invoice_url": "https://x"});

        let sealed = secrets.seal_invoicing(&settings);

        assert_eq!(sealed["invoice_url"], "https://x");
        assert!(!sealed.to_string().contains("s3cret"), "{sealed}");
        assert_eq!(secrets.open_invoicing(sealed).unwrap(), settings);
    }
}
