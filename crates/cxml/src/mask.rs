//! Masking secrets in a raw document before it is stored or shown.
//!
//! Masking works on the bytes, not on a parsed tree, so everything except
//! the masked values stays byte-identical and even a document that is not
//! well-formed gets masked.

use std::ops::Range;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

use crate::model::REDACTED;
use crate::write::{text_content, xml_chars};

/// Elements whose whole content is a secret.
const SECRET_ELEMENTS: [&[u8]; 3] = [b"SharedSecret", b"CredentialMac", b"DigitalSignature"];

/// Card numbers with fewer digits than this are masked whole: showing four
/// digits of a short number would show most of it.
const MIN_DIGITS_TO_SHOW_LAST_FOUR: usize = 10;

/// Replaces the content of every `SharedSecret`, `CredentialMac` and
/// `DigitalSignature` element with `********`, masks each `PCard` `number`
/// to its last four digits (`************1111`) and replaces its
/// `expiration`. All other bytes are left unchanged.
///
/// Comments, CDATA sections and quoted attribute values are skipped as
/// units, so an end tag inside them does not end a secret early. A secret
/// element that is never closed is masked to the end of the input. Works on
/// any encoding that is ASCII-compatible, and on UTF-16 with a byte-order
/// mark.
pub fn mask_secrets(bytes: &[u8]) -> Vec<u8> {
    match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) if encoding == UTF_16LE || encoding == UTF_16BE => {
            mask_utf16(encoding, &bytes[..bom_len], &bytes[bom_len..])
        }
        // NOTE: other encodings that are not ASCII-compatible (UTF-32,
        // EBCDIC) are scanned as bytes and their secrets are not found.
        _ => rewrite(bytes, &MASK),
    }
}

/// Puts `secret`, escaped, in place of the content of every `SharedSecret`
/// element of a UTF-8 document, such as an invoice stored with
/// [`mask_secrets`], so that it can be sent with the secret that is current
/// when it is sent. Everything else stays byte-identical.
pub fn fill_shared_secret(document: &str, secret: &str) -> String {
    let escaped = text_content(&xml_chars(secret));
    let fill = Rewrite {
        elements: &[b"SharedSecret"],
        content: &escaped,
        cards: false,
    };
    // The edits replace whole element contents of a UTF-8 string with
    // UTF-8 text, so the result is UTF-8 too.
    String::from_utf8_lossy(&rewrite(document.as_bytes(), &fill)).into_owned()
}

/// The replacements made by one pass over a document.
struct Rewrite<'r> {
    /// Elements whose whole content is replaced, by local name.
    elements: &'r [&'r [u8]],
    /// The content put in their place.
    content: &'r [u8],
    /// Whether `PCard` numbers and expirations are masked too.
    cards: bool,
}

/// Masking: every secret element becomes `********`, and cards are masked.
const MASK: Rewrite<'static> = Rewrite {
    elements: &SECRET_ELEMENTS,
    content: REDACTED.as_bytes(),
    cards: true,
};

/// Masks a card number to its last four digits, such as `************1111`.
/// Character references are resolved first; a number with fewer than ten
/// digits is masked whole. A number that is already masked stays as it is,
/// because `*` counts as a hidden digit.
pub(crate) fn mask_card_number(raw: &str) -> String {
    let unescaped = quick_xml::escape::unescape(raw)
        .map(|text| text.into_owned())
        .unwrap_or_default();
    let length = unescaped
        .chars()
        .filter(|character| character.is_ascii_digit() || *character == '*')
        .count();
    let digits: Vec<char> = unescaped.chars().filter(char::is_ascii_digit).collect();
    if length < MIN_DIGITS_TO_SHOW_LAST_FOUR || digits.len() < 4 {
        return REDACTED.to_string();
    }
    let last_four: String = digits[digits.len() - 4..].iter().collect();
    format!("{}{last_four}", "*".repeat(length - 4))
}

