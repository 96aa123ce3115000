//! cXML timestamps: the many shapes real senders use, and the one shape we
//! write.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};

/// Parses a cXML date or timestamp in any of the shapes real senders use:
///
/// - ISO 8601 with an offset (`2008-01-07T09:14:50-08:00`), with `Z`, or
///   with an offset without colon (`-0500`), with any number of fraction
///   digits;
/// - ISO 8601 without an offset, or with a space for the `T`
///   (`2020-09-25 15:30:43`), taken as UTC;
/// - a date alone (`1999-03-12`), taken as midnight UTC;
/// - Ruby's `Time#to_s` (`Mon May 19 18:29:48 +0000 2008`);
/// - Java's `Date#toString` (`Wed Oct 08 03:59:32 UTC 2025`) with the zones
///   `UTC`, `GMT`, `Z` and the US abbreviations (`EST`, `PDT`, ...).
///
/// Returns `None` for anything else, such as a template placeholder, so the
/// caller keeps the raw text.
pub fn parse_timestamp(raw: &str) -> Option<DateTime<FixedOffset>> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }

    parse_iso(text)
        .or_else(|| parse_ruby(text))
        .or_else(|| parse_java(text))
}

/// Formats a timestamp as cXML wants it written:
/// `YYYY-MM-DDThh:mm:ss+hh:mm`, without fraction.
pub fn format_timestamp(timestamp: &DateTime<FixedOffset>) -> String {
    timestamp.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn utc() -> FixedOffset {
    // Zero is always a valid offset.
    FixedOffset::east_opt(0).expect("a zero offset is in range")
}

fn parse_iso(text: &str) -> Option<DateTime<FixedOffset>> {
    let normalized = text.replacen(' ', "T", 1);
    let with_offset = match normalized.strip_suffix(['Z', 'z']) {
        Some(head) => format!("{head}+00:00"),
        None => normalized.clone(),
    };

    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(parsed) = DateTime::parse_from_str(&with_offset, format) {
            return Some(parsed);
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(utc().from_utc_datetime(&naive));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(utc().from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

fn parse_ruby(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_str(text, "%a %b %d %H:%M:%S %z %Y").ok()
}

fn parse_java(text: &str) -> Option<DateTime<FixedOffset>> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [weekday, month, day, time, zone, year] = parts.as_slice() else {
        return None;
    };
    let offset = FixedOffset::east_opt(zone_offset_hours(zone)? * 3600)?;
    let local = format!("{weekday} {month} {day} {time} {year}");
    let naive = NaiveDateTime::parse_from_str(&local, "%a %b %d %H:%M:%S %Y").ok()?;
    offset.from_local_datetime(&naive).single()
}

/// Offsets of the zone abbreviations Java prints in `Date#toString`. Other
/// abbreviations are ambiguous (`IST`, `CST`) or rare, so they stay unread.
fn zone_offset_hours(zone: &str) -> Option<i32> {
    let hours = match zone {
        "UTC" | "GMT" | "UT" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => return None,
    };
    Some(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: &str) {
        let parsed = parse_timestamp(raw).unwrap_or_else(|| panic!("{raw:?} not parsed"));
        let expected = DateTime::parse_from_rfc3339(expected).unwrap();
        assert_eq!(parsed, expected, "{raw:?}");
        assert_eq!(parsed.offset(), expected.offset(), "{raw:?}");
    }

    #[test]
    fn timestamp_shapes_seen_in_real_documents() {
        let cases = [
            ("2008-01-07T09:14:50-08:00", "2008-01-07T09:14:50-08:00"),
            ("2020-09-10T20:32:26Z", "2020-09-10T20:32:26+00:00"),
            ("2018-01-01T00:00:00-0500", "2018-01-01T00:00:00-05:00"),
            ("2003-01-12T08:03:00", "2003-01-12T08:03:00+00:00"),
            ("2020-09-25 15:30:43", "2020-09-25T15:30:43+00:00"),
            (
                "Mon May 19 18:29:48 +0000 2008",
                "2008-05-19T18:29:48+00:00",
            ),
            ("Wed Oct 08 03:59:32 UTC 2025", "2025-10-08T03:59:32+00:00"),
            ("Wed Oct 08 03:59:32 PDT 2025", "2025-10-08T03:59:32-07:00"),
            ("1999-03-12", "1999-03-12T00:00:00+00:00"),
            (
                "2024-03-01T10:11:12.1234567+01:00",
                "2024-03-01T10:11:12.1234567+01:00",
            ),
            ("  2026-05-06\n", "2026-05-06T00:00:00+00:00"),
        ];
        for (raw, expected) in cases {
            check(raw, expected);
        }
    }

    #[test]
    fn unreadable_timestamps_are_none() {
        for raw in [
            "",
            "invoice_date",
            "?",
            "2024-13-01",
            "Wed Oct 08 03:59:32 XYZ 2025",
        ] {
            assert_eq!(parse_timestamp(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn format_writes_offset_with_colon_and_no_fraction() {
        let parsed = DateTime::parse_from_rfc3339("2024-03-01T10:11:12.5-05:00").unwrap();
        assert_eq!(format_timestamp(&parsed), "2024-03-01T10:11:12-05:00");
    }
}
