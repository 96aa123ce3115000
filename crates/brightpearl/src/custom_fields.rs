//! Order custom fields: their metadata and JSON Patch updates.
//!
//! Brightpearl checks each value's JSON type against the field type and
//! reports a mismatch as HTTP 500, so values are typed from the field
//! metadata before sending: TEXT as a string, INTEGER as a number, YES_NO
//! as a boolean, DATE as a `YYYY-MM-DD` string and SELECT as `{"id": option}`.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use std::sync::Arc;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
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

/// Why a value does not fit a custom field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custom field {code}: {value} is not a valid {expected}")]
pub struct CustomFieldValueError {
    pub code: String,
    pub value: String,
    pub expected: String,
}

impl CustomFieldValue {
    /// Converts a loosely typed value (as kept in account settings) to the
    /// field's type: numbers and booleans become text for TEXT fields,
    /// numeric text becomes a number for INTEGER, `true`/`yes`/`1` and
    /// `false`/`no`/`0` become booleans, and a SELECT takes an option id,
    /// `{"id": n}` or an option label (ignoring case).
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
        let call_name = format!("PATCH order-service/order/{order_id}/custom-field");
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
        let body =
            patch_body(operations, &metadata).map_err(|error| error.with_request(call_name))?;
        if body.is_empty() {
            return Ok(());
        }

        let call = Call::patch(
            format!("order-service/order/{order_id}/custom-field"),
            Value::Array(body),
        );
        self.inner.send(&call).await.map(|_| ())
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
mod tests {
    use super::*;

    fn meta(field_type: CustomFieldType) -> CustomFieldMeta {
        CustomFieldMeta {
            id: 1,
            code: "PCF_TEST".into(),
            name: "Test".into(),
            field_type,
            required: false,
            options: vec![(160, "Coupa".into()), (161, "Phone".into())],
            raw: Value::Null,
        }
    }

    #[test]
    fn values_take_the_field_type() {
        let cases = [
            (
                CustomFieldType::Text,
                json!(42),
                CustomFieldValue::Text("42".into()),
            ),
            (
                CustomFieldType::TextArea,
                json!("x"),
                CustomFieldValue::Text("x".into()),
            ),
            (
                CustomFieldType::Integer,
                json!("17"),
                CustomFieldValue::Integer(17),
            ),
            (
                CustomFieldType::Integer,
                json!(17),
                CustomFieldValue::Integer(17),
            ),
            (
                CustomFieldType::YesNo,
                json!("yes"),
                CustomFieldValue::YesNo(true),
            ),
            (
                CustomFieldType::YesNo,
                json!("false"),
                CustomFieldValue::YesNo(false),
            ),
            (
                CustomFieldType::YesNo,
                json!(true),
                CustomFieldValue::YesNo(true),
            ),
            (
                CustomFieldType::Date,
                json!("2024-06-03"),
                CustomFieldValue::Date(NaiveDate::from_ymd_opt(2024, 6, 3).unwrap()),
            ),
            (
                CustomFieldType::Select,
                json!("phone"),
                CustomFieldValue::Select(161),
            ),
            (
                CustomFieldType::Select,
                json!(160),
                CustomFieldValue::Select(160),
            ),
            (
                CustomFieldType::Select,
                json!({"id": 161}),
                CustomFieldValue::Select(161),
            ),
            (CustomFieldType::Select, json!(null), CustomFieldValue::Null),
        ];
        for (field_type, input, expected) in cases {
            let value = CustomFieldValue::from_json(&meta(field_type.clone()), &input);
            assert_eq!(value, Ok(expected), "{field_type:?} {input}");
        }
    }

    #[test]
    fn mismatched_values_are_rejected_with_the_code() {
        let cases = [
            (CustomFieldType::Integer, json!("twelve")),
            (CustomFieldType::YesNo, json!("perhaps")),
            (CustomFieldType::Date, json!("next week")),
            (CustomFieldType::Select, json!("Fax")),
            (CustomFieldType::Select, json!(999)),
            (CustomFieldType::Text, json!({"a": 1})),
            (CustomFieldType::Other("COLOUR".into()), json!("red")),
        ];
        for (field_type, input) in cases {
            let error = CustomFieldValue::from_json(&meta(field_type.clone()), &input).unwrap_err();
            assert_eq!(error.code, "PCF_TEST", "{field_type:?}");
            assert!(error.to_string().contains(&input.to_string()), "{error}");
        }
    }

