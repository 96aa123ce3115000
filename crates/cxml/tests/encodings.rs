//! Documents whose bytes, byte-order mark and XML declaration disagree.
//! Each is read faithfully or rejected with an error that names the
//! problem. None may panic or come back with a wrong value.

mod common;

use common::*;
use pobridge_cxml::{Envelope, ReadError};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// Builds a ProfileRequest whose From credential has `domain` as its
/// `domain` attribute and `identity` as its `Identity` text, both as raw
/// bytes.
fn document(prolog: &[u8], domain: &[u8], identity: &[u8]) -> Vec<u8> {
    let mut bytes = prolog.to_vec();
    bytes.extend_from_slice(
        b"<cXML payloadID=\"1@example.com\" timestamp=\"2024-01-02T03:04:05+00:00\">",
    );
    bytes.extend_from_slice(b"<Header><From><Credential domain=\"");
    bytes.extend_from_slice(domain);
    bytes.extend_from_slice(b"\"><Identity>");
    bytes.extend_from_slice(identity);
    bytes.extend_from_slice(b"</Identity></Credential></From></Header>");
    bytes.extend_from_slice(b"<Request><ProfileRequest/></Request></cXML>");
    bytes
}

fn declaration(encoding: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n").into_bytes()
}

fn from_credential(envelope: &Envelope) -> (String, String) {
    let header = envelope.header.as_ref().expect("a Header");
    let credential = &header.from[0];
    (credential.domain.clone(), credential.identity.clone())
}

fn read_credential(bytes: &[u8]) -> (String, String) {
    let envelope = read(bytes).unwrap_or_else(|error| panic!("not read: {error}"));
    from_credential(&envelope)
}

fn utf16(text: &[u8], big_endian: bool) -> Vec<u8> {
    let text = std::str::from_utf8(text).expect("test text is UTF-8");
    text.encode_utf16()
        .flat_map(|unit| {
            if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            }
        })
        .collect()
}

/// Byte sequences that are not UTF-8, each with the index of its first
/// invalid byte.
const INVALID_UTF8: [(&str, &[u8], usize); 7] = [
    ("lone continuation byte", b"K\x80ufer", 1),
    ("lead byte before an ASCII byte", b"K\xC3ufer", 1),
    ("overlong slash", b"K\xC0\xAFufer", 1),
    ("encoded surrogate", b"K\xED\xA0\x80ufer", 1),
    ("above U+10FFFF", b"K\xF4\x90\x80\x80ufer", 1),
    ("byte 0xFF", b"K\xFFufer", 1),
    ("Latin-1 a-umlaut", b"K\xE4ufer", 1),
];

/// Returns the offset of the first occurrence of `part` in `bytes`.
fn offset_of(bytes: &[u8], part: &[u8]) -> usize {
    bytes
        .windows(part.len())
        .position(|window| window == part)
        .expect("the part is in the document")
}

fn assert_invalid_utf8(bytes: &[u8], offset: usize, case: &str) {
    let error = read(bytes).unwrap_err();
    assert_eq!(
        error,
        ReadError::InvalidEncoding {
            encoding: "UTF-8".into(),
            offset,
            byte: bytes[offset],
        },
        "{case}"
    );
    assert_eq!(error.status(), 406, "{case}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("byte offset {offset}")),
        "{case}: {message}"
    );
}

#[test]
fn invalid_utf8_in_text_rejected() {
    for prolog in [&b""[..], &declaration("UTF-8")] {
        for (case, identity, bad_index) in INVALID_UTF8 {
            let bytes = document(prolog, b"NetworkID", identity);
            let offset = offset_of(&bytes, identity) + bad_index;
            assert_invalid_utf8(&bytes, offset, case);
        }
    }
}

#[test]
fn invalid_utf8_in_attribute_rejected() {
    for (case, domain, bad_index) in INVALID_UTF8 {
        let bytes = document(&declaration("utf-8"), domain, b"buyer");
        let offset = offset_of(&bytes, domain) + bad_index;
        assert_invalid_utf8(&bytes, offset, case);
    }
}

#[test]
fn invalid_utf8_at_the_end_is_rejected() {
    let mut bytes = document(b"", b"NetworkID", b"buyer");
    bytes.push(0xC3);
    let offset = bytes.len() - 1;
    assert_invalid_utf8(&bytes, offset, "truncated sequence at the end");
}