fn mask_utf16(encoding: &'static Encoding, bom: &[u8], body: &[u8]) -> Vec<u8> {
    let (text, _) = encoding.decode_without_bom_handling(body);
    let masked = rewrite(text.as_bytes(), &MASK);
    let masked = String::from_utf8_lossy(&masked);

    let mut out = bom.to_vec();
    for unit in masked.encode_utf16() {
        let pair = if encoding == UTF_16LE {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        out.extend_from_slice(&pair);
    }
    out
}

/// A secret element whose end tag has not been seen yet.
struct OpenSecret<'a> {
    name: &'a [u8],
    content_start: usize,
    depth: usize,
}

/// Applies `rules` to a document in an ASCII-compatible encoding.
fn rewrite(bytes: &[u8], rules: &Rewrite<'_>) -> Vec<u8> {
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut open: Option<OpenSecret<'_>> = None;
    let mut index = 0;

    while let Some(found) = find(&bytes[index..], b"<") {
        let at = index + found;
        let rest = &bytes[at..];
        index = if rest.starts_with(b"<!--") {
            end_of(bytes, at, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            end_of(bytes, at, b"]]>")
        } else if rest.starts_with(b"<?") {
            end_of(bytes, at, b"?>")
        } else if rest.starts_with(b"<!") {
            end_of_declaration(bytes, at)
        } else {
            let tag_end = end_of_tag(bytes, at);
            handle_tag(bytes, at..tag_end, rules, &mut open, &mut edits);
            tag_end
        };
    }
    if let Some(secret) = open {
        edits.push((secret.content_start..bytes.len(), rules.content.to_vec()));
    }

    apply(bytes, edits)
}

fn handle_tag<'a>(
    bytes: &'a [u8],
    tag: Range<usize>,
    rules: &Rewrite<'_>,
    open: &mut Option<OpenSecret<'a>>,
    edits: &mut Vec<(Range<usize>, Vec<u8>)>,
) {
    let text = &bytes[tag.clone()];
    let is_end = text.starts_with(b"</");
    let name = local_name(&text[if is_end { 2 } else { 1 }..]);
    let self_closing = text.ends_with(b"/>");

    if let Some(secret) = open.as_mut() {
        if name != secret.name {
            return;
        }
        if is_end {
            secret.depth -= 1;
            if secret.depth == 0 {
                edits.push((secret.content_start..tag.start, rules.content.to_vec()));
                *open = None;
            }
        } else if !self_closing {
            secret.depth += 1;
        }
        return;
    }

    if is_end || self_closing && name != b"PCard" {
        return;
    }
    if rules.elements.contains(&name) {
        *open = Some(OpenSecret {
            name,
            content_start: tag.end,
            depth: 1,
        });
    } else if rules.cards && name == b"PCard" {
        mask_pcard_attributes(bytes, tag, edits);
    }
}

fn mask_pcard_attributes(
    bytes: &[u8],
    tag: Range<usize>,
    edits: &mut Vec<(Range<usize>, Vec<u8>)>,
) {
    for (name, value) in attributes(bytes, tag) {
        let replacement = match local_name(&bytes[name]) {
            b"number" => {
                let raw = String::from_utf8_lossy(&bytes[value.clone()]);
                mask_card_number(&raw).into_bytes()
            }
            b"expiration" => REDACTED.as_bytes().to_vec(),
            _ => continue,
        };
        edits.push((value, replacement));
    }
}

/// Returns the name and value ranges of the attributes in a start tag.
/// Values are the bytes between the quotes.
fn attributes(bytes: &[u8], tag: Range<usize>) -> Vec<(Range<usize>, Range<usize>)> {
    let end = tag.end;
    let mut index = tag.start + 1;
    // Skip the element name.
    while index < end && !is_name_end(bytes[index]) {
        index += 1;
    }

    let mut found = Vec::new();
    loop {
        while index < end && (bytes[index].is_ascii_whitespace() || bytes[index] == b'/') {
            index += 1;
        }
        let name_start = index;
        while index < end && !is_name_end(bytes[index]) && bytes[index] != b'=' {
            index += 1;
        }
        if index == name_start {
            return found;
        }
        let name = name_start..index;
        while index < end && bytes[index].is_ascii_whitespace() {
            index += 1;
        }
        if bytes.get(index) != Some(&b'=') {
            continue;
        }
        index += 1;
        while index < end && bytes[index].is_ascii_whitespace() {
            index += 1;
        }
        let Some(&quote) = bytes
            .get(index)
            .filter(|&&byte| byte == b'"' || byte == b'\'')
        else {
            return found;
        };
        let value_start = index + 1;
        let Some(length) = find(&bytes[value_start..end], &[quote]) else {
            return found;
        };
        found.push((name, value_start..value_start + length));
        index = value_start + length + 1;
    }
}

