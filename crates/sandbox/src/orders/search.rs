//! order-search and sales-order-search.

use serde_json::{json, Map, Value};

use super::model::{order_type_id, Order};
use crate::catalogue::Catalogue;
use crate::envelope::Reply;
use crate::resources::{ApiRequest, Ctx};
use crate::search::{self, Column, DataType, ExtraFilter, Row, Spec};
use crate::time::format_api;

const ORDER_COLUMNS: [Column; 19] = [
    Column::new("orderId", DataType::IdSet),
    Column::new("orderTypeId", DataType::IdSet).with_reference(&["orderTypeNames"]),
    Column::new("contactId", DataType::Integer),
    Column::new("orderStatusId", DataType::Integer).with_reference(&["orderStatusNames"]),
    Column::new("orderStockStatusId", DataType::Integer).with_reference(&["orderStockStatusNames"]),
    Column::new("createdOn", DataType::Period),
    Column::new("createdById", DataType::Integer),
    Column::new("customerRef", DataType::String),
    Column::new("orderPaymentStatusId", DataType::Integer)
        .with_reference(&["orderPaymentStatusNames"]),
    Column::new("updatedOn", DataType::Period),
    Column::new("parentOrderId", DataType::IdSet),
    Column::new("orderShippingStatusId", DataType::Integer)
        .with_reference(&["orderShippingStatusNames"]),
    Column::new("externalRef", DataType::String),
    Column::new("installedIntegrationInstanceId", DataType::Integer),
    Column::new("warehouseId", DataType::IdSet),
    Column::new("staffOwnerContactId", DataType::Integer),
    Column::new("taxDate", DataType::Period),
    Column::new("departmentId", DataType::Integer),
    Column::new("deliveryDate", DataType::Period),
];

/// order-search as captured, with the documented extra filters.
pub(crate) const ORDER_SPEC: Spec = Spec {
    columns: &ORDER_COLUMNS,
    extra_filters: &[
        ExtraFilter {
            name: "placedOn",
            data_type: DataType::Period,
        },
        ExtraFilter {
            name: "shippingMethodId",
            data_type: DataType::Integer,
        },
        ExtraFilter {
            name: "projectId",
            data_type: DataType::Integer,
        },
        ExtraFilter {
            name: "leadSourceId",
            data_type: DataType::Integer,
        },
        ExtraFilter {
            name: "externalRefSearchString",
            data_type: DataType::SearchString,
        },
    ],
};

const SALES_ORDER_COLUMNS: [Column; 17] = [
    Column::new("salesOrderId", DataType::IdSet),
    Column::new("customerId", DataType::Integer),
    Column::new("orderStatusId", DataType::Integer).with_reference(&["orderStatusNames"]),
    Column::new("orderStockStatus", DataType::Integer).with_reference(&["orderStockStatusNames"]),
    Column::new("createdOn", DataType::Period),
    Column::new("createdById", DataType::Integer),
    Column::new("customerRef", DataType::String),
    Column::new("orderPaymentStatus", DataType::Integer)
        .with_reference(&["orderPaymentStatusNames"]),
    Column::new("updatedOn", DataType::Period),
    Column::new("orderShippingStatus", DataType::Integer)
        .with_reference(&["orderShippingStatusNames"]),
    Column::new("externalRef", DataType::String),
    Column::new("installedIntegrationInstanceId", DataType::Integer),
    Column::new("warehouseId", DataType::IdSet),
    Column::new("staffOwnerId", DataType::Integer),
    Column::new("taxDate", DataType::Period),
    Column::new("channelId", DataType::Integer),
    Column::new("deliveryDate", DataType::Period),
];

/// sales-order-search as documented.
pub(crate) const SALES_ORDER_SPEC: Spec = Spec {
    columns: &SALES_ORDER_COLUMNS,
    extra_filters: &[
        ExtraFilter {
            name: "productIds",
            data_type: DataType::IdSet,
        },
        ExtraFilter {
            name: "isHistoricalOrder",
            data_type: DataType::Boolean,
        },
        ExtraFilter {
            name: "customerRefs",
            data_type: DataType::StringSet,
        },
    ],
};

/// The status ids an order shows in search columns.
struct Codes {
    stock: Value,
    payment: Value,
    shipping: Value,
}

fn codes(order: &Order, catalogue: &Catalogue) -> Codes {
    let lookup = |list: &[Value], code: &str| {
        Catalogue::code_list_id(list, code).map_or(Value::Null, |id| json!(id))
    };
    Codes {
        stock: lookup(&catalogue.order_stock_statuses, order.stock_status_code()),
        payment: lookup(&catalogue.order_payment_statuses, order.payment_status()),
        shipping: lookup(
            &catalogue.order_shipping_statuses,
            order.shipping_status_code(),
        ),
    }
}

fn optional_time(at: Option<chrono::DateTime<chrono::Utc>>, catalogue: &Catalogue) -> Value {
    at.map_or(Value::Null, |at| json!(format_api(at, catalogue.offset)))
}

