//! Writing a cXML document with attachments as a `multipart/related` body,
//! the form Coupa accepts for invoices with files.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::error::AttachmentError;
use crate::error::shown;
use crate::multipart::{content_id_of, Part};

/// The Content-ID of the cXML part, as in Coupa's own example.
pub const CXML_CONTENT_ID: &str = "payload.xml";

/// Base64 line length that MIME (RFC 2045) allows.
const BASE64_LINE_CHARS: usize = 76;

/// A `multipart/related` HTTP body and the `Content-Type` header to send
/// with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartBody {
    /// The `Content-Type` header value, with the `boundary`, `type` and the
    /// `start` part's Content-ID.
    pub content_type: String,
    /// The body, with CRLF line endings throughout.
    pub body: Vec<u8>,
}

/// Writes a cXML document and its attachments as a `multipart/related`
/// body: the cXML part first, with Content-ID [`CXML_CONTENT_ID`] named by
/// `start=`, then each attachment base64-encoded. Every line ends in CRLF,
/// the cXML's own line breaks included, because Coupa rejects LF-only
/// bodies.
///
/// Returns an error when a `cid:` URL in the document names no attachment
/// with exactly that Content-ID (after RFC 2392 percent-decoding), or when
/// an attachment's Content-ID or Content-Type cannot be written in a MIME
/// header. Attachments that the document does not reference are sent as
/// they are.
pub fn write_multipart_related(
    cxml: &str,
    attachments: &[Part],
) -> Result<MultipartBody, AttachmentError> {
    check_parts(attachments)?;
    check_references(cxml, attachments)?;

    let cxml_part = with_crlf(cxml);
    let boundary = choose_boundary(&cxml_part);
    // Each part ends with the CRLF that belongs to the next delimiter
    // (RFC 2046), so an empty part still has its blank line.
    let mut body = String::new();
    body.push_str(&format!("--{boundary}\r\n"));
    body.push_str("Content-Type: text/xml; charset=UTF-8\r\n");
    body.push_str(&format!("Content-ID: <{CXML_CONTENT_ID}>\r\n\r\n"));
    body.push_str(&cxml_part);
    body.push_str("\r\n");
    for part in attachments {
        body.push_str(&format!("--{boundary}\r\n"));
        body.push_str(&format!("Content-Type: {}\r\n", part.content_type));
        body.push_str("Content-Transfer-Encoding: base64\r\n");
        body.push_str(&format!("Content-ID: <{}>\r\n\r\n", part.content_id));
        body.push_str(&base64_lines(&part.bytes));
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));

    let content_type = format!(
        "multipart/related; boundary=\"{boundary}\"; type=\"text/xml\"; \
         start=\"<{CXML_CONTENT_ID}>\""
    );
    Ok(MultipartBody {
        content_type,
        body: body.into_bytes(),
    })
}

fn check_parts(attachments: &[Part]) -> Result<(), AttachmentError> {
    let mut seen = HashSet::from([CXML_CONTENT_ID]);
    for (index, part) in attachments.iter().enumerate() {
        let id = part.content_id.as_str();
        let id_is_valid = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
        if !id_is_valid {
            return Err(AttachmentError::InvalidContentId {
                index,
                value: shown(id),
                expected: "printable ASCII without spaces or angle brackets, such as inv123.pdf",
            });
        }
        if !seen.insert(id) {
            return Err(AttachmentError::DuplicateContentId {
                content_id: shown(id),
            });
        }

        let media_type = part.content_type.as_str();
        let type_is_valid = media_type.contains('/')
            && media_type
                .bytes()
                .all(|b| b == b' ' || b.is_ascii_graphic());
        if !type_is_valid {
            return Err(AttachmentError::InvalidContentType {
                index,
                value: shown(media_type),
                expected: "a media type on one line, such as application/pdf",
            });
        }
    }
    Ok(())
}

/// Checks that every `cid:` URL in the document, in text or in an
/// attribute, names an attachment with exactly that Content-ID.
fn check_references(cxml: &str, attachments: &[Part]) -> Result<(), AttachmentError> {
    for url in cid_urls(cxml)? {
        let content_id = content_id_of(&url);
        if attachments.iter().any(|part| part.content_id == content_id) {
            continue;
        }
        return Err(AttachmentError::MissingPart {
            url: shown(&url),
            content_id: shown(&content_id),
            available: attachments
                .iter()
                .map(|part| part.content_id.clone())
                .collect(),
        });
    }
    Ok(())
}

fn cid_urls(cxml: &str) -> Result<Vec<String>, AttachmentError> {
    let not_well_formed = |error: quick_xml::Error| AttachmentError::NotWellFormed {
        message: error.to_string(),
    };
    let mut reader = Reader::from_str(cxml);
    let mut urls = Vec::new();
    loop {
        match reader.read_event().map_err(not_well_formed)? {
            Event::Text(text) => urls.extend(cid_url(&text.unescape().map_err(not_well_formed)?)),
            Event::CData(data) => urls.extend(cid_url(&String::from_utf8_lossy(&data))),
            Event::Start(element) | Event::Empty(element) => {
                for attribute in element.attributes() {
                    let attribute = attribute.map_err(|error| not_well_formed(error.into()))?;
                    let value = attribute.unescape_value().map_err(not_well_formed)?;
                    urls.extend(cid_url(&value));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(urls)
}

fn cid_url(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let scheme = trimmed.get(..4)?;
    scheme
        .eq_ignore_ascii_case("cid:")
        .then(|| trimmed.to_string())
}

/// Rewrites every line break (LF, CR or CRLF) as CRLF. XML readers turn
/// them back into LF, so the document's meaning does not change.
fn with_crlf(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

/// Picks a boundary that does not occur in the cXML part. Base64 lines
/// never contain `_`, so they cannot contain the boundary either.
fn choose_boundary(cxml_part: &str) -> String {
    (0u64..)
        .map(|counter| format!("pobridge_part_boundary_{counter}"))
        .find(|boundary| !cxml_part.contains(boundary.as_str()))
        .expect("a finite document cannot contain every numbered boundary")
}

/// Encodes bytes as base64 lines joined by CRLF, without a final CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(BASE64_LINE_CHARS)
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    lines.join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_crlf() {
        assert_eq!(with_crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    }

    #[test]
    fn boundary_avoids_text_in_the_document() {
        assert_eq!(choose_boundary("<a/>"), "pobridge_part_boundary_0");
        assert_eq!(
            choose_boundary("<a>pobridge_part_boundary_0</a>"),
            "pobridge_part_boundary_1"
        );
    }

    #[test]
    fn base64_lines_are_76_characters() {
        let lines = base64_lines(&[0u8; 100]);
        let first = lines.split("\r\n").next().unwrap();
        assert_eq!(first.len(), 76);
        assert!(!lines.ends_with("\r\n"));
        assert_eq!(base64_lines(&[]), "");
        assert_eq!(
            STANDARD.decode(lines.replace("\r\n", "")).unwrap(),
            [0u8; 100]
        );
    }
}
