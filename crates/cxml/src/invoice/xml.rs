//! Small element writers shared by the invoice writer. Every text they take
//! is written escaped, so that an XML parser reads it back unchanged.

use std::io;

use quick_xml::events::{BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;

use super::format::{coupa_text, money};
use crate::write::{attribute, text_content};

/// The writer every invoice element is written with.
pub(super) type XmlWriter = Writer<Vec<u8>>;

/// The `xml:lang` of descriptions, names and comments.
pub(super) const LANG: &str = "en";

/// Writes `<name>text</name>`.
pub(super) fn text_element(writer: &mut XmlWriter, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(text_content(text))?;
    Ok(())
}

/// Writes `<name xml:lang="en">text</name>` with Coupa's substitutions, for
/// `Description` and `Name`.
pub(super) fn lang_element(writer: &mut XmlWriter, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .with_attribute(attribute("xml:lang", LANG))
        .write_text_content(text_content(&coupa_text(text)))?;
    Ok(())
}

/// Writes `<Money currency="USD">12.50</Money>`.
pub(super) fn money_element(
    writer: &mut XmlWriter,
    amount: Decimal,
    currency: &str,
) -> io::Result<()> {
    writer
        .create_element("Money")
        .with_attribute(attribute("currency", currency))
        .write_text_content(text_content(&money(amount)))?;
    Ok(())
}

/// Writes `<name><Money currency="USD">12.50</Money></name>`, such as
/// `SubtotalAmount`.
pub(super) fn amount_element(
    writer: &mut XmlWriter,
    name: &str,
    amount: Decimal,
    currency: &str,
) -> io::Result<()> {
    writer
        .create_element(name)
        .write_inner_content(|writer| money_element(writer, amount, currency))?;
    Ok(())
}

/// Keeps the next tag on the current line. Mixed content such as
/// `Comments` must not gain the indentation whitespace as text.
pub(super) fn stay_inline(writer: &mut XmlWriter) -> io::Result<()> {
    writer.write_event(Event::Text(BytesText::new("")))
}
