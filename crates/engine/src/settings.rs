//! Reading and changing account settings, checked against the account's
//! Brightpearl reference data so that a typo is caught when it is typed and
//! not when an order fails.

use pobridge_brightpearl::CustomFieldOp;
use pobridge_core::{AccountId, AccountSettings, ShippingTreatment};
use pobridge_store::{ReferenceKind, Store, StoreError};
use serde_json::Value;

/// A rejected setting, saying what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("unknown setting {0:?}; known settings: {KNOWN}")]
    UnknownKey(String),
    #[error("{key}: {value:?} is not valid: {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: String,
    },
    #[error("{key}: {value:?} is not one of this Brightpearl account's {what}; known: {known}. Run `pobridge refresh {account}` if it was added recently")]
    NotInBrightpearl {
        key: String,
        value: String,
        what: &'static str,
        known: String,
        /// The account slug, as the suggested command needs it.
        account: String,
    },
}

/// Stands for the account in messages until [`name_account`] fills it in.
const ACCOUNT_PLACEHOLDER: &str = "SLUG";

/// Puts the account's slug into the commands an error suggests.
pub fn name_account(error: SettingError, slug: &pobridge_core::AccountSlug) -> SettingError {
    match error {
        SettingError::NotInBrightpearl {
            key,
            value,
            what,
            known,
            ..
        } => SettingError::NotInBrightpearl {
            key,
            value,
            what,
            known: known.replace(ACCOUNT_PLACEHOLDER, slug.as_str()),
            account: slug.to_string(),
        },
        SettingError::Invalid {
            key,
            value,
            expected,
        } => SettingError::Invalid {
            key,
            value,
            expected: expected.replace(ACCOUNT_PLACEHOLDER, slug.as_str()),
        },
        other => other,
    }
}

const KNOWN: &str = "channel_id, warehouse_id, price_list_id, order_status_id, staff_owner_id, project_id, lead_source_id, \
default_tax_code, shipping, shipping_nominal_code, coupa_id_field, brightpearl_id_field, contact_match, create_contacts, \
sync_test_orders, retry_hours, custom_fields.CODE, time_zone, invoice_poll_minutes, invoice_sweep_hours, \
invoice_retry_hours";

