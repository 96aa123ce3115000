//! Multi-message: two to ten writes carried in one request, each served as
//! if sent alone.

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::envelope::{code, parse_json_body, Reply};
use crate::resources::{dispatch, ApiRequest, Ctx};

const MT: &str = "multi-message";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    #[serde(default = "sequential")]
    processing_mode: String,
    #[serde(default = "stop")]
    on_fail: String,
    messages: Vec<Message>,
}

fn sequential() -> String {
    "SEQUENTIAL".to_owned()
}

fn stop() -> String {
    "STOP".to_owned()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    label: String,
    uri: String,
    http_method: String,
    #[serde(default)]
    body: Option<Value>,
}

/// True for the multi-message path, at the root or under
/// `integration-service`.
pub(crate) fn is_multi_message(segments: &[String]) -> bool {
    matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["multi-message"] | ["multi-message", ""] | ["integration-service", "multi-message"]
    )
}

/// How many messages a multi-message body carries (0 when unreadable).
pub(crate) fn message_count(body: &[u8]) -> u32 {
    serde_json::from_slice::<Batch>(body)
        .map_or(0, |b| u32::try_from(b.messages.len()).unwrap_or(u32::MAX))
}

fn invalid(message: String) -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        code::MULTI_MESSAGE_INVALID,
        message,
        MT,
    )
}

/// `POST multi-message`: 200 when every message succeeded, 207 otherwise;
/// with `onFail: STOP`, messages after the first failure are listed as
/// unprocessed.
pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Option<Reply> {
    if request.method != Method::POST {
        return None;
    }
    let body = match parse_json_body(request.body, MT) {
        Ok(body) => body,
        Err(reply) => return Some(reply),
    };
    let batch: Batch = match serde_json::from_value(body) {
        Ok(batch) => batch,
        Err(e) => return Some(invalid(format!("Invalid multi-message: {e}"))),
    };
    if let Err(reply) = check(ctx, &batch) {
        return Some(reply);
    }
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    let mut failed = false;
    let mut rows = 0;
    for message in &batch.messages {
        if failed && batch.on_fail == "STOP" {
            unprocessed.push(json!(message.label));
            continue;
        }
        let reply = run(ctx, message);
        rows += reply.rows_written;
        failed |= !reply.is_success();
        let content = reply
            .body
            .as_ref()
            .map_or_else(String::new, Value::to_string);
        processed.push(json!({ "label": message.label, "statusCode": reply.status.as_u16(), "body": { "content": content } }));
    }
    let status = if failed || !unprocessed.is_empty() {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    let body = json!({ "response": { "processedMessages": processed, "unprocessedMessages": unprocessed } });
    Some(Reply::new(status, body, MT).with_rows_written(rows))
}

fn check(ctx: &Ctx<'_>, batch: &Batch) -> Result<(), Reply> {
    let count = batch.messages.len();
    if !(2..=10).contains(&count) {
        return Err(invalid(format!(
            "A multi-message carries 2 to 10 messages, got {count}"
        )));
    }
    if !matches!(batch.processing_mode.as_str(), "SEQUENTIAL" | "PARALLEL")
        || !matches!(batch.on_fail.as_str(), "STOP" | "CONTINUE")
    {
        return Err(invalid(
            "processingMode must be SEQUENTIAL or PARALLEL and onFail STOP or CONTINUE".to_owned(),
        ));
    }
    if batch.processing_mode == "PARALLEL" && batch.on_fail == "STOP" {
        return Err(invalid(
            "onFail STOP cannot be combined with processingMode PARALLEL".to_owned(),
        ));
    }
    for message in &batch.messages {
        let method = message.http_method.to_ascii_uppercase();
        let allowed = matches!(method.as_str(), "POST" | "PUT" | "DELETE")
            || (method == "PATCH" && ctx.config.multi_message_allows_patch);
        if !allowed {
            return Err(invalid(format!(
                "Message {:?} uses {method}, which a multi-message cannot carry",
                message.label
            )));
        }
        if message.uri.contains("multi-message") {
            return Err(invalid(format!(
                "Message {:?} cannot nest a multi-message",
                message.label
            )));
        }
    }
    Ok(())
}

fn run(ctx: &mut Ctx<'_>, message: &Message) -> Reply {
    let body = message
        .body
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    let (path, query) = match message.uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (message.uri.as_str(), None),
    };
    let method = Method::from_bytes(message.http_method.to_ascii_uppercase().as_bytes())
        .unwrap_or(Method::POST);
    let inner = ApiRequest::new(&method, path, query, body.as_bytes());
    dispatch(ctx, &inner)
}
