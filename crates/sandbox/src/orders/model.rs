//! Orders as the sandbox stores them, and their Order GET and Sales Order
//! GET shapes.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

use crate::catalogue::{Catalogue, Country};
use crate::time::format_api;

/// An address on an order party.
#[derive(Debug, Clone, Default)]
pub(crate) struct Address {
    pub full_name: String,
    pub company_name: String,
    pub lines: [String; 4],
    pub postal_code: String,
    pub country: Option<Country>,
    pub telephone: String,
    pub mobile_telephone: String,
    pub fax: String,
    pub email: String,
}

impl Address {
    fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("addressFullName".into(), json!(self.full_name));
        map.insert("companyName".into(), json!(self.company_name));
        for (index, line) in self.lines.iter().enumerate() {
            map.insert(format!("addressLine{}", index + 1), json!(line));
        }
        map.insert("postalCode".into(), json!(self.postal_code));
        if let Some(country) = &self.country {
            map.insert("country".into(), json!(country.name));
        }
        map.insert("telephone".into(), json!(self.telephone));
        map.insert("mobileTelephone".into(), json!(self.mobile_telephone));
        map.insert("fax".into(), json!(self.fax));
        map.insert("email".into(), json!(self.email));
        match &self.country {
            Some(country) => {
                map.insert("countryId".into(), json!(country.id));
                map.insert("countryIsoCode".into(), json!(country.iso2));
                map.insert("countryIsoCode3".into(), json!(country.iso3));
            }
            None => {
                map.insert("countryId".into(), json!(0));
            }
        }
        map
    }

    /// The write-shape address of Sales Order GET.
    fn to_sales_order_json(&self) -> Value {
        let mut map = self.to_json();
        map.remove("country");
        map.remove("countryId");
        map.remove("countryIsoCode3");
        Value::Object(map)
    }
}

/// The order types Brightpearl has.
pub(crate) const ORDER_TYPES: [(&str, u64); 4] = [("SO", 1), ("PO", 2), ("SC", 3), ("PC", 4)];

pub(crate) fn order_type_id(code: &str) -> u64 {
    ORDER_TYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(0, |(_, id)| *id)
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Assignment {
    pub staff_owner_contact_id: u64,
    pub project_id: u64,
    pub channel_id: u64,
    pub lead_source_id: u64,
    pub team_id: u64,
}

/// A row's place in a bundle: the parent row carries the price, and each
/// component row points at it with `parent_row_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Composition {
    pub bundle_parent: bool,
    pub bundle_child: bool,
    /// The bundle's parent row id on a component row, else 0.
    pub parent_row_id: u64,
}

/// One order row.
#[derive(Debug, Clone)]
pub(crate) struct OrderRow {
    pub id: u64,
    pub sequence: u32,
    /// `None` for a free-text row.
    pub product_id: Option<u64>,
    pub name: String,
    pub sku: Option<String>,
    pub quantity: Decimal,
    pub item_cost: Decimal,
    pub product_price: Decimal,
    pub discount_percentage: Decimal,
    pub tax_code: String,
    pub tax_rate: Decimal,
    pub tax_class_id: u64,
    /// Row total before tax.
    pub net: Decimal,
    /// Row tax total.
    pub tax: Decimal,
    pub nominal_code: String,
    pub external_ref: Option<String>,
    pub stock_tracked: bool,
    pub composition: Composition,
    /// The row this one was copied from by a back-order split or a sales
    /// credit, else 0.
    pub cloned_from_id: u64,
}

impl OrderRow {
    fn to_order_json(&self, currency: &str) -> Value {
        let mut row = json!({
            "orderRowSequence": self.sequence.to_string(),
            "productId": self.product_id.unwrap_or(0),
            "productName": self.name,
            "quantity": { "magnitude": fixed(self.quantity, 4) },
            "itemCost": { "currencyCode": currency, "value": fixed(self.item_cost, 4) },
            "productPrice": { "currencyCode": currency, "value": fixed(self.product_price, 4) },
            "discountPercentage": fixed(self.discount_percentage, 2),
            "rowValue": {
                "taxRate": fixed(self.tax_rate, 4),
                "taxCode": self.tax_code,
                "taxCalculator": "brightpearl",
                "rowNet": { "currencyCode": currency, "value": fixed(self.net, 4) },
                "rowTax": { "currencyCode": currency, "value": fixed(self.tax, 2) },
                "taxClassId": self.tax_class_id
            },
            "nominalCode": self.nominal_code,
            "composition": {
                "bundleParent": self.composition.bundle_parent,
                "bundleChild": self.composition.bundle_child,
                "parentOrderRowId": self.composition.parent_row_id
            },
            "clonedFromId": self.cloned_from_id
        });
        if let Some(sku) = self.sku.as_ref().filter(|s| !s.is_empty()) {
            row["productSku"] = json!(sku);
        }
        row
    }

