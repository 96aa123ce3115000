//! Reads arbitrary bytes as a cXML document with the default limits.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use pobridge_cxml::{read_envelope, Limits};

fuzz_target!(|data: &[u8]| {
    match read_envelope(data, &Limits::default()) {
        Ok(envelope) => {
            std::hint::black_box(format!("{envelope:?}"));
        }
        Err(error) => common::check_error(&error),
    }
});
