//! Reading records' values from PostgreSQL rows. JSON and NUMERIC columns
//! are selected as text (`column::text AS column`) and parsed here, so that
//! decimals never pass through floating point and a value that does not
//! parse is reported as [`crate::StoreError::Corrupt`].

use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::Row;

pub(super) use crate::codec::{
    conflict_on_unique, corrupt, decode_decimal, decode_enum, decode_json, encode_enum,
    encode_json, missing_on_foreign_key, not_found,
};
use crate::StoreResult;

/// Reads a text column holding an enum's snake_case name.
pub(super) fn enum_column<T: DeserializeOwned>(
    row: &PgRow,
    column: &str,
    entity: &'static str,
) -> StoreResult<T> {
    let name: String = row.try_get(column)?;
    decode_enum(entity, &name)
}

/// Reads a JSONB column selected as text.
pub(super) fn json_column<T: DeserializeOwned>(
    row: &PgRow,
    column: &str,
    entity: &'static str,
) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    decode_json(entity, &text)
}

/// Reads a NUMERIC column selected as text, keeping its scale.
pub(super) fn decimal_column(
    row: &PgRow,
    column: &str,
    entity: &'static str,
) -> StoreResult<Decimal> {
    let text: String = row.try_get(column)?;
    decode_decimal(entity, &text)
}

/// Reads a time stored as TIMESTAMPTZ beside the offset, in seconds, that
/// it was written with.
pub(super) fn offset_time_columns(
    row: &PgRow,
    time_column: &str,
    offset_column: &str,
    entity: &'static str,
) -> StoreResult<Option<DateTime<FixedOffset>>> {
    let time: Option<DateTime<Utc>> = row.try_get(time_column)?;
    let offset_seconds: Option<i32> = row.try_get(offset_column)?;
    match (time, offset_seconds) {
        (Some(time), Some(seconds)) => {
            let offset = FixedOffset::east_opt(seconds)
                .ok_or_else(|| corrupt(entity, format!("offset of {seconds} s")))?;
            Ok(Some(time.with_timezone(&offset)))
        }
        _ => Ok(None),
    }
}

/// Returns the offset a time was written with, in seconds east of UTC, as
/// stored beside the time.
pub(super) fn offset_seconds(time: &DateTime<FixedOffset>) -> i32 {
    time.offset().local_minus_utc()
}

/// Converts a stored PO line number back to the `u32` it was written from.
pub(super) fn line_number_column(
    row: &PgRow,
    column: &str,
    entity: &'static str,
) -> StoreResult<u32> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| corrupt(entity, format!("line number {value}")))
}

/// Converts an optional page to PostgreSQL's LIMIT and OFFSET, where a NULL
/// LIMIT means no limit. A negative limit means no limit too, as in SQLite.
pub(super) fn page(limit: Option<i64>, offset: Option<i64>) -> (Option<i64>, i64) {
    (
        limit.filter(|limit| *limit >= 0),
        offset.unwrap_or(0).max(0),
    )
}
