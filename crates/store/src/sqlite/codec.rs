//! Conversions between records and SQLite values, and the mapping of
//! constraint violations to store errors.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{StoreError, StoreResult};

/// Formats a time as stored: UTC with nine fractional digits, so that text
/// comparison in SQL orders times correctly.
pub(super) fn encode_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(super) fn decode_time(entity: &'static str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|err| corrupt(entity, format!("time {text:?}: {err}")))
}

pub(super) fn decode_optional_time(
    entity: &'static str,
    text: Option<String>,
) -> StoreResult<Option<DateTime<Utc>>> {
    text.map(|text| decode_time(entity, &text)).transpose()
}

/// Splits a time with an offset into the stored UTC text and the offset in seconds.
pub(super) fn encode_offset_time(time: DateTime<FixedOffset>) -> (String, i32) {
    (
        encode_time(time.with_timezone(&Utc)),
        time.offset().local_minus_utc(),
    )
}

pub(super) fn decode_offset_time(
    entity: &'static str,
    utc: &str,
    offset_seconds: i32,
) -> StoreResult<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(offset_seconds)
        .ok_or_else(|| corrupt(entity, format!("offset of {offset_seconds} s")))?;
    Ok(decode_time(entity, utc)?.with_timezone(&offset))
}

/// Returns the snake_case name serde gives a unit enum variant.
pub(super) fn encode_enum<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        // Only called with the store's fieldless enums, which serialize as strings.
        other => unreachable!("enum did not serialize as a string: {other:?}"),
    }
}

pub(super) fn decode_enum<T: DeserializeOwned>(entity: &'static str, name: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|err| corrupt(entity, format!("value {name:?}: {err}")))
}

/// Serializes a record to JSON text.
pub(super) fn encode_json<T: Serialize>(value: &T) -> String {
    // serde_json fails only on maps with non-string keys and on failing
    // Serialize impls; the JSON values and derived records stored here have neither.
    serde_json::to_string(value).expect("stored records serialize to JSON")
}

pub(super) fn decode_json<T: DeserializeOwned>(entity: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|err| corrupt(entity, format!("JSON: {err}")))
}

pub(super) fn decode_decimal(entity: &'static str, text: &str) -> StoreResult<Decimal> {
    text.parse()
        .map_err(|err| corrupt(entity, format!("decimal {text:?}: {err}")))
}

pub(super) fn corrupt(entity: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { entity, detail }
}

pub(super) fn not_found(entity: &'static str, key: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        key: key.to_string(),
    }
}

/// Reports a unique-key violation as [`StoreError::Conflict`] on `entity`.
pub(super) fn conflict_on_unique(
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
pub(super) fn missing_on_foreign_key(
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

/// Converts an optional LIMIT and OFFSET to SQLite's values, where a
/// negative LIMIT means no limit.
pub(super) fn page(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    (limit.unwrap_or(-1), offset.unwrap_or(0).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_times_sort_as_text_in_time_order() {
        let whole = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
        let fraction = whole + chrono::Duration::nanoseconds(1);
        let later = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 1).unwrap();
        let texts = [whole, fraction, later].map(encode_time);
        assert!(texts[0] < texts[1]);
        assert!(texts[1] < texts[2]);
        assert_eq!(texts[0], "2024-05-01T09:00:00.000000000Z");
    }

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        let time = Utc.timestamp_opt(1_714_554_000, 123_456_789).unwrap();
        assert_eq!(decode_time("test", &encode_time(time)).unwrap(), time);
    }

    #[test]
    fn offset_times_keep_their_offset() {
        let offset = FixedOffset::west_opt(7 * 3600).unwrap();
        let time = offset.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
        let (utc, seconds) = encode_offset_time(time);
        assert_eq!(utc, "2024-05-01T16:00:00.000000000Z");
        let decoded = decode_offset_time("test", &utc, seconds).unwrap();
        assert_eq!(decoded, time);
        assert_eq!(decoded.offset(), time.offset());
    }

    #[test]
    fn unknown_enum_name_is_corrupt() {
        let result = decode_enum::<crate::JobStatus>("job", "sleeping");
        assert!(matches!(
            result,
            Err(StoreError::Corrupt { entity: "job", .. })
        ));
    }
}
