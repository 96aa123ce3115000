//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use pobridge_cxml::{read_envelope, Body, Envelope, Limits, Money, OrderRequest, ReadError};
use rust_decimal::Decimal;

/// Returns the shared cXML corpus folder, read in place.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/cxml"
    ))
}

pub fn corpus(relative: &str) -> Vec<u8> {
    let path = corpus_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(relative)
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixture_path(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

pub fn read(bytes: &[u8]) -> Result<Envelope, ReadError> {
    read_envelope(bytes, &Limits::default())
}

/// Reads a document that must be an OrderRequest.
pub fn read_order(bytes: &[u8]) -> (Envelope, OrderRequest) {
    let envelope = read(bytes).unwrap_or_else(|error| panic!("not read: {error}"));
    match envelope.body.clone() {
        Body::OrderRequest { order, .. } => (envelope, order),
        other => panic!("not an OrderRequest: {other:?}"),
    }
}

pub fn money(amount: &str, currency: &str) -> Money {
    Money {
        amount: Decimal::from_str(amount).unwrap(),
        currency: currency.to_string(),
    }
}

pub fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn time(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// Lists every file under a corpus folder, sorted.
pub fn corpus_files(folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir().join(folder))
        .unwrap()
        .map(|entry| format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}
