//! cXML with attachments in a multipart/related body.

mod common;

use common::*;
use pobridge_cxml::{read_multipart_related, Body, Limits, ReadError};

const CRLF_TYPE: &str =
    "multipart/related; boundary=\"----=_Part_0_1\"; type=\"text/xml\"; start=\"<payload.xml@pobridge.test>\"";

fn split(content_type: &str, body: &[u8]) -> Result<pobridge_cxml::MultipartDocument, ReadError> {
    read_multipart_related(content_type, body, &Limits::default())
}

#[test]
fn crlf_body_splits_into_cxml_and_decoded_attachments() {
    let document = split(CRLF_TYPE, &fixture("multipart/related-crlf.mime")).unwrap();

    let (_, order) = read_order(&document.cxml);
    assert_eq!(order.header.order_id, "77");
    assert!(
        document.cxml.ends_with(b"</cXML>"),
        "no boundary CRLF left on the part"
    );

    assert_eq!(document.attachments.len(), 2);
    let pdf = &document.attachments[0];
    assert_eq!(pdf.content_id, "spec.pdf@pobridge.test");
    assert_eq!(pdf.content_type, "application/pdf");
    assert_eq!(pdf.bytes, fixture("multipart/spec.pdf"));
    let note = &document.attachments[1];
    assert_eq!(note.content_type, "text/plain");
    assert_eq!(
        String::from_utf8(note.bytes.clone()).unwrap(),
        "Café note with a soft break"
    );
}

#[test]
fn cid_reference_with_other_case_finds_the_attachment() {
    let document = split(CRLF_TYPE, &fixture("multipart/related-crlf.mime")).unwrap();
    let (_, order) = read_order(&document.cxml);
    let url = &order.header.comments[0].attachment_urls[0];
    assert_eq!(url, "cid:Spec.PDF@pobridge.test");

    let part = document
        .attachment(url)
        .expect("attachment found despite case");
    assert_eq!(part.content_id, "spec.pdf@pobridge.test");
    assert!(document.attachment("cid:missing@pobridge.test").is_none());
}

#[test]
fn lf_body_uses_first_xml_part() {
    let content_type = "multipart/related; boundary=b1; type=\"application/xml\"";
    let document = split(content_type, &fixture("multipart/related-lf-only.mime")).unwrap();

    let envelope = read(&document.cxml).unwrap();
    assert!(matches!(envelope.body, Body::OrderRequest { .. }));
    assert_eq!(document.attachments.len(), 1);
    assert_eq!(document.attachments[0].bytes, fixture("multipart/spec.pdf"));
}

#[test]
fn start_parameter_matches_content_id_case_insensitively() {
    let content_type = CRLF_TYPE.replace("payload.xml", "PAYLOAD.XML");
    let document = split(&content_type, &fixture("multipart/related-crlf.mime")).unwrap();
    assert!(document.cxml.starts_with(b"<?xml"));
}

#[test]
fn broken_multipart_bodies_are_rejected() {
    let body = fixture("multipart/related-crlf.mime");
    let cases = [
        ("text/xml", "expected multipart/related"),
        ("multipart/related", "no boundary"),
        ("multipart/related; boundary=other", "no part found"),
        (
            "multipart/related; boundary=\"----=_Part_0_1\"; start=\"<nope>\"",
            "names no part",
        ),
    ];
    for (content_type, fragment) in cases {
        let error = split(content_type, &body).unwrap_err();
        assert!(
            matches!(error, ReadError::InvalidMultipart { .. }),
            "{content_type}: {error:?}"
        );
        assert_eq!(error.status(), 406);
        assert!(
            error.to_string().contains(fragment),
            "{content_type}: {error}"
        );
    }
}

#[test]
fn multipart_without_xml_part_is_rejected() {
    let body = b"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n";
    let error = split("multipart/related; boundary=b", body).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no text/xml or application/xml part"),
        "{error}"
    );
}

#[test]
fn oversized_multipart_body_is_rejected() {
    let limits = Limits {
        max_body_bytes: 100,
        ..Limits::default()
    };
    let body = fixture("multipart/related-crlf.mime");
    let error = read_multipart_related(CRLF_TYPE, &body, &limits).unwrap_err();
    assert!(matches!(error, ReadError::TooLarge { .. }), "{error:?}");
}