#[test]
fn invalid_utf8_in_secret_quotes_no_secret() {
    let bytes: &[u8] = b"<cXML payloadID=\"p\" timestamp=\"t\"><Header><Sender>\
        <Credential domain=\"d\"><Identity>i</Identity><SharedSecret>hunter2\xFF</SharedSecret>\
        </Credential></Sender></Header><Request><ProfileRequest/></Request></cXML>";

    let error = read(bytes).unwrap_err();
    assert!(
        matches!(error, ReadError::InvalidEncoding { byte: 0xFF, .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn replacement_encoding_label_is_unsupported() {
    let bytes = document(&declaration("ISO-2022-KR"), b"NetworkID", b"buyer");
    let error = read(&bytes).unwrap_err();
    assert!(
        matches!(error, ReadError::UnsupportedEncoding { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("ISO-2022-KR"), "{error}");
}

#[test]
fn mislabeled_utf8_reads_as_utf8() {
    let labels = [
        "UTF-16",
        "utf-16",
        "UTF-16LE",
        "UTF-16BE",
        "ISO-8859-1",
        "iso-8859-1",
        "latin1",
        "windows-1252",
        "ISO-8859-15",
        "Shift_JIS",
    ];
    for label in labels {
        let bytes = document(
            &declaration(label),
            "Dom\u{e4}ne".as_bytes(),
            "K\u{e4}ufer \u{20ac} \u{1f600}".as_bytes(),
        );
        let (domain, identity) = read_credential(&bytes);
        assert_eq!(domain, "Dom\u{e4}ne", "{label}");
        assert_eq!(identity, "K\u{e4}ufer \u{20ac} \u{1f600}", "{label}");
    }
}

#[test]
fn declared_latin1_with_latin1_bytes_reads_as_latin1() {
    let bytes = document(
        &declaration("ISO-8859-1"),
        b"Dom\xE4ne",
        b"K\xE4ufer \xA9 2024",
    );
    let (domain, identity) = read_credential(&bytes);
    assert_eq!(domain, "Dom\u{e4}ne");
    assert_eq!(identity, "K\u{e4}ufer \u{a9} 2024");
}

#[test]
fn declared_latin1_with_ascii_bytes_reads_unchanged() {
    let bytes = document(&declaration("ISO-8859-1"), b"NetworkID", b"buyer");
    assert_eq!(
        read_credential(&bytes),
        ("NetworkID".to_string(), "buyer".to_string())
    );
}

#[test]
fn utf8_bom_wins_over_another_declaration() {
    for label in ["ISO-8859-1", "UTF-16", "Shift_JIS"] {
        let mut prolog = UTF8_BOM.to_vec();
        prolog.extend_from_slice(&declaration(label));
        let bytes = document(&prolog, b"NetworkID", "K\u{e4}ufer".as_bytes());
        let (_, identity) = read_credential(&bytes);
        assert_eq!(identity, "K\u{e4}ufer", "{label}");
    }
}

#[test]
fn utf8_bom_over_latin1_rejected() {
    let mut prolog = UTF8_BOM.to_vec();
    prolog.extend_from_slice(&declaration("ISO-8859-1"));
    let bytes = document(&prolog, b"NetworkID", b"K\xE4ufer");
    let offset = bytes.iter().position(|&byte| byte == 0xE4).unwrap();

    let error = read(&bytes).unwrap_err();
    assert_eq!(
        error,
        ReadError::InvalidEncoding {
            encoding: "UTF-8".into(),
            offset,
            byte: 0xE4
        }
    );
    let message = error.to_string();
    assert!(message.contains("byte-order mark"), "{message}");
}

#[test]
fn utf16_bom_wins_over_another_declaration() {
    for (bom, big_endian) in [(UTF16LE_BOM, false), (UTF16BE_BOM, true)] {
        for label in ["UTF-8", "ISO-8859-1", "UTF-16"] {
            let text = document(
                &declaration(label),
                "Dom\u{e4}ne".as_bytes(),
                "K\u{e4}ufer \u{1f600}".as_bytes(),
            );
            let mut bytes = bom.to_vec();
            bytes.extend_from_slice(&utf16(&text, big_endian));
            let (domain, identity) = read_credential(&bytes);
            assert_eq!(domain, "Dom\u{e4}ne", "{label}");
            assert_eq!(identity, "K\u{e4}ufer \u{1f600}", "{label}");
        }
    }
}

#[test]
fn utf16_bom_over_utf8_rejected() {
    for bom in [UTF16LE_BOM, UTF16BE_BOM] {
        for prolog in [declaration("UTF-8"), declaration("UTF-16"), Vec::new()] {
            let mut bytes = bom.to_vec();
            bytes.extend_from_slice(&document(&prolog, b"NetworkID", "K\u{e4}ufer".as_bytes()));

            let error = read(&bytes).unwrap_err();
            assert!(
                matches!(error, ReadError::EncodingMismatch { .. }),
                "{error:?}"
            );
            assert_eq!(error.status(), 406);
            let message = error.to_string();
            assert!(message.contains("byte-order mark"), "{message}");
            assert!(message.contains("UTF-16"), "{message}");
        }
    }
}

#[test]
fn utf16_without_bom_is_rejected() {
    for (big_endian, encoding) in [(false, "UTF-16LE"), (true, "UTF-16BE")] {
        let text = document(
            &declaration("UTF-16"),
            b"NetworkID",
            "K\u{e4}ufer".as_bytes(),
        );
        let bytes = utf16(&text, big_endian);

        let error = read(&bytes).unwrap_err();
        assert_eq!(
            error,
            ReadError::Utf16WithoutBom {
                encoding: encoding.into()
            }
        );
        assert_eq!(error.status(), 406);
        assert!(error.to_string().contains("byte-order mark"), "{error}");
    }
}

/// Reads `bytes` and checks that the error is invalid `encoding` at
/// `offset`.
fn assert_invalid_encoding_at(bytes: &[u8], encoding: &str, offset: usize) {
    let error = read(bytes).unwrap_err();
    let ReadError::InvalidEncoding {
        encoding: found_encoding,
        offset: found_offset,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(found_encoding, encoding);
    assert_eq!(*found_offset, offset);
}

#[test]
fn invalid_utf16_rejected_at_offset() {
    let text = document(b"", b"NetworkID", b"buyer");
    let mut bytes = UTF16LE_BOM.to_vec();
    bytes.extend_from_slice(&utf16(&text, false));
    let identity_at = offset_of(&bytes, b"b\0u\0");
    // An unpaired high surrogate in place of the "b" of "buyer".
    bytes[identity_at..identity_at + 2].copy_from_slice(&0xD800u16.to_le_bytes());

    assert_invalid_encoding_at(&bytes, "UTF-16LE", identity_at);
}

#[test]
fn utf16_with_odd_length_is_rejected() {
    let text = document(b"", b"NetworkID", b"buyer");
    let mut bytes = UTF16BE_BOM.to_vec();
    bytes.extend_from_slice(&utf16(&text, true));
    bytes.push(b'<');

    assert_invalid_encoding_at(&bytes, "UTF-16BE", bytes.len() - 1);
}
