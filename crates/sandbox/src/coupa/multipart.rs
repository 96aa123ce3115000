//! `multipart/related` invoice bodies: the cXML document in the part named
//! by `start` (else the first part) and one attachment per other part.
//! Every delimiter and header line must end in CRLF, as Coupa requires.

use base64::Engine;

/// One file posted alongside an invoice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvoiceAttachment {
    /// The `Content-ID` without angle brackets, as `cid:` URLs name it.
    pub content_id: String,
    pub content_type: String,
    /// The decoded content: base64 parts are decoded, others kept as sent.
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// Reason a multipart body could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MultipartError {
    /// Delimiters or header lines end in a bare LF.
    NotCrlf,
    /// No boundary, no parts, or a part that cannot be read.
    Malformed,
}

/// The cXML part's bytes and the attachments.
#[derive(Debug)]
pub(crate) struct Split {
    pub document: Vec<u8>,
    pub attachments: Vec<InvoiceAttachment>,
}

struct Part {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Part {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn content_id(&self) -> String {
        self.header("content-id")
            .map(strip_angle_brackets)
            .unwrap_or_default()
    }
}

/// True when the content type announces a multipart body.
pub(crate) fn is_multipart(content_type: &str) -> bool {
    content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
}

/// Splits a multipart body given its `Content-Type` header value.
pub(crate) fn split(content_type: &str, body: &[u8]) -> Result<Split, MultipartError> {
    let boundary = parameter(content_type, "boundary").ok_or(MultipartError::Malformed)?;
    let start = parameter(content_type, "start").map(|s| strip_angle_brackets(&s));
    let mut parts = parts(body, &boundary)?;
    if parts.is_empty() {
        return Err(MultipartError::Malformed);
    }

    let root_index = start
        .and_then(|id| parts.iter().position(|part| part.content_id() == id))
        .unwrap_or(0);
    let root = parts.remove(root_index);
    let attachments = parts
        .into_iter()
        .map(attachment)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Split {
        document: root.body,
        attachments,
    })
}

fn attachment(part: Part) -> Result<InvoiceAttachment, MultipartError> {
    let encoding = part.header("content-transfer-encoding").unwrap_or("");
    let content = if encoding.trim().eq_ignore_ascii_case("base64") {
        let compact: Vec<u8> = part
            .body
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| MultipartError::Malformed)?
    } else {
        part.body.clone()
    };
    Ok(InvoiceAttachment {
        content_id: part.content_id(),
        content_type: part.header("content-type").unwrap_or("").trim().to_owned(),
        content,
    })
}

fn parts(body: &[u8], boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut at = if body.starts_with(delimiter.as_bytes()) {
        0
    } else {
        find(body, next_delimiter.as_bytes(), 0).ok_or_else(|| lf_or_malformed(body, boundary))? + 2
    };

    let mut parts = Vec::new();
    loop {
        let after = at + delimiter.len();
        let rest = &body[after.min(body.len())..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(if rest.starts_with(b"\n") {
                MultipartError::NotCrlf
            } else {
                MultipartError::Malformed
            });
        }
        let content_start = after + 2;
        let end = find(body, next_delimiter.as_bytes(), content_start)
            .ok_or_else(|| lf_or_malformed(&body[content_start..], boundary))?;
        parts.push(part(&body[content_start..end])?);
        at = end + 2;
    }
}

fn part(content: &[u8]) -> Result<Part, MultipartError> {
    let (head, body) = if let Some(body) = content.strip_prefix(b"\r\n") {
        (&b""[..], body)
    } else {
        let split =
            find(content, b"\r\n\r\n", 0).ok_or(if find(content, b"\n\n", 0).is_some() {
                MultipartError::NotCrlf
            } else {
                MultipartError::Malformed
            })?;
        (&content[..split], &content[split + 4..])
    };
    let head = std::str::from_utf8(head).map_err(|_| MultipartError::Malformed)?;
    let mut headers = Vec::new();
    for line in head.split("\r\n").filter(|line| !line.is_empty()) {
        if line.contains('\n') {
            return Err(MultipartError::NotCrlf);
        }
        let (name, value) = line.split_once(':').ok_or(MultipartError::Malformed)?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Part {
        headers,
        body: body.to_vec(),
    })
}

/// `NotCrlf` when the boundary appears after a bare LF, else `Malformed`.
fn lf_or_malformed(body: &[u8], boundary: &str) -> MultipartError {
    let lf_delimiter = format!("\n--{boundary}");
    if find(body, lf_delimiter.as_bytes(), 0).is_some() {
        MultipartError::NotCrlf
    } else {
        MultipartError::Malformed
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|index| index + from)
}

/// Returns a parameter of a header value such as
/// `multipart/related; boundary="x"`.
fn parameter(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|item| {
        let (key, value) = item.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn strip_angle_brackets(value: &str) -> String {
    let value = value.trim();
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str =
        "multipart/related; boundary=\"b1\"; type=\"text/xml\"; start=\"<payload.xml>\"";

    fn body(newline: &str) -> Vec<u8> {
        [
            "--b1",
            "Content-Type: application/pdf",
            "Content-Transfer-Encoding: base64",
            "Content-ID: <inv1.pdf>",
            "",
            "JVBERi0=",
            "--b1",
            "Content-Type: text/xml; charset=UTF-8",
            "Content-ID: <payload.xml>",
            "",
            "<cXML/>",
            "--b1--",
            "",
        ]
        .join(newline)
        .into_bytes()
    }

    #[test]
    fn start_part_is_the_document_and_others_attachments() {
        let split = split(TYPE, &body("\r\n")).unwrap();
        assert_eq!(split.document, b"<cXML/>");
        assert_eq!(split.attachments.len(), 1);
        assert_eq!(split.attachments[0].content_id, "inv1.pdf");
        assert_eq!(split.attachments[0].content_type, "application/pdf");
        assert_eq!(split.attachments[0].content, b"%PDF-");
    }

    #[test]
    fn bare_lf_delimiters_are_reported() {
        assert_eq!(
            split(TYPE, &body("\n")).unwrap_err(),
            MultipartError::NotCrlf
        );
    }

    #[test]
    fn missing_boundary_is_malformed() {
        assert_eq!(
            split("multipart/related", &body("\r\n")).unwrap_err(),
            MultipartError::Malformed
        );
    }
}
