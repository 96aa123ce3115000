//! Brightpearl's reply envelope: `{"response": ...}` on success (an array,
//! object, number or nothing at all), `{"errors": [{code, message}]}` on
//! failure, and a bare string `response` on 401 and 503. The status code and
//! body decide the error kind; message text is never matched.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, BrightpearlError, ErrorKind};

/// Parses a reply body and turns failures into classified errors. A 2xx
/// body that is empty or not JSON becomes `Value::Null`, so callers that need
/// a payload report it missing.
pub(crate) fn classify(status: StatusCode, body: &[u8]) -> Result<Value, BrightpearlError> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }

    let code = status.as_u16();
    let errors = api_errors(&value);
    let error = match (code, errors) {
        (404, errors) => BrightpearlError::new(
            ErrorKind::NotFound,
            match errors {
                Some(errors) => format!("not found: {}", list(&errors)),
                None => "not found (HTTP 404)".to_owned(),
            },
        ),
        (401, _) => BrightpearlError::new(
            ErrorKind::Unauthorized,
            // The 401 body can echo the rejected token, so it is not shown.
            "Brightpearl rejected the credentials (HTTP 401)",
        ),
        (502..=504, _) => transient(code, &value, code == 503),
        (429, _) => transient(code, &value, true),
        (400..=599, Some(errors)) => BrightpearlError::validation(errors, code),
        (500..=599, None) => transient(code, &value, false),
        _ => BrightpearlError::new(
            ErrorKind::Other,
            format!("unexpected reply (HTTP {code}){}", describe(&value)),
        ),
    };
    Err(error)
}

fn transient(code: u16, body: &Value, throttled: bool) -> BrightpearlError {
    BrightpearlError::new(
        ErrorKind::Transient { throttled },
        format!("Brightpearl is unavailable (HTTP {code}){}", describe(body)),
    )
}

/// Extracts a well-formed `errors` array: non-empty, every entry an object with a
/// string `code`. Anything else is not trusted as a validation verdict.
fn api_errors(body: &Value) -> Option<Vec<ApiError>> {
    let entries = body.get("errors")?.as_array()?;
    if entries.is_empty()
        || !entries
            .iter()
            .all(|entry| entry.get("code").is_some_and(Value::is_string))
    {
        return None;
    }
    serde_json::from_value(Value::Array(entries.clone())).ok()
}

fn list(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(ApiError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Formats a short excerpt of a string `response` for messages.
fn describe(body: &Value) -> String {
    match body.get("response").and_then(Value::as_str) {
        Some(text) => {
            let excerpt: String = text.chars().take(200).collect();
            format!(": {excerpt}")
        }
        None => String::new(),
    }
}

/// Returns the payload under `response`, if any.
pub(crate) fn payload(body: &Value) -> Option<&Value> {
    body.get("response").filter(|value| !value.is_null())
}

/// Returns the items of a resource GET: the `response` array, the values of a
/// `response` object keyed by id, or nothing.
pub(crate) fn items(body: &Value) -> Vec<Value> {
    match payload(body) {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(map)) => map.values().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Reads the new id in a POST reply such as `{"response": 329}`.
pub(crate) fn new_id(body: &Value) -> Option<i64> {
    payload(body).and_then(crate::de::int_value)
}

/// Decodes each item into `T`, keeping the item's JSON alongside.
pub(crate) fn decode_items<T: DeserializeOwned>(
    body: &Value,
) -> Result<Vec<(T, Value)>, BrightpearlError> {
    items(body)
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value::<T>(item.clone())
                .map(|typed| (typed, item))
                .map_err(|error| {
                    BrightpearlError::new(
                        ErrorKind::Other,
                        format!("unexpected reply: item {index} could not be read: {error}"),
                    )
                    .with_source(error)
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../../shared/corpus/brightpearl/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn kind(status: u16, body: &[u8]) -> ErrorKind {
        classify(StatusCode::from_u16(status).unwrap(), body)
            .unwrap_err()
            .kind()
            .clone()
    }

    #[test]
    fn errors_array_on_500_is_validation() {
        for name in [
            "order-patch-error-500-bad-op.response.json",
            "order-search-error-500-bad-filter.response.json",
            "product-search-error-500-bad-filter.response.json",
        ] {
            let kind = kind(500, &corpus(name));
            assert!(
                matches!(kind, ErrorKind::Validation { .. }),
                "{name}: {kind:?}"
            );
        }
    }

    #[test]
    fn bodyless_and_html_500_are_transient() {
        assert_eq!(kind(500, b""), ErrorKind::Transient { throttled: false });
        assert_eq!(
            kind(500, b"<html>Internal Server Error</html>"),
            ErrorKind::Transient { throttled: false }
        );
        assert_eq!(
            kind(500, br#"{"errors": []}"#),
            ErrorKind::Transient { throttled: false }
        );
        assert_eq!(
            kind(500, br#"{"errors": "boom"}"#),
            ErrorKind::Transient { throttled: false }
        );
    }

    #[test]
    fn gateway_errors_are_transient_even_with_errors() {
        let body = br#"{"errors":[{"code":"CMNC-500","message":"x"}]}"#;
        assert_eq!(kind(502, body), ErrorKind::Transient { throttled: false });
        assert_eq!(kind(504, b""), ErrorKind::Transient { throttled: false });
        assert_eq!(
            kind(
                503,
                &corpus("error-503-throttled-legacy-reconstructed.response.json")
            ),
            ErrorKind::Transient { throttled: true }
        );
    }

    #[test]
    fn validation_keeps_every_error() {
        let body = corpus("legacy2014-order-row-post-error-400-multi.response.json");
        let error = classify(StatusCode::BAD_REQUEST, &body).unwrap_err();
        let codes: Vec<&str> = error.api_errors().iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["ORDC-003", "ORDC-026"]);
        assert!(error
            .to_string()
            .contains("ORDC-026 You have not supplied a product name"));
    }

    #[test]
    fn missing_contact_is_not_found() {
        let error = classify(
            StatusCode::NOT_FOUND,
            &corpus("contact-get-404-not-found.response.json"),
        )
        .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::NotFound);
        assert!(error.to_string().contains("CMNC-404 No Contact Found"));
    }

    #[test]
    fn unauthorized_message_never_echoes_the_token() {
        let body = br#"{"response": "Invalid instance token: abc123secret"}"#;
        let error = classify(StatusCode::UNAUTHORIZED, body).unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Unauthorized);
        assert!(!error.to_string().contains("abc123secret"));
    }

    #[test]
    fn payload_shapes() {
        let array: Value = serde_json::json!({"response": [{"id": 1}]});
        let keyed: Value = serde_json::json!({"response": {"7": {"id": 7}}});
        let number: Value = serde_json::json!({"response": 329});
        let text_number: Value = serde_json::json!({"response": "330"});
        let empty: Value = serde_json::json!({});

        assert_eq!(items(&array).len(), 1);
        assert_eq!(items(&keyed).len(), 1);
        assert!(items(&empty).is_empty());
        assert_eq!(new_id(&number), Some(329));
        assert_eq!(new_id(&text_number), Some(330));
        assert_eq!(new_id(&empty), None);
        assert_eq!(classify(StatusCode::OK, b"").unwrap(), Value::Null);
    }
}
