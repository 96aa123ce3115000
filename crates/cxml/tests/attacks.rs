//! Hostile documents: each is rejected (or read harmlessly) fast and with
//! little memory, and nothing outside the document is ever fetched.

mod common;

use std::time::{Duration, Instant};

use common::*;
use pobridge_cxml::{read_envelope, Body, Limits, ReadError};

/// Generous for a debug build on a slow machine; a real rejection takes
/// microseconds.
const FAST: Duration = Duration::from_secs(1);

fn timed(bytes: &[u8]) -> Result<pobridge_cxml::Envelope, ReadError> {
    let started = Instant::now();
    let result = read_envelope(bytes, &Limits::default());
    let elapsed = started.elapsed();
    assert!(elapsed < FAST, "took {elapsed:?}");
    result
}

#[test]
fn external_entity_is_rejected() {
    let error = timed(&fixture("attacks/external-entity.xml")).unwrap_err();
    assert!(matches!(error, ReadError::ForbiddenDtd { .. }), "{error:?}");
    assert_eq!(error.status(), 406);
    assert!(error.to_string().contains("<!ENTITY"), "{error}");
}

#[test]
fn parameter_entity_is_rejected() {
    let error = timed(&fixture("attacks/parameter-entity.xml")).unwrap_err();
    assert!(matches!(error, ReadError::ForbiddenDtd { .. }), "{error:?}");
    assert_eq!(error.status(), 406);
}

#[test]
fn billion_laughs_is_rejected() {
    let error = timed(&fixture("attacks/billion-laughs.xml")).unwrap_err();
    assert!(matches!(error, ReadError::ForbiddenDtd { .. }), "{error:?}");
}

#[test]
fn undeclared_entity_is_rejected_without_fetching_the_dtd() {
    let error = timed(&fixture("attacks/undeclared-entity-with-external-dtd.xml")).unwrap_err();
    assert_eq!(error.status(), 406);
    let message = error.to_string();
    assert!(
        message.contains("unknown entity reference &evil;"),
        "{message}"
    );
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn internal_subset_is_skipped_not_interpreted() {
    let envelope = timed(&fixture("attacks/internal-subset-attlist-not-applied.xml")).unwrap();
    assert_eq!(
        envelope.body,
        Body::ProfileRequest {
            deployment_test: false
        }
    );
}

#[test]
fn deep_nesting_is_rejected() {
    let depth = 100_000;
    let mut text = String::from("<cXML payloadID=\"p\" timestamp=\"t\">");
    text.push_str(&"<a>".repeat(depth));
    text.push_str(&"</a>".repeat(depth));
    text.push_str("</cXML>");

    let error = timed(text.as_bytes()).unwrap_err();
    assert_eq!(error.status(), 406);
    let ReadError::LimitExceeded { measured, max } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*max, 64);
    assert!(measured.contains("nesting depth"), "{measured}");
}

#[test]
fn huge_body_is_rejected_before_parsing() {
    let mut text = String::from("<cXML payloadID=\"");
    text.push_str(&"x".repeat(100 * 1024 * 1024));
    text.push_str("\" timestamp=\"t\"/>");

    let error = timed(text.as_bytes()).unwrap_err();
    assert!(matches!(error, ReadError::TooLarge { .. }), "{error:?}");
    assert_eq!(error.status(), 406);
}

#[test]
fn huge_attribute_is_rejected() {
    let mut text =
        String::from("<cXML payloadID=\"p\" timestamp=\"t\"><Request><ProfileRequest note=\"");
    text.push_str(&"x".repeat(8 * 1024 * 1024));
    text.push_str("\"/></Request></cXML>");

    let error = timed(text.as_bytes()).unwrap_err();
    let ReadError::LimitExceeded { measured, max } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*max, 64 * 1024);
    assert!(
        measured.contains("attribute note of <ProfileRequest>"),
        "{measured}"
    );
    assert!(
        !measured.contains("xxxx"),
        "the value is not quoted: {measured}"
    );
}

/// Builds a ProfileRequest whose start tag has `count` attributes.
fn profile_request_with_attributes(count: usize) -> String {
    let attributes: String = (0..count).map(|index| format!(" a{index}=\"x\"")).collect();
    format!(
        "<cXML payloadID=\"p\" timestamp=\"2026-12-05T12:00:00+00:00\"><Request>\
         <ProfileRequest{attributes}/></Request></cXML>"
    )
}

#[test]
fn many_attributes_are_rejected() {
    let text = profile_request_with_attributes(200_000);

    let error = timed(text.as_bytes()).unwrap_err();
    let ReadError::LimitExceeded { measured, max } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*max, 64);
    assert!(
        measured.contains("the number of attributes of <ProfileRequest>"),
        "{measured}"
    );
    assert_eq!(error.status(), 406);
}

#[test]
fn attributes_up_to_the_limit_are_read() {
    let text = profile_request_with_attributes(64);

    let envelope = timed(text.as_bytes()).unwrap();
    assert_eq!(envelope.payload_id, "p");
}

#[test]
fn invalid_utf8_is_rejected_with_the_byte_offset() {
    let bytes = fixture("attacks/invalid-utf8.xml");
    let offset = bytes.iter().position(|&byte| byte == 0xE9).unwrap();

    let error = timed(&bytes).unwrap_err();
    assert_eq!(
        error,
        ReadError::InvalidEncoding {
            encoding: "UTF-8".into(),
            offset,
            byte: 0xE9
        }
    );
    assert_eq!(error.status(), 406);
    assert!(
        error.to_string().contains(&format!("byte offset {offset}")),
        "{error}"
    );
}

#[test]
fn declared_latin1_is_decoded() {
    let envelope = timed(&fixture("attacks/latin1-declared.xml")).unwrap();
    let header = envelope.header.unwrap();
    assert_eq!(header.from[0].identity, "Käufer");
    assert_eq!(header.user_agent.as_deref(), Some("Über © 2024"));
}

#[test]
fn utf8_bom_is_accepted() {
    let envelope = timed(&fixture("attacks/utf8-bom.xml")).unwrap();
    assert_eq!(
        envelope.body,
        Body::Response {
            code: 200,
            text: "OK".into()
        }
    );
}

#[test]
fn secret_content_is_never_quoted_in_errors() {
    let text = "<cXML payloadID=\"p\" timestamp=\"t\"><Header><Sender><Credential domain=\"d\">\
                <Identity>i</Identity><SharedSecret>&hunter2;</SharedSecret></Credential></Sender></Header>\
                <Request><ProfileRequest/></Request></cXML>";
    let error = timed(text.as_bytes()).unwrap_err();
    assert_eq!(error.status(), 406);
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
