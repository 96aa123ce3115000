//! Errors for inbound documents that cannot be read, each with the cXML
//! status code to send back.

/// Maximum number of characters of a value that an error message quotes.
const MAX_SHOWN_CHARS: usize = 64;

/// An inbound document that cannot be used. `Display` names the element or
/// attribute, quotes the bad value (truncated, never a secret) and states
/// what was expected, so the text can go into a cXML `Status` as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The body is larger than [`crate::Limits::max_body_bytes`].
    #[error("document too large: {size} bytes, more than the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },

    /// Bytes that are invalid in the document's encoding.
    #[error(
        "invalid {encoding} at byte offset {offset}: byte 0x{byte:02X} is not valid there; \
         expected {encoding}, the encoding that the byte-order mark or the XML declaration \
         names (UTF-8 when neither names one)"
    )]
    InvalidEncoding {
        encoding: String,
        offset: usize,
        byte: u8,
    },

    /// A UTF-16 byte-order mark in front of bytes in a single-byte encoding
    /// such as UTF-8.
    #[error(
        "the byte-order mark marks the document as {marked}, but the bytes after it are in \
         a single-byte encoding such as UTF-8; remove the byte-order mark or encode the \
         document as {marked}"
    )]
    EncodingMismatch { marked: String },

    /// A document in UTF-16 without the byte-order mark that XML 1.0
    /// requires of UTF-16.
    #[error(
        "the document is {encoding} without a byte-order mark; XML 1.0 requires UTF-16 \
         to start with one, so add it or send the document as UTF-8"
    )]
    Utf16WithoutBom { encoding: String },

    /// An XML declaration names an encoding this reader does not know.
    #[error(
        "unsupported encoding {label} in the XML declaration; expected UTF-8 or \
         another encoding of the WHATWG Encoding Standard, such as ISO-8859-1"
    )]
    UnsupportedEncoding { label: String },

    /// The body is not well-formed XML.
    #[error("not well-formed XML at line {line}, column {column}: {message}")]
    NotWellFormed {
        line: usize,
        column: usize,
        message: String,
    },

    /// A DOCTYPE construct this reader refuses to process, such as an entity
    /// declaration.
    #[error(
        "forbidden DTD construct: {construct}; cXML documents may use only the five \
         predefined entities and character references"
    )]
    ForbiddenDtd { construct: String },

    /// A [`crate::Limits`] value was exceeded.
    #[error("limit exceeded: {measured} is more than the maximum of {max}")]
    LimitExceeded { measured: String, max: usize },

    /// Well-formed XML whose root element is not `cXML`.
    #[error("not a cXML document: the root element is <{root}>, expected <cXML>")]
    NotCxml { root: String },

    /// A cXML document whose envelope lacks what every document needs, such
    /// as a `payloadID` or a `Request`.
    #[error("invalid cXML document: {element}: {problem}")]
    InvalidEnvelope { element: String, problem: String },

    /// A readable document with a value that makes it unusable, such as an
    /// unreadable quantity.
    #[error("invalid {location}: {value}; expected {expected}")]
    InvalidValue {
        location: String,
        value: String,
        expected: String,
    },

    /// A readable document that lacks a part the order needs, such as
    /// `orderID` or any `ItemOut`.
    #[error("missing {part} in {location}")]
    Missing { location: String, part: String },

    /// A `multipart/related` body that cannot be split into its parts.
    #[error("invalid multipart/related body: {problem}")]
    InvalidMultipart { problem: String },
}

impl ReadError {
    /// Returns the cXML status code to send back: 406 when the body is not
    /// usable XML or not cXML, 400 when it is cXML but its content is
    /// unusable.
    pub fn status(&self) -> u16 {
        match self {
            ReadError::InvalidValue { .. } | ReadError::Missing { .. } => 400,
            _ => 406,
        }
    }

    pub(crate) fn invalid(
        location: impl Into<String>,
        value: &str,
        expected: impl Into<String>,
    ) -> Self {
        ReadError::InvalidValue {
            location: location.into(),
            value: shown(value),
            expected: expected.into(),
        }
    }

    pub(crate) fn missing(location: impl Into<String>, part: impl Into<String>) -> Self {
        ReadError::Missing {
            location: location.into(),
            part: part.into(),
        }
    }

    pub(crate) fn envelope(element: impl Into<String>, problem: impl Into<String>) -> Self {
        ReadError::InvalidEnvelope {
            element: element.into(),
            problem: problem.into(),
        }
    }
}

/// Quotes `value` for an error message, cut to [`MAX_SHOWN_CHARS`]
/// characters so a huge value cannot flood a log or a `Status` text.
pub(crate) fn shown(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(MAX_SHOWN_CHARS).collect();
    if chars.next().is_some() {
        format!("{:?}... ({} bytes)", head, value.len())
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_quotes_short_values_whole() {
        assert_eq!(shown("1505,0"), "\"1505,0\"");
    }

    #[test]
    fn shown_truncates_long_values() {
        let long = "x".repeat(1000);
        let text = shown(&long);
        assert!(text.len() < 100, "{text}");
        assert!(text.ends_with("... (1000 bytes)"), "{text}");
    }

    #[test]
    fn content_errors_are_400_and_the_rest_406() {
        assert_eq!(ReadError::invalid("x", "y", "z").status(), 400);
        assert_eq!(ReadError::missing("x", "y").status(), 400);
        let not_cxml = ReadError::NotCxml {
            root: "html".into(),
        };
        assert_eq!(not_cxml.status(), 406);
        let too_large = ReadError::TooLarge { size: 2, max: 1 };
        assert_eq!(too_large.status(), 406);
    }
}
