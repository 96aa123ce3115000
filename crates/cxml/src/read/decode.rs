//! Turns the raw body into text: byte-order mark first, then the encoding
//! named in the XML declaration, then UTF-8.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};

use crate::error::{shown, ReadError};

/// How far into the body the XML declaration may end. A real declaration is
/// well under 100 bytes.
const MAX_DECLARATION_BYTES: usize = 1024;

/// Decodes `bytes` to text without replacing invalid sequences: a byte that
/// is invalid in the document's encoding is an error naming its offset.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ReadError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let rest = &bytes[bom_len..];
        if encoding != UTF_8 && starts_with_single_byte_text(rest) {
            return Err(ReadError::EncodingMismatch {
                marked: encoding.name().to_string(),
            });
        }
        return decode_with(encoding, rest, bom_len);
    }
    // XML 1.0 (section 4.3.3) requires the byte-order mark of UTF-16, and
    // mask_secrets finds secrets in UTF-16 only behind one.
    if let Some(encoding) = utf16_without_bom(bytes) {
        return Err(ReadError::Utf16WithoutBom {
            encoding: encoding.name().to_string(),
        });
    }

    let encoding = match declared_encoding(bytes)? {
        // A UTF-16 label in a declaration that was readable as ASCII is
        // wrong: the document is ASCII-compatible, so read it as UTF-8.
        Some(declared) if declared == UTF_16LE || declared == UTF_16BE => UTF_8,
        // Text in a legacy encoding such as ISO-8859-1 is almost never
        // valid UTF-8 unless it is plain ASCII, so bytes that are valid
        // UTF-8 with some non-ASCII are UTF-8 under a wrong label.
        // NOTE: a legacy document whose every non-ASCII byte happens to
        // pair up into UTF-8 (ISO-8859-1 "Ã©" alone, say) is read as UTF-8.
        // A document that mixes UTF-8 with its declared encoding is read as
        // declared, so each of its UTF-8 characters becomes two or three.
        Some(_) if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() => UTF_8,
        Some(declared) => declared,
        None => UTF_8,
    };
    decode_with(encoding, bytes, 0)
}

/// Returns true when the first two bytes are both non-zero. A UTF-16
/// document starts with `<` or whitespace, whose code units each have a
/// zero byte, so such bytes are in a single-byte encoding such as UTF-8.
fn starts_with_single_byte_text(bytes: &[u8]) -> bool {
    matches!(bytes, [first, second, ..] if *first != 0 && *second != 0)
}

/// Detects UTF-16 without a byte-order mark from a leading `<?`, as XML
/// 1.0 Appendix F describes.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [b'<', 0, b'?', 0, ..] => Some(UTF_16LE),
        [0, b'<', 0, b'?', ..] => Some(UTF_16BE),
        _ => None,
    }
}

fn decode_with<'a>(
    encoding: &'static Encoding,
    bytes: &'a [u8],
    base_offset: usize,
) -> Result<Cow<'a, str>, ReadError> {
    if encoding == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(error) => Err(invalid_byte(
                encoding,
                bytes,
                error.valid_up_to(),
                base_offset,
            )),
        };
    }

    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(Cow::Owned(text)),
        DecoderResult::Malformed(bad_len, consumed_after) => {
            let bad_start = read - usize::from(consumed_after) - usize::from(bad_len);
            Err(invalid_byte(encoding, bytes, bad_start, base_offset))
        }
        // The buffer was sized for the worst case, so it cannot fill up.
        DecoderResult::OutputFull => Err(ReadError::UnsupportedEncoding {
            label: shown(encoding.name()),
        }),
    }
}

fn invalid_byte(
    encoding: &'static Encoding,
    bytes: &[u8],
    index: usize,
    base_offset: usize,
) -> ReadError {
    ReadError::InvalidEncoding {
        encoding: encoding.name().to_string(),
        offset: base_offset + index,
        byte: bytes.get(index).copied().unwrap_or(0),
    }
}

