//! Order custom fields: their metadata and JSON Patch updates.
//!
//! Brightpearl checks each value's JSON type against the field type and
//! reports a mismatch as HTTP 500. So values are typed from the field
//! metadata before sending: TEXT as a string, INTEGER as a number, YES_NO
//! as a boolean, DATE as a `YYYY-MM-DD` string and SELECT as `{"id": option}`.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use std::sync::atomic::Ordering;
use std::sync::Arc;

use reqwest::Method;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::multi_message::{Message, Sent, MAX_MESSAGES};
use crate::transport::Call;

/// A custom field's type, as in `customFieldType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomFieldType {
    Text,
    TextArea,
    Integer,
    Date,
    YesNo,
    Select,
    /// A type this client does not know, kept as sent.
    Other(String),
}

impl CustomFieldType {
    fn parse(text: &str) -> Self {
        match text {
            "TEXT" => Self::Text,
            "TEXT_AREA" => Self::TextArea,
            "INTEGER" => Self::Integer,
            "DATE" => Self::Date,
            "YES_NO" => Self::YesNo,
            "SELECT" => Self::Select,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The metadata of one order custom field.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldMeta {
    pub id: i64,
    /// The code used in patches, such as `PCF_COUPAPO`.
    pub code: String,
    pub name: String,
    pub field_type: CustomFieldType,
    pub required: bool,
    /// SELECT options as (option id, label), sorted by id.
    pub options: Vec<(i64, String)>,
    pub raw: Value,
}

/// A typed custom-field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomFieldValue {
    Text(String),
    Integer(i64),
    YesNo(bool),
    Date(NaiveDate),
    /// A SELECT option id.
    Select(i64),
    /// No value: `add` and `replace` operations with it are skipped.
    Null,
}

/// One JSON Patch operation on an order's custom fields. Values are
/// converted to the field's type with [`CustomFieldValue::from_json`] when
/// sent, and operations with a `null` value are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomFieldOp {
    /// Sets a value whether or not one exists.
    Add { code: String, value: Value },
    /// Replaces an existing value.
    Replace { code: String, value: Value },
    /// Clears the value.
    Remove { code: String },
}

/// The error for a value that does not fit a custom field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custom field {code}: {value} is not a valid {expected}")]
pub struct CustomFieldValueError {
    pub code: String,
    pub value: String,
    pub expected: String,
}

impl CustomFieldValue {
    /// Converts a loosely typed value (as kept in account settings) to the
    /// field's type. Numbers and booleans become text for TEXT fields, and
    /// numeric text becomes a number for INTEGER. `true`/`yes`/`1` and
    /// `false`/`no`/`0` become booleans. A SELECT takes an option id,
    /// `{"id": n}` or an option label, ignoring case.
    pub fn from_json(meta: &CustomFieldMeta, value: &Value) -> Result<Self, CustomFieldValueError> {
        if value.is_null() {
            return Ok(Self::Null);
        }
        let converted = match &meta.field_type {
            CustomFieldType::Text | CustomFieldType::TextArea => text(value).map(Self::Text),
            CustomFieldType::Integer => crate::de::int_value(value).map(Self::Integer),
            CustomFieldType::YesNo => yes_no(value).map(Self::YesNo),
            CustomFieldType::Date => crate::de::date_value(value).map(Self::Date),
            CustomFieldType::Select => select(meta, value).map(Self::Select),
            CustomFieldType::Other(_) => None,
        };
        converted.ok_or_else(|| CustomFieldValueError {
            code: meta.code.clone(),
            value: value.to_string(),
            expected: expected(&meta.field_type),
        })
    }

    /// Returns the JSON Brightpearl expects for this value, or `None` for
    /// [`CustomFieldValue::Null`].
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::Text(text) => Some(json!(text)),
            Self::Integer(number) => Some(json!(number)),
            Self::YesNo(flag) => Some(json!(flag)),
            Self::Date(date) => Some(json!(date.format("%Y-%m-%d").to_string())),
            Self::Select(id) => Some(json!({ "id": id })),
            Self::Null => None,
        }
    }
}