/// Returns `settings` with `key` set to `value`, or why not. `value` is
/// text as typed on the command line; `none` clears optional settings.
pub async fn apply(
    store: &dyn Store,
    account: AccountId,
    settings: &AccountSettings,
    key: &str,
    value: &str,
) -> Result<Result<AccountSettings, SettingError>, StoreError> {
    let mut updated = settings.clone();
    let checked = match key {
        "channel_id" => {
            required_reference_id(store, account, key, value, ReferenceKind::Channels, "channel")
                .await?
                .map(|id| updated.channel_id = Some(id))
        }
        "warehouse_id" => required_reference_id(
            store,
            account,
            key,
            value,
            ReferenceKind::Warehouses,
            "warehouse",
        )
        .await?
        .map(|id| updated.warehouse_id = Some(id)),
        "price_list_id" => reference_id(
            store,
            account,
            key,
            value,
            ReferenceKind::PriceLists,
            "id",
            "price lists",
        )
        .await?
        .map(|id| updated.price_list_id = id),
        "order_status_id" => sales_order_status(store, account, value)
            .await?
            .map(|id| updated.order_status_id = id),
        "staff_owner_id" => optional_integer(key, value).map(|id| updated.staff_owner_id = id),
        "project_id" => optional_integer(key, value).map(|id| updated.project_id = id),
        "lead_source_id" => optional_integer(key, value).map(|id| updated.lead_source_id = id),
        "default_tax_code" => reference_code(
            store,
            account,
            key,
            value,
            ReferenceKind::TaxCodes,
            "tax codes",
        )
        .await?
        .map(|code| updated.default_tax_code = code),
        "shipping_nominal_code" => reference_code(
            store,
            account,
            key,
            value,
            ReferenceKind::NominalCodes,
            "nominal codes",
        )
        .await?
        .map(|code| updated.shipping_nominal_code = code),
        "shipping" => enum_value(key, value, "row or omit").map(|parsed| updated.shipping = parsed),
        "coupa_id_field" => enum_value(
            key,
            value,
            "supplier_part_id, supplier_part_auxiliary_id, manufacturer_part_id or buyer_part_id",
        )
        .map(|parsed| updated.coupa_id_field = parsed),
        "brightpearl_id_field" => enum_value(key, value, "sku, barcode, ean, upc, mpn or isbn")
            .map(|parsed| updated.brightpearl_id_field = parsed),
        "contact_match" => enum_value(key, value, "company_name, email or none")
            .map(|parsed| updated.contact_match = parsed),
        "create_contacts" => boolean(key, value).map(|flag| updated.create_contacts = flag),
        "sync_test_orders" => boolean(key, value).map(|flag| updated.sync_test_orders = flag),
        "retry_hours" => value
            .parse::<u32>()
            .ok()
            .filter(|hours| (1..=24 * 30).contains(hours))
            .map(|hours| updated.retry_hours = hours)
            .ok_or_else(|| invalid(key, value, "a whole number of hours from 1 to 720")),
        "time_zone" => time_zone(value).map(|zone| updated.time_zone = zone),
        "invoice_poll_minutes" => whole_number(key, value, 1..=24 * 60, "minutes")
            .map(|minutes| updated.invoice_poll_minutes = minutes),
        "invoice_sweep_hours" => whole_number(key, value, 1..=24 * 30, "hours")
            .map(|hours| updated.invoice_sweep_hours = hours),
        "invoice_retry_hours" => whole_number(key, value, 1..=24 * 30, "hours")
            .map(|hours| updated.invoice_retry_hours = hours),
        "invoice_rows" => Err(invalid(
            key,
            value,
            "invoice row rules are changed with `pobridge rows SLUG add` and `pobridge rows SLUG remove`",
        )),
        _ => {
            match key.strip_prefix("custom_fields.") {
                Some(code) => custom_field(store, account, code, value)
                    .await?
                    .map(|parsed| match parsed {
                        Some(parsed) => {
                            updated.custom_fields.insert(code.to_owned(), parsed);
                        }
                        None => {
                            updated.custom_fields.remove(code);
                        }
                    }),
                None => Err(SettingError::UnknownKey(key.to_owned())),
            }
        }
    };
    Ok(checked.map(|()| updated))
}

/// Checks that a shipping row has its nominal code, after `key` was set to
/// `value`. Without the code, every order with a shipping charge would wait
/// as `awaiting_settings`. Only a change of `shipping` or
/// `shipping_nominal_code` is checked, because new accounts start with a
/// shipping row and no code, and other settings must stay changeable.
pub fn check_shipping(
    settings: &AccountSettings,
    key: &str,
    value: &str,
) -> Result<(), SettingError> {
    let missing_code = shipping_code_missing(settings);
    let expected = match key {
        "shipping" if missing_code => {
            "omit, or set shipping_nominal_code first, because a shipping row is booked on it"
        }
        "shipping_nominal_code" if missing_code => {
            "a nominal code, because shipping is row; set shipping to omit to leave it out"
        }
        _ => return Ok(()),
    };
    Err(invalid(key, value, expected))
}

/// Returns whether the shipping charge is a row but no nominal code is set.
pub fn shipping_code_missing(settings: &AccountSettings) -> bool {
    settings.shipping == ShippingTreatment::Row && settings.shipping_nominal_code.is_none()
}

