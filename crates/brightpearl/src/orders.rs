//! Reading orders: Order GET by id and order-search by reference.
//!
//! The invoice signal is `invoices[0].invoiceReference`: `""` before
//! invoicing, `"pending"` while a close runs, then the real number. The
//! order status is a user-set label and does not show whether the order
//! was invoiced.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::client::BrightpearlClient;
use crate::error::{BrightpearlError, ErrorKind};
use crate::sales_order::Address;
use crate::search::SearchRequest;

/// An order found by order-search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef {
    pub id: i64,
    /// 1 sales order, 2 purchase order, 3 sales credit, 4 purchase credit.
    pub order_type_id: Option<i64>,
    pub customer_ref: Option<String>,
    pub external_ref: Option<String>,
}

/// An order's current status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusRef {
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// One entry of an order's `invoices`. Brightpearl lists one even before
/// invoicing, with provisional dates and an empty reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub invoice_reference: String,
    /// Local midnight in the account's time zone; take the date part as is.
    pub tax_date: Option<DateTime<FixedOffset>>,
    pub due_date: Option<DateTime<FixedOffset>>,
}

impl Invoice {
    /// True once the reference is a real invoice number: neither empty nor
    /// the `pending` placeholder of a running close.
    pub fn is_issued(&self) -> bool {
        let reference = self.invoice_reference.trim();
        !reference.is_empty() && !reference.eq_ignore_ascii_case("pending")
    }
}

/// Order totals in the order currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderTotal {
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub total: Option<Decimal>,
}

/// One order row. Money values are row totals in the order currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: i64,
    pub sequence: Option<i64>,
    pub product_id: Option<i64>,
    /// The SKU as it was when the order was placed.
    pub sku: Option<String>,
    pub name: Option<String>,
    pub quantity: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub tax_code: Option<String>,
    /// Percent, such as 10 for 10 %.
    pub tax_rate: Option<Decimal>,
    pub nominal_code: Option<String>,
    pub external_ref: Option<String>,
    pub bundle_parent: bool,
    pub bundle_child: bool,
    pub parent_row_id: Option<i64>,
    pub cloned_from_id: Option<i64>,
}

/// An order as read by Order GET. Rows are sorted by their sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: i64,
    pub parent_order_id: Option<i64>,
    /// `SO`, `PO`, `SC` or `PC`.
    pub order_type_code: Option<String>,
    /// The customer reference (`ref` on Sales Order POST).
    pub reference: Option<String>,
    /// Increments on every change.
    pub version: Option<i64>,
    pub status: StatusRef,
    /// `state.tax`, such as `INVOICED` once invoiced.
    pub state_tax: Option<String>,
    pub invoices: Vec<Invoice>,
    pub placed_on: Option<DateTime<FixedOffset>>,
    pub created_on: Option<DateTime<FixedOffset>>,
    pub updated_on: Option<DateTime<FixedOffset>>,
    pub closed_on: Option<DateTime<FixedOffset>>,
    pub currency_code: Option<String>,
    pub total_value: OrderTotal,
    /// `ASS` once all stock has shipped.
    pub shipping_status_code: Option<String>,
    pub delivery_address: Option<Address>,
    pub rows: Vec<OrderRow>,
    /// Custom field values by code, such as `PCF_COUPAPO`.
    pub custom_fields: BTreeMap<String, Value>,
    pub raw: Value,
}