fn expected(field_type: &CustomFieldType) -> String {
    match field_type {
        CustomFieldType::Text | CustomFieldType::TextArea => "text value".into(),
        CustomFieldType::Integer => "whole number".into(),
        CustomFieldType::YesNo => "yes/no value (true or false)".into(),
        CustomFieldType::Date => "date (YYYY-MM-DD)".into(),
        CustomFieldType::Select => "option of this SELECT field (its id or label)".into(),
        CustomFieldType::Other(name) => format!("value: field type {name} is not supported"),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn yes_no(value: &Value) -> Option<bool> {
    match value.as_str().map(|text| text.trim().to_ascii_lowercase()) {
        Some(text) if text == "yes" => Some(true),
        Some(text) if text == "no" => Some(false),
        _ => crate::de::bool_value(value),
    }
}

fn select(meta: &CustomFieldMeta, value: &Value) -> Option<i64> {
    let known =
        |id: i64| meta.options.is_empty() || meta.options.iter().any(|(option, _)| *option == id);
    let by_id = match value {
        Value::Object(map) => map.get("id").and_then(crate::de::int_value),
        other => crate::de::int_value(other),
    };
    if let Some(id) = by_id {
        return known(id).then_some(id);
    }
    let label = value.as_str()?.trim();
    meta.options
        .iter()
        .find(|(_, option)| option.trim().eq_ignore_ascii_case(label))
        .map(|(id, _)| *id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    custom_field_type: Option<String>,
    #[serde(default, deserialize_with = "crate::de::flag")]
    required: Option<bool>,
    #[serde(default)]
    options: Map<String, Value>,
}

impl CustomFieldMeta {
    /// Reads metadata back from the `raw` JSON of an earlier
    /// [`BrightpearlClient::order_custom_fields`] call, as the engine stores it.
    pub fn from_raw(raw: Value) -> Option<Self> {
        serde_json::from_value::<MetaWire>(raw.clone())
            .ok()?
            .into_meta(raw)
    }
}

impl MetaWire {
    fn into_meta(self, raw: Value) -> Option<CustomFieldMeta> {
        let mut options: Vec<(i64, String)> = self
            .options
            .iter()
            .filter_map(|(key, option)| {
                let id = crate::de::int_value(&option["id"]).or_else(|| key.parse().ok())?;
                Some((
                    id,
                    crate::de::text_value(&option["value"]).unwrap_or_default(),
                ))
            })
            .collect();
        options.sort_by_key(|(id, _)| *id);
        Some(CustomFieldMeta {
            id: self.id?,
            code: self.code?,
            name: self.name.unwrap_or_default(),
            field_type: CustomFieldType::parse(
                self.custom_field_type.as_deref().unwrap_or_default(),
            ),
            required: self.required.unwrap_or(false),
            options,
            raw,
        })
    }
}

/// JSON Pointer escaping of a field code used as a patch path.
fn pointer(code: &str) -> String {
    format!("/{}", code.replace('~', "~0").replace('/', "~1"))
}

/// Builds the JSON Patch body, typing each value by its field's metadata.
/// Operations that would set a null value are left out.
fn patch_body(
    operations: &[CustomFieldOp],
    metadata: &[CustomFieldMeta],
) -> Result<Vec<Value>, BrightpearlError> {
    let mut body = Vec::new();
    for operation in operations {
        let (op, code, value) = match operation {
            CustomFieldOp::Add { code, value } => ("add", code, value),
            CustomFieldOp::Replace { code, value } => ("replace", code, value),
            CustomFieldOp::Remove { code } => {
                body.push(json!({"op": "remove", "path": pointer(code)}));
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        let typed = typed_value(code, value, metadata)?;
        if let Some(typed) = typed.to_json() {
            body.push(json!({"op": op, "path": pointer(code), "value": typed}));
        }
    }
    Ok(body)
}

fn typed_value(
    code: &str,
    value: &Value,
    metadata: &[CustomFieldMeta],
) -> Result<CustomFieldValue, BrightpearlError> {
    let meta = metadata.iter().find(|meta| meta.code == code).ok_or_else(|| {
        BrightpearlError::new(
            ErrorKind::Other,
            format!("order custom field {code} does not exist in this Brightpearl account; remove it from the account's custom_fields setting"),
        )
    })?;
    CustomFieldValue::from_json(meta, value).map_err(|error| {
        BrightpearlError::new(
            ErrorKind::Other,
            format!("{error}; change the account's custom_fields setting"),
        )
    })
}

impl BrightpearlClient {
    /// Returns the metadata of every sales-order custom field and keeps it
    /// for later patches through this client.
    pub async fn order_custom_fields(&self) -> Result<Vec<CustomFieldMeta>, BrightpearlError> {
        let items = self
            .list::<MetaWire>("order-service/sale/custom-field-meta-data")
            .await?;
        let metadata: Vec<CustomFieldMeta> = items
            .into_iter()
            .filter_map(|(wire, raw)| wire.into_meta(raw))
            .collect();
        *self.inner.custom_field_cache() = Some(Arc::new(metadata.clone()));
        Ok(metadata)
    }

    /// Applies custom-field operations to one order, typing each value by
    /// the field's metadata. The metadata is fetched once per client, on
    /// the first patch that needs it. Operations with a null value are
    /// skipped, and when none remain no request is sent.
    pub async fn patch_order_custom_fields(
        &self,
        order_id: i64,
        operations: &[CustomFieldOp],
    ) -> Result<(), BrightpearlError> {
        match self.custom_field_patch(order_id, operations).await? {
            Some(message) => self.send_patch(message).await,
            None => Ok(()),
        }
    }

    /// Applies custom-field operations to several orders and returns each
    /// order's result in the order given. With the `multi_message_patch`
    /// setting, the updates go up to ten to a multi-message. Otherwise, or
    /// once Brightpearl has rejected PATCH inside a multi-message, each
    /// update is sent on its own.
    pub async fn patch_orders_custom_fields(
        &self,
        updates: &[(i64, Vec<CustomFieldOp>)],
    ) -> Vec<Result<(), BrightpearlError>> {
        let mut results: Vec<Result<(), BrightpearlError>> = Vec::with_capacity(updates.len());
        let mut pending = Vec::new();
        for (index, (order_id, operations)) in updates.iter().enumerate() {
            match self.custom_field_patch(*order_id, operations).await {
                Ok(Some(message)) => pending.push((index, message)),
                Ok(None) => {}
                Err(error) => {
                    results.push(Err(error));
                    continue;
                }
            }
            results.push(Ok(()));
        }

        let batched = self.config().multi_message_patch
            && !self
                .inner
                .multi_message_patch_rejected
                .load(Ordering::Relaxed);
        let chunk_size = if batched { MAX_MESSAGES } else { 1 };
        for chunk in pending.chunks(chunk_size) {
            let messages: Vec<Message> = chunk.iter().map(|(_, message)| message.clone()).collect();
            for ((index, _), result) in chunk.iter().zip(self.send_patches(messages).await) {
                results[*index] = result;
            }
        }
        results
    }

    /// Sends custom-field patches, together when there are several.
    async fn send_patches(&self, messages: Vec<Message>) -> Vec<Result<(), BrightpearlError>> {
        if messages.len() > 1 {
            match self.send_multi_message(&messages).await {
                Sent::Items(items) => {
                    return items.into_iter().map(|item| item.map(|_| ())).collect()
                }
                Sent::Rejected(error) => {
                    // NOTE: any rejection of the whole message is taken as
                    // "no PATCH inside a multi-message", which is the only
                    // rejection a well-formed one is expected to get.
                    self.inner
                        .multi_message_patch_rejected
                        .store(true, Ordering::Relaxed);
                    tracing::warn!(
                        error = %error,
                        "Brightpearl rejected custom-field updates inside a multi-message; sending each on its own from now on"
                    );
                }
            }
        }
        let mut results = Vec::with_capacity(messages.len());
        for message in messages {
            results.push(self.send_patch(message).await);
        }
        results
    }

    async fn send_patch(&self, message: Message) -> Result<(), BrightpearlError> {
        let call = Call::patch(message.path, message.body);
        self.inner.send(&call).await.map(|_| ())
    }

    /// Builds the PATCH of one order's custom fields, or `None` when no
    /// operation is left to send.
    async fn custom_field_patch(
        &self,
        order_id: i64,
        operations: &[CustomFieldOp],
    ) -> Result<Option<Message>, BrightpearlError> {
        let path = format!("order-service/order/{order_id}/custom-field");
        let needs_types = operations.iter().any(|operation| match operation {
            CustomFieldOp::Add { value, .. } | CustomFieldOp::Replace { value, .. } => {
                !value.is_null()
            }
            CustomFieldOp::Remove { .. } => false,
        });
        let metadata = if needs_types {
            self.cached_order_custom_fields().await?
        } else {
            Arc::new(Vec::new())
        };
        let body = patch_body(operations, &metadata)
            .map_err(|error| error.with_request(format!("PATCH {path}")))?;
        if body.is_empty() {
            return Ok(None);
        }
        Ok(Some(Message {
            method: Method::PATCH,
            path,
            body: Value::Array(body),
        }))
    }

    async fn cached_order_custom_fields(
        &self,
    ) -> Result<Arc<Vec<CustomFieldMeta>>, BrightpearlError> {
        if let Some(metadata) = self.inner.custom_field_cache().clone() {
            return Ok(metadata);
        }
        Ok(Arc::new(self.order_custom_fields().await?))
    }
}

#[cfg(test)]
#[path = "custom_fields_tests.rs"]
mod tests;