fn is_name_end(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte == b'>' || byte == b'/'
}

/// Returns the name after `<` or `</`, without a namespace prefix.
fn local_name(after_bracket: &[u8]) -> &[u8] {
    let trimmed = &after_bracket[after_bracket
        .iter()
        .take_while(|byte| byte.is_ascii_whitespace())
        .count()..];
    let length = trimmed
        .iter()
        .position(|&byte| is_name_end(byte))
        .unwrap_or(trimmed.len());
    let name = &trimmed[..length];
    match name.iter().rposition(|&byte| byte == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// Returns the index after the `>` that closes the tag starting at `start`,
/// skipping `>` inside quoted attribute values.
fn end_of_tag(bytes: &[u8], start: usize) -> usize {
    let mut quote: Option<u8> = None;
    for (offset, &byte) in bytes[start + 1..].iter().enumerate() {
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if byte == b'"' || byte == b'\'' => quote = Some(byte),
            None if byte == b'>' => return start + 1 + offset + 1,
            None => {}
        }
    }
    bytes.len()
}

/// Returns the index after a `<!DOCTYPE ...>` or other declaration,
/// skipping an internal subset in brackets and quoted strings.
fn end_of_declaration(bytes: &[u8], start: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut brackets = 0usize;
    for (offset, &byte) in bytes[start + 2..].iter().enumerate() {
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None => match byte {
                b'"' | b'\'' => quote = Some(byte),
                b'[' => brackets += 1,
                b']' => brackets = brackets.saturating_sub(1),
                b'>' if brackets == 0 => return start + 2 + offset + 1,
                _ => {}
            },
        }
    }
    bytes.len()
}