/// Checks the stored defaults against the current reference data, so that a
/// channel deleted in Brightpearl fails the order with a clear reason.
pub async fn check_defaults(
    store: &dyn Store,
    account: AccountId,
    slug: &pobridge_core::AccountSlug,
    settings: &AccountSettings,
) -> Result<Result<(), String>, StoreError> {
    let checks = [
        (
            "channel_id",
            settings.channel_id,
            ReferenceKind::Channels,
            "id",
        ),
        (
            "warehouse_id",
            settings.warehouse_id,
            ReferenceKind::Warehouses,
            "id",
        ),
        (
            "price_list_id",
            settings.price_list_id,
            ReferenceKind::PriceLists,
            "id",
        ),
        (
            "order_status_id",
            settings.order_status_id,
            ReferenceKind::OrderStatuses,
            "statusId",
        ),
    ];
    for (key, value, kind, field) in checks {
        let Some(value) = value else { continue };
        let Some(items) = reference_items(store, account, kind).await? else {
            continue;
        };
        if !items
            .iter()
            .any(|item| item.get(field).and_then(Value::as_i64) == Some(value))
        {
            return Ok(Err(format!(
                "setting {key} = {value} is no longer in this Brightpearl account; choose another with `pobridge settings {slug} set {key} ID`"
            )));
        }
    }
    Ok(Ok(()))
}

/// Returns the JSON Patch operations that set the account's fixed custom-field
/// values. Values were typed against the field metadata when they were set.
pub fn custom_field_operations(settings: &AccountSettings) -> Vec<CustomFieldOp> {
    settings
        .custom_fields
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(code, value)| CustomFieldOp::Add {
            code: code.clone(),
            value: value.clone(),
        })
        .collect()
}

async fn reference_items(
    store: &dyn Store,
    account: AccountId,
    kind: ReferenceKind,
) -> Result<Option<Vec<Value>>, StoreError> {
    Ok(store
        .reference_data(account, kind)
        .await?
        .and_then(|data| data.data.as_array().cloned()))
}

async fn reference_id(
    store: &dyn Store,
    account: AccountId,
    key: &str,
    value: &str,
    kind: ReferenceKind,
    field: &str,
    what: &'static str,
) -> Result<Result<Option<i64>, SettingError>, StoreError> {
    let id = match optional_integer(key, value) {
        Ok(Some(id)) => id,
        other => return Ok(other),
    };
    let Some(items) = reference_items(store, account, kind).await? else {
        return Ok(Err(not_loaded(key, value, what)));
    };
    if items
        .iter()
        .any(|item| item.get(field).and_then(Value::as_i64) == Some(id))
    {
        return Ok(Ok(Some(id)));
    }
    Ok(Err(SettingError::NotInBrightpearl {
        key: key.to_owned(),
        value: value.to_owned(),
        what,
        known: list(&items, field),
        account: ACCOUNT_PLACEHOLDER.to_owned(),
    }))
}

async fn sales_order_status(
    store: &dyn Store,
    account: AccountId,
    value: &str,
) -> Result<Result<Option<i64>, SettingError>, StoreError> {
    let key = "order_status_id";
    let id = match optional_integer(key, value) {
        Ok(Some(id)) => id,
        other => return Ok(other),
    };
    let Some(items) = reference_items(store, account, ReferenceKind::OrderStatuses).await? else {
        return Ok(Err(not_loaded(key, value, "order statuses")));
    };
    let sales: Vec<Value> = items
        .into_iter()
        .filter(|item| item.get("orderTypeCode").and_then(Value::as_str) == Some("SO"))
        .collect();
    if sales
        .iter()
        .any(|item| item.get("statusId").and_then(Value::as_i64) == Some(id))
    {
        return Ok(Ok(Some(id)));
    }
    Ok(Err(SettingError::NotInBrightpearl {
        key: key.to_owned(),
        value: value.to_owned(),
        what: "sales order statuses",
        known: list(&sales, "statusId"),
        account: ACCOUNT_PLACEHOLDER.to_owned(),
    }))
}

