//! Conversions between records and stored values that every backend
//! shares: enums as their snake_case names, JSON text and decimal text,
//! and the mapping of constraint violations to store errors.

use pobridge_core::BrightpearlIdField;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{StoreError, StoreResult};

/// Returns the snake_case name serde gives a unit enum variant.
pub(crate) fn encode_enum<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        // Only called with the store's fieldless enums, which serialize as strings.
        other => unreachable!("enum did not serialize as a string: {other:?}"),
    }
}

pub(crate) fn decode_enum<T: DeserializeOwned>(entity: &'static str, name: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|err| corrupt(entity, format!("value {name:?}: {err}")))
}

/// Serializes a record to JSON text.
pub(crate) fn encode_json<T: Serialize>(value: &T) -> String {
    // serde_json fails only on maps with non-string keys and on failing
    // Serialize impls. The JSON values and derived records stored here have
    // string keys and derived impls, so this cannot fail for them.
    serde_json::to_string(value).expect("stored records serialize to JSON")
}

pub(crate) fn decode_json<T: DeserializeOwned>(entity: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|err| corrupt(entity, format!("JSON: {err}")))
}

pub(crate) fn decode_decimal(entity: &'static str, text: &str) -> StoreResult<Decimal> {
    text.parse()
        .map_err(|err| corrupt(entity, format!("decimal {text:?}: {err}")))
}

pub(crate) fn corrupt(entity: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { entity, detail }
}

pub(crate) fn not_found(entity: &'static str, key: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        key: key.to_string(),
    }
}

/// Reports a unique-key violation as [`StoreError::Conflict`] on `entity`.
pub(crate) fn conflict_on_unique(
    err: sqlx::Error,
    entity: &'static str,
    key: impl ToString,
) -> StoreError {
    let unique = err
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation());
    if unique {
        StoreError::Conflict {
            entity,
            key: key.to_string(),
            reason: "already exists",
        }
    } else {
        StoreError::Database(err)
    }
}

/// Reports a foreign-key violation as [`StoreError::NotFound`] on the
/// referenced `entity`.
pub(crate) fn missing_on_foreign_key(
    err: sqlx::Error,
    entity: &'static str,
    key: impl ToString,
) -> StoreError {
    let foreign_key = err
        .as_database_error()
        .is_some_and(|db| db.is_foreign_key_violation());
    if foreign_key {
        not_found(entity, key)
    } else {
        StoreError::Database(err)
    }
}

/// Returns the products table's column for `field`. Both schemas use the
/// same column names.
pub(crate) fn identifier_column(field: BrightpearlIdField) -> &'static str {
    match field {
        BrightpearlIdField::Sku => "sku",
        BrightpearlIdField::Barcode => "barcode",
        BrightpearlIdField::Ean => "ean",
        BrightpearlIdField::Upc => "upc",
        BrightpearlIdField::Mpn => "mpn",
        BrightpearlIdField::Isbn => "isbn",
    }
}
