//! An account's reference data: settings, countries, currencies, channels,
//! warehouses, price lists, order statuses, tax and nominal codes, shipping
//! methods and custom-field metadata.

use chrono::FixedOffset;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Account-wide settings that decide defaults on new orders.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Settings {
    pub utc_offset: String,
    pub accounting_currency_code: String,
    pub api_user_contact_id: u64,
    pub default_sales_order_status_id: u64,
    pub default_purchase_order_status_id: u64,
    pub default_sales_credit_status_id: u64,
    pub default_purchase_credit_status_id: u64,
    pub default_warehouse_id: u64,
    pub default_sales_price_list_id: u64,
    pub default_cost_price_list_id: u64,
    pub default_sales_nominal_code: String,
    pub cancelled_status_ids: Vec<u64>,
    pub invoice_number_start: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Country {
    pub id: u64,
    pub name: String,
    pub iso2: String,
    pub iso3: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Currency {
    pub id: u64,
    pub code: String,
    /// Units of this currency per unit of the accounting currency.
    pub exchange_rate: Decimal,
}

#[derive(Debug, Clone)]
pub(crate) struct PriceList {
    pub id: u64,
    pub currency_code: String,
    pub price_list_type_code: String,
    pub json: Value,
}

impl PriceList {
    pub fn from_json(json: Value) -> Option<Self> {
        Some(Self {
            id: json.get("id")?.as_u64()?,
            currency_code: json.get("currencyCode")?.as_str()?.to_owned(),
            price_list_type_code: json.get("priceListTypeCode")?.as_str()?.to_owned(),
            json,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct OrderStatus {
    pub status_id: u64,
    pub name: String,
    pub order_type_code: String,
    pub disabled: bool,
    pub json: Value,
}

impl OrderStatus {
    pub fn from_json(json: Value) -> Option<Self> {
        Some(Self {
            status_id: json.get("statusId")?.as_u64()?,
            name: json.get("name")?.as_str()?.to_owned(),
            order_type_code: json.get("orderTypeCode")?.as_str()?.to_owned(),
            disabled: json
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            json,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaxCode {
    pub id: u64,
    pub code: String,
    pub description: String,
    /// Absent for zero-rated and exempt codes, as Brightpearl omits it.
    pub rate: Option<Decimal>,
}

impl TaxCode {
    /// The Tax Code GET item: `rate` is a JSON number and absent when zero.
    pub fn to_json(&self) -> Value {
        let mut item = json!({ "id": self.id, "code": self.code, "description": self.description });
        if let Some(rate) = self.rate.filter(|r| !r.is_zero()) {
            item["rate"] = decimal_number(rate.round_dp(4));
        }
        item
    }

    pub fn rate_or_zero(&self) -> Decimal {
        self.rate.unwrap_or_default()
    }
}

/// A decimal written as a JSON number with its scale kept (`10.0000`).
pub(crate) fn decimal_number(value: Decimal) -> Value {
    serde_json::from_str(&value.to_string()).unwrap_or(Value::Null)
}

/// The custom-field types Brightpearl knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CustomFieldType {
    Text,
    TextArea,
    Integer,
    Date,
    YesNo,
    Select,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomFieldMeta {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub custom_field_type: CustomFieldType,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
}

impl CustomFieldMeta {
    /// The option value text for a SELECT option id.
    pub fn option_value(&self, option_id: u64) -> Option<String> {
        let options = self.options.as_ref()?;
        let option = options.get(&option_id.to_string())?;
        option.get("value")?.as_str().map(str::to_owned)
    }
}

/// All reference data of one account.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    pub settings: Settings,
    pub offset: FixedOffset,
    pub countries: Vec<Country>,
    pub currencies: Vec<Currency>,
    pub channels: Vec<Value>,
    pub warehouses: Vec<Value>,
    pub price_lists: Vec<PriceList>,
    pub order_types: Vec<Value>,
    pub order_statuses: Vec<OrderStatus>,
    pub order_stock_statuses: Vec<Value>,
    pub order_shipping_statuses: Vec<Value>,
    pub order_payment_statuses: Vec<Value>,
    pub tax_codes: Vec<TaxCode>,
    pub nominal_codes: Vec<Value>,
    pub shipping_methods: Vec<Value>,
    pub sale_custom_fields: Vec<CustomFieldMeta>,
    pub purchase_custom_fields: Vec<CustomFieldMeta>,
}

/// Reads `key` of a reference item as an id.
pub(crate) fn id_of(item: &Value, key: &str) -> Option<u64> {
    item.get(key).and_then(Value::as_u64)
}

impl Catalogue {
    pub fn tax_code(&self, code: &str) -> Option<&TaxCode> {
        self.tax_codes.iter().find(|t| t.code == code)
    }

    pub fn country(&self, code: &str) -> Option<&Country> {
        let code = code.trim();
        self.countries
            .iter()
            .find(|c| c.iso2.eq_ignore_ascii_case(code) || c.iso3.eq_ignore_ascii_case(code))
    }

    pub fn country_by_id(&self, id: u64) -> Option<&Country> {
        self.countries.iter().find(|c| c.id == id)
    }

    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.currencies
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code))
    }

    pub fn price_list(&self, id: u64) -> Option<&PriceList> {
        self.price_lists.iter().find(|p| p.id == id)
    }

    pub fn order_status(&self, id: u64) -> Option<&OrderStatus> {
        self.order_statuses.iter().find(|s| s.status_id == id)
    }

    pub fn has_channel(&self, id: u64) -> bool {
        self.channels.iter().any(|c| id_of(c, "id") == Some(id))
    }

    pub fn has_warehouse(&self, id: u64) -> bool {
        self.warehouses.iter().any(|w| id_of(w, "id") == Some(id))
    }

    pub fn has_shipping_method(&self, id: u64) -> bool {
        self.shipping_methods
            .iter()
            .any(|m| id_of(m, "id") == Some(id))
    }

    /// Custom-field metadata for an order type: sales orders and credits use
    /// the `sale` set, purchase orders and credits the `purchase` set.
    pub fn order_custom_fields(&self, order_type_code: &str) -> &[CustomFieldMeta] {
        match order_type_code {
            "PO" | "PC" => &self.purchase_custom_fields,
            _ => &self.sale_custom_fields,
        }
    }

    /// The name lookup for a code list item, by its `code` field.
    pub fn code_list_id(list: &[Value], code: &str) -> Option<u64> {
        list.iter()
            .find(|item| item.get("code").and_then(Value::as_str) == Some(code))
            .and_then(|item| id_of(item, "id"))
    }
}
