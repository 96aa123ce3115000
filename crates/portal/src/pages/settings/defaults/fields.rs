//! The fields of the defaults form, built from the account's settings and
//! its stored Brightpearl reference data.

use std::collections::BTreeMap;

use pobridge_core::AccountSettings;
use pobridge_engine::admin;
use pobridge_store::ReferenceKind;
use serde_json::Value;

use super::{CUSTOM_PREFIX, REQUIRED_KEYS};
use crate::auth::Member;
use crate::render::PortalError;
use crate::PortalState;

/// One option of a `<select>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// One field of the form.
pub(super) struct Field {
    /// The setting key, also the field's `name`.
    pub key: String,
    /// The element id: the key with `.` replaced, so CSS can name it.
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// `select`, or the `type` of an `<input>`.
    pub input_type: &'static str,
    pub choices: Vec<Choice>,
    /// The value shown: as typed after a rejected save, else as stored.
    pub value: String,
    /// The stored value when the form was first shown, posted back as
    /// `shown.KEY` so that a save changes only the fields a person edited.
    pub shown: String,
    pub error: Option<String>,
}

/// A titled group of fields.
pub(super) struct Section {
    pub title: &'static str,
    pub hint: &'static str,
    pub fields: Vec<Field>,
}

/// Returns a stored setting or custom field as the form shows it.
pub(super) fn form_value(settings: &AccountSettings, key: &str) -> String {
    match key.strip_prefix(CUSTOM_PREFIX) {
        Some(code) => settings
            .custom_fields
            .get(code)
            .map(custom_value_text)
            .unwrap_or_default(),
        None => stored_value(settings, key),
    }
}

/// Returns a stored setting as the form shows it: an id or code, a word
/// for a choice, or empty for none.
pub(super) fn stored_value(settings: &AccountSettings, key: &str) -> String {
    admin::settings_entries(settings)
        .into_iter()
        .find(|(entry, _)| entry == key)
        .map(|(_, value)| value)
        .filter(|value| value != "none")
        .unwrap_or_default()
}

/// The account's stored Brightpearl reference data that the form offers.
pub(super) struct Reference {
    channels: Vec<Value>,
    warehouses: Vec<Value>,
    price_lists: Vec<Value>,
    order_statuses: Vec<Value>,
    tax_codes: Vec<Value>,
    nominal_codes: Vec<Value>,
    custom_fields: Vec<Value>,
}

impl Reference {
    pub async fn load(state: &PortalState, member: &Member) -> Result<Self, PortalError> {
        let store = &state.engine.store;
        let account = member.account.id;
        let items = |kind| async move {
            let data = store.reference_data(account, kind).await?;
            Ok::<_, PortalError>(
                data.and_then(|data| data.data.as_array().cloned())
                    .unwrap_or_default(),
            )
        };
        Ok(Self {
            channels: items(ReferenceKind::Channels).await?,
            warehouses: items(ReferenceKind::Warehouses).await?,
            // Id 0 is Brightpearl's cost price list, which the setting does
            // not take, since a sales order is priced from a selling list.
            price_lists: items(ReferenceKind::PriceLists)
                .await?
                .into_iter()
                .filter(|list| list.get("id").and_then(Value::as_i64) != Some(0))
                .collect(),
            order_statuses: items(ReferenceKind::OrderStatuses).await?,
            tax_codes: items(ReferenceKind::TaxCodes).await?,
            nominal_codes: items(ReferenceKind::NominalCodes).await?,
            custom_fields: items(ReferenceKind::OrderCustomFields).await?,
        })
    }

    pub fn loaded(&self) -> bool {
        !self.channels.is_empty() || !self.warehouses.is_empty()
    }

    pub fn has_custom_field(&self, code: &str) -> bool {
        self.custom_fields
            .iter()
            .any(|field| text(field, "code").as_deref() == Some(code))
    }
}