fn end_of(bytes: &[u8], start: usize, terminator: &[u8]) -> usize {
    match find(&bytes[start..], terminator) {
        Some(offset) => start + offset + terminator.len(),
        None => bytes.len(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn apply(bytes: &[u8], mut edits: Vec<(Range<usize>, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    for (range, replacement) in edits {
        if range.start < copied {
            continue;
        }
        out.extend_from_slice(&bytes[copied..range.start]);
        out.extend_from_slice(&replacement);
        copied = range.end;
    }
    out.extend_from_slice(&bytes[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(input: &str) -> String {
        String::from_utf8(mask_secrets(input.as_bytes())).unwrap()
    }

    #[test]
    fn shared_secret_content_is_replaced() {
        let input = "<Credential domain=\"d\"><Identity>i</Identity><SharedSecret>abc</SharedSecret></Credential>";
        let expected = "<Credential domain=\"d\"><Identity>i</Identity><SharedSecret>********</SharedSecret></Credential>";
        assert_eq!(masked(input), expected);
    }

    #[test]
    fn secret_with_comment_cdata_and_whitespace_is_replaced() {
        let input = "<SharedSecret >\n <!-- x --><![CDATA[a</SharedSecret>b]]>c</SharedSecret >";
        assert_eq!(masked(input), "<SharedSecret >********</SharedSecret >");
    }

    #[test]
    fn prefixed_secret_elements_are_replaced() {
        let input = "<c:SharedSecret>s</c:SharedSecret><CredentialMac type=\"x\">m</CredentialMac>";
        let expected = "<c:SharedSecret>********</c:SharedSecret><CredentialMac type=\"x\">********</CredentialMac>";
        assert_eq!(masked(input), expected);
    }

    #[test]
    fn digital_signature_with_children_is_replaced() {
        let input = "<DigitalSignature><ds:Signature><ds:Value>v</ds:Value></ds:Signature></DigitalSignature>";
        assert_eq!(
            masked(input),
            "<DigitalSignature>********</DigitalSignature>"
        );
    }

    #[test]
    fn unclosed_secret_is_masked_to_the_end() {
        assert_eq!(masked("<a><SharedSecret>leak"), "<a><SharedSecret>********");
    }

    #[test]
    fn empty_secret_element_is_left_alone() {
        assert_eq!(masked("<SharedSecret/><x>y</x>"), "<SharedSecret/><x>y</x>");
    }

    #[test]
    fn pcard_attributes_are_masked() {
        let input = "<PCard expiration='2030-01-01' name=\"J\" number = \"4111111111111111\"/>";
        let expected = "<PCard expiration='********' name=\"J\" number = \"************1111\"/>";
        assert_eq!(masked(input), expected);
    }

    #[test]
    fn pcard_number_with_character_references_is_masked() {
        let input = "<PCard number=\"&#52;111-1111-1111-1111\" expiration=\"x\"/>";
        assert_eq!(
            masked(input),
            "<PCard number=\"************1111\" expiration=\"********\"/>"
        );
    }

    #[test]
    fn secret_tag_in_comment_is_ignored() {
        let input = "<!-- <SharedSecret> --><a title=\"<SharedSecret>\">keep</a>";
        assert_eq!(masked(input), input);
    }

    #[test]
    fn doctype_with_internal_subset_is_skipped() {
        let input =
            "<!DOCTYPE cXML [<!ENTITY x \"<SharedSecret>\">]><SharedSecret>s</SharedSecret>";
        let expected =
            "<!DOCTYPE cXML [<!ENTITY x \"<SharedSecret>\">]><SharedSecret>********</SharedSecret>";
        assert_eq!(masked(input), expected);
    }

    #[test]
    fn latin1_bytes_outside_secrets_are_unchanged() {
        let input = b"<a>caf\xE9</a><SharedSecret>s\xE9</SharedSecret>";
        let expected = b"<a>caf\xE9</a><SharedSecret>********</SharedSecret>";
        assert_eq!(mask_secrets(input), expected.to_vec());
    }

    #[test]
    fn utf16_documents_are_masked() {
        let encode = |text: &str| {
            let mut bytes = vec![0xFF, 0xFE];
            for unit in text.encode_utf16() {
                bytes.extend_from_slice(&unit.to_le_bytes());
            }
            bytes
        };
        let input = encode("<SharedSecret>s</SharedSecret>");
        assert_eq!(
            mask_secrets(&input),
            encode("<SharedSecret>********</SharedSecret>")
        );
    }

    #[test]
    fn filled_secret_is_escaped() {
        let masked = "<Sender><Credential domain=\"d\"><SharedSecret>********</SharedSecret>\
            </Credential></Sender><Comments>********</Comments>";
        let filled = fill_shared_secret(masked, "a<b&c\u{1}");
        let expected = "<Sender><Credential domain=\"d\"><SharedSecret>a&lt;b&amp;c\u{fffd}\
            </SharedSecret></Credential></Sender><Comments>********</Comments>";
        assert_eq!(filled, expected);
    }

    #[test]
    fn filling_leaves_other_secrets_and_cards_alone() {
        let masked = "<PCard number=\"************1111\"/><CredentialMac>********</CredentialMac>\
            <c:SharedSecret>********</c:SharedSecret>";
        let expected =
            "<PCard number=\"************1111\"/><CredentialMac>********</CredentialMac>\
            <c:SharedSecret>s3cret</c:SharedSecret>";
        assert_eq!(fill_shared_secret(masked, "s3cret"), expected);
    }

    #[test]
    fn filled_then_masked_is_the_masked_document() {
        let masked = "<a>é</a><SharedSecret>********</SharedSecret>";
        let filled = fill_shared_secret(masked, "x");
        assert_eq!(masked.as_bytes(), mask_secrets(filled.as_bytes()));
    }

    #[test]
    fn card_numbers_keep_only_the_last_four_digits() {
        assert_eq!(mask_card_number("1234567890123456"), "************3456");
        assert_eq!(mask_card_number("************3456"), "************3456");
        assert_eq!(mask_card_number("1234"), REDACTED);
        assert_eq!(mask_card_number("**********"), REDACTED);
        assert_eq!(mask_card_number(""), REDACTED);
    }
}
