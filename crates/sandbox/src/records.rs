//! Products, contacts and postal addresses as an account stores them.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::catalogue::{Catalogue, Country};

/// A product in the Product GET shape plus what the sandbox keeps beside it.
#[derive(Debug, Clone)]
pub(crate) struct StoredProduct {
    /// The Product GET item without `customFields`.
    pub json: Value,
    pub custom_fields: Map<String, Value>,
    pub primary_supplier_id: Option<u64>,
    pub channel_ids: Vec<u64>,
    /// Price per price list id, for the first quantity break.
    pub prices: BTreeMap<u64, Decimal>,
    /// Units on hand per warehouse id.
    pub on_hand: BTreeMap<u64, i64>,
}

impl StoredProduct {
    pub fn id(&self) -> u64 {
        self.json.get("id").and_then(Value::as_u64).unwrap_or(0)
    }

    pub fn name(&self) -> String {
        self.json
            .pointer("/salesChannels/0/productName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    pub fn sku(&self) -> Option<String> {
        self.json
            .pointer("/identity/sku")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    pub fn stock_tracked(&self) -> bool {
        self.json
            .pointer("/stock/stockTracked")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn nominal_code_sales(&self) -> Option<String> {
        self.json
            .get("nominalCodeSales")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The Product GET item, with `customFields` when asked for.
    pub fn to_json(&self, with_custom_fields: bool) -> Value {
        let mut item = self.json.clone();
        if with_custom_fields {
            item["customFields"] = Value::Object(self.custom_fields.clone());
        }
        item
    }
}

/// A contact in the Contact GET shape plus what the sandbox keeps beside it.
#[derive(Debug, Clone)]
pub(crate) struct StoredContact {
    pub json: Value,
    /// Contact GET has no customer flag, but contact-search filters on one.
    pub is_customer: bool,
    pub custom_fields: Map<String, Value>,
}

impl StoredContact {
    pub fn id(&self) -> u64 {
        self.json
            .get("contactId")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    pub fn text(&self, pointer: &str) -> String {
        self.json
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    pub fn address_id(&self, kind: &str) -> Option<u64> {
        self.json
            .pointer(&format!("/postAddressIds/{kind}"))
            .and_then(Value::as_u64)
    }

    pub fn full_name(&self) -> String {
        let first = self.text("/firstName");
        let last = self.text("/lastName");
        format!("{first} {last}").trim().to_owned()
    }
}

/// A postal address.
#[derive(Debug, Clone)]
pub(crate) struct PostalAddress {
    pub id: u64,
    pub lines: [String; 4],
    pub postal_code: String,
    pub country: Option<Country>,
}

impl PostalAddress {
    /// Builds an address from a Postal Address POST body: `addressLine1` is
    /// required and the country is a 2- or 3-letter ISO code or a
    /// `countryId`.
    pub fn from_post(id: u64, body: &Value, catalogue: &Catalogue) -> Result<Self, String> {
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let line1 = text("addressLine1");
        if line1.trim().is_empty() {
            return Err("addressLine1 is required".to_owned());
        }
        let country = match (
            body.get("countryIsoCode").and_then(Value::as_str),
            body.get("countryId").and_then(Value::as_u64),
        ) {
            (Some(code), _) => Some(
                catalogue
                    .country(code)
                    .cloned()
                    .ok_or_else(|| format!("countryIsoCode {code:?} is not a known country"))?,
            ),
            (None, Some(id)) => Some(
                catalogue
                    .country_by_id(id)
                    .cloned()
                    .ok_or_else(|| format!("countryId {id} is not a known country"))?,
            ),
            (None, None) => None,
        };
        Ok(Self {
            id,
            lines: [
                line1,
                text("addressLine2"),
                text("addressLine3"),
                text("addressLine4"),
            ],
            postal_code: text("postalCode"),
            country,
        })
    }

    /// The Postal Address GET item.
    pub fn to_json(&self) -> Value {
        let mut item = json!({
            "addressId": self.id,
            "addressLine1": self.lines[0],
            "addressLine2": self.lines[1],
            "addressLine3": self.lines[2],
            "addressLine4": self.lines[3],
            "postalCode": self.postal_code,
        });
        if let Some(country) = &self.country {
            item["countryId"] = json!(country.id);
            item["countryIsoCode"] = json!(country.iso3);
        }
        item
    }
}