/// Reads the `encoding` pseudo-attribute of a leading XML declaration, such
/// as `<?xml version = '1.0' encoding = 'ISO-8859-15' standalone='no'?>`.
fn declared_encoding(bytes: &[u8]) -> Result<Option<&'static Encoding>, ReadError> {
    let Some(declaration) = leading_declaration(bytes) else {
        return Ok(None);
    };
    let Some(label) = pseudo_attribute(declaration, b"encoding") else {
        return Ok(None);
    };
    // NOTE: encoding_rs follows the WHATWG labels, so `ISO-8859-1` decodes
    // as windows-1252: bytes 0x80-0x9F become punctuation, not C1 controls.
    // The WHATWG maps labels such as ISO-2022-KR to "replacement", which
    // decodes any input to a single U+FFFD, so it is not supported.
    match Encoding::for_label(label) {
        Some(encoding) if encoding != REPLACEMENT => Ok(Some(encoding)),
        _ => Err(ReadError::UnsupportedEncoding {
            label: shown(&String::from_utf8_lossy(label)),
        }),
    }
}

/// Returns the inside of `<?xml ... ?>` when the body starts with one.
fn leading_declaration(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    if !rest.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let window = &rest[..rest.len().min(MAX_DECLARATION_BYTES)];
    let end = window.windows(2).position(|pair| pair == b"?>")?;
    Some(&window[..end])
}

/// Finds `name = "value"` or `name='value'` in a declaration.
fn pseudo_attribute<'a>(declaration: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let start = declaration
        .windows(name.len())
        .position(|window| window == name)?;
    let rest = trim_start(&declaration[start + name.len()..]);
    let rest = trim_start(rest.strip_prefix(b"=")?);
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    let end = value.iter().position(|&byte| byte == quote)?;
    Some(&value[..end])
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_whitespace())
        .count();
    &bytes[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_without_declaration_is_borrowed() {
        let text = decode(b"<cXML/>").unwrap();
        assert!(matches!(text, Cow::Borrowed("<cXML/>")));
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let text = decode(b"\xEF\xBB\xBF<cXML/>").unwrap();
        assert_eq!(text, "<cXML/>");
    }

    #[test]
    fn declared_latin1_is_decoded() {
        let bytes = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\xE9</a>";
        let text = decode(bytes).unwrap();
        assert!(text.ends_with("<a>caf\u{e9}</a>"), "{text}");
    }

    #[test]
    fn declaration_with_spaces_and_single_quotes_is_read() {
        let bytes = b"<?xml version = '1.0' encoding = 'ISO-8859-15' standalone='no'?><a>\xA4</a>";
        let text = decode(bytes).unwrap();
        assert!(text.ends_with("<a>\u{20ac}</a>"), "{text}");
    }

    #[test]
    fn invalid_utf8_names_the_byte_offset() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>caf\xE9</a>";
        let offset = bytes.iter().position(|&byte| byte == 0xE9).unwrap();
        let error = decode(bytes).unwrap_err();
        let expected = ReadError::InvalidEncoding {
            encoding: "UTF-8".into(),
            offset,
            byte: 0xE9,
        };
        assert_eq!(error, expected);
        assert!(
            error.to_string().contains(&format!("byte offset {offset}")),
            "{error}"
        );
    }

    #[test]
    fn invalid_utf8_after_bom_counts_the_bom() {
        let error = decode(b"\xEF\xBB\xBF<a>\xFF</a>").unwrap_err();
        assert!(matches!(
            error,
            ReadError::InvalidEncoding { offset: 6, .. }
        ));
    }

    #[test]
    fn unknown_encoding_is_rejected() {
        let error = decode(b"<?xml version='1.0' encoding='EBCDIC-XYZ'?><a/>").unwrap_err();
        assert!(matches!(error, ReadError::UnsupportedEncoding { .. }));
        assert!(error.to_string().contains("EBCDIC-XYZ"), "{error}");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "<a>\u{e9}</a>".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes).unwrap(), "<a>\u{e9}</a>");
    }

    #[test]
    fn invalid_shift_jis_names_the_offset() {
        let bytes = b"<?xml version='1.0' encoding='Shift_JIS'?><a>\x82</a>";
        let error = decode(bytes).unwrap_err();
        assert!(
            matches!(
                error,
                ReadError::InvalidEncoding {
                    offset: 45,
                    byte: 0x82,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