/// Checks a code (a tax or nominal code) against the account's reference
/// data of `kind`. The value `none` passes as `None`.
pub(crate) async fn reference_code(
    store: &dyn Store,
    account: AccountId,
    key: &str,
    value: &str,
    kind: ReferenceKind,
    what: &'static str,
) -> Result<Result<Option<String>, SettingError>, StoreError> {
    if is_none(value) {
        return Ok(Ok(None));
    }
    let Some(items) = reference_items(store, account, kind).await? else {
        return Ok(Err(not_loaded(key, value, what)));
    };
    let code = value.trim();
    if items
        .iter()
        .any(|item| code_of(item).as_deref() == Some(code))
    {
        return Ok(Ok(Some(code.to_owned())));
    }
    let known = items
        .iter()
        .filter_map(code_of)
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Err(SettingError::NotInBrightpearl {
        key: key.to_owned(),
        value: value.to_owned(),
        what,
        known,
        account: ACCOUNT_PLACEHOLDER.to_owned(),
    }))
}

/// Parses a custom-field value into the JSON its field type takes; `None` clears it.
async fn custom_field(
    store: &dyn Store,
    account: AccountId,
    code: &str,
    value: &str,
) -> Result<Result<Option<Value>, SettingError>, StoreError> {
    let key = format!("custom_fields.{code}");
    if is_none(value) {
        return Ok(Ok(None));
    }
    let Some(fields) = reference_items(store, account, ReferenceKind::OrderCustomFields).await?
    else {
        return Ok(Err(not_loaded(&key, code, "order custom fields")));
    };
    let Some(field) = fields
        .iter()
        .find(|field| field.get("code").and_then(Value::as_str) == Some(code))
    else {
        let known = fields
            .iter()
            .filter_map(|field| field.get("code").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(", ");
        // The field's code is what is unknown here, not the value for it.
        return Ok(Err(SettingError::NotInBrightpearl {
            key,
            value: code.to_owned(),
            what: "order custom fields",
            known,
            account: ACCOUNT_PLACEHOLDER.to_owned(),
        }));
    };
    Ok(typed_custom_value(&key, value, field).map(Some))
}

/// Converts text to the JSON type Brightpearl expects for the field:
/// TEXT and TEXT_AREA a string, INTEGER a number, YES_NO a boolean, DATE a
/// date string, SELECT `{"id": n}` found by option id or option text.
pub fn typed_custom_value(key: &str, value: &str, field: &Value) -> Result<Value, SettingError> {
    let field_type = field
        .get("customFieldType")
        .and_then(Value::as_str)
        .unwrap_or("TEXT");
    match field_type {
        "INTEGER" => value
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid(key, value, "a whole number")),
        "YES_NO" => boolean(key, value).map(Value::from),
        "DATE" => chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map(|date| Value::from(date.format("%Y-%m-%d").to_string()))
            .map_err(|_| invalid(key, value, "a date as YYYY-MM-DD")),
        "SELECT" => select_option(key, value, field),
        _ => Ok(Value::from(value.to_owned())),
    }
}

