//! Brightpearl's multi-message resource: two to ten writes in one request.
//!
//! Brightpearl carries out each message as if it were sent alone and
//! replies with every message's status and body. The whole reply is 200
//! when all succeeded and 207 otherwise. Messages go out `SEQUENTIAL` with
//! `onFail: CONTINUE`, so one rejected order does not stop the others.
//!
//! Whether a multi-message costs one request of the quota or one per
//! message is not documented. The limiter is given how many messages each
//! one carries and reads the cost from the throttle headers (see
//! [`crate::MultiMessageCost`]).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::transport::Call;

/// The maximum number of messages in one multi-message.
pub const MAX_MESSAGES: usize = 10;

/// One write inside a multi-message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub method: Method,
    /// The service path without the `/public-api/{account}/` prefix, such
    /// as `order-service/sales-order`.
    pub path: String,
    pub body: Value,
}

impl Message {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The outcome of one multi-message request.
pub(crate) enum Sent {
    /// One result per message, in the order sent: the message's reply
    /// body, or its error.
    Items(Vec<Result<Value, BrightpearlError>>),
    /// Brightpearl rejected the multi-message as a whole (a validation
    /// error or 404), so none of its messages was carried out.
    Rejected(BrightpearlError),
}

fn label(index: usize) -> String {
    format!("m{}", index + 1)
}

fn request_body(messages: &[Message]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            json!({
                "label": label(index),
                "uri": format!("/{}", message.path),
                "httpMethod": message.method.as_str(),
                "body": message.body,
            })
        })
        .collect();
    json!({"processingMode": "SEQUENTIAL", "onFail": "CONTINUE", "messages": messages})
}

impl BrightpearlClient {
    /// Sends 2 to [`MAX_MESSAGES`] messages as one multi-message. An error
    /// of the whole request becomes every message's error, so when the
    /// reply to a multi-message of creates is lost, each create is
    /// `Ambiguous`.
    pub(crate) async fn send_multi_message(&self, messages: &[Message]) -> Sent {
        let call =
            Call::post("multi-message", request_body(messages)).with_messages(messages.len());
        match self.inner.send(&call).await {
            Ok(reply) => Sent::Items(item_results(&reply, messages)),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::Validation { .. } | ErrorKind::NotFound
                ) =>
            {
                Sent::Rejected(error)
            }
            Err(error) => Sent::Items(messages.iter().map(|_| Err(error.clone())).collect()),
        }
    }
}

/// Reads each message's outcome from a multi-message reply. A message the
/// reply lists as unprocessed was not carried out. A message it does not
/// mention at all has an unknown outcome.
fn item_results(reply: &Value, messages: &[Message]) -> Vec<Result<Value, BrightpearlError>> {
    let payload = crate::envelope::payload(reply);
    let processed: &[Value] = payload
        .and_then(|payload| payload.get("processedMessages"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let unprocessed: Vec<&str> = payload
        .and_then(|payload| payload.get("unprocessedMessages"))
        .and_then(Value::as_array)
        .map(|labels| labels.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let label = label(index);
            let entry = processed
                .iter()
                .find(|entry| entry.get("label").and_then(Value::as_str) == Some(label.as_str()));
            let result = match entry {
                Some(entry) => item_result(entry, message),
                None if unprocessed.contains(&label.as_str()) => Err(BrightpearlError::new(
                    ErrorKind::Transient { throttled: false },
                    "Brightpearl did not process this message of the multi-message",
                )),
                None => Err(unknown("the multi-message reply does not mention it")),
            };
            result.map_err(|error| {
                error.with_request(format!("{} (multi-message item {label})", message.name()))
            })
        })
        .collect()
}

/// Classifies one processed message like a reply to the same request sent
/// alone. Its body arrives as JSON text in `body.content`.
fn item_result(entry: &Value, message: &Message) -> Result<Value, BrightpearlError> {
    let status = entry
        .get("statusCode")
        .and_then(crate::de::int_value)
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| unknown("the multi-message reply gives it no status code"))?;
    let content = match entry.pointer("/body/content") {
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
        None => Vec::new(),
    };
    crate::envelope::classify(status, &content).map_err(|error| {
        let creates = message.method == Method::POST;
        if creates && error.kind() == &(ErrorKind::Transient { throttled: false }) {
            error.with_kind(ErrorKind::Ambiguous)
        } else {
            error
        }
    })
}

fn unknown(why: &str) -> BrightpearlError {
    BrightpearlError::new(
        ErrorKind::Ambiguous,
        format!("the outcome is unknown ({why}); search for the record before sending it again"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(index: usize) -> Message {
        Message {
            method: Method::POST,
            path: "order-service/sales-order".to_owned(),
            body: json!({"ref": format!("PO-{index}")}),
        }
    }

    #[test]
    fn request_body_labels_each_message_and_continues_on_failure() {
        let body = request_body(&[create(1), create(2)]);
        assert_eq!(body["processingMode"], "SEQUENTIAL");
        assert_eq!(body["onFail"], "CONTINUE");
        assert_eq!(body["messages"][1]["label"], "m2");
        assert_eq!(body["messages"][1]["uri"], "/order-service/sales-order");
        assert_eq!(body["messages"][1]["httpMethod"], "POST");
        assert_eq!(body["messages"][1]["body"]["ref"], "PO-2");
    }

    #[test]
    fn each_item_is_classified_on_its_own() {
        let reply = json!({"response": {
            "processedMessages": [
                {"label": "m1", "statusCode": 200, "body": {"content": "{\"response\":101}"}},
                {"label": "m2", "statusCode": 400, "body": {"content":
                    "{\"errors\":[{\"code\":\"ORDC-101\",\"message\":\"bad customer\"}]}"}},
                {"label": "m3", "statusCode": 500, "body": {"content": ""}},
            ],
            "unprocessedMessages": ["m4"]}});
        let messages: Vec<Message> = (1..=5).map(create).collect();

        let results = item_results(&reply, &messages);

        assert_eq!(results[0].as_ref().unwrap()["response"], 101);
        let kind = |index: usize| results[index].as_ref().unwrap_err().kind().clone();
        assert!(matches!(kind(1), ErrorKind::Validation { .. }));
        assert_eq!(kind(2), ErrorKind::Ambiguous);
        assert_eq!(kind(3), ErrorKind::Transient { throttled: false });
        assert_eq!(kind(4), ErrorKind::Ambiguous);
        let message = results[1].as_ref().unwrap_err().to_string();
        assert!(
            message.contains("multi-message item m2") && message.contains("ORDC-101"),
            "{message}"
        );
    }

    #[test]
    fn reply_without_messages_leaves_every_outcome_unknown() {
        let results = item_results(&json!({"response": {}}), &[create(1), create(2)]);
        for result in results {
            assert_eq!(result.unwrap_err().kind(), &ErrorKind::Ambiguous);
        }
    }
}
