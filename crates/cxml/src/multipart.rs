//! cXML with attachments: a `multipart/related` body whose root part is the
//! cXML document and whose other parts are files referenced by `cid:` URLs.
//!
//! The MIME work (boundaries, headers, base64 and quoted-printable) is done
//! by the `mailparse` crate, which also accepts LF-only line endings.

use crate::error::ReadError;
use crate::read::Limits;

/// Maximum number of Content-IDs an error message lists.
const MAX_LISTED_PARTS: usize = 5;

/// A `multipart/related` body split into its cXML part and its attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartDocument {
    /// The cXML part's bytes, to pass to [`crate::read_envelope`].
    pub cxml: Vec<u8>,
    /// Every other part, in body order.
    pub attachments: Vec<Part>,
}

/// One attachment of a `multipart/related` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `Content-ID` without the angle brackets, such as `inv123.pdf`, or
    /// empty when the part has none.
    pub content_id: String,
    /// The media type in lower case, such as `application/pdf`.
    pub content_type: String,
    /// The content with its transfer encoding (base64, quoted-printable)
    /// removed.
    pub bytes: Vec<u8>,
}

impl MultipartDocument {
    /// Finds the attachment that a `cid:` URL (or a bare Content-ID) names.
    /// The URL is percent-decoded as RFC 2392 requires. An exact match wins,
    /// then a case-insensitive one, because senders are not consistent
    /// about the case of Content-IDs.
    pub fn attachment(&self, reference: &str) -> Option<&Part> {
        let target_id = content_id_of(reference);
        if target_id.is_empty() {
            return None;
        }
        let matches = |part: &&Part, exact: bool| {
            if exact {
                part.content_id == target_id
            } else {
                part.content_id.eq_ignore_ascii_case(&target_id)
            }
        };
        self.attachments
            .iter()
            .find(|part| matches(part, true))
            .or_else(|| self.attachments.iter().find(|part| matches(part, false)))
    }
}

/// Splits a `multipart/related` body. `content_type` is the HTTP
/// `Content-Type` header value, which carries the `boundary` and optionally
/// `start`, the Content-ID of the cXML part. Without `start` the cXML part
/// is the first `text/xml` or `application/xml` part.
pub fn read_multipart_related(
    content_type: &str,
    body: &[u8],
    limits: &Limits,
) -> Result<MultipartDocument, ReadError> {
    if body.len() > limits.max_body_bytes {
        return Err(ReadError::TooLarge {
            size: body.len(),
            max: limits.max_body_bytes,
        });
    }
    let parsed_type = mailparse::parse_content_type(content_type);
    if !parsed_type.mimetype.starts_with("multipart/") {
        return Err(invalid(format!(
            "Content-Type is {}, expected multipart/related",
            crate::error::shown(&parsed_type.mimetype)
        )));
    }
    if !parsed_type.params.contains_key("boundary") {
        return Err(invalid("Content-Type has no boundary parameter".into()));
    }

    let parts = split(content_type, body)?;
    let root = root_index(&parts, parsed_type.params.get("start"))?;
    let mut attachments = parts;
    let cxml = attachments.remove(root).bytes;
    Ok(MultipartDocument { cxml, attachments })
}

fn split(content_type: &str, body: &[u8]) -> Result<Vec<Part>, ReadError> {
    // mailparse reads a whole MIME entity, so the HTTP header is put in
    // front of the body. Line breaks are dropped so the header cannot be
    // split into two.
    let header_value: String = content_type
        .chars()
        .filter(|character| *character != '\r' && *character != '\n')
        .collect();
    let mut entity = format!("Content-Type: {header_value}\r\n\r\n").into_bytes();
    entity.extend_from_slice(body);

    let parsed = mailparse::parse_mail(&entity)
        .map_err(|error| invalid(format!("cannot split the parts: {error}")))?;
    if parsed.subparts.is_empty() {
        return Err(invalid(
            "no part found; check that the body uses the boundary named in Content-Type".into(),
        ));
    }

    // NOTE: a part's `charset` parameter is not kept. The cXML part is
    // decoded from its BOM or XML declaration, else as UTF-8, so a part
    // that names its charset only in the MIME header is misread.
    let mut parts = Vec::with_capacity(parsed.subparts.len());
    for (index, subpart) in parsed.subparts.iter().enumerate() {
        let bytes = subpart
            .get_body_raw()
            .map_err(|error| invalid(format!("cannot decode part {}: {error}", index + 1)))?;
        let content_id =
            mailparse::MailHeaderMap::get_first_value(subpart.headers.as_slice(), "Content-ID")
                .map(|id| content_id_of(&id))
                .unwrap_or_default();
        parts.push(Part {
            content_id,
            content_type: subpart.ctype.mimetype.to_ascii_lowercase(),
            bytes,
        });
    }
    Ok(parts)
}

fn root_index(parts: &[Part], start: Option<&String>) -> Result<usize, ReadError> {
    if let Some(start) = start {
        let target_id = content_id_of(start);
        return parts
            .iter()
            .position(|part| {
                !target_id.is_empty() && part.content_id.eq_ignore_ascii_case(&target_id)
            })
            .ok_or_else(|| {
                invalid(format!(
                    "start={} names no part; the parts' Content-IDs are {}",
                    crate::error::shown(start),
                    listed_content_ids(parts)
                ))
            });
    }
    parts
        .iter()
        .position(|part| matches!(part.content_type.as_str(), "text/xml" | "application/xml"))
        .ok_or_else(|| invalid("no text/xml or application/xml part to read as cXML".into()))
}

/// Lists the first few Content-IDs of `parts`, each cut short, so a body
/// with many or long Content-IDs cannot make the error message long.
fn listed_content_ids(parts: &[Part]) -> String {
    let mut listed: Vec<String> = parts
        .iter()
        .take(MAX_LISTED_PARTS)
        .map(|part| crate::error::shown(&part.content_id))
        .collect();
    if parts.len() > MAX_LISTED_PARTS {
        listed.push(format!("and {} more", parts.len() - MAX_LISTED_PARTS));
    }
    format!("[{}]", listed.join(", "))
}

/// Turns `<id>`, `cid:id` or a percent-encoded `cid:` URL into the bare
/// Content-ID.
pub(crate) fn content_id_of(reference: &str) -> String {
    let trimmed = reference.trim();
    let without_scheme = match trimmed.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("cid:") => percent_decode(&trimmed[4..]),
        _ => trimmed.to_string(),
    };
    without_scheme
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// Decodes `%XX` escapes; invalid escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn invalid(problem: String) -> ReadError {
    ReadError::InvalidMultipart { problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_id_forms_are_normalized() {
        assert_eq!(content_id_of("<inv123.pdf>"), "inv123.pdf");
        assert_eq!(content_id_of("cid:inv123.pdf"), "inv123.pdf");
        assert_eq!(content_id_of("CID:part%401.pdf"), "part@1.pdf");
        assert_eq!(content_id_of(" <a b> "), "a b");
    }

    #[test]
    fn invalid_percent_escapes_are_kept() {
        assert_eq!(percent_decode("a%zzb%4"), "a%zzb%4");
    }
}
