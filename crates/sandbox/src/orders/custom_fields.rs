//! Order custom fields: the GET map and JSON Patch updates checked against
//! the field metadata.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::order_id;
use crate::catalogue::{CustomFieldMeta, CustomFieldType};
use crate::envelope::{code, Reply};
use crate::patch::{self, PatchOp};
use crate::resources::{ApiRequest, Ctx};
use crate::time::{format_custom_field, parse_flexible, DayEnd};

/// `GET order-service/order/{id}/custom-field`.
pub(crate) fn get(ctx: &Ctx<'_>, segment: &str) -> Reply {
    match order_id(segment).and_then(|id| ctx.account.orders.get(&id)) {
        Some(order) => Reply::ok(
            Value::Object(order.custom_fields.clone()),
            "get-custom-fields",
        ),
        None => Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            "get-custom-fields",
        ),
    }
}

/// Adds `null` for every field without a value, for
/// `includeOptional=customFields,nullCustomFields`.
pub(crate) fn add_null_fields(item: &mut Value, fields: &[CustomFieldMeta]) {
    if let Some(map) = item.get_mut("customFields").and_then(Value::as_object_mut) {
        for field in fields {
            map.entry(field.code.clone()).or_insert(Value::Null);
        }
    }
}

/// `PATCH order-service/order/{id}/custom-field`: applies every operation
/// or none, and replies with the whole resulting map.
pub(crate) fn patch(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>, segment: &str) -> Reply {
    const MT: &str = "patch-custom-fields";
    let ops = match patch::parse(request.body, MT) {
        Ok(ops) => ops,
        Err(reply) => return reply,
    };
    let now = ctx.now;
    let account = &mut *ctx.account;
    let Some(order) = order_id(segment).and_then(|id| account.orders.get_mut(&id)) else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            code::ORDER_ID_INVALID,
            format!("You have supplied an invalid order id: {segment}"),
            MT,
        );
    };
    let fields = account.catalogue.order_custom_fields(&order.order_type);
    let mut values = order.custom_fields.clone();
    for op in &ops {
        if let Err(reply) = apply(&mut values, fields, op, account.catalogue.offset) {
            return reply;
        }
    }
    order.custom_fields = values.clone();
    order.touch(now);
    Reply::ok(Value::Object(values), MT)
}

fn apply(
    values: &mut Map<String, Value>,
    fields: &[CustomFieldMeta],
    op: &PatchOp,
    offset: chrono::FixedOffset,
) -> Result<(), Reply> {
    const MT: &str = "patch-custom-fields";
    let code_name = op.path.trim_start_matches('/');
    let Some(field) = fields.iter().find(|f| f.code == code_name) else {
        // NOTE: the code and wording for an unknown field are invented.
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            code::CUSTOM_FIELD_UNKNOWN,
            format!("Unknown custom field: {code_name}"),
            MT,
        ));
    };
    match op.op.as_str() {
        "remove" => {
            values.remove(code_name);
            Ok(())
        }
        "replace" if !values.contains_key(code_name) => Err(patch::op_not_allowed(op, MT)),
        "add" | "replace" => {
            let stored = stored_value(field, op.value.as_ref(), offset)?;
            values.insert(code_name.to_owned(), stored);
            Ok(())
        }
        _ => Err(patch::op_not_allowed(op, MT)),
    }
}

/// Checks a value's JSON type against the field and returns it as GET
/// shows it; a mismatch is the 500 `CMNU-003` one client reported.
fn stored_value(
    field: &CustomFieldMeta,
    value: Option<&Value>,
    offset: chrono::FixedOffset,
) -> Result<Value, Reply> {
    let value = value.unwrap_or(&Value::Null);
    let stored = match (field.custom_field_type, value) {
        (CustomFieldType::Text | CustomFieldType::TextArea, Value::String(_)) => {
            Some(value.clone())
        }
        (CustomFieldType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            Some(value.clone())
        }
        (CustomFieldType::YesNo, Value::Bool(_)) => Some(value.clone()),
        (CustomFieldType::Date, Value::String(text)) => parse_flexible(text, offset, DayEnd::Start)
            .map(|at| json!(format_custom_field(at, offset))),
        (CustomFieldType::Select, Value::Object(object)) => {
            object.get("id").and_then(Value::as_u64).and_then(|id| {
                field
                    .option_value(id)
                    .map(|text| json!({ "id": id, "value": text }))
            })
        }
        _ => None,
    };
    stored.ok_or_else(|| {
        let expected = match field.custom_field_type {
            CustomFieldType::Text | CustomFieldType::TextArea => "a JSON string",
            CustomFieldType::Integer => "a JSON integer",
            CustomFieldType::YesNo => "a JSON boolean",
            CustomFieldType::Date => "a date string",
            CustomFieldType::Select => "{\"id\": option id} naming one of its options",
        };
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::CUSTOM_FIELD_TYPE,
            format!(
                "Invalid value {value} for custom field {}: expected {expected}",
                field.code
            ),
            MT_PATCH,
        )
    })
}

const MT_PATCH: &str = "patch-custom-fields";