fn select_option(key: &str, value: &str, field: &Value) -> Result<Value, SettingError> {
    let options: Vec<(i64, String)> = match field.get("options") {
        Some(Value::Object(map)) => map
            .values()
            .filter_map(|option| {
                Some((
                    option.get("id")?.as_i64()?,
                    option.get("value")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|option| {
                Some((
                    option.get("id")?.as_i64()?,
                    option.get("value")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    let wanted = value.trim();
    options
        .iter()
        .find(|(id, text)| id.to_string() == wanted || text.eq_ignore_ascii_case(wanted))
        .map(|(id, _)| serde_json::json!({ "id": id }))
        .ok_or_else(|| {
            let known = options
                .iter()
                .map(|(id, text)| format!("{id} ({text})"))
                .collect::<Vec<_>>()
                .join(", ");
            invalid(key, value, &format!("one of the options: {known}"))
        })
}

/// Parses an IANA time zone name such as `Europe/London`, ignoring the case
/// of ASCII letters, and returns its canonical spelling.
fn time_zone(value: &str) -> Result<String, SettingError> {
    let name = value.trim();
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|zone| zone.name().eq_ignore_ascii_case(name))
        .map(|zone| zone.name().to_owned())
        .ok_or_else(|| {
            invalid(
                "time_zone",
                value,
                "an IANA time zone name such as Europe/London, America/Chicago or UTC",
            )
        })
}

fn whole_number(
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
    unit: &str,
) -> Result<u32, SettingError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            let expected = format!(
                "a whole number of {unit} from {} to {}",
                range.start(),
                range.end()
            );
            invalid(key, value, &expected)
        })
}

/// Parses a Brightpearl id setting, which must be 1 or more, or `none`.
fn optional_integer(key: &str, value: &str) -> Result<Option<i64>, SettingError> {
    if is_none(value) {
        return Ok(None);
    }
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 1)
        .map(Some)
        .ok_or_else(|| {
            invalid(
                key,
                value,
                "a Brightpearl id (a whole number of 1 or more) or none",
            )
        })
}

fn boolean(key: &str, value: &str) -> Result<bool, SettingError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(invalid(key, value, "yes or no")),
    }
}

fn enum_value<T: serde::de::DeserializeOwned>(
    key: &str,
    value: &str,
    expected: &str,
) -> Result<T, SettingError> {
    serde_json::from_value(Value::from(value.trim().to_ascii_lowercase()))
        .map_err(|_| invalid(key, value, expected))
}

/// Checks the id of a default that every new sales order needs, such as
/// the channel: unlike other ids it cannot be `none`, which the portal's
/// defaults page does not allow either. The messages list the known ids.
async fn required_reference_id(
    store: &dyn Store,
    account: AccountId,
    key: &str,
    value: &str,
    kind: ReferenceKind,
    what: &'static str,
) -> Result<Result<i64, SettingError>, StoreError> {
    let plural = if what == "channel" {
        "channels"
    } else {
        "warehouses"
    };
    let id = match optional_integer(key, value) {
        Ok(Some(id)) => id,
        _ => {
            let known = match reference_items(store, account, kind).await? {
                Some(items) => list(&items, "id"),
                None => "none loaded yet: connect Brightpearl and run `pobridge refresh \
                         SLUG`"
                    .to_owned(),
            };
            let expected = format!(
                "the id of one of this Brightpearl account's {plural}, because every new \
                 sales order needs one (known: {known})"
            );
            return Ok(Err(invalid(key, value, &expected)));
        }
    };
    let checked = reference_id(store, account, key, value, kind, "id", plural).await?;
    Ok(checked.map(|checked_id| checked_id.unwrap_or(id)))
}

fn invalid(key: &str, value: &str, expected: &str) -> SettingError {
    SettingError::Invalid {
        key: key.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

fn not_loaded(key: &str, value: &str, what: &'static str) -> SettingError {
    SettingError::NotInBrightpearl {
        key: key.to_owned(),
        value: value.to_owned(),
        what,
        known: "(none loaded yet: connect Brightpearl and run `pobridge refresh SLUG`)".to_owned(),
        account: ACCOUNT_PLACEHOLDER.to_owned(),
    }
}

fn is_none(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "none" | "null"
    )
}

fn code_of(item: &Value) -> Option<String> {
    match item.get("code")? {
        Value::String(code) => Some(code.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn list(items: &[Value], field: &str) -> String {
    items
        .iter()
        .filter_map(|item| {
            let id = item.get(field)?.as_i64()?;
            let name = item.get("name").and_then(|name| match name {
                Value::String(text) => Some(text.clone()),
                Value::Object(map) => map.get("text").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            });
            Some(match name {
                Some(name) => format!("{id} ({name})"),
                None => id.to_string(),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Summarizes what changed between the synced revision and a new
/// one: header total, delivery address and each line by line number.
pub fn revision_diff(old: Option<&Value>, new: &Value) -> String {
    let (Some(old), Ok(new)) = (
        old.and_then(|old| serde_json::from_value::<pobridge_cxml::OrderRequest>(old.clone()).ok()),
        serde_json::from_value::<pobridge_cxml::OrderRequest>(new.clone()),
    ) else {
        return "the earlier revision is not available to compare".to_owned();
    };
    let mut changes = Vec::new();
    if old.header.total != new.header.total {
        changes.push(format!(
            "total {} → {}",
            money(old.header.total.as_ref()),
            money(new.header.total.as_ref())
        ));
    }
    if old.header.ship_to != new.header.ship_to {
        changes.push("ship-to address changed".to_owned());
    }
    let key = |item: &pobridge_cxml::ItemOut| crate::products::line_number(item);
    for item in &new.items {
        match old.items.iter().find(|previous| key(previous) == key(item)) {
            None => changes.push(format!(
                "line {} added ({} × {})",
                key(item),
                item.quantity,
                item.item_id.supplier_part_id.trim()
            )),
            Some(previous) => {
                if previous.quantity != item.quantity {
                    changes.push(format!(
                        "line {} quantity {} → {}",
                        key(item),
                        previous.quantity,
                        item.quantity
                    ));
                }
                let price = |item: &pobridge_cxml::ItemOut| {
                    item.detail.as_ref().map(|detail| detail.unit_price.clone())
                };
                if price(previous) != price(item) {
                    changes.push(format!(
                        "line {} unit price {} → {}",
                        key(item),
                        money(price(previous).as_ref()),
                        money(price(item).as_ref())
                    ));
                }
                if previous.item_id.supplier_part_id != item.item_id.supplier_part_id {
                    changes.push(format!(
                        "line {} part {} → {}",
                        key(item),
                        previous.item_id.supplier_part_id.trim(),
                        item.item_id.supplier_part_id.trim()
                    ));
                }
            }
        }
    }
    for previous in &old.items {
        if !new.items.iter().any(|item| key(item) == key(previous)) {
            changes.push(format!("line {} removed", key(previous)));
        }
    }
    if new.header.order_type == pobridge_cxml::OrderKind::Delete {
        changes.insert(0, "the buyer cancelled the order".to_owned());
    }
    if changes.is_empty() {
        "no change to lines, prices or addresses".to_owned()
    } else {
        changes.join("; ")
    }
}

fn money(value: Option<&pobridge_cxml::Money>) -> String {
    match value {
        Some(money) => format!("{} {}", money.amount, money.currency),
        None => "none".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_message_matches_choices() {
        let error = boolean("custom_fields.PCF_APPROVED", "maybe")
            .unwrap_err()
            .to_string();

        assert!(error.ends_with("is not valid: yes or no"), "{error}");
        assert!(boolean("x", "Yes").unwrap());
        assert!(!boolean("x", "false").unwrap());
    }

    #[test]
    fn brightpearl_ids_start_at_one() {
        for value in ["-5", "0", "1.5", "abc"] {
            let error = optional_integer("project_id", value)
                .unwrap_err()
                .to_string();
            assert!(error.contains("of 1 or more"), "{value}: {error}");
        }
        assert_eq!(optional_integer("project_id", "1").unwrap(), Some(1));
        assert_eq!(optional_integer("project_id", "none").unwrap(), None);
    }

    #[test]
    fn shipping_row_needs_nominal_code() {
        let mut settings = AccountSettings {
            shipping: ShippingTreatment::Row,
            shipping_nominal_code: None,
            ..AccountSettings::default()
        };

        let row = check_shipping(&settings, "shipping", "row").unwrap_err();
        let cleared = check_shipping(&settings, "shipping_nominal_code", "none").unwrap_err();
        assert!(
            row.to_string().contains("set shipping_nominal_code first"),
            "{row}"
        );
        assert!(cleared.to_string().contains("shipping is row"), "{cleared}");
        assert_eq!(check_shipping(&settings, "channel_id", "3"), Ok(()));

        settings.shipping_nominal_code = Some("4040".to_owned());
        assert_eq!(check_shipping(&settings, "shipping", "row"), Ok(()));
        settings.shipping = ShippingTreatment::Omit;
        settings.shipping_nominal_code = None;
        assert_eq!(
            check_shipping(&settings, "shipping_nominal_code", "none"),
            Ok(())
        );
    }
}
