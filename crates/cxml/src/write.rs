//! Writing the synchronous cXML responses: `Response/Status` and
//! `ProfileResponse`.

use std::borrow::Cow;
use std::io;

use chrono::{DateTime, FixedOffset, Utc};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::Writer;

use crate::time::format_timestamp;

/// The DTD that written documents declare; Coupa declares the same on
/// purchase orders.
pub const RESPONSE_DTD_URL: &str = "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd";

/// The `xml:lang` written on the root.
const LANG: &str = "en-US";

/// Writes a cXML `Response` with `Status code text`, and `detail` as the
/// Status content when given, such as
/// `<Status code="400" text="Bad Request">invalid ItemOut quantity</Status>`.
pub fn write_response(
    payload_id: &str,
    timestamp: DateTime<FixedOffset>,
    code: u16,
    text: &str,
    detail: Option<&str>,
) -> String {
    render(payload_id, timestamp, |writer| {
        status(writer, code, text, detail)?;
        Ok(())
    })
}

/// Writes a `ProfileResponse` listing the supported transactions, each a
/// `requestName` with the URL to post it to, after `Status 200 OK`.
///
/// The DTD requires a `URL` in every `Transaction`, so a transaction without
/// one is written with an empty `<URL/>`. The DTD also requires at least one
/// transaction.
pub fn write_profile_response(
    payload_id: &str,
    timestamp: DateTime<FixedOffset>,
    transactions: &[(&str, Option<&str>)],
) -> String {
    let effective_date = format_timestamp(&timestamp);
    render(payload_id, timestamp, |writer| {
        status(writer, 200, "OK", None)?;
        writer
            .create_element("ProfileResponse")
            .with_attribute(attribute("effectiveDate", &effective_date))
            .write_inner_content(|writer| {
                for (request_name, url) in transactions {
                    transaction(writer, request_name, *url)?;
                }
                Ok(())
            })?;
        Ok(())
    })
}

/// Builds a new `payloadID` as `<epoch seconds>.<random>@<host>`, the shape
/// Coupa uses, such as `1585687161.8273645@pobridge.example.com`.
pub fn new_payload_id(time: DateTime<Utc>, random: u64, host: &str) -> String {
    format!("{}.{random}@{host}", time.timestamp())
}

fn render(
    payload_id: &str,
    timestamp: DateTime<FixedOffset>,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>,
) -> String {
    let timestamp = format_timestamp(&timestamp);
    let payload_id = xml_chars(payload_id);
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let result = write_document(&mut writer, &payload_id, &timestamp, body);
    // Writing to a Vec<u8> never returns an I/O error.
    result.expect("writing to memory cannot fail");
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

fn write_document(
    writer: &mut Writer<Vec<u8>>,
    payload_id: &str,
    timestamp: &str,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>,
) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let doctype = format!("cXML SYSTEM \"{RESPONSE_DTD_URL}\"");
    writer.write_event(Event::DocType(BytesText::from_escaped(doctype)))?;
    writer
        .create_element("cXML")
        .with_attributes([
            attribute("payloadID", payload_id),
            attribute("timestamp", timestamp),
            attribute("xml:lang", LANG),
        ])
        .write_inner_content(|writer| {
            writer
                .create_element("Response")
                .write_inner_content(body)?;
            Ok(())
        })?;
    writer.get_mut().push(b'\n');
    Ok(())
}

fn status(
    writer: &mut Writer<Vec<u8>>,
    code: u16,
    text: &str,
    detail: Option<&str>,
) -> io::Result<()> {
    let code = code.to_string();
    let text = xml_chars(text);
    let element = writer
        .create_element("Status")
        .with_attributes([attribute("code", &code), attribute("text", &text)]);
    match detail {
        Some(detail) => element.write_text_content(text_content(&xml_chars(detail)))?,
        None => element.write_empty()?,
    };
    Ok(())
}

fn transaction(
    writer: &mut Writer<Vec<u8>>,
    request_name: &str,
    url: Option<&str>,
) -> io::Result<()> {
    let request_name = xml_chars(request_name);
    writer
        .create_element("Transaction")
        .with_attribute(attribute("requestName", &request_name))
        .write_inner_content(|writer| {
            let element = writer.create_element("URL");
            match url {
                Some(url) => element.write_text_content(text_content(&xml_chars(url)))?,
                None => element.write_empty()?,
            };
            Ok(())
        })?;
    Ok(())
}

/// Builds an attribute whose value an XML parser reads back unchanged.
/// Besides the markup characters, tab, line feed and carriage return become
/// character references, because attribute-value normalization (XML 1.0
/// section 3.3.3) turns literal ones into spaces. Pass the value through
/// [`xml_chars`] first when it may hold characters XML forbids.
pub(crate) fn attribute<'a>(name: &'a str, value: &str) -> Attribute<'a> {
    Attribute {
        key: QName(name.as_bytes()),
        value: Cow::Owned(escape(value, true).into_bytes()),
    }
}

/// Builds text content that an XML parser reads back unchanged. Besides the
/// markup characters, carriage return becomes `&#13;`, because end-of-line
/// handling (XML 1.0 section 2.11) turns a literal one into a line feed.
/// Pass the text through [`xml_chars`] first when it may hold characters XML
/// forbids.
pub(crate) fn text_content(text: &str) -> BytesText<'static> {
    BytesText::from_escaped(escape(text, false))
}

/// Escapes the five markup characters as quick-xml does, and the whitespace
/// that an XML parser would otherwise change.
fn escape(text: &str, in_attribute: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' if in_attribute => escaped.push_str("&#10;"),
            '\t' if in_attribute => escaped.push_str("&#9;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Replaces characters that XML 1.0 forbids even when escaped (control
/// characters other than tab, line feed and carriage return, and the
/// non-characters U+FFFE and U+FFFF) with U+FFFD.
pub(crate) fn xml_chars(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' => character,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            _ => character,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn response_escapes_text_and_detail() {
        let xml = write_response(
            "1.2@h",
            at("2024-01-02T03:04:05+01:00"),
            400,
            "Bad \"Request\" & <more>",
            Some("price <5> & 'x'"),
        );
        assert!(
            xml.contains("text=\"Bad &quot;Request&quot; &amp; &lt;more&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains(">price &lt;5&gt; &amp; 'x'</Status>")
                || xml.contains(">price &lt;5&gt; &amp; &apos;x&apos;</Status>"),
            "{xml}"
        );
    }

    #[test]
    fn response_starts_with_declaration_and_doctype() {
        let xml = write_response("p", at("2024-01-02T03:04:05Z"), 200, "OK", None);
        let mut lines = xml.lines();
        assert_eq!(
            lines.next(),
            Some("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        assert_eq!(
            lines.next(),
            Some("<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd\">")
        );
        assert!(
            xml.contains("timestamp=\"2024-01-02T03:04:05+00:00\""),
            "{xml}"
        );
    }

    #[test]
    fn forbidden_control_characters_are_replaced() {
        let xml = write_response("p", at("2024-01-02T03:04:05Z"), 500, "a\u{1}b", None);
        assert!(xml.contains("text=\"a\u{fffd}b\""), "{xml}");
    }

    #[test]
    fn payload_id_is_epoch_random_and_host() {
        let time = at("2020-03-31T20:39:21Z").with_timezone(&Utc);
        assert_eq!(
            new_payload_id(time, 42, "pobridge.example.com"),
            "1585687161.42@pobridge.example.com"
        );
    }
}
