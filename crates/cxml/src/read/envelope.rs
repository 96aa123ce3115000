//! The `cXML` root, its `Header`, and which kind of document it carries.

use super::element::Element;
use super::order::{order_request, Lines};
use super::values::Doc;
use crate::error::ReadError;
use crate::model::{Body, Credential, Envelope, Header, Secret};
use crate::time::parse_timestamp;

/// Converts the `cXML` root element to an [`Envelope`]. `source` is the
/// decoded text the tree was read from, and `lines` contains the order lines
/// already read while the tree was built.
pub(crate) fn envelope(
    source: &str,
    root: Element<'_, '_>,
    lines: Lines,
) -> Result<Envelope, ReadError> {
    let payload_id = match root.attr("payloadID") {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => {
            return Err(ReadError::envelope(
                "<cXML>",
                "missing attribute payloadID, which every cXML document must carry",
            ))
        }
    };
    let timestamp_raw = root.attr("timestamp").unwrap_or_default().to_string();

    let doc = Doc { source };
    Ok(Envelope {
        payload_id,
        timestamp: parse_timestamp(&timestamp_raw),
        timestamp_raw,
        version: root.attr("version").map(str::to_string),
        lang: root.attr("xml:lang").map(str::to_string),
        header: root.child("Header").map(header),
        body: body(&doc, root, lines)?,
    })
}

fn header(header: Element<'_, '_>) -> Header {
    let credentials = |name: &str| -> Vec<Credential> {
        header
            .child(name)
            .map(|party| party.map_all("Credential", credential))
            .unwrap_or_default()
    };
    Header {
        from: credentials("From"),
        to: credentials("To"),
        sender: credentials("Sender"),
        user_agent: header
            .child("Sender")
            .and_then(|sender| sender.child_text("UserAgent")),
    }
}

fn credential(credential: Element<'_, '_>) -> Credential {
    Credential {
        domain: credential.attr("domain").unwrap_or_default().to_string(),
        identity: credential.child_text("Identity").unwrap_or_default(),
        shared_secret: credential.child_text("SharedSecret").map(Secret::new),
        credential_type: credential.attr("type").map(str::to_string),
    }
}

fn body(doc: &Doc<'_>, root: Element<'_, '_>, lines: Lines) -> Result<Body, ReadError> {
    let content = root
        .elements()
        .find(|element| matches!(element.name(), "Request" | "Response" | "Message"));
    let Some(content) = content else {
        return Err(ReadError::envelope(
            "<cXML>",
            "no <Request>, <Response> or <Message> element",
        ));
    };

    match content.name() {
        "Request" => request(doc, content, lines),
        "Response" => response(content),
        _ => {
            let name = first_child_name(content).ok_or_else(|| {
                ReadError::envelope("<Message>", "empty; expected a message element inside")
            })?;
            Ok(Body::Message { name })
        }
    }
}

fn request(doc: &Doc<'_>, request: Element<'_, '_>, lines: Lines) -> Result<Body, ReadError> {
    let deployment_test = match request.attr("deploymentMode") {
        None | Some("production") => false,
        Some("test") => true,
        Some(other) => {
            return Err(ReadError::invalid(
                "Request deploymentMode",
                other,
                "production or test (lower case)",
            ))
        }
    };
    let Some(inner) = request.elements().next() else {
        return Err(ReadError::envelope(
            "<Request>",
            "empty; expected a request element such as <OrderRequest>",
        ));
    };

    let body = match inner.name() {
        "OrderRequest" => Body::OrderRequest {
            deployment_test,
            order: order_request(doc, inner, lines)?,
        },
        "ProfileRequest" => Body::ProfileRequest { deployment_test },
        other => Body::OtherRequest {
            name: other.to_string(),
            deployment_test,
        },
    };
    Ok(body)
}

fn response(response: Element<'_, '_>) -> Result<Body, ReadError> {
    let Some(status) = response.child("Status") else {
        return Err(ReadError::envelope(
            "<Response>",
            "no <Status> element; expected <Status code=\"...\" text=\"...\">",
        ));
    };
    let raw_code = status.attr("code").unwrap_or_default();
    let code = raw_code.trim().parse::<u16>().map_err(|_| {
        ReadError::envelope(
            "<Status>",
            format!(
                "invalid code {}; expected a three-digit status code such as 200",
                crate::error::shown(raw_code)
            ),
        )
    })?;
    Ok(Body::Response {
        code,
        text: status.attr("text").unwrap_or_default().to_string(),
    })
}

fn first_child_name(element: Element<'_, '_>) -> Option<String> {
    element
        .elements()
        .next()
        .map(|child| child.name().to_string())
}