    fn metadata() -> Vec<CustomFieldMeta> {
        let field = |code: &str, field_type| CustomFieldMeta {
            code: code.into(),
            ..meta(field_type)
        };
        vec![
            field("PCF_COUPAPO", CustomFieldType::Text),
            field("PCF_APPROVED", CustomFieldType::YesNo),
            field("PCF_CHANNEL", CustomFieldType::Select),
            field("PCF_DUE", CustomFieldType::Date),
            field("PCF_COUNT", CustomFieldType::Integer),
        ]
    }

    #[test]
    fn patch_body_types_values_and_skips_nulls() {
        let body = patch_body(
            &[
                CustomFieldOp::Add {
                    code: "PCF_COUPAPO".into(),
                    value: json!("PO-104233"),
                },
                CustomFieldOp::Add {
                    code: "PCF_APPROVED".into(),
                    value: json!("true"),
                },
                CustomFieldOp::Replace {
                    code: "PCF_CHANNEL".into(),
                    value: json!("Coupa"),
                },
                CustomFieldOp::Add {
                    code: "PCF_DUE".into(),
                    value: json!("2024-06-03"),
                },
                CustomFieldOp::Add {
                    code: "PCF_COUNT".into(),
                    value: json!("12"),
                },
                CustomFieldOp::Add {
                    code: "PCF_COUPAPO".into(),
                    value: Value::Null,
                },
                CustomFieldOp::Remove {
                    code: "PCF_COUPAREQ".into(),
                },
            ],
            &metadata(),
        )
        .unwrap();
        insta::assert_json_snapshot!(body);
    }

    #[test]
    fn patch_body_rejects_unknown_codes_and_bad_values() {
        let unknown = patch_body(
            &[CustomFieldOp::Add {
                code: "PCF_NOPE".into(),
                value: json!("x"),
            }],
            &metadata(),
        )
        .unwrap_err();
        assert_eq!(unknown.kind(), &ErrorKind::Other);
        assert!(unknown.to_string().contains("PCF_NOPE"), "{unknown}");

        let mismatched = patch_body(
            &[CustomFieldOp::Add {
                code: "PCF_APPROVED".into(),
                value: json!("perhaps"),
            }],
            &metadata(),
        )
        .unwrap_err();
        assert!(
            mismatched.to_string().contains("PCF_APPROVED"),
            "{mismatched}"
        );
    }

    #[test]
    fn metadata_round_trips_through_raw() {
        let raw = json!({"id": 133, "code": "PCF_APPROVED", "name": "Approved", "customFieldType": "YES_NO", "required": true});
        let meta = CustomFieldMeta::from_raw(raw.clone()).unwrap();
        assert_eq!(meta.field_type, CustomFieldType::YesNo);
        assert!(meta.required);
        assert_eq!(meta.raw, raw);
    }

    #[test]
    fn metadata_reads_select_options() {
        let path = format!(
            "{}/../../../shared/corpus/brightpearl/order-custom-field-metadata-sale-get.response.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (wire, raw) = crate::envelope::decode_items::<MetaWire>(&body)
            .unwrap()
            .remove(0);
        let meta = wire.into_meta(raw).unwrap();

        assert_eq!(meta.code, "PCF_TIPONEG");
        assert_eq!(meta.field_type, CustomFieldType::Select);
        assert_eq!(meta.options.len(), 5);
        assert_eq!(
            meta.options[0],
            (156, "Negocio Pequeno ($0-$10K)".to_owned())
        );
        assert_eq!(
            CustomFieldValue::from_json(&meta, &json!("regalos")),
            Ok(CustomFieldValue::Select(159))
        );
    }

    #[test]
    fn pointer_escapes_slash_and_tilde() {
        assert_eq!(pointer("PCF_A/B~C"), "/PCF_A~1B~0C");
    }
}
