//! Reference data read after connecting: channels, warehouses, price lists,
//! order statuses, tax codes, nominal codes and shipping methods. Each item
//! keeps its JSON in `raw` so the engine can store it as received.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::client::BrightpearlClient;
use crate::error::BrightpearlError;
use crate::transport::Call;

/// A sales channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub raw: Value,
}

/// A warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct Warehouse {
    pub id: i64,
    pub name: String,
    pub raw: Value,
}

/// A price list. Id 0 is the cost price list.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceList {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub currency_code: Option<String>,
    /// `SELL` or `BUY`.
    pub list_type: Option<String>,
    pub raw: Value,
}

/// An order status, such as 1 "Draft / Quote" of order type `SO`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderStatus {
    pub id: i64,
    pub name: String,
    /// `SO`, `PO`, `SC` or `PC`.
    pub order_type_code: Option<String>,
    pub raw: Value,
}

/// A tax code such as `T20`. Brightpearl leaves `rate` out for zero-rated
/// codes, so `None` means 0 %.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxCode {
    pub id: i64,
    pub code: String,
    pub description: Option<String>,
    /// Percent, such as 20 for 20 %.
    pub rate: Option<Decimal>,
    pub raw: Value,
}

/// A nominal (ledger) code such as `4000`.
#[derive(Debug, Clone, PartialEq)]
pub struct NominalCode {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub raw: Value,
}

/// A shipping method.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippingMethod {
    pub id: i64,
    pub name: String,
    pub raw: Value,
}

#[derive(Deserialize)]
struct IdName {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default)]
    name: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceListWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    code: Option<String>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default, deserialize_with = "crate::de::text")]
    currency_code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    price_list_type_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderStatusWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    status_id: Option<i64>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default, deserialize_with = "crate::de::text")]
    order_type_code: Option<String>,
}

#[derive(Deserialize)]
struct TaxCodeWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::de::decimal")]
    rate: Option<Decimal>,
}

#[derive(Deserialize)]
struct NominalCodeWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    code: Option<String>,
    #[serde(default)]
    name: Option<Value>,
}

/// Reads a display name that is either text or a `{"text": ...}` object,
/// as price-list names are.
pub(crate) fn display_name(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(map)) => map
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

impl BrightpearlClient {
    /// Returns every sales channel.
    pub async fn channels(&self) -> Result<Vec<Channel>, BrightpearlError> {
        self.list_with("product-service/channel/", |wire: IdName, raw| {
            Some(Channel {
                id: wire.id?,
                name: display_name(wire.name.as_ref()),
                raw,
            })
        })
        .await
    }

    /// Returns every warehouse.
    pub async fn warehouses(&self) -> Result<Vec<Warehouse>, BrightpearlError> {
        self.list_with("warehouse-service/warehouse", |wire: IdName, raw| {
            Some(Warehouse {
                id: wire.id?,
                name: display_name(wire.name.as_ref()),
                raw,
            })
        })
        .await
    }

    /// Returns every price list.
    pub async fn price_lists(&self) -> Result<Vec<PriceList>, BrightpearlError> {
        self.list_with("product-service/price-list/", |wire: PriceListWire, raw| {
            Some(PriceList {
                id: wire.id?,
                code: wire.code,
                name: display_name(wire.name.as_ref()),
                currency_code: wire.currency_code,
                list_type: wire.price_list_type_code,
                raw,
            })
        })
        .await
    }

    /// Returns every order status of every order type.
    pub async fn order_statuses(&self) -> Result<Vec<OrderStatus>, BrightpearlError> {
        self.list_with(
            "order-service/order-status/",
            |wire: OrderStatusWire, raw| {
                Some(OrderStatus {
                    id: wire.status_id?,
                    name: display_name(wire.name.as_ref()),
                    order_type_code: wire.order_type_code,
                    raw,
                })
            },
        )
        .await
    }

    /// Returns every tax code.
    pub async fn tax_codes(&self) -> Result<Vec<TaxCode>, BrightpearlError> {
        self.list_with("accounting-service/tax-code/", |wire: TaxCodeWire, raw| {
            Some(TaxCode {
                id: wire.id?,
                code: wire.code?,
                description: wire.description,
                rate: wire.rate,
                raw,
            })
        })
        .await
    }

    /// Returns every nominal code.
    pub async fn nominal_codes(&self) -> Result<Vec<NominalCode>, BrightpearlError> {
        self.list_with(
            "accounting-service/nominal-code/",
            |wire: NominalCodeWire, raw| {
                Some(NominalCode {
                    id: wire.id?,
                    code: wire.code?,
                    name: display_name(wire.name.as_ref()),
                    raw,
                })
            },
        )
        .await
    }

    /// Returns every shipping method.
    pub async fn shipping_methods(&self) -> Result<Vec<ShippingMethod>, BrightpearlError> {
        self.list_with("warehouse-service/shipping-method/", |wire: IdName, raw| {
            Some(ShippingMethod {
                id: wire.id?,
                name: display_name(wire.name.as_ref()),
                raw,
            })
        })
        .await
    }

    /// GETs a whole reference list and turns each item into `T` with
    /// `convert`, which gets the decoded item and its JSON and returns
    /// `None` to skip an item without an id.
    async fn list_with<W: DeserializeOwned, T>(
        &self,
        path: &str,
        convert: impl Fn(W, Value) -> Option<T>,
    ) -> Result<Vec<T>, BrightpearlError> {
        let items = self.list::<W>(path).await?;
        Ok(items
            .into_iter()
            .filter_map(|(wire, raw)| convert(wire, raw))
            .collect())
    }

    /// GETs a whole reference list and decodes its items, keeping each
    /// item's JSON. Items without an id are skipped by the callers.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<(T, Value)>, BrightpearlError> {
        let call = Call::get(path);
        let body = self.send(&call).await?;
        crate::envelope::decode_items(&body).map_err(|error| error.with_request(call.name()))
    }
}
