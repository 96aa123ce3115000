//! Conversions from elements to the small value types shared by the order
//! header and its lines: money, addresses, contacts, comments, extrinsics.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::element::Element;
use crate::error::ReadError;
use crate::model::{
    Address, Charge, Comments, Contact, Description, Extrinsic, Money, PostalAddress, Tax,
    TaxDetail,
};

/// The expected form of a decimal value, quoted in error messages.
const DECIMAL_EXPECTED: &str = "a decimal number with '.' as the decimal separator, such as 1505.0";

/// The expected form of a decimal value that `Decimal` cannot keep exactly.
const OVERSIZED: &str =
    "a decimal number of at most 28 digits, not counting zeros before the first other digit or after the last";

/// Converts elements to model values. It keeps the decoded text so an
/// `Extrinsic` can keep its inner XML as received.
pub(crate) struct Doc<'a> {
    pub source: &'a str,
}

impl Doc<'_> {
    /// Reads the `Money` child of `parent`, which must be there.
    /// `location` names `parent` in error messages, and is only called for
    /// one, because a large order has thousands of `Money`.
    pub fn money_child(
        &self,
        parent: Element<'_, '_>,
        location: impl Fn() -> String,
    ) -> Result<Money, ReadError> {
        match parent.child("Money") {
            Some(money) => self.money(money, location),
            None => Err(ReadError::missing(
                format!("{}/Money", location()),
                "element <Money>",
            )),
        }
    }

    /// Reads `Money` (currency attribute, amount text).
    fn money(
        &self,
        element: Element<'_, '_>,
        parent_location: impl Fn() -> String,
    ) -> Result<Money, ReadError> {
        let currency = match element.attr("currency") {
            Some(currency) => currency,
            None => {
                return Err(ReadError::missing(
                    format!("{}/Money", parent_location()),
                    "attribute currency of <Money>",
                ))
            }
        };
        let trimmed = currency.trim();
        let is_code = trimmed.len() == 3 && trimmed.bytes().all(|byte| byte.is_ascii_uppercase());
        if !is_code {
            return Err(ReadError::invalid(
                format!("{}/Money currency", parent_location()),
                currency,
                "an ISO 4217 currency code of three upper-case letters, such as USD",
            ));
        }

        let text = element.text();
        let amount = parse_decimal(&text).map_err(|expected| {
            ReadError::invalid(
                format!("{}/Money amount", parent_location()),
                &text,
                expected,
            )
        })?;
        Ok(Money {
            amount,
            currency: trimmed.to_string(),
        })
    }

    /// Reads `Shipping`.
    pub fn charge(&self, shipping: Element<'_, '_>, location: &str) -> Result<Charge, ReadError> {
        Ok(Charge {
            money: self.money_child(shipping, || location.to_string())?,
            description: shipping.child_text("Description"),
        })
    }

    /// Reads `Tax` and its `TaxDetail` children.
    pub fn tax(&self, tax: Element<'_, '_>, location: &str) -> Result<Tax, ReadError> {
        let mut details = Vec::with_capacity(tax.all("TaxDetail").count());
        for (index, detail) in tax.all("TaxDetail").enumerate() {
            let detail_location = format!("{location}/TaxDetail[{}]", index + 1);
            details.push(self.tax_detail(detail, &detail_location)?);
        }
        Ok(Tax {
            money: self.money_child(tax, || location.to_string())?,
            description: tax.child_text("Description"),
            details,
        })
    }

    fn tax_detail(&self, detail: Element<'_, '_>, location: &str) -> Result<TaxDetail, ReadError> {
        let percentage_rate = match detail.attr("percentageRate") {
            Some(rate) if !rate.trim().is_empty() => {
                Some(parse_decimal(rate).map_err(|expected| {
                    ReadError::invalid(format!("{location} percentageRate"), rate, expected)
                })?)
            }
            _ => None,
        };
        let taxable_amount = match detail.child("TaxableAmount") {
            Some(amount) => Some(self.money_child(amount, || format!("{location}/TaxableAmount"))?),
            None => None,
        };
        let tax_amount = match detail.child("TaxAmount") {
            Some(amount) => Some(self.money_child(amount, || format!("{location}/TaxAmount"))?),
            None => None,
        };
        Ok(TaxDetail {
            category: detail.attr("category").unwrap_or_default().to_string(),
            percentage_rate,
            taxable_amount,
            tax_amount,
            description: detail.child_text("Description"),
        })
    }

    /// Reads `Address`.
    pub fn address(&self, address: Element<'_, '_>) -> Address {
        Address {
            address_id: address.attr("addressID").map(str::to_string),
            iso_country_code: address.attr("isoCountryCode").map(str::to_string),
            name: address.child_text("Name").unwrap_or_default(),
            postal_address: address
                .child("PostalAddress")
                .map(|postal| self.postal_address(postal)),
            email: address.child_text("Email"),
            phone: address.child("Phone").and_then(telephone),
            fax: address.child("Fax").and_then(telephone),
            url: address.child_text("URL"),
        }
    }

    /// Reads the `Address` inside `ShipTo` or `BillTo`.
    pub fn address_child(&self, parent: Option<Element<'_, '_>>) -> Option<Address> {
        parent
            .and_then(|parent| parent.child("Address"))
            .map(|address| self.address(address))
    }

    fn postal_address(&self, postal: Element<'_, '_>) -> PostalAddress {
        let country = postal.child("Country");
        PostalAddress {
            name: postal.attr("name").map(str::to_string),
            deliver_to: postal.map_all("DeliverTo", Element::text),
            streets: postal.map_all("Street", Element::text),
            city: postal.child_text("City").unwrap_or_default(),
            state: postal.child_text("State"),
            postal_code: postal.child_text("PostalCode"),
            country_code: country
                .and_then(|country| country.attr("isoCountryCode"))
                .map(str::to_string),
            country_name: country.map(Element::text),
            extrinsics: self.extrinsics(postal),
        }
    }

    /// Reads `Contact`.
    pub fn contact(&self, contact: Element<'_, '_>) -> Contact {
        Contact {
            role: contact.attr("role").map(str::to_string),
            address_id: contact.attr("addressID").map(str::to_string),
            name: contact.child_text("Name"),
            emails: contact.map_all("Email", Element::text),
            phones: contact.filter_map_all("Phone", telephone),
        }
    }

    /// Reads `Comments`: the text outside `Attachment`, and each attachment
    /// URL.
    pub fn comments(&self, comments: Element<'_, '_>) -> Comments {
        Comments {
            lang: comments.attr("xml:lang").map(str::to_string),
            text: comments.own_text(),
            attachment_urls: comments
                .filter_map_all("Attachment", |attachment| attachment.child_text("URL")),
        }
    }

    /// Reads `Description`: the text outside `ShortName`, and `ShortName`.
    pub fn description(&self, description: Element<'_, '_>) -> Description {
        Description {
            lang: description.attr("xml:lang").map(str::to_string),
            text: description.own_text(),
            short_name: description.child_text("ShortName"),
        }
    }

    /// Reads every `Extrinsic` child of `parent` in document order.
    pub fn extrinsics(&self, parent: Element<'_, '_>) -> Vec<Extrinsic> {
        parent.map_all("Extrinsic", |extrinsic| Extrinsic {
            name: extrinsic.attr("name").unwrap_or_default().to_string(),
            text: extrinsic.text(),
            raw_xml: self
                .source
                .get(extrinsic.inner())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// Renders `Phone` or `Fax` as `+<CountryCode> <AreaOrCityCode> <Number>
/// x<Extension>` without the empty parts.
fn telephone(phone: Element<'_, '_>) -> Option<String> {
    let number = phone.child("TelephoneNumber")?;
    let part = |name: &str| number.child_text(name).map(|text| text.trim().to_string());
    let mut pieces = Vec::new();
    if let Some(country) = part("CountryCode").filter(|text| !text.is_empty()) {
        pieces.push(format!("+{country}"));
    }
    for name in ["AreaOrCityCode", "Number"] {
        if let Some(text) = part(name).filter(|text| !text.is_empty()) {
            pieces.push(text);
        }
    }
    if let Some(extension) = part("Extension").filter(|text| !text.is_empty()) {
        pieces.push(format!("x{extension}"));
    }
    (!pieces.is_empty()).then(|| pieces.join(" "))
}

/// Parses a cXML decimal such as `1505.0`, `.34`, `-2` or ` 2.00 `.
/// Rejects a comma separator, exponents, grouping and empty text, and the
/// error states what was expected.
pub(crate) fn parse_decimal(raw: &str) -> Result<Decimal, &'static str> {
    let text = raw.trim();
    if text.contains(',') {
        return Err(
            "a decimal number with '.' as the decimal separator, such as 1505.0 (a comma is not a decimal separator in cXML)",
        );
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut halves = unsigned.splitn(2, '.');
    let whole = halves.next().unwrap_or_default();
    let fraction = halves.next().unwrap_or_default();
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(DECIMAL_EXPECTED);
    }

    // Text that `Decimal` reads as it is needs no normalized copy.
    let value = if !whole.is_empty() && !text.starts_with('+') && !text.ends_with('.') {
        Decimal::from_str(text).map_err(|_| OVERSIZED)?
    } else {
        let sign = if text.starts_with('-') { "-" } else { "" };
        let whole = if whole.is_empty() { "0" } else { whole };
        let normalized = if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        };
        Decimal::from_str(&normalized).map_err(|_| OVERSIZED)?
    };
    // `Decimal` rounds away the decimal places it cannot keep, without an
    // error, and a rounded value has fewer decimal places than the text.
    let places = fraction.trim_end_matches('0').len();
    if value.normalize().scale() as usize != places {
        return Err(OVERSIZED);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn decimals_in_real_documents_parse() {
        let cases = [
            ("1505.0", dec!(1505.0)),
            (".34", dec!(0.34)),
            ("2.00", dec!(2.00)),
            ("91.71", dec!(91.71)),
            ("  8.1\n", dec!(8.1)),
            ("-3", dec!(-3)),
            ("+4.5", dec!(4.5)),
            ("7.", dec!(7)),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse_decimal(raw), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn decimal_scale_is_kept() {
        assert_eq!(parse_decimal("2.00").unwrap().to_string(), "2.00");
    }

    #[test]
    fn comma_decimal_is_rejected_with_a_reason() {
        let error = parse_decimal("1505,0").unwrap_err();
        assert!(error.contains("comma"), "{error}");
    }

    #[test]
    fn malformed_decimals_are_rejected() {
        for raw in [
            "", " ", ".", "-", "1e5", "1_000", "12a", "1.2.3", "--1", "NaN", "1 000",
        ] {
            assert!(parse_decimal(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn oversized_decimal_is_rejected() {
        assert!(parse_decimal(&"9".repeat(40)).is_err());
    }

    #[test]
    fn digits_beyond_precision_are_rejected() {
        for raw in [
            "1.00000000000000000000000000001",
            "12345678901234567890123456789.49",
            "70000000000000000000000000000.50",
            "0.00000000000000000000000000001",
        ] {
            assert_eq!(parse_decimal(raw), Err(OVERSIZED), "{raw:?}");
        }
        let exact_values = [
            ("1.000000000000000000000000000000", dec!(1)),
            (
                "0.0000000000000000000000000001",
                dec!(0.0000000000000000000000000001),
            ),
            ("79228162514264337593543950335", Decimal::MAX),
            ("-000.500", dec!(-0.5)),
            ("0.000", Decimal::ZERO),
        ];
        for (raw, expected) in exact_values {
            assert_eq!(parse_decimal(raw), Ok(expected), "{raw:?}");
        }
    }
}
