//! Invoices with attachments as `multipart/related` bodies: CRLF
//! throughout, the cXML part first and named by `start=`, and every `cid:`
//! URL matched by a part with exactly its Content-ID.

mod common;
mod invoice_support;

use common::fixture;
use invoice_support::invoice_fixture;
use pobridge_cxml::{
    read_multipart_related, write_invoice, write_multipart_related, AttachmentError, Limits, Part,
    CXML_CONTENT_ID,
};

fn pdf(content_id: &str) -> Part {
    Part {
        content_id: content_id.into(),
        content_type: "application/pdf".into(),
        bytes: fixture("multipart/spec.pdf"),
    }
}

fn invoice_with_attachments(urls: &[&str]) -> String {
    let mut document = invoice_fixture("minimal.json");
    document.invoice.comments = Some("Invoice image attached.".into());
    document.invoice.attachment_urls = urls.iter().map(|url| url.to_string()).collect();
    write_invoice(&document).unwrap()
}

#[test]
fn multipart_body_snapshot() {
    let cxml = invoice_with_attachments(&["cid:inv-1.pdf"]);
    let note = Part {
        content_id: "note.txt".into(),
        content_type: "text/plain; charset=UTF-8".into(),
        bytes: "Caf\u{e9} note".as_bytes().to_vec(),
    };
    let written = write_multipart_related(&cxml, &[pdf("inv-1.pdf"), note]).unwrap();

    assert_eq!(
        written.content_type,
        "multipart/related; boundary=\"pobridge_part_boundary_0\"; type=\"text/xml\"; \
         start=\"<payload.xml>\""
    );
    let body = String::from_utf8(written.body).unwrap();
    // Each CRLF is shown as a visible \r\n at the end of its line.
    insta::assert_snapshot!(body.replace("\r\n", "\\r\\n\n"));
}

#[test]
fn every_line_ends_in_crlf() {
    let cxml = invoice_with_attachments(&["cid:inv-1.pdf"]);
    let written = write_multipart_related(&cxml, &[pdf("inv-1.pdf")]).unwrap();

    let body = &written.body;
    let line_feeds = body.iter().filter(|byte| **byte == b'\n').count();
    let crlfs = body.windows(2).filter(|pair| pair == b"\r\n").count();
    assert!(line_feeds > 10);
    assert_eq!(line_feeds, crlfs, "a bare LF is in the body");
    assert!(body.ends_with(b"--pobridge_part_boundary_0--\r\n"));
}

#[test]
fn body_reads_back_with_cxml_first() {
    let cxml = invoice_with_attachments(&["cid:inv-1.pdf"]);
    let written = write_multipart_related(&cxml, &[pdf("inv-1.pdf")]).unwrap();

    let body = String::from_utf8(written.body.clone()).unwrap();
    let first_part = body.split("--pobridge_part_boundary_0\r\n").nth(1).unwrap();
    assert!(first_part.starts_with("Content-Type: text/xml; charset=UTF-8\r\n"));
    assert!(first_part.contains(&format!("Content-ID: <{CXML_CONTENT_ID}>\r\n")));

    let read =
        read_multipart_related(&written.content_type, &written.body, &Limits::default()).unwrap();
    let read_cxml = String::from_utf8(read.cxml).unwrap();
    assert_eq!(read_cxml.replace("\r\n", "\n"), cxml);
    assert_eq!(read.attachments.len(), 1);
    assert_eq!(read.attachments[0].content_id, "inv-1.pdf");
    assert_eq!(read.attachments[0].content_type, "application/pdf");
    assert_eq!(read.attachments[0].bytes, fixture("multipart/spec.pdf"));
}

#[test]
fn empty_attachment_reads_back_empty() {
    let cxml = invoice_with_attachments(&["cid:empty.txt"]);
    let empty = Part {
        content_id: "empty.txt".into(),
        content_type: "text/plain".into(),
        bytes: Vec::new(),
    };
    let written = write_multipart_related(&cxml, &[empty, pdf("inv.pdf")]).unwrap();

    let read =
        read_multipart_related(&written.content_type, &written.body, &Limits::default()).unwrap();
    assert_eq!(read.attachments.len(), 2);
    assert_eq!(read.attachments[0].content_id, "empty.txt");
    assert!(read.attachments[0].bytes.is_empty());
    assert_eq!(read.attachments[1].bytes, fixture("multipart/spec.pdf"));
}

