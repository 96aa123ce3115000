//! Conversions between records and SQLite values. The conversions every
//! backend shares are in `crate::codec`, re-exported here.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

pub(super) use crate::codec::{
    conflict_on_unique, corrupt, decode_decimal, decode_enum, decode_json, encode_enum,
    encode_json, missing_on_foreign_key, not_found,
};
use crate::StoreResult;

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

/// Converts an optional LIMIT and OFFSET to SQLite's values, where a
/// negative LIMIT means no limit.
pub(super) fn page(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    (limit.unwrap_or(-1), offset.unwrap_or(0).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
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
