//! JSON Patch request bodies, as Brightpearl's PATCH endpoints take them.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::envelope::{code, Reply};

/// One operation of a JSON Patch array.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PatchOp {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<Value>,
}

/// Parses a JSON Patch array, or returns the 400 reply.
pub(crate) fn parse(body: &[u8], message_type: &str) -> Result<Vec<PatchOp>, Reply> {
    serde_json::from_slice::<Vec<PatchOp>>(body).map_err(|e| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            code::BODY_INVALID,
            format!("The request body is not a JSON Patch array: {e}"),
            message_type,
        )
    })
}

/// The 500 Brightpearl sends for an operation a path does not allow, as
/// captured for `add` on `/reference`.
pub(crate) fn op_not_allowed(op: &PatchOp, message_type: &str) -> Reply {
    Reply::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        code::PATCH_OP_NOT_ALLOWED,
        format!(
            "Invalid patch operation ({}) for given path ({})",
            op.op, op.path
        ),
        message_type,
    )
}

/// Applies `replace` (or `add` where `add_allowed`) at a JSON Pointer whose
/// parent exists. Returns false when the path cannot take the operation.
pub(crate) fn apply_to_value(target: &mut Value, op: &PatchOp, add_allowed: bool) -> bool {
    let Some(value) = op.value.clone() else {
        return false;
    };
    let Some((parent_path, key)) = op.path.rsplit_once('/') else {
        return false;
    };
    let Some(parent) = target.pointer_mut(parent_path) else {
        return false;
    };
    let Some(object) = parent.as_object_mut() else {
        return false;
    };
    match op.op.as_str() {
        "replace" if object.contains_key(key) => {
            object.insert(key.to_owned(), value);
            true
        }
        "add" if add_allowed => {
            object.insert(key.to_owned(), value);
            true
        }
        _ => false,
    }
}