#[test]
fn cid_with_other_case_is_rejected() {
    let cxml = invoice_with_attachments(&["cid:Inv.pdf"]);
    let error = write_multipart_related(&cxml, &[pdf("inv.pdf")]).unwrap_err();

    assert_eq!(
        error,
        AttachmentError::MissingPart {
            url: "\"cid:Inv.pdf\"".into(),
            content_id: "\"Inv.pdf\"".into(),
            available: vec!["inv.pdf".into()],
        }
    );
    assert!(error.to_string().contains("exact case"), "{error}");
}

#[test]
fn missing_attachment_is_rejected() {
    let cxml = invoice_with_attachments(&["cid:inv.pdf", "cid:terms.pdf"]);
    let error = write_multipart_related(&cxml, &[pdf("inv.pdf")]).unwrap_err();
    assert!(
        matches!(&error, AttachmentError::MissingPart { content_id, .. } if content_id == "\"terms.pdf\""),
        "{error}"
    );
}

#[test]
fn cid_in_an_extrinsic_is_checked_too() {
    let cxml = invoice_with_attachments(&[]).replace(
        "</InvoiceDetailRequestHeader>",
        "<Extrinsic name=\"ImageScanAttachmentUrl\">cid:scan.pdf</Extrinsic></InvoiceDetailRequestHeader>",
    );
    let error = write_multipart_related(&cxml, &[]).unwrap_err();
    assert!(
        matches!(&error, AttachmentError::MissingPart { content_id, .. } if content_id == "\"scan.pdf\""),
        "{error}"
    );
    assert!(write_multipart_related(&cxml, &[pdf("scan.pdf")]).is_ok());
}

#[test]
fn percent_encoded_cid_matches_its_part() {
    let cxml = invoice_with_attachments(&["cid:inv%401.pdf"]);
    let written = write_multipart_related(&cxml, &[pdf("inv@1.pdf")]).unwrap();
    let body = String::from_utf8(written.body).unwrap();
    assert!(body.contains("Content-ID: <inv@1.pdf>\r\n"), "{body}");
}

#[test]
fn https_urls_need_no_part() {
    let cxml = invoice_with_attachments(&["https://files.example/inv.pdf"]);
    let written = write_multipart_related(&cxml, &[]).unwrap();
    assert!(written.body.starts_with(b"--pobridge_part_boundary_0\r\n"));
}

#[test]
fn unusable_parts_are_rejected() {
    let cxml = invoice_with_attachments(&[]);
    let cases = [
        (pdf(""), "invalid Content-ID \"\""),
        (pdf("a b.pdf"), "invalid Content-ID \"a b.pdf\""),
        (pdf("<a.pdf>"), "invalid Content-ID \"<a.pdf>\""),
        (pdf("a.pdf\r\nX-Injected: 1"), "invalid Content-ID"),
        (
            pdf(CXML_CONTENT_ID),
            "Content-ID \"payload.xml\" is used by more than one part",
        ),
        (
            Part {
                content_type: "application/pdf\r\nX-Injected: 1".into(),
                ..pdf("a.pdf")
            },
            "invalid Content-Type",
        ),
        (
            Part {
                content_type: "pdf".into(),
                ..pdf("a.pdf")
            },
            "invalid Content-Type \"pdf\"",
        ),
    ];
    for (part, expected) in cases {
        let message = write_multipart_related(&cxml, &[part])
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }

    let duplicate = write_multipart_related(&cxml, &[pdf("a.pdf"), pdf("a.pdf")]).unwrap_err();
    assert_eq!(
        duplicate,
        AttachmentError::DuplicateContentId {
            content_id: "\"a.pdf\"".into()
        }
    );
}

#[test]
fn boundary_avoids_document_text() {
    let cxml = invoice_with_attachments(&[]).replace(
        "Invoice image attached.",
        "pobridge_part_boundary_0 is not a boundary here",
    );
    let written = write_multipart_related(&cxml, &[]).unwrap();
    assert!(
        written
            .content_type
            .contains("boundary=\"pobridge_part_boundary_1\""),
        "{}",
        written.content_type
    );
}

#[test]
fn malformed_cxml_is_rejected() {
    let error = write_multipart_related("<cXML><Comments>cid:a</cXML>", &[]).unwrap_err();
    assert!(
        matches!(error, AttachmentError::NotWellFormed { .. }),
        "{error}"
    );
}
