//! Generated responses: DTD-valid (checked with xmllint against the local
//! cXML 1.2.014 DTD), correctly escaped, and readable by our own reader.

mod common;

use std::io::Write;
use std::process::Command;

use common::*;
use pobridge_cxml::{write_profile_response, write_response, Body};

/// Validates `xml` with xmllint against the corpus copy of the DTD the
/// responses declare. Fails loudly when xmllint is missing.
fn assert_dtd_valid(xml: &str) {
    let dtd = corpus_dir().join("dtd/1.2.014/cXML.dtd");
    assert!(dtd.is_file(), "DTD not found at {}", dtd.display());
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml.as_bytes()).unwrap();

    let output = Command::new("xmllint")
        .arg("--nonet")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(&dtd)
        .arg(file.path())
        .output()
        .unwrap_or_else(|error| {
            panic!("xmllint is required for this test (apt-get install -y libxml2-utils): {error}")
        });
    assert!(
        output.status.success(),
        "xmllint rejected the document:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ok_response_is_dtd_valid() {
    let xml = write_response(
        "1.2@pobridge.test",
        time("2024-01-02T03:04:05+00:00"),
        200,
        "OK",
        None,
    );
    assert_dtd_valid(&xml);
    insta::assert_snapshot!(xml);
}

#[test]
fn error_response_with_detail_is_dtd_valid() {
    let xml = write_response(
        "1.3@pobridge.test",
        time("2024-01-02T03:04:05-05:00"),
        400,
        "Bad Request",
        Some("invalid ItemOut lineNumber=\"1\" quantity: \"1505,0\"; expected <decimal> & more"),
    );
    assert_dtd_valid(&xml);
    insta::assert_snapshot!(xml);
}

#[test]
fn awkward_text_is_escaped_and_stays_valid() {
    let texts = [
        "a & b < c > d \" e ' f",
        "non-ASCII: é – ’ ü 漢字",
        "control \u{1} and \u{1b} characters",
        "]]> and <![CDATA[",
        "&amp; already escaped",
    ];
    for text in texts {
        let xml = write_response(
            "1.4@pobridge.test",
            time("2024-01-02T03:04:05Z"),
            500,
            text,
            Some(text),
        );
        assert_dtd_valid(&xml);
        let envelope = read(xml.as_bytes()).unwrap_or_else(|error| panic!("{text:?}: {error}"));
        let Body::Response {
            code,
            text: read_text,
        } = envelope.body
        else {
            panic!("{text:?}");
        };
        assert_eq!(code, 500);
        let expected: String = text
            .chars()
            .map(|character| {
                if character < ' ' {
                    '\u{fffd}'
                } else {
                    character
                }
            })
            .collect();
        assert_eq!(read_text, expected);
    }
}

#[test]
fn response_reads_back_with_payload_id_and_timestamp() {
    let xml = write_response(
        "1585687161.42@pobridge.test",
        time("2024-01-02T03:04:05+01:00"),
        201,
        "Accepted",
        None,
    );
    let envelope = read(xml.as_bytes()).unwrap();
    assert_eq!(envelope.payload_id, "1585687161.42@pobridge.test");
    assert_eq!(envelope.timestamp_raw, "2024-01-02T03:04:05+01:00");
    assert_eq!(envelope.timestamp, Some(time("2024-01-02T03:04:05+01:00")));
}

#[test]
fn profile_response_is_dtd_valid() {
    let xml = write_profile_response(
        "1.5@pobridge.test",
        time("2024-01-02T03:04:05+00:00"),
        &[
            ("ProfileRequest", Some("https://pobridge.test/cxml/acme")),
            (
                "OrderRequest",
                Some("https://pobridge.test/cxml/acme?a=1&b=2"),
            ),
            ("StatusUpdateRequest", None),
        ],
    );
    assert_dtd_valid(&xml);
    assert!(
        xml.contains("<URL>https://pobridge.test/cxml/acme?a=1&amp;b=2</URL>"),
        "{xml}"
    );
    let envelope = read(xml.as_bytes()).unwrap();
    assert_eq!(
        envelope.body,
        Body::Response {
            code: 200,
            text: "OK".into()
        }
    );
    insta::assert_snapshot!(xml);
}
