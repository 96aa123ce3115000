//! Masking on every corpus document: no secret or card number survives, and
//! the rest of the document reads the same.

mod common;

use common::*;
use pobridge_cxml::{mask_secrets, Body, Envelope, Secret, REDACTED};

/// Finds the text between `<name ...>` and `</name>` for every such element,
/// independently of the masking code.
fn element_contents(text: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        if after[..tag_end].ends_with('/') {
            rest = &after[tag_end..];
            continue;
        }
        let content = &after[tag_end + 1..];
        let Some(end) = content.find(&close) else {
            break;
        };
        found.push(content[..end].to_string());
        rest = &content[end..];
    }
    found
}

fn card_numbers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for piece in text.split("number=\"").skip(1) {
        if let Some(end) = piece.find('"') {
            found.push(piece[..end].to_string());
        }
    }
    found
}

/// The envelope as the masked copy should read: every secret redacted.
fn redacted(mut envelope: Envelope) -> Envelope {
    let redact = |credentials: &mut Vec<pobridge_cxml::Credential>| {
        for credential in credentials {
            if let Some(secret) = credential.shared_secret.as_mut() {
                if !secret.expose().is_empty() {
                    *secret = Secret::new(REDACTED);
                }
            }
        }
    };
    if let Some(header) = envelope.header.as_mut() {
        redact(&mut header.from);
        redact(&mut header.to);
        redact(&mut header.sender);
    }
    if let Body::OrderRequest { order, .. } = &mut envelope.body {
        if let Some(card) = order.header.payment.as_mut() {
            card.expiration = Secret::new(REDACTED);
        }
    }
    envelope
}

#[test]
fn no_corpus_secret_survives_masking() {
    let mut checked_secrets = 0;
    for folder in ["order", "other", "response", "invoice"] {
        for file in corpus_files(folder) {
            let original = corpus(&file);
            let masked = mask_secrets(&original);
            let original_text = String::from_utf8(original.clone()).unwrap();
            let masked_text = String::from_utf8(masked).unwrap();

            for name in ["SharedSecret", "CredentialMac", "DigitalSignature"] {
                for secret in element_contents(&original_text, name) {
                    if secret.trim().len() >= 3 {
                        assert!(
                            !masked_text.contains(secret.trim()),
                            "{file}: {name} survived"
                        );
                        checked_secrets += 1;
                    }
                }
                for content in element_contents(&masked_text, name) {
                    assert_eq!(content, REDACTED, "{file}: {name}");
                }
            }
            for number in card_numbers(&original_text) {
                if original_text.contains("<PCard") {
                    assert!(
                        !masked_text.contains(&number),
                        "{file}: card number survived"
                    );
                    checked_secrets += 1;
                }
            }
        }
    }
    assert!(
        checked_secrets >= 20,
        "only {checked_secrets} secrets checked"
    );
}

#[test]
fn masked_corpus_documents_read_the_same() {
    for folder in ["order", "other", "response", "invoice"] {
        for file in corpus_files(folder) {
            let original = corpus(&file);
            let masked = mask_secrets(&original);
            match (read(&original), read(&masked)) {
                (Ok(before), Ok(after)) => assert_eq!(redacted(before), after, "{file}"),
                (Err(before), Err(after)) => assert_eq!(before, after, "{file}"),
                (before, after) => panic!("{file}: {before:?} became {after:?}"),
            }
        }
    }
}

#[test]
fn masking_changes_only_the_secret_bytes() {
    let original = corpus("order/cxmlorg-1.1.010-orderrequest-pcard-tax-split-distribution.xml");
    let masked = String::from_utf8(mask_secrets(&original)).unwrap();
    let expected = String::from_utf8(original)
        .unwrap()
        .replace(
            "<SharedSecret>abracadabra</SharedSecret>",
            "<SharedSecret>********</SharedSecret>",
        )
        .replace(
            "<PCard number=\"1234567890123456\" expiration=\"1999-03-12\"/>",
            "<PCard number=\"************3456\" expiration=\"********\"/>",
        );
    assert_eq!(masked, expected);
}

#[test]
fn masking_covers_the_malformed_document_too() {
    let input = b"<cXML payloadID=\"a&b\"><SharedSecret>hunter2</SharedSecret>";
    let masked = String::from_utf8(mask_secrets(input)).unwrap();
    assert_eq!(
        masked,
        "<cXML payloadID=\"a&b\"><SharedSecret>********</SharedSecret>"
    );
}