fn order_row(order: &Order, catalogue: &Catalogue) -> Row {
    let codes = codes(order, catalogue);
    let ts = |at| json!(format_api(at, catalogue.offset));
    Row {
        cells: vec![
            json!(order.id),
            json!(order_type_id(&order.order_type)),
            json!(order.party_contact_id),
            json!(order.status_id),
            codes.stock,
            ts(order.created_on),
            json!(order.created_by_id),
            json!(order.reference),
            codes.payment,
            optional_time(order.updated_on, catalogue),
            json!(order.parent_order_id),
            codes.shipping,
            json!(order.external_ref),
            json!(order.installed_integration_instance_id),
            json!(order.warehouse_id),
            json!(order.assignment.staff_owner_contact_id),
            optional_time(order.tax_date, catalogue),
            json!(0),
            optional_time(order.delivery_date, catalogue),
        ],
        extras: vec![
            ("placedOn", ts(order.placed_on)),
            ("shippingMethodId", json!(order.shipping_method_id)),
            ("projectId", json!(order.assignment.project_id)),
            ("leadSourceId", json!(order.assignment.lead_source_id)),
            ("externalRefSearchString", json!(order.external_ref)),
        ],
    }
}

fn sales_order_row(order: &Order, catalogue: &Catalogue) -> Row {
    let codes = codes(order, catalogue);
    let product_ids: Vec<u64> = order.rows.values().filter_map(|r| r.product_id).collect();
    Row {
        cells: vec![
            json!(order.id),
            json!(order.party_contact_id),
            json!(order.status_id),
            codes.stock,
            json!(format_api(order.created_on, catalogue.offset)),
            json!(order.created_by_id),
            json!(order.reference),
            codes.payment,
            optional_time(order.updated_on, catalogue),
            codes.shipping,
            json!(order.external_ref),
            json!(order.installed_integration_instance_id),
            json!(order.warehouse_id),
            json!(order.assignment.staff_owner_contact_id),
            optional_time(order.tax_date, catalogue),
            json!(order.assignment.channel_id),
            optional_time(order.delivery_date, catalogue),
        ],
        extras: vec![
            ("productIds", json!(product_ids)),
            ("isHistoricalOrder", json!(false)),
            ("customerRefs", json!(order.reference)),
        ],
    }
}

/// `GET order-service/order-search`.
pub(crate) fn order_search(ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let catalogue = &ctx.account.catalogue;
    let rows: Vec<Row> = ctx
        .account
        .orders
        .values()
        .map(|o| order_row(o, catalogue))
        .collect();
    respond(
        ctx,
        &ORDER_SPEC,
        &rows,
        request,
        [
            "orderTypeId",
            "orderStatusId",
            "orderStockStatusId",
            "orderPaymentStatusId",
            "orderShippingStatusId",
        ],
    )
}

/// `GET order-service/sales-order-search`.
pub(crate) fn sales_order_search(ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    let catalogue = &ctx.account.catalogue;
    let rows: Vec<Row> = ctx
        .account
        .orders
        .values()
        .filter(|o| o.order_type == "SO")
        .map(|o| sales_order_row(o, catalogue))
        .collect();
    respond(
        ctx,
        &SALES_ORDER_SPEC,
        &rows,
        request,
        [
            "",
            "orderStatusId",
            "orderStockStatus",
            "orderPaymentStatus",
            "orderShippingStatus",
        ],
    )
}

/// Runs the search and builds `reference` from the returned rows only, as
/// the captured reply lists just the names its rows use.
fn respond(
    ctx: &Ctx<'_>,
    spec: &Spec,
    rows: &[Row],
    request: &ApiRequest<'_>,
    columns: [&str; 5],
) -> Reply {
    let catalogue = &ctx.account.catalogue;
    let outcome = match search::run(spec, rows, request, catalogue.offset) {
        Ok(outcome) => outcome,
        Err(reply) => return reply,
    };
    let [types, statuses, stock, payment, shipping] = columns;
    let names = |column: &str, name_of: &dyn Fn(u64) -> Option<String>| -> Map<String, Value> {
        outcome
            .returned
            .iter()
            .filter_map(|row| row.cell(spec, column).and_then(Value::as_u64))
            .filter_map(|id| name_of(id).map(|name| (id.to_string(), json!(name))))
            .collect()
    };
    let mut reference = Map::new();
    if !types.is_empty() {
        let type_names = names(types, &|id| {
            catalogue
                .order_types
                .iter()
                .find(|t| t.get("id").and_then(Value::as_u64) == Some(id))
                .and_then(|t| t.get("name")?.as_str().map(str::to_owned))
        });
        reference.insert("orderTypeNames".into(), Value::Object(type_names));
    }
    let status_names = names(statuses, &|id| {
        catalogue.order_status(id).map(|s| s.name.clone())
    });
    reference.insert("orderStatusNames".into(), Value::Object(status_names));
    reference.insert(
        "orderStockStatusNames".into(),
        Value::Object(names(stock, &|id| {
            code_name(&catalogue.order_stock_statuses, "name", id)
        })),
    );
    reference.insert(
        "orderPaymentStatusNames".into(),
        Value::Object(names(payment, &|id| {
            code_name(&catalogue.order_payment_statuses, "code", id)
        })),
    );
    reference.insert(
        "orderShippingStatusNames".into(),
        Value::Object(names(shipping, &|id| {
            code_name(&catalogue.order_shipping_statuses, "description", id)
        })),
    );
    Reply::ok_raw(
        json!({ "response": outcome.response, "reference": reference }),
        "bulk-data-search",
    )
}

/// The `key` text of the code-list item with `id`.
fn code_name(list: &[Value], key: &str, id: u64) -> Option<String> {
    list.iter()
        .find(|item| item.get("id").and_then(Value::as_u64) == Some(id))
        .and_then(|item| item.get(key).and_then(Value::as_str).map(str::to_owned))
}
