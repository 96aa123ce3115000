//! Timestamps the way Brightpearl writes them: milliseconds and the
//! account's own UTC offset.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Formats `2022-01-26T10:39:46.000-06:00`.
pub(crate) fn format_api(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Formats a custom-field DATE value: `2023-03-06 17:22:26 -0600`.
pub(crate) fn format_custom_field(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S %z")
        .to_string()
}

/// Local midnight of the day `at` falls on in the account's zone.
pub(crate) fn local_midnight(at: DateTime<Utc>, offset: FixedOffset) -> DateTime<Utc> {
    let date = at.with_timezone(&offset).date_naive();
    at_local(date, NaiveTime::MIN, offset)
}

fn at_local(date: NaiveDate, time: NaiveTime, offset: FixedOffset) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    // A fixed offset maps every local time to exactly one instant.
    match offset.from_local_datetime(&naive).single() {
        Some(local) => local.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&naive),
    }
}

/// Which end of a day a date-only value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayEnd {
    Start,
    End,
}

/// Parses the date and date-time forms Brightpearl accepts on writes and in
/// filters: RFC 3339 with any offset, `YYYY-MM-DDTHH:MM:SS[.fff]` or
/// `YYYY-MM-DD HH:MM:SS` (read in the account's zone), or `YYYY-MM-DD`.
pub(crate) fn parse_flexible(
    text: &str,
    offset: FixedOffset,
    day_end: DayEnd,
) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at_local(naive.date(), naive.time(), offset));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let time = match day_end {
        DayEnd::Start => NaiveTime::MIN,
        DayEnd::End => NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?,
    };
    Some(at_local(date, time, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minus_six() -> FixedOffset {
        FixedOffset::west_opt(6 * 3600).unwrap()
    }

    #[test]
    fn formats_with_millis_and_account_offset() {
        let at = Utc.with_ymd_and_hms(2022, 1, 26, 16, 39, 46).unwrap();
        assert_eq!(format_api(at, minus_six()), "2022-01-26T10:39:46.000-06:00");
        assert_eq!(
            format_custom_field(at, minus_six()),
            "2022-01-26 10:39:46 -0600"
        );
    }

    #[test]
    fn date_only_reads_as_local_day_bounds() {
        let start = parse_flexible("2024-05-01", minus_six(), DayEnd::Start).unwrap();
        let end = parse_flexible("2024-05-01", minus_six(), DayEnd::End).unwrap();
        assert_eq!(start, Utc.with_ymd_and_hms(2024, 5, 1, 6, 0, 0).unwrap());
        assert!(end > Utc.with_ymd_and_hms(2024, 5, 2, 5, 59, 59).unwrap());
    }

    #[test]
    fn offset_with_space_instead_of_plus_is_rejected() {
        assert!(parse_flexible("2024-05-01T00:00:00 02:00", minus_six(), DayEnd::Start).is_none());
    }
}