impl Order {
    /// Returns the first issued invoice, if the order has been invoiced.
    pub fn issued_invoice(&self) -> Option<&Invoice> {
        self.invoices.iter().find(|invoice| invoice.is_issued())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::int")]
    parent_order_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    order_type_code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    reference: Option<String>,
    #[serde(default, deserialize_with = "crate::de::int")]
    version: Option<i64>,
    #[serde(default)]
    order_status: Value,
    #[serde(default)]
    state: Value,
    #[serde(default)]
    invoices: Vec<Value>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    placed_on: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    created_on: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    updated_on: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "crate::de::timestamp")]
    closed_on: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    currency: Value,
    #[serde(default)]
    total_value: TotalWire,
    #[serde(default, deserialize_with = "crate::de::text")]
    shipping_status_code: Option<String>,
    #[serde(default)]
    parties: Value,
    #[serde(default)]
    order_rows: BTreeMap<String, RowWire>,
    #[serde(default)]
    custom_fields: BTreeMap<String, Value>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TotalWire {
    #[serde(default, deserialize_with = "crate::de::decimal")]
    net: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::de::decimal")]
    tax_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "crate::de::decimal")]
    total: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RowWire {
    #[serde(default, deserialize_with = "crate::de::int")]
    order_row_sequence: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::int")]
    product_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::text")]
    product_name: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    product_sku: Option<String>,
    #[serde(default)]
    quantity: Magnitude,
    #[serde(default)]
    row_value: RowValue,
    #[serde(default, deserialize_with = "crate::de::text")]
    nominal_code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::text")]
    external_ref: Option<String>,
    #[serde(default)]
    composition: Composition,
    #[serde(default, deserialize_with = "crate::de::int")]
    cloned_from_id: Option<i64>,
}

#[derive(Default, Deserialize)]
struct Magnitude {
    #[serde(default, deserialize_with = "crate::de::decimal")]
    magnitude: Option<Decimal>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RowValue {
    #[serde(default, deserialize_with = "crate::de::text")]
    tax_code: Option<String>,
    #[serde(default, deserialize_with = "crate::de::decimal")]
    tax_rate: Option<Decimal>,
    #[serde(default)]
    row_net: Amount,
    #[serde(default)]
    row_tax: Amount,
}

#[derive(Default, Deserialize)]
struct Amount {
    #[serde(default, deserialize_with = "crate::de::decimal")]
    value: Option<Decimal>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Composition {
    #[serde(default, deserialize_with = "crate::de::flag")]
    bundle_parent: Option<bool>,
    #[serde(default, deserialize_with = "crate::de::flag")]
    bundle_child: Option<bool>,
    #[serde(default, deserialize_with = "crate::de::int")]
    parent_order_row_id: Option<i64>,
}

/// Brightpearl writes 0 for "no parent", "no product" and "not cloned".
fn non_zero(id: Option<i64>) -> Option<i64> {
    id.filter(|id| *id != 0)
}

impl RowWire {
    fn into_row(self, key: &str) -> Option<OrderRow> {
        Some(OrderRow {
            id: key.trim().parse().ok()?,
            sequence: self.order_row_sequence,
            product_id: non_zero(self.product_id),
            sku: self.product_sku,
            name: self.product_name,
            quantity: self.quantity.magnitude.unwrap_or_default(),
            net: self.row_value.row_net.value.unwrap_or_default(),
            tax: self.row_value.row_tax.value.unwrap_or_default(),
            tax_code: self.row_value.tax_code,
            tax_rate: self.row_value.tax_rate,
            nominal_code: self.nominal_code,
            external_ref: self.external_ref,
            bundle_parent: self.composition.bundle_parent.unwrap_or(false),
            bundle_child: self.composition.bundle_child.unwrap_or(false),
            parent_row_id: non_zero(self.composition.parent_order_row_id),
            cloned_from_id: non_zero(self.cloned_from_id),
        })
    }
}

fn invoice(value: &Value) -> Invoice {
    Invoice {
        invoice_reference: crate::de::text_value(&value["invoiceReference"]).unwrap_or_default(),
        tax_date: crate::de::timestamp_value(&value["taxDate"]),
        due_date: crate::de::timestamp_value(&value["dueDate"]),
    }
}

fn party_address(party: &Value) -> Option<Address> {
    let text = |key: &str| crate::de::text_value(&party[key]);
    let address = Address {
        address_full_name: text("addressFullName"),
        company_name: text("companyName"),
        address_line1: text("addressLine1"),
        address_line2: text("addressLine2"),
        address_line3: text("addressLine3"),
        address_line4: text("addressLine4"),
        postal_code: text("postalCode"),
        country_iso_code: text("countryIsoCode"),
        telephone: text("telephone"),
        mobile_telephone: text("mobileTelephone"),
        fax: text("fax"),
        email: text("email"),
    };
    (address != Address::default()).then_some(address)
}

impl OrderWire {
    fn into_order(self, raw: Value) -> Option<Order> {
        let mut rows: Vec<OrderRow> = self
            .order_rows
            .into_iter()
            .filter_map(|(key, row)| row.into_row(&key))
            .collect();
        rows.sort_by_key(|row| (row.sequence.unwrap_or(i64::MAX), row.id));
        Some(Order {
            id: self.id?,
            parent_order_id: non_zero(self.parent_order_id),
            order_type_code: self.order_type_code,
            reference: self.reference,
            version: self.version,
            status: StatusRef {
                id: crate::de::int_value(&self.order_status["orderStatusId"]),
                name: crate::de::text_value(&self.order_status["name"]),
            },
            state_tax: crate::de::text_value(&self.state["tax"]),
            invoices: self.invoices.iter().map(invoice).collect(),
            placed_on: self.placed_on,
            created_on: self.created_on,
            updated_on: self.updated_on,
            closed_on: self.closed_on,
            currency_code: crate::de::text_value(&self.currency["orderCurrencyCode"]),
            total_value: OrderTotal {
                net: self.total_value.net,
                tax: self.total_value.tax_amount,
                total: self.total_value.total,
            },
            shipping_status_code: self.shipping_status_code,
            delivery_address: party_address(&self.parties["delivery"]),
            rows,
            custom_fields: self.custom_fields,
            raw,
        })
    }
}

impl BrightpearlClient {
    /// Reads orders by id with their custom fields, sorted by id. Ids that
    /// do not exist are left out.
    pub async fn get_orders(&self, ids: &[i64]) -> Result<Vec<Order>, BrightpearlError> {
        let items = self
            .get_many::<OrderWire>(
                "order-service/order",
                ids,
                &[("includeOptional", "customFields")],
            )
            .await?;
        let mut orders: Vec<Order> = items
            .into_iter()
            .filter_map(|(wire, raw)| wire.into_order(raw))
            .collect();
        orders.sort_by_key(|order| order.id);
        orders.dedup_by_key(|order| order.id);
        Ok(orders)
    }

