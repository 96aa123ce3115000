//! proptest strategies for the round-trip tests, and the value a written
//! text is expected to read back as.
#![allow(dead_code)]

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, TimeZone};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rust_decimal::{Decimal, RoundingStrategy};

/// Returns a proptest configuration running `cases` cases. A failing case
/// is saved beside the test file, in `NAME.proptest-regressions`, and run
/// first from then on.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Pieces that generated texts are made of: markup characters and
/// look-alikes of escapes, whitespace of every kind, non-ASCII from every
/// plane, characters XML forbids, and the signs Coupa wants spelled out.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "7",
    "-",
    ".",
    "/",
    "\\",
    "*",
    "<",
    ">",
    "&",
    "'",
    "\"",
    "]]>",
    "&amp;",
    "&#x41;",
    "<!--",
    "<![CDATA[",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u{a0}",
    "\u{2028}",
    "\u{e9}",
    "\u{df}",
    "\u{4e2d}\u{6587}",
    "\u{1f600}",
    "\u{1d11e}",
    "\u{202e}",
    "\u{7f}",
    "\u{85}",
    "\u{0}",
    "\u{1}",
    "\u{1b}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{fffd}",
    "\u{feff}",
    "\u{2122}",
    "\u{ae}",
    "\u{a9}",
];

/// Any text of up to eight pieces, possibly empty or blank.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..8).prop_map(|pieces| pieces.concat())
}

/// Generates a text that is not blank, for values a writer requires.
pub fn required_text() -> impl Strategy<Value = String> {
    text().prop_filter("a value that is not blank", |text| !text.trim().is_empty())
}

/// Generates a decimal greater than zero, with up to `max_digits`
/// significant digits and up to `max_scale` decimals.
pub fn positive_decimal(max_digits: u32, max_scale: u32) -> impl Strategy<Value = Decimal> {
    let max_mantissa = 10i64.pow(max_digits) - 1;
    (1..=max_mantissa, 0..=max_scale).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
}

/// Generates a decimal of either sign, zero included, and sometimes a
/// negative zero such as `-0.00`.
pub fn signed_decimal(max_digits: u32, max_scale: u32) -> impl Strategy<Value = Decimal> {
    let max_mantissa = 10i64.pow(max_digits) - 1;
    let any = (-max_mantissa..=max_mantissa, 0..=max_scale)
        .prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale));
    let negative_zero = (0..=max_scale).prop_map(|scale| {
        let mut zero = Decimal::new(0, scale);
        zero.set_sign_negative(true);
        zero
    });
    prop_oneof![9 => any, 1 => negative_zero]
}

/// Generates a UTC offset in whole minutes from -12:00 to +14:00, weighted
/// towards the uncommon ones in use (+05:30, +05:45, -03:30, +08:45, +12:45).
fn offset_seconds() -> impl Strategy<Value = i32> {
    let real = prop::sample::select(vec![0, 330, 345, -210, 525, 765, 840, -720]);
    prop_oneof![(-12 * 60..=14 * 60), real].prop_map(|minutes| minutes * 60)
}

/// Generates a timestamp in whole seconds with an offset in whole minutes,
/// the precision of cXML's `YYYY-MM-DDThh:mm:ss+hh:mm`.
pub fn timestamp() -> impl Strategy<Value = DateTime<FixedOffset>> {
    let date = (1950i32..2100, 1u32..=12, 1u32..=28);
    let time = (0u32..24, 0u32..60, 0u32..60);
    (date, time, offset_seconds()).prop_map(
        |((year, month, day), (hour, minute, second), offset)| {
            FixedOffset::east_opt(offset)
                .expect("offsets within a day are valid")
                .with_ymd_and_hms(year, month, day, hour, minute, second)
                .single()
                .expect("a fixed offset has one local time")
        },
    )
}

/// Returns the text a writer is expected to write for `text`: characters
/// that XML 1.0 forbids become U+FFFD.
pub fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' => character,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            other => other,
        })
        .collect()
}

/// Returns the text the invoice writer is expected to write for free text
/// bound for Coupa: [`xml_safe`], then the trademark, registered and
/// copyright signs spelled out.
pub fn coupa_safe(text: &str) -> String {
    xml_safe(text)
        .replace('\u{2122}', "(TM)")
        .replace('\u{ae}', "(R)")
        .replace('\u{a9}', "(C)")
}

/// Rounds to cents, halves away from zero.
pub fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Parses a written decimal; panics naming the text when it is not one.
pub fn parse_decimal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|error| panic!("{text:?} is not a decimal: {error}"))
}

/// Parses a written amount, which must have exactly two decimals.
pub fn parse_money(text: &str) -> Decimal {
    let (_, decimals) = text.split_once('.').unwrap_or((text, ""));
    assert_eq!(decimals.len(), 2, "{text:?} has two decimals");
    parse_decimal(text)
}

/// Parses a written timestamp and checks that it kept its offset as well
/// as its instant.
pub fn assert_same_time(written: &str, expected: &DateTime<FixedOffset>, field: &str) {
    let parsed = DateTime::parse_from_rfc3339(written)
        .unwrap_or_else(|error| panic!("{field} {written:?}: {error}"));
    assert_eq!(parsed, *expected, "{field}");
    assert_eq!(parsed.offset(), expected.offset(), "{field} offset");
}
