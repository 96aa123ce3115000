//! Creating a sales order with Brightpearl's Sales Order POST, which is
//! atomic and de-duplicates on (`externalRef`, `installedIntegrationInstanceId`).
//!
//! Optional fields are left out rather than sent as `null` or `{}`, which
//! Brightpearl rejects on some resources. Money and quantities are decimal
//! strings with at most 4 decimal places, and zero amounts are always sent.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};

use reqwest::Method;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::multi_message::{Message, Sent, MAX_MESSAGES};
use crate::transport::Call;

const SALES_ORDER_PATH: &str = "order-service/sales-order";

/// Reads the new id from one create's reply. A reply without one (a
/// repeated create can be answered with an empty 200) leaves the outcome
/// unknown.
fn created_id(reply: Result<serde_json::Value, BrightpearlError>) -> Result<i64, BrightpearlError> {
    let body = reply?;
    crate::envelope::new_id(&body).ok_or_else(|| {
        BrightpearlError::new(
            ErrorKind::Ambiguous,
            "the reply carries no new id, so the outcome is unknown; search before sending again",
        )
        .with_request(format!("POST {SALES_ORDER_PATH} (multi-message item)"))
    })
}

/// A sales order to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SalesOrder {
    /// The customer's contact id.
    pub customer_id: i64,
    /// The customer reference (`ref`): the Coupa PO number.
    pub reference: String,
    /// Half of Brightpearl's de-duplication key: a stable id of the PO version.
    pub external_ref: String,
    /// The other half of the key. When `None`, the connection's
    /// `installation_instance_id` is sent.
    pub installed_integration_instance_id: Option<i64>,
    /// ISO 8601 text, such as `2024-06-03T14:05:00+00:00` or `2024-06-03`.
    pub placed_on: Option<String>,
    pub channel_id: Option<i64>,
    pub warehouse_id: Option<i64>,
    pub status_id: Option<i64>,
    pub price_list_id: Option<i64>,
    /// `EXC` when row values exclude tax, `INC` when they include it.
    pub price_mode_code: Option<String>,
    pub staff_owner_id: Option<i64>,
    pub project_id: Option<i64>,
    pub lead_source_id: Option<i64>,
    /// ISO 4217 code, such as `USD`.
    pub currency_code: String,
    pub delivery: Option<SalesOrderDelivery>,
    pub rows: Vec<SalesOrderRow>,
}

/// Delivery details of a sales order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalesOrderDelivery {
    /// ISO 8601 text, such as `2024-06-10T00:00:00+00:00` or `2024-06-10`.
    pub date: Option<String>,
    pub address: Option<Address>,
    pub shipping_method_id: Option<i64>,
}

/// An address on an order, as written and as read. Blank fields are left
/// out when sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub address_full_name: Option<String>,
    pub company_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    /// By convention the town.
    pub address_line3: Option<String>,
    /// By convention the county or state.
    pub address_line4: Option<String>,
    pub postal_code: Option<String>,
    /// Two- or three-letter ISO 3166 code.
    pub country_iso_code: Option<String>,
    pub telephone: Option<String>,
    pub mobile_telephone: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
}

/// One sales-order row. `net` and `tax` are row totals, not unit prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SalesOrderRow {
    /// `None` for a free-text row, which then needs a `name`.
    pub product_id: Option<i64>,
    pub name: String,
    pub quantity: Decimal,
    /// The tax code string, such as `T20` (not its id).
    pub tax_code: String,
    pub net: Decimal,
    pub tax: Decimal,
    pub nominal_code: Option<String>,
    /// The Coupa line number, so the row can be matched back.
    pub external_ref: Option<String>,
    pub sequence: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SalesOrderBody<'a> {
    customer: CustomerRef,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    installed_integration_instance_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    placed_on: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warehouse_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_list_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_mode_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    staff_owner_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_source_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<CurrencyBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<DeliveryBody<'a>>,
    rows: Vec<RowBody<'a>>,
}

