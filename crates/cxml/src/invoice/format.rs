//! Formatting of invoice values: amounts, quantities and Coupa-bound text.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::write::xml_chars;

/// Rounds an amount to cents, halves away from zero as invoices do.
pub(super) fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Writes an amount with exactly two decimals, such as `12.50` or `-3.00`.
///
/// NOTE: currencies whose minor unit is not the cent (JPY, KWD) are also
/// written with two decimals. The fix is a minor-unit table by currency.
pub(super) fn money(amount: Decimal) -> String {
    let mut rounded = cents(amount);
    rounded.rescale(2);
    without_negative_zero(rounded).to_string()
}

/// Writes a unit price with at least two decimals and no fewer than it has,
/// such as `5.00` or `0.125`, so quantity times price gives the subtotal.
pub(super) fn unit_price(price: Decimal) -> String {
    let mut written = price.normalize();
    if written.scale() < 2 {
        written.rescale(2);
    }
    without_negative_zero(written).to_string()
}

/// Writes a quantity or rate without trailing zeros, such as `2`, `1.5` or
/// `-3`.
pub(super) fn number(value: Decimal) -> String {
    without_negative_zero(value.normalize()).to_string()
}

fn without_negative_zero(value: Decimal) -> Decimal {
    if value.is_zero() {
        value.abs()
    } else {
        value
    }
}

/// Prepares free text for Coupa: the trademark, registered and copyright
/// signs become `(TM)`, `(R)` and `(C)`, because Coupa documents them as
/// unsupported in cXML, and characters XML forbids become U+FFFD.
pub(super) fn coupa_text(text: &str) -> String {
    let mut written = String::with_capacity(text.len());
    for character in xml_chars(text).chars() {
        match character {
            '\u{2122}' => written.push_str("(TM)"),
            '\u{ae}' => written.push_str("(R)"),
            '\u{a9}' => written.push_str("(C)"),
            _ => written.push(character),
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn money_has_two_decimals() {
        let cases = [
            ("5", "5.00"),
            ("12.5", "12.50"),
            ("1.005", "1.01"),
            ("-1.005", "-1.01"),
            ("2.344", "2.34"),
            ("-0.001", "0.00"),
            ("1234567.891", "1234567.89"),
        ];
        for (input, expected) in cases {
            assert_eq!(money(decimal(input)), expected, "{input}");
        }
    }

    #[test]
    fn unit_price_keeps_its_precision() {
        let cases = [
            ("5", "5.00"),
            ("0.125", "0.125"),
            ("0.12500", "0.125"),
            ("-3.1", "-3.10"),
        ];
        for (input, expected) in cases {
            assert_eq!(unit_price(decimal(input)), expected, "{input}");
        }
    }

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(number(decimal("2.000")), "2");
        assert_eq!(number(decimal("1.50")), "1.5");
        assert_eq!(number(decimal("-3")), "-3");
        assert_eq!(number(decimal("-0.0")), "0");
    }

    #[test]
    fn symbols_become_letters_for_coupa() {
        assert_eq!(
            coupa_text("Widget\u{2122} Pro\u{ae} \u{a9}2024"),
            "Widget(TM) Pro(R) (C)2024"
        );
        assert_eq!(coupa_text("caf\u{e9} a\u{1}b"), "caf\u{e9} a\u{fffd}b");
    }
}