    /// Finds the ids of orders whose `externalRef` equals `external_ref`
    /// exactly and, when given, whose `installedIntegrationInstanceId` equals
    /// `installation_instance_id`. Used after an ambiguous Sales Order POST.
    pub async fn find_orders_by_external_ref(
        &self,
        external_ref: &str,
        installation_instance_id: Option<&str>,
    ) -> Result<Vec<i64>, BrightpearlError> {
        if external_ref.trim().is_empty() {
            return Ok(Vec::new());
        }
        let instance = installation_instance_id
            .map(|text| {
                text.trim().parse::<i64>().map_err(|_| {
                    BrightpearlError::new(
                        ErrorKind::Other,
                        format!("installation instance id {text:?} is not a number"),
                    )
                })
            })
            .transpose()?;
        let mut request = SearchRequest::new("order-service/order-search", "orderId")
            .text("externalRef", external_ref);
        if let Some(instance) = instance {
            request = request.integer("installedIntegrationInstanceId", instance);
        }

        let results = self.search(&request).await?;
        Ok(results
            .rows
            .iter()
            .filter(|row| row.text("externalRef").as_deref() == Some(external_ref))
            .filter(|row| {
                instance.is_none_or(|id| row.integer("installedIntegrationInstanceId") == Some(id))
            })
            .filter_map(|row| row.integer("orderId"))
            .collect())
    }

    /// Finds orders of any type and installation whose customer reference
    /// equals `reference` exactly.
    pub async fn find_orders_by_customer_ref(
        &self,
        reference: &str,
    ) -> Result<Vec<OrderRef>, BrightpearlError> {
        if reference.trim().is_empty() {
            return Ok(Vec::new());
        }
        let request = SearchRequest::new("order-service/order-search", "orderId")
            .text("customerRef", reference);
        let results = self.search(&request).await?;
        Ok(results
            .rows
            .iter()
            .filter(|row| row.text("customerRef").as_deref() == Some(reference))
            .filter_map(|row| {
                Some(OrderRef {
                    id: row.integer("orderId")?,
                    order_type_id: row.integer("orderTypeId"),
                    customer_ref: row.text("customerRef"),
                    external_ref: row.text("externalRef"),
                })
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "orders_tests.rs"]
mod tests;