#[derive(Serialize)]
struct CustomerRef {
    id: i64,
}

#[derive(Serialize)]
struct CurrencyBody<'a> {
    code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<AddressBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_method_id: Option<i64>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AddressBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    address_full_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line3: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line4: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_iso_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telephone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile_telephone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(serialize_with = "decimal_text")]
    quantity: Decimal,
    tax_code: &'a str,
    #[serde(serialize_with = "decimal_text")]
    net: Decimal,
    #[serde(serialize_with = "decimal_text")]
    tax: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    nominal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u32>,
}

/// Writes a decimal as text with at most 4 decimal places, rounding half
/// away from zero; the scale the caller chose is kept otherwise.
fn decimal_text<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let rounded = value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    serializer.serialize_str(&rounded.to_string())
}

fn blank_to_none(value: &Option<String>) -> Option<&str> {
    value.as_deref().and_then(blank)
}

/// Trims the text, returning `None` when it is blank.
fn blank(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|text| !text.is_empty())
}

impl Address {
    fn body(&self) -> Option<AddressBody<'_>> {
        let body = AddressBody {
            address_full_name: blank_to_none(&self.address_full_name),
            company_name: blank_to_none(&self.company_name),
            address_line1: blank_to_none(&self.address_line1),
            address_line2: blank_to_none(&self.address_line2),
            address_line3: blank_to_none(&self.address_line3),
            address_line4: blank_to_none(&self.address_line4),
            postal_code: blank_to_none(&self.postal_code),
            country_iso_code: blank_to_none(&self.country_iso_code),
            telephone: blank_to_none(&self.telephone),
            mobile_telephone: blank_to_none(&self.mobile_telephone),
            fax: blank_to_none(&self.fax),
            email: blank_to_none(&self.email),
        };
        let empty = serde_json::to_value(&body).is_ok_and(|value| value == serde_json::json!({}));
        (!empty).then_some(body)
    }
}

impl SalesOrderDelivery {
    fn body(&self) -> Option<DeliveryBody<'_>> {
        let body = DeliveryBody {
            date: blank_to_none(&self.date),
            address: self.address.as_ref().and_then(Address::body),
            shipping_method_id: self.shipping_method_id,
        };
        let empty =
            body.date.is_none() && body.address.is_none() && body.shipping_method_id.is_none();
        (!empty).then_some(body)
    }
}

impl SalesOrderRow {
    fn body(&self) -> RowBody<'_> {
        RowBody {
            product_id: self.product_id,
            name: Some(self.name.trim()).filter(|name| !name.is_empty()),
            quantity: self.quantity,
            tax_code: self.tax_code.trim(),
            net: self.net,
            tax: self.tax,
            nominal_code: blank_to_none(&self.nominal_code),
            external_ref: blank_to_none(&self.external_ref),
            sequence: self.sequence,
        }
    }
}

impl SalesOrder {
    /// Builds the Sales Order POST body. `instance_id` fills in a missing
    /// `installed_integration_instance_id`.
    pub(crate) fn body(&self, instance_id: Option<i64>) -> serde_json::Value {
        let body = SalesOrderBody {
            customer: CustomerRef {
                id: self.customer_id,
            },
            reference: blank(&self.reference),
            external_ref: blank(&self.external_ref),
            installed_integration_instance_id: self
                .installed_integration_instance_id
                .or(instance_id),
            placed_on: blank_to_none(&self.placed_on),
            channel_id: self.channel_id,
            warehouse_id: self.warehouse_id,
            status_id: self.status_id,
            price_list_id: self.price_list_id,
            price_mode_code: blank_to_none(&self.price_mode_code),
            staff_owner_id: self.staff_owner_id,
            project_id: self.project_id,
            lead_source_id: self.lead_source_id,
            currency: blank(&self.currency_code).map(|code| CurrencyBody { code }),
            delivery: self.delivery.as_ref().and_then(SalesOrderDelivery::body),
            rows: self.rows.iter().map(SalesOrderRow::body).collect(),
        };
        // `to_value` fails only on maps with non-string keys, and these structs
        // contain no maps.
        serde_json::to_value(body).unwrap_or_default()
    }
}