    fn to_sales_order_json(&self) -> Value {
        let mut row = json!({
            "id": self.id,
            "name": self.name,
            "quantity": fixed(self.quantity, 4),
            "taxCode": self.tax_code,
            "net": fixed(self.net, 4),
            "tax": fixed(self.tax, 2),
            "nominalCode": self.nominal_code,
            "productPrice": fixed(self.product_price, 4),
            "discountPercentage": fixed(self.discount_percentage, 2),
            "sequence": self.sequence,
            "bundleChild": self.composition.bundle_child,
            "bundleParent": self.composition.bundle_parent,
            "parentRowId": self.composition.parent_row_id,
            "taxClassId": self.tax_class_id,
            "taxCalculator": "brightpearl",
            "clonedFromId": self.cloned_from_id
        });
        if let Some(product_id) = self.product_id {
            row["productId"] = json!(product_id);
        }
        if let Some(sku) = &self.sku {
            row["sku"] = json!(sku);
        }
        if let Some(external_ref) = &self.external_ref {
            row["externalRef"] = json!(external_ref);
        }
        row
    }
}

/// Writes a decimal with exactly `dp` places, rounding half away from zero.
pub(crate) fn fixed(value: Decimal, dp: u32) -> String {
    let mut rounded = value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(dp);
    rounded.to_string()
}

/// An order of any type.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub id: u64,
    pub order_type: String,
    pub parent_order_id: u64,
    pub reference: String,
    pub external_ref: Option<String>,
    pub installed_integration_instance_id: Option<u64>,
    pub version: u64,
    /// `READY` until invoiced, then `INVOICED`.
    pub tax_state: String,
    pub status_id: u64,
    pub placed_on: DateTime<Utc>,
    pub created_on: DateTime<Utc>,
    /// `None` until the first edit, as in the captured order-search rows.
    pub updated_on: Option<DateTime<Utc>>,
    pub closed_on: Option<DateTime<Utc>>,
    pub created_by_id: u64,
    pub price_list_id: u64,
    pub price_mode_code: String,
    pub cost_price_list_id: u64,
    pub delivery_date: Option<DateTime<Utc>>,
    pub shipping_method_id: u64,
    /// `""` before invoicing, `"pending"` while closing, then `SI-nnnn`.
    pub invoice_reference: String,
    pub tax_date: Option<DateTime<Utc>>,
    pub due_date: Option<DateTime<Utc>>,
    pub order_currency: String,
    pub accounting_currency: String,
    pub exchange_rate: Decimal,
    pub fixed_exchange_rate: bool,
    pub assignment: Assignment,
    /// `customer` on sales orders and credits, `supplier` on purchase ones.
    pub party_role: &'static str,
    pub party_contact_id: u64,
    pub party_address: Address,
    pub delivery_address: Address,
    pub billing_contact_id: u64,
    pub billing_address: Address,
    pub rows: BTreeMap<u64, OrderRow>,
    pub warehouse_id: u64,
    /// Custom-field values in their GET form, keyed by code.
    pub custom_fields: Map<String, Value>,
    pub shipped: bool,
    pub is_cancelled: bool,
    /// When a sales-order close set the invoice reference to `"pending"`.
    pub invoice_pending_since: Option<DateTime<Utc>>,
    /// The tax date a sales-order close asked for, applied when the
    /// invoice is issued.
    pub requested_tax_date: Option<DateTime<Utc>>,
    /// Goods-out notes in their GET shape, keyed by note id.
    pub goods_out_notes: BTreeMap<u64, Value>,
}

/// Order totals, each rounded to two places.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub net: Decimal,
    pub tax: Decimal,
    pub base_net: Decimal,
    pub base_tax: Decimal,
}

impl Order {
    /// NOTE: rows are added with `Decimal`'s operators, which panic past
    /// about 7.9 × 10^28. pobridge's intake keeps orders below 10^18, but a
    /// row posted straight to the sandbox can still reach that.
    pub fn totals(&self) -> Totals {
        let net: Decimal = self.rows.values().map(|r| r.net).sum();
        let tax: Decimal = self.rows.values().map(|r| r.tax).sum();
        let round =
            |v: Decimal| v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        // NOTE: base values divide by the rate (order-currency units per
        // accounting-currency unit); the captures only show a rate of 1.
        let to_base = |v: Decimal| {
            if self.exchange_rate.is_zero() {
                v
            } else {
                v / self.exchange_rate
            }
        };
        Totals {
            net: round(net),
            tax: round(tax),
            base_net: round(to_base(net)),
            base_tax: round(to_base(tax)),
        }
    }

