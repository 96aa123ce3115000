//! Helpers for the invoice tests: fixtures, DTD validation with xmllint, and
//! reading values back out of a written document.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use pobridge_cxml::InvoiceDocument;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::common::{corpus_dir, fixture, fixture_path};

/// Reads an invoice fixture from `tests/fixtures/invoice`.
pub fn invoice_fixture(name: &str) -> InvoiceDocument {
    let bytes = fixture(&format!("invoice/{name}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Returns the path of a file in `tests/fixtures/invoice`.
pub fn invoice_fixture_path(name: &str) -> PathBuf {
    fixture_path(&format!("invoice/{name}"))
}

/// Returns every `InvoiceDetail.dtd` in the corpus, oldest version first.
pub fn all_invoice_dtds() -> Vec<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(corpus_dir().join("dtd"))
        .expect("the corpus has a dtd folder")
        .map(|entry| entry.unwrap().path())
        .filter(|folder| folder.join("InvoiceDetail.dtd").is_file())
        .map(|folder| {
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            let version = name.split('.').map(|part| part.parse().unwrap()).collect();
            (version, folder.join("InvoiceDetail.dtd"))
        })
        .collect();
    versions.sort();
    versions.into_iter().map(|(_, path)| path).collect()
}

/// Returns the DTDs every written invoice must satisfy: 1.2.020, which
/// Coupa's samples declare, and the newest InvoiceDetail.dtd in the corpus.
pub fn invoice_dtds() -> Vec<PathBuf> {
    let oldest_required = corpus_dir().join("dtd/1.2.020/InvoiceDetail.dtd");
    assert!(oldest_required.is_file(), "{}", oldest_required.display());
    let newest = all_invoice_dtds().pop().expect("an InvoiceDetail.dtd");
    vec![oldest_required, newest]
}

/// Validates a file with xmllint against a DTD. Panics when xmllint is
/// missing, so a machine without it fails instead of passing silently.
pub fn xmllint(document: &Path, dtd: &Path) -> Result<(), String> {
    let dtd = dtd.as_os_str();
    run_xmllint(document, &["--noout".as_ref(), "--dtdvalid".as_ref(), dtd]).map(|_| ())
}

/// Returns the string value that xmllint, a conforming XML parser, reads at
/// `xpath` in `xml`.
pub fn xmllint_xpath(xml: &str, xpath: &str) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml.as_bytes()).unwrap();
    let expression = format!("string({xpath})");
    let mut value = run_xmllint(file.path(), &["--xpath".as_ref(), expression.as_ref()])
        .unwrap_or_else(|errors| panic!("xmllint cannot read {xpath}: {errors}"));
    // xmllint ends its output with a line feed of its own.
    assert_eq!(value.pop(), Some('\n'));
    value
}

/// Runs xmllint on a file without network access and returns its output,
/// or its error output when it fails.
fn run_xmllint(document: &Path, args: &[&OsStr]) -> Result<String, String> {
    let output = Command::new("xmllint")
        .arg("--nonet")
        .args(args)
        .arg(document)
        .output()
        .unwrap_or_else(|error| {
            panic!("xmllint is required for this test (apt-get install -y libxml2-utils): {error}")
        });
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Validates text with xmllint against a DTD.
pub fn xmllint_text(xml: &str, dtd: &Path) -> Result<(), String> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml.as_bytes()).unwrap();
    xmllint(file.path(), dtd)
}

/// Asserts that a written invoice is valid against every DTD of
/// [`invoice_dtds`].
pub fn assert_valid_invoice(xml: &str) {
    for dtd in invoice_dtds() {
        if let Err(errors) = xmllint_text(xml, &dtd) {
            panic!("invalid against {}:\n{errors}\n{xml}", dtd.display());
        }
    }
}

/// Returns the unescaped text of every element whose path ends with
/// `path`, such as `InvoiceDetailSummary/NetAmount/Money`.
pub fn texts(xml: &str, path: &str) -> Vec<String> {
    let expected_path: Vec<&str> = path.split('/').collect();
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut found = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(element) => {
                stack.push(String::from_utf8(element.name().as_ref().to_vec()).unwrap());
                if ends_with(&stack, &expected_path) {
                    found.push(String::new());
                }
            }
            Event::Text(text) if ends_with(&stack, &expected_path) => {
                found
                    .last_mut()
                    .unwrap()
                    .push_str(&text.unescape().unwrap());
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => return found,
            _ => {}
        }
    }
}

/// Returns the only text at `path`; panics when there is not exactly one.
pub fn text(xml: &str, path: &str) -> String {
    let mut found = texts(xml, path);
    assert_eq!(found.len(), 1, "{path} in\n{xml}");
    found.pop().unwrap()
}

/// Returns the unescaped value of `attribute` on every `element`.
pub fn attributes(xml: &str, element: &str, attribute: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut found = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == element.as_bytes() => {
                if let Some(value) = tag.try_get_attribute(attribute).unwrap() {
                    found.push(value.unescape_value().unwrap().into_owned());
                }
            }
            Event::Eof => return found,
            _ => {}
        }
    }
}

/// Returns the names of the child elements of the first `parent`, in order.
pub fn children(xml: &str, parent: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut depth_in_parent: Option<usize> = None;
    let mut found = Vec::new();
    loop {
        let event = reader.read_event().unwrap();
        let (name, opens) = match &event {
            Event::Start(tag) => (Some(tag.name().as_ref().to_vec()), true),
            Event::Empty(tag) => (Some(tag.name().as_ref().to_vec()), false),
            Event::End(_) => (None, false),
            Event::Eof => return found,
            _ => continue,
        };
        match (depth_in_parent, name) {
            (None, Some(name)) if name == parent.as_bytes() && opens => depth_in_parent = Some(0),
            (Some(0), Some(name)) => {
                found.push(String::from_utf8(name).unwrap());
                if opens {
                    depth_in_parent = Some(1);
                }
            }
            (Some(depth), Some(_)) if opens => depth_in_parent = Some(depth + 1),
            (Some(0), None) => return found,
            (Some(depth), None) => depth_in_parent = Some(depth - 1),
            _ => {}
        }
    }
}

fn ends_with(stack: &[String], expected_path: &[&str]) -> bool {
    stack.len() >= expected_path.len()
        && stack[stack.len() - expected_path.len()..]
            .iter()
            .zip(expected_path)
            .all(|(have, want)| have == want)
}