impl BrightpearlClient {
    /// Creates a sales order and returns its id. When the outcome is
    /// unknown (a timeout or dropped connection after sending, a 5xx, or a
    /// reply without an id) the error kind is `Ambiguous`: search with
    /// [`BrightpearlClient::find_orders_by_external_ref`] before posting again.
    pub async fn create_sales_order(&self, order: &SalesOrder) -> Result<i64, BrightpearlError> {
        let call = Call::post(SALES_ORDER_PATH, self.sales_order_body(order)?);
        self.create(&call).await
    }

    /// Creates sales orders, up to ten to a multi-message, and returns each
    /// order's id or error in the order given. A lone order (or the last
    /// one of eleven) goes out as a plain Sales Order POST.
    ///
    /// The errors are those of [`BrightpearlClient::create_sales_order`]:
    /// `Validation` when Brightpearl rejected that order, `Ambiguous` when
    /// its outcome is unknown. When the reply to a multi-message is lost,
    /// every order in it is `Ambiguous`. When Brightpearl rejects a
    /// multi-message as a whole, none of it was carried out and its orders
    /// are sent one by one.
    pub async fn create_sales_orders(
        &self,
        orders: &[SalesOrder],
    ) -> Vec<Result<i64, BrightpearlError>> {
        let mut results = Vec::with_capacity(orders.len());
        for chunk in orders.chunks(MAX_MESSAGES) {
            results.extend(self.create_sales_order_chunk(chunk).await);
        }
        results
    }

    async fn create_sales_order_chunk(
        &self,
        orders: &[SalesOrder],
    ) -> Vec<Result<i64, BrightpearlError>> {
        if let [order] = orders {
            return vec![self.create_sales_order(order).await];
        }
        let messages = orders
            .iter()
            .map(|order| {
                self.sales_order_body(order).map(|body| Message {
                    method: Method::POST,
                    path: SALES_ORDER_PATH.to_owned(),
                    body,
                })
            })
            .collect::<Result<Vec<_>, _>>();
        let messages = match messages {
            Ok(messages) => messages,
            Err(error) => return orders.iter().map(|_| Err(error.clone())).collect(),
        };
        match self.send_multi_message(&messages).await {
            Sent::Items(items) => items.into_iter().map(created_id).collect(),
            Sent::Rejected(error) => {
                tracing::warn!(
                    orders = orders.len(),
                    error = %error,
                    "Brightpearl rejected a multi-message of sales orders; sending them one by one"
                );
                let mut results = Vec::with_capacity(orders.len());
                for order in orders {
                    results.push(self.create_sales_order(order).await);
                }
                results
            }
        }
    }

    fn sales_order_body(&self, order: &SalesOrder) -> Result<serde_json::Value, BrightpearlError> {
        let instance_id = match order.installed_integration_instance_id {
            Some(id) => Some(id),
            None => self.installation_instance_id()?,
        };
        Ok(order.body(instance_id))
    }

    /// Parses the connection's `installation_instance_id` into the number
    /// Brightpearl expects in `installedIntegrationInstanceId`.
    pub(crate) fn installation_instance_id(&self) -> Result<Option<i64>, BrightpearlError> {
        let connection = self.connection();
        let Some(text) = connection.installation_instance_id.as_deref() else {
            return Ok(None);
        };
        text.trim().parse().map(Some).map_err(|_| {
            BrightpearlError::new(
                ErrorKind::Other,
                format!("the connection's installation_instance_id {text:?} is not a number; reconnect the account"),
            )
        })
    }
}

#[cfg(test)]
#[path = "sales_order_tests.rs"]
mod tests;