    fn has_stock_rows(&self) -> bool {
        self.rows.values().any(|r| r.stock_tracked)
    }

    pub fn stock_status_code(&self) -> &'static str {
        match (self.order_type.as_str(), self.has_stock_rows()) {
            ("PO" | "PC", true) => "PON",
            (_, true) => "SON",
            (_, false) => "NON",
        }
    }

    pub fn allocation_status_code(&self) -> &'static str {
        match (self.order_type.as_str(), self.has_stock_rows()) {
            ("SO" | "SC", true) => "ANA",
            _ => "ANR",
        }
    }

    pub fn shipping_status_code(&self) -> &'static str {
        match (self.has_stock_rows(), self.shipped) {
            (false, _) => "NST",
            (true, false) => "SNS",
            (true, true) => "ASS",
        }
    }

    pub fn payment_status(&self) -> &'static str {
        let totals = self.totals();
        if (totals.net + totals.tax).is_zero() {
            "NOT_APPLICABLE"
        } else {
            "UNPAID"
        }
    }

    /// Marks an edit: bumps the version and sets `updatedOn`.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_on = Some(now);
    }

    pub fn next_row_sequence(&self) -> u32 {
        self.rows.values().map(|r| r.sequence).max().unwrap_or(0) + 10
    }

    /// The Order GET item.
    pub fn to_order_json(&self, catalogue: &Catalogue, with_custom_fields: bool) -> Value {
        let offset = catalogue.offset;
        let ts = |at: DateTime<Utc>| format_api(at, offset);
        let totals = self.totals();
        let status_name = catalogue
            .order_status(self.status_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let mut item = json!({
            "id": self.id,
            "parentOrderId": self.parent_order_id,
            "orderTypeCode": self.order_type,
            "reference": self.reference,
            "version": self.version,
            "state": { "tax": self.tax_state },
            "orderStatus": { "orderStatusId": self.status_id, "name": status_name },
            "tax": { "errors": [] },
            "orderPaymentStatus": self.payment_status(),
            "stockStatusCode": self.stock_status_code(),
            "allocationStatusCode": self.allocation_status_code(),
            "shippingStatusCode": self.shipping_status_code(),
            "placedOn": ts(self.placed_on),
            "createdOn": ts(self.created_on),
            "createdById": self.created_by_id,
            "priceListId": self.price_list_id,
            "priceModeCode": self.price_mode_code,
            "delivery": self.delivery_json(offset),
            "invoices": [self.invoice_json(offset)],
            "currency": {
                "accountingCurrencyCode": self.accounting_currency,
                "orderCurrencyCode": self.order_currency,
                "exchangeRate": fixed(self.exchange_rate, 6),
                "fixedExchangeRate": self.fixed_exchange_rate
            },
            "totalValue": {
                "net": fixed(totals.net, 2),
                "taxAmount": fixed(totals.tax, 2),
                "baseNet": fixed(totals.base_net, 2),
                "baseTaxAmount": fixed(totals.base_tax, 2),
                "baseTotal": fixed(totals.base_net + totals.base_tax, 2),
                "total": fixed(totals.net + totals.tax, 2)
            },
            "assignment": { "current": {
                "staffOwnerContactId": self.assignment.staff_owner_contact_id,
                "projectId": self.assignment.project_id,
                "channelId": self.assignment.channel_id,
                "leadSourceId": self.assignment.lead_source_id,
                "teamId": self.assignment.team_id
            }},
            "parties": self.parties_json(),
            "orderRows": self.rows_json(),
            "warehouseId": self.warehouse_id,
            "acknowledged": 0,
            "costPriceListId": self.cost_price_list_id,
            "historicalOrder": false,
            "orderWeighting": 100
        });
        if let Some(updated) = self.updated_on {
            item["updatedOn"] = json!(ts(updated));
        }
        if let Some(closed) = self.closed_on {
            item["closedOn"] = json!(ts(closed));
            if let Some(tax_date) = self.tax_date {
                item["originalInvoiceDate"] = json!(ts(tax_date));
            }
        }
        if matches!(self.order_type.as_str(), "PO" | "PC") {
            item["isDropship"] = json!(false);
        }
        if with_custom_fields {
            item["customFields"] = Value::Object(self.custom_fields.clone());
        }
        item
    }

    fn delivery_json(&self, offset: FixedOffset) -> Value {
        let mut delivery = json!({ "shippingMethodId": self.shipping_method_id });
        if let Some(date) = self.delivery_date {
            delivery["deliveryDate"] = json!(format_api(date, offset));
        }
        delivery
    }

    fn invoice_json(&self, offset: FixedOffset) -> Value {
        let mut invoice = json!({ "invoiceReference": self.invoice_reference });
        if let Some(tax_date) = self.tax_date {
            invoice["taxDate"] = json!(format_api(tax_date, offset));
        }
        if let Some(due_date) = self.due_date {
            invoice["dueDate"] = json!(format_api(due_date, offset));
        }
        invoice
    }

    fn parties_json(&self) -> Value {
        let mut party = self.party_address.to_json();
        party.insert("contactId".into(), json!(self.party_contact_id));
        let mut billing = self.billing_address.to_json();
        billing.insert("contactId".into(), json!(self.billing_contact_id));
        let mut parties = Map::new();
        parties.insert(self.party_role.to_owned(), Value::Object(party));
        parties.insert(
            "delivery".into(),
            Value::Object(self.delivery_address.to_json()),
        );
        parties.insert("billing".into(), Value::Object(billing));
        Value::Object(parties)
    }

    fn rows_json(&self) -> Value {
        let rows: Map<String, Value> = self
            .rows
            .values()
            .map(|row| (row.id.to_string(), row.to_order_json(&self.order_currency)))
            .collect();
        Value::Object(rows)
    }

    /// The Sales Order GET item: the Sales Order POST shape plus read-only
    /// fields.
    pub fn to_sales_order_json(&self, catalogue: &Catalogue) -> Value {
        let offset = catalogue.offset;
        let ts = |at: DateTime<Utc>| format_api(at, offset);
        let totals = self.totals();
        let mut delivery = json!({
            "address": self.delivery_address.to_sales_order_json(),
            "shippingMethodId": self.shipping_method_id
        });
        if let Some(date) = self.delivery_date {
            delivery["date"] = json!(ts(date));
        }
        let mut item = json!({
            "id": self.id,
            "customer": { "id": self.party_contact_id, "address": self.party_address.to_sales_order_json() },
            "billing": { "contactId": self.billing_contact_id, "address": self.billing_address.to_sales_order_json() },
            "ref": self.reference,
            "placedOn": ts(self.placed_on),
            "parentId": self.parent_order_id,
            "statusId": self.status_id,
            "warehouseId": self.warehouse_id,
            "staffOwnerId": self.assignment.staff_owner_contact_id,
            "projectId": self.assignment.project_id,
            "channelId": self.assignment.channel_id,
            "leadSourceId": self.assignment.lead_source_id,
            "teamId": self.assignment.team_id,
            "priceListId": self.price_list_id,
            "priceModeCode": self.price_mode_code,
            "currency": {
                "code": self.order_currency,
                "fixedExchangeRate": self.fixed_exchange_rate,
                "exchangeRate": fixed(self.exchange_rate, 6)
            },
            "delivery": delivery,
            "rows": self.rows.values().map(OrderRow::to_sales_order_json).collect::<Vec<_>>(),
            "total": {
                "net": fixed(totals.net, 2),
                "tax": fixed(totals.tax, 2),
                "gross": fixed(totals.net + totals.tax, 2),
                "baseNet": fixed(totals.base_net, 2),
                "baseTax": fixed(totals.base_tax, 2),
                "baseGross": fixed(totals.base_net + totals.base_tax, 2)
            },
            "orderPaymentStatus": self.payment_status(),
            "allocationStatusCode": self.allocation_status_code(),
            "shippingStatusCode": self.shipping_status_code(),
            "stockStatusCode": self.stock_status_code(),
            "createdBy": self.created_by_id,
            "createdOn": ts(self.created_on),
            "invoice": self.invoice_json(offset),
            "orderWeighting": 100,
            "costPriceListId": self.cost_price_list_id,
            "isCanceled": self.is_cancelled
        });
        if let Some(tax_date) = self.tax_date {
            item["taxDate"] = json!(ts(tax_date));
        }
        if let Some(updated) = self.updated_on {
            item["updatedOn"] = json!(ts(updated));
        }
        if let Some(external_ref) = &self.external_ref {
            item["externalRef"] = json!(external_ref);
        }
        if let Some(instance) = self.installed_integration_instance_id {
            item["installedIntegrationInstanceId"] = json!(instance);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn fixed_pads_and_rounds_half_away_from_zero() {
        assert_eq!(fixed(dec!(9.0909), 2), "9.09");
        assert_eq!(fixed(dec!(0.905), 2), "0.91");
        assert_eq!(fixed(dec!(1), 4), "1.0000");
        assert_eq!(fixed(dec!(1), 6), "1.000000");
    }
}
