//! The cXML `Status` the invoice endpoint replies with, using Coupa's
//! status codes and texts, and the `Response` document that carries it.

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::escape::escape;

/// A status code and text; the HTTP status equals the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub code: u16,
    pub text: String,
}

impl Status {
    fn new(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    pub fn ok() -> Self {
        Self::new(200, "OK")
    }

    /// Not well-formed, or no DOCTYPE on line 2.
    pub fn unparsable() -> Self {
        Self::new(406, "Could not parse cXML document")
    }

    pub fn unsupported_version() -> Self {
        Self::new(450, "cXML Version of document is not supported")
    }

    /// `detail` is the DTD violation, such as "Element Tax content does not
    /// follow the DTD".
    pub fn dtd_invalid(detail: &str) -> Self {
        Self::new(
            406,
            format!("Request did not validate successfully with DTD. Error: {detail}"),
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::new(401, "Invalid credentials")
    }

    pub fn unknown_order(po_number: &str) -> Self {
        Self::new(
            417,
            format!("Invalid order/document reference. Could not find order header {po_number}"),
        )
    }

    /// Coupa's status for an invalid PO line number or unit of measure, a
    /// credit memo without its original invoice, and documents it cannot
    /// place at all.
    pub fn server_error() -> Self {
        Self::new(500, "Unexpected server error.")
    }

    pub fn line_type_mismatch() -> Self {
        Self::new(
            417,
            "Invalid attributes in document. Validation failed: Invoice lines order line must be the same type as invoice line",
        )
    }

    /// Rejects a reused invoice number, or a value Coupa cannot read.
    pub fn invalid_attributes() -> Self {
        Self::new(417, "Invalid attributes in document.")
    }

    pub fn extra_charges() -> Self {
        Self::new(
            417,
            "Invalid attributes in document. Extra shipping/handling/misc charges are not permitted",
        )
    }

    /// Rejects a multipart body whose delimiters lost their CRLFs.
    pub fn bad_gateway() -> Self {
        Self::new(502, "Bad Gateway")
    }

    /// Builds an injected failure with `code`, using Coupa's text for 500
    /// and the HTTP reason phrase otherwise.
    pub fn injected(code: u16) -> Self {
        if code == 500 {
            return Self::server_error();
        }
        let reason = http::StatusCode::from_u16(code)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("Server Error");
        Self::new(code, reason)
    }
}

/// Writes the cXML `Response` document carrying `status`.
pub(crate) fn render(status: &Status, payload_id: &str, at: DateTime<Utc>) -> String {
    let timestamp = at.to_rfc3339_opts(SecondsFormat::Secs, false);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.020/cXML.dtd\">\n\
         <cXML payloadID=\"{}\" timestamp=\"{timestamp}\" xml:lang=\"en-US\">\n\
         \x20 <Response>\n\
         \x20   <Status code=\"{}\" text=\"{}\"/>\n\
         \x20 </Response>\n\
         </cXML>\n",
        escape(payload_id),
        status.code,
        escape(status.text.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn response_carries_code_and_escaped_text() {
        let at = Utc.with_ymd_and_hms(2024, 6, 3, 10, 0, 0).unwrap();
        let status = Status::dtd_invalid("Element <Tax> & more");
        let text = render(&status, "1.2@coupa", at);
        assert!(text.contains("<Status code=\"406\""));
        assert!(text.contains("Element &lt;Tax&gt; &amp; more"));
        assert!(text.contains("timestamp=\"2024-06-03T10:00:00+00:00\""));
    }

    #[test]
    fn injected_failures_use_reason_phrases() {
        assert_eq!(Status::injected(500).text, "Unexpected server error.");
        assert_eq!(Status::injected(503).text, "Service Unavailable");
        assert_eq!(Status::injected(503).code, 503);
    }
}
