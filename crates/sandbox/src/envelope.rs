//! The reply every simulated API call produces, and the `errors` bodies
//! Brightpearl sends.

use axum::http::StatusCode;
use serde_json::{json, Value};

/// Error codes the sandbox sends.
///
/// The codes under "captured" were seen in real replies. The others are
/// invented for situations no capture shows, so a client must not match on
/// them.
pub(crate) mod code {
    // Captured.
    pub const NOT_FOUND: &str = "CMNC-404";
    pub const FILTER_UNPARSABLE: &str = "CMNC-018";
    pub const PATCH_OP_NOT_ALLOWED: &str = "CMNC-044";
    pub const CUSTOM_FIELD_TYPE: &str = "CMNU-003";
    pub const ORDER_TYPE_MISSING: &str = "ORDC-005";
    pub const ORDER_TYPE_INVALID: &str = "ORDC-006";
    pub const SUPPLIER_MISSING: &str = "ORDC-022";
    pub const ORDER_ID_INVALID: &str = "ORDC-003";
    pub const FREE_TEXT_NAME_MISSING: &str = "ORDC-026";
    pub const BRAND_MISSING: &str = "PRDC-014";
    pub const WEBHOOK_EVENT_INVALID: &str = "INTC-064";
    pub const WEBHOOK_TEMPLATE_VARIABLE: &str = "INTC-057";
    pub const WEBHOOK_LIFECYCLE_INVALID: &str = "INTC-062";

    // NOTE: invented; Brightpearl's codes for these cases were never captured.
    pub const ID_SET_TOO_LARGE: &str = "CMNC-033";
    pub const ID_SET_INVALID: &str = "CMNC-034";
    pub const BODY_INVALID: &str = "CMNC-035";
    pub const CUSTOMER_INVALID: &str = "ORDC-101";
    pub const REFERENCE_DATA_INVALID: &str = "ORDC-102";
    pub const TAX_CODE_INVALID: &str = "ORDC-103";
    pub const VALUE_NOT_NUMERIC: &str = "ORDC-104";
    pub const QUANTITY_NOT_WHOLE: &str = "ORDC-105";
    pub const PRODUCT_INVALID: &str = "ORDC-106";
    pub const STATUS_NOT_ALLOWED: &str = "ORDC-107";
    pub const ALREADY_INVOICED: &str = "ORDC-108";
    pub const CUSTOM_FIELD_UNKNOWN: &str = "CMNU-004";
    pub const CONTACT_INVALID: &str = "CONC-101";
    pub const WEBHOOK_INVALID: &str = "INTC-101";
    pub const MULTI_MESSAGE_INVALID: &str = "CMNC-037";
}

/// One `{"code", "message"}` entry of an `errors` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The outcome of one simulated API call, before the gateway adds its
/// headers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    /// The JSON body; `None` sends an empty body (the bare 500 fault).
    pub body: Option<Value>,
    /// The `Message-Type` header, such as `get-order`.
    pub message_type: String,
    /// Order rows written by this call, for the per-row latency setting.
    pub rows_written: u32,
}

impl Reply {
    pub fn new(status: StatusCode, body: Value, message_type: &str) -> Self {
        Self {
            status,
            body: Some(body),
            message_type: message_type.to_owned(),
            rows_written: 0,
        }
    }

    /// A 200 with `{"response": payload}`.
    pub fn ok(payload: Value, message_type: &str) -> Self {
        Self::new(StatusCode::OK, json!({ "response": payload }), message_type)
    }

    /// A 200 with a body other than the plain envelope, such as a search
    /// reply with its `reference` sibling or a bare `{}`.
    pub fn ok_raw(body: Value, message_type: &str) -> Self {
        Self::new(StatusCode::OK, body, message_type)
    }

    pub fn errors(status: StatusCode, errors: Vec<ApiError>, message_type: &str) -> Self {
        let list: Vec<Value> = errors
            .into_iter()
            .map(|e| json!({ "code": e.code, "message": e.message }))
            .collect();
        Self::new(status, json!({ "errors": list }), message_type)
    }

    pub fn error(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_type: &str,
    ) -> Self {
        Self::errors(status, vec![ApiError::new(code, message)], message_type)
    }

    pub fn bad_request(errors: Vec<ApiError>, message_type: &str) -> Self {
        Self::errors(StatusCode::BAD_REQUEST, errors, message_type)
    }

    pub fn not_found(message: impl Into<String>, message_type: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            message,
            message_type,
        )
    }

    /// The gateway's 401 reply: a string `response`, as captured.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({ "response": message.into() }),
            "api-proxy",
        )
    }

    pub fn with_rows_written(mut self, rows: u32) -> Self {
        self.rows_written = rows;
        self
    }

    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// Parses a request body as JSON, or returns the 400 Brightpearl-style reply.
pub(crate) fn parse_json_body(body: &[u8], message_type: &str) -> Result<Value, Reply> {
    serde_json::from_slice(body).map_err(|e| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            code::BODY_INVALID,
            format!("The request body is not valid JSON: {e}"),
            message_type,
        )
    })
}
