//! Inputs that the fuzz targets in `fuzz/` found, kept as regression tests,
//! with hand-made variants of the same fault.

mod common;

use common::*;
use pobridge_cxml::{read_multipart_related, Limits, ReadError};

/// Maximum length of an error text in these tests. An error quotes at most
/// 64 characters of each value and lists at most five values, so its text
/// stays under a kilobyte for the ASCII inputs used here.
const MAX_MESSAGE_BYTES: usize = 1024;

fn assert_short(error: &ReadError, case: &str) {
    let message = error.to_string();
    assert!(
        message.len() <= MAX_MESSAGE_BYTES,
        "{case}: {} bytes: {}",
        message.len(),
        message.chars().take(300).collect::<String>()
    );
}

#[test]
fn mismatched_end_tag_fixture_gives_short_error() {
    let error = read(&fixture("fuzz/mismatched-end-tag-long-name.xml")).unwrap_err();

    assert!(
        matches!(error, ReadError::NotWellFormed { .. }),
        "{error:?}"
    );
    assert_short(&error, "fuzz input");
    let message = error.to_string();
    assert!(message.contains("expected </Identity>"), "{message}");
    assert!(message.contains("line 2, column 23"), "{message}");
}

#[test]
fn long_names_are_cut_in_every_error() {
    let name = "N".repeat(100_000);
    let cases = [
        (
            "mismatched end tag",
            format!("<cXML payloadID=\"p\"><a></{name}></cXML>"),
        ),
        (
            "unmatched end tag",
            format!("<cXML payloadID=\"p\"/></{name}>"),
        ),
        (
            "unknown entity in text",
            format!("<cXML payloadID=\"p\"><{name}>&bogus;</{name}></cXML>"),
        ),
        (
            "unknown entity in attribute",
            format!("<cXML payloadID=\"p\"><{name} a=\"&bogus;\"/></cXML>"),
        ),
        (
            "unknown entity in long attribute name",
            format!("<cXML payloadID=\"p\"><a {name}=\"&bogus;\"/></cXML>"),
        ),
        (
            "unquoted attribute",
            format!("<cXML payloadID=\"p\"><{name} a=b/></cXML>"),
        ),
        (
            "unclosed element",
            format!("<cXML payloadID=\"p\"><{name}>"),
        ),
        ("long root name", format!("<{name}/>")),
    ];
    for (case, text) in cases {
        let error = read(text.as_bytes()).unwrap_err();
        assert_short(&error, case);
    }
}

#[test]
fn long_attribute_name_over_limit_gives_short_error() {
    let limits = Limits {
        max_attribute_bytes: 8,
        ..Limits::default()
    };
    let name = "N".repeat(100_000);
    let text = format!("<cXML payloadID=\"p\"><{name} {name}=\"0123456789\"/></cXML>");

    let error = pobridge_cxml::read_envelope(text.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(error, ReadError::LimitExceeded { .. }),
        "{error:?}"
    );
    assert_short(&error, "attribute over the limit");
}

#[test]
fn order_without_lines_quotes_a_short_order_id() {
    let order_id = "7".repeat(60_000);
    let text = format!(
        "<cXML payloadID=\"p\" timestamp=\"t\"><Request><OrderRequest>\
         <OrderRequestHeader orderID=\"{order_id}\" orderDate=\"2024-01-02\"/>\
         </OrderRequest></Request></cXML>"
    );

    let error = read(text.as_bytes()).unwrap_err();
    assert!(matches!(error, ReadError::Missing { .. }), "{error:?}");
    assert_short(&error, "order without lines");
    assert!(error.to_string().contains("at least one line"), "{error}");
}

#[test]
fn unmatched_start_lists_few_short_content_ids() {
    let long_id = "c".repeat(10_000);
    let mut body = String::new();
    for index in 0..20 {
        body.push_str(&format!(
            "--b\r\nContent-Type: text/xml\r\nContent-ID: <{long_id}{index}>\r\n\r\n<cXML/>\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    let content_type = "multipart/related; boundary=b; start=\"<missing>\"";

    let error =
        read_multipart_related(content_type, body.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(error, ReadError::InvalidMultipart { .. }),
        "{error:?}"
    );
    assert_short(&error, "start names no part");
    let message = error.to_string();
    assert!(message.contains("names no part"), "{message}");
    assert!(message.contains("and 15 more"), "{message}");
}
