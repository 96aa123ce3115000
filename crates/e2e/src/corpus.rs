//! The shared corpus of real cXML documents, read in place.

use std::path::PathBuf;

/// Returns the `corpus` folder of the material shared beside the repository.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
}

/// Reads every OrderRequest document of the corpus, sorted by file name.
pub fn order_documents() -> Vec<(String, Vec<u8>)> {
    documents("cxml/order")
}

/// Reads every document in a corpus folder, sorted by file name.
pub fn documents(folder: &str) -> Vec<(String, Vec<u8>)> {
    let directory = corpus_dir().join(folder);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Returns the document with `<SharedSecret>` added to its first Sender
/// credential when that credential has none, as a test buyer needs one.
pub fn with_sender_secret(document: &[u8], secret: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(document).into_owned();
    let Some(sender) = text.find("<Sender>") else {
        return document.to_vec();
    };
    let rest = &text[sender..];
    let Some(identity_end) = rest.find("</Identity>") else {
        return document.to_vec();
    };
    let credential_end = rest.find("</Credential>").unwrap_or(usize::MAX);
    if rest[..credential_end.min(rest.len())].contains("<SharedSecret>") {
        return document.to_vec();
    }
    let insert_at = sender + identity_end + "</Identity>".len();
    let mut patched = text[..insert_at].to_owned();
    patched.push_str(&format!("<SharedSecret>{secret}</SharedSecret>"));
    patched.push_str(&text[insert_at..]);
    patched.into_bytes()
}

/// Returns the document with its `payloadID` and `OrderRequestHeader@orderID`
/// replaced, so one corpus document can stand for many distinct orders.
pub fn with_identity(document: &[u8], payload_id: &str, order_id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(document);
    let text = replace_attribute(&text, "payloadID", payload_id);
    replace_attribute(&text, "orderID", order_id).into_bytes()
}

fn replace_attribute(text: &str, name: &str, value: &str) -> String {
    let needle = format!("{name}=\"");
    let Some(start) = text.find(&needle) else {
        return text.to_owned();
    };
    let value_start = start + needle.len();
    let Some(length) = text[value_start..].find('"') else {
        return text.to_owned();
    };
    format!(
        "{}{value}{}",
        &text[..value_start],
        &text[value_start + length..]
    )
}
