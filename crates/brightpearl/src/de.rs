//! Tolerant readers for Brightpearl's loosely typed JSON: decimals arrive as
//! strings in orders but as numbers in tax codes and contacts, ids sometimes
//! as strings, and null fields are usually left out.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads a decimal from a JSON string or number. `null`, absence and `""`
/// are `Ok(None)`; any other text is an error.
pub(crate) fn decimal_value(value: &Value) -> Result<Option<Decimal>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        Value::String(text) => parse_decimal(text.trim()).map(Some),
        // serde_json keeps the number's shortest round-trip text, so `0.1`
        // stays exactly 0.1 and no binary fraction leaks into the decimal.
        Value::Number(number) => parse_decimal(&number.to_string()).map(Some),
        other => Err(format!("expected a decimal, found {other}")),
    }
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("invalid decimal {text:?}"))
}

/// Reads an integer from a JSON number or numeric string.
pub(crate) fn int_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads text from a JSON string, or a number written out (nominal and tax
/// codes are sometimes numbers). `null` and `""` are `None`.
pub(crate) fn text_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads a boolean from `true`/`false`, the strings `"true"`/`"false"` or 0/1.
pub(crate) fn bool_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(number) => number.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// Reads a timestamp, keeping its UTC offset. Accepts RFC 3339
/// (`2022-01-26T10:39:46.000-06:00`) and the custom-field form
/// `2023-03-06 17:22:26 -0600`. Text without an offset is `None`, because
/// the account's time zone is unknown here; callers keep the raw value.
pub(crate) fn timestamp_value(value: &Value) -> Option<DateTime<FixedOffset>> {
    let text = value.as_str()?.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
}

/// Reads a calendar date from `2024-06-03` or the date part of a timestamp.
pub(crate) fn date_value(value: &Value) -> Option<NaiveDate> {
    if let Some(timestamp) = timestamp_value(value) {
        return Some(timestamp.date_naive());
    }
    let text = value.as_str()?.trim();
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// `deserialize_with` for `Option<Decimal>` fields.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    decimal_value(&value).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for `Option<i64>` fields.
pub(crate) fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Ok(None),
        Value::String(ref text) if text.trim().is_empty() => Ok(None),
        other => int_value(&other)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, found {other}"))),
    }
}

/// `deserialize_with` for `Option<String>` fields.
pub(crate) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(text_value(&Value::deserialize(deserializer)?))
}

/// `deserialize_with` for `Option<bool>` fields.
pub(crate) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(bool_value(&Value::deserialize(deserializer)?))
}

/// `deserialize_with` for `Option<DateTime<FixedOffset>>` fields.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    Ok(timestamp_value(&Value::deserialize(deserializer)?))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn decimal_reads_strings_and_numbers() {
        let cases = [
            (json!("9.0909"), Some(dec!(9.0909))),
            (json!("1.000000"), Some(dec!(1.000000))),
            (json!(" 0.91 "), Some(dec!(0.91))),
            (json!(10.0), Some(dec!(10))),
            (json!(0.1), Some(dec!(0.1))),
            (json!(13), Some(dec!(13))),
            (json!(-2.5), Some(dec!(-2.5))),
            (json!("1e-2"), Some(dec!(0.01))),
            (json!(null), None),
            (json!(""), None),
        ];
        for (input, expected) in cases {
            assert_eq!(decimal_value(&input), Ok(expected), "input {input}");
        }
    }

    #[test]
    fn decimal_rejects_garbage() {
        assert!(decimal_value(&json!("ten")).is_err());
        assert!(decimal_value(&json!(true)).is_err());
    }

    #[test]
    fn decimal_field_keeps_numbers_from_raw_json() {
        #[derive(Deserialize)]
        struct Rate {
            #[serde(default, deserialize_with = "decimal")]
            rate: Option<Decimal>,
        }
        let parsed: Rate = serde_json::from_str(r#"{"rate": 10.0000}"#).unwrap();
        assert_eq!(parsed.rate, Some(dec!(10)));
        let parsed: Rate = serde_json::from_str(r#"{"rate": "1000.0000"}"#).unwrap();
        assert_eq!(parsed.rate, Some(dec!(1000)));
        let parsed: Rate = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed.rate, None);
    }

    #[test]
    fn int_reads_numeric_strings() {
        assert_eq!(int_value(&json!("8")), Some(8));
        assert_eq!(int_value(&json!(13)), Some(13));
        assert_eq!(int_value(&json!(13.0)), Some(13));
        assert_eq!(int_value(&json!("x")), None);
        assert_eq!(int_value(&json!(1.5)), None);
    }

    #[test]
    fn bool_reads_text_forms() {
        assert_eq!(bool_value(&json!("true")), Some(true));
        assert_eq!(bool_value(&json!("FALSE")), Some(false));
        assert_eq!(bool_value(&json!(0)), Some(false));
        assert_eq!(bool_value(&json!("maybe")), None);
    }

    #[test]
    fn timestamp_keeps_offset() {
        let parsed = timestamp_value(&json!("2022-01-26T10:39:46.000-06:00")).unwrap();
        assert_eq!(parsed.offset().local_minus_utc(), -6 * 3600);
        assert_eq!(parsed.to_rfc3339(), "2022-01-26T10:39:46-06:00");

        let custom = timestamp_value(&json!("2023-03-06 17:22:26 -0600")).unwrap();
        assert_eq!(custom.to_rfc3339(), "2023-03-06T17:22:26-06:00");

        assert_eq!(timestamp_value(&json!("2023-09-01 16:03:53")), None);
    }

    #[test]
    fn date_uses_local_calendar_day() {
        // Local midnight at -06:00 is 06:00 UTC on the same day; the date
        // must not move when the offset is kept.
        let date = date_value(&json!("2020-03-31T00:00:00.000-06:00"));
        assert_eq!(date, NaiveDate::from_ymd_opt(2020, 3, 31));
        assert_eq!(
            date_value(&json!("2024-06-03")),
            NaiveDate::from_ymd_opt(2024, 6, 3)
        );
    }
}
