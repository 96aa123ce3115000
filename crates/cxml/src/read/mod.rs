//! Reading inbound cXML: bytes to text, text to an element tree under
//! limits, the tree to the model. Each order line becomes part of the model
//! when its end tag is read and then leaves the tree, so a large order
//! costs its text and its model, never a tree of all its lines.

mod decode;
mod element;
mod envelope;
mod order;
mod sequence;
mod tree;
mod values;

use std::borrow::Cow;

use crate::error::ReadError;
use crate::model::Envelope;

/// Returns a stored document as text for people to read: decoded as the
/// reader decodes it (byte-order mark, then the XML declaration's encoding,
/// then UTF-8), or, when that fails, as UTF-8 with each invalid byte shown
/// as U+FFFD.
pub fn document_text(bytes: &[u8]) -> Cow<'_, str> {
    match decode::decode(bytes) {
        Ok(text) => text,
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Bounds on what [`read_envelope`] accepts, checked while reading so a
/// hostile document is rejected early and with little memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum body size accepted, in bytes. Default 32 MiB.
    pub max_body_bytes: usize,
    /// Maximum element nesting depth accepted, counting the root as 1.
    /// Default 64.
    pub max_depth: usize,
    /// Maximum attribute value length accepted, in bytes before
    /// unescaping. Default 64 KiB.
    pub max_attribute_bytes: usize,
    /// Maximum number of attributes on one element. Default 64. In the cXML
    /// 1.2.069 DTD, `ItemOut` has the most attributes, about 26. Each
    /// attribute is compared with the element's earlier ones to find
    /// duplicates, so without this limit a start tag with 100,000
    /// attributes took seconds to read.
    pub max_attributes: usize,
    /// Maximum number of `ItemOut` elements in one document. Default
    /// 20,000.
    pub max_item_out: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_depth: 64,
            max_attribute_bytes: 64 * 1024,
            max_attributes: 64,
            max_item_out: 20_000,
        }
    }
}

/// Reads a cXML document.
///
/// Accepts any cXML version, with or without an XML declaration or DOCTYPE,
/// a UTF-8 byte-order mark, any encoding the declaration names, elements in
/// any order and a default namespace on the root. Never fetches or expands
/// a DTD: an entity declaration or an unknown entity reference is an error.
/// See [`ReadError::status`] for the status code each failure maps to.
pub fn read_envelope(bytes: &[u8], limits: &Limits) -> Result<Envelope, ReadError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(ReadError::TooLarge {
            size: bytes.len(),
            max: limits.max_body_bytes,
        });
    }

    let text = decode::decode(bytes)?;
    let doc = values::Doc { source: &text };
    let mut lines = order::Lines::new(order::expected_lines(&text, limits.max_item_out));
    let tree = tree::parse(&text, limits, |item| lines.read(&doc, item))?;
    envelope::envelope(&text, tree.element(0), lines)
}

#[cfg(test)]
mod tests {
    use super::document_text;

    #[test]
    fn stored_documents_show_as_sent() {
        let text = "<?xml version=\"1.0\"?><cXML>Müller</cXML>";
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><cXML>M\xfcller</cXML>";
        let broken = b"<cXML>M\xfcller</cXML>";

        assert_eq!(document_text(&utf16), text);
        assert!(document_text(latin1).ends_with("<cXML>Müller</cXML>"));
        assert_eq!(document_text(broken), "<cXML>M\u{FFFD}ller</cXML>");
    }
}