/// Reads a field that is text, a number, or a `{"text": ...}` object, as
/// Brightpearl's names are.
fn text(item: &Value, field: &str) -> Option<String> {
    match item.get(field)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Object(map) => map.get("text").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Options for the items' ids, labelled by `label`, with the blank option
/// first. A stored value missing from the items is kept as an option, so
/// the page shows it and saving it again names the problem.
fn choices(
    items: &[Value],
    id_field: &str,
    label: impl Fn(&Value) -> String,
    blank: &str,
    value: &str,
) -> Vec<Choice> {
    let mut choices = vec![Choice::new("", blank)];
    choices.extend(items.iter().filter_map(|item| {
        let id = text(item, id_field)?;
        Some(Choice::new(id, label(item)))
    }));
    if !value.is_empty() && !choices.iter().any(|choice| choice.value == value) {
        choices.push(Choice::new(
            value,
            format!("{value} (not in the Brightpearl data pobridge holds)"),
        ));
    }
    choices
}

fn name_or_id(item: &Value) -> String {
    text(item, "name")
        .or_else(|| text(item, "id"))
        .unwrap_or_default()
}

fn code_and(item: &Value, detail: &str) -> String {
    let code = text(item, "code").unwrap_or_default();
    match text(item, detail) {
        Some(detail) if !detail.is_empty() => format!("{code} – {detail}"),
        _ => code,
    }
}

fn price_list_label(item: &Value) -> String {
    let name = name_or_id(item);
    let details: Vec<String> = ["code", "currencyCode"]
        .iter()
        .filter_map(|field| text(item, field))
        .collect();
    if details.is_empty() {
        name
    } else {
        format!("{name} ({})", details.join(", "))
    }
}

fn field(key: &str, label: &str, value: String) -> Field {
    Field {
        key: key.to_owned(),
        id: key.replace('.', "-"),
        label: label.to_owned(),
        hint: None,
        required: REQUIRED_KEYS.contains(&key),
        input_type: "select",
        choices: Vec::new(),
        shown: value.clone(),
        value,
        error: None,
    }
}

fn select(key: &str, label: &str, value: String, choices: Vec<Choice>) -> Field {
    Field {
        choices,
        ..field(key, label, value)
    }
}

fn with_hint(mut field: Field, hint: &str) -> Field {
    field.hint = Some(hint.to_owned());
    field
}

/// The value of a field, as typed or as stored, by setting key.
pub(super) type Values<'a> = &'a dyn Fn(&str) -> String;

/// Builds the sections of the order settings, in the order shown.
pub(super) fn order_sections(reference: &Reference, values: Values) -> Vec<Section> {
    vec![
        placement_section(reference, values),
        tax_section(reference, values),
        matching_section(values),
    ]
}

/// Builds a `<select>` of one kind of reference data, whose blank option
/// asks for a choice when the setting is required and means none otherwise.
fn reference_select(
    values: Values,
    key: &str,
    label: &str,
    items: &[Value],
    id_field: &str,
    labeller: &dyn Fn(&Value) -> String,
) -> Field {
    let value = values(key);
    let blank = if REQUIRED_KEYS.contains(&key) {
        format!("Choose a {}", label.to_lowercase())
    } else {
        "None".to_owned()
    };
    let options = choices(items, id_field, labeller, &blank, &value);
    select(key, label, value, options)
}

fn placement_section(reference: &Reference, values: Values) -> Section {
    let sales_statuses: Vec<Value> = reference
        .order_statuses
        .iter()
        .filter(|status| text(status, "orderTypeCode").as_deref() == Some("SO"))
        .cloned()
        .collect();
    // NOTE: pobridge does not pull Brightpearl's staff, projects or lead
    // sources, so these take the id as a number instead of a list to choose
    // from. Pulling them in the reference refresh would allow a <select>.
    let id_input = |key: &str, label: &str| Field {
        input_type: "number",
        hint: Some("The Brightpearl id, a whole number. Leave empty for none.".to_owned()),
        ..field(key, label, values(key))
    };
    let brightpearl_decides = "None leaves the choice to Brightpearl.";

    Section {
        title: "Where new sales orders go",
        hint: "Every sales order pobridge creates gets these values.",
        fields: vec![
            reference_select(
                values,
                "channel_id",
                "Channel",
                &reference.channels,
                "id",
                &name_or_id,
            ),
            reference_select(
                values,
                "warehouse_id",
                "Warehouse",
                &reference.warehouses,
                "id",
                &name_or_id,
            ),
            with_hint(
                reference_select(
                    values,
                    "price_list_id",
                    "Price list",
                    &reference.price_lists,
                    "id",
                    &price_list_label,
                ),
                brightpearl_decides,
            ),
            with_hint(
                reference_select(
                    values,
                    "order_status_id",
                    "Order status",
                    &sales_statuses,
                    "statusId",
                    &name_or_id,
                ),
                brightpearl_decides,
            ),
            id_input("staff_owner_id", "Staff owner"),
            id_input("project_id", "Project"),
            id_input("lead_source_id", "Lead source"),
        ],
    }
}

fn tax_section(reference: &Reference, values: Values) -> Section {
    Section {
        title: "Tax and shipping",
        hint: "How the tax of rows and the purchase order's shipping charge are written.",
        fields: vec![
            with_hint(
                reference_select(
                    values,
                    "default_tax_code",
                    "Tax code for rows whose product has none",
                    &reference.tax_codes,
                    "code",
                    &|item| code_and(item, "description"),
                ),
                "Rows of products with their own tax code keep it.",
            ),
            select(
                "shipping",
                "Shipping charge",
                values("shipping"),
                vec![
                    Choice::new("row", "A row on the shipping nominal code"),
                    Choice::new("omit", "Left out of the sales order"),
                ],
            ),
            with_hint(
                reference_select(
                    values,
                    "shipping_nominal_code",
                    "Shipping nominal code",
                    &reference.nominal_codes,
                    "code",
                    &|item| code_and(item, "name"),
                ),
                "Needed when the shipping charge is a row.",
            ),
        ],
    }
}

fn matching_section(values: Values) -> Section {
    Section {
        title: "Matching Coupa lines to products",
        hint: "A line's product is the one whose Brightpearl identifier equals the line's \
               Coupa identifier, unless the item is mapped by hand.",
        fields: vec![
            select(
                "coupa_id_field",
                "Coupa identifier",
                values("coupa_id_field"),
                vec![
                    Choice::new("supplier_part_id", "Supplier part ID"),
                    Choice::new("supplier_part_auxiliary_id", "Supplier part auxiliary ID"),
                    Choice::new("manufacturer_part_id", "Manufacturer part ID"),
                    Choice::new("buyer_part_id", "Buyer part ID"),
                ],
            ),
            select(
                "brightpearl_id_field",
                "Brightpearl identifier",
                values("brightpearl_id_field"),
                vec![
                    Choice::new("sku", "SKU"),
                    Choice::new("barcode", "Barcode"),
                    Choice::new("ean", "EAN"),
                    Choice::new("upc", "UPC"),
                    Choice::new("mpn", "MPN"),
                    Choice::new("isbn", "ISBN"),
                ],
            ),
        ],
    }
}

/// Builds one field per order custom field of the account's Brightpearl,
/// with an input that fits its type.
pub(super) fn custom_section(
    reference: &Reference,
    settings: &AccountSettings,
    typed: Option<&BTreeMap<String, String>>,
) -> Section {
    let fields = reference
        .custom_fields
        .iter()
        .filter_map(|meta| {
            let code = text(meta, "code")?;
            let key = format!("{CUSTOM_PREFIX}{code}");
            let value = match typed {
                Some(typed) => typed.get(&key).cloned().unwrap_or_default(),
                None => form_value(settings, &key),
            };
            let name = text(meta, "name").unwrap_or_else(|| code.clone());
            Some(custom_field(&key, &format!("{name} ({code})"), meta, value))
        })
        .collect();
    Section {
        title: "Order custom fields",
        hint: "Fixed values set on every new sales order. Leave a field empty to leave it unset.",
        fields,
    }
}

fn custom_field(key: &str, label: &str, meta: &Value, value: String) -> Field {
    let base = field(key, label, value);
    match text(meta, "customFieldType").as_deref().unwrap_or("TEXT") {
        "INTEGER" => Field {
            input_type: "number",
            ..base
        },
        "DATE" => Field {
            input_type: "date",
            ..base
        },
        "YES_NO" => Field {
            choices: vec![
                Choice::new("", "Not set"),
                Choice::new("yes", "Yes"),
                Choice::new("no", "No"),
            ],
            ..base
        },
        "SELECT" => Field {
            choices: std::iter::once(Choice::new("", "Not set"))
                .chain(select_options(meta))
                .collect(),
            ..base
        },
        _ => Field {
            input_type: "text",
            ..base
        },
    }
}

/// Reads a SELECT field's options, which Brightpearl sends as an object
/// keyed by id or as a list.
fn select_options(meta: &Value) -> Vec<Choice> {
    let options: Vec<&Value> = match meta.get("options") {
        Some(Value::Object(map)) => map.values().collect(),
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    options
        .into_iter()
        .filter_map(|option| Some(Choice::new(text(option, "id")?, text(option, "value")?)))
        .collect()
}

/// Converts a stored custom-field value to the text its input takes: a
/// YES_NO boolean to `yes` or `no`, a SELECT `{"id": n}` to the option id.
fn custom_value_text(value: &Value) -> String {
    match value {
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Object(map) => map.get("id").map(|id| id.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stored_custom_values_fill_their_inputs() {
        assert_eq!(custom_value_text(&json!(true)), "yes");
        assert_eq!(custom_value_text(&json!(false)), "no");
        assert_eq!(custom_value_text(&json!({"id": 160})), "160");
        assert_eq!(custom_value_text(&json!(42)), "42");
        assert_eq!(custom_value_text(&json!("Coupa")), "Coupa");
        assert_eq!(custom_value_text(&Value::Null), "");
    }

    #[test]
    fn custom_fields_get_an_input_for_their_type() {
        let select = json!({"code": "PCF_SRC", "customFieldType": "SELECT",
            "options": {"161": {"id": 161, "value": "Phone"}, "160": {"id": 160, "value": "Coupa"}}});
        let field = custom_field("custom_fields.PCF_SRC", "Source", &select, "160".to_owned());
        assert_eq!(field.input_type, "select");
        assert_eq!(field.id, "custom_fields-PCF_SRC");
        let labels: Vec<&str> = field.choices.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Not set", "Coupa", "Phone"]);

        for (kind, input) in [
            ("INTEGER", "number"),
            ("DATE", "date"),
            ("TEXT", "text"),
            ("TEXT_AREA", "text"),
            ("YES_NO", "select"),
        ] {
            let meta = json!({"code": "PCF_X", "customFieldType": kind});
            let field = custom_field("custom_fields.PCF_X", "X", &meta, String::new());
            assert_eq!(field.input_type, input, "{kind}");
        }
    }

    #[test]
    fn stored_value_missing_from_brightpearl_stays_visible() {
        let items = vec![json!({"id": 1, "name": "Coupa"})];
        let offered = choices(&items, "id", name_or_id, "None", "9");
        assert_eq!(offered[0], Choice::new("", "None"));
        assert_eq!(offered[1], Choice::new("1", "Coupa"));
        assert_eq!(offered[2].value, "9");
        assert!(offered[2].label.contains("not in the Brightpearl data"));
    }
}
