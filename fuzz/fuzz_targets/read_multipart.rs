//! Splits arbitrary bytes as a `multipart/related` body, then reads the cXML
//! part. The input's first line is the HTTP `Content-Type` value and the rest
//! is the body, so the fuzzer varies the boundary and `start` too.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use pobridge_cxml::{read_envelope, read_multipart_related, Limits};

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    let content_type = String::from_utf8_lossy(header);
    let limits = Limits::default();

    let document = match read_multipart_related(&content_type, body, &limits) {
        Ok(document) => document,
        Err(error) => return common::check_error(&error),
    };
    for part in &document.attachments {
        std::hint::black_box(document.attachment(&part.content_id));
        std::hint::black_box(document.attachment(&format!("cid:{}", part.content_id)));
    }
    match read_envelope(&document.cxml, &limits) {
        Ok(envelope) => {
            std::hint::black_box(format!("{envelope:?}"));
        }
        Err(error) => common::check_error(&error),
    }
});
